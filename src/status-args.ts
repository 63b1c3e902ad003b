// "localdns status" flags. No runtime access here.
import { parseEndpoint, type Endpoint } from "./config/endpoint";

export const STATUS_DEFAULT_ADMIN = "127.0.0.1:8181";
export const STATUS_MAX_WINDOW_S = 60;

export interface StatusArgs { kind: "status"; admin: Endpoint; json: boolean; windowSeconds: number }

type Result = StatusArgs | { kind: "help"; text: string } | { kind: "error"; message: string; usage: string };

export function parseStatusArgs(rest: string[], usage: string): Result {
  const out: StatusArgs = { kind: "status", admin: parseEndpoint(STATUS_DEFAULT_ADMIN, null) as Endpoint, json: false, windowSeconds: 2 };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === "--help" || a === "-h") return { kind: "help", text: usage };
    if (a === "--json") { out.json = true; continue; }
    const eq = a.indexOf("=");
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (name !== "--admin" && name !== "--window") return { kind: "error", message: `unknown flag for status: ${a}`, usage };
    const value = eq > 0 ? a.slice(eq + 1) : rest[++i];
    if (value === undefined || value === "" || (eq < 0 && value.startsWith("-"))) return { kind: "error", message: `${name} needs a value`, usage };
    if (name === "--admin") {
      const e = parseEndpoint(value, 8181);
      if (typeof e === "string") return { kind: "error", message: `--admin: ${e}`, usage };
      out.admin = e;
    } else {
      const n = Number(value);
      if (!/^\d+(\.\d+)?$/.test(value) || n > STATUS_MAX_WINDOW_S) return { kind: "error", message: `--window: expected 0 to ${STATUS_MAX_WINDOW_S} seconds, got ${value}`, usage };
      out.windowSeconds = n;
    }
  }
  return out;
}
