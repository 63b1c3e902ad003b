// Takeover of a listener another process (the running instance) serves: join its SO_REUSEPORT group
// and steer every new datagram to the socket that just joined. The old instance then drains and
// closes on its loop thread (UdpLoopHandle.drainAndClose); once it is gone, releaseTakeover puts the
// group back on hashing.
import type { LibcNet } from "./libc-net";
import type { NetLayout } from "./layout";
import type { Endpoint } from "./sockaddr";
import { createUdpSocket, type OwnedUdpSocket, type UdpOptions } from "./udp-socket";
import { boundUdpSocketCount, steerReuseportGroup, unsteerReuseportGroup } from "./reuseport-steer";

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
