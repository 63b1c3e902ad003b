#!/usr/bin/env bash
# Installs localdns as a systemd service: the binary, the config, the unit, and enables the unit.
# Every file and directory it adds is recorded in a manifest; --uninstall removes exactly those.
# Runs twice without changing anything the second time. See docs/node-integration.md.
set -euo pipefail
umask 022

usage() {
  cat <<'EOF'
Usage: install.sh [--prefix DIR] [--config FILE] [--binary PATH] [--no-enable] [--dry-run] [--uninstall]

Installs localdns:
  binary  PREFIX/bin/localdns            (PREFIX defaults to /usr/local)
  config  /etc/localdns/localdns.json    (an operator-changed config is kept, or backed up when
                                          --config replaces it)
  unit    /etc/systemd/system/localdns.service, enabled for multi-user.target
  socket  /etc/systemd/system/localdns.socket, the config's listeners held across restarts (written
          by "localdns network socket-unit"), enabled for sockets.target
  record  /etc/localdns/install-manifest (what --uninstall removes)

  --prefix DIR     install the binary under DIR/bin (the unit is rewritten to match)
  --config FILE    the config to install (default: packaging/localdns.json beside this script);
                   it is checked with "localdns validate" first
  --binary PATH    the executable to install (default: dist/localdns beside this script)
  --no-enable      do not enable the unit
  --dry-run        print what would change, change nothing
  --uninstall      remove everything a previous install recorded (a changed config is kept)

Environment:
  DESTDIR=DIR      stage everything under DIR (image builds): no systemctl, the wants symlink is
                   created directly, and root is not needed if DIR is writable
EOF
}

die() { printf 'install.sh: error: %s\n' "$*" >&2; exit 1; }
say() { printf 'install.sh: %s\n' "$*"; }

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
prefix=/usr/local
config_src=
config_given=0
binary_src=$here/dist/localdns
enable=1
dry_run=0
uninstall=0
destdir=${DESTDIR:-}

while (($#)); do
  case $1 in
    --prefix) (($# >= 2)) || die "--prefix needs a directory"; prefix=$2; shift 2 ;;
    --prefix=*) prefix=${1#*=}; shift ;;
    --config) (($# >= 2)) || die "--config needs a file"; config_src=$2; config_given=1; shift 2 ;;
    --config=*) config_src=${1#*=}; config_given=1; shift ;;
    --binary) (($# >= 2)) || die "--binary needs a path"; binary_src=$2; shift 2 ;;
    --binary=*) binary_src=${1#*=}; shift ;;
    --no-enable) enable=0; shift ;;
    --dry-run) dry_run=1; shift ;;
    --uninstall) uninstall=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) printf 'install.sh: error: unknown option: %s\n\n' "$1" >&2; usage >&2; exit 2 ;;
  esac
done

# ---- checks that need nothing installed -------------------------------------------------------

[[ $(uname -s) == Linux ]] || die "unsupported system: $(uname -s) (localdns needs Linux with systemd)"

# The prefix ends up in the unit's ExecStart=: keep it to characters systemd takes literally.
prefix=${prefix%/}
[[ -n $prefix && $prefix == /* ]] || die "--prefix must be an absolute directory, got '$prefix'"
[[ $prefix =~ ^[A-Za-z0-9._/+-]+$ ]] || die "--prefix may only contain letters, digits and . _ / + -, got '$prefix'"
[[ /$prefix/ != */../* && /$prefix/ != */./* ]] || die "--prefix may not contain . or .. components, got '$prefix'"
if [[ -n $destdir ]]; then
  [[ $destdir =~ ^/+$ ]] && die "DESTDIR=/ is the live system: unset DESTDIR instead"
  [[ $destdir == /* ]] || die "DESTDIR must be an absolute directory, got '$destdir'"
  destdir=${destdir%/}
  [[ -d $destdir ]] || die "DESTDIR is not a directory (or not reachable): $destdir"
fi

BIN=$prefix/bin/localdns
CONF=/etc/localdns/localdns.json
UNIT=/etc/systemd/system/localdns.service
WANTS=/etc/systemd/system/multi-user.target.wants/localdns.service
MANIFEST=/etc/localdns/install-manifest
UNIT_TEMPLATE=$here/localdns.service
SOCKET_UNIT=/etc/systemd/system/localdns.socket
SOCKET_WANTS=/etc/systemd/system/sockets.target.wants/localdns.socket

real() { printf '%s%s' "$destdir" "$1"; }
sha() { local out; out=$(sha256sum <"$1") && printf '%s' "${out%% *}"; }
mode_of() { stat -c %a -- "$1"; }

systemd_running() { [[ -z $destdir && -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; }

# Privileges: the live system needs root; a staging tree only needs to be writable.
nearest_existing() { local d=$1; while [[ ! -e $d ]]; do d=$(dirname -- "$d"); done; printf '%s' "$d"; }
check_writable() {
  local p d
  for p in "$@"; do
    d=$(nearest_existing "$(dirname -- "$(real "$p")")")
    [[ -w $d ]] || die "not root, and $d is not writable: run as root (or set DESTDIR=DIR to stage into a writable tree)"
  done
}
if ((EUID != 0)) && ((!dry_run)); then
  [[ -n $destdir ]] || die "must be run as root to install into the live system (or set DESTDIR=DIR to stage into a tree)"
  check_writable "$BIN" "$CONF" "$UNIT" "$WANTS"
fi

# ---- the manifest: "kind<TAB>path[<TAB>value]" lines ------------------------------------------
# kind dir (created by us), file (value: sha256 as installed), link (value: target), backup, enabled

man=()
if [[ -f $(real "$MANIFEST") ]]; then
  while IFS= read -r line || [[ -n $line ]]; do
    [[ -z $line || $line == \#* ]] || man+=("$line")
  done <"$(real "$MANIFEST")"
fi
man_get() { # kind path -> value
  local l k p v
  for l in "${man[@]}"; do
    IFS=$'\t' read -r k p v <<<"$l"
    [[ $k == "$1" && $p == "$2" ]] && { printf '%s' "$v"; return 0; }
  done
  return 1
}
man_set() { # kind path [value]
  local i k p v new
  new="$1"$'\t'"$2"${3+$'\t'"$3"}
  for i in "${!man[@]}"; do
    IFS=$'\t' read -r k p v <<<"${man[$i]}"
    if [[ $k == "$1" && $p == "$2" ]]; then man[i]=$new; return; fi
  done
  man+=("$new")
}
man_text() {
  printf '# localdns install manifest: what install.sh added; "install.sh --uninstall" removes it\n'
  (( ${#man[@]} )) && printf '%s\n' "${man[@]}"
  return 0
}

# ---- uninstall ----------------------------------------------------------------------------------

if ((uninstall)); then
  [[ -f $(real "$MANIFEST") ]] || die "nothing to uninstall: no manifest at $(real "$MANIFEST")"
  act() { if ((dry_run)); then say "would $*"; else say "$*"; fi; }
  if systemd_running; then
    # Stop first: the unit's ExecStopPost takes the listener addresses, rules and resolver drop-in away.
    # the socket unit's ExecStopPost takes the addresses and rules away once both are stopped
    for u in localdns.service localdns.socket; do
      if systemctl is-active --quiet "$u"; then act "stop $u"; ((dry_run)) || systemctl stop "$u" || true; fi
    done
    for u in localdns.service localdns.socket; do
      if man_get enabled "$u" >/dev/null; then act "disable $u"; ((dry_run)) || systemctl disable --quiet "$u" || true; fi
    done
  fi
  dirs=()
  for line in "${man[@]}"; do
    IFS=$'\t' read -r kind path value <<<"$line"
    target=$(real "$path")
    case $kind in
      file)
        [[ -e $target || -L $target ]] || continue
        if [[ -f $target && ! -L $target && $(sha "$target") == "$value" ]]; then
          act "remove $target"; ((dry_run)) || rm -f -- "$target"
        else
          say "keeping $target: it changed since it was installed"
        fi ;;
      link)
        if [[ -L $target ]]; then act "remove $target"; ((dry_run)) || rm -f -- "$target"; fi ;;
      backup) [[ -e $target ]] && say "keeping backup $target" ;;
      dir) dirs+=("$target") ;;
    esac
  done
  act "remove $(real "$MANIFEST")"; ((dry_run)) || rm -f -- "$(real "$MANIFEST")"
  for ((i = ${#dirs[@]} - 1; i >= 0; i--)); do
    d=${dirs[$i]}
    [[ -d $d ]] || continue
    if ((dry_run)); then say "would remove $d if empty"
    elif rmdir -- "$d" 2>/dev/null; then say "remove $d"
    else say "keeping $d: not empty"; fi
  done
  if systemd_running && ((!dry_run)); then systemctl daemon-reload || true; fi
  say "uninstalled"
  exit 0
fi

# ---- install: check the inputs ------------------------------------------------------------------

if [[ -z $destdir ]] && ! command -v systemctl >/dev/null 2>&1 && [[ ! -d /etc/systemd/system ]]; then
  die "unsupported system: systemd not found (localdns runs as a systemd service; set DESTDIR=DIR to stage an image)"
fi
[[ -e $binary_src ]] || die "binary not found: $binary_src (build it with ./node_modules/.bin/bun build/build.ts, or pass --binary PATH)"
[[ -f $binary_src && -x $binary_src ]] || die "not an executable file: $binary_src"
[[ -f $UNIT_TEMPLATE ]] || die "unit template not found: $UNIT_TEMPLATE"
[[ -n $config_src ]] || config_src=$here/packaging/localdns.json
[[ -f $config_src && -r $config_src ]] || die "config not found or not readable: $config_src"
if ! out=$("$binary_src" validate --config "$config_src" 2>&1); then
  printf '%s\n' "$out" >&2
  die "invalid config: $config_src (see the problems above)"
fi

# ---- plan ---------------------------------------------------------------------------------------

work=$(mktemp -d "${TMPDIR:-/tmp}/localdns-install.XXXXXX")
installs=() # "source<TAB>final path<TAB>mode" for files whose content or mode differ
temps=()    # temporary files in the target tree (removed if this run stops early)
created=()  # directories made by this run (removed again if it fails before committing)
committed=0
manifest_was=$(man_text)
cleanup() {
  local t i
  for t in "${temps[@]}"; do rm -f -- "$t"; done
  if ((!committed)); then
    for ((i = ${#created[@]} - 1; i >= 0; i--)); do rmdir -- "${created[$i]}" 2>/dev/null || true; done
  fi
  rm -rf -- "$work"
}
trap cleanup EXIT

actions=()
plan() { actions+=("$*"); }

want_file() { # source final-path mode: record it, and plan a copy when content or mode differ
  local src=$1 final=$2 mode=$3 target
  target=$(real "$final")
  man_set file "$final" "$(sha "$src")"
  if [[ -f $target && ! -L $target ]] && cmp -s -- "$src" "$target" && [[ $(mode_of "$target") == "$mode" ]]; then return; fi
  plan "install $target (mode $mode)"
  installs+=("$src"$'\t'"$final"$'\t'"$mode")
}

want_file "$binary_src" "$BIN" 755

unit_src=$work/localdns.service
unit_text=$(<"$UNIT_TEMPLATE")
printf '%s\n' "${unit_text//"/usr/local/bin/localdns"/"$BIN"}" >"$unit_src"
want_file "$unit_src" "$UNIT" 644

conf_target=$(real "$CONF")
sock_conf=$config_src # the config that will be in place
backup=
if [[ ! -e $conf_target ]]; then
  want_file "$config_src" "$CONF" 644
elif cmp -s -- "$config_src" "$conf_target"; then
  : # already this config (recorded as ours only if an earlier run installed it)
elif [[ $(man_get file "$CONF" || true) == "$(sha "$conf_target")" ]]; then
  want_file "$config_src" "$CONF" 644 # ours and unchanged since: safe to update
elif ((config_given)); then
  backup=$CONF.bak-$(date +%Y%m%d-%H%M%S)
  n=0
  while [[ -e $(real "$backup") ]]; do n=$((n + 1)); backup=$CONF.bak-$(date +%Y%m%d-%H%M%S)-$n; done
  plan "back up the current config to $(real "$backup")"
  man_set backup "$backup"
  want_file "$config_src" "$CONF" 644
else
  say "keeping the existing $conf_target (it differs from the default; pass --config FILE to replace it, with a backup)"
  sock_conf=$conf_target
  if ! out=$("$binary_src" validate --config "$conf_target" 2>&1); then
    printf '%s\n' "$out" >&2
    say "warning: the existing $conf_target does not validate; localdns will not start with it"
  fi
fi

# the socket unit holds every listener of the config that will be in place (systemd binds them; the
# kernel queues queries while the service restarts)
socket_src=$work/localdns.socket
if ! "$binary_src" network socket-unit --config "$sock_conf" --bin "$BIN" >"$socket_src" 2>"$work/socket.err"; then
  cat -- "$work/socket.err" >&2
  die "cannot write the socket unit from $sock_conf"
fi
want_file "$socket_src" "$SOCKET_UNIT" 644

enable_mode=none
if ((enable)); then
  if systemd_running; then
    enable_mode=systemctl
    [[ $(systemctl is-enabled localdns.service 2>/dev/null || true) == enabled ]] || plan "systemctl enable localdns.service"
    [[ $(systemctl is-enabled localdns.socket 2>/dev/null || true) == enabled ]] || plan "systemctl enable localdns.socket"
  else
    # DESTDIR (image) or no running systemd: the same symlink "systemctl enable" would make.
    enable_mode="link"
    wants=$(real "$WANTS")
    if [[ -L $wants ]]; then
      [[ $(readlink -- "$wants") == "$UNIT" ]] || die "$wants exists and points elsewhere: $(readlink -- "$wants")"
    elif [[ -e $wants ]]; then
      die "$wants exists and is not a symlink"
    else
      plan "link $wants -> $UNIT"
    fi
    man_set link "$WANTS" "$UNIT"
    socket_wants=$(real "$SOCKET_WANTS")
    if [[ -L $socket_wants ]]; then
      [[ $(readlink -- "$socket_wants") == "$SOCKET_UNIT" ]] || die "$socket_wants exists and points elsewhere: $(readlink -- "$socket_wants")"
    elif [[ -e $socket_wants ]]; then
      die "$socket_wants exists and is not a symlink"
    else
      plan "link $socket_wants -> $SOCKET_UNIT"
    fi
    man_set link "$SOCKET_WANTS" "$SOCKET_UNIT"
  fi
fi

# Directories that do not exist yet, outermost first.
targets=("$BIN" "$CONF" "$UNIT" "$SOCKET_UNIT" "$MANIFEST")
[[ $enable_mode == link ]] && targets+=("$WANTS" "$SOCKET_WANTS")
need_dirs=()
for p in "${targets[@]}"; do
  d=$(dirname -- "$p")
  missing=()
  while [[ $d != / && ! -d $(real "$d") ]]; do missing=("$d" "${missing[@]}"); d=$(dirname -- "$d"); done
  for m in "${missing[@]}"; do
    [[ " ${need_dirs[*]} " == *" $m "* ]] || need_dirs+=("$m")
  done
done
for d in "${need_dirs[@]}"; do man_set dir "$d"; done
((${#need_dirs[@]} == 0)) || actions=("create directories:$(printf ' %s' "${need_dirs[@]/#/$destdir}")" "${actions[@]}")

manifest_new=$(man_text)
[[ $manifest_new == "$manifest_was" ]] || plan "write the manifest $(real "$MANIFEST")"

if ((${#actions[@]} == 0)); then say "already installed: nothing to do"; exit 0; fi
if ((dry_run)); then
  for a in "${actions[@]}"; do say "would $a"; done
  exit 0
fi

# ---- apply: directories and copies beside their targets first, then renames, so a failure before
# the renames leaves the tree as it was -----------------------------------------------------------

for d in "${need_dirs[@]}"; do
  mkdir -m 755 -- "$(real "$d")"
  created+=("$(real "$d")")
done
renames=()
for i in "${installs[@]}"; do
  IFS=$'\t' read -r src final mode <<<"$i"
  tmp=$(real "$final").install-tmp.$$
  temps+=("$tmp")
  cp -- "$src" "$tmp"
  chmod -- "$mode" "$tmp"
  renames+=("$tmp"$'\t'"$(real "$final")")
done
tmp_manifest=$(real "$MANIFEST").install-tmp.$$
temps+=("$tmp_manifest")
printf '%s\n' "$manifest_new" >"$tmp_manifest"
chmod 644 -- "$tmp_manifest"

if [[ -n $backup ]]; then cp -p -- "$conf_target" "$(real "$backup")"; say "backed up the old config to $(real "$backup")"; fi
for r in "${renames[@]}"; do
  IFS=$'\t' read -r tmp final <<<"$r"
  mv -f -- "$tmp" "$final"
  say "installed $final"
done
mv -f -- "$tmp_manifest" "$(real "$MANIFEST")"
temps=()
committed=1

case $enable_mode in
  link)
    if [[ ! -L $(real "$WANTS") ]]; then ln -s -- "$UNIT" "$(real "$WANTS")"; say "enabled: $(real "$WANTS") -> $UNIT"; fi
    if [[ ! -L $(real "$SOCKET_WANTS") ]]; then ln -s -- "$SOCKET_UNIT" "$(real "$SOCKET_WANTS")"; say "enabled: $(real "$SOCKET_WANTS") -> $SOCKET_UNIT"; fi ;;
  systemctl)
    systemctl daemon-reload
    if [[ $(systemctl is-enabled localdns.service 2>/dev/null || true) != enabled ]]; then
      systemctl enable --quiet localdns.service
      man_set enabled localdns.service
      printf '%s\n' "$(man_text)" >"$(real "$MANIFEST")"
      say "enabled localdns.service (start it with: systemctl start localdns)"
    fi
    if [[ $(systemctl is-enabled localdns.socket 2>/dev/null || true) != enabled ]]; then
      systemctl enable --quiet localdns.socket
      man_set enabled localdns.socket
      printf '%s\n' "$(man_text)" >"$(real "$MANIFEST")"
      say "enabled localdns.socket"
    fi ;;
esac
say "done"
