// Whether other processes hold sockets on our listener addresses: a localdns this one was started to
// take over, or the newer one that took over from this one. Whoever serves the listeners owns the
// node set-up around them (addresses, NOTRACK rules), so pod mode asks before it touches it.
import { LISTENER_SETS, type EffectiveConfig } from "../config/effective";
import type { Endpoint } from "../config/endpoint";
import { boundUdpSocketCount } from "./reuseport-steer";

/** The listeners with more UDP sockets bound than `own` (this process's, per listener). A table that
 * cannot be read counts as nobody else. */
export function listenersHeldElsewhere(c: EffectiveConfig, own: number): Endpoint[] {
  return LISTENER_SETS.flatMap((s) => c.listeners[s]).filter((e) => e.port !== 0 && (boundUdpSocketCount(e) ?? 0) > own);
}
