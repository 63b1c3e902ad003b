// Starts the runtime in-process (fast) with a config built from overrides; ports are ephemeral.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Appliance } from "../../src/appliance";
import { bunRuntime } from "../../src/runtime/bun";
import { buildConfig } from "../../src/config/effective";
import { createLogger, silentLogger, type Logger } from "../../src/log";
import type { Clock } from "../../src/clock";

const wasm = new Uint8Array(readFileSync(join(import.meta.dir, "../../build/core.wasm")));

export interface Started { app: Appliance; vnet: { host: string; port: number }; kube: { host: string; port: number }; stop(): Promise<void>; logs: any[] }

export async function startInProcess(file: Record<string, unknown>, opts: { clock?: Clock; log?: boolean } = {}): Promise<Started> {
  const json = {
    mode: "Required",
    listeners: { vnetDNS: ["127.0.0.1:0"], kubeDNS: ["127.0.0.1:0"] },
    admin: { listen: null },
    ...file,
    cache: { snapshotPath: null, ...(file.cache as object | undefined) },
  };
  const r = buildConfig(json, (p, max) => bunRuntime.readTextFile(p, max));
  if (!r.ok) throw new Error(r.errors.join("\n"));
  const logs: any[] = [];
  const log: Logger = opts.log === false ? silentLogger : createLogger((l) => { logs.push(JSON.parse(l)); }, "debug");
  const app = await Appliance.start({ runtime: bunRuntime, config: r.config, log, clock: opts.clock, wasm });
  const v = app.listeners.find((l) => l.set === 0)!;
  const k = app.listeners.find((l) => l.set === 1)!;
  return {
    app, logs,
    vnet: { host: v.ep.host, port: v.udp.port },
    kube: { host: k.ep.host, port: k.udp.port },
    stop: () => app.stop(200),
  };
}
