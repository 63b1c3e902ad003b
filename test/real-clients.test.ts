// Real resolver libraries against dist/localdns, as pods and the node use it (issue 13): a network
// namespace with localdns on 169.254.10.10/.11:53, knotd as the cluster DNS, and each client given a
// pod's resolv.conf (search path, ndots:5) by a bind mount in a private mount namespace. Every client
// makes the same lookups through localdns and against knotd directly; the answers must be the exact
// expected ones, equal to knotd's, and none may take 1 s or more.
import { describe, test, expect, beforeAll, afterAll } from "bun:test";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { netnsUnavailable } from "./helpers/netns";
import { KNOTD } from "./helpers/knot";
import { BINARY } from "./helpers/binary";
import { startPod, KUBE_IP, VNET_IP, KNOT_IP, type Pod } from "./helpers/clients/pod";
import { buildClients, clientMissing, type Clients } from "./helpers/clients/build";
import { CLIENTS, CASES, NODE_CASES, casesFor, argsFor, type Client, type Case, type Lookup } from "./helpers/clients/matrix";
import { podResolvConf, nodeResolvConf } from "./helpers/clients/zones";

const STALL_MS = 1000;
const why = netnsUnavailable() ?? (KNOTD ? null : "knotd is not installed (apt-get install knot)") ?? (existsSync(BINARY) ? null : `${BINARY} is not built (npm run build)`);
if (why) console.log(`skipping real-client tests: ${why}`);

let pod: Pod;
let clients: Clients;
beforeAll(async () => {
  if (why) return;
  clients = buildClients();
  pod = await startPod();
}, 180_000);
afterAll(() => {
  pod?.destroy();
  if (clients) rmSync(clients.dir, { recursive: true, force: true });
});

type Target = "localdns" | "knotd";
type Listener = "kube" | "vnet";
const runs = new Map<string, Promise<Lookup[]>>();
/** The client's lookups for CASES through localdns or against knotd, made once and shared by the tests. */
function lookups(client: Client, target: Target, listener: Listener, cases: Case[]): Promise<Lookup[]> {
  const key = `${client.label}|${target}|${listener}`;
  if (!runs.has(key)) {
    const server = target === "knotd" ? KNOT_IP : listener === "kube" ? KUBE_IP : VNET_IP;
    const text = listener === "kube" ? podResolvConf(server, client.options) : nodeResolvConf(server);
    const resolv = pod.resolvConf(`${key.replace(/[^a-z0-9]+/gi, "-")}`, text);
    // knotd first: the client's own behaviour against the reference is known before localdns is asked
    const before = target === "localdns" ? lookups(client, "knotd", listener, cases) : Promise.resolve([]);
    runs.set(key, before.then(() => client.run(pod, resolv, clients, argsFor(client, cases))));
  }
  return runs.get(key)!;
}
const strip = (l: Lookup) => ({ op: l.op, name: l.name, ok: l.ok, ...(l.ok ? { result: l.result } : { error: l.error }) });

async function check(client: Client, listener: Listener, cases: Case[], k: Case) {
  const i = cases.indexOf(k);
  const direct = (await lookups(client, "knotd", listener, cases))[i];
  const got = (await lookups(client, "localdns", listener, cases))[i];
  expect(got).toBeDefined();
  // the client against knotd itself: the suite's own expectation holds
  if (!(k.big && !client.tcpFallback)) expect(strip(direct)).toEqual({ ...strip(direct), ...(k.want ? { ok: true, result: k.want } : { ok: false }) });
  if (k.big && !client.tcpFallback) {
    // no TCP fallback in this client: a truncated reply is used as it is, so some of the set (or none)
    if (got.ok) for (const a of got.result!) expect(k.want).toContain(a);
    else expect(strip(got)).toEqual(strip(direct));
  } else {
    expect(strip(got)).toEqual(strip(direct));
  }
  expect(got.ms).toBeLessThan(STALL_MS);
}

for (const client of CLIENTS) {
  const missing = why ?? clientMissing(client.needs);
  if (missing && !why) console.log(`skipping ${client.label}: ${missing}`);
  const cases = casesFor(client, CASES);
  describe(`${client.label}, pod resolv.conf via the kube listener`, () => {
    for (const k of cases) (missing ? test.skip : test)(k.title, () => check(client, "kube", cases, k), 120_000);
  });
}

const NODE_CLIENTS = CLIENTS.filter((c) => ["glibc getaddrinfo", "Go resolver (netdns=go)", "dnspython"].includes(c.label));
for (const client of NODE_CLIENTS) {
  const missing = why ?? clientMissing(client.needs);
  const cases = casesFor(client, NODE_CASES);
  describe(`${client.label}, node resolv.conf via the vnet listener`, () => {
    for (const k of cases) (missing ? test.skip : test)(k.title, () => check(client, "vnet", cases, k), 120_000);
  });
}

describe("ANY asked by dnspython (RFC 8482)", () => {
  const missing = why ?? clientMissing("python");
  const C = "default.svc.cluster.local";
  const names = [`nosuch.${C}`, `alias.${C}`, `web.${C}`];
  let answers: Promise<{ direct: Lookup[]; got: Lookup[] }> | undefined;
  const ask = () => (answers ??= (async () => {
    const py = (clients.python as { path: string }).path;
    const args = [join(import.meta.dir, "helpers/clients/lookup.py"), ...names.flatMap((n) => ["any", n])];
    const parse = (s: string) => s.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Lookup);
    const direct = parse((await pod.run(pod.resolvConf("any-knotd", podResolvConf(KNOT_IP)), py, args)).stdout);
    const got = parse((await pod.run(pod.resolvConf("any-localdns", podResolvConf(KUBE_IP)), py, args)).stdout);
    return { direct, got };
  })());
  const t = missing ? test.skip : test;

  t("a name that does not exist stays NXDOMAIN", async () => {
    const { direct, got } = await ask();
    expect(direct[0].result).toEqual(["NXDOMAIN"]);
    expect(got[0].result).toEqual(["NXDOMAIN"]);
    expect(got[0].ms).toBeLessThan(STALL_MS);
  });
  t("at a CNAME owner the answer is the CNAME, not a synthesized HINFO", async () => {
    const { direct, got } = await ask();
    expect(direct[1].result).toEqual(["NOERROR", `alias.${C} CNAME`]);
    expect(got[1].result?.[0]).toBe("NOERROR");
    expect(got[1].result).toContain(`alias.${C} CNAME`);
    expect(got[1].result).not.toContain(`alias.${C} HINFO`);
  });
  t("at an existing name: some of its RRsets or one HINFO (RFC 8482 §4.1, §4.2)", async () => {
    const { got } = await ask();
    const rest = got[2].result!.slice(1);
    expect(got[2].result![0]).toBe("NOERROR");
    expect(rest.length).toBeGreaterThan(0);
    if (!rest.includes(`web.${C} HINFO`)) for (const r of rest) expect([`web.${C} A`, `web.${C} AAAA`]).toContain(r);
  });
});

describe("100 concurrent clients, half closing their socket early", () => {
  const missing = why ?? clientMissing("glibc");
  const t = missing ? test.skip : test;
  const crowd = async (server: string) => {
    const resolv = pod.resolvConf(`crowd-${server}`, podResolvConf(server));
    const glibc = (clients.glibc as { path: string }).path;
    const r = await pod.run(resolv, process.execPath, [join(import.meta.dir, "helpers/clients/crowd.ts"), glibc, server, KNOT_IP, "5"], { timeoutMs: 150_000 });
    const line = r.stdout.trim().split("\n").pop() ?? "";
    if (!line.startsWith("{")) throw new Error(`crowd driver failed (exit ${r.status}): ${r.stdout}${r.stderr}`);
    const s = JSON.parse(line);
    console.log(`crowd via ${server}: ${line}`);
    return s;
  };
  const clean = { lost: 0, slow: 0, wrong: 0, closersWrong: 0, closersSlow: 0 };

  t("against knotd directly (the control): every answer arrives", async () => {
    const s = await crowd(KNOT_IP);
    expect(s.others).toBe(250);
    expect(s).toMatchObject(clean);
  }, 160_000);
  t("through localdns: 0 lost answers among the others, none wrong, none ≥ 1 s", async () => {
    const s = await crowd(KUBE_IP);
    expect(s.others).toBe(250);
    expect({ ...s, examples: [] }).toMatchObject(clean);
  }, 160_000);
});
