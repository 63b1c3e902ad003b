// The bearer token on mutating calls, through Hono's bearerAuth middleware. Hono parses the header
// and answers with WWW-Authenticate; the comparison is ours: the whole header against
// "Bearer <token>", both hashed to 32 octets and compared in constant time, so the timing shows
// neither how much of a guess was right nor how long the token is (Hono's own string compare runs
// as long as the longer string). Every refusal is a 401 with a JSON error.
import type { MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { createHash, timingSafeEqual } from "node:crypto";

const sha256 = (s: string) => createHash("sha256").update(s).digest();

/** Is `header` exactly "Bearer <token>"? */
export function bearerMatches(header: string | undefined, token: string): boolean {
  return header !== undefined && timingSafeEqual(sha256(header), sha256(`Bearer ${token}`));
}

const REFUSAL = { error: "unauthorized: mutating endpoints need the admin bearer token" };

function tokenCheck(token: string): MiddlewareHandler {
  return bearerAuth({
    verifyToken: (_presented, c) => bearerMatches(c.req.header("authorization"), token),
    noAuthenticationHeader: { message: REFUSAL },
    // Hono says 400 for a header that is not "Bearer <token68>": to a client it is the same refusal
    invalidAuthenticationHeader: { message: () => Response.json(REFUSAL, { status: 401 }) },
    invalidToken: { message: REFUSAL },
  });
}

/** Middleware: methods other than GET and HEAD need the token `token()` gives, when it gives one
 * (read per request: a reload may change it). */
export function mutatingNeedsToken(token: () => string | null): MiddlewareHandler {
  let cached: { token: string; check: MiddlewareHandler } | null = null;
  return async (c, next) => {
    const t = token();
    if (c.req.method === "GET" || c.req.method === "HEAD" || !t) return next();
    if (cached?.token !== t) cached = { token: t, check: tokenCheck(t) };
    return cached.check(c, next);
  };
}
