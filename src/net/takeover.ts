// Takeover of a listener another process (the running instance) serves: join its SO_REUSEPORT group
// and steer every new datagram to the socket that just joined. The old instance then drains and
// closes on its loop thread (UdpLoopHandle.drainAndClose); once it is gone, releaseTakeover puts the
// group back on hashing.
import type { LibcNet } from "./libc-net";
import type { NetLayout } from "./layout";
import type { Endpoint } from "./sockaddr";
import { createUdpSocket, type OwnedUdpSocket, type UdpOptions } from "./udp-socket";
import { boundUdpSocketCount, listeningTcpSocketCount, steerReuseportGroup, unsteerReuseportGroup } from "./reuseport-steer";
import { lastError } from "./libc-net";
import { encodeSockaddr } from "./sockaddr";
import { setIntOption } from "./sockopt";
import { AF_INET, AF_INET6, IPPROTO_IPV6, IPV6_V6ONLY, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_STREAM, SOL_SOCKET, SO_REUSEPORT } from "./constants";

export interface Takeover {
  readonly socket: OwnedUdpSocket;
  /** the group index steered to; null when there was no group to take over (nobody else bound) */
  readonly steeredTo: number | null;
}

/** Binds a SO_REUSEPORT socket on the endpoint and, when others are bound there, steers the group to it. */
export function joinAndSteer(lib: LibcNet, layout: NetLayout, endpoint: Endpoint, options: Omit<UdpOptions, "reusePort"> = {}): Takeover {
  // counted just before our bind: our socket's index in the group (indices are join order)
  const before = boundUdpSocketCount(endpoint);
  if (before === null) throw new Error("/proc/net/udp cannot be read: the reuseport group index is unknown");
  const socket = createUdpSocket(lib, endpoint, { ...options, reusePort: true });
  if (before === 0) return { socket, steeredTo: null };
  try {
    steerReuseportGroup(lib, layout, socket.fd, before);
  } catch (e) {
    lib.close(socket.fd);
    throw e;
  }
  return { socket, steeredTo: before };
}

/** After the old instance left: hash datagrams over the group again (over our sockets only now). */
export function releaseTakeover(lib: LibcNet, takeover: Takeover): void {
  if (takeover.steeredTo !== null) unsteerReuseportGroup(lib, takeover.socket.fd);
}

/** A TCP listener joined beside a running instance's: bound with SO_REUSEPORT, listening, and the
 * group steered to it, so every new connection comes here (the old one drains its accept queue and
 * keeps the connections it has). The fd is for the runtime to serve (Bun.listen({ fd })). */
export interface TcpTakeover { readonly fd: number; readonly steeredTo: number | null }

const TCP_BACKLOG = 1024;

export function joinAndSteerTcp(lib: LibcNet, layout: NetLayout, endpoint: Endpoint): TcpTakeover {
  const before = listeningTcpSocketCount(endpoint);
  if (before === null) throw new Error("/proc/net/tcp cannot be read: the reuseport group index is unknown");
  const sa = encodeSockaddr(endpoint.host, endpoint.port);
  const v6 = sa.length === 28;
  const where = `${v6 ? `[${endpoint.host}]` : endpoint.host}:${endpoint.port}`;
  const fd = lib.socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new Error(`socket for TCP ${where}: ${lastError(lib)}`);
  const fail = (what: string): never => { const why = lastError(lib); lib.close(fd); throw new Error(`${what} TCP ${where}: ${why}`); };
  if (v6 && !setIntOption(lib, fd, IPPROTO_IPV6, IPV6_V6ONLY, 1)) fail("IPV6_V6ONLY on");
  if (!setIntOption(lib, fd, SOL_SOCKET, SO_REUSEPORT, 1)) fail("SO_REUSEPORT on");
  if (lib.bind(fd, sa, sa.length) !== 0) fail("bind");
  if (lib.listen(fd, TCP_BACKLOG) !== 0) fail("listen on");
  if (before === 0) return { fd, steeredTo: null };
  try { steerReuseportGroup(lib, layout, fd, before); } catch (e) { lib.close(fd); throw e; }
  return { fd, steeredTo: before };
}

/** After the old instance left: connections are hashed over this instance's listeners again. */
export function releaseTcpTakeover(lib: LibcNet, t: TcpTakeover): void {
  if (t.steeredTo !== null) unsteerReuseportGroup(lib, t.fd);
}
