// Per-listener zone tables (longest suffix wins) and name rules (blocked names, the health name).
import { ZONES, KEY } from "./layout";
import { suffixStart, labelsBefore } from "./name";
import { KEY_NAME_OFF } from "./query";

const MAX_ZONES: i32 = 64;
const MAX_RULES: i32 = 64;
const ENTRY: usize = 264; // set u8, zone u8, action u8, minLabels u8, exact u8, pad, nameLen u16, name[256]

export const ACTION_NXDOMAIN: i32 = 1;
export const ACTION_HEALTH: i32 = 2;
export const ANY_ZONE: i32 = 255;

let zoneCount: i32 = 0;
let ruleCount: i32 = 0;

@inline function zoneAt(i: i32): usize { return ZONES + <usize>i * ENTRY; }
@inline function ruleAt(i: i32): usize { return ZONES + <usize>MAX_ZONES * ENTRY + <usize>i * ENTRY; }

export function zonesReset(): void { zoneCount = 0; ruleCount = 0; }

// Adds a zone (lowercased wire name at `name`) to listener set `set` under the caller's stable id
// (0..254; ids survive reloads, so cache records keep naming the right zone). Returns 0 or -1.
export function zoneAdd(set: i32, name: usize, n: i32, id: i32): i32 {
  if (zoneCount >= MAX_ZONES || n < 1 || n > 255 || id < 0 || id >= ANY_ZONE) return -1;
  const z = zoneAt(zoneCount);
  store<u8>(z, <u8>set);
  store<u8>(z + 1, <u8>id);
  store<u16>(z + 6, <u16>n);
  memory.copy(z + 8, name, <usize>n);
  zoneCount++;
  return 0;
}

export function ruleAdd(set: i32, zone: i32, action: i32, minLabels: i32, exact: i32, name: usize, n: i32): i32 {
  if (ruleCount >= MAX_RULES || n < 1 || n > 255) return -1;
  const r = ruleAt(ruleCount);
  store<u8>(r, <u8>set);
  store<u8>(r + 1, <u8>zone);
  store<u8>(r + 2, <u8>action);
  store<u8>(r + 3, <u8>minLabels);
  store<u8>(r + 4, <u8>exact);
  store<u16>(r + 6, <u16>n);
  memory.copy(r + 8, name, <usize>n);
  return ruleCount++;
}

// Does the entry's name end the key name on a label boundary? Sets labelsBefore.
function endsWith(e: usize, name: usize, n: i32): bool {
  const zl = <i32>load<u16>(e + 6);
  if (zl > n) return false;
  if (suffixStart(name, n, zl) < 0) return false;
  return memory.compare(name + <usize>(n - zl), e + 8, <usize>zl) == 0;
}

// Id of the longest zone of `set` containing the parsed question name, or -1.
export function matchZone(set: i32, n: i32): i32 {
  const name = KEY + KEY_NAME_OFF;
  let best = -1;
  let bestLen = -1;
  for (let i = 0; i < zoneCount; i++) {
    const z = zoneAt(i);
    if (<i32>load<u8>(z) != set) continue;
    const zl = <i32>load<u16>(z + 6);
    if (zl > bestLen && endsWith(z, name, n)) { best = <i32>load<u8>(z + 1); bestLen = zl; }
  }
  return best;
}

// First rule of `set` (for this zone or any zone) matching the question name, or -1.
export function matchRule(set: i32, zone: i32, n: i32): i32 {
  const name = KEY + KEY_NAME_OFF;
  for (let i = 0; i < ruleCount; i++) {
    const r = ruleAt(i);
    if (<i32>load<u8>(r) != set) continue;
    const rz = <i32>load<u8>(r + 1);
    if (rz != ANY_ZONE && rz != zone) continue;
    if (!endsWith(r, name, n)) continue;
    const before = labelsBefore;
    if (load<u8>(r + 4) != 0 ? before == 0 : before >= <i32>load<u8>(r + 3)) return i;
  }
  return -1;
}

export function ruleAction(i: i32): i32 { return <i32>load<u8>(ruleAt(i) + 2); }
export function ruleNameLen(i: i32): i32 { return <i32>load<u16>(ruleAt(i) + 6); }
