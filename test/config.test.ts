// Config loading: AKS files load unchanged, defaults match AKS, problems come back with JSON paths.
import { test, expect, describe } from "bun:test";
import { buildConfig, loadConfigText } from "../src/config/effective";
import { parseResolvConf } from "../src/config/resolv";
import { CORE_MAX_ZONES, CORE_MAX_RULES, HEALTH_RULES, CACHE_MIN_BYTES, CACHE_MAX_BYTES } from "../src/config/limits";

const noFiles = (p: string): string => { throw new Error(`no ${p}`); };
const resolv = (files: Record<string, string>) => (p: string) => { if (p in files) return files[p]; throw new Error("ENOENT"); };

// A plain AKS localdnsconfig.json, as the AKS docs show it.
const AKS_FILE = {
  mode: "Required",
  vnetDNSOverrides: {
    ".": { queryLogging: "Error", protocol: "PreferUDP", forwardDestination: "VnetDNS", forwardPolicy: "Sequential", maxConcurrent: 1000, cacheDurationInSeconds: 3600, serveStaleDurationInSeconds: 3600, serveStale: "Verify" },
    "cluster.local": { queryLogging: "Error", protocol: "ForceTCP", forwardDestination: "ClusterCoreDNS", forwardPolicy: "Sequential", maxConcurrent: 1000, cacheDurationInSeconds: 3600, serveStaleDurationInSeconds: 3600, serveStale: "Immediate" },
  },
  kubeDNSOverrides: {
    ".": { queryLogging: "Error", protocol: "PreferUDP", forwardDestination: "ClusterCoreDNS", forwardPolicy: "Sequential", maxConcurrent: 1000, cacheDurationInSeconds: 3600, serveStaleDurationInSeconds: 3600, serveStale: "Verify" },
    "cluster.local": { queryLogging: "Error", protocol: "ForceTCP", forwardDestination: "ClusterCoreDNS", forwardPolicy: "Sequential", maxConcurrent: 1000, cacheDurationInSeconds: 3600, serveStaleDurationInSeconds: 3600, serveStale: "Immediate" },
  },
};

describe("AKS compatibility", () => {
  test("a plain AKS file loads unchanged, with AKS listener addresses", () => {
    const r = buildConfig(AKS_FILE, resolv({ "/run/systemd/resolve/resolv.conf": "nameserver 168.63.129.16\n" }));
    if (!r.ok) throw new Error(r.errors.join("\n"));
    expect(r.config.listeners.vnetDNS).toEqual([{ host: "169.254.10.10", port: 53, family: 4 }]);
    expect(r.config.listeners.kubeDNS).toEqual([{ host: "169.254.10.11", port: 53, family: 4 }]);
    expect(r.config.upstreams.VnetDNS.map((e) => e.host)).toEqual(["168.63.129.16"]);
    expect(r.config.zones.vnetDNS.find((z) => z.zone === ".")!.serveStale).toBe("Verify");
  });

  test("defaults match AKS when keys are absent", () => {
    const r = buildConfig({ upstreams: { VnetDNS: ["127.0.0.9"] } }, noFiles);
    if (!r.ok) throw new Error(r.errors.join("\n"));
    const z = (set: "vnetDNS" | "kubeDNS", name: string) => r.config.zones[set].find((x) => x.zone === name)!;
    expect(z("vnetDNS", ".")).toMatchObject({ protocol: "PreferUDP", forwardDestination: "VnetDNS", forwardPolicy: "Sequential", maxConcurrent: 1000, cacheDurationInSeconds: 3600, serveStaleDurationInSeconds: 3600, serveStale: "Immediate", queryLogging: "Error" });
    expect(z("vnetDNS", "cluster.local")).toMatchObject({ protocol: "ForceTCP", forwardDestination: "ClusterCoreDNS" });
    expect(z("kubeDNS", ".")).toMatchObject({ protocol: "PreferUDP", forwardDestination: "ClusterCoreDNS" });
    expect(z("vnetDNS", ".").nxdomainRules.map((x) => x.suffix)).toEqual(["reddog.microsoft.com", "internal.cloudapp.net"]);
    expect(r.config.upstreams.VnetDNS).toEqual([{ host: "127.0.0.9", port: 53, family: 4 }]);
  });

  test("serveStale Disabled is accepted as Disable", () => {
    const r = buildConfig({ upstreams: { VnetDNS: ["127.0.0.9"] }, vnetDNSOverrides: { ".": { serveStale: "Disabled" } } }, noFiles);
    expect(r.ok && r.config.zones.vnetDNS[0].serveStale).toBe("Disable");
  });
});

describe("validation errors carry JSON paths", () => {
  const errs = (json: unknown) => { const r = buildConfig(json, noFiles); return r.ok ? [] : r.errors; };
  test("unknown keys, bad enums and bad numbers are all listed", () => {
    const e = errs({ mode: "Sometimes", bogus: 1, kubeDNSOverrides: { "cluster.local": { protocol: "UDP", maxConcurrent: -1, extra: true } } });
    expect(e).toContainEqual(expect.stringMatching(/^mode: /));
    expect(e).toContain("bogus: unknown key");
    expect(e).toContainEqual(expect.stringMatching(/^kubeDNSOverrides\["cluster.local"\]\.protocol: .*PreferUDP/));
    expect(e).toContainEqual(expect.stringMatching(/^kubeDNSOverrides\["cluster.local"\]\.maxConcurrent: /));
    expect(e).toContain('kubeDNSOverrides["cluster.local"].extra: unknown key');
  });
  test("every unknown key is listed, not only the first of each object", () => {
    expect(errs({ a: 1, b: 2, upstreams: { VnetDNS: ["127.0.0.9"], Other: [] }, cache: { x: 1, y: 2 }, vnetDNSOverrides: { ".": { p: 1, nxdomainRules: [{ suffix: "x.example", q: 1 }] } } })).toEqual([
      "a: unknown key", "b: unknown key", "upstreams.Other: unknown key", "cache.x: unknown key", "cache.y: unknown key",
      'vnetDNSOverrides["."].p: unknown key', 'vnetDNSOverrides["."].nxdomainRules[0].q: unknown key',
    ]);
  });
  test("enum and type errors say what was expected and what was there", () => {
    const base = { upstreams: { VnetDNS: ["127.0.0.9"] } };
    expect(errs({ ...base, mode: "Sometimes" })).toEqual(['mode: expected one of "Required", "Preferred", "Disabled", got "Sometimes"']);
    expect(errs({ ...base, kubeDNSOverrides: { ".": { protocol: "UDP" } } })).toEqual(['kubeDNSOverrides["."].protocol: expected one of "PreferUDP", "ForceTCP", got "UDP"']);
    expect(errs({ ...base, cache: { prefetch: "yes" } })).toEqual(['cache.prefetch: expected true or false, got "yes"']);
    expect(errs({ ...base, forward: { tcpPoolSize: 999 } })).toEqual(["forward.tcpPoolSize: expected at most 64, got 999"]);
    expect(errs({ ...base, cache: { staleAnswerTtl: 0.5 } })).toEqual(["cache.staleAnswerTtl: expected a whole number, got 0.5", "cache.staleAnswerTtl: expected at least 1, got 0.5"]);
    expect(errs({ upstreams: { VnetDNS: 5, ClusterCoreDNS: [] } })).toEqual(["upstreams.ClusterCoreDNS: expected at least one entry, got 0", "upstreams.VnetDNS: expected a JSON array or a string, got 5"]);
  });
  test("the original's cross-field rules", () => {
    const e = errs({
      upstreams: { VnetDNS: ["127.0.0.9"] },
      vnetDNSOverrides: { ".": { forwardDestination: "ClusterCoreDNS" }, "cluster.local": { forwardDestination: "VnetDNS" }, "corp.example": { protocol: "ForceTCP", serveStale: "Verify" } },
    });
    expect(e).toContainEqual(expect.stringMatching(/^vnetDNSOverrides\["\."\]\.forwardDestination: /));
    expect(e).toContainEqual(expect.stringMatching(/^vnetDNSOverrides\["cluster.local"\]\.forwardDestination: /));
    expect(e).toContainEqual(expect.stringMatching(/^vnetDNSOverrides\["corp.example"\]\.serveStale: /));
  });
  test("bad endpoints, self-forwarding and a non-loopback admin address", () => {
    const e = errs({
      listeners: { vnetDNS: ["169.254.10.10:99999", "nonsense"], kubeDNS: ["[fd00::1]:53"] },
      upstreams: { VnetDNS: ["[fd00::1]:53"], ClusterCoreDNS: ["10.0.0.10:53"] },
      admin: { listen: "0.0.0.0:8181" },
    });
    expect(e).toContainEqual(expect.stringMatching(/^listeners\.vnetDNS\[0\]: port out of range/));
    expect(e).toContainEqual(expect.stringMatching(/^listeners\.vnetDNS\[1\]: /));
    expect(e).toContainEqual(expect.stringMatching(/^upstreams\.VnetDNS\[0\]: .*our own listeners/));
    expect(e).toContainEqual(expect.stringMatching(/^admin\.listen: .*allowNonLoopback/));
  });
  test("JSON syntax errors", () => {
    const r = loadConfigText("{ not json", noFiles);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors[0]).toMatch(/not valid JSON/);
  });
  test("a resolv.conf without usable nameservers is an error naming the path", () => {
    const e = errs({ upstreams: { VnetDNS: "/x/resolv.conf" } });
    expect(e).toContainEqual(expect.stringMatching(/^upstreams\.VnetDNS: no usable nameserver in \/x\/resolv.conf/));
  });
});

test("resolv.conf parsing skips systemd-resolved stubs and our own listeners", () => {
  const text = "# comment\nnameserver 127.0.0.53\nnameserver 10.1.0.2\nnameserver 169.254.10.10\nnameserver fe80::1%eth0\nnameserver 10.1.0.2\noptions ndots:5\n";
  const list = parseResolvConf(text, [{ host: "169.254.10.10", port: 53, family: 4 }]);
  expect(list.map((e) => e.host)).toEqual(["10.1.0.2", "fe80::1"]);
});

describe("validate rejects what run cannot apply", () => {
  const base = { upstreams: { VnetDNS: ["127.0.0.9"], ClusterCoreDNS: ["127.0.0.9"] } };
  const errs = (json: unknown) => { const r = buildConfig(json, noFiles); return r.ok ? [] : r.errors; };
  const zonesNamed = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`z${i}.example`, {}]));

  test("the config must be a JSON object, and so must every section", () => {
    for (const top of [[], [1], null, "text", 3]) expect(errs(top)).toEqual(["(top level): the config must be a JSON object"]);
    expect(loadConfigText("[]", noFiles)).toEqual({ ok: false, errors: ["(top level): the config must be a JSON object"] });
    expect(errs({ ...base, cache: [] })).toEqual(["cache: expected a JSON object, got an array"]);
    expect(errs({ ...base, vnetDNSOverrides: [] })).toEqual(["vnetDNSOverrides: expected a JSON object, got an array"]);
    expect(errs({ ...base, kubeDNSOverrides: { ".": [] } })).toEqual(['kubeDNSOverrides["."]: expected a JSON object, got an array']);
    expect(errs({ ...base, admin: null })).toEqual(["admin: expected a JSON object, got null"]);
  });

  test(`zones: at most ${CORE_MAX_ZONES} over both listener sets, the built-in ones included`, () => {
    // each set always has "." and cluster.local: 4 built in
    expect(errs({ ...base, vnetDNSOverrides: zonesNamed(30), kubeDNSOverrides: zonesNamed(30) })).toEqual([]);
    expect(errs({ ...base, vnetDNSOverrides: zonesNamed(31), kubeDNSOverrides: zonesNamed(30) })).toEqual([
      `vnetDNSOverrides, kubeDNSOverrides: 65 zones over both listener sets (the "." and cluster.local of each included); at most ${CORE_MAX_ZONES} fit`,
    ]);
    expect(errs({ ...base, vnetDNSOverrides: zonesNamed(70) })[0]).toMatch(/^vnetDNSOverrides, kubeDNSOverrides: 74 zones/);
  });

  test(`nxdomainRules: at most ${CORE_MAX_RULES - HEALTH_RULES} over all zones, the default ones of "." included`, () => {
    const rules = (n: number) => Array.from({ length: n }, (_, i) => ({ suffix: `b${i}.example` }));
    const free = CORE_MAX_RULES - HEALTH_RULES - 4; // "." of each set keeps its 2 default rules
    expect(errs({ ...base, vnetDNSOverrides: { "corp.example": { nxdomainRules: rules(free) } } })).toEqual([]);
    expect(errs({ ...base, vnetDNSOverrides: { "corp.example": { nxdomainRules: rules(free + 1) } } })).toEqual([
      `nxdomainRules: ${CORE_MAX_RULES - HEALTH_RULES + 1} rules over all zones (the default ones of "." included); at most ${CORE_MAX_RULES - HEALTH_RULES} fit`,
    ]);
    expect(errs({ ...base, kubeDNSOverrides: { ".": { nxdomainRules: rules(5000) } } })[0]).toMatch(/^nxdomainRules: 5002 rules/);
  });

  test("cache.maxBytes: 1 MiB to 48 MiB (the core's smallest table; a full cache inside MemoryMax=128M)", () => {
    expect(errs({ ...base, cache: { maxBytes: CACHE_MIN_BYTES } })).toEqual([]);
    expect(errs({ ...base, cache: { maxBytes: CACHE_MAX_BYTES } })).toEqual([]);
    expect(errs({ ...base, cache: { maxBytes: CACHE_MIN_BYTES - 1 } })).toEqual(["cache.maxBytes: at least 1048576 (1 MiB)"]);
    for (const big of [CACHE_MAX_BYTES + 1, 2 ** 31 - 1]) {
      expect(errs({ ...base, cache: { maxBytes: big } })).toEqual(["cache.maxBytes: at most 50331648 (48 MiB): a larger cache and the rest of the process do not fit MemoryMax=128M"]);
    }
  });

  test("admin.allowNonLoopback needs admin.token", () => {
    expect(errs({ ...base, admin: { listen: "0.0.0.0:8181", allowNonLoopback: true } })).toEqual([
      "admin.allowNonLoopback: needs admin.token (mutating endpoints would be open to anyone who can reach the listener)",
    ]);
    expect(errs({ ...base, admin: { allowNonLoopback: true } })).toHaveLength(1);
    expect(errs({ ...base, admin: { listen: "0.0.0.0:8181", allowNonLoopback: true, token: "a-long-enough-secret" } })).toEqual([]);
  });
});
