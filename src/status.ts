// `localdns status`: a summary of a running localdns for the operator on the node, read from its
// admin API (/health, /ready, /config, /cache/stats, /status, /metrics) over HTTP. Every request has a
// timeout and every answer a size cap, so a wedged or hostile listener cannot hang or bloat it.
import { formatEndpoint, type Endpoint } from "./config/endpoint";
import type { StatusArgs } from "./status-args";
import { parseExposition, total, type Sample } from "./status-metrics";
import { renderStatus } from "./status-text";

export const STATUS_TIMEOUT_MS = 3000;
export const STATUS_MAX_BODY_BYTES = 4 << 20; // /metrics of a busy node is ~100 KB

export interface UpstreamStatus { destination: string; to: string; up: boolean; queries: number; failures: number }

export interface Status {
  admin: string;
  version: string | null;
  runtime: string | null;
  ready: boolean;
  notReadyReasons: string[];
  mode: string | null;
  listeners: Record<string, string[]>;
  upstreams: UpstreamStatus[];
  cache: { entries: number; bytes: number; maxBytes: number; hits: number; misses: number; hitRatio: number | null };
  queriesPerSecond: number | null;
  windowSeconds: number;
  queriesTotal: number;
  /** The server's own count over the last minute (it samples every few seconds), and the seconds
   * that covers (less than 60 in the first minute after start); null before it has a second's worth. */
  lastMinute: { perSecond: number; seconds: number } | null;
  uptimeSeconds: number | null;
  reloads: { ok: number; failed: number; last: { at: string; ok: boolean } | null };
}

interface Reply { status: number; body: string }

async function get(base: string, path: string, token: string | undefined): Promise<Reply> {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const res = await fetch(base + path, { headers, signal: AbortSignal.timeout(STATUS_TIMEOUT_MS), redirect: "manual" });
  const reader = res.body?.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (reader) {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > STATUS_MAX_BODY_BYTES) { await reader.cancel(); throw new Error(`${path}: the answer is larger than ${STATUS_MAX_BODY_BYTES} bytes`); }
      chunks.push(value);
    }
  }
  const all = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) { all.set(c, off); off += c.length; }
  return { status: res.status, body: new TextDecoder().decode(all) };
}

function json(reply: Reply, path: string): Record<string, unknown> {
  if (reply.status !== 200) throw new Error(`${path}: HTTP ${reply.status}`);
  try {
    const v = JSON.parse(reply.body);
    if (v !== null && typeof v === "object" && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch { /* below */ }
  throw new Error(`${path}: not a JSON object`);
}

/** An endpoint as /config gives it: "ip:port" text, or {host, port, family}. */
function endpointText(x: unknown): string {
  if (typeof x === "string") return x;
  if (x && typeof x === "object" && "host" in x && "port" in x) return formatEndpoint(x as Endpoint);
  return String(x);
}

const num = (x: unknown) => (typeof x === "number" && Number.isFinite(x) ? x : 0);

function upstreamsOf(samples: Sample[]): UpstreamStatus[] {
  const seen = new Set<string>();
  const out: UpstreamStatus[] = [];
  for (const s of samples) {
    if (s.name !== "localdns_upstream_up") continue;
    const destination = s.labels.destination ?? "";
    const to = s.labels.to ?? "";
    if (seen.has(`${destination} ${to}`)) continue;
    seen.add(`${destination} ${to}`);
    // the series of this destination where they carry one, else everything sent to that address
    const count = (name: string) => {
      const own = samples.filter((x) => x.name === name && x.labels.to === to && x.labels.destination === destination);
      return own.length ? own[0].value : total(samples, name, { to });
    };
    out.push({ destination, to, up: s.value === 1, queries: count("localdns_upstream_queries_total"), failures: count("localdns_upstream_failures_total") });
  }
  return out;
}

export async function gatherStatus(admin: Endpoint, windowSeconds: number, token: string | undefined): Promise<Status> {
  const base = `http://${formatEndpoint(admin)}`;
  const health = await get(base, "/health", token);
  if (health.status !== 200) throw new Error(`/health: HTTP ${health.status}`);
  const before = parseExposition((await get(base, "/metrics", token)).body);
  const startedAt = performance.now();
  const [ready, config, stats] = await Promise.all([get(base, "/ready", token), get(base, "/config", token), get(base, "/cache/stats", token)]);
  const cfg = json(config, "/config");
  const cache = json(stats, "/cache/stats");
  let after = before;
  if (windowSeconds > 0) {
    const wait = windowSeconds * 1000 - (performance.now() - startedAt);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    after = parseExposition((await get(base, "/metrics", token)).body);
  }
  // after the window: the server's minute then covers at least the window too
  const st = json(await get(base, "/status", token), "/status");
  const reloadsSeen = (st.reloads ?? {}) as { last?: { at?: unknown; ok?: unknown } | null };
  const last = reloadsSeen.last && typeof reloadsSeen.last.at === "string" ? { at: reloadsSeen.last.at, ok: reloadsSeen.last.ok === true } : null;
  const elapsed = (performance.now() - startedAt) / 1000;
  const requests = (s: Sample[]) => total(s, "coredns_dns_requests_total");
  let reasons: string[] = [];
  if (ready.status !== 200) {
    try { reasons = (JSON.parse(ready.body) as { reasons?: unknown[] }).reasons?.map(String) ?? []; } catch { reasons = [`/ready: HTTP ${ready.status}`]; }
  }
  const listeners: Record<string, string[]> = {};
  const given = cfg.listeners && typeof cfg.listeners === "object" ? (cfg.listeners as Record<string, unknown>) : {};
  for (const [set, list] of Object.entries(given)) listeners[set] = Array.isArray(list) ? list.map(endpointText) : [];
  const hits = num(cache.hits);
  const misses = num(cache.misses);
  const build = after.find((s) => s.name === "localdns_build_info");
  const runtime = build?.labels.runtime ?? null;
  return {
    admin: formatEndpoint(admin),
    version: build?.labels.version ?? null,
    runtime,
    ready: ready.status === 200,
    notReadyReasons: reasons,
    mode: typeof cfg.mode === "string" ? cfg.mode : null,
    listeners,
    upstreams: upstreamsOf(after),
    cache: { entries: num(cache.entries), bytes: num(cache.bytes), maxBytes: num(cache.maxBytes), hits, misses, hitRatio: hits + misses > 0 ? hits / (hits + misses) : null },
    queriesPerSecond: windowSeconds > 0 ? Math.max(0, requests(after) - requests(before)) / elapsed : null,
    windowSeconds: windowSeconds > 0 ? Math.round(elapsed * 10) / 10 : 0,
    queriesTotal: requests(after),
    lastMinute: typeof st.queriesPerSecond === "number" ? { perSecond: st.queriesPerSecond, seconds: num(st.rateWindowSeconds) } : null,
    uptimeSeconds: typeof st.uptimeSeconds === "number" ? st.uptimeSeconds : null,
    reloads: { ok: total(after, "localdns_config_reloads_total", { result: "success" }), failed: total(after, "localdns_config_reloads_total", { result: "failure" }), last },
  };
}

/** Returns the exit code: 0 ready, 1 not ready or not reachable. */
export async function runStatus(args: StatusArgs, env: (name: string) => string | undefined): Promise<number> {
  let status: Status;
  try {
    status = await gatherStatus(args.admin, args.windowSeconds, env("LOCALDNS_ADMIN_TOKEN"));
  } catch (e) {
    const err = e as Error & { cause?: unknown; code?: string };
    // Bun says ECONNREFUSED in the message, Deno "Connection refused" in the cause
    const refused = /refused/i.test(`${err.message} ${err.code ?? ""} ${err.cause ?? ""}`);
    const why = err.name === "TimeoutError" ? `no answer within ${STATUS_TIMEOUT_MS} ms` : refused ? "connection refused" : err.message;
    process.stderr.write(`localdns status: cannot read the admin API at ${formatEndpoint(args.admin)}: ${why}\n` +
      `(is localdns running, and is admin.listen ${formatEndpoint(args.admin)}? --admin ADDR names another)\n`);
    return 1;
  }
  process.stdout.write(args.json ? JSON.stringify(status, null, 2) + "\n" : renderStatus(status));
  return status.ready ? 0 : 1;
}
