// The words a loop and its owner share (a SharedArrayBuffer): a command the owner sets before poking
// the loop's eventfd, the loop's state, and counters the loop publishes after every batch.
export const CTRL_COMMAND = 0;
export const CTRL_STATE = 1;
/** More hand-offs waiting than this and the loop drops the next ones (counted): a miss flood must
 * not queue datagrams for the main thread without bound. The hand-off ring's byte budget binds first
 * for any datagram over 16 octets (4,096 of the smallest records, 64 octets, fill its 256 KiB). Room for
 * a restart's backlog: the kernel queues ~1,000 queries at 2,000 QPS while no process reads, all misses
 * until the snapshot is restored, and the loop hands them off faster than the main thread serves. */
export const MAX_PENDING_HANDOFFS = 4096;
export const CTRL_WORDS = 4;

export const COMMAND_RUN = 0;
/** leave the loop at once; the sockets stay open (the owner closes them) */
export const COMMAND_STOP = 1;
/** answer everything queued, close the sockets on the loop thread, leave */
export const COMMAND_DRAIN_AND_CLOSE = 2;
/** answer everything queued, leave; the sockets stay open (the owner closes them) */
export const COMMAND_DRAIN_AND_STOP = 3;

export const STATE_STARTING = 0;
export const STATE_RUNNING = 1;
export const STATE_STOPPED = 2;
/** stopped and the sockets are closed: their fd numbers may already belong to something else */
export const STATE_CLOSED = 3;
export const STATE_FAILED = 4;

/** Counter indices in the Float64Array (f64: no wrap at 2^31 packets). */
export const STAT = {
  received: 0, answered: 1, batches: 2, truncated: 3, handedOff: 4, sendErrors: 5, receiveErrors: 6,
  handlerErrors: 7, drained: 8, wakeups: 9, handOffsDropped: 10,
} as const;
export const STAT_COUNT = 11;
export type LoopStats = { -readonly [K in keyof typeof STAT]: number };

export function readStats(stats: Float64Array): LoopStats {
  const out = {} as LoopStats;
  for (const [k, i] of Object.entries(STAT)) out[k as keyof LoopStats] = stats[i];
  return out;
}
