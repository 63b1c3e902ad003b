// Warm-restart snapshots of the cache. Format: "LDNSSNAP", u32 format version, u32 length + JSON zone
// table (id → set and zone name, so records map onto this run's zones), then u32 length + record
// bytes repeated, a u32 0, and a u32 FNV-1a checksum of everything before it. Written atomically
// (temp file + rename); a corrupt, truncated or foreign file is ignored with a warning.
import type { Core } from "../core";
import type { Logger } from "../log";

const MAGIC = "LDNSSNAP";
const FORMAT = 1;

export interface ZoneRef { id: number; set: number; zone: string }

function fnv1a(data: Uint8Array, end: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < end; i++) { h ^= data[i]; h = Math.imul(h, 0x01000193); }
  return h >>> 0;
}

export function encodeSnapshot(core: Core, zones: ZoneRef[]): { data: Uint8Array; records: number } {
  const table = new TextEncoder().encode(JSON.stringify(zones));
  const parts: Uint8Array[] = [];
  let size = 8 + 4 + 4 + table.length + 4 + 4;
  let records = 0;
  for (const r of core.exportRecords()) { parts.push(r.bytes); size += 4 + r.bytes.length; records++; }
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  let p = 0;
  for (let i = 0; i < 8; i++) out[p++] = MAGIC.charCodeAt(i);
  dv.setUint32(p, FORMAT); p += 4;
  dv.setUint32(p, table.length); p += 4;
  out.set(table, p); p += table.length;
  for (const b of parts) { dv.setUint32(p, b.length); p += 4; out.set(b, p); p += b.length; }
  dv.setUint32(p, 0); p += 4;
  dv.setUint32(p, fnv1a(out, p)); p += 4;
  return { data: out, records };
}

/** Loads records into the core. Returns how many were restored, or an error message. */
export function loadSnapshot(core: Core, data: Uint8Array, zones: ZoneRef[], now: number): { restored: number; skipped: number } | { error: string } {
  if (data.length < 24) return { error: "file too short" };
  for (let i = 0; i < 8; i++) if (data[i] !== MAGIC.charCodeAt(i)) return { error: "not a localdns snapshot" };
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (dv.getUint32(8) !== FORMAT) return { error: `unsupported snapshot format ${dv.getUint32(8)}` };
  if (dv.getUint32(data.length - 4) !== fnv1a(data, data.length - 4)) return { error: "checksum mismatch (corrupt or truncated)" };
  const tableLen = dv.getUint32(12);
  if (16 + tableLen > data.length - 8) return { error: "bad zone table length" };
  let old: ZoneRef[];
  try { old = JSON.parse(new TextDecoder().decode(data.subarray(16, 16 + tableLen))); } catch { return { error: "bad zone table" }; }
  if (!Array.isArray(old)) return { error: "bad zone table" };
  const map = new Map<number, number>();
  for (const z of old) {
    const cur = zones.find((c) => c.set === z?.set && c.zone === z?.zone);
    if (cur && typeof z.id === "number") map.set(z.id, cur.id);
  }
  let p = 16 + tableLen;
  let restored = 0;
  let skipped = 0;
  for (;;) {
    if (p + 4 > data.length - 4) return { error: "truncated record list" };
    const n = dv.getUint32(p); p += 4;
    if (n === 0) break;
    if (p + n > data.length - 4) return { error: "truncated record" };
    const rec = data.subarray(p, p + n);
    p += n;
    const zone = map.get(rec[30] | (rec[31] << 8));
    if (zone !== undefined && core.importRecord(rec, now, zone)) restored++; else skipped++;
  }
  return { restored, skipped };
}

export interface SnapshotIO { read(path: string): Uint8Array; writeAtomic(path: string, data: Uint8Array): void }

export function restoreFromFile(core: Core, io: SnapshotIO, path: string, zones: ZoneRef[], now: number, log: Logger): number {
  let data: Uint8Array;
  try { data = io.read(path); } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") log.warn("cache snapshot unreadable, starting cold", { path, error: (e as Error).message });
    return 0;
  }
  const r = loadSnapshot(core, data, zones, now);
  if ("error" in r) { log.warn("cache snapshot ignored, starting cold", { path, reason: r.error }); return 0; }
  log.info("cache snapshot restored", { path, entries: r.restored, skipped: r.skipped });
  return r.restored;
}

export function saveToFile(core: Core, io: SnapshotIO, path: string, zones: ZoneRef[], log: Logger): void {
  try {
    const { data, records } = encodeSnapshot(core, zones);
    io.writeAtomic(path, data);
    log.info("cache snapshot written", { path, entries: records, bytes: data.length });
  } catch (e) {
    log.warn("cache snapshot not written", { path, error: (e as Error).message });
  }
}
