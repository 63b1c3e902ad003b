// Keeps the process RSS near what is live.
// Every upstream query leaves a few kilobytes of short-lived objects (timers, closures, copies). Under
// a flood of misses the JS engine lets its heap, and the process RSS, grow far past what is live
// before collecting, and never gives the pages back. A full collection (a few ms) four times a second
// while misses are flowing keeps RSS flat; a pure cache-hit load never triggers it.
// One-off bursts (a hosts file or config reloaded, TCP buffers of closed connections) leave garbage
// without misses: when RSS has grown a tenth over what it was after the last collection and none ran
// for 2 s, one more runs, so memory returns to its level once the burst is over.
import type { Runtime } from "../runtime/types";

/** Monotonic counters of work that leaves garbage behind. */
export interface GarbageSources {
  upstreamEvents(): number; // upstream queries and replies
  tcpBytesReceived(): number; // every TCP chunk read is a fresh buffer
  logLines(): number; // every log line (its fields, its text); query logging writes them for hits too
}

const TICK_MS = 250;
const EVENTS_PER_COLLECTION = 256;
const TCP_BYTES_PER_COLLECTION = 4 << 20;
const LINES_PER_COLLECTION = 256;
const QUIET_MS = 2000;
const RSS_GROWTH = 1.1;

export function startMemoryKeeper(rt: Runtime, src: GarbageSources): { stop(): void } {
  let seen = 0;
  let seenTcp = 0;
  let seenLines = 0;
  let lastGc = Date.now();
  let rssAfterGc = rt.rss();
  const collect = () => { rt.collectGarbage(); lastGc = Date.now(); rssAfterGc = rt.rss(); };
  const timer = setInterval(() => {
    const events = src.upstreamEvents();
    const tcp = src.tcpBytesReceived();
    const lines = src.logLines();
    if (events - seen >= EVENTS_PER_COLLECTION || tcp - seenTcp >= TCP_BYTES_PER_COLLECTION || lines - seenLines >= LINES_PER_COLLECTION) collect();
    else if (Date.now() - lastGc >= QUIET_MS && rt.rss() > rssAfterGc * RSS_GROWTH) collect();
    seen = events;
    seenTcp = tcp;
    seenLines = lines;
  }, TICK_MS);
  return { stop: () => clearInterval(timer) };
}
