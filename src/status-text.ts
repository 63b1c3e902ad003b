// The human form of `localdns status`: a few aligned lines an operator reads at a glance.
import type { Status } from "./status";

const MIB = 1024 * 1024;
const mib = (n: number) => `${(n / MIB).toFixed(1)} MiB`;

export function renderStatus(s: Status): string {
  const lines: string[] = [];
  const row = (label: string, text: string) => lines.push(`${label.padEnd(11)} ${text}`);
  const who = s.version ? `localdns ${s.version}${s.runtime ? ` (${s.runtime})` : ""}` : "localdns";
  lines.push(`${who} at ${s.admin}: ${s.ready ? "ready" : "NOT READY"}`);
  for (const r of s.notReadyReasons) lines.push(`  - ${r}`);
  if (s.mode) row("mode", s.mode);
  const sets = Object.entries(s.listeners).filter(([, l]) => l.length > 0);
  row("listeners", sets.length ? sets.map(([set, l]) => `${set} ${l.join(", ")}`).join("; ") : "none");
  if (s.upstreams.length === 0) row("upstreams", "none");
  const width = Math.max(0, ...s.upstreams.map((u) => u.destination.length));
  const toWidth = Math.max(0, ...s.upstreams.map((u) => u.to.length));
  s.upstreams.forEach((u, i) => {
    row(i === 0 ? "upstreams" : "", `${u.destination.padEnd(width)}  ${u.to.padEnd(toWidth)}  ${u.up ? "up  " : "DOWN"}  ${u.queries} queries, ${u.failures} failures`);
  });
  const c = s.cache;
  const ratio = c.hitRatio === null ? "no lookups yet" : `hit ratio ${(c.hitRatio * 100).toFixed(1)}% (${c.hits} hits, ${c.misses} misses)`;
  row("cache", `${c.entries} entries, ${mib(c.bytes)} of ${mib(c.maxBytes)}, ${ratio}`);
  const rates: string[] = [];
  if (s.lastMinute) rates.push(`${s.lastMinute.perSecond.toFixed(1)}/s over the last ${s.lastMinute.seconds >= 59 ? "minute" : `${s.lastMinute.seconds} s`}`);
  if (s.queriesPerSecond !== null) rates.push(`${s.queriesPerSecond.toFixed(1)}/s over the last ${s.windowSeconds} s (measured)`);
  row("queries", rates.length ? `${rates.join(", ")} (${s.queriesTotal} since start)` : `${s.queriesTotal} since start`);
  const last = s.reloads.last ? `, last at ${s.reloads.last.at} ${s.reloads.last.ok ? "(applied)" : "(rejected)"}` : "";
  row("reloads", `${s.reloads.ok} ok, ${s.reloads.failed} failed${last}`);
  return lines.join("\n") + "\n";
}
