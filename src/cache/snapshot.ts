// Warm-restart snapshots of the cache. Format: "LDNSSNAP", u32 format version, u32 length + JSON zone
// table (id → set and zone name, so records map onto this run's zones), then u32 length + record
// bytes repeated, a u32 0, and a u32 FNV-1a checksum of everything before it. Written atomically
// (temp file + rename); a corrupt, truncated or foreign file is ignored with a warning.
// Both directions stream through one 256 KiB buffer: a full cache is never copied whole (the core's
// own memory is the only full-size copy), so saving and restoring add almost nothing to peak memory.
import { SNAP_RECORD_MAX, type Core } from "../core";
import type { Logger } from "../log";
import type { ChunkReader, AtomicWriter } from "../runtime/types";

const MAGIC = "LDNSSNAP";
const FORMAT = 1;
const CHUNK = 256 * 1024; // holds the largest record (65,536 + 1,024) several times over
const FNV_OFFSET = 0x811c9dc5;

export interface ZoneRef { id: number; set: number; zone: string }

function fnv1a(h: number, data: Uint8Array, start = 0, end = data.length): number {
  for (let i = start; i < end; i++) { h ^= data[i]; h = Math.imul(h, 0x01000193); }
  return h;
}

/** Collects output into CHUNK-sized pieces handed to `sink`, hashing what it is given. Nothing is
 * allocated per record. */
class ChunkWriter {
  private readonly buf = new Uint8Array(CHUNK);
  private readonly dv = new DataView(this.buf.buffer);
  private used = 0;
  hash = FNV_OFFSET;
  bytes = 0;
  constructor(private readonly sink: (chunk: Uint8Array) => void) {}
  /** Copies src[start, end), hashing it: no view object, however many records. */
  putRange(src: Uint8Array, start: number, end: number): void {
    let h = this.hash;
    for (let i = start; i < end;) {
      if (this.used === CHUNK) this.flush();
      const stop = Math.min(end, i + CHUNK - this.used);
      const buf = this.buf;
      let u = this.used;
      for (; i < stop; i++) { const b = src[i]; buf[u++] = b; h ^= b; h = Math.imul(h, 0x01000193); }
      this.used = u;
    }
    this.hash = h;
    this.bytes += end - start;
  }
  u32(v: number, hashed = true): void {
    if (CHUNK - this.used < 4) this.flush();
    this.dv.setUint32(this.used, v);
    if (hashed) this.hash = fnv1a(this.hash, this.buf, this.used, this.used + 4);
    this.used += 4;
    this.bytes += 4;
  }
  flush(): void {
    if (this.used > 0) this.sink(this.buf.subarray(0, this.used));
    this.used = 0;
  }
}

/** Reads input in order through one CHUNK-sized buffer, hashing what it hands out. Nothing is
 * allocated per record (a full cache has ~200,000 of them). */
class ChunkReaderBuffer {
  private readonly buf = new Uint8Array(CHUNK);
  private start = 0;
  private end = 0;
  private eof = false;
  hash = FNV_OFFSET;
  constructor(private readonly read: (into: Uint8Array) => number) {}
  /** The next n bytes (a view, valid until the next call), or null when the input ends first. */
  take(n: number): Uint8Array | null {
    const at = this.skip(n);
    return at < 0 ? null : this.buf.subarray(at, at + n);
  }
  /** Moves past the next n bytes; returns where they are in `buffer` (until the next call), or -1. */
  skip(n: number): number {
    if (!this.have(n)) return -1;
    this.hash = fnv1a(this.hash, this.buf, this.start, this.start + n);
    this.start += n;
    return this.start - n;
  }
  get buffer(): Uint8Array { return this.buf; }
  u32(hashed = true): number | null {
    if (!this.have(4)) return null;
    const b = this.buf;
    const p = this.start;
    if (hashed) this.hash = fnv1a(this.hash, b, p, p + 4);
    this.start += 4;
    return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
  }
  atEnd(): boolean { return !this.have(1); }
  private have(n: number): boolean {
    if (this.end - this.start >= n) return true;
    if (n > CHUNK) return false;
    this.buf.copyWithin(0, this.start, this.end);
    this.end -= this.start;
    this.start = 0;
    while (this.end < n && !this.eof) {
      const got = this.read(this.buf.subarray(this.end));
      if (got <= 0) this.eof = true;
      else this.end += got;
    }
    return this.end >= n;
  }
}

/** Streams a snapshot of every live record to `sink` in pieces of at most 256 KiB. */
export function writeSnapshot(core: Core, zones: ZoneRef[], sink: (chunk: Uint8Array) => void): { records: number; bytes: number } {
  const w = new ChunkWriter(sink);
  const table = new TextEncoder().encode(JSON.stringify(zones));
  const magic = Uint8Array.from(MAGIC, (c) => c.charCodeAt(0));
  w.putRange(magic, 0, magic.length);
  w.u32(FORMAT);
  w.u32(table.length);
  w.putRange(table, 0, table.length);
  let records = 0;
  core.forEachRecord((at, len) => { w.u32(len); w.putRange(core.mem, at, at + len); records++; });
  w.u32(0);
  w.u32(w.hash >>> 0, false);
  w.flush();
  return { records, bytes: w.bytes };
}

/** The whole snapshot as one array (tests and tools; the service streams it with writeSnapshot). */
export function encodeSnapshot(core: Core, zones: ZoneRef[]): { data: Uint8Array; records: number } {
  const parts: Uint8Array[] = [];
  const { records, bytes } = writeSnapshot(core, zones, (c) => parts.push(c.slice()));
  const data = new Uint8Array(bytes);
  let p = 0;
  for (const c of parts) { data.set(c, p); p += c.length; }
  return { data, records };
}

const fromArray = (data: Uint8Array) => {
  let p = 0;
  return (into: Uint8Array) => {
    const n = Math.min(into.length, data.length - p);
    into.set(data.subarray(p, p + n));
    p += n;
    return n;
  };
};

type LoadResult = { restored: number; skipped: number } | { error: string };
/** Puts one record into the cache (true) or skips it; null: only read and check, store nothing. */
type ImportOne = ((rec: Uint8Array, at: number, len: number, zone: number) => boolean) | null;

const RECORDS_PER_STEP = 256;

/** Loads records into an empty cache, record by record as they are read. Returns how many were
 * restored, or an error message; on an error (a bad checksum found at the end included) the cache is
 * emptied again, so a damaged file restores nothing. */
export function loadSnapshot(core: Core, source: Uint8Array | ((into: Uint8Array) => number), zones: ZoneRef[], now: number): LoadResult {
  const steps = readRecords(new ChunkReaderBuffer(source instanceof Uint8Array ? fromArray(source) : source), zones, importInto(core, () => now));
  let s = steps.next();
  while (!s.done) s = steps.next();
  if ("error" in s.value) core.flushAll();
  return s.value;
}

const importInto = (core: Core, now: () => number): ImportOne => (rec, at, len, zone) => core.importRecord(rec, now(), zone, at, len);

/** Reads a snapshot; yields every RECORDS_PER_STEP records so a caller can let other work run. */
function* readRecords(input: ChunkReaderBuffer, zones: ZoneRef[], importOne: ImportOne): Generator<void, LoadResult> {
  const magic = input.take(8);
  if (magic === null) return { error: "file too short" };
  for (let i = 0; i < 8; i++) if (magic[i] !== MAGIC.charCodeAt(i)) return { error: "not a localdns snapshot" };
  const format = input.u32();
  if (format !== FORMAT) return format === null ? { error: "file too short" } : { error: `unsupported snapshot format ${format}` };
  const tableLen = input.u32();
  const tableBytes = tableLen === null ? null : input.take(tableLen);
  if (tableBytes === null) return { error: "bad zone table length" };
  let old: ZoneRef[];
  try { old = JSON.parse(new TextDecoder().decode(tableBytes)); } catch { return { error: "bad zone table" }; }
  if (!Array.isArray(old)) return { error: "bad zone table" };
  const map = new Map<number, number>();
  for (const z of old) {
    const cur = zones.find((c) => c.set === z?.set && c.zone === z?.zone);
    if (cur && typeof z.id === "number") map.set(z.id, cur.id);
  }
  let restored = 0;
  let skipped = 0;
  for (let k = 1; ; k++) {
    if (k % RECORDS_PER_STEP === 0) yield;
    const n = input.u32();
    if (n === null) return { error: "truncated record list" };
    if (n === 0) break;
    if (n > SNAP_RECORD_MAX) return { error: "record too long" };
    const at = input.skip(n);
    if (at < 0) return { error: "truncated record" };
    const rec = input.buffer;
    const zone = n >= 32 ? map.get(rec[at + 30] | (rec[at + 31] << 8)) : undefined;
    if (zone !== undefined && (importOne === null || importOne(rec, at, n, zone))) restored++; else skipped++;
  }
  const expected = input.hash >>> 0;
  const sum = input.u32(false);
  if (sum === null) return { error: "truncated record list" };
  if (sum !== expected || !input.atEnd()) return { error: "checksum mismatch (corrupt or truncated)" };
  return { restored, skipped };
}

export interface SnapshotIO { open(path: string): ChunkReader; create(path: string): AtomicWriter }

/** Opens the snapshot; null when there is none (or it cannot be read: said in the log). */
function openSnapshot(io: SnapshotIO, path: string, log: Logger): ChunkReader | null {
  try { return io.open(path); } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") log.warn("cache snapshot unreadable, starting cold", { path, error: (e as Error).message });
    return null;
  }
}

/** Runs one pass over the file at `path`; an exception reading it becomes the pass's error. */
function* pass(io: SnapshotIO, path: string, zones: ZoneRef[], importOne: ImportOne, log: Logger): Generator<void, LoadResult | null> {
  const file = openSnapshot(io, path, log);
  if (file === null) return null;
  try {
    return yield* readRecords(new ChunkReaderBuffer((into) => file.read(into)), zones, importOne);
  } catch (e) {
    return { error: (e as Error).message };
  } finally {
    file.close();
  }
}

function report(r: LoadResult | null, path: string, log: Logger, extra: Record<string, unknown> = {}): number {
  if (r === null) return 0;
  if ("error" in r) { log.warn("cache snapshot ignored, starting cold", { path, reason: r.error }); return 0; }
  log.info("cache snapshot restored", { path, entries: r.restored, skipped: r.skipped, ...extra });
  return r.restored;
}

/** Restores the snapshot at `path` in one go, into an empty cache nothing else uses yet. */
export function restoreFromFile(core: Core, io: SnapshotIO, path: string, zones: ZoneRef[], now: number, log: Logger): number {
  const steps = pass(io, path, zones, importInto(core, () => now), log);
  let s = steps.next();
  while (!s.done) s = steps.next();
  if (s.value !== null && "error" in s.value) core.flushAll();
  return report(s.value, path, log);
}

export interface SlicedRestore {
  /** Resolves with the entries restored once done (0 when there was nothing to restore, it failed,
   * or it was cancelled). */
  readonly done: Promise<number>;
  /** Stops at the next slice; `done` then resolves. */
  cancel(): void;
  readonly finished: boolean;
}

/** Restores the snapshot while the cache serves: in slices of about `sliceMs` of work with the event
 * loop free in between, so answers are not held up. The whole file is checked (checksum included)
 * before the first record goes in, because every record is servable the moment it is in. Entries the
 * cache learned meanwhile are newer and stay (the core keeps the newer of two). */
export function restoreInSlices(core: Core, io: SnapshotIO, path: string, zones: ZoneRef[], now: () => number, log: Logger, sliceMs = 4): SlicedRestore {
  let cancelled = false;
  let finished = false;
  const started = performance.now();
  const run = async (): Promise<number> => {
    const checked = await drive(pass(io, path, zones, null, log), sliceMs, () => cancelled);
    if (checked === undefined || checked === null || "error" in checked) return cancelled ? 0 : report(checked ?? null, path, log);
    const r = await drive(pass(io, path, zones, importInto(core, now), log), sliceMs, () => cancelled);
    if (r === undefined) { log.info("cache snapshot restore cancelled", { path }); return 0; }
    // the file changed between the passes: what went in is not known good
    if (r !== null && "error" in r) core.flushAll();
    return report(r, path, log, { ms: Math.round(performance.now() - started) });
  };
  const done = run().catch((e) => { log.warn("cache snapshot restore failed", { path, error: (e as Error).message }); return 0; })
    .finally(() => { finished = true; });
  return { done, cancel: () => { cancelled = true; }, get finished() { return finished; } };
}

/** Runs `steps` to the end, giving the event loop a turn after every `sliceMs` of work; undefined
 * when cancelled. */
async function drive<T>(steps: Generator<void, T>, sliceMs: number, cancelled: () => boolean): Promise<T | undefined> {
  let sliceStart = performance.now();
  for (;;) {
    const s = steps.next();
    if (s.done) return s.value;
    if (performance.now() - sliceStart < sliceMs) continue;
    await new Promise((r) => setTimeout(r, 0));
    if (cancelled()) { steps.return(undefined as T); return undefined; }
    sliceStart = performance.now();
  }
}

export function saveToFile(core: Core, io: SnapshotIO, path: string, zones: ZoneRef[], log: Logger): void {
  let file: AtomicWriter | null = null;
  try {
    file = io.create(path);
    const out = file;
    const { records, bytes } = writeSnapshot(core, zones, (c) => out.write(c));
    file.commit();
    log.info("cache snapshot written", { path, entries: records, bytes });
  } catch (e) {
    file?.abort();
    log.warn("cache snapshot not written", { path, error: (e as Error).message });
  }
}
