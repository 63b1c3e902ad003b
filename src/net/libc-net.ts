// The libc surface the FFI data path uses, one interface for both runtimes (bun:ffi in
// src/runtime/bun-libc-net.ts, Deno.dlopen in src/runtime/deno-libc-net.ts). Every thread opens its
// own (function handles are per isolate, errno is per thread). No variadic function is declared:
// sockets are made with SOCK_CLOEXEC|SOCK_NONBLOCK and every receive passes MSG_DONTWAIT instead.
// open(2) is declared with its two fixed arguments only, and called without O_CREAT/O_TMPFILE, so
// the variadic mode is never read (on x86-64 and aarch64 the fixed arguments travel as usual).

/** An address libc gets for memory the caller keeps alive (a number on Bun, a pointer object on Deno). */
export type Ptr = unknown;

export interface LibcNet {
  readonly runtime: "bun" | "deno";
  /** The address of a view's first byte. A Ptr is no GC root: keep the view's buffer referenced. */
  ptr(view: ArrayBufferView): Ptr;
  /** The numeric address of a view's first byte, for writing into structs the kernel reads. */
  address(view: ArrayBufferView): number;
  /** base + offset bytes; precompute these outside hot loops (on Deno each one allocates). */
  offset(base: Ptr, bytes: number): Ptr;

  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Uint8Array, addrLen: number): number;
  listen(fd: number, backlog: number): number;
  setsockopt(fd: number, level: number, name: number, value: Uint8Array, valueLen: number): number;
  /** valueLen: a one-element Uint32Array, in and out */
  getsockopt(fd: number, level: number, name: number, value: Uint8Array, valueLen: Uint32Array): number;
  /** addrLen: a one-element Uint32Array, in and out */
  getsockname(fd: number, addr: Uint8Array, addrLen: Uint32Array): number;
  /** recvmmsg with a NULL timeout */
  recvmmsg(fd: number, msgvec: Ptr, vlen: number, flags: number): number;
  sendmmsg(fd: number, msgvec: Ptr, vlen: number, flags: number): number;
  sendto(fd: number, buf: Uint8Array, len: number, flags: number, addr: Uint8Array, addrLen: number): number;
  close(fd: number): number;
  /** open(2) of a NUL-terminated path, for reading files the runtime may not read (/proc/net) */
  open(path: Uint8Array, flags: number): number;
  epollCreate1(flags: number): number;
  epollCtl(epfd: number, op: number, fd: number, event: Uint8Array): number;
  epollWait(epfd: number, events: Ptr, maxEvents: number, timeoutMs: number): number;
  eventfd(initval: number, flags: number): number;
  /** read/write of `len` bytes into/from the view (eventfd counters, /proc files) */
  read(fd: number, buf: Uint8Array, len: number): number;
  write(fd: number, buf: Uint8Array, len: number): number;
  /** errno of the calling thread: read it right after the failing call */
  errno(): number;
  strerror(errno: number): string;
}

declare const Bun: unknown;
declare const Deno: unknown;

/** Opens libc for the calling thread through the runtime it runs on. */
export async function openLibcNet(): Promise<LibcNet> {
  if (typeof Bun !== "undefined") return (await import("../runtime/bun-libc-net")).openBunLibcNet();
  if (typeof Deno !== "undefined") return (await import("../runtime/deno-libc-net")).openDenoLibcNet();
  throw new Error("FFI sockets need Bun or Deno");
}

/** "strerror (errno N)" for the last failure of the calling thread. */
export function lastError(lib: LibcNet): string {
  const e = lib.errno();
  return `${lib.strerror(e)} (errno ${e})`;
}
