// What the handler needs to know about one configured zone of one listener set.
import type { ZoneSettings, ListenerSet } from "../config/effective";
import type { Forwarder } from "../upstream/forwarder";

export interface ZoneRuntime {
  index: number; // the core's zone index
  set: number; // listener set index (0 = vnetDNS, 1 = kubeDNS)
  setName: ListenerSet;
  settings: ZoneSettings;
  forwarder: Forwarder;
  logAll: boolean;
  staleWindow: number; // seconds an expired entry stays servable (0 when serveStale is Disable)
}
