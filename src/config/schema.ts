// The config file schema (valibot, strict: unknown keys are errors). A plain AKS localdnsconfig.json
// (mode, vnetDNSOverrides, kubeDNSOverrides) is valid as it is; our own keys sit beside it.
import * as v from "valibot";
import { CACHE_MIN_BYTES, CACHE_MAX_BYTES, MAX_UDP_WORKERS } from "./limits";
import { formatPath } from "./path";

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
      receiveBufferBytes: v.optional(int(0, 256 * 1024 * 1024)),
      workers: v.optional(int(1, MAX_UDP_WORKERS)),
    }),
  ),
});

export type ConfigFileT = v.InferOutput<typeof ConfigFile>;
export type ZoneOverrideT = v.InferOutput<typeof ZoneOverride>;

const TYPE_NAMES: Record<string, string> = { Array: "a JSON array", Object: "a JSON object", string: "a string", number: "a number", boolean: "true or false", null: "null" };
const typeNames = (expected: string) => alternatives(expected).map((t) => TYPE_NAMES[t] ?? t).join(" or ");
const alternatives = (expected: string) => expected.replace(/^\(|\)$/g, "").split(" | ");

/** One valibot issue in the words of the config file: what was expected, what was there. */
function issueText(i: v.BaseIssue<unknown>): string {
  const at = formatPath(i.path?.map((p) => p.key) ?? []);
  const got = i.received;
  const custom = !/^Invalid /.test(i.message); // a message the schema gives (cache.maxBytes)
  if (i.type === "picklist") return `${at}: expected one of ${alternatives(i.expected ?? "").join(", ")}, got ${got}`;
  if (custom) return `${at}: ${i.message}`;
  if (i.kind === "schema") return `${at}: expected ${typeNames(i.expected ?? "")}, got ${got === "Array" ? "an array" : got}`;
  if (i.type === "integer") return `${at}: expected a whole number, got ${got}`;
  if (i.type === "min_value") return `${at}: expected at least ${i.requirement}, got ${got}`;
  if (i.type === "max_value") return `${at}: expected at most ${i.requirement}, got ${got}`;
  if (i.type === "min_length" && i.path?.at(-1)?.key === "token") return `${at}: expected at least ${i.requirement} characters, got ${got}`;
  if (i.type === "min_length") return `${at}: expected at least ${i.requirement === 1 ? "one entry" : `${i.requirement} entries`}, got ${got}`;
  return `${at}: ${i.message}`;
}

type AnySchema = { type: string; kind: string; entries?: Record<string, AnySchema>; wrapped?: AnySchema; item?: AnySchema; value?: AnySchema; options?: AnySchema[]; pipe?: AnySchema[] };

/** Every key the schema does not know, at any depth (valibot's strictObject stops at the first one
 * per object; an operator fixing a file wants them all at once). */
function unknownKeys(schema: AnySchema, value: unknown, path: unknown[], out: string[]): void {
  if (value === null || typeof value !== "object") return;
  switch (schema.type) {
    case "strict_object": {
      if (Array.isArray(value)) return;
      for (const [k, x] of Object.entries(value)) {
        const entry = schema.entries![k];
        if (entry) unknownKeys(entry, x, [...path, k], out);
        else out.push(`${formatPath([...path, k])}: unknown key`);
      }
      return;
    }
    case "optional": case "nullable": return unknownKeys(schema.wrapped!, value, path, out);
    case "array": if (Array.isArray(value)) value.forEach((x, i) => unknownKeys(schema.item!, x, [...path, i], out)); return;
    case "record": if (!Array.isArray(value)) for (const [k, x] of Object.entries(value)) unknownKeys(schema.value!, x, [...path, k], out); return;
    case "union": return; // only endpoint lists and strings: no objects inside
  }
  for (const step of schema.pipe ?? []) if (step.kind === "schema" && step !== schema) unknownKeys(step, value, path, out);
}

/** Validates parsed JSON; returns the typed value or every problem as "path: message". */
export function checkConfigFile(json: unknown): { ok: true; value: ConfigFileT } | { ok: false; errors: string[] } {
  const r = v.safeParse(ConfigFile, json, { abortEarly: false });
  if (r.success) return { ok: true, value: r.output };
  const errors: string[] = [];
  unknownKeys(ConfigFile as unknown as AnySchema, json, [], errors);
  for (const i of r.issues) if (!(i.type === "strict_object" && i.expected === "never")) errors.push(issueText(i));
  return { ok: false, errors: [...new Set(errors)] };
}
