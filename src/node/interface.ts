// The listener addresses on the node: a dummy interface "localdns" holding each as /32 (/128), or,
// where the kernel has no dummy support, the same addresses on lo (IPv4 ones labelled so they can be
// found again).
import type { Logger } from "../log";
import type { Runner } from "./commands";
import { cidr, prefixLength, type NodeAddress } from "./targets";

export const INTERFACE = "localdns";
export const LO_LABEL = "lo:localdns"; // an IPv4 label must start with the device name

interface AddrInfo { family: string; local: string; prefixlen: number; label?: string }

function parseJson<T>(text: string): T | null {
  try { return JSON.parse(text) as T; } catch { return null; }
}

/** The addresses on a device, or null when it does not exist. */
function addressesOn(run: Runner, dev: string): AddrInfo[] | null {
  const r = run.query("ip", ["-j", "addr", "show", "dev", dev]);
  if (r.status !== 0) return null;
  const links = parseJson<{ addr_info?: AddrInfo[] }[]>(r.stdout);
  return links?.[0]?.addr_info ?? [];
}

/** The link's kind ("dummy", "" for none), or null when there is no such link. */
function linkKind(run: Runner, dev: string): string | null {
  const r = run.query("ip", ["-j", "-d", "link", "show", "dev", dev]);
  if (r.status !== 0) return null;
  const links = parseJson<{ linkinfo?: { info_kind?: string } }[]>(r.stdout);
  return links?.[0]?.linkinfo?.info_kind ?? "";
}

export interface InterfaceResult { ok: boolean; device: string; added: NodeAddress[] }

export function setUpInterface(run: Runner, addrs: NodeAddress[], log: Logger): InterfaceResult {
  let device = INTERFACE;
  const kind = linkKind(run, INTERFACE);
  const onLoAlready = (addressesOn(run, "lo") ?? []).some((p) => p.label === LO_LABEL);
  if (kind === null && onLoAlready) {
    device = "lo"; // an earlier "up" without "down" in between: stay where the addresses are
  } else if (kind === null) {
    const r = run.change("ip", ["link", "add", INTERFACE, "type", "dummy"]);
    if (r.status !== 0) {
      log.warn("no dummy interface support in this kernel: putting the listener addresses on lo", { error: r.stderr.trim() });
      device = "lo";
    }
  } else if (kind !== "dummy") {
    log.warn(`an interface named ${INTERFACE} exists but is not a dummy: putting the listener addresses on lo`, { kind });
    device = "lo";
  }
  let ok = true;
  if (device === INTERFACE && run.change("ip", ["link", "set", INTERFACE, "up"]).status !== 0) ok = false;
  const present = addressesOn(run, device) ?? [];
  const added: NodeAddress[] = [];
  for (const a of addrs) {
    if (present.some((p) => p.local === a.host && p.prefixlen === prefixLength(a))) continue;
    const args = ["addr", "add", cidr(a), "dev", device];
    if (device === "lo" && a.family === 4) args.push("label", LO_LABEL);
    if (a.family === 6 && device !== "lo") args.push("nodad"); // usable at once: no duplicate detection wait
    const r = run.change("ip", args);
    if (r.status === 0) added.push(a);
    else { ok = false; log.error("could not add a listener address", { address: cidr(a), device, error: r.stderr.trim() }); }
  }
  // a dry run changed nothing: say what it would do
  if (run.dryRun) log.info("dry run: would add the listener addresses", { device, addresses: addrs.map(cidr) });
  else log.info("listener addresses in place", { device, addresses: addrs.map(cidr), added: added.map(cidr) });
  return { ok, device, added };
}

/** Removes the dummy interface, and from lo every address we labelled or were told about. Returns
 * false only when something that exists could not be removed. */
export function tearDownInterface(run: Runner, addrs: NodeAddress[], log: Logger): boolean {
  // A dry run shows the teardown of what "up --dry-run" shows: the dummy interface.
  if (run.dryRun) { run.change("ip", ["link", "del", INTERFACE]); return true; }
  let ok = true;
  if (linkKind(run, INTERFACE) === "dummy") {
    const r = run.change("ip", ["link", "del", INTERFACE]);
    if (r.status !== 0 && linkKind(run, INTERFACE) !== null) { ok = false; log.error(`could not delete the ${INTERFACE} interface`, { error: r.stderr.trim() }); }
  }
  for (const p of addressesOn(run, "lo") ?? []) {
    if (p.local === "127.0.0.1" || p.local === "::1") continue; // never touch loopback itself
    const ours = p.label === LO_LABEL || addrs.some((a) => a.host === p.local && prefixLength(a) === p.prefixlen);
    if (!ours) continue;
    const r = run.change("ip", ["addr", "del", `${p.local}/${p.prefixlen}`, "dev", "lo"]);
    if (r.status !== 0) { ok = false; log.error("could not remove a listener address from lo", { address: p.local, error: r.stderr.trim() }); }
  }
  return ok;
}
