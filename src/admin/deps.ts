// What the admin API reads and may call: the narrow view of a running localdns it is built from.
// The Appliance implements it; tests build it from a few real parts.
import type { EffectiveConfig, Destination } from "../config/effective";
import type { ServerMetricsView } from "../server/metrics";
import type { CacheMetricsView } from "../cache/metrics";
import type { UpstreamView } from "../upstream/metrics";
import type { LogStats } from "../log";
import type { ZoneRef } from "../cache/snapshot";
import type { RequestRate } from "../server/request-rate";

export interface Readiness { ready: boolean; reasons: string[] }

export type ReloadOutcome = { ok: true; summary: object } | { ok: false; errors: string[] };

/** Config reloads so far; `lastAt` (ms since the epoch) and `lastOk` describe the latest one. */
export interface ReloadCounts { readonly ok: number; readonly failed: number; readonly lastAt?: number | null; readonly lastOk?: boolean | null }

export interface CacheControl {
  stats(): { entries: number; negativeEntries: number; bytes: number; evictions: number };
  entriesByZone(): Int32Array;
  flushAll(): number;
  flushZone(name: string): number;
  flushName(name: string, set: number, qtype: number): number;
}

export interface AdminDeps {
  readonly config: EffectiveConfig;
  readonly version: string;
  readonly startedAt: number;
  readonly rt: { readonly name: string; readonly version: string; rss(): number };
  readonly core: CacheControl & CacheMetricsView["core"];
  readonly handler: Pick<ServerMetricsView, "stats" | "zones" | "failures"> & { allStats(): ServerMetricsView["stats"] };
  readonly upstreams: ReadonlyMap<Destination, readonly UpstreamView[]>;
  readonly listeners: ServerMetricsView["listeners"];
  readonly tcpBudget: ServerMetricsView["tcpBudget"];
  readonly log: { readonly stats: LogStats };
  readonly reloads: ReloadCounts;
  readonly zoneRefs: readonly ZoneRef[];
  readonly requestRate: Pick<RequestRate, "perSecond">;
  readiness(): Readiness;
  reloadFromSource(): Promise<ReloadOutcome>;
  /** A newer instance took the listeners over (run --takeover): drain, save the cache, exit. False
   * when this process has nothing to leave for (no FFI data path: no socket was shared). */
  leave(): boolean;
}
