// Query IDs on one transport (a UDP socket set or a TCP pool): random, so an off-path spoofer must
// guess them, never one still in use, found in a bounded number of steps, and a cap on queries in
// flight below the 65,536 IDs so that a free one always exists.
//
// The cap is half the ID space. There a random draw is free with probability ≥ 1/2 (two draws on
// average; at 60,000 it would be twelve, each a lookup on every pooled TCP connection), and a forged
// reply matches a waiting ID with probability ≤ 1/2 rather than ~0.9. 32,768 misses waiting on one
// upstream at once is far past the defaults (maxConcurrent 1,000 per zone, 4 zones); only a raised
// maxConcurrent and an upstream that stopped answering get there, and then failing fast is right.
import { randomU16 } from "./ids";

export const MAX_IN_FLIGHT = 32_768;
const RANDOM_DRAWS = 16;

/** A random ID for which inUse() is false; with fewer than 65,536 in use there always is one. */
export function freeId(inUse: (id: number) => boolean): number {
  for (let i = 0; i < RANDOM_DRAWS; i++) {
    const id = randomU16();
    if (!inUse(id)) return id;
  }
  // unlucky (p ≤ 2^-16 under the cap): the first free ID after a random one
  const start = randomU16();
  for (let k = 0; k < 65_536; k++) {
    const id = (start + k) & 0xffff;
    if (!inUse(id)) return id;
  }
  return start; // every ID in use: the transport's cap keeps this from happening
}

/** The error a transport reports (asynchronously, through onError) for a query over its cap. */
export function inFlightFull(to: string): Error {
  return new Error(`${MAX_IN_FLIGHT} queries already in flight to ${to}`);
}
