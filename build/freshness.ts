// "--if-needed" support shared by the builds: is an output older than what it is built from?
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/** Newest modification time of any file below dir (ms). */
export function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** Modification time of a file (ms), 0 when it does not exist. */
export const mtime = (p: string): number => (existsSync(p) ? statSync(p).mtimeMs : 0);
