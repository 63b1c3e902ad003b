// Child of test/net-activation.test.ts: a socket-activated server. Takes the UDP listener for the
// endpoint in argv from LISTEN_FDS, serves it with the echo handler, prints one JSON line, and stops
// when stdin closes.
import { openFfiNet } from "../../src/net/ffi-net";
import { parseListenFds, matchActivatedFds } from "../../src/net/socket-activation";
import { adoptUdpSocket } from "../../src/net/udp-socket";
import { planSlotRegion, slotRegionBytes } from "../../src/net/slots";
import { UdpLoopHandle } from "../../src/net/udp-loop-handle";

const [host, portText] = process.argv.slice(2);
const endpoint = { host, port: Number(portText) };
const net = await openFfiNet((n) => process.env[n], process.argv);
if (!net.ok) { console.log(JSON.stringify({ error: net.reason })); process.exit(1); }
const listen = parseListenFds((n) => process.env[n], process.pid);
if (!listen.ok) { console.log(JSON.stringify({ error: listen.reason })); process.exit(1); }
const match = matchActivatedFds(net.lib, listen.fds, [endpoint]);
const fd = match.listeners[0].udp;
if (fd === null) { console.log(JSON.stringify({ error: "no udp fd", fds: listen.fds, unmatched: match.unmatched })); process.exit(1); }
const sock = adoptUdpSocket(net.lib, fd, endpoint);
const memory = new SharedArrayBuffer(slotRegionBytes(16, 512));
const loop = await UdpLoopHandle.start(net.lib, net.layout, {
  fds: [sock.fd], slots: planSlotRegion(memory, 16, 512),
  handler: { module: new URL("./net-handlers.ts", import.meta.url).href, export: "createEchoHandler", options: { tag: 0x53 } },
});
console.log(JSON.stringify({ ready: true, fd, names: listen.fds.map((f) => f.name), port: sock.port, adopted: sock.adopted }));
for await (const _ of process.stdin) { /* until the parent closes stdin */ }
await loop.stop();
process.exit(0);
