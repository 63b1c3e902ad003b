// Integer socket options and the bound address of an fd.
import type { LibcNet } from "./libc-net";

export function setIntOption(lib: LibcNet, fd: number, level: number, name: number, value: number): boolean {
  const v = new Uint8Array(4);
  new DataView(v.buffer).setInt32(0, value, true);
  return lib.setsockopt(fd, level, name, v, 4) === 0;
}

/** The option's value, or null when getsockopt fails (errno tells why). */
export function getIntOption(lib: LibcNet, fd: number, level: number, name: number): number | null {
  const v = new Uint8Array(4), len = new Uint32Array([4]);
  if (lib.getsockopt(fd, level, name, v, len) !== 0) return null;
  return new DataView(v.buffer).getInt32(0, true);
}

/** The sockaddr the fd is bound to, or null when getsockname fails (not a socket, closed). */
export function boundAddress(lib: LibcNet, fd: number): Uint8Array | null {
  const sa = new Uint8Array(128), len = new Uint32Array([128]);
  if (lib.getsockname(fd, sa, len) !== 0) return null;
  return sa.slice(0, Math.min(len[0], 128));
}
