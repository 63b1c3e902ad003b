// JSON-lines logging on stdout: time (RFC 3339), level, msg, then fields. journald keeps each line.
// Repeated lines of a kind (failed queries) are consolidated (log-consolidate.ts), and the writer may
// refuse a line (log-output.ts drops rather than buffers when stdout is backed up): refused lines are
// counted, and once lines go out again one line says how many were lost.
import { Consolidator, DEFAULT_INTERVAL_MS, DEFAULT_RULES, type ConsolidateRule } from "./log-consolidate";

export type Level = "debug" | "info" | "warn" | "error";
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LogStats {
  /** Lines logged, written or not (each leaves garbage behind: see Appliance's memory keeper). */
  lines: number;
  /** Lines the writer refused (stdout backed up). */
  dropped: number;
  /** Lines counted into a consolidated summary instead of being written. */
  readonly consolidated: number;
}

export interface Logger {
  log(level: Level, msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
  readonly stats: LogStats;
}

/** Takes one line; returns false when it dropped it. */
export type LineWriter = (line: string) => boolean | void;

export interface LoggerOptions {
  consolidate?: ConsolidateRule[];
  intervalMs?: number;
  /** Milliseconds since the epoch (tests inject a clock). */
  now?: () => number;
  /** How the consolidator's end-of-interval check is scheduled (tests run it by hand). */
  schedule?: (fn: () => void, ms: number) => unknown;
  /** True while the writer would refuse any line: lines are then counted as dropped unformatted. */
  full?: () => boolean;
}

export function createLogger(write: LineWriter = (l) => { process.stdout.write(l); }, min: Level = "info", o: LoggerOptions = {}): Logger {
  const now = o.now ?? Date.now;
  let unreported = 0; // dropped lines not yet reported
  const full = o.full ?? (() => false);
  const out = (level: Level, msg: string, fields?: Record<string, unknown>): boolean => {
    if (full()) return false;
    const rec: Record<string, unknown> = { time: new Date(now()).toISOString(), level, msg };
    if (fields) for (const k in fields) rec[k] = fields[k];
    return write(JSON.stringify(rec) + "\n") !== false;
  };
  const emit = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (unreported > 0 && out("warn", "log lines dropped: stdout was not taking them", { dropped: unreported })) unreported = 0;
    if (!out(level, msg, fields)) { stats.dropped++; unreported++; }
  };
  const consolidator = new Consolidator(o.consolidate ?? DEFAULT_RULES, o.intervalMs ?? DEFAULT_INTERVAL_MS, now, emit, o.schedule);
  const stats: LogStats = { lines: 0, dropped: 0, get consolidated() { return consolidator.consolidated; } };
  const log = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < ORDER[min]) return;
    stats.lines++;
    if (consolidator.admit(level, msg, fields)) emit(level, msg, fields);
  };
  return {
    log,
    info: (m, f) => log("info", m, f),
    warn: (m, f) => log("warn", m, f),
    error: (m, f) => log("error", m, f),
    debug: (m, f) => log("debug", m, f),
    stats,
  };
}

export const silentLogger: Logger = createLogger(() => {}, "error", { consolidate: [] });
