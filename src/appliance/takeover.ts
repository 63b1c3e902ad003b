// The newer instance's side of a takeover (run --takeover), once it has joined the running instance's
// UDP listeners and steers every new datagram to itself (src/net/takeover.ts) and listens beside it on
// TCP: ask the running one to leave through its admin API (the same config, so the same address and
// token), and wait until it has let go of the listeners and the admin port.
import { formatEndpoint, type Endpoint } from "../config/endpoint";
import { LISTENER_SETS, type EffectiveConfig } from "../config/effective";
import { listenersHeldElsewhere } from "../net/listener-holders";
import type { Logger } from "../log";

const ASK_TIMEOUT_MS = 3000;
const POLL_MS = 50;

/** Resolves once the running instance is gone (or could not be asked: then both serve until it stops). */
export async function evictRunning(c: EffectiveConfig, ownSockets: number, log: Logger): Promise<void> {
  const admin = c.admin.listen;
  if (!admin) { log.warn("takeover: no admin.listen to ask the running localdns to leave; it keeps its share until it stops"); return; }
  const url = `http://${admin.family === 6 ? `[${admin.host}]` : admin.host}:${admin.port}/leave`;
  try {
    const headers: Record<string, string> = c.admin.token ? { authorization: `Bearer ${c.admin.token}` } : {};
    const r = await fetch(url, { method: "POST", headers, signal: AbortSignal.timeout(ASK_TIMEOUT_MS) });
    if (r.status !== 202) { log.warn("takeover: the running localdns refused to leave", { status: r.status, body: (await r.text()).slice(0, 200) }); return; }
  } catch (e) {
    log.warn("takeover: the running localdns could not be asked to leave", { url, error: (e as Error).message });
    return;
  }
  // it drains, waits for its upstream answers (at most its shutdownGraceMs), saves the cache, exits
  const until = Date.now() + c.server.shutdownGraceMs + 15_000;
  const listeners: Endpoint[] = LISTENER_SETS.flatMap((s) => c.listeners[s]).filter((e) => e.port !== 0);
  while (Date.now() < until) {
    if (listenersHeldElsewhere(c, ownSockets).length === 0 && await portFree(admin)) { log.info("takeover: the running localdns has left"); return; }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  log.warn("takeover: the running localdns has not left in time; serving beside it", { listeners: listeners.map(formatEndpoint) });
}

async function portFree(ep: Endpoint): Promise<boolean> {
  try {
    await fetch(`http://${ep.family === 6 ? `[${ep.host}]` : ep.host}:${ep.port}/health`, { signal: AbortSignal.timeout(500) });
    return false;
  } catch { return true; }
}
