// Run by test/core-shared.test.ts under Deno: an owner core stores a.test. A 10.1.2.3, a Worker attaches
// to its shared memory and answers four copies of the query with handleBatch; prints what both saw.
import { Core } from "../../src/core.ts";

declare const Deno: any;
const wasm = await Deno.readFile(new URL("../../build/core.wasm", import.meta.url));
const core = await Core.load(wasm, 4 << 20);
core.addZone(0, ".");
// hand-made query and reply for a.test. A
const name = [1, 97, 4, 116, 101, 115, 116, 0];
const query = Uint8Array.from([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...name, 0, 1, 0, 1]);
if (core.handle(query, 1000, 0, false) !== -1) throw new Error("expected a miss");
const sent = core.upstreamQuery(0x4321, 0);
const reply = Uint8Array.from([0x43, 0x21, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, ...name, 0, 1, 0, 1, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 10, 1, 2, 3]);
if (core.prepare(reply, sent, false, 86400, 30) !== 0 || !core.storePrepared(sent.length, 1000, 0, 0, 0)) throw new Error("not stored");
const worker = new Worker(new URL("./deno-core-shared-worker.ts", import.meta.url).href, { type: "module" });
worker.postMessage({ share: core.share(), query });
worker.onmessage = (e) => { console.log(JSON.stringify({ ...e.data, mainStats: core.stats() })); worker.terminate(); };
