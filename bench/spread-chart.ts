// Draws the CoreDNS-pod distribution measured by test/pod-spread.test.ts as a stacked bar chart (SVG).
// Usage: SPREAD_OUT=/tmp/spread.json bun test test/pod-spread.test.ts && bun bench/spread-chart.ts /tmp/spread.json bench/charts/pod-spread.svg
import { readFileSync, writeFileSync } from "node:fs";

const [input, output] = process.argv.slice(2);
const data: Record<string, number[]> = JSON.parse(readFileSync(input, "utf8"));
const rows = Object.entries(data);
const W = 720, barH = 34, gap = 18, left = 270, top = 46, width = W - left - 30;
const H = top + rows.length * (barH + gap) + 40;
const colours = ["#3b82f6", "#f59e0b", "#10b981"];
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="13">
<rect width="100%" height="100%" fill="white"/>
<text x="${W / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">Share of upstream queries per CoreDNS pod (kube-proxy DNAT, 2 pods)</text>\n`;
rows.forEach(([label, shares], i) => {
  const y = top + i * (barH + gap);
  svg += `<text x="${left - 10}" y="${y + barH / 2 + 4}" text-anchor="end">${esc(label)}</text>\n`;
  let x = left;
  shares.forEach((p, k) => {
    const w = (width * p) / 100;
    svg += `<rect x="${x}" y="${y}" width="${w}" height="${barH}" fill="${colours[k % 3]}"/>\n`;
    if (w > 40) svg += `<text x="${x + w / 2}" y="${y + barH / 2 + 4}" text-anchor="middle" fill="white">${p.toFixed(1)} %</text>\n`;
    x += w;
  });
});
const ly = H - 22;
["pod A", "pod B"].forEach((n, k) => { svg += `<rect x="${left + k * 90}" y="${ly - 10}" width="12" height="12" fill="${colours[k]}"/><text x="${left + k * 90 + 18}" y="${ly}">${n}</text>\n`; });
svg += "</svg>\n";
writeFileSync(output, svg);
console.log(`wrote ${output}`);
