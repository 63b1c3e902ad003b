// `npm start` (run with no config) on a host whose /etc/resolv.conf names only systemd-resolved's
// stub: the real servers come from /run/systemd/resolve/resolv.conf; without that file it fails
// with a message that says what to set. Each case runs in its own network and mount namespace
// (ip netns exec + unshare -m), with a temporary resolv.conf bind-mounted over the host's and a
// tmpfs over /run, so nothing of the host is changed or used.
import { test, expect, describe, afterAll } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BINARY } from "./helpers/binary";
import { createNetns, netnsUnavailable, type Netns } from "./helpers/netns";

const why = netnsUnavailable() ?? (Bun.spawnSync(["sh", "-c", "command -v unshare"]).exitCode === 0 ? null : "unshare is not installed");
if (why) console.log(`start-default: skipped (${why})`);

// $1 stub resolv.conf, $2 the systemd-resolved one or "", $3 the binary. Prints the binary's log,
// then a line "STATUS" and `localdns status --json` once it serves (or its exit code if it stops).
const SCRIPT = `set -e
mount -t tmpfs tmpfs /run
target=$(readlink -f /etc/resolv.conf)
mkdir -p "$(dirname "$target")"; [ -e "$target" ] || : > "$target"
mount --bind "$1" "$target"
if [ -n "$2" ]; then mkdir -p /run/systemd/resolve; cat "$2" > /run/systemd/resolve/resolv.conf; fi
log=$(mktemp)
"$3" run > "$log" 2>&1 &
pid=$!
i=0
while [ $i -lt 100 ]; do
  if ! kill -0 $pid 2>/dev/null; then set +e; wait $pid; code=$?; cat "$log"; echo "EXIT $code"; exit 0; fi
  if grep -q '"localdns started"' "$log"; then break; fi
  sleep 0.1; i=$((i + 1))
done
cat "$log"; echo STATUS
"$3" status --json --window 0 || true
kill -TERM $pid; wait $pid || true
`;

describe.skipIf(why !== null)("npm start with a stub-only /etc/resolv.conf", () => {
  const dir = mkdtempSync(join(tmpdir(), "ldns-start-"));
  let ns: Netns | null = null;
  afterAll(() => { ns?.destroy(); rmSync(dir, { recursive: true, force: true }); });
  const stub = join(dir, "stub-resolv.conf");
  const real = join(dir, "resolved-resolv.conf");
  writeFileSync(stub, "# systemd-resolved stub\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n");
  writeFileSync(real, "nameserver 127.0.0.3\nnameserver 127.0.0.4\n");
  const runIn = (resolved: string) => {
    ns ??= createNetns("ldns-start");
    writeFileSync(join(dir, "script.sh"), SCRIPT);
    return ns.exec("unshare", ["-m", "--propagation", "private", "sh", join(dir, "script.sh"), stub, resolved, BINARY], { timeoutMs: 30_000 });
  };

  test("/run/systemd/resolve/resolv.conf exists: its servers are the upstreams", () => {
    const r = runIn(real);
    expect(r.stderr).toBe("");
    const [log, statusText] = r.stdout.split("STATUS\n");
    expect(statusText).toBeDefined();
    const s = JSON.parse(statusText);
    expect(s.listeners).toEqual({ vnetDNS: ["127.0.0.1:5553"], kubeDNS: ["127.0.0.1:5554"] });
    expect(s.upstreams.map((u: { destination: string; to: string }) => `${u.destination} ${u.to}`)).toEqual([
      "ClusterCoreDNS 127.0.0.3:53", "ClusterCoreDNS 127.0.0.4:53", "VnetDNS 127.0.0.3:53", "VnetDNS 127.0.0.4:53",
    ]);
    expect(log).not.toContain('"level":"error"');
  }, 40_000);

  test("only the stub: start fails with a message that says what to set", () => {
    const r = runIn("");
    expect(r.stdout).toEndWith("EXIT 1\n");
    const lines = r.stdout.trim().split("\n").slice(0, -1).map((l) => JSON.parse(l));
    const errors = lines.filter((l) => l.level === "error").map((l) => l.problem ?? l.msg);
    expect(errors).toEqual([
      'upstreams.ClusterCoreDNS: no usable nameserver in /etc/resolv.conf (local stubs such as 127.0.0.53 and our own listeners are skipped); set upstreams.ClusterCoreDNS to a list of server addresses, e.g. ["10.0.0.10"]',
      'upstreams.VnetDNS: no usable nameserver in /etc/resolv.conf (local stubs such as 127.0.0.53 and our own listeners are skipped); set upstreams.VnetDNS to a list of server addresses, e.g. ["10.0.0.10"]',
      'the embedded default has no server to forward to: write a config file with upstreams.VnetDNS and upstreams.ClusterCoreDNS (e.g. ["10.0.0.10"]) and start with --config FILE or LOCALDNS_CONFIG=FILE',
    ]);
  }, 40_000);
});
