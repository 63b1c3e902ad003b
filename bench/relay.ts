// A delaying DNS relay: emulates the network hop between a node and a remote DNS server (the AKS
// blog's "pods → CoreDNS on another node" path), on loopback.
//
// UDP and TCP on --listen are forwarded to --upstream. Every datagram, and every TCP chunk, is held
// --delay-ms in each direction before it is passed on (one FIFO per direction and one timer: the delay
// is constant, so the queue is already in due order). UDP query IDs are rewritten to the relay's own
// so that many clients can share one upstream socket. Queries towards the upstream are counted (UDP
// datagrams; TCP messages, by their 2-octet length framing).
//
// A control socket (UDP, --control port on the listen address) answers any datagram with JSON:
// {udpQueries, tcpQueries, tcpConnections, holdMs: {n, p50, p99, max}} where hold is the measured time
// a packet spent in the relay (configured delay + timer lateness).
//
// Usage: bun bench/relay.ts --listen 127.0.0.3:5390 --upstream 127.0.0.2:5390 --delay-ms 1 --control 5391
// Only 127.0.0.0/8 addresses are accepted.
declare const Bun: any;
export {}; // a module: top-level await

function arg(name: string, def?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && i + 1 < process.argv.length) return process.argv[i + 1];
  if (def === undefined) { console.error(`relay: --${name} is required`); process.exit(2); }
  return def;
}
function hostPort(s: string): [string, number] {
  const i = s.lastIndexOf(":");
  const h = s.slice(0, i), p = Number(s.slice(i + 1));
  if (!/^127\.\d+\.\d+\.\d+$/.test(h) || !(p > 0 && p < 65536)) { console.error(`relay: ${s}: only 127.0.0.0/8 host:port`); process.exit(2); }
  return [h, p];
}

const [lHost, lPort] = hostPort(arg("listen"));
const [uHost, uPort] = hostPort(arg("upstream"));
const DELAY = Number(arg("delay-ms", "1"));
const CONTROL = Number(arg("control", String(lPort + 1)));

// ---------------------------------------------------------------- delay line
type Job = () => void;
const dueQ: number[] = [];
const jobQ: Job[] = [];
const bornQ: number[] = [];
let qHead = 0;
let timer: ReturnType<typeof setTimeout> | null = null;
const EARLY = Math.min(0.25, DELAY / 4);
const HOLD_MAX = 200_000;
const holds = new Float64Array(HOLD_MAX);
let holdN = 0;
let holdMax = 0;

function later(job: Job): void {
  const now = performance.now();
  dueQ.push(now + DELAY); jobQ.push(job); bornQ.push(now);
  arm();
}
function arm(): void {
  if (timer !== null || qHead >= dueQ.length) return;
  timer = setTimeout(fire, Math.max(0, Math.ceil(dueQ[qHead] - performance.now())));
}
function fire(): void {
  timer = null;
  const now = performance.now();
  // timers have millisecond granularity: release what is due within EARLY ms rather than wait a
  // whole extra tick for it (the measured hold is reported either way)
  while (qHead < dueQ.length && dueQ[qHead] <= now + EARLY) {
    const job = jobQ[qHead];
    const held = now - bornQ[qHead];
    holds[holdN % HOLD_MAX] = held; holdN++;
    if (held > holdMax) holdMax = held;
    jobQ[qHead] = undefined as unknown as Job;
    qHead++;
    job();
  }
  if (qHead > 4096 && qHead * 2 > dueQ.length) { dueQ.splice(0, qHead); jobQ.splice(0, qHead); bornQ.splice(0, qHead); qHead = 0; }
  arm();
}

// ---------------------------------------------------------------- UDP
let udpQueries = 0;
const slotPort = new Int32Array(65536);
const slotAddr: string[] = new Array(65536).fill("");
const slotId = new Uint16Array(65536);
let nextId = 0;

const client = await Bun.udpSocket({
  hostname: lHost, port: lPort,
  socket: {
    data(_s: any, buf: Uint8Array, port: number, addr: string) {
      if (buf.length < 12) return;
      udpQueries++;
      const q = buf.slice();
      later(() => {
        const id = nextId; nextId = (nextId + 1) & 0xffff;
        slotPort[id] = port; slotAddr[id] = addr; slotId[id] = (q[0] << 8) | q[1];
        q[0] = id >> 8; q[1] = id & 0xff;
        upstream.send(q, uPort, uHost);
      });
    },
    error() {},
  },
});
const upstream = await Bun.udpSocket({
  hostname: lHost, port: 0,
  socket: {
    data(_s: any, buf: Uint8Array) {
      if (buf.length < 12) return;
      const id = (buf[0] << 8) | buf[1];
      const port = slotPort[id], addr = slotAddr[id], orig = slotId[id];
      if (port === 0) return;
      slotPort[id] = 0;
      const r = buf.slice();
      r[0] = orig >> 8; r[1] = orig & 0xff;
      later(() => client.send(r, port, addr));
    },
    error() {},
  },
});

// ---------------------------------------------------------------- TCP
let tcpQueries = 0;
let tcpConnections = 0;

interface Side { sock: any; pending: Uint8Array[]; closed: boolean }
function write(side: Side, data: Uint8Array): void {
  if (side.closed) return;
  if (side.sock === null || side.pending.length > 0) { side.pending.push(data); return; }
  const n = side.sock.write(data);
  if (n < data.length) side.pending.push(data.subarray(Math.max(0, n)));
}
function drain(side: Side): void {
  while (side.pending.length > 0 && side.sock !== null) {
    const d = side.pending[0];
    const n = side.sock.write(d);
    if (n < d.length) { side.pending[0] = d.subarray(Math.max(0, n)); return; }
    side.pending.shift();
  }
}
interface Conn { down: Side; up: Side; need: number; hdr: number; hdrByte: number }

// counts DNS messages in the client → upstream byte stream
function countMessages(c: Conn, chunk: Uint8Array): void {
  let i = 0;
  while (i < chunk.length) {
    if (c.need > 0) { const k = Math.min(c.need, chunk.length - i); c.need -= k; i += k; continue; }
    if (c.hdr === 0) { c.hdrByte = chunk[i++]; c.hdr = 1; continue; }
    c.need = (c.hdrByte << 8) | chunk[i++]; c.hdr = 0; tcpQueries++;
  }
}

Bun.listen({
  hostname: lHost, port: lPort,
  socket: {
    open(sock: any) {
      tcpConnections++;
      const c: Conn = { down: { sock, pending: [], closed: false }, up: { sock: null, pending: [], closed: false }, need: 0, hdr: 0, hdrByte: 0 };
      sock.data = c;
      Bun.connect({
        hostname: uHost, port: uPort,
        socket: {
          open(u: any) { c.up.sock = u; drain(c.up); },
          data(_u: any, chunk: Uint8Array) { const d = chunk.slice(); later(() => write(c.down, d)); },
          drain() { drain(c.up); },
          close() { c.up.closed = true; later(() => { if (!c.down.closed) { c.down.closed = true; sock.end(); } }); },
          error() {},
          connectError() { c.up.closed = true; c.down.closed = true; sock.end(); },
        },
      }).catch(() => { c.down.closed = true; sock.end(); });
    },
    data(sock: any, chunk: Uint8Array) {
      const c: Conn = sock.data;
      countMessages(c, chunk);
      const d = chunk.slice();
      later(() => write(c.up, d));
    },
    drain(sock: any) { drain(sock.data.down); },
    close(sock: any) {
      const c: Conn = sock.data;
      c.down.closed = true;
      later(() => { if (!c.up.closed) { c.up.closed = true; c.up.sock?.end(); } });
    },
    error() {},
  },
});

// ---------------------------------------------------------------- control
await Bun.udpSocket({
  hostname: lHost, port: CONTROL,
  socket: {
    data(s: any, buf: Uint8Array, port: number, addr: string) {
      const cmd = new TextDecoder().decode(buf).trim();
      const n = Math.min(holdN, HOLD_MAX);
      const sorted = holds.slice(0, n).sort();
      const at = (q: number) => (n ? Math.round(sorted[Math.min(n - 1, Math.ceil(q * n) - 1)] * 1000) / 1000 : null);
      const stats = { delayMs: DELAY, udpQueries, tcpQueries, tcpConnections, holdMs: { n, p50: at(0.5), p99: at(0.99), max: Math.round(holdMax * 1000) / 1000 } };
      if (cmd === "reset-hold") { holdN = 0; holdMax = 0; }
      s.send(JSON.stringify(stats), port, addr);
    },
    error() {},
  },
});

process.on("SIGTERM", () => process.exit(0));
process.on("SIGINT", () => process.exit(0));
console.error(`relay: ${lHost}:${lPort} (udp+tcp) -> ${uHost}:${uPort}, ${DELAY} ms each way, control udp ${lHost}:${CONTROL}`);
