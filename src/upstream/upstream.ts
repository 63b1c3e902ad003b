// One upstream server: its transports and its health. Transport failures (timeouts, errors) and failed
// health probes count; after maxFails in a row it is marked down and probed in the background until a
// probe is answered. An error answer (SERVFAIL, REFUSED) is not a transport failure: it only starts a
// probe (CoreDNS forward semantics).
import type { Runtime } from "../runtime/types";
import { formatEndpoint, type Endpoint } from "../config/endpoint";
import type { Logger } from "../log";
import type { PendingQuery } from "./pending";
import { UdpTransport } from "./udp-transport";
import { TcpPool } from "./tcp-pool";
import { Histogram } from "../metrics/histogram";

export interface UpstreamOptions {
  maxFails: number;
  healthCheckIntervalMs: number;
  healthCheck: boolean;
  udpLingerMs: number;
  tcp: { size: number; max: number; maxAgeMs: number; maxQueries: number; idleMs: number };
}

// ". IN NS" with RD clear: any well-formed reply with our ID proves the server answers.
function probeQuery(id: number): Uint8Array {
  return Uint8Array.from([id >> 8, id & 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1]);
}

export class Upstream {
  readonly name: string;
  readonly udp: UdpTransport;
  readonly tcp: TcpPool;
  fails = 0;
  down = false;
  preferTcpProbe = false;
  private probeTimer: ReturnType<typeof setInterval> | null = null;
  private probing = false;
  readonly counters = { queries: 0, failures: 0, healthcheckFailures: 0 };
  /** Upstream round-trip time by the reply's rcode. */
  readonly durations = new Map<string, Histogram>();

  observe(rcode: string, seconds: number): void {
    let h = this.durations.get(rcode);
    if (!h) this.durations.set(rcode, (h = new Histogram()));
    h.observe(seconds);
  }
  onStateChange: (u: Upstream) => void = () => {};

  constructor(rt: Runtime, readonly endpoint: Endpoint, private readonly opts: UpstreamOptions, private readonly log: Logger) {
    this.name = formatEndpoint(endpoint);
    this.udp = new UdpTransport(rt, endpoint, opts.udpLingerMs);
    this.tcp = new TcpPool(rt, endpoint, opts.tcp);
  }

  send(tcp: boolean, query: Uint8Array, p: PendingQuery, freshConnection = false): (timedOut?: boolean) => void {
    this.counters.queries++;
    return tcp ? this.tcp.send(query, p, freshConnection) : this.udp.send(query, p, freshConnection);
  }

  allocateId(tcp: boolean): number {
    return tcp ? this.tcp.allocateId() : this.udp.allocateId();
  }

  /** A reply arrived: the transport works, whatever the rcode said. */
  reachable(): void {
    this.fails = 0;
    if (this.down) this.markUp();
  }

  /** A transport failure (timeout, connection error): counts toward maxFails. */
  failed(): void {
    this.counters.failures++;
    this.countFailure();
  }

  /** An error answer (SERVFAIL, REFUSED) says nothing about the transport: probe it, once, now. */
  checkHealth(): void {
    if (this.opts.healthCheck && !this.probing && !this.down) this.probe();
  }

  private countFailure(): void {
    this.fails++;
    if (!this.down && this.fails >= this.opts.maxFails) {
      this.down = true;
      this.log.warn("upstream marked down", { upstream: this.name, consecutiveFailures: this.fails });
      this.onStateChange(this);
      if (this.opts.healthCheck) this.startProbing();
    }
  }

  private markUp(): void {
    this.down = false;
    this.fails = 0;
    this.stopProbing();
    this.log.info("upstream back up", { upstream: this.name });
    this.onStateChange(this);
  }

  private startProbing(): void {
    if (this.probeTimer) return;
    this.probeTimer = setInterval(() => { if (!this.probing) this.probe(); }, this.opts.healthCheckIntervalMs);
  }

  private stopProbing(): void {
    if (this.probeTimer) { clearInterval(this.probeTimer); this.probeTimer = null; }
  }

  // ". IN NS": any reply with our ID proves the upstream answers (even REFUSED); no reply within the
  // interval, or a transport error, is a failed probe and counts toward maxFails.
  private probe(): void {
    const tcp = this.preferTcpProbe;
    const q = probeQuery(this.allocateId(tcp));
    this.probing = true;
    let done = false;
    const failedProbe = () => {
      done = true;
      this.probing = false;
      this.counters.healthcheckFailures++;
      this.countFailure();
    };
    const withdraw = this.send(tcp, q, {
      onReply: (msg) => {
        if (done || msg.length < 12 || (msg[2] & 0x80) === 0) return false;
        done = true;
        this.probing = false;
        clearTimeout(timer);
        this.reachable();
        return true;
      },
      onError: () => { if (!done) { clearTimeout(timer); failedProbe(); } },
    });
    this.counters.queries--; // probes are not client queries
    const timer = setTimeout(() => {
      if (!done) { withdraw(); failedProbe(); }
    }, Math.max(100, this.opts.healthCheckIntervalMs - 10));
  }

  close(): void {
    this.stopProbing();
    this.udp.close();
    this.tcp.close();
  }
}
