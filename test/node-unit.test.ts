// localdns.service passes systemd's own checks: `systemd-analyze verify` is clean and the offline
// security exposure is at most 2.0. Neither needs systemd running as PID 1.
import { describe, test, expect, beforeAll, afterAll } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BINARY } from "./helpers/binary";

const UNIT = join(import.meta.dir, "../localdns.service");
const PACKAGED_CONFIG = join(import.meta.dir, "../packaging/localdns.json");
const ANALYZE = spawnSync("sh", ["-c", "command -v systemd-analyze"], { encoding: "utf8" }).stdout.trim() || null;
const why = ANALYZE ? (existsSync(BINARY) ? null : "dist/localdns is not built") : "systemd-analyze is not installed (apt-get install systemd)";
if (why) console.log(`skipping unit file checks: ${why}`);

const text = readFileSync(UNIT, "utf8");
const directives = (key: string) => text.split("\n").filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));

let dir: string;
let unitPath: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "ldns-unit-"));
  unitPath = join(dir, "localdns.service");
  // verify checks that ExecStart= binaries exist: point them at the built one, as install.sh --prefix would
  writeFileSync(unitPath, text.replaceAll("/usr/local/bin/localdns", BINARY));
  // the socket unit it requires, as install.sh writes it from the packaged config
  if (!why) {
    const r = spawnSync(BINARY, ["network", "socket-unit", "--config", PACKAGED_CONFIG, "--bin", BINARY], { encoding: "utf8" });
    writeFileSync(join(dir, "localdns.socket"), r.stdout);
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(why !== null)("localdns.service under systemd-analyze", () => {
  test("verify is clean (the service and the socket unit it requires)", () => {
    const r = spawnSync(ANALYZE!, ["verify", unitPath, join(dir, "localdns.socket")], { encoding: "utf8", timeout: 30_000 });
    expect(r.stderr.trim()).toBe("");
    expect(r.status).toBe(0);
  });

  test("offline security exposure is at most 2.0", () => {
    const r = spawnSync(ANALYZE!, ["security", "--offline=yes", "--no-pager", unitPath], { encoding: "utf8", timeout: 30_000 });
    const m = /Overall exposure level for localdns\.service: (\d+\.\d+)/.exec(r.stdout);
    expect(m).not.toBeNull();
    const score = Number(m![1]);
    console.log(`systemd-analyze security --offline=yes: exposure ${score}`);
    expect(score).toBeLessThanOrEqual(2.0);
  });
});

describe("localdns.service settings", () => {
  test("privileged network steps around a server that may only bind port 53", () => {
    // addresses and rules are the socket unit's steps (before it binds, after it closes)
    expect(directives("ExecStartPre")).toEqual([]);
    expect(directives("Requires")).toEqual(["localdns.socket"]);
    expect(directives("ExecStart")).toEqual(["/usr/local/bin/localdns run --config ${LOCALDNS_CONFIG}"]);
    expect(directives("ExecStartPost")).toEqual(["+/usr/local/bin/localdns network resolver --config ${LOCALDNS_CONFIG}"]);
    expect(directives("ExecStopPost")).toEqual(["+/usr/local/bin/localdns network release --config ${LOCALDNS_CONFIG}"]);
    expect(directives("CapabilityBoundingSet")).toEqual(["CAP_NET_BIND_SERVICE"]);
    expect(directives("AmbientCapabilities")).toEqual(["CAP_NET_BIND_SERVICE"]);
  });

  test("restarts forever, notify with a watchdog, ordered before the kubelet", () => {
    expect(directives("Type")).toEqual(["notify"]);
    expect(directives("WatchdogSec").length).toBe(1);
    expect(directives("Restart")).toEqual(["always"]);
    expect(directives("StartLimitIntervalSec")).toEqual(["0"]);
    expect(directives("KillMode")).toEqual(["mixed"]);
    expect(directives("Before")).toEqual(["kubelet.service containerd.service"]);
  });

  test("hardening as asked, and nothing that breaks the JIT or wasm", () => {
    for (const [k, v] of [["DynamicUser", "yes"], ["NoNewPrivileges", "yes"], ["ProtectSystem", "strict"], ["ProtectHome", "yes"], ["PrivateTmp", "yes"], ["PrivateDevices", "yes"],
      ["RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6 AF_NETLINK"], ["LimitNOFILE", "65536"], ["MemoryMax", "128M"], ["StateDirectory", "localdns"],
      ["ConfigurationDirectory", "localdns"], ["Environment", "LOCALDNS_CONFIG=/etc/localdns/localdns.json"]])
      expect(directives(k)).toEqual([v]);
    expect(directives("MemoryDenyWriteExecute")).toEqual([]);
    expect(directives("LimitAS")).toEqual([]);
  });
});

describe.skipIf(why !== null)("localdns.socket from the packaged config", () => {
  test("every listener on UDP and TCP, addresses set up before binding and removed after closing", () => {
    const sock = readFileSync(join(dir, "localdns.socket"), "utf8");
    const lines = (key: string) => sock.split("\n").filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));
    expect(lines("ListenDatagram")).toEqual(["169.254.10.10:53", "169.254.10.11:53"]);
    expect(lines("ListenStream")).toEqual(["169.254.10.10:53", "169.254.10.11:53"]);
    expect(lines("FreeBind")).toEqual(["yes"]);
    expect(lines("ReusePort")).toEqual(["yes"]);
    expect(lines("ReceiveBuffer")).toEqual(["4194304"]);
    expect(lines("ExecStartPre")).toEqual([`${BINARY} network up --config \${LOCALDNS_CONFIG}`]);
    expect(lines("ExecStopPost")).toEqual([`${BINARY} network down --config \${LOCALDNS_CONFIG}`]);
    expect(lines("Service")).toEqual(["localdns.service"]);
  });
});
