// Query log lines (CoreDNS's log and errors plugins): one line per answered query when a zone logs
// every query, one per failure otherwise. The fields come from the core's parser (no second name
// walker here). Parsing through the core overwrites its per-query state, so callers on the hit path
// write the line after they are done with that state.
import type { Core } from "../core";
import type { Logger } from "../log";
import { rcodeName, typeName } from "../dns/names";

export interface Asker { query: Uint8Array; tcp: boolean; remote: string; port: number }

export class QueryLog {
  constructor(private readonly core: Core, private readonly log: Logger) {}

  /** An answer sent: `size` is the query's length as the client sent it, `ms` how long it took. */
  answered(zone: string, a: Asker, size: number, answer: Uint8Array, ms: number, stale = false): void {
    const q = this.describe(a.query);
    this.log.info("query", {
      zone, remote: a.remote, port: a.port, id: q.id, type: q.type, class: q.class, name: q.name,
      proto: a.tcp ? "tcp" : "udp", size, do: q.do, bufsize: q.bufsize,
      rcode: rcodeName(answer[3] & 0xf), rflags: answer.length >= 4 ? flagNames(answer[2], answer[3]) : "", rsize: answer.length,
      duration: round6(ms / 1000), ...(stale ? { stale: true } : {}),
    });
  }

  /** A query answered with an error of ours (SERVFAIL, REFUSED) and why. */
  failed(zone: string, a: Asker, rcode: number, reason: string, ms: number): void {
    const q = this.describe(a.query);
    this.log.error("query failed", {
      zone, remote: a.remote, port: a.port, id: q.id, type: q.type, name: q.name,
      proto: a.tcp ? "tcp" : "udp", rcode: rcodeName(rcode), reason, duration: round6(ms / 1000),
    });
  }

  private describe(query: Uint8Array) {
    const q = this.core.describe(query);
    return { ...q, type: typeName(q.qtype), class: q.qclass };
  }
}

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

function flagNames(b2: number, b3: number): string {
  const f: string[] = ["qr"];
  if (b2 & 0x04) f.push("aa");
  if (b2 & 0x02) f.push("tc");
  if (b2 & 0x01) f.push("rd");
  if (b3 & 0x80) f.push("ra");
  if (b3 & 0x20) f.push("ad");
  if (b3 & 0x10) f.push("cd");
  return f.join(",");
}
