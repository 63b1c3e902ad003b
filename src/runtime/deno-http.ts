// HTTP for the Deno adapter: Deno.serve. A reload stops the admin server and starts it again on the
// same address in one turn, but Deno releases a stopped server's port only later (Bun's stop(true) at
// once), so the new bind would fail with AddrInUse. Stopping is therefore deferred by one event-loop
// turn, and a server started on the same address before then takes over the live listener with its
// own fetch function.
import type { HttpServer } from "./types";

declare const Deno: any;

type Fetch = (req: Request) => Response | Promise<Response>;
interface Live { server: any; fetch: Fetch; stopping: ReturnType<typeof setTimeout> | null }

const live = new Map<string, Live>();

function handle(key: string, entry: Live): HttpServer {
  let stopped = false;
  return {
    port: entry.server.addr.port,
    stop() {
      if (stopped || live.get(key) !== entry || entry.stopping) return;
      stopped = true;
      entry.stopping = setTimeout(() => {
        live.delete(key);
        void entry.server.shutdown();
      }, 0);
    },
  };
}

export function serveDenoHttp(hostname: string, port: number, fetch: Fetch): HttpServer {
  const key = `${hostname}|${port}`;
  const old = port === 0 ? undefined : live.get(key);
  if (old?.stopping) {
    clearTimeout(old.stopping);
    old.stopping = null;
    old.fetch = fetch;
    return handle(key, old);
  }
  const entry: Live = { server: null, fetch, stopping: null };
  // onListen replaces Deno's "Listening on ..." line, which is not a JSON log line
  // reusePort false (Deno's default, stated): a second instance must fail to bind, not share the port
  entry.server = Deno.serve({ hostname, port, reusePort: false, onListen() {} }, (req: Request) => entry.fetch(req));
  const bound = `${hostname}|${entry.server.addr.port}`;
  live.set(bound, entry);
  return handle(bound, entry);
}
