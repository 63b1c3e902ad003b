// A loop Worker for test/core-shared.test.ts: attaches to the main thread's core and serves batches
// of queries for n-<i>.test. (A 10.x.y.z, see sharedName/sharedAddress) as fast as it can while the
// main thread keeps storing and evicting. Checks every slot itself and reports what it saw.
import packet from "dns-packet";
import { Core, Batch, BatchStatus, type CoreShare } from "../../src/core";
import { sharedName, sharedAddress } from "./core-shared-names";

declare const self: Worker;

interface Job { share: CoreShare; names: number; durationMs: number; now: number }

self.onmessage = async (e: MessageEvent<Job>) => {
  const { share, names, durationMs, now } = e.data;
  const core = await Core.attach(share);
  const queries = Array.from({ length: names }, (_, i) => packet.encode({
    type: "query", id: i & 0xffff, flags: packet.RECURSION_DESIRED, questions: [{ name: sharedName(i), type: "A", class: "IN" }],
  }));
  const asked = new Int32Array(Batch.MAX);
  let answered = 0, missed = 0, batches = 0, other = 0;
  const problems: string[] = [];
  const problem = (s: string) => { if (problems.length < 10) problems.push(s); };
  let seed = 12345;
  const end = performance.now() + durationMs;
  while (performance.now() < end) {
    for (let s = 0; s < Batch.MAX; s++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const i = seed % names;
      asked[s] = i;
      core.putBatchQuery(s, queries[i]);
    }
    const n = core.handleBatch(Batch.MAX, now, 0);
    batches++;
    let count = 0;
    for (let s = 0; s < Batch.MAX; s++) {
      const i = asked[s];
      const out = core.batchAnswerLength(s);
      const status = core.batchInfo[s] >>> Batch.STATUS_SHIFT;
      if (out > 0) {
        count++;
        answered++;
        try {
          const m: any = packet.decode(Buffer.from(core.batchSlot(s, out)));
          const q = m.questions[0];
          if (m.id !== (i & 0xffff) || q.name.toLowerCase() !== sharedName(i) || q.type !== "A" || m.rcode !== "NOERROR"
            || m.answers.length !== 1 || m.answers[0].data !== sharedAddress(i) || status !== BatchStatus.HIT) problem(`slot ${s}: asked ${sharedName(i)}, got ${JSON.stringify({ id: m.id, q, rcode: m.rcode, answers: m.answers, status })}`);
        } catch (err) {
          problem(`slot ${s}: asked ${sharedName(i)}: answer does not parse (${err})`);
        }
      } else if (status === BatchStatus.MISS) {
        missed++;
        if (Buffer.compare(Buffer.from(core.batchSlot(s, queries[i].length)), queries[i]) !== 0) problem(`slot ${s}: a miss did not leave the query in place`);
      } else {
        other++;
        problem(`slot ${s}: status ${status} for ${sharedName(i)}`);
      }
    }
    if (count !== n) problem(`handleBatch said ${n} answered, the slots say ${count}`);
  }
  core.detach();
  postMessage({ answered, missed, other, batches, problems });
};
