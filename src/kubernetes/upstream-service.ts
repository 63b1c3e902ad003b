// intercept mode: a second Service in front of the CoreDNS pods. The cluster DNS Service's address is
// answered by localdns on each node, so localdns itself reaches CoreDNS through this one (the name
// NodeLocal DNSCache uses). It must exist before the DaemonSet's pods, which learn its address from
// the kubelet's KUBE_DNS_UPSTREAM_SERVICE_HOST; it sits beside CoreDNS because a selector only
// selects pods of its own namespace.
import type { YamlValue } from "./yaml";
import { UPSTREAM_SERVICE } from "./config";
import { CLUSTER_DNS_NAMESPACE, NAME } from "./options";

export function upstreamService(): YamlValue {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: UPSTREAM_SERVICE,
      namespace: CLUSTER_DNS_NAMESPACE,
      labels: { "k8s-app": UPSTREAM_SERVICE, "app.kubernetes.io/part-of": NAME },
    },
    spec: {
      selector: { "k8s-app": "kube-dns" }, // CoreDNS's pods on kubeadm, kind, EKS, GKE and AKS
      ports: [
        { name: "dns", port: 53, protocol: "UDP", targetPort: 53 },
        { name: "dns-tcp", port: 53, protocol: "TCP", targetPort: 53 },
      ],
    },
  };
}
