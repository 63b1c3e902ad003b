// The FFI data path on Deno (Deno.dlopen): self-test and an echo loop in a Worker, IPv4 and IPv6.
import { test, expect } from "bun:test";
import { existsSync } from "node:fs";
import { ffiTest } from "./helpers/data-path";

const DENO = new URL("../node_modules/.bin/deno", import.meta.url).pathname;
const SMOKE = new URL("./helpers/net-deno-smoke.ts", import.meta.url).pathname;

ffiTest("on Deno: self-test passes, the loop echoes 20 datagrams per family, drain-and-close ends it", async () => {
  if (!existsSync(DENO)) { console.log("skip: node_modules/.bin/deno is not installed"); return; }
  const child = Bun.spawn([DENO, "run", "--unstable-sloppy-imports", "--no-lock", "--node-modules-dir=manual", "--allow-ffi", "--allow-read",
    "--allow-env", "--allow-net=127.0.0.1,[::1]", "--unstable-net", SMOKE], { stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
  const seen = JSON.parse(stdout.trim().split("\n").pop()!);
  const want = { replies: Array.from({ length: 20 }, (_, i) => `Dq${i}`).sort(), end: "closed", received: 20 };
  expect(seen).toEqual({ ok: true, runtime: "deno", "127.0.0.1": want, "::1": want });
}, 30_000);
