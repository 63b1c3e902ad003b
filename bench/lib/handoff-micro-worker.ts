// The producing side of bench/handoff-micro.ts, on a Worker: hands off `n` records of a miss's size,
// `perBatch` per batch, `batchesPerMs` batches each millisecond, the old way (two copies posted with
// transfer, a full collection every 2,048) or through the hand-off ring (one wake when the owner is idle).
import { HandOffRingWriter } from "../../src/net/handoff-ring";

declare const self: { onmessage: ((ev: MessageEvent) => void) | null; postMessage(m: unknown, transfer?: Transferable[]): void };
declare const Bun: { gc(full: boolean): void } | undefined;

self.onmessage = (ev: MessageEvent) => {
  const { mode, n, perBatch, batchesPerMs, ring } = ev.data as { mode: "post" | "ring"; n: number; perBatch: number; batchesPerMs: number; ring: SharedArrayBuffer };
  const slot = new Uint8Array(4096).map((_, k) => k & 0xff);
  const address = new Uint8Array(32).fill(7);
  const writer = new HandOffRingWriter(ring);
  const wake = { type: "wake" };
  let sent = 0, dropped = 0;
  const batch = () => {
    for (let k = 0; k < perBatch && sent < n; k++, sent++) {
      if (mode === "post") {
        const d = { fd: 3, socket: 0, address: address.slice(0, 16), data: slot.slice(0, 40), truncated: false, kind: 1 };
        self.postMessage({ type: "handoff", datagram: d }, [d.address.buffer, d.data.buffer]);
        if (sent % 2048 === 2047 && typeof Bun !== "undefined") Bun.gc(true);
      } else if (!writer.write(slot, 0, 40, address, 0, 16, 1, false, 0)) dropped++;
    }
    if (mode === "ring" && writer.claimWake()) self.postMessage(wake);
  };
  const tick = () => {
    for (let b = 0; b < batchesPerMs && sent < n; b++) batch();
    if (sent < n) setTimeout(tick, 1);
    else self.postMessage({ type: "done", dropped });
  };
  tick();
};
