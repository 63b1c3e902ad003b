// Points the node's own resolver at the vnet listener through a systemd-networkd drop-in
// ([Network] DNS=..., [DHCP] UseDNS=false), and takes it away again.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { basename, join } from "node:path";
import type { Endpoint } from "../config/endpoint";
import type { Logger } from "../log";
import type { Runner } from "./commands";

export const DROPIN_NAME = "70-localdns.conf";
export const MARKER = "# localdns: written by \"localdns network resolver\"; removed by \"localdns network down\"";
const DROPIN_DIRS = ["/run/systemd/network", "/etc/systemd/network"];
export const RESOLVED_RESOLV_CONF = "/run/systemd/resolve/resolv.conf";

/** networkd's DNS= syntax: a bare address for port 53, else address:port ([v6]:port). */
export function dnsValue(e: Endpoint): string {
  if (e.port === 53) return e.host;
  return e.family === 6 ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}

export function dropInText(servers: Endpoint[]): string {
  return `${MARKER}\n[Network]\nDNS=${servers.map(dnsValue).join(" ")}\n\n[DHCP]\nUseDNS=false\n`;
}

function isOurs(path: string): boolean {
  try { return readFileSync(path, "utf8").startsWith("# localdns:"); } catch { return false; }
}

/** The drop-in beside the .network file that systemd-networkd applies to the default-route
 * interface, or null when that interface is not managed by networkd. Lives under /run, so a reboot
 * forgets it. */
export function defaultDropInPath(run: Runner, networkctl: string, log: Logger): string | null {
  const route = run.query("ip", ["-j", "route", "show", "default"]);
  let dev: string | undefined;
  try { dev = (JSON.parse(route.stdout) as { dev?: string }[]).find((r) => r.dev)?.dev; } catch { /* none */ }
  if (!dev) { log.warn("no default route: cannot tell which interface's resolver to change"); return null; }
  let file: string | undefined;
  const json = run.query(networkctl, ["--no-pager", "--json=short", "status", dev]);
  try { file = JSON.parse(json.stdout).NetworkFile; } catch { /* older networkctl: text below */ }
  if (!file) file = /Network File:\s*(\S+)/.exec(run.query(networkctl, ["--no-pager", "status", dev]).stdout)?.[1];
  if (!file || file === "n/a") { log.warn("the default-route interface is not managed by systemd-networkd: node resolver left alone", { interface: dev }); return null; }
  return join("/run/systemd/network", `${basename(file)}.d`, DROPIN_NAME);
}

/** Writes the drop-in when its content differs; returns whether it changed. */
export function writeDropIn(run: Runner, path: string, servers: Endpoint[]): boolean {
  const text = dropInText(servers);
  if (!run.dryRun && existsSync(path)) {
    try { if (readFileSync(path, "utf8") === text) return false; } catch { /* rewrite */ }
  }
  run.writeFile(path, text);
  return true;
}

/** Our drop-ins in networkd's directories (found by their first line). */
export function findOurDropIns(dirs = DROPIN_DIRS): string[] {
  const out: string[] = [];
  for (const d of dirs) {
    let entries: string[];
    try { entries = readdirSync(d); } catch { continue; }
    for (const e of entries) {
      const p = join(d, e, DROPIN_NAME);
      if (e.endsWith(".d") && isOurs(p)) out.push(p);
    }
  }
  return out;
}

/** Removes the drop-ins among `paths` that we wrote (a file without our first line is left alone).
 * Returns the DNS servers they named, so the caller can wait for them to leave resolv.conf. */
export function removeDropIns(run: Runner, paths: string[], log: Logger): { removed: string[]; servers: string[] } {
  const removed: string[] = [];
  const servers: string[] = [];
  for (const p of paths) {
    if (run.dryRun) { run.removeFile(p); removed.push(p); continue; }
    if (!existsSync(p)) continue;
    if (!isOurs(p)) { log.warn("not removing a drop-in localdns did not write", { file: p }); continue; }
    const dns = /^DNS=(.*)$/m.exec(readFileSync(p, "utf8"))?.[1] ?? "";
    servers.push(...dns.split(/\s+/).filter(Boolean));
    try { run.removeFile(p); removed.push(p); } catch (e) { log.error("could not remove the resolver drop-in", { file: p, error: (e as Error).message }); }
  }
  return { removed, servers };
}

export function reloadNetworkd(run: Runner, networkctl: string, log: Logger): void {
  if (!run.has(networkctl)) return;
  const r = run.change(networkctl, ["reload"]);
  if (r.status !== 0) log.warn("networkctl reload failed: the change applies when systemd-networkd next loads its files", { error: r.stderr.trim() });
}

/** The address in a DNS= value ("a.b.c.d", "a.b.c.d:port", "v6", "[v6]:port"). */
function hostOf(value: string): string {
  const v6 = /^\[([^\]]+)\]/.exec(value);
  if (v6) return v6[1];
  return value.split(":").length === 2 ? value.split(":")[0] : value;
}

/** Waits (bounded) until systemd-resolved's upstream list no longer names `servers`, so whatever
 * starts next (for example localdns itself, reading its upstreams) sees the node's own DNS again. */
export async function waitForResolvConf(servers: string[], deadlineMs = 3000, path = RESOLVED_RESOLV_CONF): Promise<boolean> {
  if (servers.length === 0 || !existsSync(path)) return true;
  const hosts = servers.map(hostOf);
  const end = Date.now() + deadlineMs;
  for (;;) {
    let text = "";
    try { text = readFileSync(path, "utf8"); } catch { return true; }
    const listed = text.split("\n").some((l) => {
      const [key, addr] = l.trim().split(/\s+/);
      return key === "nameserver" && hosts.includes(addr);
    });
    if (!listed) return true;
    if (Date.now() >= end) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}
