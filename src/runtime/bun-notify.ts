// sd_notify for Bun: Bun has no unix datagram sockets, so send through libc with bun:ffi.
import { dlopen, FFIType, ptr } from "bun:ffi";
import { AF_UNIX, SOCK_DGRAM_CLOEXEC, MSG_NOSIGNAL, notifyAddress } from "./notify-wire";

let libc: ReturnType<typeof open> | null = null;
function open() {
  return dlopen("libc.so.6", {
    socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    sendto: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i64 },
    close: { args: [FFIType.i32], returns: FFIType.i32 },
  });
}

/** Sends one notification datagram to the socket path (a leading "@" means the abstract namespace). */
export function sdNotify(socketPath: string, state: string): boolean {
  const to = notifyAddress(socketPath);
  if (!to) return false;
  try { libc ??= open(); } catch { return false; }
  const fd = libc.symbols.socket(AF_UNIX, SOCK_DGRAM_CLOEXEC, 0);
  if (fd < 0) return false;
  try {
    const msg = new TextEncoder().encode(state);
    return Number(libc.symbols.sendto(fd, ptr(msg), msg.length, MSG_NOSIGNAL, ptr(to.addr), to.len)) === msg.length;
  } finally {
    libc.symbols.close(fd);
  }
}
