// UDP for the Deno adapter: Deno.listenDatagram (behind --unstable-net) driven into the data callback.
import type { UdpSocket, UdpDataHandler } from "./types";

declare const Deno: any;

const MAX_DATAGRAM = 65535;

export function bindDenoUdp(hostname: string, port: number, onData: UdpDataHandler): UdpSocket {
  const conn = Deno.listenDatagram({ transport: "udp", hostname, port });
  let closed = false;
  let failures = 0;
  const dropped = () => { failures++; /* a datagram that cannot be sent is dropped, as UDP allows */ };
  // Deno reads the bytes to send when the async op runs, not when send() is called: callers hand us
  // views they reuse (the handler's batch slab), so every datagram is copied first. A send that fails
  // with an earlier ICMP error (ECONNREFUSED) consumed that error: one retry, as the Bun adapter does.
  const send = (data: Uint8Array, rport: number, address: string): boolean => {
    if (closed) return false;
    const copy = data.slice();
    const to = { transport: "udp", hostname: address, port: rport };
    try {
      conn.send(copy, to).catch(() => { if (!closed) conn.send(copy, to).catch(dropped); });
      return true;
    } catch {
      failures++;
      return false; // never throws (types.ts): the datagram is dropped
    }
  };
  const sock: UdpSocket = {
    port: conn.addr.port,
    hostname: conn.addr.hostname,
    get sendFailures() { return failures; },
    send,
    sendMany(packets) {
      let sent = 0;
      for (let i = 0; i + 2 < packets.length; i += 3) {
        if (send(packets[i] as Uint8Array, packets[i + 1] as number, packets[i + 2] as string)) sent++;
      }
      return sent;
    },
    close() {
      if (closed) return;
      closed = true;
      try { conn.close(); } catch { /* already closed */ }
    },
  };
  void receiveLoop(conn, sock, onData, () => closed);
  return sock;
}

// One reused receive buffer; each datagram is handed on as its own exact-size copy, since callers may
// keep it (a forwarded query waits for its upstream).
async function receiveLoop(conn: any, sock: UdpSocket, onData: UdpDataHandler, isClosed: () => boolean): Promise<void> {
  const buf = new Uint8Array(MAX_DATAGRAM);
  let errors = 0;
  while (!isClosed()) {
    let data: Uint8Array;
    let from: { hostname: string; port: number };
    try {
      [data, from] = await conn.receive(buf);
      errors = 0;
    } catch (e) {
      if (isClosed() || e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted) return;
      // transient (e.g. an ICMP error surfacing on this read): keep listening, without spinning
      if (++errors > 10) await new Promise((r) => setTimeout(r, 10));
      continue;
    }
    try {
      onData(sock, data.slice(), from.port, from.hostname);
    } catch (e) {
      reportError(e); // an uncaught error, as in the Bun adapter's callback
    }
  }
}
