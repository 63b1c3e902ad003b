// iptables raw-table NOTRACK rules for the listener addresses, so DNS to and from localdns skips
// conntrack (the 5 s timeouts of conntrack insert races). Every rule carries COMMENT, which is how
// teardown finds them, whatever the config says now.
//
// Per listener: PREROUTING and OUTPUT x udp and tcp for the destination (queries from pods and from
// the node), plus OUTPUT x udp and tcp for the source (our replies). Without the reply rules each
// answer is tracked as a new flow from port 53 (an UNREPLIED entry per query), and where the node
// drops ctstate INVALID, TCP from the node itself fails: see docs/node-integration.md.
import type { Logger } from "../log";
import type { Endpoint } from "../config/endpoint";
import type { Runner } from "./commands";
import { cidr } from "./targets";

export const COMMENT = "localdns: skip conntrack";
const CHAINS = ["PREROUTING", "OUTPUT"] as const;
const PROTOCOLS = ["udp", "tcp"] as const;

export interface NotrackRule { tool: "iptables" | "ip6tables"; chain: "PREROUTING" | "OUTPUT"; spec: string[] }

const tail = ["-m", "comment", "--comment", COMMENT, "-j", "NOTRACK"];

export function notrackRules(targets: Endpoint[]): NotrackRule[] {
  const rules: NotrackRule[] = [];
  for (const e of targets) {
    const tool = e.family === 6 ? "ip6tables" : "iptables";
    const addr = cidr(e);
    const port = String(e.port);
    for (const chain of CHAINS)
      for (const p of PROTOCOLS) rules.push({ tool, chain, spec: ["-d", addr, "-p", p, "-m", p, "--dport", port, ...tail] });
    for (const p of PROTOCOLS) rules.push({ tool, chain: "OUTPUT", spec: ["-s", addr, "-p", p, "-m", p, "--sport", port, ...tail] });
  }
  return rules;
}

const raw = (op: string, chain: string, spec: string[] = []) => ["-w", "5", "-t", "raw", op, chain, ...spec];

/** Adds the rules that are missing (-C before -A, so a restart adds no duplicates). Returns false
 * when a rule could not be added. */
export function addNotrackRules(run: Runner, rules: NotrackRule[], log: Logger): boolean {
  let ok = true;
  const missingTools = new Set<string>();
  let added = 0;
  for (const r of rules) {
    if (!run.has(r.tool)) { missingTools.add(r.tool); continue; }
    if (run.query(r.tool, raw("-C", r.chain, r.spec)).status === 0) continue;
    const a = run.change(r.tool, raw("-A", r.chain, r.spec));
    if (a.status === 0) added++;
    else { ok = false; log.error("could not add a NOTRACK rule", { tool: r.tool, chain: r.chain, rule: r.spec.join(" "), error: a.stderr.trim() }); }
  }
  for (const t of missingTools) log.warn(`${t} not found: DNS to the listeners stays tracked by conntrack`);
  if (run.dryRun) log.info("dry run: would add the NOTRACK rules", { rules: rules.length });
  else log.info("NOTRACK rules in place", { rules: rules.length, added });
  return ok;
}

/** Splits one line of `iptables -S` output into arguments (double quotes, backslash escapes). */
export function splitRuleLine(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let inWord = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === "\\" && i + 1 < line.length) cur += line[++i];
      else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') { quoted = true; inWord = true; }
    else if (c === " " || c === "\t") { if (inWord) out.push(cur); cur = ""; inWord = false; }
    else { cur += c; inWord = true; }
  }
  if (inWord) out.push(cur);
  return out;
}

/** Deletes every raw-table rule carrying COMMENT in both families. A dry run prints the deletion
 * of `planned` instead. Returns false only when a rule that exists could not be deleted. */
export function removeNotrackRules(run: Runner, planned: NotrackRule[], log: Logger): boolean {
  if (run.dryRun) { for (const r of planned) run.change(r.tool, raw("-D", r.chain, r.spec)); return true; }
  let ok = true;
  let removed = 0;
  for (const tool of ["iptables", "ip6tables"] as const) {
    if (!run.has(tool)) continue;
    for (const chain of CHAINS) {
      const list = run.query(tool, raw("-S", chain));
      if (list.status !== 0) continue; // no raw table (e.g. IPv6 off): nothing of ours there
      for (const line of list.stdout.split("\n")) {
        const args = splitRuleLine(line);
        if (args[0] !== "-A" || !args.includes(COMMENT)) continue;
        const d = run.change(tool, ["-w", "5", "-t", "raw", "-D", ...args.slice(1)]);
        if (d.status === 0) removed++;
        else { ok = false; log.error("could not delete a NOTRACK rule", { tool, rule: line, error: d.stderr.trim() }); }
      }
    }
  }
  log.info("NOTRACK rules removed", { removed });
  return ok;
}
