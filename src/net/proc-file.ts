// Reading /proc/net/{udp,tcp}{,6}, which a takeover needs (the reuseport group index) and Deno
// refuses to read without --allow-all. Where the runtime's fs cannot, libc reads them (the Deno build
// allows FFI unscoped). prepareProcReads() decides once, at start; readProcFile() is synchronous.
import { closeSync, openSync, readSync } from "node:fs";
import { lastError, openLibcNet, type LibcNet } from "./libc-net";
import { O_CLOEXEC, O_RDONLY } from "./constants";

const CHUNK = 65536;
/** a /proc/net table of a busy node is a few MB; past this it is not one we can use */
export const PROC_FILE_MAX_BYTES = 64 << 20;

let viaLibc: LibcNet | null = null;

/** Finds out whether the runtime's fs reads /proc/net; if not, opens libc for it. Never throws:
 * without either, readProcFile throws and callers treat the table as unknown. */
export async function prepareProcReads(probe = "/proc/net/udp"): Promise<"fs" | "libc" | "none"> {
  if (viaLibc) return "libc";
  try { readWithFs(probe); return "fs"; } catch { /* e.g. Deno: NotCapable */ }
  try {
    const lib = await openLibcNet();
    readWithLibc(lib, probe);
    viaLibc = lib;
    return "libc";
  } catch { return "none"; }
}

/** A /proc file read to its end (its size reads as 0, so nothing may trust the size). */
export function readProcFile(path: string): string {
  return viaLibc ? readWithLibc(viaLibc, path) : readWithFs(path);
}

function collect(readInto: (chunk: Uint8Array) => number, path: string): string {
  const decoder = new TextDecoder();
  const chunk = new Uint8Array(CHUNK);
  let text = "";
  let total = 0;
  for (;;) {
    const n = readInto(chunk);
    if (n <= 0) break;
    total += n;
    if (total > PROC_FILE_MAX_BYTES) throw new Error(`${path}: larger than ${PROC_FILE_MAX_BYTES} bytes`);
    text += decoder.decode(chunk.subarray(0, n), { stream: true });
  }
  return text + decoder.decode();
}

function readWithFs(path: string): string {
  const fd = openSync(path, "r");
  try { return collect((chunk) => readSync(fd, chunk, 0, chunk.length, null), path); } finally { closeSync(fd); }
}

/** The libc reader on its own (what Deno uses), for tests. */
export function readWithLibc(lib: LibcNet, path: string): string {
  const cpath = new TextEncoder().encode(path + "\0");
  const fd = lib.open(cpath, O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw new Error(`open ${path}: ${lastError(lib)}`);
  try {
    return collect((chunk) => {
      const n = lib.read(fd, chunk, chunk.length);
      if (n < 0) throw new Error(`read ${path}: ${lastError(lib)}`);
      return n;
    }, path);
  } finally { lib.close(fd); }
}
