#!/usr/bin/env bash
# The local stack: real PostgreSQL, Redis, Kafka (KRaft), a MongoDB-wire server (FerretDB),
# a Kubernetes control plane (etcd + kube-apiserver + kube-controller-manager) and an SMTP
# server with a web viewer — all on 127.0.0.1, no Docker.
#
#   dev/stack.sh up [component...]     install what is missing, start, health-check, write stack.env
#   dev/stack.sh down [component...]   stop what `up` started (data is kept in .tripnest/)
#   dev/stack.sh status                show what is up
#   dev/stack.sh env                   print stack.env
#   dev/stack.sh leftovers             what a stopped node left on the host (empty: nothing)
#
# Each component lives in dev/components/<name>.sh and defines:
#   <name>_install   idempotent install/build into $CACHE (keyed by version)
#   <name>_start     start unless already running (pidfile in $RUN), then wait until healthy
#   <name>_health    one real request against the engine (exit 0 when healthy)
#   <name>_env       print the KEY=value lines it contributes to stack.env
#   <name>_procs     the pidfile names it owns, in stop order
#   <name>_stop      (optional) a gentler stop run before the processes are TERMed
#   <name>_cleanup   (optional) undo host changes after its processes stopped
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$DEV/versions.env"

COMPONENTS=(postgres redis kafka ferretdb smtp kubernetes node)
for c in "${COMPONENTS[@]}"; do source "$DEV/components/$c.sh"; done

write_env() {
  local f="$STATE/stack.env" tmp
  tmp="$(mktemp)"
  {
    echo "# Written by dev/stack.sh up at $(date -Is). Source it: set -a; . .tripnest/stack.env; set +a"
    for c in "${COMPONENTS[@]}"; do "${c}_env"; done
    echo "GATEWAY_URL=${GATEWAY_URL:-http://127.0.0.1:8080}"
    echo "WEB_URL=${WEB_URL:-http://127.0.0.1:3000}"
  } >"$tmp"
  mv "$tmp" "$f"
  ok "wrote $f"
}

cmd_up() {
  local want=("$@"); ((${#want[@]})) || want=("${COMPONENTS[@]}")
  local t0=$SECONDS
  for c in "${want[@]}"; do "${c}_install"; done
  for c in "${want[@]}"; do
    step "starting $c"
    "${c}_start"
  done
  write_env
  step "stack is up in $((SECONDS - t0))s — logs in $LOGS, env in $STATE/stack.env"
}

cmd_down() {
  local want=("$@"); ((${#want[@]})) || want=("${COMPONENTS[@]}")
  local i
  for ((i = ${#want[@]} - 1; i >= 0; i--)); do
    local c="${want[i]}"
    if declare -F "${c}_stop" >/dev/null; then "${c}_stop"; fi
    for p in $("${c}_procs"); do
      if running "$p"; then step "stopping $p"; fi
      stop_bg "$p"
    done
    if declare -F "${c}_cleanup" >/dev/null; then "${c}_cleanup"; fi
  done
  ok "stopped"
}

cmd_status() {
  local rc=0
  printf '%-12s %-8s %-24s %s\n' COMPONENT HEALTH PROCESSES LOGS
  for c in "${COMPONENTS[@]}"; do
    local procs=() health=down
    for p in $("${c}_procs"); do
      if running "$p"; then procs+=("$p:$(cat "$(pidfile "$p")")"); else procs+=("$p:-"); fi
    done
    if "${c}_health" >/dev/null 2>&1; then health=healthy; else rc=1; fi
    local names; names="$(echo $("${c}_procs") | tr ' ' ',')"
    [[ "$names" == *,* ]] && names="{$names}"
    printf '%-12s %-8s %-24s %s\n' "$c" "$health" "${procs[*]}" "$LOGS/$names.log"
  done
  [[ -f "$STATE/stack.env" ]] && echo "env: $STATE/stack.env"
  return $rc
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) shift; cmd_down "$@" ;;
  status) cmd_status ;;
  env) cat "$STATE/stack.env" ;;
  leftovers) node_leftovers ;;
  *) echo "usage: $0 up|down|status|env|leftovers [component...]" >&2; exit 2 ;;
esac
