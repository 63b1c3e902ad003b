// A JSON path as config errors print it: listeners.vnetDNS[0], vnetDNSOverrides["cluster.local"].
export function formatPath(keys: readonly unknown[]): string {
  if (keys.length === 0) return "(top level)";
  let s = "";
  for (const k of keys) {
    if (typeof k === "number") s += `[${k}]`;
    else if (typeof k === "string" && /^[A-Za-z_$][\w$]*$/.test(k)) s += s === "" ? k : `.${k}`;
    else s += `[${JSON.stringify(k)}]`;
  }
  return s;
}
