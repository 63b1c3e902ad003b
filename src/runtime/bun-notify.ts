// sd_notify for Bun: Bun has no unix datagram sockets, so send through libc with bun:ffi.
import { dlopen, FFIType, ptr } from "bun:ffi";

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0x80000;
const MSG_NOSIGNAL = 0x4000;

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
  const path = new TextEncoder().encode(socketPath);
  if (path.length === 0 || path.length > 107) return false;
  if (path[0] === 0x40) path[0] = 0;
  libc ??= open();
  const fd = libc.symbols.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  try {
    const addr = new Uint8Array(2 + 108);
    addr[0] = AF_UNIX; // sa_family_t, little-endian u16
    addr.set(path, 2);
    const msg = new TextEncoder().encode(state);
    const addrLen = 2 + path.length + (path[0] === 0 ? 0 : 1);
    return Number(libc.symbols.sendto(fd, ptr(msg), msg.length, MSG_NOSIGNAL, ptr(addr), addrLen)) === msg.length;
  } finally {
    libc.symbols.close(fd);
  }
}
