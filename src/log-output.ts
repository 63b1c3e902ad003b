// The log's way to stdout: never blocks the event loop and never buffers without bound. Lines go to the
// runtime's non-blocking stdout writer; while more than maxPendingBytes are written but not yet taken by
// the OS (journald slow, a pipe nobody reads), new lines are refused (the logger counts them) instead of
// piling up in memory until the process is OOM-killed.
import type { Runtime } from "./runtime/types";

export const DEFAULT_MAX_PENDING_BYTES = 1 << 20; // ~3,000 lines: rides out a short journald stall
const MIN_LINE = 64; // octets of the shortest line the logger writes (time, level and a short msg)

export class LogOutput {
  /** Octets handed to the runtime and not yet written. */
  pending = 0;
  private readonly encoder = new TextEncoder();

  constructor(private readonly writeStdout: Runtime["writeStdout"], readonly maxPendingBytes = DEFAULT_MAX_PENDING_BYTES) {}

  /** Whether even the shortest line would be refused now. */
  get full(): boolean { return this.pending + MIN_LINE > this.maxPendingBytes; }

  /** Returns false (and writes nothing) when stdout is backed up. */
  write(line: string): boolean {
    if (this.pending + line.length > this.maxPendingBytes) return false; // octets ≥ characters
    const data = this.encoder.encode(line);
    if (this.pending + data.length > this.maxPendingBytes) return false;
    this.pending += data.length;
    this.writeStdout(data, () => { this.pending -= data.length; });
    return true;
  }

  /** Resolves once every line is written, or after ms (before exit: Deno's writes are asynchronous). */
  async drain(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (this.pending > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
  }
}
