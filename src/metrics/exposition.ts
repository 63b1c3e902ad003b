// A writer for the Prometheus text exposition (version 0.0.4). Each component renders its own
// families into one of these (CoreDNS keeps a metrics.go per plugin); the admin API only assembles.
export type Labels = Record<string, string | number>;
export type MetricType = "counter" | "gauge" | "histogram";

/** What a histogram family needs: cumulative-able bucket counts (one more than `bounds`, the last
 * being +Inf) and the sum of observations. */
export interface HistogramData { readonly counts: ArrayLike<number>; readonly sum: number }

const escapeLabel = (v: string | number) => String(v).replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
const escapeHelp = (s: string) => s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
const labelText = (l: Labels) => {
  const s = Object.entries(l).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",");
  return s ? `{${s}}` : "";
};
const valueText = (v: number) => (Number.isFinite(v) ? String(v) : "0");

export class Exposition {
  private readonly lines: string[] = [];
  private readonly families = new Set<string>();

  /** Starts a family; a name given twice is a bug in the caller (two families of one name are
   * invalid exposition), so it throws. */
  family(name: string, type: MetricType, help: string): this {
    if (this.families.has(name)) throw new Error(`metric family ${name} rendered twice`);
    this.families.add(name);
    this.lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    return this;
  }

  sample(name: string, labels: Labels, value: number): this {
    this.lines.push(`${name}${labelText(labels)} ${valueText(value)}`);
    return this;
  }

  histogram(name: string, labels: Labels, h: HistogramData, bounds: readonly number[]): this {
    let cum = 0;
    bounds.forEach((b, i) => { cum += h.counts[i]; this.sample(`${name}_bucket`, { ...labels, le: b }, cum); });
    cum += h.counts[bounds.length];
    this.sample(`${name}_bucket`, { ...labels, le: "+Inf" }, cum);
    this.sample(`${name}_sum`, labels, h.sum);
    this.sample(`${name}_count`, labels, cum);
    return this;
  }

  text(): string { return this.lines.join("\n") + "\n"; }
}
