// What the loop's batch handler asks the main thread to do with a datagram it hands off.
/** Run the whole request flow for it (a miss, a stale entry, the health name, a logged query…). */
export const HANDOFF_SLOW = 1;
/** It was answered from the cache already; the entry is due for a refresh (prefetch). */
export const HANDOFF_REFRESH = 2;

/** The batch handler's options, posted to the loop Worker (structured-clone data). */
export interface DnsBatchOptions {
  /** the core's module and memory and the scratch set reserved for the Worker's instance */
  share: import("../../core").CoreShare;
  /** per socket of the loop (by index): listener set, and 1 when it is an IPv6 socket */
  sets: number[];
  v6: number[];
  /** the Worker's counters (DataPathStats over this buffer), read by the main thread on scrape */
  stats: SharedArrayBuffer;
}
