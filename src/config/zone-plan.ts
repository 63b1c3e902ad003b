// The core's zone and rule tables for a config, with stable zone ids: a zone kept across a reload
// keeps its id (its cache records stay its own); a new zone takes the lowest id that neither the
// running config nor the new one uses, so ids never run out however often zones change.
import { LISTENER_SETS, type EffectiveConfig } from "./effective";
import { CORE_MAX_ZONES, CORE_MAX_RULES } from "./limits";
import { RuleAction, ANY_ZONE, type ZoneEntry, type RuleEntry } from "../core";
import type { ZoneRef } from "../cache/snapshot";

export const HEALTH_NAME = "health-check.localdns.local";

export interface ZonePlan {
  refs: ZoneRef[];
  zones: ZoneEntry[];
  rules: RuleEntry[];
  /** Zones of the running config that this one drops (their cache records go at the switch). */
  removed: ZoneRef[];
}

/** Throws when the config holds more than the core can (validate rejects such files already). */
export function planZones(c: EffectiveConfig, running: ZoneRef[]): ZonePlan {
  const key = (set: number, zone: string) => `${set}|${zone}`;
  const runningIds = new Map(running.map((z) => [key(z.set, z.zone), z.id]));
  const taken = new Set(running.map((z) => z.id));
  let next = 0;
  const freshId = () => {
    while (taken.has(next)) next++;
    if (next >= ANY_ZONE) throw new Error("no free zone id"); // 2 × 64 zones never reach 255
    taken.add(next);
    return next;
  };
  const refs: ZoneRef[] = [];
  const zones: ZoneEntry[] = [];
  const rules: RuleEntry[] = [];
  LISTENER_SETS.forEach((setName, set) => {
    rules.push({ set, zone: ANY_ZONE, action: RuleAction.HEALTH, name: HEALTH_NAME, minLabels: 0, exact: true });
    for (const z of c.zones[setName]) {
      const id = runningIds.get(key(set, z.zone)) ?? freshId();
      refs.push({ id, set, zone: z.zone });
      zones.push({ set, name: z.zone, id });
      for (const r of z.nxdomainRules) rules.push({ set, zone: id, action: RuleAction.NXDOMAIN, name: r.suffix, minLabels: r.minLabels, exact: false });
    }
  });
  if (zones.length > CORE_MAX_ZONES) throw new Error(`${zones.length} zones; the core holds ${CORE_MAX_ZONES}`);
  if (rules.length > CORE_MAX_RULES) throw new Error(`${rules.length} name rules (the health-check name's included); the core holds ${CORE_MAX_RULES}`);
  const kept = new Set(refs.map((z) => key(z.set, z.zone)));
  return { refs, zones, rules, removed: running.filter((z) => !kept.has(key(z.set, z.zone))) };
}
