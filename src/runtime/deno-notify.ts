// sd_notify for Deno: Deno has no unix datagram sockets either, so send through libc with Deno.dlopen.
import { existsSync } from "node:fs";

declare const Deno: any;

import { AF_UNIX, SOCK_DGRAM_CLOEXEC, MSG_NOSIGNAL, notifyAddress } from "./notify-wire";

/** An absolute path to libc: --allow-ffi is granted for the system library directories, and Deno checks
 * a bare "libc.so.6" against the working directory instead. (/proc/self/maps would name it, but Deno
 * wants --allow-all to read /proc/self.) */
function libcPath(): string {
  const triplet = `${Deno.build.arch}-linux-gnu`;
  for (const dir of [`/lib/${triplet}`, `/usr/lib/${triplet}`, "/lib64", "/usr/lib64", "/lib", "/usr/lib"]) {
    if (existsSync(`${dir}/libc.so.6`)) return `${dir}/libc.so.6`;
  }
  return "libc.so.6";
}

let libc: ReturnType<typeof open> | null = null;
function open() {
  return Deno.dlopen(libcPath(), {
    socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
    sendto: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"], result: "isize" },
    close: { parameters: ["i32"], result: "i32" },
  });
}

/** Sends one notification datagram to the socket path (a leading "@" means the abstract namespace). */
export function sdNotify(socketPath: string, state: string): boolean {
  const to = notifyAddress(socketPath);
  if (!to) return false;
  try { libc ??= open(); } catch { return false; }
  const fd: number = libc.symbols.socket(AF_UNIX, SOCK_DGRAM_CLOEXEC, 0);
  if (fd < 0) return false;
  try {
    const msg = new TextEncoder().encode(state);
    return Number(libc.symbols.sendto(fd, msg, BigInt(msg.length), MSG_NOSIGNAL, to.addr, to.len)) === msg.length;
  } finally {
    libc.symbols.close(fd);
  }
}
