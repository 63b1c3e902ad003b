// Runs one container of a rendered pod spec on an unpacked image, inside a network namespace playing
// the node, the way the kubelet and the container runtime would (running real containers is not
// possible on these machines): the image's entrypoint with the container's args; the image's
// environment, the container's env (values, Secret keys) and the kubelet's Service variables; the
// root filesystem read-only when asked; the pod's volumes mounted (ConfigMap, hostPath, emptyDir),
// /proc, /sys and a minimal /dev, the node's resolv.conf (dnsPolicy Default); and exactly the
// capabilities of securityContext (capsh drops the rest from the bounding set, then changes to
// runAsUser). Mounts live in a private mount namespace.
import { mkdirSync, writeFileSync, existsSync, mkdtempSync } from "node:fs";
import { dirname, join } from "node:path";
import { spawnSync } from "node:child_process";
import type { Netns } from "./netns";
import type { ImageConfig } from "./oci-image";

export interface PodEnvironment {
  node: Netns;
  rootfs: string;
  image: ImageConfig;
  /** The pod spec's volumes. */
  volumes: any[];
  /** ConfigMap name -> data. */
  configMaps: Record<string, Record<string, string>>;
  /** Secret name -> data (for env valueFrom.secretKeyRef). */
  secrets: Record<string, Record<string, string>>;
  /** Where the node's filesystem (hostPath volumes) lives for this test. */
  nodeRoot: string;
  /** The node's resolv.conf content. */
  resolvConf: string;
  /** Variables the kubelet adds (Service addresses). */
  env: Record<string, string>;
  /** A directory for the volumes' contents (the test removes it). */
  scratch: string;
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const ALL_CAPS = (spawnSync("capsh", ["--print"], { encoding: "utf8" }).stdout.match(/^Bounding set =(.*)$/m)?.[1] ?? "").split(",").filter(Boolean);

/** Host paths for the pod's volumes, made the way the kubelet makes them. */
function volumePaths(env: PodEnvironment, scratch: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of env.volumes) {
    if (v.configMap) {
      const dir = join(scratch, "configmap", v.name);
      mkdirSync(dir, { recursive: true });
      for (const [k, text] of Object.entries(env.configMaps[v.configMap.name] ?? {})) writeFileSync(join(dir, k), text);
      out[v.name] = dir;
    } else if (v.hostPath) {
      const p = join(env.nodeRoot, v.hostPath.path);
      if (v.hostPath.type === "FileOrCreate") { mkdirSync(dirname(p), { recursive: true }); if (!existsSync(p)) writeFileSync(p, ""); }
      else mkdirSync(p, { recursive: true });
      out[v.name] = p;
    } else if (v.emptyDir) {
      const dir = join(scratch, "emptydir", v.name);
      mkdirSync(dir, { recursive: true, mode: 0o777 });
      out[v.name] = dir;
    } else throw new Error(`volume ${v.name}: kind not emulated`);
  }
  return out;
}

/** The sh script that sets the container's mounts up and execs it. */
function containerScript(env: PodEnvironment, c: any, scratch: string): string {
  const R = env.rootfs;
  const sc = c.securityContext ?? {};
  const paths = volumePaths(env, scratch);
  const resolv = join(scratch, "resolv.conf");
  writeFileSync(resolv, env.resolvConf);
  const lines = ["set -e"];
  // mount points, as the runtime creates them in the root filesystem before it goes read-only
  const files = new Set(["/etc/resolv.conf", ...(c.volumeMounts ?? []).filter((m: any) => env.volumes.find((v) => v.name === m.name)?.hostPath?.type === "FileOrCreate").map((m: any) => m.mountPath)]);
  for (const m of c.volumeMounts ?? []) if (!files.has(m.mountPath)) lines.push(`mkdir -p ${q(R + m.mountPath)}`);
  for (const f of files) lines.push(`mkdir -p ${q(dirname(R + f))}`, `[ -e ${q(R + f)} ] || touch ${q(R + f)}`);
  lines.push(`mount --bind ${q(R)} ${q(R)}`);
  if (sc.readOnlyRootFilesystem) lines.push(`mount -o remount,bind,ro ${q(R)}`);
  lines.push(`mount -t proc proc ${q(R + "/proc")}`, `mount -t sysfs -o ro sysfs ${q(R + "/sys")}`, `mount -t tmpfs -o mode=755,size=64k tmpfs ${q(R + "/dev")}`);
  for (const d of ["null", "zero", "full", "random", "urandom", "tty"]) lines.push(`touch ${q(`${R}/dev/${d}`)}`, `mount --bind /dev/${d} ${q(`${R}/dev/${d}`)}`);
  lines.push(`mount --bind ${q(resolv)} ${q(R + "/etc/resolv.conf")}`, `mount -o remount,bind,ro ${q(R + "/etc/resolv.conf")}`);
  for (const m of c.volumeMounts ?? []) {
    lines.push(`mount --bind ${q(paths[m.name])} ${q(R + m.mountPath)}`);
    if (m.readOnly) lines.push(`mount -o remount,bind,ro ${q(R + m.mountPath)}`);
  }
  const keep = (sc.capabilities?.add ?? []).map((x: string) => `cap_${x.toLowerCase()}`);
  const drop = ALL_CAPS.filter((x) => !keep.includes(x));
  const uid = sc.runAsUser ?? Number((env.image.User ?? "0").split(":")[0]);
  const gid = sc.runAsGroup ?? Number((env.image.User ?? "0:0").split(":")[1] ?? uid);
  const argv = [...(c.command ?? env.image.Entrypoint ?? []), ...(c.command ? c.args ?? [] : c.args ?? env.image.Cmd ?? [])];
  const own = (c.env ?? []).map((e: any) => {
    if (e.value !== undefined) return `${e.name}=${e.value}`;
    const ref = e.valueFrom?.secretKeyRef;
    const v = ref ? env.secrets[ref.name]?.[ref.key] : undefined;
    if (v === undefined) throw new Error(`env ${e.name}: not emulated or missing (${JSON.stringify(e.valueFrom)})`);
    return `${e.name}=${v}`;
  });
  const vars = [...(env.image.Env ?? []), ...Object.entries(env.env).map(([k, v]) => `${k}=${v}`), ...own];
  const user = uid === 0 ? [] : [`--gid=${gid}`, `--groups=${gid}`, `--uid=${uid}`];
  lines.push(`exec env -i ${vars.map(q).join(" ")} capsh --chroot=${q(R)} --drop=${drop.join(",")} ${user.join(" ")} --shell=${q(argv[0])} -- ${argv.slice(1).map(q).join(" ")}`);
  return lines.join("\n");
}

/** Starts the container; the returned process is the container's own process (pid = localdns). */
export function startContainer(env: PodEnvironment, container: any): ReturnType<Netns["start"]> {
  mkdirSync(env.scratch, { recursive: true });
  const scratch = mkdtempSync(join(env.scratch, `${container.name}-`));
  return env.node.start("unshare", ["--mount", "--propagation", "private", "--", "sh", "-c", containerScript(env, container, scratch)]);
}

/** Runs a container to completion (an init container); bounded. */
export function runContainer(env: PodEnvironment, container: any, timeoutMs = 30_000) {
  mkdirSync(env.scratch, { recursive: true });
  const scratch = mkdtempSync(join(env.scratch, `${container.name}-`));
  return env.node.exec("unshare", ["--mount", "--propagation", "private", "--", "sh", "-c", containerScript(env, container, scratch)], { timeoutMs });
}
