// A steady UDP load for restart and takeover tests: 2,000 queries a second for cached names, each sent
// once and never retried, every answer counted by its id. The client's receive buffer is large: the
// answers of what queued during a restart come in one burst.
import { createSocket, type Socket } from "node:dgram";
import { readFileSync } from "node:fs";
import { makeQuery, packet } from "./dns";

const PER_TICK = 20; // every 10 ms

export interface SteadyLoad { readonly sent: number; readonly answered: Set<number>; stop(): void; lostIds(): number[]; clientDrops(): string; close(): void }

/** `host`: the listener's address (127.0.0.1 unless a test serves elsewhere, e.g. in a namespace). */
export async function startSteadyLoad(port: number, name: (i: number) => string, host = "127.0.0.1"): Promise<SteadyLoad> {
  const client: Socket = createSocket({ type: "udp4", recvBufferSize: 8 << 20 });
  await new Promise<void>((r) => client.bind(0, host === "127.0.0.1" ? host : "0.0.0.0", r));
  const answered = new Set<number>();
  client.on("message", (m) => { const a = packet.decode(m); if (a.answers?.length) answered.add(a.id!); });
  let sent = 0;
  const ticker = setInterval(() => {
    for (let k = 0; k < PER_TICK && sent < 65535; k++, sent++) client.send(makeQuery(name(sent), "A", { id: sent }), port, host);
  }, 10);
  return {
    get sent() { return sent; },
    answered,
    stop: () => clearInterval(ticker),
    lostIds: () => { const l: number[] = []; for (let i = 0; i < sent; i++) if (!answered.has(i)) l.push(i); return l; },
    /** what the kernel dropped on the client's own socket (/proc/net/udp "drops"): not the server's loss */
    clientDrops: () => {
      const hex = `:${client.address().port.toString(16).toUpperCase().padStart(4, "0")} `;
      return readFileSync("/proc/net/udp", "utf8").split("\n").find((l) => l.includes(hex))?.trim().split(/\s+/).pop() ?? "?";
    },
    close: () => { clearInterval(ticker); client.close(); },
  };
}
