// Validates Kubernetes objects against the API schema of Kubernetes v1.36 (kubernetes-models, built
// from Kubernetes' OpenAPI document; the PodMonitor from the Prometheus Operator's CRD), strictly:
// besides types, enums and required fields, a field the schema does not define is a problem, as
// `kubectl apply` (strict field validation) would say. The OpenAPI schemas allow unknown fields, so
// strictness comes from watching which fields the schema's own validator reads: it reads every field
// it defines, and never one it does not.
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import { DaemonSet } from "kubernetes-models/apps/v1/DaemonSet";
import { PodMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor";

interface ModelClass { apiVersion: string; kind: string; prototype: { validate(): void } }
const MODELS: ModelClass[] = [ServiceAccount, Secret, ConfigMap, Service, DaemonSet, PodMonitor];

/** A copy of `value` whose every field, when read, is crossed off `unread`. */
function watched(value: unknown, path: string, unread: Set<string>): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v, i) => watched(v, `${path}[${i}]`, unread));
  const copy: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    copy[k] = watched(v, `${path}.${k}`, unread);
    unread.add(`${path}.${k}`);
  }
  return new Proxy(copy, {
    get(target, key, receiver) {
      if (typeof key === "string") unread.delete(`${path}.${key}`);
      return Reflect.get(target, key, receiver);
    },
  });
}

/** Every problem with `obj` ([] when it is valid). */
export function schemaProblems(obj: Record<string, unknown>): string[] {
  const model = MODELS.find((m) => m.apiVersion === obj.apiVersion && m.kind === obj.kind);
  if (!model) return [`no schema known for ${String(obj.apiVersion)} ${String(obj.kind)}`];
  const unread = new Set<string>();
  const problems: string[] = [];
  try {
    model.prototype.validate.call(watched(obj, "", unread)); // the raw validator, on our watched copy
  } catch (e) {
    problems.push((e as Error).message);
  }
  for (const p of unread) problems.push(`${p.slice(1)}: not a field of ${model.kind} in the API schema`);
  return problems;
}
