// Takeover on a runtime that cannot serve a listening fd (Deno has no Bun.listen({ fd })): the
// runtime's own listener joins the running instance's SO_REUSEPORT group, and we find its fd among
// this process's descriptors by its address to steer the group to it, as joinAndSteerTcp does for
// a socket made here. The runtime owns the fd: nothing here closes it.
import type { LibcNet } from "./libc-net";
import type { NetLayout } from "./layout";
import type { Endpoint } from "../config/endpoint";
import { SOCK_STREAM, SOL_SOCKET, SO_ACCEPTCONN, SO_TYPE } from "./constants";
import { boundAddress, getIntOption } from "./sockopt";
import { sockaddrMatches } from "./sockaddr";
import { steerReuseportGroup, unsteerReuseportGroup } from "./reuseport-steer";

/** how far the search looks: the unit's LimitNOFILE */
export const FD_SEARCH_LIMIT = 65536;

/** This process's listening TCP socket bound to exactly `endpoint`, or null. */
export function findOwnTcpListener(lib: LibcNet, endpoint: Endpoint, limit = FD_SEARCH_LIMIT): number | null {
  for (let fd = 3; fd < limit; fd++) {
    const sa = boundAddress(lib, fd);
    if (sa === null || !sockaddrMatches(sa, endpoint)) continue;
    if (getIntOption(lib, fd, SOL_SOCKET, SO_TYPE) === SOCK_STREAM && getIntOption(lib, fd, SOL_SOCKET, SO_ACCEPTCONN) === 1) return fd;
  }
  return null;
}

export interface SteeredListener { readonly fd: number }

/** Steers the group to our listener on `endpoint`, which joined it at `index` (the count of
 * listeners there just before it listened). Throws with the reason. */
export function steerToOwnTcpListener(lib: LibcNet, layout: NetLayout, endpoint: Endpoint, index: number): SteeredListener {
  const fd = findOwnTcpListener(lib, endpoint);
  if (fd === null) throw new Error("the runtime's TCP listener is not among this process's sockets");
  steerReuseportGroup(lib, layout, fd, index);
  return { fd };
}

/** Once the instance taken over has left: connections are hashed over the group again. */
export function unsteerOwnTcpListener(lib: LibcNet, s: SteeredListener): void {
  unsteerReuseportGroup(lib, s.fd);
}
