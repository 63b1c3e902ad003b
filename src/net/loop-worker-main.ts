// The body of a UDP loop Worker: opens libc for this thread, makes the handler with the factory it is
// given, then runs the loop until the owner's command ends it. Messages to the owner: ready, wake
// (drain the hand-off ring), done, failed. loop-worker.ts (a handler module named at run time) and the
// product's own Worker (a handler imported statically, as a compiled binary needs) both run it.
import { openLibcNet } from "./libc-net";
import { layoutFor } from "./layout";
import { UdpLoop } from "./udp-loop";
import type { BatchContext, BatchHandlerFactory } from "./batch-handler";
import type { LoopInit } from "./loop-init";
import { STATE_FAILED, CTRL_STATE } from "./loop-control";

export interface WorkerScope { onmessage: ((ev: MessageEvent) => void) | null; postMessage(m: unknown, transfer?: Transferable[]): void }

/** Serves the one LoopInit the owner posts, with the factory `pick` returns for it. */
export function serveLoopInWorker(scope: WorkerScope, pick: (init: LoopInit) => Promise<BatchHandlerFactory>): void {
  scope.onmessage = (ev: MessageEvent) => {
    scope.onmessage = null; // one loop per Worker
    void start(scope, ev.data as LoopInit, pick);
  };
}

async function start(scope: WorkerScope, init: LoopInit, pick: (init: LoopInit) => Promise<BatchHandlerFactory>): Promise<void> {
  let loop: UdpLoop | null = null;
  try {
    const lib = await openLibcNet();
    const layout = layoutFor(init.arch);
    if (!layout) throw new Error(`no layout for ${init.arch}`);
    const factory = await pick(init);
    const wake = { type: "wake" };
    const owned = new UdpLoop(lib, layout, init, () => scope.postMessage(wake));
    loop = owned;
    const ctx: BatchContext = {
      slots: init.slots,
      bytes: new Uint8Array(init.slots.memory),
      words: new Uint32Array(init.slots.memory, 0, init.slots.memory.byteLength >> 2),
      options: init.handler.options,
      handOff: (i, kind, offset) => owned.handOff(i, kind, offset),
    };
    const handler = await factory(ctx);
    scope.postMessage({ type: "ready" });
    const end = owned.run(handler); // returns only when the owner's command ends the loop
    scope.postMessage({ type: "done", end });
  } catch (e) {
    loop?.dispose();
    Atomics.store(init.ctrl, CTRL_STATE, STATE_FAILED);
    scope.postMessage({ type: "failed", message: e instanceof Error ? e.message : String(e) });
  }
}
