// "localdns kubernetes manifest": renders the manifests to stdout, or explains what is wrong.
import type { Runtime } from "../runtime/types";
import type { KubernetesArgs } from "./args";
import { renderManifest } from "./manifest";

export function runKubernetesCommand(a: KubernetesArgs, rt: Runtime): number {
  let configText: string | null = null;
  if (a.config !== null) {
    try { configText = rt.readTextFile(a.config); } catch (e) {
      process.stderr.write(`localdns kubernetes manifest: ${a.config}: cannot read: ${(e as Error).message}\n`);
      return 1;
    }
  }
  const r = renderManifest({ mode: a.mode, image: a.image, namespace: a.namespace, configText, podMonitor: a.podMonitor });
  if (!r.ok) {
    for (const e of r.errors) process.stderr.write(`localdns kubernetes manifest: ${a.config ? `${a.config}: ` : ""}${e}\n`);
    return 1;
  }
  process.stdout.write(r.yaml);
  return 0;
}
