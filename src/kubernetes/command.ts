// "localdns kubernetes manifest": renders the manifests to stdout, or explains what is wrong.
import type { Runtime } from "../runtime/types";
import { CONFIG_FILE_MAX_BYTES } from "../config/limits";
import type { KubernetesArgs } from "./args";
import { renderManifest } from "./manifest";

export function runKubernetesCommand(a: KubernetesArgs, rt: Runtime): number {
  let configText: string | null = null;
  if (a.config !== null) {
    try { configText = rt.readTextFile(a.config, CONFIG_FILE_MAX_BYTES); } catch (e) {
      process.stderr.write(`localdns kubernetes manifest: ${a.config}: cannot read: ${(e as Error).message}\n`);
      return 1;
    }
  }
  const r = renderManifest({ mode: a.mode, image: a.image, namespace: a.namespace, configText, podMonitor: a.podMonitor, secret: a.secret });
  if (!r.ok) {
    for (const e of r.errors) process.stderr.write(`localdns kubernetes manifest: ${a.config ? `${a.config}: ` : ""}${e}\n`);
    return 1;
  }
  process.stdout.write(r.yaml);
  return 0;
}
