// Keeps the core's hosts overlay in step with the hosts file: read (a regular file within its cap),
// parsed, written into the core's spare overlay and switched in only when it all fits. A file that
// cannot be applied (too large, not a regular file, more than the overlay holds) leaves the running
// overlay as it was; an absent or unreadable file empties it. Re-read every 2 s.
import type { Runtime } from "../runtime/types";
import type { Core } from "../core";
import type { Logger } from "../log";
import { parseHosts, HOSTS_TTL, type HostsEntry } from "./hosts";
import { HOSTS_FILE_MAX_BYTES, HOSTS_MAX_ADDRESSES_PER_NAME, HOSTS_MAX_ANSWERS } from "../config/limits";

const REREAD_MS = 2000;

/** A hosts file read and parsed for `path` (null: no overlay), not yet in the core. */
export interface HostsLoad { path: string | null; text: string; entries: HostsEntry[]; names: number; overflow?: { line: number } | null }

export class HostsOverlay {
  private path: string | null = null;
  private text: string | null = null; // what the live overlay was built from
  private seen: string | null = null; // the last text read, applied or not (its problems are logged once)
  private rejected: { text: string | null; problem: string } | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly rt: Runtime, private readonly core: Core, private readonly log: Logger) {}

  /** Reads and parses the file (nothing in the core changes). Throws when the file must not be read. */
  read(path: string | null): HostsLoad {
    if (!path) return { path, text: "", entries: [], names: 0 };
    let text: string;
    try { text = this.rt.readTextFile(path, HOSTS_FILE_MAX_BYTES); } catch (e) {
      if ((e as { code?: string }).code === "EREFUSED") throw new Error(`hosts file ${path}: ${(e as Error).message}`);
      if (this.seen !== "") this.log.warn("hosts file unreadable; overlay empty", { path, error: (e as Error).message });
      text = "";
    }
    const h = parseHosts(text);
    if (text !== this.seen) {
      this.seen = text;
      for (const p of h.problems) this.log.warn("hosts file line ignored", { path, problem: p });
      if (h.problemCount > h.problems.length) this.log.warn("hosts file lines ignored", { path, more: h.problemCount - h.problems.length });
      if (h.dropped.addresses > 0) this.log.warn("hosts file addresses over the per-name cap dropped", { path, cap: HOSTS_MAX_ADDRESSES_PER_NAME, dropped: h.dropped.addresses, names: h.dropped.names });
    }
    return { path, text, entries: h.entries, names: h.names, overflow: h.overflow };
  }

  /** Writes a read file into the core's spare overlay. Throws when it does not fit. */
  stage(load: HostsLoad): void {
    if (load.overflow) throw new Error(`hosts file ${load.path} does not fit the overlay: more than its ${HOSTS_MAX_ANSWERS} answers (an A and an AAAA per name, a PTR per address) by line ${load.overflow.line}`);
    if (!this.core.stageHosts(load.entries, HOSTS_TTL)) throw new Error(`hosts file ${load.path} does not fit the overlay: ${load.entries.length} answers need more than its 1 MiB`);
  }

  /** stage(), or, when the file does not fit, an empty overlay (logged; the watcher keeps trying the
   * file). Returns what was staged. For start-up, where there is no running overlay to keep. */
  stageOrEmpty(load: HostsLoad): HostsLoad {
    try {
      this.stage(load);
      return load;
    } catch (e) {
      const problem = (e as Error).message;
      this.log.error("hosts file rejected; the overlay stays empty", { path: load.path, problem });
      this.rejected = { text: load.text, problem };
      const empty = { path: load.path, text: "", entries: [], names: 0 };
      this.stage(empty);
      return empty;
    }
  }

  /** Makes the staged overlay live and watches `load.path` from now on. */
  commit(load: HostsLoad): void {
    this.core.commitHosts();
    const changed = load.text !== this.text || load.path !== this.path;
    this.path = load.path;
    this.text = load.text;
    if (load.text === this.seen) this.rejected = null;
    if (changed && load.path && load.text === this.seen) this.log.info("hosts overlay loaded", { path: load.path, names: load.names });
    this.watch();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private watch(): void {
    this.stop();
    if (!this.path) return;
    this.timer = setInterval(() => this.refresh(), REREAD_MS);
  }

  private refresh(): void {
    const path = this.path;
    let load: HostsLoad | null = null;
    try {
      load = this.read(path);
      if (load.text === this.text || load.text === this.rejected?.text) return;
      this.stage(load);
      this.commit(load);
    } catch (e) {
      const problem = (e as Error).message;
      if (problem !== this.rejected?.problem) this.log.error("hosts file rejected; the running overlay stays", { path, problem });
      this.rejected = { text: load?.text ?? null, problem };
    }
  }
}
