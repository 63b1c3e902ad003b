// Command-line parsing: subcommands, their flags, and usage text. No runtime access here.
import { KUBERNETES_USAGE, parseKubernetesArgs, type KubernetesArgs } from "./kubernetes/args";
import { parseStatusArgs, type StatusArgs } from "./status-args";

export const USAGE = `localdns — node-local DNS cache and forwarder

Usage:
  localdns run [--config FILE] [--network] [--no-ffi] [--takeover] [--stay-after-leave]
                                      run in the foreground (config also from $LOCALDNS_CONFIG;
                                      without either, an embedded loopback default is used)
  localdns validate --config FILE [--check-upstreams]
                                      check a config file; exit 1 listing every problem
  localdns status [--admin ADDR] [--json]
                                      a summary of the running localdns from its admin API
  localdns network up|resolver|release|down --config FILE
                                      node set-up steps for systemd (needs CAP_NET_ADMIN)
  localdns network socket-unit --config FILE [--bin PATH]
                                      print the localdns.socket unit for the config's listeners
  localdns kubernetes manifest [--mode linklocal|intercept] [--image REF] [--config FILE] [--namespace NS]
                                      print the Kubernetes manifests (DaemonSet and the rest)
  localdns --version                  print the version
  localdns --help                     this text; "localdns COMMAND --help" for one command
`;

export const COMMAND_USAGE: Record<string, string> = {
  run: `Usage: localdns run [--config FILE] [--network] [--no-ffi] [--takeover] [--stay-after-leave]

Runs localdns in the foreground until SIGTERM or SIGINT (SIGHUP reloads the config).
  --config FILE   the JSON config (default: $LOCALDNS_CONFIG, else an embedded default that listens
                  on 127.0.0.1:5553 (vnet) and 127.0.0.1:5554 (kube) and forwards to the servers of
                  /run/systemd/resolve/resolv.conf when it exists, else of /etc/resolv.conf)
  --network       also do the node set-up around serving, for a container where no systemd runs
                  "network up/down": addresses before listening, NOTRACK rules once listening, both
                  removed on exit (needs CAP_NET_ADMIN)
  --no-ffi        serve UDP through the runtime's own sockets, not the FFI data path (sockets
                  owned through libc, a loop thread answering from the cache); also LOCALDNS_NO_FFI=1.
                  The FFI path runs on glibc x86_64 and arm64 when its start-up self-test passes
  --takeover      replace a localdns already serving the same listeners without losing a query:
                  join its sockets (SO_REUSEPORT), steer every new datagram here, ask it to leave
                  (POST /leave on admin.listen); it drains, saves its cache and exits (FFI path only;
                  with nothing to take over it just starts)
  --stay-after-leave
                  once a newer instance took over: stay, idle and holding nothing, until SIGTERM,
                  then exit 0 (a container restarted on exit would fight it for the listeners)
`,
  validate: `Usage: localdns validate --config FILE [--check-upstreams]

Validates a config file as "run" would load it. Prints "ok" and exits 0, or lists every problem with
its JSON path and exits 1. Only the file is checked: upstreams that come from resolv.conf files are
not read, so the answer does not depend on the machine validate runs on.
  --config FILE        the JSON config (default: $LOCALDNS_CONFIG)
  --check-upstreams    also read what the config names on this machine: the resolv.conf files the
                       upstreams come from, the hosts file, the snapshot directory
`,
  status: `Usage: localdns status [--admin ADDR] [--json]

Asks a running localdns for a summary: readiness, listeners, upstreams and their health, cache
entries, bytes and hit ratio, queries per second, config reloads.
  --admin ADDR     the admin listener (default 127.0.0.1:8181)
  --json           one JSON object, for scripts
  --window SECONDS how long to count queries for the rate (default 2, at most 60)
`,
  network: `Usage: localdns network up|resolver|release|down|socket-unit --config FILE [--dry-run]

Node set-up for the systemd unit's privileged steps:
  up        put every listener address on the "localdns" interface (dummy, else lo) and add the
            iptables raw-table NOTRACK rules for them (idempotent)
  resolver  point the node's resolver at the vnet listener (systemd-networkd drop-in), when the
            tooling exists; run only after localdns answers
  release   remove the resolver drop-in only (on a clean stop, before the server drains)
  down      remove the resolver drop-in first, then the rules and addresses
  socket-unit  print the systemd socket unit that holds every listener (UDP and TCP) across
            service restarts; --bin PATH names the binary its set-up steps run (default
            /usr/local/bin/localdns)
  --dry-run print the commands instead of running them
`,
  kubernetes: KUBERNETES_USAGE,
};

export type Parsed =
  | { kind: "help"; text: string }
  | { kind: "version" }
  | { kind: "error"; message: string; usage: string }
  | { kind: "run" | "validate"; config: string | null; network?: boolean; checkUpstreams?: boolean; takeover?: boolean; stayAfterLeave?: boolean }
  | StatusArgs
  | KubernetesArgs
  | { kind: "network"; action: "up" | "down" | "resolver" | "release"; config: string | null; dryRun: boolean }
  | { kind: "socket-unit"; config: string | null; bin: string };

export function parseArgs(argv: string[]): Parsed {
  if (argv.length === 0) return { kind: "help", text: USAGE };
  const [cmd, ...rest] = argv;
  if (cmd === "--help" || cmd === "-h" || cmd === "help") return { kind: "help", text: USAGE };
  if (cmd === "--version" || cmd === "-V" || cmd === "version") return { kind: "version" };
  if (cmd === "network") return parseNetwork(rest);
  if (cmd === "kubernetes") return parseKubernetesArgs(rest);
  if (cmd === "status") return parseStatusArgs(rest, COMMAND_USAGE.status);
  if (cmd !== "run" && cmd !== "validate") return { kind: "error", message: `unknown command or flag: ${cmd}`, usage: USAGE };
  let config: string | null = null;
  let network = false;
  let checkUpstreams = false;
  let takeover = false;
  let stayAfterLeave = false;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === "--help" || a === "-h") return { kind: "help", text: COMMAND_USAGE[cmd] };
    if (a === "--network" && cmd === "run") { network = true; continue; }
    if (a === "--takeover" && cmd === "run") { takeover = true; continue; }
    if (a === "--stay-after-leave" && cmd === "run") { stayAfterLeave = true; continue; }
    if (a === "--no-ffi" && cmd === "run") continue; // read where the data path is chosen (src/net/platform.ts)
    if (a === "--check-upstreams" && cmd === "validate") { checkUpstreams = true; continue; }
    if (a === "--config" || a === "-c") {
      const v = rest[++i];
      if (v === undefined || v.startsWith("-")) return { kind: "error", message: "--config needs a file path", usage: COMMAND_USAGE[cmd] };
      config = v;
      continue;
    }
    if (a.startsWith("--config=")) { config = a.slice(9); continue; }
    return { kind: "error", message: `unknown flag for ${cmd}: ${a}`, usage: COMMAND_USAGE[cmd] };
  }
  return cmd === "run" ? { kind: cmd, config, network, takeover, stayAfterLeave } : { kind: cmd, config, checkUpstreams };
}

function parseNetwork(rest: string[]): Parsed {
  const usage = COMMAND_USAGE.network;
  if (rest.includes("--help") || rest.includes("-h")) return { kind: "help", text: usage };
  const [action, ...flags] = rest;
  if (action === "socket-unit") return parseSocketUnit(flags, usage);
  if (action !== "up" && action !== "down" && action !== "resolver" && action !== "release") return { kind: "error", message: `network needs up, resolver, release, down or socket-unit, got ${action ?? "nothing"}`, usage };
  let config: string | null = null;
  let dryRun = false;
  for (let i = 0; i < flags.length; i++) {
    const a = flags[i];
    if (a === "--dry-run") { dryRun = true; continue; }
    if (a === "--config" || a === "-c") {
      const v = flags[++i];
      if (v === undefined || v.startsWith("-")) return { kind: "error", message: "--config needs a file path", usage };
      config = v;
      continue;
    }
    if (a.startsWith("--config=")) { config = a.slice(9); continue; }
    return { kind: "error", message: `unknown flag for network: ${a}`, usage };
  }
  return { kind: "network", action, config, dryRun };
}

function parseSocketUnit(flags: string[], usage: string): Parsed {
  let config: string | null = null;
  let bin = "/usr/local/bin/localdns";
  for (let i = 0; i < flags.length; i++) {
    const a = flags[i];
    if (a === "--config" || a === "-c" || a === "--bin") {
      const v = flags[++i];
      if (v === undefined || v.startsWith("-")) return { kind: "error", message: `${a} needs a path`, usage };
      if (a === "--bin") bin = v; else config = v;
      continue;
    }
    return { kind: "error", message: `unknown flag for network socket-unit: ${a}`, usage };
  }
  if (!bin.startsWith("/")) return { kind: "error", message: `--bin must be an absolute path, got ${bin}`, usage };
  return { kind: "socket-unit", config, bin };
}
