// A real DNS query for the health name, used to check that localdns answers on a listener before
// the node's resolver is pointed at it.
import * as dgram from "node:dgram";
import type { Endpoint } from "../config/endpoint";

export const HEALTH_NAME = "health-check.localdns.local";

export function encodeQuery(id: number, name: string): Uint8Array {
  const labels = name.split(".").filter((l) => l.length > 0);
  const out = new Uint8Array(12 + labels.reduce((n, l) => n + 1 + l.length, 0) + 1 + 4);
  const v = new DataView(out.buffer);
  v.setUint16(0, id);
  v.setUint16(2, 0x0100); // RD
  v.setUint16(4, 1); // one question
  let o = 12;
  for (const l of labels) { out[o++] = l.length; for (const ch of l) out[o++] = ch.charCodeAt(0); }
  out[o++] = 0;
  v.setUint16(o, 1); // A
  v.setUint16(o + 2, 1); // IN
  return out;
}

/** True when `reply` answers query `id` with NOERROR. */
export function isGoodReply(reply: Uint8Array, id: number): boolean {
  if (reply.length < 12) return false;
  const v = new DataView(reply.buffer, reply.byteOffset, reply.byteLength);
  return v.getUint16(0) === id && (reply[2] & 0x80) !== 0 && (reply[3] & 0x0f) === 0;
}

function once(ep: Endpoint, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const id = Math.floor(Math.random() * 0x10000);
    const sock = dgram.createSocket(ep.family === 6 ? "udp6" : "udp4");
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try { sock.close(); } catch { /* already closed */ }
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    sock.on("message", (m) => { if (isGoodReply(m, id)) finish(true); });
    sock.on("error", () => finish(false));
    sock.send(encodeQuery(id, HEALTH_NAME), ep.port, ep.host, (err) => { if (err) finish(false); });
  });
}

/** Asks until the listener answers or `deadlineMs` passes (each try waits at most 500 ms). */
export async function waitForAnswer(ep: Endpoint, deadlineMs: number): Promise<boolean> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if (await once(ep, Math.min(500, Math.max(50, end - Date.now())))) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}
