// The node set-up done by the server itself ("run --network"), for a container, where no systemd runs
// "network up/down" around it (the DaemonSet's intercept mode). The order keeps pods answered at
// every step when a listener is an intercepted Service address:
//   starting   NOTRACK rules left by an unclean exit removed first, so while we start (or fail to),
//              queries to the Service address reach CoreDNS through kube-proxy; then the addresses
//   listening  the NOTRACK rules: from now on the address is answered here, not DNATed away
//   stopping   the rules first, so new queries go to CoreDNS again, then the server drains
//   stopped    the addresses
import type { EffectiveConfig } from "../config/effective";
import type { Logger } from "../log";
import { systemRunner, type Runner } from "./commands";
import { setUpInterface, tearDownInterface } from "./interface";
import { addNotrackRules, notrackRules, removeNotrackRules } from "./notrack";
import { nodeSettings, type NodeSettings } from "./settings";
import { mergeAddresses, readState, removeState, writeState } from "./state";
import { listenerAddresses, notrackTargets } from "./targets";

export class PodNetwork {
  private config: EffectiveConfig | null = null;

  constructor(private readonly log: Logger, private readonly run: Runner = systemRunner(log), private readonly settings: NodeSettings = nodeSettings()) {}

  /** Before the config is even loaded: no interception while nobody may be listening. */
  clearLeftovers(): void {
    removeNotrackRules(this.run, [], this.log);
  }

  /** The listener addresses, so the server can bind them. False when one could not be added. */
  addAddresses(config: EffectiveConfig): boolean {
    this.config = config;
    const addresses = listenerAddresses(config);
    const iface = setUpInterface(this.run, addresses, this.log);
    const old = readState(this.settings.statePath);
    writeState(this.settings.statePath, { device: iface.device, addresses: mergeAddresses(old.addresses, addresses), dropIns: old.dropIns });
    return iface.ok;
  }

  /** Once every listener is bound: DNS to the listeners skips conntrack (and so kube-proxy's DNAT). */
  intercept(): void {
    if (this.config) addNotrackRules(this.run, notrackRules(notrackTargets(this.config)), this.log);
  }

  /** On the way out, before draining: queries to an intercepted address go to CoreDNS again. */
  release(): void {
    removeNotrackRules(this.run, [], this.log);
    this.log.info("interception removed: queries to the listener addresses are routed as without localdns");
  }

  /** After the server closed its sockets. */
  removeAddresses(): void {
    const state = readState(this.settings.statePath);
    const addresses = mergeAddresses(state.addresses, this.config ? listenerAddresses(this.config) : []);
    if (tearDownInterface(this.run, addresses, this.log)) removeState(this.settings.statePath);
  }
}
