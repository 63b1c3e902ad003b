// deploy/grafana/localdns.json: every PromQL expression parses (Prometheus's own lezer grammar), and
// every metric it charts, and every label it groups or matches by, is in a running localdns's
// exposition (read with the real parser).
import { test, expect, beforeAll, afterAll } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parser } from "@prometheus-io/lezer-promql";
import { startFakeUpstream, type FakeUpstream } from "./helpers/fake-upstream";
import { startInProcess, type Started } from "./helpers/appliance";
import { query } from "./helpers/dns";
import { readExposition, type Family } from "./helpers/exposition";

const dashboard = JSON.parse(readFileSync(join(import.meta.dir, "../deploy/grafana/localdns.json"), "utf8"));
// Grafana fills these in before the query reaches Prometheus; the labels Prometheus adds on scrape
const GRAFANA_VARIABLES: [string, string][] = [["$__rate_interval", "1m"], ["$instance", ".*"]];
const SCRAPE_LABELS = new Set(["instance", "job"]);

const exprs: { panel: string; expr: string }[] = dashboard.panels.flatMap((p: any) => p.targets.map((t: any) => ({ panel: p.title, expr: t.expr })));

interface Use { metrics: string[]; labels: string[]; errors: string[] }

/** The metric names and label names an expression uses, and the text of any syntax errors. */
function uses(expr: string): Use {
  let text = expr;
  for (const [v, value] of GRAFANA_VARIABLES) text = text.split(v).join(value);
  const out: Use = { metrics: [], labels: [], errors: [] };
  const c = parser.parse(text).cursor();
  do {
    const slice = text.slice(c.from, c.to);
    if (c.type.isError) out.errors.push(`at ${c.from}: ${JSON.stringify(slice)}`);
    else if (c.type.name === "Identifier" && c.node.parent?.type.name === "VectorSelector") out.metrics.push(slice);
    else if (c.type.name === "LabelName") out.labels.push(slice);
  } while (c.next());
  return out;
}

let up: FakeUpstream;
let s: Started;
let families: Family[];
beforeAll(async () => {
  up = await startFakeUpstream("127.0.0.3");
  s = await startInProcess({ upstreams: { ClusterCoreDNS: [`${up.host}:${up.port}`], VnetDNS: [`${up.host}:${up.port}`] } });
  // traffic of every kind, so histograms by rcode and every family have series
  await query(s.vnet.host, s.vnet.port, "dash.example.org");
  await query(s.vnet.host, s.vnet.port, "dash.example.org");
  families = await readExposition(await (await s.app.adminApp.request("/metrics")).text());
});
afterAll(async () => { await s?.stop(); await up?.stop(); });

const seriesNames = () => new Map(families.flatMap((f) => f.samples.map((x) => [x.name, f] as const)));

test("the dashboard has panels for requests, rcodes, latency, cache, upstreams and the process", () => {
  expect(dashboard.panels.map((p: any) => p.title)).toEqual([
    "Requests per second", "Responses by rcode", "Request latency", "Cache hit ratio", "Cache entries and memory",
    "Upstream health", "Upstream latency (p99) and rate", "Memory, CPU, file descriptors",
  ]);
  expect(exprs.length).toBe(19);
});

test("every expression parses as PromQL", () => {
  for (const { panel, expr } of exprs) expect({ panel, expr, errors: uses(expr).errors }).toEqual({ panel, expr, errors: [] });
});

test("every metric an expression charts is emitted", () => {
  const emitted = seriesNames();
  for (const { panel, expr } of exprs) {
    const u = uses(expr);
    expect(u.metrics.length).toBeGreaterThan(0);
    expect({ panel, missing: u.metrics.filter((m) => !emitted.has(m)) }).toEqual({ panel, missing: [] });
  }
});

test("every label an expression groups or matches by is on a metric it uses", () => {
  const emitted = seriesNames();
  for (const { panel, expr } of exprs) {
    const u = uses(expr);
    const labels = new Set(u.metrics.flatMap((m) => emitted.get(m)!.samples.filter((x) => x.name === m).flatMap((x) => Object.keys(x.labels))));
    const missing = u.labels.filter((l) => !SCRAPE_LABELS.has(l) && !labels.has(l));
    expect({ panel, expr, missing }).toEqual({ panel, expr, missing: [] });
  }
});

test("the node variable reads a metric that is emitted", () => {
  const v = dashboard.templating.list.find((x: any) => x.name === "instance");
  expect(v.definition).toBe("label_values(localdns_build_info, instance)");
  expect(seriesNames().has("localdns_build_info")).toBe(true);
});
