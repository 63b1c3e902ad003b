// The batch handler of the FFI data path, run on the loop Worker: the core answers every batch in
// place (cache hits, error answers, blocked, hosts and special names) on the shared cache; the rest is
// handed to the main thread (misses, stale entries, the health name, logged queries), as are hits due
// for a refresh. Counting writes into the Worker's own counters, summed with the main thread's on
// scrape. Nothing here makes an object per packet.
import { Core, BatchStatus, Batch } from "../../core";
import type { BatchContext, BatchHandler } from "../../net/batch-handler";
import { DataPathStats } from "../stats";
import { HANDOFF_REFRESH, HANDOFF_SLOW, type DnsBatchOptions } from "./hand-off";

const ZONE_NONE = 255;

export async function createDnsBatchHandler(ctx: BatchContext): Promise<BatchHandler> {
  const o = ctx.options as DnsBatchOptions;
  const core = await Core.attach(o.share);
  const stats = new DataPathStats(o.stats);
  const info = core.batchInfo;
  const { sets, v6 } = o;
  return (n, socket) => {
    const started = performance.now();
    const set = sets[socket];
    const fam = v6[socket];
    core.handleBatch(n, Math.floor(Date.now() / 1000), set);
    const seconds = (performance.now() - started) / 1000;
    for (let i = 0; i < n; i++) {
      const word = info[i];
      const status = word >>> Batch.STATUS_SHIFT;
      const z = (word >>> Batch.ZONE_SHIFT) & 255;
      const zone = z === ZONE_NONE ? -1 : z;
      if (status >= BatchStatus.SLOW_MIN) { ctx.handOff(i, HANDOFF_SLOW); continue; } // counted there
      stats.request(zone, 0, fam, word & Batch.QTYPE_MASK);
      if (status === BatchStatus.DROP) { stats.dropped++; continue; }
      stats.response(set, zone, (word >>> Batch.RCODE_SHIFT) & 15);
      stats.duration[set].observe(seconds);
      switch (status) {
        case BatchStatus.HIT: stats.hit(zone, false); break;
        case BatchStatus.HIT_NEGATIVE: stats.hit(zone, true); break;
        // the query waits just past the answer
        case BatchStatus.HIT_REFRESH: stats.hit(zone, false); ctx.handOff(i, HANDOFF_REFRESH, core.batchAnswerLength(i)); break;
        case BatchStatus.HIT_NEGATIVE_REFRESH: stats.hit(zone, true); ctx.handOff(i, HANDOFF_REFRESH, core.batchAnswerLength(i)); break;
        case BatchStatus.ERROR: stats.errorsAnswered++; break;
        case BatchStatus.BLOCKED: stats.blocked++; break;
        case BatchStatus.HOSTS: stats.hostsAnswered++; break;
        case BatchStatus.LOCAL: stats.localAnswered++; break;
      }
    }
  };
}
