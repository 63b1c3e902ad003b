// The one message an owner sends a loop Worker (structured-clone data; the SharedArrayBuffers are shared).
import type { SlotRegion } from "./slots";

export interface LoopInit {
  readonly arch: "x64" | "arm64";
  readonly fds: readonly number[];
  readonly controlFd: number;
  readonly slots: SlotRegion;
  readonly ctrl: Int32Array;
  readonly stats: Float64Array;
  readonly batchesPerWake?: number;
  readonly drainBatches?: number;
  readonly handler: { readonly module: string; readonly export: string; readonly options?: unknown };
}
