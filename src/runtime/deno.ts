// Runtime adapter for Deno (deno run, or the `deno compile` binary built by build/build-deno.ts).
// Files go through node:fs (files.ts, shared with the Bun adapter), so read errors carry the same codes and messages
// (a missing snapshot is "ENOENT", a missing config reads the same in both binaries).
import { readTextCapped, openChunks, createAtomic, makeParentDir, TEXT_FILE_MAX_BYTES } from "./files";
import { bindDenoUdp } from "./deno-udp";
import { listenDenoTcp, connectDenoTcp } from "./deno-tcp";
import { serveDenoHttp } from "./deno-http";
import { sdNotify } from "./deno-notify";
import { writeDenoStdout } from "./deno-stdout";
import type { Runtime } from "./types";

declare const Deno: any;

// Embedded by `deno compile --include build/core.wasm`; read from the source tree under `deno run`.
const WASM_URL = new URL("../../build/core.wasm", import.meta.url);

export const denoRuntime: Runtime = {
  name: "deno",
  servesTcpFd: false,
  version: typeof Deno !== "undefined" ? Deno.version.deno : "",

  async bindUdp(hostname, port, onData) { return bindDenoUdp(hostname, port, onData); },
  listenTcp: listenDenoTcp,
  connectTcp: connectDenoTcp,
  serveHttp: serveDenoHttp,
  readTextFile: (path, maxBytes = TEXT_FILE_MAX_BYTES) => readTextCapped(path, maxBytes),
  openChunks,
  createAtomic: (path) => createAtomic(path, Deno.pid),
  makeParentDir,
  onSignal(signal, handler) { Deno.addSignalListener(signal, handler); },
  exit(code: number): never { Deno.exit(code); throw new Error("unreachable"); },
  env: (name) => Deno.env.get(name),
  args: () => [...Deno.args],
  async loadCoreWasm() { return await Deno.readFile(WASM_URL); },
  rss: () => Deno.memoryUsage().rss,
  writeStdout: writeDenoStdout,
  // V8 exposes gc() only with --expose-gc; without it the heap limit flags in build-deno.ts bound it
  collectGarbage: () => { (globalThis as { gc?: () => void }).gc?.(); },
  notify(state) {
    const sock = Deno.env.get("NOTIFY_SOCKET");
    return sock ? sdNotify(sock, state) : false;
  },
};
