// kube-proxy's iptables-mode rules for a ClusterIP Service, written into a network namespace: the
// Service address DNATed to its endpoints, picked at random (-m statistic), for traffic arriving
// (PREROUTING) and leaving the node itself (OUTPUT).
import type { Netns } from "./netns";

function ipt(ns: Netns, args: string[]): void {
  const r = ns.exec("iptables", ["-w", "5", "-t", "nat", ...args]);
  if (r.status !== 0) throw new Error(`iptables -t nat ${args.join(" ")}: ${r.stderr}`);
}

export function addClusterIPService(ns: Netns, name: string, serviceIP: string, port: number, endpoints: string[]): void {
  if (ns.exec("iptables", ["-w", "5", "-t", "nat", "-S", "KUBE-SERVICES"]).status !== 0) {
    ipt(ns, ["-N", "KUBE-SERVICES"]);
    for (const chain of ["PREROUTING", "OUTPUT"]) ipt(ns, ["-A", chain, "-m", "comment", "--comment", "kubernetes service portals", "-j", "KUBE-SERVICES"]);
  }
  for (const proto of ["udp", "tcp"]) {
    const svc = `KUBE-SVC-${name}-${proto}`.toUpperCase();
    ipt(ns, ["-N", svc]);
    ipt(ns, ["-A", "KUBE-SERVICES", "-d", `${serviceIP}/32`, "-p", proto, "-m", proto, "--dport", String(port), "-j", svc]);
    endpoints.forEach((ip, k) => {
      const sep = `KUBE-SEP-${name}-${proto}-${k}`.toUpperCase();
      ipt(ns, ["-N", sep]);
      ipt(ns, ["-A", sep, "-p", proto, "-m", proto, "-j", "DNAT", "--to-destination", `${ip}:53`]);
      const left = endpoints.length - k;
      ipt(ns, ["-A", svc, ...(left > 1 ? ["-m", "statistic", "--mode", "random", "--probability", (1 / left).toFixed(11)] : []), "-j", sep]);
    });
  }
}
