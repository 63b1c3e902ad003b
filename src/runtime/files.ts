// File access shared by the Bun and Deno adapters (node:fs behaves the same in both). A file
// we read must be a regular file within a size cap, checked on the open descriptor before a byte is
// read: /dev/zero, a FIFO or a huge file is an error, never a read until memory runs out. Opening
// with O_NONBLOCK keeps a FIFO without a writer from blocking the open itself.
import { openSync, fstatSync, readSync, writeSync, closeSync, fsyncSync, renameSync, unlinkSync, mkdirSync, constants } from "node:fs";
import { dirname } from "node:path";
import type { ChunkReader, AtomicWriter } from "./types";

/** Text files (the config, resolv.conf) are read up to this size unless the caller says otherwise. */
export const TEXT_FILE_MAX_BYTES = 1 << 20;

/** Thrown for a file that is there but must not be read; `code` tells it apart from ENOENT & co. */
export class FileRefused extends Error {
  readonly code = "EREFUSED";
}

function openRegular(path: string, maxBytes: number): { fd: number; size: number } {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new FileRefused("not a regular file");
    if (st.size > maxBytes) throw new FileRefused(`${st.size} bytes, more than the ${maxBytes} read at most`);
    return { fd, size: st.size };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/** The whole file, at most maxBytes of it (a file that grows past the cap while read is refused). */
export function readCapped(path: string, maxBytes: number): Uint8Array {
  const { fd, size } = openRegular(path, maxBytes);
  try {
    const buf = new Uint8Array(Math.min(maxBytes, size + 4096) + 1);
    let n = 0;
    for (let got; n < buf.length && (got = readSync(fd, buf, n, buf.length - n, null)) > 0;) n += got;
    if (n === buf.length) throw new FileRefused(`grew while being read, past the ${maxBytes} bytes read at most`);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

const utf8 = new TextDecoder();
export const readTextCapped = (path: string, maxBytes: number): string => utf8.decode(readCapped(path, maxBytes));

/** Opens a regular file of at most maxBytes for reading in chunks the caller sizes. */
export function openChunks(path: string, maxBytes: number): ChunkReader {
  const { fd, size } = openRegular(path, maxBytes);
  let left = maxBytes;
  let closed = false;
  return {
    size,
    read(into) {
      if (closed || left <= 0) return 0;
      const got = readSync(fd, into, 0, Math.min(into.length, left), null);
      left -= got;
      return got;
    },
    close() { if (!closed) { closed = true; closeSync(fd); } },
  };
}

/** Creates the directory that will hold `path` (and its parents) if missing. */
export function makeParentDir(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
}

/** Writes to `${path}.tmp-PID` (the directory made if missing); commit() fsyncs and renames it over
 * path, so a reader sees the old file or the whole new one; abort() removes it. */
export function createAtomic(path: string, pid: number): AtomicWriter {
  makeParentDir(path);
  const tmp = `${path}.tmp-${pid}`;
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o600);
  let open = true;
  const close = () => { if (open) { open = false; closeSync(fd); } };
  return {
    write(data) { for (let off = 0; off < data.length;) off += writeSync(fd, data, off, data.length - off); },
    commit() {
      try { fsyncSync(fd); } finally { close(); }
      renameSync(tmp, path);
    },
    abort() {
      close();
      try { unlinkSync(tmp); } catch { /* already gone */ }
    },
  };
}
