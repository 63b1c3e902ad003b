// LibcNet through Deno.dlopen (the interface: src/net/libc-net.ts). Pointers are opaque objects here,
// typed arrays go as "buffer" arguments.
import { libcPath } from "./deno-libc-path";
import type { LibcNet, Ptr } from "../net/libc-net";

declare const Deno: any;


export function openDenoLibcNet(): LibcNet {
  const { symbols: C } = Deno.dlopen(libcPath(), {
    socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
    bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
    listen: { parameters: ["i32", "i32"], result: "i32" },
    setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
    getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
    getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
    recvmmsg: { parameters: ["i32", "pointer", "u32", "i32", "pointer"], result: "i32" },
    sendmmsg: { parameters: ["i32", "pointer", "u32", "i32"], result: "i32" },
    sendto: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"], result: "isize" },
    close: { parameters: ["i32"], result: "i32" },
    open: { parameters: ["buffer", "i32"], result: "i32" },
    epoll_create1: { parameters: ["i32"], result: "i32" },
    epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
    epoll_wait: { parameters: ["i32", "pointer", "i32", "i32"], result: "i32" },
    eventfd: { parameters: ["u32", "i32"], result: "i32" },
    read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
    write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
    __errno_location: { parameters: [], result: "pointer" },
    strerror: { parameters: ["i32"], result: "pointer" },
  });
  const errnoView = new Deno.UnsafePointerView(C.__errno_location());
  const recvmmsg = C.recvmmsg, sendmmsg = C.sendmmsg, epollWait = C.epoll_wait;
  return {
    runtime: "deno",
    ptr: (view) => Deno.UnsafePointer.of(view),
    address: (view) => Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(view))),
    offset: (base, bytes) => Deno.UnsafePointer.offset(base, bytes),
    socket: (d, t, p) => C.socket(d, t, p),
    bind: (fd, a, l) => C.bind(fd, a, l),
    listen: (fd, backlog) => C.listen(fd, backlog),
    setsockopt: (fd, lv, n, v, l) => C.setsockopt(fd, lv, n, v, l),
    getsockopt: (fd, lv, n, v, l) => C.getsockopt(fd, lv, n, v, l),
    getsockname: (fd, a, l) => C.getsockname(fd, a, l),
    recvmmsg: (fd, vec: Ptr, n, f) => recvmmsg(fd, vec, n, f, null),
    sendmmsg: (fd, vec: Ptr, n, f) => sendmmsg(fd, vec, n, f),
    sendto: (fd, b, len, f, a, al) => Number(C.sendto(fd, b, len, f, a, al)),
    close: (fd) => C.close(fd),
    open: (path, flags) => C.open(path, flags),
    epollCreate1: (f) => C.epoll_create1(f),
    epollCtl: (ep, op, fd, ev) => C.epoll_ctl(ep, op, fd, ev),
    epollWait: (ep, evs: Ptr, max, t) => epollWait(ep, evs, max, t),
    eventfd: (v, f) => C.eventfd(v, f),
    read: (fd, b, l) => Number(C.read(fd, b, l)),
    write: (fd, b, l) => Number(C.write(fd, b, l)),
    errno: () => errnoView.getInt32(0),
    strerror: (e) => {
      const p = C.strerror(e);
      return p ? Deno.UnsafePointerView.getCString(p) : `errno ${e}`;
    },
  };
}
