// The config file schema (valibot, strict: unknown keys are errors). A plain AKS localdnsconfig.json
// (mode, vnetDNSOverrides, kubeDNSOverrides) is valid as it is; our own keys sit beside it.
import * as v from "valibot";
import { CACHE_MIN_BYTES, CACHE_MAX_BYTES } from "./limits";

const int = (min: number, max: number) => v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(max));
// valibot's object schemas take an array for an object with numeric keys: say no
const notArray = v.custom<unknown>((x) => !Array.isArray(x), "expected a JSON object, got an array");
const object = <E extends v.ObjectEntries>(entries: E) => v.pipe(notArray, v.strictObject(entries));
const endpointList = v.pipe(v.array(v.string()), v.minLength(1));

export const NxdomainRule = object({
  /** Names under this suffix are answered NXDOMAIN locally... */
  suffix: v.pipe(v.string(), v.minLength(1)),
  /** ...when at least this many labels stand before the suffix. */
  minLabels: v.optional(int(1, 127), 1),
});

export const ZoneOverride = object({
  queryLogging: v.optional(v.picklist(["Error", "Log"])),
  protocol: v.optional(v.picklist(["PreferUDP", "ForceTCP"])),
  forwardDestination: v.optional(v.picklist(["ClusterCoreDNS", "VnetDNS"])),
  forwardPolicy: v.optional(v.picklist(["Sequential", "RoundRobin", "Random"])),
  maxConcurrent: v.optional(int(1, 1_000_000)),
  cacheDurationInSeconds: v.optional(int(0, 604800)),
  serveStaleDurationInSeconds: v.optional(int(0, 604800)),
  serveStale: v.optional(v.picklist(["Immediate", "Verify", "Disable", "Disabled"])),
  // undocumented fields of the original, honoured
  healthCheck: v.optional(v.boolean()),
  failfastAllUnhealthyUpstreams: v.optional(v.boolean()),
  // ours
  nxdomainRules: v.optional(v.array(NxdomainRule)),
});

const Overrides = v.pipe(notArray, v.record(v.string(), ZoneOverride));

export const ConfigFile = object({
  mode: v.optional(v.picklist(["Required", "Preferred", "Disabled"])),
  vnetDNSOverrides: v.optional(Overrides),
  kubeDNSOverrides: v.optional(Overrides),
  listeners: v.optional(
    object({ vnetDNS: v.optional(v.array(v.string())), kubeDNS: v.optional(v.array(v.string())) }),
  ),
  upstreams: v.optional(
    object({
      ClusterCoreDNS: v.optional(v.union([endpointList, v.pipe(v.string(), v.minLength(1))])),
      VnetDNS: v.optional(v.union([endpointList, v.pipe(v.string(), v.minLength(1))])),
    }),
  ),
  admin: v.optional(
    object({
      listen: v.optional(v.nullable(v.string())),
      metricsListen: v.optional(v.nullable(v.string())),
      allowNonLoopback: v.optional(v.boolean()),
      token: v.optional(v.pipe(v.string(), v.minLength(16))),
      readyOnListeners: v.optional(v.boolean()),
    }),
  ),
  cache: v.optional(
    object({
      maxBytes: v.optional(v.pipe(v.number(), v.integer(),
        v.minValue(CACHE_MIN_BYTES, `at least ${CACHE_MIN_BYTES} (1 MiB)`),
        v.maxValue(CACHE_MAX_BYTES, `at most ${CACHE_MAX_BYTES} (48 MiB): a larger cache and the rest of the process do not fit MemoryMax=128M`))),
      prefetch: v.optional(v.boolean()),
      staleAnswerTtl: v.optional(int(1, 30)),
      negativeTtlWithoutSoa: v.optional(int(0, 3600)),
      failureCacheSeconds: v.optional(int(0, 300)),
      staleRecheckSeconds: v.optional(int(1, 300)),
      snapshotPath: v.optional(v.nullable(v.string())),
      hostsFile: v.optional(v.nullable(v.string())),
    }),
  ),
  forward: v.optional(
    object({
      attemptTimeoutMs: v.optional(int(50, 10000)),
      deadlineMs: v.optional(int(100, 10000)),
      maxFails: v.optional(int(1, 100)),
      healthCheckIntervalMs: v.optional(int(50, 60000)),
      tcpIdleTimeoutMs: v.optional(int(100, 600000)),
      tcpPoolSize: v.optional(int(1, 64)),
      tcpPoolMax: v.optional(int(1, 256)),
      tcpMaxAgeMs: v.optional(int(100, 3_600_000)),
      tcpMaxQueries: v.optional(int(1, 10_000_000)),
      randomizeCase: v.optional(v.boolean()),
    }),
  ),
  server: v.optional(
    object({
      maxUdpSize: v.optional(int(512, 4096)),
      tcpIdleTimeoutMs: v.optional(int(100, 600000)),
      maxTcpConnections: v.optional(int(1, 1_000_000)),
      maxTcpBufferedBytes: v.optional(int(256 * 1024, 1 << 30)),
      shutdownGraceMs: v.optional(int(0, 60000)),
    }),
  ),
});

export type ConfigFileT = v.InferOutput<typeof ConfigFile>;
export type ZoneOverrideT = v.InferOutput<typeof ZoneOverride>;

function pathText(path: readonly { key: unknown }[] | undefined): string {
  if (!path || path.length === 0) return "(top level)";
  let s = "";
  for (const p of path) {
    const k = p.key;
    if (typeof k === "number") s += `[${k}]`;
    else if (typeof k === "string" && /^[A-Za-z_$][\w$]*$/.test(k)) s += s === "" ? k : `.${k}`;
    else s += `[${JSON.stringify(k)}]`;
  }
  return s;
}

/** Validates parsed JSON; returns the typed value or every problem as "path: message". */
export function checkConfigFile(json: unknown): { ok: true; value: ConfigFileT } | { ok: false; errors: string[] } {
  const r = v.safeParse(ConfigFile, json, { abortEarly: false });
  if (r.success) return { ok: true, value: r.output };
  const errors = r.issues.map((i) => {
    if (i.type === "strict_object" && i.expected === "never") return `${pathText(i.path)}: unknown key`;
    if (i.expected === "Object") return `${pathText(i.path)}: expected a JSON object, got ${i.received}`;
    return `${pathText(i.path)}: ${i.message}`;
  });
  return { ok: false, errors: [...new Set(errors)] };
}
