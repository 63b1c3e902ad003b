// Batch handlers for the FFI loop tests, loaded by the loop's Worker (see src/net/batch-handler.ts).
// Echo: the answer is the query, with the loop's tag byte in front when options.tag is set; a
// truncated datagram is answered "TRUNC <inLen>"; a datagram starting with options.missByte is
// handed off to the owner thread instead (the miss path), truncated or not; one starting with
// options.refreshByte is answered with that byte and the datagram, and the datagram (placed past that
// answer, as the core leaves a refresh) is handed off from octet 1 on with kind 2.
import type { BatchContext, BatchHandler } from "../../src/net/batch-handler";
import { META_FLAGS, META_IN_LEN, META_OUT_LEN, META_RECORD, SLOT_TRUNCATED } from "../../src/net/slots";

interface EchoOptions { tag?: number; missByte?: number; refreshByte?: number; spinMs?: number }

export function createEchoHandler(ctx: BatchContext): BatchHandler {
  const { bytes, words, slots } = ctx;
  const o = (ctx.options ?? {}) as EchoOptions;
  const enc = new TextEncoder();
  return (n) => {
    for (let i = 0; i < n; i++) {
      const m = (slots.metaOffset + i * META_RECORD) >> 2;
      const len = words[m + (META_IN_LEN >> 2)];
      const at = slots.dataOffset + i * slots.slotSize;
      if (o.missByte !== undefined && len > 0 && bytes[at] === o.missByte) { ctx.handOff(i); continue; }
      if (o.refreshByte !== undefined && len > 0 && len < slots.slotSize && bytes[at] === o.refreshByte) {
        // as the core leaves a refresh: the answer (here the refresh byte and the query), the query past it
        bytes.copyWithin(at + 1, at, at + len);
        words[m + (META_OUT_LEN >> 2)] = len + 1;
        ctx.handOff(i, 2, 1);
        continue;
      }
      if (words[m + (META_FLAGS >> 2)] & SLOT_TRUNCATED) {
        const text = enc.encode(`TRUNC ${len}`);
        bytes.set(text, at);
        words[m + (META_OUT_LEN >> 2)] = text.length;
        continue;
      }
      if (o.tag !== undefined) {
        if (len + 1 > slots.slotSize) continue;
        bytes.copyWithin(at + 1, at, at + len);
        bytes[at] = o.tag;
        words[m + (META_OUT_LEN >> 2)] = len + 1;
      } else words[m + (META_OUT_LEN >> 2)] = len;
    }
    if (o.spinMs) { const until = Date.now() + o.spinMs; while (Date.now() < until); }
  };
}

/** A handler whose factory fails: start-up must report it, not hang. */
export function createFailingHandler(): BatchHandler {
  throw new Error("handler factory refused");
}
