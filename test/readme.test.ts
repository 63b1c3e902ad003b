// The README states what the code does: its defaults block is a valid config holding the real
// defaults, and its CLI section lists every command the binary's usage lists.
import { test, expect } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { buildConfig, loadConfigText } from "../src/config/effective";
import { USAGE } from "../src/cli";

const README = readFileSync(join(import.meta.dir, "..", "README.md"), "utf8");
const section = (title: string) => {
  const start = README.indexOf(`\n## ${title}\n`);
  expect(start).toBeGreaterThan(0);
  const end = README.indexOf("\n## ", start + 1);
  return README.slice(start, end < 0 ? undefined : end);
};
const firstBlock = (text: string, lang: string) => {
  const m = new RegExp("```" + lang + "\\n([\\s\\S]*?)\\n```").exec(text);
  if (!m) throw new Error(`no \`\`\`${lang} block`);
  return m[1];
};
const noFiles = (p: string): string => { throw new Error(`not read here: ${p}`); };

test("the Configuration section's defaults block validates as it stands and holds the real defaults", () => {
  const block = firstBlock(section("Configuration"), "json");
  const fromReadme = loadConfigText(block, noFiles, { readMachine: false });
  if (!fromReadme.ok) throw new Error(fromReadme.errors.join("\n"));
  const defaults = buildConfig({}, noFiles, { readMachine: false });
  if (!defaults.ok) throw new Error(defaults.errors.join("\n"));
  // the one difference: VnetDNS's default tries two resolv.conf paths, the block names the first
  const { upstreamSources: a, ...restReadme } = fromReadme.config;
  const { upstreamSources: b, ...restDefaults } = defaults.config;
  expect(restReadme).toEqual(restDefaults);
  expect([a.VnetDNS, b.VnetDNS]).toEqual(["not read: /run/systemd/resolve/resolv.conf", "not read: /run/systemd/resolve/resolv.conf or /etc/resolv.conf"]);
});

test("the CLI section lists every command of the usage text, with its actions", () => {
  const cli = firstBlock(section("CLI"), "");
  const commands = [...USAGE.matchAll(/^ {2}localdns ([a-z-]+(?: [a-z][a-z|-]*)?)/gm)].map((m) => m[1]);
  expect(commands).toEqual(["run", "validate", "status", "network up|resolver|release|down", "network socket-unit", "kubernetes manifest", "--version", "--help"]);
  for (const c of commands) expect(cli).toContain(c.startsWith("--") ? c : `localdns ${c}`);
  for (const flag of ["--check-upstreams", "--network", "--no-ffi", "--dry-run", "--admin ADDR", "--json", "--bin PATH"]) expect(cli).toContain(flag);
});

test("the stale answer TTL is stated as the code applies it", () => {
  expect(section("Keeping DNS up: stale answers, prefetch, warm restart, reload").replace(/\s+/g, " ")).toContain("answers it at once with TTL min(record TTL, `cache.staleAnswerTtl`)");
});
