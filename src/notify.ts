// systemd integration: READY=1 once listening, WATCHDOG=1 at half of WATCHDOG_USEC but only while a
// self-query of the health name succeeds on every listener, RELOADING=1 around reloads, STOPPING=1.
import type { Runtime, UdpSocket } from "./runtime/types";
import type { Logger } from "./log";
import type { Appliance } from "./appliance";

// health-check.localdns.local A, RD set; the ID is rewritten per probe
const HEALTH_QUERY = Uint8Array.from([0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0,
  12, ...[..."health-check"].map((c) => c.charCodeAt(0)), 8, ...[..."localdns"].map((c) => c.charCodeAt(0)),
  5, ...[..."local"].map((c) => c.charCodeAt(0)), 0, 0, 1, 0, 1]);

export class SystemdNotifier {
  private timer: ReturnType<typeof setInterval> | null = null;
  private probe: UdpSocket | null = null;
  private waiting = new Map<number, () => void>();
  readonly enabled: boolean;

  constructor(private readonly rt: Runtime, private readonly log: Logger) {
    this.enabled = !!rt.env("NOTIFY_SOCKET");
  }

  ready(status: string): void { this.send(`READY=1\nSTATUS=${status}\nMAINPID=${process.pid}`); }
  reloading(): void { this.send(`RELOADING=1\nMONOTONIC_USEC=${Math.floor(performance.timeOrigin * 1000 + performance.now() * 1000)}`); }
  stopping(): void { this.send("STOPPING=1"); }

  private send(state: string): void {
    if (this.enabled && !this.rt.notify(state)) this.log.warn("sd_notify failed", { state: state.split("\n")[0] });
  }

  /** Starts the watchdog when systemd asked for one (WATCHDOG_USEC, and WATCHDOG_PID is us or unset). */
  async startWatchdog(app: Appliance): Promise<void> {
    const usec = Number(this.rt.env("WATCHDOG_USEC") ?? 0);
    const pid = this.rt.env("WATCHDOG_PID");
    if (!this.enabled || !(usec > 0) || (pid && Number(pid) !== process.pid)) return;
    this.probe = await this.rt.bindUdp("0.0.0.0", 0, (_s, buf) => {
      if (buf.length >= 12) this.waiting.get((buf[0] << 8) | buf[1])?.();
    });
    const every = Math.max(100, Math.floor(usec / 2000));
    this.timer = setInterval(() => void this.check(app), every);
    this.log.info("systemd watchdog enabled", { intervalMs: every });
  }

  private async check(app: Appliance): Promise<void> {
    const results = await Promise.all(app.listeners.filter((l) => l.ep.family === 4).map((l) => this.selfQuery(l.ep.host, l.udp.port)));
    if (results.every(Boolean)) this.send("WATCHDOG=1");
    else this.log.error("watchdog self-check failed: not petting the watchdog", { failed: results.filter((r) => !r).length });
  }

  private selfQuery(host: string, port: number): Promise<boolean> {
    return new Promise((resolve) => {
      const id = Math.floor(Math.random() * 65536);
      const q = HEALTH_QUERY.slice();
      q[0] = id >> 8; q[1] = id & 0xff;
      const t = setTimeout(() => { this.waiting.delete(id); resolve(false); }, 1000);
      this.waiting.set(id, () => { clearTimeout(t); this.waiting.delete(id); resolve(true); });
      this.probe!.send(q, port, host);
    });
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.probe?.close();
  }
}
