// UDP listener: binds one address, hands every datagram to the handler, and sends the answers in
// batches: under load one sendMany (sendmmsg) per event-loop turn.
import type { Runtime, UdpSocket } from "../runtime/types";
import { formatEndpoint, type Endpoint } from "../config/endpoint";
import type { QueryHandler, UdpAnswerSender } from "./handler";

const SLAB_BYTES = 1 << 20; // answers waiting for this turn's sendMany
const MAX_BATCH = 1024;

export async function listenUdp(rt: Runtime, ep: Endpoint, set: number, handler: QueryHandler): Promise<UdpSocket> {
  try {
    return await rt.bindUdp(ep.host, ep.port, handler.udp(set, ep.family === 6, batchingSender()));
  } catch (e) {
    throw new Error(`cannot bind UDP ${formatEndpoint(ep)}: ${(e as Error).message}`);
  }
}

/** One listener's sender. Hits now and upstream answers later both leave through it. Under load a
 * turn's answers are copied into a slab and share one sendMany when the event loop turns
 * (setImmediate: a microtask would flush after every packet). At light load (the last turn carried at
 * most one answer) the first answer of a turn goes out at once: no wait for the turn to end, and a
 * batch of one would cost the same syscall anyway. */
export function batchingSender(): UdpAnswerSender {
  const slab = new Uint8Array(SLAB_BYTES);
  const batch: (Uint8Array | number | string)[] = [];
  let used = 0;
  let scheduled = false;
  let target: UdpSocket | null = null;
  let thisTurn = 0; // answers queued in this event-loop turn
  let lastTurn = 0; // ... and in the previous one
  const flush = () => {
    scheduled = false;
    lastTurn = thisTurn;
    thisTurn = 0;
    if (batch.length > 0) {
      target!.sendMany(batch); // every datagram is attempted; failures are counted by the socket
      batch.length = 0;
    }
    used = 0;
  };
  return (sock, answer, port, addr) => {
    thisTurn++;
    if (!scheduled && lastTurn <= 1) {
      scheduled = true;
      target = sock;
      setImmediate(flush);
      sock.send(answer, port, addr);
      return;
    }
    const n = answer.length;
    if (used + n > SLAB_BYTES || batch.length >= MAX_BATCH * 3) flush();
    slab.set(answer, used);
    batch.push(slab.subarray(used, used + n), port, addr);
    used += n;
    target = sock;
    if (!scheduled) { scheduled = true; setImmediate(flush); }
  };
}
