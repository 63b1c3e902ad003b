// The cache snapshot across restarts: restored at start (before any socket is bound), saved at stop.
import type { Runtime } from "../runtime/types";
import type { Core } from "../core";
import type { Logger } from "../log";
import { SNAPSHOT_MAX_BYTES } from "../config/limits";
import { restoreFromFile, saveToFile, type ZoneRef, type SnapshotIO } from "../cache/snapshot";

const io = (rt: Runtime): SnapshotIO => ({ open: (p) => rt.openChunks(p, SNAPSHOT_MAX_BYTES), create: (p) => rt.createAtomic(p) });

export function restoreSnapshot(rt: Runtime, core: Core, path: string, zones: ZoneRef[], nowSeconds: number, log: Logger): void {
  // a warm restart needs somewhere to write: made now, so a problem shows at start, not at shutdown
  try { rt.makeParentDir(path); } catch (e) {
    log.warn("snapshot directory cannot be created; the cache will not survive a restart", { path, error: (e as Error).message });
  }
  restoreFromFile(core, io(rt), path, zones, nowSeconds, log);
}

export function saveSnapshot(rt: Runtime, core: Core, path: string, zones: ZoneRef[], log: Logger): void {
  saveToFile(core, io(rt), path, zones, log);
}
