// Typed facade over the wasm packet core. Nothing else touches wasm memory. The memory is a shared
// WebAssembly.Memory: Core.load makes the owner (the one that sizes the cache), share() hands the module
// and memory to another thread, Core.attach there makes a second instance on the same cache. The views
// are made after init or attach (the only times memory grows) and reused for every packet.
import { CORE_MAX_ZONES, CORE_MAX_RULES } from "./config/limits";

import {
  R, Status, Rcode, Prepared, RuleAction, ANY_ZONE, SNAP_RECORD_MAX, KEY_NAME_OFF, MAX_THREADS, MEMORY_MAX_PAGES,
  Batch, BatchStatus, AttachError,
} from "./core-abi";

export { R, Status, Rcode, Prepared, RuleAction, ANY_ZONE, SNAP_RECORD_MAX, MAX_THREADS, Batch, BatchStatus };

/** A slow-path handle() result as a plain record (Core.decision). */
export interface Decision {
  status: number;
  /** the zone id, -1 when none matched */
  zone: number;
  qtype: number;
  /** Status.STALE: the length of the expired answer handle() left in OUT (valid until the next
   * core call that writes OUT); else 0 */
  staleLength: number;
  /** the cache key (the coalescing map's key) */
  key: string;
  /** the client's query cut down to what its answer needs (compactQuery) */
  query: Uint8Array;
}

/** What another thread needs to run an instance on the same cache (both may be posted to a Worker);
 * with `instance`, the scratch set the owner reserved for it (reserveInstance). */
export interface CoreShare { module: WebAssembly.Module; memory: WebAssembly.Memory; instance?: number }

/** A scratch set the owner reserved for an instance another thread will attach: its batch area, known
 * before that thread starts (a socket loop's slot region). */
export interface ReservedInstance { share: CoreShare; index: number; BATCH: number; BATCH_META: number }

interface Exports {
  memory: WebAssembly.Memory;
  init(maxBytes: number, seed: number): number;
  enableSharing(): void; attach(): number; detach(): void;
  reserve(): number; reservedBatchPtr(i: number): number; reservedBatchMetaPtr(i: number): number;
  unreserve(i: number): void; attachReserved(i: number): number;
  resPtr(): number; inPtr(): number; auxPtr(): number; outPtr(): number; keyPtr(): number;
  batchPtr(): number; batchMetaPtr(): number; batchInfoPtr(): number;
  configure(staleTtl: number, prefetchHits: number, blockedTtl: number, maxUdp: number): void;
  handle(len: number, now: number, set: number, tcp: number): number;
  handleBatch(n: number, now: number, set: number): number;
  recall(len: number, set: number): number;
  logZone(zone: number, on: number): void; logSet(set: number, on: number): void; logClear(): void;
  upstreamQuery(id: number, caseSeed: number): number;
  compactQuery(): number;
  prepare(rlen: number, qlen: number, exactCase: number, capTtl: number, negTtl: number): number;
  storePrepared(qlen: number, now: number, set: number, zone: number, staleWindow: number): number;
  answerPrepared(qlen: number, tcp: number): number;
  answerError(qlen: number, rcode: number): number;
  answerHealth(qlen: number, addrLen: number): number;
  zonesBegin(): void; zonesCommit(): void;
  addZone(set: number, n: number, id: number): number;
  addRule(set: number, zone: number, action: number, minLabels: number, exact: number, n: number): number;
  cacheFlush(): number;
  flushName(n: number, set: number, qtype: number): number;
  flushSuffix(n: number, set: number): number;
  cacheFlushZone(zone: number): number;
  cacheCount(): number; cacheNegativeCount(): number; cacheBytes(): number;
  cacheEvictions(): number; cacheHits(): number; cacheMisses(): number;
  peek(len: number, now: number, set: number): number;
  snapFirst(): number; snapNext(): number; snapRecordLength(rec: number): number;
  snapImport(len: number, now: number, zone: number): number;
  zoneCounts(): number;
  hostsBegin(): void; hostsCommit(): void;
  inspectQuery(len: number): number;
  hostsPut(n: number, qtype: number, count: number, ttl: number, len: number): number;
}

/** Encodes a presentation name ("Cluster.Local", "." ) as a lowercased wire name. */
export function encodeName(name: string): Uint8Array {
  const trimmed = name.endsWith(".") ? name.slice(0, -1) : name;
  const labels = trimmed === "" ? [] : trimmed.toLowerCase().split(".");
  const out: number[] = [];
  for (const l of labels) {
    if (l.length === 0 || l.length > 63) throw new Error(`invalid DNS name: ${JSON.stringify(name)}`);
    out.push(l.length);
    for (let i = 0; i < l.length; i++) {
      const c = l.charCodeAt(i);
      if (c > 127) throw new Error(`invalid DNS name: ${JSON.stringify(name)}`);
      out.push(c);
    }
  }
  out.push(0);
  if (out.length > 255) throw new Error(`DNS name too long: ${JSON.stringify(name)}`);
  return Uint8Array.from(out);
}

const latin1 = new TextDecoder("latin1");

/** A zone of a listener set under its stable id (0..254), as the core's zone table holds it. */
export interface ZoneEntry { set: number; name: string; id: number }
export type HostsEntries = { name: string; qtype: number; rdata: Uint8Array[] }[];
/** A name rule: answer `action` for names under `name` (exact: the name itself only). */
export interface RuleEntry { set: number; zone: number; action: number; name: string; minLabels: number; exact: boolean }

const imports = (memory: WebAssembly.Memory) => ({
  env: { memory, abort() { throw new Error("wasm core abort"); } },
});

export class Core {
  readonly x: Exports;
  readonly mem: Uint8Array;
  readonly res: Int32Array;
  readonly IN: number;
  readonly AUX: number;
  readonly OUT: number;
  /** This instance's batch area (handleBatch): Batch.MAX slots of Batch.SLOT octets from BATCH, a
   * meta table of one Batch.META_RECORD-octet record per slot from BATCH_META (the socket loop's
   * layout, src/net/slots.ts: query length in, answer length out, flags in, socket), and one result
   * word per slot (batchInfo). */
  readonly BATCH: number;
  readonly BATCH_META: number;
  readonly batchMeta: Int32Array;
  readonly batchInfo: Int32Array;
  private readonly outViews: Uint8Array[] = [];

  /** The owner: a new shared memory, the cache sized to maxBytes. */
  static async load(wasm: Uint8Array, maxBytes: number): Promise<Core> {
    const module = await WebAssembly.compile(wasm);
    const memory = new WebAssembly.Memory({ initial: 4, maximum: MEMORY_MAX_PAGES, shared: true });
    const instance = await WebAssembly.instantiate(module, imports(memory));
    const x = instance.exports as unknown as Exports;
    if (x.init(maxBytes, crypto.getRandomValues(new Uint32Array(1))[0]) !== 0) throw new Error(`cache.maxBytes ${maxBytes} is too small or memory could not grow`);
    return new Core(x, module, memory);
  }

  /** A further instance on the memory of an owner that called share() (in this thread or another):
   * the same cache, zones, hosts and counters, its own scratch buffers. Throws when the memory is not
   * a shared core's or all MAX_THREADS instances exist. */
  static async attach(share: CoreShare): Promise<Core> {
    const instance = await WebAssembly.instantiate(share.module, imports(share.memory));
    const x = instance.exports as unknown as Exports;
    const r = share.instance === undefined ? x.attach() : x.attachReserved(share.instance);
    if (r === AttachError.FULL) throw new Error(`core attach: all ${MAX_THREADS} instances of this memory exist`);
    if (r === AttachError.NOT_RESERVED) throw new Error(`core attach: instance ${share.instance} was not reserved`);
    if (r < 0) throw new Error("core attach: the memory holds no shared core (call share() on the owner first)");
    return new Core(x, share.module, share.memory);
  }

  private constructor(x: Exports, private readonly module: WebAssembly.Module, private readonly memory: WebAssembly.Memory) {
    this.x = x;
    // init grew the memory to its full size (layout and cache) and nothing grows it again: views made
    // now cover all of it. A shared memory's buffer is a fresh SharedArrayBuffer of the size it has.
    const buf = memory.buffer;
    this.mem = new Uint8Array(buf);
    this.res = new Int32Array(buf, x.resPtr(), 64);
    this.IN = x.inPtr();
    this.AUX = x.auxPtr();
    this.OUT = x.outPtr();
    this.BATCH = x.batchPtr();
    this.BATCH_META = x.batchMetaPtr();
    this.batchMeta = new Int32Array(buf, this.BATCH_META, (Batch.MAX * Batch.META_RECORD) >> 2);
    this.batchInfo = new Int32Array(buf, x.batchInfoPtr(), Batch.MAX);
  }

  /** Lets other instances onto this core's memory (from now on every instance takes the core's lock)
   * and returns what Core.attach needs. Call on the owner's thread, before posting it anywhere. */
  share(): CoreShare {
    this.x.enableSharing();
    return { module: this.module, memory: this.memory };
  }

  /** Shares the memory (share()) and reserves a scratch set for an instance another thread will make
   * with Core.attach(reserved.share): its batch slots and meta table are at BATCH and BATCH_META. */
  reserveInstance(): ReservedInstance {
    const share = this.share();
    const i = this.x.reserve();
    if (i === AttachError.FULL) throw new Error(`core reserve: all ${MAX_THREADS} instances of this memory exist`);
    return { share: { ...share, instance: i }, index: i, BATCH: this.x.reservedBatchPtr(i), BATCH_META: this.x.reservedBatchMetaPtr(i) };
  }
  /** Gives a reserved scratch set back (its instance is gone, or was never made). */
  unreserveInstance(index: number): void { this.x.unreserve(index); }

  /** Gives this instance's scratch buffers back to the memory (an attached instance leaving); the
   * instance must not be used afterwards. */
  detach(): void { this.x.detach(); }

  /** Handles batch slots [0, n) as UDP queries of listener set `set` (lengths and flags in the meta
   * table). Returns how many were answered in place; see BatchStatus for the rest. */
  handleBatch(n: number, now: number, set: number): number { return this.x.handleBatch(n, now, set); }

  /** Puts a query into batch slot i (tests and tools; the socket loop receives straight into it). */
  putBatchQuery(i: number, query: Uint8Array, flags = 0): void {
    const n = Math.min(query.length, Batch.SLOT);
    this.mem.set(n === query.length ? query : query.subarray(0, n), this.BATCH + i * Batch.SLOT);
    const m = (i * Batch.META_RECORD) >> 2;
    this.batchMeta[m + (Batch.META_IN_LEN >> 2)] = n;
    this.batchMeta[m + (Batch.META_FLAGS >> 2)] = flags;
  }
  /** The answer length handleBatch left for slot i (0: nothing to send from the slot). */
  batchAnswerLength(i: number): number { return this.batchMeta[((i * Batch.META_RECORD) + Batch.META_OUT_LEN) >> 2]; }

  /** Slot i of the batch area, as a view of its first n octets. */
  batchSlot(i: number, n: number): Uint8Array {
    const at = this.BATCH + i * Batch.SLOT;
    return this.mem.subarray(at, at + n);
  }

  /** For a query answered elsewhere with BatchStatus.HIT_REFRESH: the core's state as handle() leaves
   * it (key, zone, parsed query in IN), without a lookup, so a refresh can start. The zone id, or -1. */
  recall(query: Uint8Array, set: number): number {
    return this.x.recall(this.putQuery(query), set);
  }

  /** Which answers handleBatch leaves to handle() because the query log records them: the zone ids
   * whose zone logs every query and the listener sets with any such zone (for answers given before
   * a zone matched). Replaces the previous lists. */
  setLoggedQueries(zoneIds: number[], sets: number[]): void {
    this.x.logClear();
    for (const z of zoneIds) this.x.logZone(z, 1);
    for (const s of sets) this.x.logSet(s, 1);
  }

  /** A reusable view of the first n bytes of OUT (valid until the next core call). */
  out(n: number): Uint8Array {
    let v = this.outViews[n];
    if (v === undefined) v = this.outViews[n] = this.mem.subarray(this.OUT, this.OUT + n);
    return v;
  }
  /** A fresh copy of the first n bytes of OUT. */
  copyOut(n: number): Uint8Array { return this.mem.slice(this.OUT, this.OUT + n); }
  /** OUT preceded by its 2-octet TCP length, as one view (the two octets before OUT are slack). */
  framedOut(n: number): Uint8Array {
    this.mem[this.OUT - 2] = n >> 8;
    this.mem[this.OUT - 1] = n & 0xff;
    return this.mem.subarray(this.OUT - 2, this.OUT + n);
  }

  handle(msg: Uint8Array, now: number, set: number, tcp: boolean): number {
    if (msg.length > 65535) return 0;
    this.mem.set(msg, this.IN);
    return this.x.handle(msg.length, now, set, tcp ? 1 : 0);
  }

  configure(staleTtl: number, prefetchHits: number, blockedTtl: number, maxUdp: number): void {
    this.x.configure(staleTtl, prefetchHits, blockedTtl, maxUdp);
  }

  /** What a query asks, read by the core's own parser (for log lines; never on the hit path). */
  describe(query: Uint8Array): { id: number; name: string; qtype: number; qclass: number; do: boolean; bufsize: number } {
    this.mem.set(query.subarray(0, Math.min(query.length, 65535)), this.IN);
    const ok = this.x.inspectQuery(Math.min(query.length, 65535)) === 0 || this.res[R.QOK] === 1;
    const r = this.res;
    return {
      id: query.length >= 2 ? (query[0] << 8) | query[1] : 0,
      name: ok ? this.keyName() : "",
      qtype: ok ? r[R.QTYPE] : 0,
      qclass: ok ? r[R.QCLASS] : 0,
      do: r[R.DO] === 1,
      bufsize: r[R.EDNS] === 1 ? r[R.UDP] : 512,
    };
  }

  /** The (lowercased) question name of the last parsed query, in presentation form. */
  private keyName(): string {
    const p = this.x.keyPtr() + KEY_NAME_OFF;
    let out = "";
    for (let i = p; this.mem[i] !== 0 && i < p + 255; i += this.mem[i] + 1) {
      for (let k = 1; k <= this.mem[i]; k++) {
        const c = this.mem[i + k];
        out += c === 0x2e || c === 0x5c ? `\\${String.fromCharCode(c)}` : c < 33 || c > 126 ? `\\${String(c).padStart(3, "0")}` : String.fromCharCode(c);
      }
      out += ".";
    }
    return out === "" ? "." : out;
  }

  /** The key of the last handled query as a string (miss path only: coalescing map key). */
  keyString(): string {
    const p = this.x.keyPtr();
    return latin1.decode(this.mem.subarray(p, p + this.res[R.KEY_LEN]));
  }

  /** After handle() asked to forward: the client's query reduced to what its answer needs (a copy).
   * OUT is left as it was (a stale answer there survives). */
  compactQuery(): Uint8Array {
    const n = this.x.compactQuery();
    return this.mem.slice(this.AUX, this.AUX + n);
  }

  /** What handle() decided about a query it did not answer (or recall() parsed), read from the
   * result area once: call right after handle(), on the slow path only (it allocates). Nothing in
   * the record changes when the core is called again. */
  decision(): Decision {
    const r = this.res;
    const status = r[R.STATUS];
    return {
      status, zone: r[R.ZONE], qtype: r[R.QTYPE], staleLength: status === Status.STALE ? r[R.OUT_LEN] : 0,
      key: this.keyString(), query: this.compactQuery(),
    };
  }

  /** The query the last handle() parsed, to send upstream, into OUT (a copy). */
  upstreamQuery(id: number, caseSeed: number): Uint8Array {
    const n = this.x.upstreamQuery(id, caseSeed);
    return this.copyOut(n);
  }

  /** The query to send upstream for a compact query (Decision.query): parsed again, so it does not
   * matter what the core did since. */
  upstreamQueryFor(compact: Uint8Array, id: number, caseSeed: number): Uint8Array {
    this.x.inspectQuery(this.putQuery(compact));
    return this.upstreamQuery(id, caseSeed);
  }

  /** Matches reply against the query we sent; fills PREP. Returns Prepared.* or a negative code. */
  prepare(reply: Uint8Array, sent: Uint8Array, exactCase: boolean, capTtl: number, negTtl: number): number {
    if (reply.length > 65535 || sent.length > 65535) return -1;
    this.mem.set(reply, this.IN);
    this.mem.set(sent, this.AUX);
    return this.x.prepare(reply.length, sent.length, exactCase ? 1 : 0, capTtl, negTtl);
  }

  /** After prepare(): caches the reply (under the key of `sent`, which must still be in AUX). */
  storePrepared(sentLen: number, now: number, set: number, zone: number, staleWindow: number): boolean {
    return this.x.storePrepared(sentLen, now, set, zone, staleWindow) === 0;
  }

  /** Copies a client query into IN, at most one DNS message of it (anything longer would run into
   * AUX); returns the length copied. Queries reaching here have passed handle(), so this only bounds. */
  private putQuery(q: Uint8Array): number {
    const n = Math.min(q.length, 65535);
    this.mem.set(n === q.length ? q : q.subarray(0, n), this.IN);
    return n;
  }

  /** After prepare(): the answer for one client's query, in OUT; returns its length. */
  answerPrepared(clientQuery: Uint8Array, tcp: boolean): number {
    return this.x.answerPrepared(this.putQuery(clientQuery), tcp ? 1 : 0);
  }

  answerError(clientQuery: Uint8Array, rcode: number): number {
    return this.x.answerError(this.putQuery(clientQuery), rcode);
  }

  answerHealth(clientQuery: Uint8Array, addr: Uint8Array): number {
    const n = this.putQuery(clientQuery);
    const a = addr.length === 4 || addr.length === 16 ? addr : new Uint8Array(4);
    this.mem.set(a, this.AUX);
    return this.x.answerHealth(n, a.length);
  }

  /** Replaces every zone and rule in one step (stageZones, then commitZones). Throws, with the live
   * tables untouched, when they do not fit. */
  loadZones(zones: ZoneEntry[], rules: RuleEntry[]): void {
    this.stageZones(zones, rules);
    this.commitZones();
  }

  /** Writes zones and rules into the core's spare table; the live one keeps answering. Throws when
   * they do not fit (the live table is untouched either way). */
  stageZones(zones: ZoneEntry[], rules: RuleEntry[]): void {
    const zoneNames = zones.map((z) => encodeName(z.name));
    const ruleNames = rules.map((r) => encodeName(r.name));
    this.stagedZones = null;
    this.x.zonesBegin();
    zones.forEach((z, i) => {
      this.mem.set(zoneNames[i], this.IN);
      if (this.x.addZone(z.set, zoneNames[i].length, z.id) < 0) throw new Error(`zone ${z.name} refused: the core holds ${CORE_MAX_ZONES} zones with ids 0..254 (this is zone ${i + 1}, id ${z.id})`);
    });
    rules.forEach((r, i) => {
      this.mem.set(ruleNames[i], this.IN);
      if (this.x.addRule(r.set, r.zone, r.action, r.minLabels, r.exact ? 1 : 0, ruleNames[i].length) < 0) throw new Error(`name rule ${r.name} refused: the core holds ${CORE_MAX_RULES} rules (this is rule ${i + 1})`);
    });
    this.stagedZones = { zones: zones.slice(), rules: rules.slice() };
  }

  /** Makes the table written by the last successful stageZones live. */
  commitZones(): void {
    if (!this.stagedZones) throw new Error("commitZones without a staged table");
    this.x.zonesCommit();
    ({ zones: this.zones, rules: this.rules } = this.stagedZones);
    this.stagedZones = null;
  }
  private stagedZones: { zones: ZoneEntry[]; rules: RuleEntry[] } | null = null;
  private zones: ZoneEntry[] = [];
  private rules: RuleEntry[] = [];

  // One zone or rule at a time (tests and tools): each call rewrites the whole table in one step.
  resetZones(): void { this.loadZones([], []); this.autoZoneId = 0; }
  /** Adds a zone under a stable id (0..254) that cache records and handle() results refer to. */
  addZone(set: number, name: string, id: number = this.autoZoneId++): number {
    this.loadZones([...this.zones, { set, name, id }], this.rules);
    return id;
  }
  private autoZoneId = 0;
  addRule(set: number, zone: number, action: number, name: string, minLabels: number, exact: boolean): void {
    this.loadZones(this.zones, [...this.rules, { set, zone, action, name, minLabels, exact }]);
  }

  flushAll(): number { return this.x.cacheFlush(); }
  flushName(name: string, set = -1, qtype = -1): number {
    const w = encodeName(name);
    this.mem.set(w, this.IN);
    return this.x.flushName(w.length, set, qtype);
  }
  flushZone(name: string, set = -1): number {
    const w = encodeName(name);
    this.mem.set(w, this.IN);
    return this.x.flushSuffix(w.length, set);
  }
  flushZoneIndex(zone: number): number { return this.x.cacheFlushZone(zone); }

  stats() {
    return {
      entries: this.x.cacheCount(),
      negativeEntries: this.x.cacheNegativeCount(),
      bytes: this.x.cacheBytes(),
      evictions: this.x.cacheEvictions() >>> 0,
      hits: this.x.cacheHits() >>> 0,
      misses: this.x.cacheMisses() >>> 0,
    };
  }

  /** Replaces the hosts overlay in one step (stageHosts, then commitHosts); false, with the live
   * overlay untouched, when the entries do not fit. */
  setHosts(entries: HostsEntries, ttl: number): boolean {
    if (!this.stageHosts(entries, ttl)) return false;
    this.commitHosts();
    return true;
  }

  /** Writes a hosts overlay into the core's spare one: answers for (name, qtype) with the given rdata
   * (addresses, or wire names for PTR); an empty list pins NODATA. false when it does not fit (the
   * live overlay keeps answering either way). */
  stageHosts(entries: HostsEntries, ttl: number): boolean {
    const room = this.AUX - this.IN; // IN's size: the buffers are laid out back to back
    this.hostsStaged = false;
    this.x.hostsBegin();
    for (const e of entries) {
      const w = encodeName(e.name);
      let len = w.length;
      for (const r of e.rdata) len += 2 + r.length;
      if (len > room || e.rdata.length > 65535) return false;
      let p = this.IN;
      this.mem.set(w, p);
      p += w.length;
      for (const r of e.rdata) {
        this.mem[p] = r.length & 0xff; // u16, little-endian (wasm load<u16>)
        this.mem[p + 1] = r.length >> 8;
        this.mem.set(r, p + 2);
        p += 2 + r.length;
      }
      if (this.x.hostsPut(w.length, e.qtype, e.rdata.length, ttl, len) !== 0) return false;
    }
    this.hostsStaged = true;
    return true;
  }

  /** Makes the overlay written by the last successful stageHosts live. */
  commitHosts(): void {
    if (!this.hostsStaged) throw new Error("commitHosts without a staged overlay");
    this.x.hostsCommit();
    this.hostsStaged = false;
  }
  private hostsStaged = false;

  /** Live cache entries per zone id. */
  entriesByZone(): Int32Array {
    const p = this.x.zoneCounts();
    return new Int32Array(this.mem.buffer.slice(p, p + 1024));
  }

  /** Calls fn for every live cache record, oldest first, with where its opaque bytes are:
   * this.mem[at, at + len), valid until fn returns. Allocates nothing per record. */
  forEachRecord(fn: (at: number, len: number) => void): void {
    for (let rec = this.x.snapFirst(); rec !== 0; rec = this.x.snapNext()) fn(rec, this.x.snapRecordLength(rec));
  }

  /** Re-inserts an exported record, src[start, start + len), under this run's zone id; false when
   * refused (corrupt, expired). */
  importRecord(src: Uint8Array, now: number, zone: number, start = 0, len = src.length - start): boolean {
    if (len > SNAP_RECORD_MAX || len < 0 || start + len > src.length) return false;
    const mem = this.mem;
    const at = this.IN;
    for (let i = 0; i < len; i++) mem[at + i] = src[start + i]; // no view object per record
    return this.x.snapImport(len, now, zone) === 0;
  }

  /** Remaining TTL of the cached answer for msg, or -1 (tests and tools). */
  peek(msg: Uint8Array, now: number, set: number): number {
    return this.x.peek(this.putQuery(msg), now, set);
  }
}
