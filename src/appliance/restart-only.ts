// Settings a reload cannot change in a running process (the cache's memory is sized once, the loop
// threads are started once): the reload applies the rest and says these wait for the next restart.
import type { EffectiveConfig } from "../config/effective";
import type { Logger } from "../log";

export function warnRestartOnly(running: EffectiveConfig, next: EffectiveConfig, log: Logger): void {
  if (next.cache.maxBytes !== running.cache.maxBytes) log.warn("cache.maxBytes changes take effect at the next restart", { running: running.cache.maxBytes });
  if (next.server.workers !== running.server.workers) log.warn("server.workers changes take effect at the next restart", { running: running.server.workers });
}
