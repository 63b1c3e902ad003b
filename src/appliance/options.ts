// What Appliance.start takes.
import type { Runtime } from "../runtime/types";
import type { EffectiveConfig } from "../config/effective";
import type { Logger } from "../log";
import type { Clock } from "../clock";

export interface ApplianceOptions {
  runtime: Runtime;
  config: EffectiveConfig;
  log: Logger;
  clock?: Clock;
  wasm?: Uint8Array;
  version?: string;
  /** Re-reads the config source for SIGHUP / POST /reload. */
  /** run --takeover: join listeners a running localdns holds, steer them here, ask it to leave. */
  takeover?: boolean;
  reloadSource?: () => { ok: true; config: EffectiveConfig } | { ok: false; errors: string[] };
}
