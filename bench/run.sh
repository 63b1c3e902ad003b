#!/usr/bin/env bash
# npm run bench: localdns side by side with unbound, dnsmasq and dnsdist, on loopback only.
#
# 1. Checks for the system tools the harness drives; installs the missing ones from Debian packages
#    (dnsperf, knot, knot-dnsutils, unbound, dnsmasq-base, dnsdist, util-linux) with a
#    /usr/sbin/policy-rc.d that exits 101 while apt runs, so no package starts its daemon (unbound's
#    would run unbound-anchor, i.e. internet traffic; knot/dnsmasq/dnsdist would grab port 53). Without
#    root or apt it prints exactly what is missing and stops. BENCH_INSTALL_ONLY=1 stops after this step.
# 2. Builds dist/localdns if it is older than its sources (bun build/build.ts --if-needed).
# 3. Runs bench/run.ts (the measurements; see its header) under an overall `timeout`.
#
# Environment: see bench/run.ts (ROUNDS, DUR_*, QUICK=1 or BENCH_QUICK=1 for a short development run, WRITE_MD=0 to
# leave BENCHMARKS.md and the charts alone, BENCH_TIMEOUT seconds for the whole run, default 1200).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

# command -> Debian package
declare -A PKG=([dnsperf]=dnsperf [knotd]=knot [knotc]=knot [kdig]=knot-dnsutils [unbound]=unbound
  [dnsmasq]=dnsmasq-base [dnsdist]=dnsdist [taskset]=util-linux [timeout]=coreutils [getconf]=libc-bin)
have() { command -v "$1" >/dev/null 2>&1 || [[ -x "/usr/sbin/$1" || -x "/sbin/$1" ]]; }
missing_pkgs() {
  local c out=()
  for c in "${!PKG[@]}"; do have "$c" || out+=("${PKG[$c]}"); done
  printf '%s\n' "${out[@]}" | sort -u | grep -v '^$'
}

mapfile -t need < <(missing_pkgs)
if ((${#need[@]})); then
  if [[ $(id -u) -ne 0 ]] || ! have apt-get; then
    log "missing Debian packages: ${need[*]}"
    log "install them (as root: apt-get install --no-install-recommends ${need[*]}) and run again"
    exit 1
  fi
  added_policy=
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && added_policy=1
  fi
  log "apt-get install ${need[*]} (policy-rc.d: no service starts)"
  aptlog=$(mktemp /tmp/localdns-bench-apt.XXXXXX)
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"; } >"$aptlog" 2>&1
  status=$?
  [[ -n "$added_policy" ]] && rm -f /usr/sbin/policy-rc.d
  if ((status != 0)); then
    log "apt-get failed (log: $aptlog):"; tail -15 "$aptlog" >&2; exit 1
  fi
  mapfile -t still < <(missing_pkgs)
  if ((${#still[@]})); then log "still missing after apt-get: ${still[*]}"; exit 1; fi
fi

[[ "${BENCH_INSTALL_ONLY:-}" == 1 ]] && { log "tools present; BENCH_INSTALL_ONLY=1: not running the benchmark"; exit 0; }

BUN=./node_modules/.bin/bun
if [[ ! -x "$BUN" ]]; then log "missing $BUN: run npm ci first"; exit 1; fi
"$BUN" build/build.ts --if-needed || { log "build failed"; exit 1; }

# run.ts stops every process it started on SIGTERM; -k is the last resort if it hangs itself.
exec timeout -k 10 "${BENCH_TIMEOUT:-1200}" "$BUN" bench/run.ts "$@"
