// The admin HTTP servers (admin, metrics, /ready on the listener addresses) as one set keyed by their
// configured address. A change binds what is new before anything else moves and stops what went only
// when it is committed; an address kept keeps its socket and only swaps its handler, so a reload never
// drops the admin port or races to bind it again. Every bind is exclusive: a second instance on the
// same port fails, naming the listener.
import type { Runtime, HttpServer } from "../runtime/types";

type Fetch = (req: Request) => Response | Promise<Response>;

/** One server a config asks for; `what` names it in errors ("admin.listen", "ready on 169.254.10.10"). */
export interface HttpWant { what: string; host: string; port: number; fetch: Fetch }

interface Live { server: HttpServer; fetch: Fetch }

export interface HttpChange { commit(): void; rollback(): void }

const address = (w: { host: string; port: number }) => (w.host.includes(":") ? `[${w.host}]:${w.port}` : `${w.host}:${w.port}`);
// port 0 (tests) asks for a fresh port each time: such servers are told apart by what they serve
const keyOf = (w: HttpWant) => (w.port === 0 ? `${w.what}|${address(w)}` : address(w));

export class HttpServers {
  private readonly live = new Map<string, Live>();

  constructor(private readonly rt: Runtime) {}

  /** Binds every wanted address not served yet. Throws, with nothing left bound, naming the listener
   * that failed. */
  prepare(wanted: HttpWant[]): HttpChange {
    const added = new Map<string, Live>();
    const undo = () => { for (const a of added.values()) void a.server.stop(); };
    for (const w of wanted) {
      const k = keyOf(w);
      if (this.live.has(k) || added.has(k)) continue;
      const entry: Live = { server: null as unknown as HttpServer, fetch: w.fetch };
      try {
        entry.server = this.rt.serveHttp(w.host, w.port, (req) => entry.fetch(req));
      } catch (e) {
        undo();
        const inUse = /EADDRINUSE|AddrInUse|in use/i.test(`${(e as { code?: string }).code} ${(e as Error).message}`);
        throw new Error(`${w.what} ${address(w)}: cannot listen: ${inUse ? "address already in use (is another localdns running?)" : (e as Error).message}`);
      }
      added.set(k, entry);
    }
    return {
      commit: () => {
        const keep = new Set(wanted.map(keyOf));
        for (const [k, l] of this.live) if (!keep.has(k)) { void l.server.stop(); this.live.delete(k); }
        for (const [k, a] of added) this.live.set(k, a);
        for (const w of wanted) this.live.get(keyOf(w))!.fetch = w.fetch;
      },
      rollback: undo,
    };
  }

  stopAll(): void {
    for (const l of this.live.values()) void l.server.stop();
    this.live.clear();
  }
}
