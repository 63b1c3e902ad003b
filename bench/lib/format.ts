// Number formatting and medians for the benchmark report ("–" for a figure that was not measured).
import { median } from "./dnsperf";

export const med = <R>(runs: R[] | undefined, k: keyof R) => median((runs ?? []).map((r) => r[k] as number));
export const sum = <R>(runs: R[] | undefined, k: keyof R) => (runs ?? []).reduce((n, r) => n + ((r[k] as number) || 0), 0);
export const fx = (x: number, d: number) => (Number.isFinite(x) ? x.toFixed(d) : "–");
export const ms = (x: number) => fx(x, 3);
export const int = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "–");
export const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : "–");
export const mib = (kib: number) => fx(kib / 1024, 1);
