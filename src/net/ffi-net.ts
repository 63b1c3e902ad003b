// The one call the appliance makes at start: may this process serve UDP through FFI-owned sockets?
// Platform check, libc opened for this thread, self-test. Not ok means: serve through the runtime's
// UDP sockets, and log the reason.
import { openLibcNet, type LibcNet } from "./libc-net";
import type { NetLayout } from "./layout";
import { decideFfi, platformFacts } from "./platform";
import { selfTest } from "./self-test";

export type FfiNet = { readonly ok: true; readonly lib: LibcNet; readonly layout: NetLayout } | { readonly ok: false; readonly reason: string };

export async function openFfiNet(env: (name: string) => string | undefined, args: readonly string[]): Promise<FfiNet> {
  const decision = decideFfi(platformFacts(env, args));
  if (!decision.ok) return decision;
  let lib: LibcNet;
  try { lib = await openLibcNet(); } catch (e) { return { ok: false, reason: `libc: ${e instanceof Error ? e.message : String(e)}` }; }
  const test = selfTest(lib, decision.layout);
  if (!test.ok) return { ok: false, reason: `self-test: ${test.reason}` };
  return { ok: true, lib, layout: decision.layout };
}
