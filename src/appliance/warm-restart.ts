// The cache snapshot across restarts: restored once the listeners serve (in slices, so answers are not
// held up; in a takeover after the instance taken over has left, so its last snapshot is the one
// read), saved at stop (not while a restore is still running: the file would lose what was not in yet).
// Misses wait at the restore gate meanwhile (a moment at most), so names in the snapshot are not
// asked upstream just because their slice was not in yet.
import type { Runtime } from "../runtime/types";
import type { Core } from "../core";
import type { Logger } from "../log";
import { SNAPSHOT_MAX_BYTES } from "../config/limits";
import { restoreInSlices, saveToFile, type ZoneRef, type SnapshotIO, type SlicedRestore } from "../cache/snapshot";
import type { RestoreGate } from "../server/restore-gate";

export type { SlicedRestore };

const io = (rt: Runtime): SnapshotIO => ({ open: (p) => rt.openChunks(p, SNAPSHOT_MAX_BYTES), create: (p) => rt.createAtomic(p) });

/** Before any listener serves: the snapshot's directory made (a warm restart needs somewhere to
 * write: a problem shows at start, not at shutdown), and the gate armed, since the loops may hand off
 * misses before the restore starts (not in a takeover: the restore waits for the old instance). */
export function prepareWarmRestart(rt: Runtime, path: string, log: Logger, gate: RestoreGate, takeover: boolean): void {
  try { rt.makeParentDir(path); } catch (e) {
    log.warn("snapshot directory cannot be created; the cache will not survive a restart", { path, error: (e as Error).message });
  }
  if (!takeover) gate.arm();
}

export function restoreSnapshot(rt: Runtime, core: Core, path: string, zones: ZoneRef[], nowSeconds: () => number, log: Logger, gate: RestoreGate): SlicedRestore {
  gate.arm();
  const r = restoreInSlices(core, io(rt), path, zones, nowSeconds, log);
  void r.done.finally(() => gate.open());
  return r;
}

/** Saves the cache, unless a restore is still running: then it is stopped and the file kept as it is
 * (it still holds everything the restore had not reached). */
export async function saveSnapshot(rt: Runtime, core: Core, path: string, zones: ZoneRef[], log: Logger, restoring: SlicedRestore | null): Promise<void> {
  if (restoring && !restoring.finished) {
    restoring.cancel();
    await restoring.done;
    log.info("cache snapshot not written: the restore had not finished, the file is kept as it was", { path });
    return;
  }
  saveToFile(core, io(rt), path, zones, log);
}
