// The layering the code is built on, checked: the upstream side never reaches into the server side
// (what both need lives in src/dns/ or src/metrics/), and the files with one job stay small.
import { test, expect } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const SRC = join(import.meta.dir, "../src");
const importsOf = (file: string) => [...readFileSync(file, "utf8").matchAll(/^(?:import|export)[^;]*?from\s+"([^"]+)"/gm)].map((m) => m[1]);

test("no module in src/upstream/ imports from src/server/", () => {
  const offenders = readdirSync(join(SRC, "upstream")).filter((f) => f.endsWith(".ts"))
    .flatMap((f) => importsOf(join(SRC, "upstream", f)).filter((i) => i.includes("/server/")).map((i) => `${f} → ${i}`));
  expect(offenders).toEqual([]);
});

test("the request flow and the wiring each stay under ~250 lines", () => {
  const lines = (f: string) => readFileSync(join(SRC, f), "utf8").split("\n").length;
  expect(lines("server/handler.ts")).toBeLessThanOrEqual(260);
  expect(lines("appliance.ts")).toBeLessThanOrEqual(250);
});
