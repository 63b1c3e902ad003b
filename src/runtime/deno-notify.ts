// sd_notify for Deno: Deno has no unix datagram sockets either, so send through libc with Deno.dlopen.
import { libcPath } from "./deno-libc-path";

declare const Deno: any;

import { AF_UNIX, SOCK_DGRAM_CLOEXEC, MSG_NOSIGNAL, notifyAddress } from "./notify-wire";


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
