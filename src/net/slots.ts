// The caller's slot memory: where recvmmsg writes datagrams and the handler writes answers in place.
// It will be the wasm core's shared linear memory (a SharedArrayBuffer that never moves: shared wasm
// memory is reserved at its maximum), so the core reads queries and writes answers without a copy.
//
// Per slot a 16-byte record in the meta table, little-endian u32s:
//   +0 inLen   bytes received (the slot size when truncated)     written by the loop
//   +4 outLen  answer bytes to send from the slot, 0 = none now  written by the handler
//   +8 flags   SLOT_TRUNCATED: the datagram was longer than the slot (MSG_TRUNC)
//   +12 socket index of the socket it came from (in the loop's socket list)
export const META_RECORD = 16;
export const META_IN_LEN = 0;
export const META_OUT_LEN = 4;
export const META_FLAGS = 8;
export const META_SOCKET = 12;
export const SLOT_TRUNCATED = 1;

/** Upper bound on slots per loop: one recvmmsg batch (the kernel caps vlen at UIO_MAXIOV = 1024). */
export const MAX_SLOTS = 1024;
export const MAX_SLOT_SIZE = 65535;

export interface SlotRegion {
  readonly memory: SharedArrayBuffer;
  /** byte offset of slot 0's data; slot i starts at dataOffset + i * slotSize */
  readonly dataOffset: number;
  /** byte offset of the meta table (count records of META_RECORD bytes), 4-aligned */
  readonly metaOffset: number;
  readonly count: number;
  readonly slotSize: number;
}

/** A region laid out from `offset`: the meta table, then the slots (8-aligned). */
export function planSlotRegion(memory: SharedArrayBuffer, count: number, slotSize: number, offset = 0): SlotRegion {
  const metaOffset = Math.ceil(offset / 8) * 8;
  const dataOffset = metaOffset + count * META_RECORD;
  const region = { memory, dataOffset, metaOffset, count, slotSize };
  checkSlotRegion(region);
  return region;
}

/** Bytes a region of `count` slots takes (for sizing the memory). */
export const slotRegionBytes = (count: number, slotSize: number): number => 8 + count * (META_RECORD + slotSize);

/** Throws with the reason when the region cannot be used (out of the memory, misaligned, too big). */
export function checkSlotRegion(r: SlotRegion): void {
  if (!(r.memory instanceof SharedArrayBuffer)) throw new Error("slot memory must be a SharedArrayBuffer (the loop runs on another thread)");
  if (!Number.isInteger(r.count) || r.count < 1 || r.count > MAX_SLOTS) throw new Error(`slot count ${r.count} is not 1..${MAX_SLOTS}`);
  if (!Number.isInteger(r.slotSize) || r.slotSize < 12 || r.slotSize > MAX_SLOT_SIZE) throw new Error(`slot size ${r.slotSize} is not 12..${MAX_SLOT_SIZE}`);
  if (!Number.isInteger(r.metaOffset) || r.metaOffset < 0 || r.metaOffset % 4 !== 0) throw new Error(`meta offset ${r.metaOffset} is not a 4-aligned offset`);
  if (!Number.isInteger(r.dataOffset) || r.dataOffset < 0) throw new Error(`data offset ${r.dataOffset} is not an offset`);
  const metaEnd = r.metaOffset + r.count * META_RECORD, dataEnd = r.dataOffset + r.count * r.slotSize;
  if (metaEnd > r.memory.byteLength || dataEnd > r.memory.byteLength) throw new Error(`slot region ends past the memory (${Math.max(metaEnd, dataEnd)} > ${r.memory.byteLength} bytes)`);
  if (r.metaOffset < dataEnd && r.dataOffset < metaEnd) throw new Error("slot meta table and slot data overlap");
}
