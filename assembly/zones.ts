// Per-listener zone tables (longest suffix wins) and name rules (blocked names, the health name).
// Two tables: queries read the live one while a reload fills the other (zonesBegin, zoneAdd, ruleAdd)
// and zonesCommit switches them in one step, so a reload that does not fit changes nothing.
import { ZONES, ZONE_AREA, KEY } from "./layout";
import { labelsBefore } from "./name";
import { KEY_NAME_OFF } from "./query";
import { sget, sset, changed, cZonesLive, cZoneCount, cRuleCount, SH_ZONES_LIVE, SH_ZONE_COUNT, SH_RULE_COUNT, SH_BUILD_ZONES, SH_BUILD_RULES } from "./shared";

// zones of both listener sets together; rules likewise (each set's health rule counts). Mirrored by
// src/config/limits.ts, which `validate` checks.
export const MAX_ZONES: i32 = 64;
export const MAX_RULES: i32 = 128;
// set u8, zone u8, action u8, minLabels u8, exact u8, pad, nameLen u16, name[256]; (64 + 128) entries
// take 50,688 octets of a 65,536-octet table
const ENTRY: usize = 264;

export const ACTION_NXDOMAIN: i32 = 1;
export const ACTION_HEALTH: i32 = 2;
export const ANY_ZONE: i32 = 255;

// which table queries read, its zone and rule counts, and those of the table being built: in the
// shared header (shared.ts), so every instance reads the same table; queries read this instance's
// copy (cZonesLive …, brought up to date by fresh() under the lock)
@inline function live(): usize { return <usize>sget(SH_ZONES_LIVE); }

@inline function tableAt(t: usize): usize { return ZONES + t * ZONE_AREA; }
@inline function zoneAt(t: usize, i: i32): usize { return tableAt(t) + <usize>i * ENTRY; }
@inline function ruleAt(t: usize, i: i32): usize { return tableAt(t) + <usize>MAX_ZONES * ENTRY + <usize>i * ENTRY; }

// Starts filling the table that is not live; the live one keeps answering.
export function zonesBegin(): void { sset(SH_BUILD_ZONES, 0); sset(SH_BUILD_RULES, 0); }

// Makes the table built since zonesBegin live.
export function zonesCommit(): void {
  sset(SH_ZONES_LIVE, 1 - <i32>live());
  sset(SH_ZONE_COUNT, sget(SH_BUILD_ZONES));
  sset(SH_RULE_COUNT, sget(SH_BUILD_RULES));
  sset(SH_BUILD_ZONES, 0);
  sset(SH_BUILD_RULES, 0);
  changed();
}

// Adds a zone (lowercased wire name at `name`) to listener set `set` of the table being built under
// the caller's stable id (0..254; ids survive reloads, so cache records keep naming the right zone).
// Returns 0 or -1.
export function zoneAdd(set: i32, name: usize, n: i32, id: i32): i32 {
  const buildZones = sget(SH_BUILD_ZONES);
  if (buildZones >= MAX_ZONES || n < 1 || n > 255 || id < 0 || id >= ANY_ZONE || set < 0 || set > 255) return -1;
  const z = zoneAt(1 - live(), buildZones);
  store<u8>(z, <u8>set);
  store<u8>(z + 1, <u8>id);
  store<u16>(z + 6, <u16>n);
  memory.copy(z + 8, name, <usize>n);
  sset(SH_BUILD_ZONES, buildZones + 1);
  return 0;
}

// Adds a rule to the table being built. Returns its index or -1.
export function ruleAdd(set: i32, zone: i32, action: i32, minLabels: i32, exact: i32, name: usize, n: i32): i32 {
  const buildRules = sget(SH_BUILD_RULES);
  if (buildRules >= MAX_RULES || n < 1 || n > 255 || set < 0 || set > 255 || zone < 0 || zone > ANY_ZONE || minLabels < 0 || minLabels > 255) return -1;
  const r = ruleAt(1 - live(), buildRules);
  store<u8>(r, <u8>set);
  store<u8>(r + 1, <u8>zone);
  store<u8>(r + 2, <u8>action);
  store<u8>(r + 3, <u8>minLabels);
  store<u8>(r + 4, <u8>exact);
  store<u16>(r + 6, <u16>n);
  memory.copy(r + 8, name, <usize>n);
  sset(SH_BUILD_RULES, buildRules + 1);
  return buildRules;
}

// When the entry's name ends the key name on a label boundary: the number of labels before it; else -1.
function suffixLabels(e: usize, name: usize, n: i32): i32 {
  const zl = <i32>load<u16>(e + 6);
  if (zl > n) return -1;
  const before = labelsBefore(name, n, zl);
  if (before < 0) return -1;
  return memory.compare(name + <usize>(n - zl), e + 8, <usize>zl) == 0 ? before : -1;
}

// Id of the longest zone of `set` containing the parsed question name, or -1. This and matchRule are
// inlined into handle() and handleBatch(): as calls they cost a hit ~2 ns.
@inline export function matchZone(set: i32, n: i32): i32 {
  const name = KEY + KEY_NAME_OFF;
  let best = -1;
  let bestLen = -1;
  const t = cZonesLive;
  const count = cZoneCount;
  for (let i = 0; i < count; i++) {
    const z = zoneAt(t, i);
    if (<i32>load<u8>(z) != set) continue;
    const zl = <i32>load<u16>(z + 6);
    if (zl > bestLen && suffixLabels(z, name, n) >= 0) { best = <i32>load<u8>(z + 1); bestLen = zl; }
  }
  return best;
}

// First rule of `set` (for this zone or any zone) matching the question name, or -1.
@inline export function matchRule(set: i32, zone: i32, n: i32): i32 {
  const name = KEY + KEY_NAME_OFF;
  const t = cZonesLive;
  const count = cRuleCount;
  for (let i = 0; i < count; i++) {
    const r = ruleAt(t, i);
    if (<i32>load<u8>(r) != set) continue;
    const rz = <i32>load<u8>(r + 1);
    if (rz != ANY_ZONE && rz != zone) continue;
    const before = suffixLabels(r, name, n);
    if (before < 0) continue;
    if (load<u8>(r + 4) != 0 ? before == 0 : before >= <i32>load<u8>(r + 3)) return i;
  }
  return -1;
}

export function ruleAction(i: i32): i32 { return <i32>load<u8>(ruleAt(cZonesLive, i) + 2); }
export function ruleNameLen(i: i32): i32 { return <i32>load<u16>(ruleAt(cZonesLive, i) + 6); }
