// What both runtimes' sd_notify need from libc: the constants and the sockaddr_un for $NOTIFY_SOCKET.
export const AF_UNIX = 1;
export const SOCK_DGRAM_CLOEXEC = 2 | 0x80000;
export const MSG_NOSIGNAL = 0x4000;

/** sockaddr_un for the socket path (a leading "@" means the abstract namespace) and its length, or
 * null when the path cannot be one. */
export function notifyAddress(socketPath: string): { addr: Uint8Array; len: number } | null {
  const path = new TextEncoder().encode(socketPath);
  if (path.length === 0 || path.length > 107) return null;
  if (path[0] === 0x40) path[0] = 0;
  const addr = new Uint8Array(2 + 108);
  addr[0] = AF_UNIX; // sa_family_t, little-endian u16
  addr.set(path, 2);
  return { addr, len: 2 + path.length + (path[0] === 0 ? 0 : 1) };
}
