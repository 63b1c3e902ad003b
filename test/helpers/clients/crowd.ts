// The concurrent run of the real-client suite, run by Bun inside the pod (its /etc/resolv.conf points
// at localdns). Each round starts 100 clients at once; half close their socket early:
//   25 glibc getaddrinfo of a name whose A answer is truncated (glibc drops the UDP socket for TCP)
//   25 raw UDP clients that send A+AAAA from one socket and close after the first reply, or at once
// and the other half must all get complete, correct answers:
//   25 glibc getaddrinfo of an ordinary Service name (each must take under 1 s, timed inside glibc's
//      own process: glibc's retry after a lost answer is 5 s)
//   25 raw UDP clients that send A+AAAA from one socket and wait for both replies (lost: no reply in
//      3 s; replies after 1 s are counted as rawLate, timed on this busy event loop, so not a verdict)
// Expected answers come from knotd asked directly (TCP). Prints one JSON summary line.
// Usage: bun crowd.ts LOOKUP_BINARY SERVER_IP KNOT_IP ROUNDS
import * as dgram from "node:dgram";
import { spawn } from "node:child_process";
import packet from "dns-packet";
import { tcpRaw } from "../dns";

const [lookupBinary, server, knot, roundsText] = process.argv.slice(2);
const rounds = Number(roundsText);
const WEB = "web.default.svc.cluster.local";
const BIG = "headless.default.svc.cluster.local";
const STALL_MS = 1000;
const LOST_MS = 3000;

const summary = { rounds, others: 0, lost: 0, slow: 0, wrong: 0, rawLate: 0, closers: 0, closersWrong: 0, closersSlow: 0, examples: [] as string[] };
// a few examples of each kind of failure, not the first ten of one kind
const noted = new Map<string, number>();
const note = (s: string) => {
  const kind = s.replace(/^round \d+: /, "").replace(/[\d.]+ ms/, "").slice(0, 20);
  noted.set(kind, (noted.get(kind) ?? 0) + 1);
  if (noted.get(kind)! <= 3 && summary.examples.length < 12) summary.examples.push(s);
};

let nextId = 1;
const newId = () => (nextId = (nextId % 65535) + 1);
const query = (name: string, type: string, id = newId()) =>
  packet.encode({ type: "query", id, flags: packet.RECURSION_DESIRED, questions: [{ name, type: type as any, class: "IN" }] } as any);

async function knotAnswer(name: string, type: string): Promise<string[]> {
  const r = packet.decode(await tcpRaw(knot, 53, query(name, type), 3000)) as any;
  return r.answers.filter((a: any) => a.type === type).map((a: any) => String(a.data)).sort();
}

/** getaddrinfo in its own process, as a pod's program would; resolves to its one JSON line. */
function glibc(name: string): Promise<{ ok: boolean; result?: string[]; error?: string; ms: number }> {
  return new Promise((resolve) => {
    const p = spawn(lookupBinary, ["host", name], { stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    p.stdout.on("data", (d) => { out += d; });
    const kill = setTimeout(() => p.kill("SIGKILL"), 15_000);
    p.on("close", () => {
      clearTimeout(kill);
      try { resolve(JSON.parse(out)); } catch { resolve({ ok: false, error: `no output (${out})`, ms: 15_000 }); }
    });
  });
}

/** ms: when the last reply was read */
type RawOutcome = { a?: string[]; aaaa?: string[]; ms: number };
/** A and AAAA from one socket, as glibc sends them. closeAfter: replies to wait for (0: close at once). */
function raw(name: string, closeAfter: 0 | 1 | 2): Promise<RawOutcome> {
  return new Promise((resolve) => {
    const s = dgram.createSocket("udp4");
    const out: RawOutcome = { ms: 0 };
    const t0 = performance.now();
    const ids = { A: newId(), AAAA: newId() };
    let replies = 0;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.close();
      resolve(out);
    };
    const timer = setTimeout(finish, LOST_MS);
    s.on("message", (m) => {
      let r: any;
      try { r = packet.decode(m); } catch { return; }
      const type = r.id === ids.A ? "A" : r.id === ids.AAAA ? "AAAA" : null;
      if (!type || r.questions?.[0]?.name?.toLowerCase() !== name) return;
      const data = r.answers.filter((a: any) => a.type === type).map((a: any) => String(a.data)).sort();
      if (type === "A") out.a = data; else out.aaaa = data;
      out.ms = performance.now() - t0;
      if (++replies >= closeAfter) finish();
    });
    s.bind(0, () => {
      s.send(query(name, "A", ids.A), 53, server);
      s.send(query(name, "AAAA", ids.AAAA), 53, server, () => { if (closeAfter === 0) finish(); });
    });
  });
}

const same = (a: string[] | undefined, b: string[]) => a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);

const want = { webA: await knotAnswer(WEB, "A"), webAAAA: await knotAnswer(WEB, "AAAA"), big: await knotAnswer(BIG, "A") };
const wantWeb = [...want.webA, ...want.webAAAA].sort();

for (let round = 0; round < rounds; round++) {
  const work: Promise<void>[] = [];
  for (let i = 0; i < 25; i++) {
    work.push(glibc("headless").then((r) => {
      summary.closers++;
      if (!r.ok || !same(r.result, want.big)) { summary.closersWrong++; note(`round ${round}: glibc headless: ${r.ok ? `${r.result?.length} addresses` : r.error}`); }
      if (r.ms >= STALL_MS) { summary.closersSlow++; note(`round ${round}: glibc headless took ${r.ms} ms`); }
    }));
    work.push(raw(WEB, i % 2 === 0 ? 1 : 0).then(() => { summary.closers++; }));
    work.push(glibc("web").then((r) => {
      summary.others++;
      if (!r.ok) { summary.lost++; note(`round ${round}: glibc web: ${r.error} after ${r.ms} ms`); }
      else if (!same(r.result, wantWeb)) { summary.wrong++; note(`round ${round}: glibc web: ${JSON.stringify(r.result)}`); }
      if (r.ms >= STALL_MS) { summary.slow++; note(`round ${round}: glibc web took ${r.ms} ms`); }
    }));
    work.push(raw(WEB, 2).then((r) => {
      summary.others++;
      if (r.a === undefined || r.aaaa === undefined) { summary.lost++; note(`round ${round}: raw client missing ${r.a === undefined ? "A" : ""}${r.aaaa === undefined ? " AAAA" : ""} after ${LOST_MS} ms`); return; }
      if (r.ms >= STALL_MS) summary.rawLate++;
      if (!same(r.a, want.webA) || !same(r.aaaa, want.webAAAA)) { summary.wrong++; note(`round ${round}: raw client got ${JSON.stringify(r)}`); }
    }));
  }
  await Promise.all(work);
}
console.log(JSON.stringify(summary));
