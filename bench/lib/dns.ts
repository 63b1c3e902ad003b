// A minimal UDP DNS client for readiness checks and the start-to-ready probe (not on any measured path).
declare const Bun: any;

export function makeQuery(name: string, id: number, qtype = 1): Uint8Array {
  const labels = name.replace(/\.$/, "").split(".");
  const out = new Uint8Array(12 + labels.reduce((n, l) => n + l.length + 1, 0) + 1 + 4);
  out[0] = id >> 8; out[1] = id & 0xff; out[2] = 0x01; out[5] = 1; // RD, QDCOUNT 1
  let p = 12;
  for (const l of labels) { out[p++] = l.length; for (let i = 0; i < l.length; i++) out[p++] = l.charCodeAt(i); }
  out[p++] = 0; out[p++] = qtype >> 8; out[p++] = qtype & 0xff; out[p++] = 0; out[p] = 1;
  return out;
}

/** rcode and ANCOUNT of a reply, or null on timeout. */
export async function query(host: string, port: number, name: string, timeoutMs = 500): Promise<{ rcode: number; answers: number } | null> {
  const id = (Math.random() * 65535) | 0;
  let done: (v: { rcode: number; answers: number } | null) => void = () => {};
  const result = new Promise<{ rcode: number; answers: number } | null>((r) => { done = r; });
  const sock = await Bun.udpSocket({
    hostname: "127.0.0.1", port: 0,
    socket: {
      data(_s: any, buf: Uint8Array) { if (buf.length >= 12 && ((buf[0] << 8) | buf[1]) === id) done({ rcode: buf[3] & 15, answers: (buf[6] << 8) | buf[7] }); },
      error() {},
    },
  });
  const t = setTimeout(() => done(null), timeoutMs);
  sock.send(makeQuery(name, id), port, host);
  const r = await result;
  clearTimeout(t);
  sock.close();
  return r;
}

/** Waits up to timeoutMs for an answer with at least one record. */
export async function waitAnswer(host: string, port: number, name: string, timeoutMs = 10000): Promise<boolean> {
  const end = performance.now() + timeoutMs;
  while (performance.now() < end) {
    const r = await query(host, port, name, 300);
    if (r && r.rcode === 0 && r.answers > 0) return true;
    await Bun.sleep(50);
  }
  return false;
}

/** Milliseconds from spawn() to the first answer to `name`, probing every ~1 ms. */
export async function timeToFirstAnswer(spawn: () => void, host: string, port: number, name: string, timeoutMs = 5000): Promise<number> {
  const id = 0x4242;
  const q = makeQuery(name, id);
  let got = -1;
  const sock = await Bun.udpSocket({
    hostname: "127.0.0.1", port: 0,
    socket: {
      data(_s: any, buf: Uint8Array) { if (got < 0 && buf.length >= 12 && ((buf[0] << 8) | buf[1]) === id && (buf[3] & 15) === 0) got = performance.now(); },
      error() {}, // ICMP port unreachable until the listener is bound
    },
  });
  const t0 = performance.now();
  spawn();
  while (got < 0 && performance.now() - t0 < timeoutMs) {
    try { sock.send(q, port, host); } catch { /* refused: not bound yet */ }
    await Bun.sleep(1);
  }
  sock.close();
  return got < 0 ? NaN : got - t0;
}
