// The process's families (Prometheus's process collector names, which CoreDNS dashboards chart) and
// localdns's own: build, config reloads, logging.
import type { Exposition } from "../metrics/exposition";
import { readProcessStats } from "../runtime/process-stats";
import type { AdminDeps } from "./deps";

export function renderProcessMetrics(o: Exposition, d: Pick<AdminDeps, "rt" | "version" | "reloads" | "log">): void {
  o.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
  o.sample("process_resident_memory_bytes", {}, d.rt.rss());
  const p = readProcessStats();
  o.family("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
  o.sample("process_cpu_seconds_total", {}, p.cpuSeconds);
  o.family("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
  o.sample("process_start_time_seconds", {}, p.startTimeSeconds);
  if (p.openFds !== null && p.maxFds !== null) {
    o.family("process_open_fds", "gauge", "Number of open file descriptors.");
    o.sample("process_open_fds", {}, p.openFds);
    o.family("process_max_fds", "gauge", "Maximum number of open file descriptors (-1: unlimited).");
    o.sample("process_max_fds", {}, p.maxFds);
  }
  o.family("localdns_build_info", "gauge", "Build information.");
  o.sample("localdns_build_info", { version: d.version, runtime: `${d.rt.name} ${d.rt.version}` }, 1);
  o.family("localdns_config_reloads_total", "counter", "Config reloads by result.");
  o.sample("localdns_config_reloads_total", { result: "success" }, d.reloads.ok);
  o.sample("localdns_config_reloads_total", { result: "failure" }, d.reloads.failed);
  o.family("localdns_log_lines_dropped_total", "counter", "Log lines dropped because stdout was not taking them (journald slow, a stuck pipe).");
  o.sample("localdns_log_lines_dropped_total", {}, d.log.stats.dropped);
  o.family("localdns_log_lines_consolidated_total", "counter", "Repeated log lines (failed queries) counted into a per-interval summary line instead of being written.");
  o.sample("localdns_log_lines_consolidated_total", {}, d.log.stats.consolidated);
}
