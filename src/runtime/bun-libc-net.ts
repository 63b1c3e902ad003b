// LibcNet through bun:ffi (the interface: src/net/libc-net.ts). Pointers are plain numbers here.
import { dlopen, FFIType, ptr, read } from "bun:ffi";
import type { LibcNet, Ptr } from "../net/libc-net";

const { i32, u32, u64, i64, ptr: P, cstring } = FFIType;

export function openBunLibcNet(): LibcNet {
  const { symbols: C } = dlopen("libc.so.6", {
    socket: { args: [i32, i32, i32], returns: i32 },
    bind: { args: [i32, P, u32], returns: i32 },
    listen: { args: [i32, i32], returns: i32 },
    setsockopt: { args: [i32, i32, i32, P, u32], returns: i32 },
    getsockopt: { args: [i32, i32, i32, P, P], returns: i32 },
    getsockname: { args: [i32, P, P], returns: i32 },
    recvmmsg: { args: [i32, P, u32, i32, P], returns: i32 },
    sendmmsg: { args: [i32, P, u32, i32], returns: i32 },
    sendto: { args: [i32, P, u64, i32, P, u32], returns: i64 },
    close: { args: [i32], returns: i32 },
    open: { args: [P, i32], returns: i32 },
    epoll_create1: { args: [i32], returns: i32 },
    epoll_ctl: { args: [i32, i32, i32, P], returns: i32 },
    epoll_wait: { args: [i32, P, i32, i32], returns: i32 },
    eventfd: { args: [u32, i32], returns: i32 },
    read: { args: [i32, P, u64], returns: i64 },
    write: { args: [i32, P, u64], returns: i64 },
    __errno_location: { args: [], returns: P },
    strerror: { args: [i32], returns: cstring },
  });
  // errno is thread-local: this thread's address, resolved once
  const errnoAt = C.__errno_location() as number;
  const recvmmsg = C.recvmmsg, sendmmsg = C.sendmmsg, epollWait = C.epoll_wait;
  return {
    runtime: "bun",
    ptr: (view) => ptr(view as Uint8Array),
    address: (view) => ptr(view as Uint8Array),
    offset: (base, bytes) => (base as number) + bytes,
    socket: (d, t, p) => C.socket(d, t, p),
    bind: (fd, a, l) => C.bind(fd, a, l),
    listen: (fd, backlog) => C.listen(fd, backlog),
    setsockopt: (fd, lv, n, v, l) => C.setsockopt(fd, lv, n, v, l),
    getsockopt: (fd, lv, n, v, l) => C.getsockopt(fd, lv, n, v, l),
    getsockname: (fd, a, l) => C.getsockname(fd, a, l),
    recvmmsg: (fd, vec: Ptr, n, f) => recvmmsg(fd, vec as number, n, f, null),
    sendmmsg: (fd, vec: Ptr, n, f) => sendmmsg(fd, vec as number, n, f),
    sendto: (fd, b, len, f, a, al) => Number(C.sendto(fd, b, len, f, a, al)),
    close: (fd) => C.close(fd),
    open: (path, flags) => C.open(path, flags),
    epollCreate1: (f) => C.epoll_create1(f),
    epollCtl: (ep, op, fd, ev) => C.epoll_ctl(ep, op, fd, ev),
    epollWait: (ep, evs: Ptr, max, t) => epollWait(ep, evs as number, max, t),
    eventfd: (v, f) => C.eventfd(v, f),
    read: (fd, b, l) => Number(C.read(fd, b, l)),
    write: (fd, b, l) => Number(C.write(fd, b, l)),
    errno: () => read.i32(errnoAt, 0),
    strerror: (e) => String(C.strerror(e)),
  };
}
