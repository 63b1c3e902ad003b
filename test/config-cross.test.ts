// Cross-field checks and the files a config names: timeouts, the TCP pool, upstreams that are no
// server or loop back to us, the snapshot path; what is read of the machine and when.
import { test, expect, describe } from "bun:test";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildConfig, embeddedDefault, type BuildOptions } from "../src/config/effective";
import { parseResolvConf } from "../src/config/resolv";
import { pathKind } from "../src/config/path-kind";

const noFiles = (p: string): string => { throw Object.assign(new Error(`ENOENT: ${p}`), { code: "ENOENT" }); };
const base = { upstreams: { VnetDNS: ["127.0.0.9"], ClusterCoreDNS: ["127.0.0.9"] } };
const errs = (json: Record<string, unknown>, opts: BuildOptions = {}) => { const r = buildConfig(json, noFiles, opts); return r.ok ? [] : r.errors; };
const warns = (json: Record<string, unknown>, opts: BuildOptions = {}) => { const r = buildConfig(json, noFiles, opts); return r.ok ? r.warnings : r.errors; };

describe("forward timeouts and pool", () => {
  test("attemptTimeoutMs may not exceed deadlineMs (given or default)", () => {
    expect(errs({ ...base, forward: { attemptTimeoutMs: 1800, deadlineMs: 1800 } })).toEqual([]);
    expect(errs({ ...base, forward: { attemptTimeoutMs: 5000, deadlineMs: 1000 } })).toEqual([
      "forward.attemptTimeoutMs: 5000 is more than forward.deadlineMs 1000; an attempt must fit in the deadline",
    ]);
    expect(errs({ ...base, forward: { deadlineMs: 500 } })).toEqual([
      "forward.attemptTimeoutMs: 1000 (the default) is more than forward.deadlineMs 500; an attempt must fit in the deadline",
    ]);
    expect(errs({ ...base, forward: { attemptTimeoutMs: 2000 } })).toEqual([
      "forward.attemptTimeoutMs: 2000 is more than forward.deadlineMs 1800 (the default); an attempt must fit in the deadline",
    ]);
  });
  test("tcpPoolSize may not exceed tcpPoolMax; without tcpPoolMax the cap follows the size", () => {
    expect(errs({ ...base, forward: { tcpPoolSize: 8, tcpPoolMax: 4 } })).toEqual(["forward.tcpPoolSize: 8 is more than forward.tcpPoolMax 4; the pool's size must fit under its cap"]);
    expect(errs({ ...base, forward: { tcpPoolMax: 2 } })).toEqual(["forward.tcpPoolMax: 2 is less than forward.tcpPoolSize 4 (the default); set tcpPoolSize too"]);
    const r = buildConfig({ ...base, forward: { tcpPoolSize: 32 } }, noFiles);
    expect(r.ok && [r.config.forward.tcpPoolSize, r.config.forward.tcpPoolMax]).toEqual([32, 32]);
    expect(errs({ ...base, forward: { tcpPoolSize: 8, tcpPoolMax: 8 } })).toEqual([]);
  });
});

describe("upstreams that are no server, or loop back to us", () => {
  test("0.0.0.0 and :: are errors", () => {
    expect(errs({ upstreams: { VnetDNS: ["0.0.0.0"], ClusterCoreDNS: ["[::]:53"] } })).toEqual([
      "upstreams.ClusterCoreDNS[0]: [::]:53 is the unspecified address (any interface), not a server; give the server's own address",
      "upstreams.VnetDNS[0]: 0.0.0.0 is the unspecified address (any interface), not a server; give the server's own address",
    ]);
  });
  test("our own listener, in either set, and any loopback address a wildcard listener receives", () => {
    const listeners = { vnetDNS: ["0.0.0.0:5353"], kubeDNS: ["127.0.0.1:5354", "[::]:5355"] };
    expect(errs({ listeners, upstreams: { VnetDNS: ["127.0.0.1:5354"], ClusterCoreDNS: ["127.0.0.5:5353", "[::1]:5355", "127.0.0.1:5355", "10.0.0.10:5353", "127.0.0.1:53"] } })).toEqual([
      "upstreams.ClusterCoreDNS[0]: 127.0.0.5:5353 is one of our own listeners (the listener on 0.0.0.0:5353 receives it: queries would loop back to localdns)",
      "upstreams.ClusterCoreDNS[1]: [::1]:5355 is one of our own listeners (the listener on [::]:5355 receives it: queries would loop back to localdns)",
      "upstreams.ClusterCoreDNS[2]: 127.0.0.1:5355 is one of our own listeners (the listener on [::]:5355 receives it: queries would loop back to localdns)",
      "upstreams.VnetDNS[0]: 127.0.0.1:5354 is one of our own listeners",
    ]);
  });
  test("resolv.conf: 0.0.0.0 and addresses that loop back are skipped", () => {
    const text = "nameserver 0.0.0.0\nnameserver ::\nnameserver 127.0.0.1\nnameserver 10.1.0.2\n";
    expect(parseResolvConf(text, [{ host: "0.0.0.0", port: 53, family: 4 }]).map((e) => e.host)).toEqual(["10.1.0.2"]);
    expect(parseResolvConf(text, [{ host: "0.0.0.0", port: 5353, family: 4 }]).map((e) => e.host)).toEqual(["127.0.0.1", "10.1.0.2"]);
  });
  test("a resolv.conf without a usable server says what to set", () => {
    const read = (p: string) => { if (p === "/x/resolv.conf") return "nameserver 127.0.0.53\n"; return noFiles(p); };
    const r = buildConfig({ upstreams: { VnetDNS: "/x/resolv.conf", ClusterCoreDNS: ["127.0.0.9"] } }, read);
    expect(r.ok ? [] : r.errors).toEqual([
      'upstreams.VnetDNS: no usable nameserver in /x/resolv.conf (local stubs such as 127.0.0.53 and our own listeners are skipped); set upstreams.VnetDNS to a list of server addresses, e.g. ["10.0.0.10"]',
    ]);
  });
});

describe("cache.snapshotPath", () => {
  test("an absolute file path, whatever the machine", () => {
    for (const bad of ["cache.snapshot", "./x", "/var/lib/localdns/"]) {
      expect(errs({ ...base, cache: { snapshotPath: bad } }, { readMachine: false })).toEqual([`cache.snapshotPath: expected an absolute file path such as /var/lib/localdns/cache.snapshot, got ${JSON.stringify(bad)}`]);
    }
  });
  test("reading the machine: a missing directory is a warning (created at start); a directory or a file in the way is an error", () => {
    const dir = mkdtempSync(join(tmpdir(), "ldns-snapdir-"));
    try {
      writeFileSync(join(dir, "file"), "");
      mkdirSync(join(dir, "sub"));
      const opts = { pathKind };
      expect(warns({ ...base, cache: { snapshotPath: join(dir, "sub", "s") } }, opts)).toEqual([]);
      expect(warns({ ...base, cache: { snapshotPath: join(dir, "new", "deeper", "s") } }, opts)).toEqual([`cache.snapshotPath: the directory ${dir}/new/deeper does not exist yet; run creates it at start`]);
      expect(errs({ ...base, cache: { snapshotPath: join(dir, "sub") } }, opts)).toEqual([`cache.snapshotPath: ${dir}/sub is a directory; name a file in it (e.g. ${dir}/sub/cache.snapshot)`]);
      expect(errs({ ...base, cache: { snapshotPath: join(dir, "file", "s") } }, opts)).toEqual([`cache.snapshotPath: ${dir}/file is not a directory, so ${dir}/file/s cannot be written`]);
      // not reading the machine: none of that is looked at
      expect(warns({ ...base, cache: { snapshotPath: join(dir, "file", "s") } }, { ...opts, readMachine: false })).toEqual([]);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });
});

describe("what is read of the machine", () => {
  test("readMachine false: no resolv.conf, hosts file or directory is touched", () => {
    const touched: string[] = [];
    const read = (p: string) => { touched.push(p); return "nameserver 10.1.0.2\n"; };
    const r = buildConfig({ upstreams: { ClusterCoreDNS: "/etc/resolv.conf" }, cache: { hostsFile: "/etc/hosts", snapshotPath: "/var/lib/x/s" } }, read, { readMachine: false, pathKind: (p) => { touched.push(p); return "missing"; } });
    expect(touched).toEqual([]);
    expect(r.ok && r.config.upstreamSources).toEqual({ ClusterCoreDNS: "not read: /etc/resolv.conf", VnetDNS: "not read: /run/systemd/resolve/resolv.conf or /etc/resolv.conf" });
  });
  test("the embedded default takes /run/systemd/resolve/resolv.conf when it exists, else /etc/resolv.conf", () => {
    expect(embeddedDefault((p) => p === "/run/systemd/resolve/resolv.conf").upstreams).toEqual({ ClusterCoreDNS: "/run/systemd/resolve/resolv.conf", VnetDNS: "/run/systemd/resolve/resolv.conf" });
    expect(embeddedDefault(() => false).upstreams).toEqual({ ClusterCoreDNS: "/etc/resolv.conf", VnetDNS: "/etc/resolv.conf" });
  });
});
