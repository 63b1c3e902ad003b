// A sloppy recursive resolver for the scrubbing checks, run by Bun inside the pod's namespace: relays
// every query (UDP and TCP) to knotd, and into each NOERROR answer for a name under stuffed.example it
// adds records that are not on the question's CNAME chain (an unrelated name's A and AAAA) and
// out-of-zone glue in the additional section: what a broken or poisoned upstream sends.
// Everything else passes through untouched. Prints READY when both sockets listen, then "Q NAME TYPE"
// for every query it relays (the suite counts what reaches the upstream).
// Usage: bun stuffing-upstream.ts LISTEN_IP KNOT_IP   (port 53 on both)
import * as dgram from "node:dgram";
import * as net from "node:net";
import packet from "dns-packet";
import { tcpRaw } from "../dns";
import { frame, FrameReader } from "../frames";

const [listen, knot] = process.argv.slice(2);
const STUFFING = [
  { name: "unrelated.example.net", type: "A", ttl: 300, data: "203.0.113.66" },
  { name: "unrelated.example.net", type: "AAAA", ttl: 300, data: "2001:db8:bad::66" },
];
const GLUE = { name: "ns.unrelated.example.net", type: "A", ttl: 300, data: "203.0.113.53" };

function logQuery(query: Uint8Array) {
  try {
    const q = (packet.decode(Buffer.from(query)) as any).questions[0];
    console.log(`Q ${q.name.toLowerCase()} ${q.type}`);
  } catch { console.log("Q (undecodable)"); }
}

function stuff(reply: Buffer): Buffer {
  let m: any;
  try { m = packet.decode(reply); } catch { return reply; }
  const name: string = m.questions?.[0]?.name?.toLowerCase() ?? "";
  if (m.rcode !== "NOERROR" || !(name === "stuffed.example" || name.endsWith(".stuffed.example"))) return reply;
  m.answers = [...m.answers, ...STUFFING];
  m.additionals = [GLUE, ...m.additionals];
  return packet.encode(m);
}

const udp = dgram.createSocket("udp4");
udp.on("message", (query, from) => {
  logQuery(query);
  const up = dgram.createSocket("udp4");
  const t = setTimeout(() => up.close(), 2000);
  up.on("message", (reply) => {
    clearTimeout(t);
    up.close();
    udp.send(stuff(reply), from.port, from.address);
  });
  up.send(query, 53, knot);
});

const tcp = net.createServer((sock) => {
  sock.on("error", () => sock.destroy());
  const frames = new FrameReader();
  sock.on("data", (d) => {
    for (const query of frames.push(d)) {
      logQuery(query);
      tcpRaw(knot, 53, query, 2000).then((reply) => sock.write(frame(stuff(reply))), () => sock.destroy());
    }
  });
});

let ready = 0;
const up = () => { if (++ready === 2) console.log("READY"); };
udp.bind(53, listen, up);
tcp.listen(53, listen, up);
