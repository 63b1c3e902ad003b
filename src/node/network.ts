// The node set-up steps the systemd unit runs with privileges around the server:
//   up        (ExecStartPre)  listener addresses on the "localdns" interface (else lo) + NOTRACK rules
//   resolver  (ExecStartPost) once every listener answers, point the node's resolver at the vnet one
//   release   (ExecStop, a clean stop) the resolver drop-in only, before the server is told to stop,
//             so the node is not pointed at a listener that is draining
//   down      (ExecStopPost, every exit path) resolver drop-in first, then rules, then addresses
import type { EffectiveConfig } from "../config/effective";
import type { Logger } from "../log";
import { dryRunner, systemRunner, type Runner } from "./commands";
import { setUpInterface, tearDownInterface } from "./interface";
import { addNotrackRules, notrackRules, removeNotrackRules } from "./notrack";
import { HEALTH_NAME, waitForAnswer } from "./probe";
import { defaultDropInPath, DROPIN_NAME, findOurDropIns, reloadNetworkd, removeDropIns, waitForResolvConf, writeDropIn } from "./resolver";
import { nodeSettings, type NodeSettings } from "./settings";
import { mergeAddresses, readState, removeState, writeState } from "./state";
import { listenerAddresses, notrackTargets, probeAddress } from "./targets";

export interface NetworkOptions {
  dryRun: boolean;
  log: Logger;
  /** Tests inject these; the CLI uses the real tools and the environment. */
  runner?: Runner;
  settings?: NodeSettings;
  print?: (line: string) => void;
}

export type NetworkAction = "up" | "down" | "resolver" | "release";

/** Returns the process exit code. `config` may be null for "down" (a config that no longer loads
 * must not keep the node pointed at a dead listener). */
export async function runNetworkStep(action: NetworkAction, config: EffectiveConfig | null, o: NetworkOptions): Promise<number> {
  const print = o.print ?? ((line: string) => process.stdout.write(line + "\n"));
  const run = o.runner ?? (o.dryRun ? dryRunner(print) : systemRunner(o.log));
  const settings = o.settings ?? nodeSettings();
  if (action === "down") return down(run, config, settings, o.log);
  if (action === "release") { await releaseResolver(run, settings, o.log); return 0; }
  if (config === null) { o.log.error(`network ${action} needs a config`); return 1; }
  if (config.mode === "Disabled") { o.log.info(`mode is Disabled: network ${action} does nothing`); return 0; }
  return action === "up" ? up(run, config, settings, o.log) : resolver(run, config, settings, o.log, print);
}

function up(run: Runner, config: EffectiveConfig, s: NodeSettings, log: Logger): number {
  const addresses = listenerAddresses(config);
  const iface = setUpInterface(run, addresses, log);
  // Rules are an optimisation: serving without them beats not serving, so their failure is logged
  // (as an error) but does not stop the unit.
  addNotrackRules(run, notrackRules(notrackTargets(config)), log);
  if (!run.dryRun) {
    const old = readState(s.statePath);
    writeState(s.statePath, { device: iface.device, addresses: mergeAddresses(old.addresses, addresses), dropIns: old.dropIns });
  }
  return iface.ok ? 0 : 1;
}

async function resolver(run: Runner, config: EffectiveConfig, s: NodeSettings, log: Logger, print: (l: string) => void): Promise<number> {
  if (s.dropInPath === "off") { log.info("resolver drop-in switched off (LOCALDNS_RESOLVER_DROPIN=off): node resolver left alone"); return 0; }
  if (!run.has(s.networkctl)) { log.info("networkctl not found: node resolver left alone", { networkctl: s.networkctl }); return 0; }
  const servers = config.listeners.vnetDNS.filter((e) => e.host !== "0.0.0.0" && e.host !== "::");
  if (servers.length === 0) { log.info("no vnet listener with a specific address: node resolver left alone"); return 0; }

  // Never point the node at a listener that does not answer.
  if (run.dryRun) print(`# check that every listener answers ${HEALTH_NAME}`);
  else {
    for (const ep of [...config.listeners.vnetDNS, ...config.listeners.kubeDNS].map(probeAddress)) {
      if (!(await waitForAnswer(ep, s.probeTimeoutMs))) {
        log.error("a listener does not answer: node resolver left alone", { listener: `${ep.host}:${ep.port}`, waitedMs: s.probeTimeoutMs });
        return 1;
      }
    }
  }

  const path = s.dropInPath ?? (run.dryRun ? `/run/systemd/network/<default-route .network file>.d/${DROPIN_NAME}` : defaultDropInPath(run, s.networkctl, log));
  if (path === null) return 0;
  if (!run.dryRun) {
    const st = readState(s.statePath);
    if (!st.dropIns.includes(path)) writeState(s.statePath, { ...st, dropIns: [...st.dropIns, path] }); // recorded first: "down" must find it
  }
  if (writeDropIn(run, path, servers)) reloadNetworkd(run, s.networkctl, log);
  if (run.dryRun) log.info("dry run: would point the node resolver at localdns", { file: path, dns: servers.map((e) => e.host) });
  else log.info("node resolver points at localdns", { file: path, dns: servers.map((e) => e.host) });
  return 0;
}

/** Removes our resolver drop-in(s), so the node falls back to its normal DNS. Idempotent. */
async function releaseResolver(run: Runner, s: NodeSettings, log: Logger): Promise<void> {
  if (s.dropInPath === "off") return;
  const state = run.dryRun ? { device: null, addresses: [], dropIns: [] } : readState(s.statePath);
  const candidates = new Set(state.dropIns);
  if (s.dropInPath) candidates.add(s.dropInPath);
  else if (run.dryRun) candidates.add(`/run/systemd/network/<default-route .network file>.d/${DROPIN_NAME}`);
  else for (const p of findOurDropIns()) candidates.add(p);
  const { removed, servers } = removeDropIns(run, [...candidates], log);
  if (removed.length) {
    reloadNetworkd(run, s.networkctl, log);
    if (!run.dryRun && !(await waitForResolvConf(servers))) log.warn("systemd-resolved still lists localdns after 3 s");
  }
}

async function down(run: Runner, config: EffectiveConfig | null, s: NodeSettings, log: Logger): Promise<number> {
  const state = run.dryRun ? { device: null, addresses: [], dropIns: [] } : readState(s.statePath);
  let ok = true;

  // 1. The node's resolver first, so the node falls back to its normal DNS.
  await releaseResolver(run, s, log);

  // 2. The rules (found by their comment, whatever the config says now).
  if (!removeNotrackRules(run, config ? notrackRules(notrackTargets(config)) : [], log)) ok = false;

  // 3. The addresses: the dummy interface, or what we put on lo.
  const addresses = mergeAddresses(state.addresses, config ? listenerAddresses(config) : []);
  if (!tearDownInterface(run, addresses, log)) ok = false;

  if (!run.dryRun && ok) removeState(s.statePath);
  if (run.dryRun) log.info("dry run: would remove the node set-up");
  else log.info("node set-up removed", { ok });
  return ok ? 0 : 1;
}
