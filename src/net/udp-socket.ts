// A UDP listener socket we own: created and bound here, or adopted from an inherited fd (systemd
// socket activation, or a parent holding it across restarts). Both return the same description.
import type { LibcNet } from "./libc-net";
import { lastError } from "./libc-net";
import {
  AF_INET, AF_INET6, IPPROTO_IP, IPPROTO_IPV6, IPV6_FREEBIND, IPV6_V6ONLY, IP_FREEBIND, SOCK_CLOEXEC,
  SOCK_DGRAM, SOCK_NONBLOCK, SOL_SOCKET, SO_RCVBUF, SO_RCVBUFFORCE, SO_REUSEPORT, SO_TYPE, EADDRINUSE,
} from "./constants";
import { encodeSockaddr, formatSockaddr, sockaddrMatches, type Endpoint } from "./sockaddr";
import { boundAddress, getIntOption, setIntOption } from "./sockopt";

export const DEFAULT_RCVBUF = 4 * 1024 * 1024;

export interface UdpOptions {
  /** join a SO_REUSEPORT group (a second loop, or an instance taking over) */
  reusePort?: boolean;
  /** bytes asked for; 0 keeps the kernel default. The kernel doubles it for bookkeeping. */
  receiveBuffer?: number;
  /** bind an address that is not (yet) configured on the node */
  freeBind?: boolean;
}

export interface OwnedUdpSocket {
  readonly fd: number;
  readonly endpoint: Endpoint;
  /** the bound address as the kernel reports it (the real port when 0 was asked for) */
  readonly local: Uint8Array;
  readonly port: number;
  /** SO_RCVBUF read back: what the kernel really gives (twice the request when granted) */
  readonly receiveBuffer: number;
  /** how the buffer was set: "force" (SO_RCVBUFFORCE, may pass rmem_max), "capped" (SO_RCVBUF, capped by rmem_max), "default" */
  readonly receiveBufferMode: "force" | "capped" | "default" | "inherited";
  readonly adopted: boolean;
}

export class NetSetupError extends Error {}

function fail(lib: LibcNet, fd: number, what: string): never {
  const reason = lastError(lib);
  if (fd >= 0) lib.close(fd);
  throw new NetSetupError(`${what}: ${reason}`);
}

function applyReceiveBuffer(lib: LibcNet, fd: number, bytes: number): OwnedUdpSocket["receiveBufferMode"] {
  if (bytes <= 0) return "default";
  // SO_RCVBUFFORCE needs CAP_NET_ADMIN; without it SO_RCVBUF is capped at net.core.rmem_max
  if (setIntOption(lib, fd, SOL_SOCKET, SO_RCVBUFFORCE, bytes)) return "force";
  if (setIntOption(lib, fd, SOL_SOCKET, SO_RCVBUF, bytes)) return "capped";
  return "default";
}

function describe(lib: LibcNet, fd: number, endpoint: Endpoint, mode: OwnedUdpSocket["receiveBufferMode"], adopted: boolean): OwnedUdpSocket {
  const local = boundAddress(lib, fd);
  if (!local) fail(lib, adopted ? -1 : fd, `getsockname of fd ${fd}`);
  const port = new DataView(local.buffer).getUint16(2, false);
  return { fd, endpoint, local, port, receiveBuffer: getIntOption(lib, fd, SOL_SOCKET, SO_RCVBUF) ?? 0, receiveBufferMode: mode, adopted };
}

/** A non-blocking, close-on-exec UDP socket bound to the endpoint (IPv6 sockets are IPv6 only). */
export function createUdpSocket(lib: LibcNet, endpoint: Endpoint, options: UdpOptions = {}): OwnedUdpSocket {
  const sa = encodeSockaddr(endpoint.host, endpoint.port);
  const v6 = sa.length === 28;
  const fd = lib.socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const where = v6 ? `[${endpoint.host}]:${endpoint.port}` : `${endpoint.host}:${endpoint.port}`;
  if (fd < 0) fail(lib, -1, `socket for ${where}`);
  if (v6 && !setIntOption(lib, fd, IPPROTO_IPV6, IPV6_V6ONLY, 1)) fail(lib, fd, `IPV6_V6ONLY on ${where}`);
  if (options.reusePort && !setIntOption(lib, fd, SOL_SOCKET, SO_REUSEPORT, 1)) fail(lib, fd, `SO_REUSEPORT on ${where}`);
  if (options.freeBind && !setIntOption(lib, fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_FREEBIND : IP_FREEBIND, 1)) {
    fail(lib, fd, `IP_FREEBIND on ${where}`);
  }
  const mode = applyReceiveBuffer(lib, fd, options.receiveBuffer ?? DEFAULT_RCVBUF);
  if (lib.bind(fd, sa, sa.length) !== 0) fail(lib, fd, `bind ${where}`);
  return describe(lib, fd, endpoint, mode, false);
}

/** Takes an inherited fd as the endpoint's listener after checking it is a UDP socket bound there.
 * The fd is not closed on a mismatch (it is not ours to close). receiveBuffer, when given, is applied. */
export function adoptUdpSocket(lib: LibcNet, fd: number, endpoint: Endpoint, options: Pick<UdpOptions, "receiveBuffer"> = {}): OwnedUdpSocket {
  const type = getIntOption(lib, fd, SOL_SOCKET, SO_TYPE);
  if (type === null) throw new NetSetupError(`inherited fd ${fd} is not a socket: ${lastError(lib)}`);
  if (type !== SOCK_DGRAM) throw new NetSetupError(`inherited fd ${fd} is not a datagram socket (SO_TYPE ${type})`);
  const local = boundAddress(lib, fd);
  if (!local) throw new NetSetupError(`getsockname of inherited fd ${fd}: ${lastError(lib)}`);
  const bound = formatSockaddr(local);
  const wantPort0 = endpoint.port === 0;
  if (!sockaddrMatches(local, wantPort0 ? { host: endpoint.host, port: new DataView(local.buffer).getUint16(2, false) } : endpoint)) {
    throw new NetSetupError(`inherited fd ${fd} is bound to ${bound}, not ${endpoint.host}:${endpoint.port}`);
  }
  const mode = options.receiveBuffer ? applyReceiveBuffer(lib, fd, options.receiveBuffer) : "inherited";
  return describe(lib, fd, endpoint, mode, true);
}

/** Whether another socket holds this address now: a bind without SO_REUSEPORT fails then, even when
 * the holders have it set. (Needs no /proc, which Deno reads only with --allow-all.) */
export function udpAddressHeld(lib: LibcNet, endpoint: Endpoint): boolean {
  const sa = encodeSockaddr(endpoint.host, endpoint.port);
  const v6 = sa.length === 28;
  const fd = lib.socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false; // the real bind reports what is wrong
  try {
    if (v6) setIntOption(lib, fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
    return lib.bind(fd, sa, sa.length) !== 0 && lib.errno() === EADDRINUSE;
  } finally { lib.close(fd); }
}
