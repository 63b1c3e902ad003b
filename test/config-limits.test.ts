// The limits `validate` checks are the compiled core's real capacities, and a config at those limits
// loads in full; a table that does not fit is refused before the live one changes.
import { test, expect } from "bun:test";
import packet from "dns-packet";
import { Core, RuleAction, ANY_ZONE, Status } from "../src/core";
import { buildConfig } from "../src/config/effective";
import { planZones } from "../src/config/zone-plan";
import { CORE_MAX_ZONES, CORE_MAX_RULES, HEALTH_RULES, CACHE_MIN_BYTES, CACHE_MAX_BYTES } from "../src/config/limits";
import { wasmBytes, clientQuery } from "./helpers/core";

const zone = (i: number) => ({ set: i % 2, name: i === 0 ? "." : `z${i}.example`, id: i });
const rule = (i: number) => ({ set: 0, zone: ANY_ZONE, action: RuleAction.NXDOMAIN, name: `r${i}.block.example`, minLabels: 0, exact: true });
const status = (core: Core, name: string, set = 0) => { core.handle(clientQuery(name), 1000, set, false); return core.res[0]; };
const rcode = (core: Core, name: string, set = 0) => {
  const n = core.handle(clientQuery(name), 1000, set, false);
  return n > 0 ? (packet.decode(Buffer.from(core.copyOut(n))) as any).rcode : null;
};

test("the core holds exactly CORE_MAX_ZONES zones and CORE_MAX_RULES rules", async () => {
  const core = await Core.load(wasmBytes(), 4 << 20);
  const zones = Array.from({ length: CORE_MAX_ZONES }, (_, i) => zone(i));
  const rules = Array.from({ length: CORE_MAX_RULES }, (_, i) => rule(i));
  core.loadZones(zones, rules);
  expect(status(core, `www.z${CORE_MAX_ZONES - 1}.example`, (CORE_MAX_ZONES - 1) % 2)).toBe(Status.MISS);
  expect(rcode(core, `r${CORE_MAX_RULES - 1}.block.example`)).toBe("NXDOMAIN");
  expect(() => core.loadZones([...zones, zone(CORE_MAX_ZONES)], rules)).toThrow(/zone z64.example refused: the core holds 64 zones/);
  expect(() => core.loadZones(zones, [...rules, rule(CORE_MAX_RULES)])).toThrow(/name rule r128.block.example refused: the core holds 128 rules/);
});

test("a table that does not fit leaves the live one answering as before", async () => {
  const core = await Core.load(wasmBytes(), 4 << 20);
  core.loadZones([{ set: 0, name: ".", id: 0 }, { set: 1, name: "cluster.local", id: 1 }], [rule(0)]);
  const before = () => [status(core, "a.example.org", 0), rcode(core, "r0.block.example", 0), status(core, "svc.cluster.local", 1), rcode(core, "a.example.org", 1)];
  expect(before()).toEqual([Status.MISS, "NXDOMAIN", Status.MISS, "REFUSED"]);
  // a new table with other zones, over the limit only at its very end
  const tooMany = Array.from({ length: CORE_MAX_ZONES + 6 }, (_, i) => zone(i + 2));
  expect(() => core.loadZones(tooMany, [])).toThrow(/refused/);
  expect(() => core.loadZones([{ set: 1, name: ".", id: 3 }], Array.from({ length: 5000 }, (_, i) => rule(i)))).toThrow(/refused/);
  expect(before()).toEqual([Status.MISS, "NXDOMAIN", Status.MISS, "REFUSED"]);
});

test("a config at every limit validate allows loads in full", async () => {
  // 64 zones with the 4 built in; 126 nxdomainRules with the 4 defaults of "."
  const zonesOf = (n: number, rules: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`z${i}.example`, { nxdomainRules: i === 0 ? Array.from({ length: rules }, (_, k) => ({ suffix: `b${k}.z${i}.example` })) : [] }]));
  const r = buildConfig({
    upstreams: { VnetDNS: ["127.0.0.9"], ClusterCoreDNS: ["127.0.0.9"] },
    vnetDNSOverrides: zonesOf(30, CORE_MAX_RULES - HEALTH_RULES - 4), kubeDNSOverrides: zonesOf(30, 0),
  }, () => { throw new Error("no files"); });
  if (!r.ok) throw new Error(r.errors.join("\n"));
  const plan = planZones(r.config, []);
  expect([plan.zones.length, plan.rules.length]).toEqual([CORE_MAX_ZONES, CORE_MAX_RULES]);
  const core = await Core.load(wasmBytes(), 4 << 20);
  core.loadZones(plan.zones, plan.rules);
  expect(rcode(core, `x.b${CORE_MAX_RULES - HEALTH_RULES - 5}.z0.example`)).toBe("NXDOMAIN");
});

test("cache.maxBytes at both ends of its range is a cache the core can allocate", async () => {
  for (const bytes of [CACHE_MIN_BYTES, CACHE_MAX_BYTES]) {
    const core = await Core.load(wasmBytes(), bytes);
    expect(core.stats().entries).toBe(0);
    expect(core.x.memory.buffer.byteLength).toBeGreaterThan(bytes);
  }
});

test("zone ids: kept zones keep theirs, new zones take ids neither config uses, so they never run out", () => {
  const cfg = (names: string[]) => {
    const r = buildConfig({ upstreams: { VnetDNS: ["127.0.0.9"], ClusterCoreDNS: ["127.0.0.9"] }, vnetDNSOverrides: Object.fromEntries(names.map((n) => [n, {}])) }, () => { throw new Error("no files"); });
    if (!r.ok) throw new Error(r.errors.join("\n"));
    return r.config;
  };
  let running = planZones(cfg(["a.example"]), []).refs;
  const idOf = (refs: typeof running, z: string) => refs.find((r) => r.set === 0 && r.zone === z)!.id;
  const a = idOf(running, "a.example");
  for (let round = 0; round < 300; round++) {
    const next = planZones(cfg(["a.example", `r${round}.example`]), running);
    expect(idOf(next.refs, "a.example")).toBe(a);
    expect(next.refs.every((z) => z.id >= 0 && z.id < ANY_ZONE)).toBe(true);
    expect(new Set(next.refs.map((z) => z.id)).size).toBe(next.refs.length);
    if (round > 0) expect(next.removed.map((z) => z.zone)).toEqual([`r${round - 1}.example`]);
    running = next.refs;
  }
});
