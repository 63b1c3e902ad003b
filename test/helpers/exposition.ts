// The /metrics exposition read with a real Prometheus text-format parser (prom2javascript: strict
// about sample and label syntax, keeps every sample, checks a histogram's +Inf bucket against its
// _count) and checked further as a scraper needs it: every family typed and described once, no two
// series of a family with the same labels, histogram buckets cumulative.
import { getMetricsFromIterator, type PromData, type PromHistogramData } from "prom2javascript";

export interface Sample { name: string; labels: Record<string, string>; value: number }
export interface Family { name: string; type: string; help: string; samples: Sample[] }

const key = (labels: Record<string, string> = {}) => JSON.stringify(Object.entries(labels).sort());

/** Parses and checks the whole exposition; throws naming the first problem. */
export async function readExposition(text: string): Promise<Family[]> {
  const parsed = await getMetricsFromIterator(text.split("\n")[Symbol.iterator]());
  const typeLines = text.split("\n").filter((l) => l.startsWith("# TYPE ")).length;
  // the parser folds a second TYPE line for a name into the first family
  if (typeLines !== Object.keys(parsed).length) throw new Error(`${typeLines} TYPE lines for ${Object.keys(parsed).length} families: a family is declared twice`);
  const out: Family[] = [];
  for (const [name, f] of Object.entries(parsed)) {
    if (!["counter", "gauge", "histogram"].includes(f.type)) throw new Error(`family ${name}: type ${JSON.stringify(f.type)}`);
    if (!f.help) throw new Error(`family ${name}: no HELP`);
    const samples: Sample[] = [];
    const series = new Set<string>();
    for (const m of f.data) {
      const id = key(m.labels);
      if (series.has(id)) throw new Error(`${name}${id}: the same series twice`);
      series.add(id);
      if (f.type !== "histogram") {
        samples.push({ name, labels: m.labels, value: (m as PromData).value });
        continue;
      }
      const h = m as PromHistogramData;
      const buckets = Object.entries(h.buckets);
      if (buckets.at(-1)?.[0] !== "+Inf") throw new Error(`${name}${id}: no +Inf bucket last`);
      buckets.forEach(([le, v], i) => { if (i > 0 && v < buckets[i - 1][1]) throw new Error(`${name}${id}: buckets not cumulative at le=${le}`); });
      if (h.sum === undefined) throw new Error(`${name}${id}: no _sum`);
      for (const [le, v] of buckets) samples.push({ name: `${name}_bucket`, labels: { ...h.labels, le }, value: v });
      samples.push({ name: `${name}_sum`, labels: h.labels, value: h.sum });
      samples.push({ name: `${name}_count`, labels: h.labels, value: h.count });
    }
    out.push({ name, type: f.type, help: f.help, samples });
  }
  return out;
}

export const samplesOf = (families: Family[]) => families.flatMap((f) => f.samples);

/** The one sample of `name` whose labels are exactly `labels`; undefined when there is none. */
export function valueOf(families: Family[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samplesOf(families).find((s) => s.name === name && key(s.labels) === key(labels))?.value;
}

/** The sum over every sample of `name` whose labels include `match`. */
export function sumOf(families: Family[], name: string, match: Record<string, string> = {}): number {
  return samplesOf(families).filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v)).reduce((n, s) => n + s.value, 0);
}
