// The compiled binary against a real authoritative server (knotd) on loopback.
import { describe, test, expect, beforeAll, afterAll } from "bun:test";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startKnot, type Knot } from "./helpers/knot";
import { runBinary, freePort, BINARY, type RunningBinary } from "./helpers/binary";
import { query, packet } from "./helpers/dns";

declare const Bun: any;
let knot: Knot;
let bin: RunningBinary;
const vnet = { host: "127.0.0.1", port: freePort() };
const kube = { host: "127.0.0.1", port: freePort() };

beforeAll(async () => {
  knot = await startKnot();
  const up = [`${knot.host}:${knot.port}`];
  bin = await runBinary({
    mode: "Required",
    listeners: { vnetDNS: [`${vnet.host}:${vnet.port}`], kubeDNS: [`${kube.host}:${kube.port}`] },
    upstreams: { ClusterCoreDNS: up, VnetDNS: up },
    admin: { listen: null },
    cache: { snapshotPath: null },
    vnetDNSOverrides: { ".": { protocol: "PreferUDP" }, "cluster.local": { forwardDestination: "ClusterCoreDNS", protocol: "ForceTCP" } },
  }, { probe: vnet });
});
afterAll(async () => { await bin?.stop(); await knot?.stop(); });

const cases: [string, string, (a: any[]) => void][] = [
  ["www.example.com", "A", (a) => expect(a.map((r) => r.data)).toEqual(["192.0.2.1"])],
  ["www.example.com", "AAAA", (a) => expect(a.map((r) => r.data)).toEqual(["2001:db8::1"])],
  ["alias.example.com", "A", (a) => expect(a.map((r) => r.type)).toEqual(["CNAME", "CNAME", "A"])],
  ["example.com", "MX", (a) => expect(a[0].data).toEqual({ preference: 10, exchange: "mail.example.com" })],
  ["_sip._tcp.example.com", "SRV", (a) => expect(a[0].data).toMatchObject({ port: 5060, target: "sip.example.com" })],
  ["txt.example.com", "TXT", (a) => expect(a[0].data.map(String)).toEqual(["hello", "world", "third string"])],
  ["1.2.0.192.in-addr.arpa", "PTR", (a) => expect(a[0].data).toBe("www.example.com")],
  ["svc-3.ns.svc.cluster.local", "A", (a) => expect(a[0].data).toBe("10.96.0.4")],
];

describe("answers through both listeners over UDP and TCP equal the upstream's", () => {
  for (const [name, type, check] of cases) {
    for (const [label, ep] of [["vnet", vnet], ["kube", kube]] as const) {
      for (const tcp of [false, true]) {
        test(`${type} ${name} via ${label}/${tcp ? "tcp" : "udp"}`, async () => {
          const direct = await query(knot.host, knot.port, name, type, { tcp });
          const got = await query(ep.host, ep.port, name, type, { tcp });
          expect(got.rcode).toBe("NOERROR");
          check(got.answers);
          expect(got.answers.map((r: any) => [r.name, r.type, JSON.stringify(r.data)])).toEqual(direct.answers.map((r: any) => [r.name, r.type, JSON.stringify(r.data)]));
        });
      }
    }
  }
});

test("second query is a cache hit with a smaller TTL", async () => {
  const first = await query(vnet.host, vnet.port, "short.example.com", "A");
  expect(first.answers[0].ttl).toBeLessThanOrEqual(7);
  await new Promise((r) => setTimeout(r, 2100));
  const second = await query(vnet.host, vnet.port, "short.example.com", "A");
  expect(second.answers[0].data).toBe("192.0.2.7");
  expect(second.answers[0].ttl).toBeLessThan(first.answers[0].ttl);
});

test("NXDOMAIN carries the zone's SOA", async () => {
  const r = await query(vnet.host, vnet.port, "nope.example.com", "A");
  expect(r.rcode).toBe("NXDOMAIN");
  expect(r.authorities[0].type).toBe("SOA");
});

test("a large answer is truncated over UDP without EDNS and complete over TCP", async () => {
  const udp = await query(vnet.host, vnet.port, "big.example.com", "TXT");
  expect(udp.flag_tc).toBe(true);
  expect(packet.encode(udp).length).toBeLessThanOrEqual(512);
  const tcp = await query(vnet.host, vnet.port, "big.example.com", "TXT", { tcp: true });
  expect(tcp.flag_tc).toBe(false);
  expect(tcp.answers.length).toBe(12);
});

test("dist/localdns --version runs from a copy in an empty directory", () => {
  const dir = mkdtempSync(join(tmpdir(), "ldns-copy-"));
  try {
    copyFileSync(BINARY, join(dir, "localdns"));
    spawnSync("chmod", ["+x", join(dir, "localdns")]);
    const r = spawnSync(join(dir, "localdns"), ["--version"], { cwd: dir, env: { PATH: "/usr/bin:/bin" } });
    expect(r.status).toBe(0);
    expect(r.stdout.toString()).toMatch(/^localdns \d+\.\d+\.\d+/);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test("SIGTERM exits 0", async () => {
  const port = freePort();
  const b = await runBinary({
    listeners: { vnetDNS: [`127.0.0.1:${port}`], kubeDNS: [`127.0.0.1:${freePort()}`] },
    upstreams: { ClusterCoreDNS: [`${knot.host}:${knot.port}`], VnetDNS: [`${knot.host}:${knot.port}`] },
    admin: { listen: null }, cache: { snapshotPath: null },
  }, { probe: { host: "127.0.0.1", port } });
  expect(await b.stop("SIGTERM")).toBe(0);
});

// glibc sends A and AAAA from one socket and closes it when the first answer is truncated: the other
// answer then meets a closed port. Such a client must never cost other clients their answers.
test("clients that close early never take other clients' UDP answers with them", async () => {
  await query(vnet.host, vnet.port, "www.example.com", "A"); // cached: every answer below is a hit
  let lost = 0;
  let expected = 0;
  for (let round = 0; round < 10; round++) {
    const socks: any[] = [];
    const waits: Promise<boolean>[] = [];
    for (let i = 0; i < 100; i++) {
      const stays = i % 2 === 0;
      let done!: (ok: boolean) => void;
      const p = new Promise<boolean>((r) => { done = r; });
      const s = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0, socket: { data() { done(true); } } });
      socks.push(s);
      if (stays) { expected++; waits.push(p); setTimeout(() => done(false), 1500); }
    }
    const q = packet.encode({ type: "query", id: 7, flags: packet.RECURSION_DESIRED, questions: [{ name: "www.example.com", type: "A", class: "IN" }] });
    socks.forEach((s, i) => { s.send(q, vnet.port, vnet.host); if (i % 2 === 1) s.close(); });
    lost += (await Promise.all(waits)).filter((ok) => !ok).length;
    for (const s of socks) s.close();
  }
  expect({ lost, expected }).toEqual({ lost: 0, expected: 500 });
}, 30_000);
