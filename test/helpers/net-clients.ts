// UDP clients for the FFI loop tests: Bun's own sockets (the runtime path, independent of src/net).
declare const Bun: any;

export interface Reply { data: Uint8Array; port: number; address: string }

export interface TestClient {
  readonly port: number;
  readonly replies: Reply[];
  send(data: Uint8Array, port: number, address: string): void;
  close(): void;
}

export async function testClient(hostname = "127.0.0.1"): Promise<TestClient> {
  const replies: Reply[] = [];
  const sock = await Bun.udpSocket({
    hostname, port: 0,
    socket: { data(_s: unknown, buf: Uint8Array, port: number, address: string) { replies.push({ data: new Uint8Array(buf), port, address }); } },
  });
  return {
    port: sock.port, replies,
    send: (data, port, address) => { sock.send(data, port, address); },
    close: () => sock.close(),
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until cond() holds, polling; false after timeoutMs. */
export async function until(cond: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) { if (cond()) return true; await sleep(5); }
  return cond();
}
