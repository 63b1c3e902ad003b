// Unpredictable 16-bit query IDs and 0x20 case seeds, drawn from the CSPRNG in batches.
const pool = new Uint16Array(512);
let next = pool.length;

export function randomU16(): number {
  if (next >= pool.length) { crypto.getRandomValues(pool); next = 0; }
  return pool[next++];
}

export function randomU32(): number {
  return ((randomU16() << 16) | randomU16()) >>> 0;
}
