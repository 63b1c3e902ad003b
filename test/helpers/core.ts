// Shared set-up for the packet-core suites: the compiled wasm, the E_* codes (from the generated core
// ABI, so the tests follow assembly/errors.ts), a seeded PRNG, and a way to put an answer in the cache.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import packet from "dns-packet";
import { Core } from "../../src/core";
import { CoreError } from "../../src/core-abi";

export const WASM_PATH = join(import.meta.dir, "../../build/core.wasm");
export const wasmBytes = (): Uint8Array => new Uint8Array(readFileSync(WASM_PATH));

/** A fresh core (its own wasm instance) with the root zone in both listener sets. */
export async function loadCore(maxBytes = 4 << 20, zones: string[] = ["."]): Promise<Core> {
  const core = await Core.load(wasmBytes(), maxBytes);
  for (const set of [0, 1]) for (const z of zones) core.addZone(set, z);
  return core;
}

/** E_* name → code (the names the fixtures use), from the generated core ABI. */
export const E: Record<string, number> = Object.fromEntries(Object.entries(CoreError).map(([k, v]) => [`E_${k}`, v]));

/** mulberry32: small, fast and reproducible. */
export class Rng {
  private s: number;
  constructor(seed: number) { this.s = seed >>> 0; }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number { return Math.floor(this.next() * n); }
  range(lo: number, hi: number): number { return lo + this.int(hi - lo + 1); }
  bool(p = 0.5): boolean { return this.next() < p; }
  pick<T>(a: readonly T[]): T { return a[this.int(a.length)]; }
  bytes(n: number): Buffer { const b = Buffer.alloc(n); for (let i = 0; i < n; i++) b[i] = this.int(256); return b; }
}

const LABEL_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
export function randomLabel(r: Rng, min = 1, max = 12): string {
  let s = "";
  const n = r.range(min, max);
  for (let i = 0; i < n; i++) s += r.pick(LABEL_CHARS as unknown as string[]);
  return s;
}
/** A name of 1–4 random labels under `suffix`, in mixed case. */
export function randomName(r: Rng, suffix = ""): string {
  const labels: string[] = [];
  for (let i = r.range(1, 4); i > 0; i--) labels.push(randomLabel(r));
  return suffix ? `${labels.join(".")}.${suffix}` : labels.join(".");
}
/** Flips the case of letters at random (what a client or a 0x20 upstream query does). */
export function mixCase(r: Rng, name: string): string {
  let s = "";
  for (const c of name) s += r.bool() ? c.toUpperCase() : c.toLowerCase();
  return s;
}

/** The question name held in the core's cache key (lowercased presentation form, no trailing dot). */
export function keyName(core: Core): string {
  const key = core.keyString();
  const labels: string[] = [];
  let p = 5; // key = flags(1) qtype(2) qclass(2) name
  while (p < key.length && key.charCodeAt(p) !== 0) {
    const n = key.charCodeAt(p);
    labels.push(key.slice(p + 1, p + 1 + n));
    p += n + 1;
  }
  return labels.join(".");
}

/** The most a UDP answer may be for the query the core parsed last (mirrors limitFor in index.ts). */
export function udpLimit(clientUdp: number, maxUdp = 1232): number {
  return Math.min(clientUdp, Math.max(512, maxUdp));
}

export interface PrimeOptions {
  type?: string; set?: number; now?: number; do?: boolean; cd?: boolean;
  answers?: any[]; authorities?: any[]; additionals?: any[];
  rcode?: number; replyFlags?: number; cap?: number; negTtl?: number; stale?: number; zone?: number;
}
/** Runs one miss through the core as the runtime does (handle → upstreamQuery → prepare →
 *  storePrepared) with a dns-packet reply carrying the given records. */
export function prime(core: Core, name: string, o: PrimeOptions = {}) {
  const type = o.type ?? "A";
  const set = o.set ?? 0;
  const now = o.now ?? 1000;
  const query = clientQuery(name, type, { do: o.do, cd: o.cd });
  const n = core.handle(query, now, set, false);
  if (n !== -1) throw new Error(`prime: ${name} was not a miss (handle → ${n}, status ${core.res[0]})`);
  const sent = core.upstreamQuery(0x1000 + (name.length & 0xff), 0);
  const reply = packet.encode({
    type: "response", id: (sent[0] << 8) | sent[1], flags: (o.replyFlags ?? 0x0180) | (o.rcode ?? 0),
    questions: [{ name, type: type as any, class: "IN" }],
    answers: o.answers ?? [], authorities: o.authorities ?? [], additionals: o.additionals ?? [],
  } as any);
  const code = core.prepare(reply, sent, false, o.cap ?? 86400, o.negTtl ?? 30);
  const stored = code === 0 && core.storePrepared(sent.length, now, set, o.zone ?? 0, o.stale ?? 0);
  return { query, sent, reply, code, stored };
}

/** A client query as dns-packet writes it; EDNS when `edns` (a size) or `do` is given. */
export function clientQuery(name: string, type = "A", o: { id?: number; do?: boolean; cd?: boolean; edns?: number } = {}): Buffer {
  const additionals = o.edns || o.do ? [{ type: "OPT", name: ".", udpPayloadSize: o.edns ?? 1232, flags: o.do ? packet.DNSSEC_OK : 0 }] : [];
  return packet.encode({
    type: "query", id: o.id ?? 0x2bad, flags: packet.RECURSION_DESIRED | (o.cd ? packet.CHECKING_DISABLED : 0),
    questions: [{ name, type: type as any, class: "IN" }], additionals,
  } as any);
}
