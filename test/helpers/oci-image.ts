// Reads an OCI image archive (what `npm run image` writes) the way a container runtime does: index ->
// manifest -> config and layers, each layer unpacked in order into a root filesystem, file
// capabilities (security.capability xattrs) included.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface ImageConfig {
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  User?: string;
  WorkingDir?: string;
  Labels?: Record<string, string>;
}

export interface UnpackedImage { rootfs: string; config: ImageConfig; refName: string | undefined; layers: string[] }

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr || r.error}`);
  return r.stdout;
}

export function unpackImage(archive: string, dir: string): UnpackedImage {
  const layout = join(dir, "layout");
  const rootfs = join(dir, "rootfs");
  mkdirSync(layout, { recursive: true });
  mkdirSync(rootfs, { recursive: true });
  sh("tar", ["-xf", archive, "-C", layout]);
  const blob = (digest: string) => join(layout, "blobs", ...digest.split(":"));
  const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8"));
  const entry = index.manifests[0];
  const manifest = JSON.parse(readFileSync(blob(entry.digest), "utf8"));
  const config = JSON.parse(readFileSync(blob(manifest.config.digest), "utf8")).config as ImageConfig;
  const layers: string[] = [];
  for (const layer of manifest.layers) {
    const gz = String(layer.mediaType).endsWith("+gzip");
    sh("tar", ["--xattrs", "--xattrs-include=security.capability", "--numeric-owner", "-xpf", blob(layer.digest), ...(gz ? ["-z"] : []), "-C", rootfs]);
    layers.push(layer.mediaType);
  }
  return { rootfs, config, refName: entry.annotations?.["org.opencontainers.image.ref.name"], layers };
}
