// systemd socket activation (sd_listen_fds(3)): the fds passed from 3 on, named by LISTEN_FDNAMES,
// and which configured listener each one is (matched by its bound address, UDP vs TCP by SO_TYPE).
import type { LibcNet } from "./libc-net";
import { SOCK_DGRAM, SOCK_STREAM, SOL_SOCKET, SO_TYPE } from "./constants";
import { formatSockaddr, sockaddrMatches, type Endpoint } from "./sockaddr";
import { boundAddress, getIntOption } from "./sockopt";

export const LISTEN_FDS_START = 3;
/** More would be a mistake (localdns has a handful of listeners); also bounds the checks below. */
export const LISTEN_FDS_MAX = 64;

export interface ListenFd { readonly fd: number; readonly name: string }
export type ListenFdsResult =
  | { readonly ok: true; readonly fds: readonly ListenFd[] }
  | { readonly ok: false; readonly reason: string };

const DECIMAL = /^[0-9]{1,10}$/;

/** The inherited fds, [] when the environment passes none (or passes them to another pid). */
export function parseListenFds(env: (name: string) => string | undefined, pid: number): ListenFdsResult {
  const countText = env("LISTEN_FDS");
  if (countText === undefined || countText === "") return { ok: true, fds: [] };
  const pidText = env("LISTEN_PID");
  // sd_listen_fds: the fds are meant for LISTEN_PID only (a child that inherited the variables must not take them)
  if (pidText !== undefined && pidText !== "") {
    if (!DECIMAL.test(pidText)) return { ok: false, reason: `LISTEN_PID "${pidText}" is not a pid` };
    if (Number(pidText) !== pid) return { ok: true, fds: [] };
  }
  if (!DECIMAL.test(countText)) return { ok: false, reason: `LISTEN_FDS "${countText}" is not a count` };
  const count = Number(countText);
  if (count > LISTEN_FDS_MAX) return { ok: false, reason: `LISTEN_FDS ${count} is more than ${LISTEN_FDS_MAX}` };
  const namesText = env("LISTEN_FDNAMES");
  const names = namesText === undefined || namesText === "" ? [] : namesText.split(":");
  if (names.length > 0 && names.length !== count) {
    return { ok: false, reason: `LISTEN_FDNAMES has ${names.length} names for ${count} fds` };
  }
  return { ok: true, fds: Array.from({ length: count }, (_, i) => ({ fd: LISTEN_FDS_START + i, name: names[i] ?? "unknown" })) };
}

export interface ActivatedListener { readonly endpoint: Endpoint; readonly udp: number | null; readonly tcp: number | null }
export interface ActivationMatch {
  readonly listeners: readonly ActivatedListener[];
  /** fds that are no configured listener, with why (closing or ignoring them is the caller's choice) */
  readonly unmatched: readonly { readonly fd: number; readonly reason: string }[];
}

/** Pairs inherited fds with the configured endpoints by getsockname and SO_TYPE. */
export function matchActivatedFds(lib: LibcNet, fds: readonly ListenFd[], endpoints: readonly Endpoint[]): ActivationMatch {
  const listeners = endpoints.map((endpoint) => ({ endpoint, udp: null as number | null, tcp: null as number | null }));
  const unmatched: { fd: number; reason: string }[] = [];
  for (const { fd } of fds) {
    const type = getIntOption(lib, fd, SOL_SOCKET, SO_TYPE);
    const local = type === null ? null : boundAddress(lib, fd);
    if (type === null || !local) { unmatched.push({ fd, reason: "not a socket" }); continue; }
    if (type !== SOCK_DGRAM && type !== SOCK_STREAM) { unmatched.push({ fd, reason: `socket type ${type}` }); continue; }
    const kind = type === SOCK_DGRAM ? "udp" : "tcp";
    const slot = listeners.find((l) => l[kind] === null && sockaddrMatches(local, l.endpoint));
    if (!slot) { unmatched.push({ fd, reason: `${kind} ${formatSockaddr(local)} is no configured listener` }); continue; }
    slot[kind] = fd;
  }
  return { listeners, unmatched };
}
