// Shutdown lets the answers of queries already in flight go out (the sockets stay open for the grace
// period), takes no new queries, and then closes.
import { test, expect, afterEach } from "bun:test";
import { startFakeUpstream, answerFor, type FakeUpstream } from "./helpers/fake-upstream";
import { startInProcess } from "./helpers/appliance";
import { query, sleep, makeQuery, udpRaw, packet } from "./helpers/dns";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => { while (cleanups.length) await cleanups.pop()!(); });

async function slowUpstream(delayMs: number): Promise<FakeUpstream> {
  const f = await startFakeUpstream("127.0.0.3", (q) => ({ kind: "answer", msg: answerFor(q), delayMs }));
  cleanups.push(() => f.stop());
  return f;
}

test("answers in flight at shutdown reach their UDP and TCP clients; queries after it get none", async () => {
  const up = await slowUpstream(300);
  const s = await startInProcess({ upstreams: { ClusterCoreDNS: [`${up.host}:${up.port}`], VnetDNS: [`${up.host}:${up.port}`] } });
  const udp = query(s.vnet.host, s.vnet.port, "slow-udp.example.", "A", { timeoutMs: 3000 });
  const tcp = query(s.vnet.host, s.vnet.port, "slow-tcp.example.", "A", { tcp: true, timeoutMs: 3000 });
  await sleep(100); // both are at the upstream now
  expect(s.app.handler.inflight.size).toBe(2);
  const stopped = s.app.stop(2000);
  await sleep(20);
  // a new query during the grace period is not taken
  const late = await udpRaw(s.vnet.host, s.vnet.port, makeQuery("late.example."), 400).then(() => "answered", () => "no answer");
  const [u, t] = await Promise.all([udp, tcp]);
  await stopped;
  expect(u.answers.map((a: packet.Answer) => (a as { data: string }).data)).toEqual(["10.1.2.3"]);
  expect(t.answers.map((a: packet.Answer) => (a as { data: string }).data)).toEqual(["10.1.2.3"]);
  expect(late).toBe("no answer");
  expect(s.app.handler.inflight.size).toBe(0);
});
