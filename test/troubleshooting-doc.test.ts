// docs/troubleshooting.md names metrics and log messages; each must be one we emit, so the guide
// does not drift from the code.
import { test, expect } from "bun:test";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { startInProcess } from "./helpers/appliance";
import { readExposition } from "./helpers/exposition";

const root = join(import.meta.dir, "..");
const doc = readFileSync(join(root, "docs/troubleshooting.md"), "utf8");
const sources = (dir: string): string[] => readdirSync(join(root, dir), { withFileTypes: true })
  .flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [readFileSync(join(root, dir, e.name), "utf8")] : []));

test("every metric the guide names is one /metrics emits", async () => {
  const named = [...new Set([...doc.matchAll(/`((?:coredns|localdns|process)_[a-z_]+)(?:\{[^`]*\})?`/g)].map((m) => m[1]))];
  expect(named.length).toBeGreaterThan(15);
  // a running localdns's families (an unreachable upstream: no query is sent)
  const s = await startInProcess({ upstreams: { ClusterCoreDNS: ["127.0.15.53:53"], VnetDNS: ["127.0.15.53:53"] } }, { log: false });
  try {
    const families = (await readExposition(await (await s.app.adminApp.request("/metrics")).text())).map((f) => f.name);
    // a histogram's series carry _bucket, _sum and _count after the family name
    const missing = named.filter((n) => !families.includes(n) && !families.includes(n.replace(/_(bucket|sum|count)$/, "")));
    expect(missing).toEqual([]);
  } finally { await s.stop(); }
});

test("every log message the guide quotes is one the code logs", () => {
  const all = sources("src").join("\n");
  const quoted = [...doc.matchAll(/"msg":"([^"]+)"/g)].map((m) => m[1]);
  const inProse = [...doc.matchAll(/\*\*`([a-z][^`]*)`\*\*|`((?:cache snapshot|config reload|upstream|snapshot directory|a listener|networkctl|the\s+default-route|invalid config|start failed|query failed|signal received|localdns stopped|config reloaded)[^`]*)`/g)].map((m) => (m[1] ?? m[2]).replace(/\s+/g, " "));
  const messages = [...new Set([...quoted, ...inProse])].filter((m) => !m.includes(": no usable nameserver"));
  expect(messages.length).toBeGreaterThan(12);
  expect(messages.filter((m) => !all.includes(`"${m}`) && !all.includes(`\`${m}`))).toEqual([]);
});
