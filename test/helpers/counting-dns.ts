// A stand-in CoreDNS pod for the kube-proxy test: answers every A query with its own address and counts
// queries per protocol. "count.localdns.test TXT" returns "udp=N tcp=M" (never counted itself).
// Usage: bun counting-dns.ts IP [PORT]   (prints READY once bound)
import * as dgram from "node:dgram";
import * as net from "node:net";
import packet from "dns-packet";
import { frame, FrameReader } from "./frames";

const [ip, portText = "53"] = process.argv.slice(2);
const port = Number(portText);
const counts = { udp: 0, tcp: 0 };

function answer(raw: Buffer, proto: "udp" | "tcp"): Buffer | null {
  let q: any;
  try { q = packet.decode(raw); } catch { return null; }
  const question = q.questions?.[0];
  if (!question) return null;
  const control = question.name.toLowerCase() === "count.localdns.test";
  if (!control) counts[proto]++;
  return packet.encode({
    type: "response", id: q.id, flags: packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE, questions: q.questions,
    answers: control
      ? [{ name: question.name, type: "TXT", ttl: 0, data: [`udp=${counts.udp}`, `tcp=${counts.tcp}`] }]
      : question.type === "A" ? [{ name: question.name, type: "A", ttl: 300, data: ip }] : [],
  } as any);
}

const udp = dgram.createSocket("udp4");
udp.on("message", (m, r) => { const a = answer(m, "udp"); if (a) udp.send(a, r.port, r.address); });
udp.bind(port, ip);
const tcp = net.createServer((sock) => {
  const frames = new FrameReader();
  sock.on("error", () => {});
  sock.on("data", (d) => {
    for (const msg of frames.push(d)) {
      const a = answer(msg, "tcp");
      if (a) sock.write(frame(a));
    }
  });
});
tcp.listen(port, ip, () => console.log("READY"));
process.on("SIGTERM", () => process.exit(0));
