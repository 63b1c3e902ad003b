// What is at a path, for the config's checks of the files it names. A link is followed; a dangling
// one counts as missing, a loop of links as something that is not a directory.
import { statSync } from "node:fs";
import type { PathKind } from "./effective";

export function pathKind(path: string): PathKind {
  try {
    return statSync(path).isDirectory() ? "directory" : "other";
  } catch (e) {
    return (e as { code?: string }).code === "ENOENT" ? "missing" : "other";
  }
}
