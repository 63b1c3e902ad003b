// File writes shared by the Bun and Deno adapters (both run node:fs).
import { renameSync, writeFileSync, openSync, fsyncSync, closeSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";

/** Creates the directory that will hold `path` (and its parents) if missing. */
export function makeParentDir(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
}

/** Writes `data` to `path` so a reader sees the old file or the whole new one: a synced temporary
 * file renamed over it. */
export function writeFileAtomic(path: string, data: Uint8Array, pid: number): void {
  makeParentDir(path);
  const tmp = `${path}.tmp-${pid}`;
  writeFileSync(tmp, data, { mode: 0o600 });
  const fd = openSync(tmp, "r");
  try { fsyncSync(fd); } finally { closeSync(fd); }
  renameSync(tmp, path);
}
