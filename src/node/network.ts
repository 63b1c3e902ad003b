// Node network set-up and teardown for the systemd unit's privileged steps. (Being written: see issue 6.)
import type { EffectiveConfig } from "../config/effective";
import type { Logger } from "../log";

export interface NetworkOptions { dryRun: boolean; log: Logger }

/** Returns the process exit code. */
export async function runNetworkStep(action: "up" | "down" | "resolver", _config: EffectiveConfig, o: NetworkOptions): Promise<number> {
  o.log.error("network step not available yet", { action });
  return 1;
}
