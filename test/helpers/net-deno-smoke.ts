// Run under Deno by test/net-deno.test.ts: the self-test and an echo loop on FFI-owned sockets,
// prints one JSON line with what it saw.
import dgram from "node:dgram";
import { openFfiNet } from "../../src/net/ffi-net";
import { createUdpSocket } from "../../src/net/udp-socket";
import { planSlotRegion, slotRegionBytes } from "../../src/net/slots";
import { UdpLoopHandle } from "../../src/net/udp-loop-handle";

declare const Deno: any;
const net = await openFfiNet((n) => Deno.env.get(n), Deno.args);
if (!net.ok) { console.log(JSON.stringify({ ok: false, reason: net.reason })); Deno.exit(1); throw new Error("unreachable"); }
const out: Record<string, unknown> = { ok: true, runtime: net.lib.runtime };
for (const host of ["127.0.0.1", "::1"]) {
  const sock = createUdpSocket(net.lib, { host, port: 0 });
  const loop = await UdpLoopHandle.start(net.lib, net.layout, {
    fds: [sock.fd], slots: planSlotRegion(new SharedArrayBuffer(slotRegionBytes(8, 512)), 8, 512),
    handler: { module: new URL("./net-handlers.ts", import.meta.url).href, export: "createEchoHandler", options: { tag: 0x44 } },
  });
  const client = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
  const replies: string[] = [];
  client.on("message", (m: Uint8Array) => replies.push(String.fromCharCode(...m)));
  await new Promise<void>((r) => client.bind(0, host, () => r()));
  for (let i = 0; i < 20; i++) client.send(new TextEncoder().encode(`q${i}`), sock.port, host);
  const end = Date.now() + 5000;
  while (replies.length < 20 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  client.close();
  const report = await loop.drainAndClose();
  out[host] = { replies: replies.sort(), end: report.end, received: report.stats.received };
}
console.log(JSON.stringify(out));
Deno.exit(0);
