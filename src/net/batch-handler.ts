// What a handler module gives the loop. The loop's Worker imports the module named in the loop's
// options and calls its factory once; the returned handler then runs for every batch on the loop thread.
import type { SlotRegion } from "./slots";

export interface BatchContext {
  readonly slots: SlotRegion;
  /** whole slot memory as bytes and as u32 words (the meta table is at slots.metaOffset) */
  readonly bytes: Uint8Array;
  readonly words: Uint32Array;
  /** the handler's options from the owner (structured-clone data) */
  readonly options: unknown;
  /** Sends slot i (its bytes and binary source address) to the owner thread: the miss path. Leave its
   * outLen 0; the owner answers later with UdpLoopHandle.sendTo. Valid only during the handler call. */
  /** `offset`: where in the slot the datagram's bytes start (0: the slot's start). */
  handOff(slot: number, kind?: number, offset?: number): void;
}

/** Called with n > 0 datagrams in slots 0..n-1, all from socket `socket`. For each slot read inLen and
 * flags from the meta table, write outLen: > 0 sends that many bytes from the slot to its source. */
export type BatchHandler = (n: number, socket: number) => void;

export type BatchHandlerFactory = (ctx: BatchContext) => BatchHandler | Promise<BatchHandler>;
