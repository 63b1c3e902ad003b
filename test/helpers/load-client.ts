// Sends COUNT distinct A queries (PREFIX-i.SUFFIX) from ONE UDP socket with CONCURRENCY in flight and
// prints {"ok","fail","timeout"} as JSON. Used inside the kube-proxy test namespace, both against
// localdns and directly against the Service IP (the single-socket pinning the seed blog describes).
// Usage: bun load-client.ts HOST PORT PREFIX SUFFIX COUNT CONCURRENCY
import * as dgram from "node:dgram";
import packet from "dns-packet";

const [host, portText, prefix, suffix, countText, concText] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);
const concurrency = Number(concText);
const sock = dgram.createSocket("udp4");
const pending = new Map<number, { t: ReturnType<typeof setTimeout>; done: (rcode: string | null) => void }>();
const result = { ok: 0, fail: 0, timeout: 0 };
let next = 0;
let id = 1;

sock.on("message", (m) => {
  let r: any;
  try { r = packet.decode(m); } catch { return; }
  pending.get(r.id)?.done(r.rcode);
});

function one(): Promise<void> {
  if (next >= count) return Promise.resolve();
  const i = next++;
  const qid = id = (id % 65535) + 1;
  return new Promise<void>((resolve) => {
    const t = setTimeout(() => { pending.delete(qid); result.timeout++; resolve(); }, 3000);
    pending.set(qid, { t, done: (rcode) => { clearTimeout(t); pending.delete(qid); if (rcode === "NOERROR") result.ok++; else result.fail++; resolve(); } });
    sock.send(packet.encode({ type: "query", id: qid, flags: packet.RECURSION_DESIRED, questions: [{ name: `${prefix}-${i}.${suffix}`, type: "A" }] } as any), port, host);
  }).then(one);
}

sock.bind(0, () => {
  Promise.all(Array.from({ length: concurrency }, one)).then(() => {
    console.log(JSON.stringify(result));
    sock.close();
  });
});
