#!/usr/bin/env bash
# `make clean-tests`, also the last step of `make test`: the safety net for what a test run
# leaves in the local stack. Every test removes its own database (`t_*`), topics and namespace
# (`op-*`, `bench-op-*`, `tripnest-chart-*`, `tc-*`) through guards that run when it ends, passed
# or failed (tripnest_e2e::harness); only a test process that was killed leaves them. Databases
# someone is connected to and namespaces younger than 30 minutes are left alone, so a running
# test keeps what it uses.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_stack_env "test clean-up"

step "dropping test databases nobody is connected to"
dbs="$(psql "$DATABASE_URL" -Atc "SELECT datname FROM pg_database d WHERE datname LIKE 't\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)")"
n=0
for db in $dbs; do psql "$DATABASE_URL" -qc "DROP DATABASE IF EXISTS \"$db\"" && n=$((n + 1)); done
ok "$n databases dropped"

step "deleting test namespaces older than 30 minutes"
k=(kubectl --kubeconfig "$KUBECONFIG")
cutoff=$(($(date +%s) - 1800)) n=0
while read -r ns created; do
  [[ "$ns" =~ ^(op-|bench-op-|tripnest-chart-|tc-) ]] && (($(date -d "$created" +%s) < cutoff)) || continue
  # Their operator is gone, so nothing would ever remove the finalizer.
  for h in $("${k[@]}" -n "$ns" get hotels.tripnest.io -o name 2>/dev/null); do
    "${k[@]}" -n "$ns" patch "$h" --type merge -p '{"metadata":{"finalizers":null}}' >/dev/null
  done
  "${k[@]}" delete namespace "$ns" --wait=false >/dev/null && n=$((n + 1))
done < <("${k[@]}" get namespaces -o jsonpath='{range .items[*]}{.metadata.name} {.metadata.creationTimestamp}{"\n"}{end}')
ok "$n namespaces deleted"

# In-process API tests keep their topics (deleting a topic under a live consumer hangs its
# close): `make test` passes --topics once no test runs any more.
if [[ "${1:-}" == --topics ]]; then
  step "deleting the Kafka topics the in-process API tests kept"
  bin="${CARGO_TARGET_DIR:-$ROOT/target}/debug/clean-topics"
  [[ -x "$bin" ]] || die "$bin is missing" "" "cargo build -p tripnest-e2e --bin clean-topics"
  ok "$("$bin" "$KAFKA_BOOTSTRAP_SERVERS")"
fi
