// systemd socket activation with a real inherited fd: the parent binds the socket (as systemd does)
// and passes it as fd 3 to a child that adopts and serves it.
import { test, expect, beforeAll } from "bun:test";
import { existsSync } from "node:fs";
import { openFfiNet } from "../src/net/ffi-net";
import type { LibcNet } from "../src/net/libc-net";
import { createUdpSocket } from "../src/net/udp-socket";
import { testClient, until } from "./helpers/net-clients";
import { freePort } from "./helpers/binary";
import { ffiTest } from "./helpers/data-path";

const CHILD = new URL("./helpers/net-activation-child.ts", import.meta.url).pathname;
let lib: LibcNet;
beforeAll(async () => {
  const net = await openFfiNet(() => undefined, []);
  if (!net.ok) throw new Error(`FFI unavailable here: ${net.reason}`);
  lib = net.lib;
});

async function firstLine(stream: ReadableStream<Uint8Array>): Promise<any> {
  let text = "";
  const reader = stream.getReader();
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return JSON.parse(text.split("\n")[0]);
}

/** queryFirst: send before the server runs (systemd-socket-activate starts it on the first datagram;
 * the kernel holds the query in the socket meanwhile). */
async function serveThroughChild(cmd: string[], env: Record<string, string>, port: number, extraFd?: number, queryFirst = false) {
  const c = await testClient();
  const child = Bun.spawn(cmd, {
    env: { ...process.env, ...env },
    stdio: extraFd === undefined ? ["pipe", "pipe", "inherit"] : ["pipe", "pipe", "inherit", extraFd],
  });
  try {
    if (queryFirst) { await Bun.sleep(300); c.send(new TextEncoder().encode("activated"), port, "127.0.0.1"); }
    const hello = await firstLine(child.stdout);
    expect(hello.error).toBeUndefined();
    expect(hello).toMatchObject({ ready: true, fd: 3, names: ["dns"], port, adopted: true });
    try {
      if (!queryFirst) c.send(new TextEncoder().encode("activated"), port, "127.0.0.1");
      expect(await until(() => c.replies.length === 1)).toBe(true);
      expect(c.replies[0].data[0]).toBe(0x53);
      expect(new TextDecoder().decode(c.replies[0].data.subarray(1))).toBe("activated");
    } finally { c.close(); }
  } finally {
    child.stdin.end();
    const code = await Promise.race([child.exited, Bun.sleep(5000).then(() => "timeout")]);
    if (code === "timeout") child.kill("SIGKILL");
    expect(code).toBe(0);
  }
}

ffiTest("a child adopts the UDP socket passed as fd 3 with LISTEN_FDS and serves it", async () => {
  const sock = createUdpSocket(lib, { host: "127.0.0.1", port: 0 }, { receiveBuffer: 0 });
  try {
    // LISTEN_PID must be the child's own pid: a shell sets it, then execs the server in its place
    await serveThroughChild(["sh", "-c", 'LISTEN_PID=$$ exec "$@"', "sh", process.execPath, CHILD, "127.0.0.1", String(sock.port)],
      { LISTEN_FDS: "1", LISTEN_FDNAMES: "dns" }, sock.port, sock.fd);
  } finally { lib.close(sock.fd); }
}, 20_000);

ffiTest("under systemd-socket-activate --datagram", async () => {
  const tool = ["/usr/bin/systemd-socket-activate", "/bin/systemd-socket-activate"].find((p) => existsSync(p));
  if (!tool) { console.log("skip: systemd-socket-activate is not installed"); return; }
  const port = await freePort();
  await serveThroughChild([tool, "--datagram", "-l", `127.0.0.1:${port}`, "--fdname=dns", process.execPath, CHILD, "127.0.0.1", String(port)], {}, port, undefined, true);
}, 20_000);
