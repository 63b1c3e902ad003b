// The one message an owner sends a loop Worker (structured-clone data; the SharedArrayBuffers are shared).
import type { UdpLoopConfig } from "./udp-loop";

export interface LoopInit extends UdpLoopConfig {
  readonly arch: "x64" | "arm64";
  readonly handler: { readonly module: string; readonly export: string; readonly options?: unknown };
}
