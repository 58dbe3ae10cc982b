#!/usr/bin/env bash
# Shared helpers for the local stack: logging, cache paths, process control and health waits.
# Sourced by dev/stack.sh and dev/components/*.sh; never run on its own.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEV="$ROOT/dev"
# Everything downloaded or built lives outside the clone, keyed by version.
CACHE="${TRIPNEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tripnest}"
# Runtime state (data dirs, pids, logs) for this clone's stack.
STATE="${TRIPNEST_STATE:-$ROOT/.tripnest}"
LOGS="$STATE/logs"
RUN="$STATE/run"
mkdir -p "$CACHE" "$STATE" "$LOGS" "$RUN"

export GOFLAGS="${GOFLAGS:--mod=mod}"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

step() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
ok()   { printf '    \033[32mok\033[0m %s\n' "$*" >&2; }
warn() { printf '    \033[33mwarn\033[0m %s\n' "$*" >&2; }
# die STEP LOG HINT: say which step failed, where its log is and what to try.
die() {
  local what="$1" log="${2:-}" hint="${3:-}"
  printf '\033[1;31mFAILED\033[0m %s\n' "$what" >&2
  if [[ -n "$log" && -f "$log" ]]; then
    printf '    log: %s (last lines below)\n' "$log" >&2
    tail -n 15 "$log" | sed 's/^/    | /' >&2
  fi
  [[ -n "$hint" ]] && printf '    try: %s\n' "$hint" >&2
  exit 1
}

need_cmd() { command -v "$1" >/dev/null 2>&1; }

# apt_install PKG...: install Debian packages that are missing (quietly, once).
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  ((${#missing[@]} == 0)) && return 0
  step "installing Debian packages: ${missing[*]}"
  local log="$LOGS/apt.log" sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >>"$log" 2>&1; then
    die "apt-get install ${missing[*]}" "$log" "run 'apt-get update' by hand and check the Debian mirror is reachable"
  fi
}

# port_free PORT NAME VAR: fail clearly when a port we want is held by someone else.
port_free() {
  local port="$1" name="$2" var="$3"
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "$name: port $port on 127.0.0.1 is already taken by another process" "" \
      "stop that process (ss -ltnp 'sport = :$port'), or choose another port: $var=<port> make up"
  fi
}

pidfile() { echo "$RUN/$1.pid"; }
# running NAME: true when the process we started for NAME is alive.
running() {
  local pf; pf="$(pidfile "$1")"
  [[ -f "$pf" ]] && kill -0 "$(cat "$pf")" 2>/dev/null
}
# start_bg NAME CMD...: start a long-lived process in its own session, logging to logs/NAME.log.
start_bg() {
  local name="$1"; shift
  local log="$LOGS/$name.log"
  echo "---- $(date -Is) starting: $*" >>"$log"
  setsid "$@" >>"$log" 2>&1 < /dev/null &
  echo $! >"$(pidfile "$name")"
}
# stop_bg NAME: TERM the process group, wait up to 20s, then KILL.
stop_bg() {
  local name="$1" pf; pf="$(pidfile "$name")"
  [[ -f "$pf" ]] || return 0
  local pid; pid="$(cat "$pf")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$pf"
}

# restart_if_changed NAME CMD...: stop NAME when it runs with another command line than CMD
# (a changed flag or binary), so the caller's start path starts it afresh.
restart_if_changed() {
  local name="$1"; shift
  local want; want="$(printf '%s\n' "$@" | sha256sum | cut -c1-16)"
  if running "$name" && [[ "$(cat "$RUN/$name.cmd" 2>/dev/null)" != "$want" ]]; then
    step "restarting $name (its command line changed)"
    stop_bg "$name"
  fi
  echo "$want" >"$RUN/$name.cmd"
}

# adopt_running NAME TIMEOUT HEALTH: when the process we started for NAME is still alive, wait
# (it may still be booting) until HEALTH passes and return 0; return 1 when it is gone (or a
# zombie), so the caller starts afresh; fail with its log if it stays alive but never answers.
adopt_running() {
  local name="$1" timeout="$2" health="$3" pid deadline=$((SECONDS + $2))
  while running "$name"; do
    pid="$(cat "$(pidfile "$name")")"
    [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" == Z ]] && break
    "$health" >/dev/null 2>&1 && return 0
    ((SECONDS >= deadline)) && die "$name is running (pid $pid) but did not answer within ${timeout}s" "$LOGS/$name.log" \
      "read the log; 'dev/stack.sh down $name' then up again restarts it"
    sleep 0.3
  done
  rm -f "$(pidfile "$name")"
  return 1
}

# wait_for NAME TIMEOUT CMD...: poll CMD until it succeeds, or fail naming the log.
wait_for() {
  local name="$1" timeout="$2"; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if ! running "$name"; then die "$name exited while starting" "$LOGS/$name.log" "read the log above; 'make down && make up' retries from scratch"; fi
    if ((SECONDS >= deadline)); then die "$name did not answer within ${timeout}s" "$LOGS/$name.log" "read the log; raise the timeout with TRIPNEST_WAIT=<seconds>"; fi
    sleep 0.3
  done
}

# go_build NAME DIR OUT PKG...: build Go packages from a wrapper module into OUT (cached).
go_build() {
  local name="$1" dir="$2" out="$3"; shift 3
  local log="$LOGS/build-$name.log"
  step "building $name (first time only; log: $log)"
  mkdir -p "$out"
  if ! (cd "$dir" && go mod tidy && go build -trimpath -o "$out/" "$@") >>"$log" 2>&1; then
    die "build of $name" "$log" "check the Go module proxy is reachable (go env GOPROXY) and that 'go version' is ≥ 1.23"
  fi
}

# Export the running stack's addresses (.tripnest/stack.env), or stop with how to start it.
require_stack_env() {
  [[ -f "$STATE/stack.env" ]] || die "$1 need the local stack" "" "run 'make up' (or dev/stack.sh up) first"
  set -a; source "$STATE/stack.env"; set +a
}

# internal_url SERVICE PORT: a service's own API as this host reaches it — on the local node its
# Service's cluster IP (kube-proxy routes the host's packets too), else its loopback port.
internal_url() {
  if [[ "${TRIPNEST_RUNTIME:-processes}" == cluster ]]; then
    local ip
    ip="$(kubectl --kubeconfig "$KUBECONFIG" -n "${TRIPNEST_NAMESPACE:-default}" get service "$1" -o jsonpath='{.spec.clusterIP}')" || return 1
    echo "http://$ip"
  else
    echo "http://127.0.0.1:$2"
  fi
}
