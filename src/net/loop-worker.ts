// Worker entry of a UDP loop: opens libc for this thread, loads the handler module the owner named,
// then runs the loop until the owner's command ends it. Messages to the owner: ready, handoff, done, failed.
import { openLibcNet } from "./libc-net";
import { layoutFor } from "./layout";
import { UdpLoop, type HandedOff } from "./udp-loop";
import type { BatchContext, BatchHandlerFactory } from "./batch-handler";
import type { LoopInit } from "./loop-init";
import { STATE_FAILED, CTRL_STATE } from "./loop-control";

declare const self: { onmessage: ((ev: MessageEvent) => void) | null; postMessage(m: unknown, transfer?: Transferable[]): void };

self.onmessage = (ev: MessageEvent) => {
  self.onmessage = null; // one loop per Worker
  void start(ev.data as LoopInit);
};

async function start(init: LoopInit): Promise<void> {
  let loop: UdpLoop | null = null;
  try {
    const lib = await openLibcNet();
    const layout = layoutFor(init.arch);
    if (!layout) throw new Error(`no layout for ${init.arch}`);
    const mod = await import(init.handler.module);
    const factory = mod[init.handler.export] as BatchHandlerFactory | undefined;
    if (typeof factory !== "function") throw new Error(`${init.handler.module} exports no function ${init.handler.export}`);
    const owned = new UdpLoop(lib, layout, init, (d: HandedOff) => self.postMessage({ type: "handoff", datagram: d }, [d.address.buffer, d.data.buffer]));
    loop = owned;
    const ctx: BatchContext = {
      slots: init.slots,
      bytes: new Uint8Array(init.slots.memory),
      words: new Uint32Array(init.slots.memory, 0, init.slots.memory.byteLength >> 2),
      options: init.handler.options,
      handOff: (i) => owned.handOff(i),
    };
    const handler = await factory(ctx);
    self.postMessage({ type: "ready" });
    const end = owned.run(handler); // returns only when the owner's command ends the loop
    self.postMessage({ type: "done", end });
  } catch (e) {
    loop?.dispose();
    Atomics.store(init.ctrl, CTRL_STATE, STATE_FAILED);
    self.postMessage({ type: "failed", message: e instanceof Error ? e.message : String(e) });
  }
}
