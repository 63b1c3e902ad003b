// The config the restart tests (socket activation, takeover) run the binary with: both listeners on
// loopback, one fake upstream, a snapshot in `dir`, an admin listener when asked for, and `workers`
// UDP loop threads.
import { writeFileSync } from "node:fs";
import { join } from "node:path";

export function writeRestartConfig(dir: string, port: number, upstreamPort: number, adminPort: number | null, workers = 1): string {
  const path = join(dir, "localdns.json");
  writeFileSync(path, JSON.stringify({
    mode: "Required",
    listeners: { vnetDNS: [`127.0.0.1:${port}`], kubeDNS: [`127.0.0.1:${port + 1}`] },
    upstreams: { VnetDNS: [`127.0.0.3:${upstreamPort}`], ClusterCoreDNS: [`127.0.0.3:${upstreamPort}`] },
    admin: { listen: adminPort === null ? null : `127.0.0.1:${adminPort}` },
    cache: { snapshotPath: join(dir, "cache.snapshot") },
    server: { workers },
  }));
  return path;
}
