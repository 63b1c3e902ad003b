// Which UDP data path serves, decided once at start: sockets we own through FFI, served by a loop
// Worker on the shared core (glibc x86_64/arm64, the self-test passed, not turned off), or the
// runtime's own UDP sockets. Also the listener sockets systemd passed (socket activation).
import type { Runtime } from "../runtime/types";
import type { Core } from "../core";
import type { Logger } from "../log";
import { formatEndpoint } from "../config/endpoint";
import { LISTENER_SETS, type EffectiveConfig } from "../config/effective";
import type { QueryHandler } from "../server/handler";
import { FfiUdpPath } from "../server/ffi/ffi-udp-path";
import { openFfiNet } from "../net/ffi-net";
import { matchActivatedFds, parseListenFds } from "../net/socket-activation";
import type { InheritedFds } from "./dns-listeners";
import { listenersHeldElsewhere } from "../net/listener-holders";
import type { LibcNet } from "../net/libc-net";
import type { NetLayout } from "../net/layout";

export interface UdpDataPath {
  ffi: FfiUdpPath | null; inherited: InheritedFds; description: string; takeover: boolean;
  /** libc and the struct layouts, when the FFI path runs (a takeover steers TCP with them too) */
  net: { lib: LibcNet; layout: NetLayout } | null;
}

/** `takeover`: run --takeover. The path's own `takeover` says whether there is one: a running
 * instance holds the listeners (with nothing to take over, a start is a plain one). */
export async function openUdpDataPath(rt: Runtime, core: Core, handler: QueryHandler, log: Logger, c: EffectiveConfig, systemClock: boolean, asked = false): Promise<UdpDataPath> {
  const takeover = asked && listenersHeldElsewhere(c, 0).length > 0;
  const activation = parseListenFds((n) => rt.env(n), globalThis.process?.pid ?? -1);
  if (!activation.ok) throw new Error(`socket activation: ${activation.reason}`);
  // the loop Worker reads the system clock: a test's own clock keeps the runtime's sockets
  const net = systemClock ? await openFfiNet((n) => rt.env(n), rt.args()) : { ok: false as const, reason: "a clock other than the system's is in use" };
  if (!net.ok) {
    // a running instance to take over, and no way to join its sockets
    if (takeover) throw new Error(`run --takeover needs the FFI data path, which cannot run: ${net.reason}`);
    if (activation.fds.length) throw new Error(`socket activation passed ${activation.fds.length} socket(s), but the FFI data path that serves them cannot run: ${net.reason}`);
    return { ffi: null, inherited: new Map(), description: `runtime sockets (FFI data path not used: ${net.reason})`, takeover: false, net: null };
  }
  const ffi = new FfiUdpPath(net, core, handler, log, c.server.receiveBufferBytes, takeover, c.server.workers);
  handler.otherStats = () => ffi.loopStats();
  const inherited: InheritedFds = new Map();
  if (activation.fds.length) {
    const endpoints = LISTENER_SETS.flatMap((s) => c.listeners[s]);
    const m = matchActivatedFds(net.lib, activation.fds, endpoints);
    m.listeners.forEach((l, i) => { if (l.udp !== null || l.tcp !== null) inherited.set(formatEndpoint(endpoints[i]), { udp: l.udp, tcp: l.tcp }); });
    for (const u of m.unmatched) { log.warn("socket activation: an inherited socket is no configured listener; closed", { fd: u.fd, reason: u.reason }); net.lib.close(u.fd); }
    const missing = endpoints.filter((e) => !inherited.has(formatEndpoint(e))).map(formatEndpoint);
    if (missing.length) log.warn("socket activation: listeners not passed by systemd are bound here (a restart will lose their queries); regenerate localdns.socket", { listeners: missing });
  }
  const threads = c.server.workers === 1 ? "a loop thread" : `${c.server.workers} loop threads`;
  return { ffi, inherited, takeover, net: { lib: net.lib, layout: net.layout }, description: `ffi (recvmmsg/sendmmsg on ${threads}${activation.fds.length ? `, ${activation.fds.length} socket(s) from systemd` : ""})` };
}
