#!/usr/bin/env bash
# The TripNest platform on the local stack (the engines from dev/stack.sh). `make up` runs this
# after the stack is up. Two runtimes, chosen by the stack (TRIPNEST_RUNTIME in stack.env):
#   cluster    the default where a node runs (dev/components/node.sh): the images are built and
#              loaded (dev/images.sh), charts/tripnest is installed with helm, and the operator
#              (a Pod) turns each ServiceDeployment into Pods; gateway and web UI answer on
#              127.0.0.1:8080 and :3000 through NodePorts.
#   processes  no node (not Linux, not root, no cgroups, or asked): each service is a host
#              process on a fixed loopback port, the operator too.
#
#   dev/services.sh up       build the binaries (cached in $CACHE) and start the platform
#   dev/services.sh images   (cluster) rebuild the images that changed and roll what runs them
#   dev/services.sh down     stop the processes (a cluster's Pods stop with the node)
#   dev/services.sh status   show them
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$DEV/toolchain.sh"

# The namespace of the example Hotels, Inventories and ServiceDeployments, and the only one the
# operator watches.
CATALOG_NAMESPACE="${TRIPNEST_NAMESPACE:-default}"
# name:port — the gateway is the public entry point; the rest are reached through it.
SERVICES=(user:8081 booking:8082 payment:8083 notification:8084 search:8085 recommendation:8086 review:8087 gateway:8080 operator:8090)


# One shared secret for the internal APIs (operator → booking), made once per checkout.
internal_token() {
  local f="$STATE/internal-token"
  [[ -s "$f" ]] || { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$f"; chmod 600 "$f"; }
  cat "$f"
}

svc_health() { curl -fsS -m 2 "http://127.0.0.1:$1/readyz" >/dev/null; }

k() { kubectl --kubeconfig "$KUBECONFIG" -n "$CATALOG_NAMESPACE" "$@"; }

cmd_up() {
  ensure_rust
  require_stack_env services
  local log="$LOGS/build-services.log"
  step "building the service binaries (log: $log)"
  cargo build --workspace --bins --manifest-path "$ROOT/Cargo.toml" >>"$log" 2>&1 ||
    die "cargo build of the services" "$log" "run 'cargo build --workspace --bins' to see the error"
  if [[ "${TRIPNEST_RUNTIME:-processes}" == cluster ]]; then cluster_up; else processes_up; fi
  demo_manager "$(internal_token)"
}

# The platform as Pods: images loaded, the chart installed, every ServiceDeployment Ready.
cluster_up() {
  local log="$LOGS/platform.log" changed
  changed="$(bash "$DEV/images.sh" up)" || die "building and loading the images" "$LOGS/images.log"
  source "$DEV/components/helm.sh"
  ensure_helm
  step "helm upgrade --install tripnest charts/tripnest (namespace $CATALOG_NAMESPACE; log: $log)"
  local t0=$SECONDS installed=0
  "$HELM" status tripnest --kubeconfig "$KUBECONFIG" -n "$CATALOG_NAMESPACE" >/dev/null 2>&1 && installed=1
  "$HELM" upgrade --install tripnest "$ROOT/charts/tripnest" --kubeconfig "$KUBECONFIG" -n "$CATALOG_NAMESPACE" \
    -f "$DEV/node/values.yaml" --set-string connections.internalToken="$(internal_token)" >>"$log" 2>&1 ||
    die "helm install of charts/tripnest" "$log"
  # A new release starts from the loaded images; an installed one keeps its Pods on the old ones.
  if ((installed)); then restart_rebuilt $changed; fi
  k rollout status deployment/tripnest-operator --timeout=120s >>"$log" 2>&1 || die "the operator did not become Ready" "$log" "kubectl describe pods -l app.kubernetes.io/name=tripnest-operator"
  if ! k wait --for=condition=Ready servicedeployments.tripnest.io --all --timeout="${TRIPNEST_WAIT:-240}s" >>"$log" 2>&1; then
    k get servicedeployments.tripnest.io >>"$log" 2>&1
    die "not every ServiceDeployment became Ready" "$log" "kubectl get servicedeployments; kubectl describe servicedeployment <name>"
  fi
  k rollout status deployment/web --timeout=120s >>"$log" 2>&1 || die "the web UI did not become Ready" "$log" "kubectl describe pods -l app.kubernetes.io/name=web"
  ok "every ServiceDeployment Ready $((SECONDS - t0))s after helm install: kubectl get servicedeployments"
  apply_catalog "$ROOT/crds/examples/hotels.yaml" "$ROOT/crds/examples/inventories.yaml"
  step "platform is up as Pods — gateway http://127.0.0.1:8080, web UI http://127.0.0.1:3000, kubectl logs deploy/<service>"
}

# restart_rebuilt NAME...: same tag, new content — roll the Deployments that run these images.
restart_rebuilt() {
  local name
  for name in "$@"; do
    case "$name" in
      operator) k rollout restart deployment/tripnest-operator ;;
      web) k rollout restart deployment/web ;;
      pause) continue ;;
      *) k get deployment "$name" >/dev/null 2>&1 && k rollout restart "deployment/$name" ;;
    esac >>"$LOGS/platform.log" 2>&1 && ok "restarted $name (image rebuilt)"
  done
  return 0
}

# `make images`: after a code change, rebuild what changed and roll what runs it.
cmd_images() {
  ensure_rust
  require_stack_env images
  [[ "${TRIPNEST_RUNTIME:-processes}" == cluster ]] || die "images are for the cluster runtime" "" "in the processes runtime 'make up' restarts rebuilt services"
  local log="$LOGS/build-services.log" changed
  cargo build --workspace --bins --manifest-path "$ROOT/Cargo.toml" >>"$log" 2>&1 || die "cargo build of the services" "$log"
  changed="$(bash "$DEV/images.sh" up)" || die "building and loading the images" "$LOGS/images.log"
  restart_rebuilt $changed
  [[ -n "$changed" ]] || ok "every image is current"
}

# The platform as host processes, one per service on its own loopback port.
processes_up() {
  local bin="$CARGO_TARGET_DIR/debug" token base_db="${DATABASE_URL%/*}"
  token="$(internal_token)"
  for entry in "${SERVICES[@]}"; do
    local name="${entry%%:*}" port="${entry##*:}"
    local settings=(
      APP_HTTP__PORT="$port" APP_LOG__FORMAT=json RUST_LOG="${RUST_LOG:-info}"
      APP_DATABASE_URL="$base_db/$name" APP_KAFKA__BOOTSTRAP_SERVERS="$KAFKA_BOOTSTRAP_SERVERS"
      APP_INTERNAL_TOKEN="$token" APP_JWKS_URL="http://127.0.0.1:8081/.well-known/jwks.json"
      APP_SMTP_URL="$SMTP_URL" APP_REDIS_URL="$REDIS_URL" APP_MONGODB_URI="$MONGODB_URI"
      APP_BOOKING_URL="http://127.0.0.1:8082" KUBECONFIG="$KUBECONFIG"
      APP_RATE_LIMITS__AUTH__BURST="${TRIPNEST_AUTH_BURST:-60}"
    )
    # The operator reconciles only the namespace the examples go to: other namespaces belong to
    # tests (each runs its own operator there), which an admin-rights operator would disturb.
    [[ "$name" == operator ]] && settings+=(APP_WATCH_NAMESPACE="$CATALOG_NAMESPACE" APP_LEADER__LEASE_NAMESPACE="$CATALOG_NAMESPACE")
    # A running service is left alone unless its binary was rebuilt or its settings changed.
    local stamp="$RUN/svc-$name.binary" built
    built="$(stat -c %Y "$bin/tripnest-$name" 2>/dev/null || echo 0) $(printf '%s\n' "${settings[@]}" | sha256sum | cut -c1-16)"
    if running "svc-$name" && svc_health "$port" && [[ "$(cat "$stamp" 2>/dev/null)" == "$built" ]]; then ok "$name already running on $port"; continue; fi
    running "svc-$name" && step "restarting $name (binary rebuilt or settings changed)"
    stop_bg "svc-$name"
    echo "$built" >"$stamp"
    port_free "$port" "$name" "its port in dev/services.sh"
    start_bg "svc-$name" env "${settings[@]}" "$bin/tripnest-$name"
    wait_for "svc-$name" "${TRIPNEST_WAIT:-60}" svc_health "$port"
    ok "$name on http://127.0.0.1:$port"
  done
  apply_catalog "$ROOT/crds/examples/hotels.yaml" "$ROOT/crds/examples/inventories.yaml"
  step "services are up — gateway http://127.0.0.1:8080, logs $LOGS/svc-*.log, internal token in $STATE/internal-token"
}

# apply_catalog EXAMPLES...: the CRDs (kept current even where the chart installed them), then
# the example Hotels and Inventories (and, for processes, the ServiceDeployments the chart renders on a
# cluster): the operator syncs the hotels into booking's catalog and their inventories into
# its calendar.
apply_catalog() {
  local log="$LOGS/kubectl-apply.log" f
  step "applying the CRDs and the examples (log: $log)"
  { k apply --server-side --force-conflicts -f "$ROOT/crds/" &&
    k wait --for condition=established --timeout=60s crd/hotels.tripnest.io crd/inventories.tripnest.io crd/servicedeployments.tripnest.io; } >>"$log" 2>&1 ||
    die "kubectl apply of the CRDs" "$log"
  for f in "$@"; do k apply -f "$f" >>"$log" 2>&1 || die "kubectl apply -f $f" "$log"; done
  if k wait --for condition=Ready --timeout=60s hotels.tripnest.io --all >>"$log" 2>&1; then
    ok "example hotels are Ready: kubectl get hotels"
  else
    warn "example hotels are not Ready yet; see 'kubectl describe hotels' and the operator's log"
  fi
}

# The hotel manager the example hotels list (crds/examples/hotels.yaml `managers`), so the
# manager page has someone to sign in as. Created once through user's internal API.
demo_manager() {
  local email=manager@tripnest.local password="${TRIPNEST_MANAGER_PASSWORD:-lantern-harbour-demo-42}" status
  status="$(curl -sS -m 10 -o "$LOGS/demo-manager.json" -w '%{http_code}' -X POST "$(internal_url user 8081)/internal/users" \
    -H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
    -d "{\"email\":\"$email\",\"password\":\"$password\",\"name\":\"Demo Manager\",\"role\":\"manager\"}")" || status=000
  case "$status" in
    201 | 409) ok "demo manager: sign in as $email / $password (TRIPNEST_MANAGER_PASSWORD) and open /manager" ;;
    *) warn "could not create the demo manager (HTTP $status, see $LOGS/demo-manager.json)" ;;
  esac
}

cmd_down() {
  local i
  for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
    local name="${SERVICES[i]%%:*}"
    if running "svc-$name"; then step "stopping $name"; fi
    stop_bg "svc-$name"
  done
}

cmd_status() {
  [[ -f "$STATE/stack.env" ]] && { set -a; source "$STATE/stack.env"; set +a; }
  if [[ "${TRIPNEST_RUNTIME:-processes}" == cluster ]]; then
    k get nodes -o wide 2>/dev/null || echo "node: not registered"
    k get servicedeployments.tripnest.io 2>/dev/null || echo "platform: not installed (make up)"
    return 0
  fi
  for entry in "${SERVICES[@]}"; do
    local name="${entry%%:*}" port="${entry##*:}" health=down
    svc_health "$port" && health=ready
    printf '%-16s %-6s http://127.0.0.1:%s  %s\n' "$name" "$health" "$port" "$LOGS/svc-$name.log"
  done
}

case "${1:-}" in
  up) cmd_up ;;
  images) cmd_images ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) echo "usage: $0 up|images|down|status" >&2; exit 2 ;;
esac
