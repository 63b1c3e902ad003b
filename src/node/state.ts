// The record of what the node set-up changed, kept in /run (gone after a reboot, like the changes).
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { NodeAddress } from "./targets";

export interface NetworkState { device: string | null; addresses: NodeAddress[]; dropIns: string[] }

export const EMPTY_STATE: NetworkState = { device: null, addresses: [], dropIns: [] };

export function readState(path: string): NetworkState {
  try {
    const s = JSON.parse(readFileSync(path, "utf8"));
    return {
      device: typeof s.device === "string" ? s.device : null,
      addresses: Array.isArray(s.addresses) ? s.addresses.filter((a: any) => typeof a?.host === "string" && (a.family === 4 || a.family === 6)) : [],
      dropIns: Array.isArray(s.dropIns) ? s.dropIns.filter((p: unknown) => typeof p === "string") : [],
    };
  } catch {
    return { ...EMPTY_STATE };
  }
}

export function writeState(path: string, state: NetworkState): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(state) + "\n", { mode: 0o644 });
  renameSync(tmp, path);
}

export function removeState(path: string): void {
  rmSync(path, { force: true });
}

export function mergeAddresses(a: NodeAddress[], b: NodeAddress[]): NodeAddress[] {
  const out = [...a];
  for (const x of b) if (!out.some((o) => o.host === x.host)) out.push(x);
  return out;
}
