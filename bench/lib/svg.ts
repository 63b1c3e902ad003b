// Plain generated SVG: a grouped bar chart (groups along x, one bar per series in each group, the value
// written above each bar). No dependencies; the output is static text that renders on GitHub.

export interface Series { name: string; color: string; values: number[] }
export interface BarChart { title: string; subtitle?: string; unit: string; groups: string[]; series: Series[]; log?: boolean }

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function niceStep(max: number, ticks = 5): number {
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (raw <= m * mag) return m * mag;
  return 10 * mag;
}

function label(v: number): string {
  if (!Number.isFinite(v)) return "n/a";
  if (v === 0) return "0";
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  if (v >= 1) return v.toFixed(2);
  if (v >= 0.001 || v === 0) return v.toFixed(3);
  return v.toPrecision(2);
}

export function barChart(c: BarChart): string {
  const W = 760, H = 400, left = 64, right = 16, top = c.subtitle ? 62 : 44, bottom = 64;
  const plotW = W - left - right, plotH = H - top - bottom;
  const all = c.series.flatMap((s) => s.values).filter((v) => Number.isFinite(v) && (!c.log || v > 0));
  const max = Math.max(1e-9, ...all);
  // linear: nice steps from 0; log: whole decades around the data (bars grow from the lowest decade)
  let ticks: number[];
  let y: (v: number) => number;
  if (c.log) {
    const lo = Math.floor(Math.log10(Math.min(...all, max)) - 1e-9), hi = Math.ceil(Math.log10(max * 1.5));
    ticks = Array.from({ length: hi - lo + 1 }, (_, i) => 10 ** (lo + i));
    y = (v: number) => top + plotH - (plotH * (Math.log10(Math.max(v, 10 ** lo)) - lo)) / (hi - lo);
  } else {
    const step = niceStep(max);
    const yMax = Math.ceil((max * 1.12) / step) * step;
    ticks = Array.from({ length: Math.round(yMax / step) + 1 }, (_, i) => i * step);
    y = (v: number) => top + plotH - (plotH * Math.max(0, v)) / yMax;
  }
  const groupW = plotW / c.groups.length;
  const barW = Math.min(46, (groupW * 0.8) / c.series.length);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif">`);
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${W / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${esc(c.title)}</text>`);
  if (c.subtitle) out.push(`<text x="${W / 2}" y="44" text-anchor="middle" font-size="12" fill="#555">${esc(c.subtitle)}</text>`);
  for (const v of ticks) {
    const yy = y(v).toFixed(1);
    out.push(`<line x1="${left}" y1="${yy}" x2="${W - right}" y2="${yy}" stroke="#e3e3e3"/>`);
    out.push(`<text x="${left - 6}" y="${yy}" dy="4" text-anchor="end" font-size="11" fill="#444">${label(v)}</text>`);
  }
  out.push(`<text transform="translate(16 ${top + plotH / 2}) rotate(-90)" text-anchor="middle" font-size="12" fill="#444">${esc(c.unit + (c.log ? " (log scale)" : ""))}</text>`);
  c.groups.forEach((g, gi) => {
    const gx = left + gi * groupW + (groupW - barW * c.series.length) / 2;
    c.series.forEach((s, si) => {
      const v = s.values[gi];
      const x = gx + si * barW;
      if (Number.isFinite(v)) {
        out.push(`<rect x="${(x + 2).toFixed(1)}" y="${y(v).toFixed(1)}" width="${(barW - 4).toFixed(1)}" height="${(top + plotH - y(v)).toFixed(1)}" fill="${s.color}"><title>${esc(`${s.name} ${g}: ${label(v)} ${c.unit}`)}</title></rect>`);
      }
      out.push(`<text x="${(x + barW / 2).toFixed(1)}" y="${(y(Number.isFinite(v) ? v : 0) - 4).toFixed(1)}" text-anchor="middle" font-size="10" fill="#222">${label(v)}</text>`);
    });
    out.push(`<text x="${(left + gi * groupW + groupW / 2).toFixed(1)}" y="${top + plotH + 18}" text-anchor="middle" font-size="12">${esc(g)}</text>`);
  });
  out.push(`<line x1="${left}" y1="${top + plotH}" x2="${W - right}" y2="${top + plotH}" stroke="#444"/>`);
  // legend, centred under the axis labels
  const itemW = c.series.map((s) => 24 + s.name.length * 7);
  let lx = (W - itemW.reduce((a, b) => a + b, 0)) / 2;
  const ly = H - 18;
  c.series.forEach((s, i) => {
    out.push(`<rect x="${lx.toFixed(1)}" y="${ly - 10}" width="12" height="12" fill="${s.color}"/>`);
    out.push(`<text x="${(lx + 16).toFixed(1)}" y="${ly}" font-size="12">${esc(s.name)}</text>`);
    lx += itemW[i];
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
