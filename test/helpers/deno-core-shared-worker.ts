// The Worker half of deno-core-shared.ts: attaches, batch-answers the query it was given, reports.
import { Core, Batch } from "../../src/core.ts";
self.onmessage = async (e: MessageEvent) => {
  const core = await Core.attach(e.data.share);
  const q: Uint8Array = e.data.query;
  for (let i = 0; i < 4; i++) core.putBatchQuery(i, q);
  const n = core.handleBatch(4, 1001, 0);
  const out = core.batchAnswerLength(0);
  postMessage({ answered: n, status: core.batchInfo[0] >>> Batch.STATUS_SHIFT, tail: [...core.batchSlot(0, out).subarray(out - 4)] });
};
