// Runs dnsperf (1 thread, pinned to the load CPU, always bounded by -l or -n and by `timeout`) and
// parses its summary and, with -v, its per-query latencies.
declare const Bun: any;

export interface DnsperfResult {
  sent: number; completed: number; lost: number; qps: number; runtime: number;
  avgMs: number; maxMs: number; rcodes: Record<string, number>;
  latMs: Float64Array | null; // sorted per-query latencies (ms), with -v
  raw: string; // the output without the -v lines
  loadCpuS: number; // CPU seconds dnsperf itself used
}

export interface DnsperfOpts {
  server: string; port: number; file: string; cpu: string;
  durationS?: number; // -l
  runs?: number; // -n (passes through the file)
  qps?: number; // -Q
  outstanding?: number; // -q
  clients?: number; // -c
  verbose?: boolean; // -v
  timeoutS?: number; // per-query timeout (-t)
}

export async function dnsperf(o: DnsperfOpts): Promise<DnsperfResult> {
  const args = ["dnsperf", "-s", o.server, "-p", String(o.port), "-d", o.file, "-T", "1", "-c", String(o.clients ?? 10)];
  if (o.durationS) args.push("-l", String(o.durationS));
  if (o.runs) args.push("-n", String(o.runs));
  if (!o.durationS && !o.runs) throw new Error("dnsperf must be bounded by -l or -n");
  if (o.qps) args.push("-Q", String(o.qps));
  args.push("-q", String(o.outstanding ?? 100));
  args.push("-t", String(o.timeoutS ?? 2));
  if (o.verbose) args.push("-v");
  // bound: the run's own limit plus a margin; -n runs are bounded by size/rate (callers keep them short)
  const limit = Math.ceil((o.durationS ?? 60) + 30);
  const p = Bun.spawn(["timeout", "-k", "5", String(limit), "taskset", "-c", o.cpu, ...args], { stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  const code = await p.exited;
  if (code !== 0) throw new Error(`dnsperf exited ${code}: ${err.slice(0, 500)}${out.slice(-500)}`);
  const r = parse(out, !!o.verbose);
  const ru = p.resourceUsage?.();
  r.loadCpuS = ru ? Number(ru.cpuTime.total) / 1e6 : NaN; // timeout's rusage includes dnsperf, its reaped child
  return r;
}

function num(text: string, re: RegExp): number {
  const m = text.match(re);
  return m ? Number(m[1]) : NaN;
}

export function parse(out: string, verbose: boolean): DnsperfResult {
  let lat: Float64Array | null = null;
  let summary = out;
  if (verbose) {
    const vals: number[] = [];
    const keep: string[] = [];
    for (const line of out.split("\n")) {
      if (line.startsWith("> ")) {
        const v = Number(line.slice(line.lastIndexOf(" ") + 1));
        if (Number.isFinite(v)) vals.push(v * 1000);
      } else keep.push(line);
    }
    lat = Float64Array.from(vals).sort();
    summary = keep.join("\n");
  }
  const rcodes: Record<string, number> = {};
  const rc = summary.match(/Response codes:\s+(.*)/);
  if (rc) for (const m of rc[1].matchAll(/([A-Z]+) (\d+)/g)) rcodes[m[1]] = Number(m[2]);
  return {
    sent: num(summary, /Queries sent:\s+(\d+)/),
    completed: num(summary, /Queries completed:\s+(\d+)/),
    lost: num(summary, /Queries lost:\s+(\d+)/),
    qps: num(summary, /Queries per second:\s+([\d.]+)/),
    runtime: num(summary, /Run time \(s\):\s+([\d.]+)/),
    avgMs: num(summary, /Average Latency \(s\):\s+([\d.]+)/) * 1000,
    maxMs: num(summary, /max ([\d.]+)\)/) * 1000,
    rcodes, latMs: lat, raw: summary, loadCpuS: NaN,
  };
}

/** Nearest-rank percentile of a sorted array. */
export function pct(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

export function median(xs: number[]): number {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}
