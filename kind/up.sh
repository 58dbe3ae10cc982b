#!/usr/bin/env bash
# TripNest on a local kind cluster, for anyone with Docker:
#
#   kind/up.sh          create the cluster (kind/cluster.yaml), build the ten images and load
#                       them into it, install the dev-grade dependencies (kind/deps.yaml) and the
#                       chart (charts/tripnest with kind/values.yaml), apply the example Hotels
#                       and Inventories, then port-forward the web UI (localhost:3000), the
#                       gateway (localhost:8080) and the mail viewer (localhost:8025) until Ctrl-C
#   kind/up.sh forward  only the port-forwards (the cluster is already up)
#   kind/up.sh down     delete the cluster
#
# Needs docker (with a running engine), kind, helm 3 and kubectl. Settings: KIND_CLUSTER
# (default tripnest), TRIPNEST_NAMESPACE (tripnest), KIND_NODE_IMAGE (kind's default when
# empty), WEB_PORT (3000), GATEWAY_PORT (8080), MAIL_PORT (8025).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLUSTER="${KIND_CLUSTER:-tripnest}"
NS="${TRIPNEST_NAMESPACE:-tripnest}"
CONTEXT="kind-$CLUSTER"
WEB_PORT="${WEB_PORT:-3000}" GATEWAY_PORT="${GATEWAY_PORT:-8080}" MAIL_PORT="${MAIL_PORT:-8025}"
# image name : Dockerfile : build context (relative to the root)
IMAGES=(
  operator:operator/Dockerfile:. gateway:services/gateway/Dockerfile:. user:services/user/Dockerfile:.
  booking:services/booking/Dockerfile:. payment:services/payment/Dockerfile:.
  notification:services/notification/Dockerfile:. search:services/search/Dockerfile:.
  recommendation:services/recommendation/Dockerfile:. review:services/review/Dockerfile:.
  web:frontend/Dockerfile:frontend
)

step() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
ok() { printf '    \033[32mok\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31mFAILED\033[0m %s\n' "$1" >&2; [[ -n "${2:-}" ]] && printf '    try: %s\n' "$2" >&2; exit 1; }
k() { kubectl --context "$CONTEXT" -n "$NS" "$@"; }

check_tools() {
  local missing=()
  command -v docker >/dev/null || missing+=("docker (https://docs.docker.com/engine/install/)")
  command -v kind >/dev/null || missing+=("kind (https://kind.sigs.k8s.io/docs/user/quick-start/#installation)")
  command -v helm >/dev/null || missing+=("helm 3 (https://helm.sh/docs/intro/install/)")
  command -v kubectl >/dev/null || missing+=("kubectl (https://kubernetes.io/docs/tasks/tools/)")
  if ((${#missing[@]})); then
    printf '\033[1;31mFAILED\033[0m kind/up.sh needs these on PATH:\n' >&2
    printf '    - %s\n' "${missing[@]}" >&2
    exit 1
  fi
  docker info >/dev/null 2>&1 || die "docker is installed but its engine does not answer" "start Docker (or add yourself to the docker group), then re-run"
  [[ "$(helm version --template '{{.Version}}')" == v3.* ]] || die "helm 3 is needed, found $(helm version --template '{{.Version}}')"
}

create_cluster() {
  if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then ok "kind cluster $CLUSTER exists"; return; fi
  step "creating kind cluster $CLUSTER"
  kind create cluster --name "$CLUSTER" --config "$ROOT/kind/cluster.yaml" ${KIND_NODE_IMAGE:+--image "$KIND_NODE_IMAGE"} --wait 120s
}

build_images() {
  local entry name file ctx refs=()
  for entry in "${IMAGES[@]}"; do
    IFS=: read -r name file ctx <<<"$entry"
    step "building tripnest/$name:dev ($file)"
    DOCKER_BUILDKIT=1 docker build -q -f "$ROOT/$file" -t "tripnest/$name:dev" "$ROOT/$ctx" >/dev/null ||
      die "docker build of $name" "docker build -f $file $ctx   (to see the whole output)"
    refs+=("tripnest/$name:dev")
  done
  step "loading ${#refs[@]} images into $CLUSTER"
  kind load docker-image --name "$CLUSTER" "${refs[@]}"
}

install() {
  step "dependencies (PostgreSQL, Redis, Kafka, FerretDB, Mailpit) in namespace $NS"
  kubectl --context "$CONTEXT" create namespace "$NS" --dry-run=client -o yaml | kubectl --context "$CONTEXT" apply -f - >/dev/null
  k apply -f "$ROOT/kind/deps.yaml" >/dev/null
  k rollout status deploy/postgres deploy/redis deploy/kafka deploy/ferretdb deploy/mailpit --timeout=5m
  step "helm upgrade --install tripnest charts/tripnest"
  helm --kube-context "$CONTEXT" upgrade --install tripnest "$ROOT/charts/tripnest" -n "$NS" -f "$ROOT/kind/values.yaml" --wait --timeout 5m
  step "waiting for the operator to create and start every service"
  local sds; sds="$(k get servicedeployments -o name | wc -l)"
  until [[ "$(k get deploy -l app.kubernetes.io/managed-by=tripnest-operator -o name | wc -l)" -ge "$sds" ]]; do sleep 2; done
  k wait --for=condition=Available deploy -l app.kubernetes.io/managed-by=tripnest-operator --timeout=10m
  # The chart already declares the platform; crds/examples/platform.yaml is the same set of
  # ServiceDeployments for a cluster without the chart, so only hotels and rooms are applied.
  step "example Hotels and Inventories (crds/examples)"
  k apply -f "$ROOT/crds/examples/hotels.yaml" -f "$ROOT/crds/examples/inventories.yaml" >/dev/null
  k wait --for=condition=Ready hotels --all --timeout=5m
  k wait --for=condition=Ready inventories --all --timeout=5m
  ok "$(k get hotels -o name | wc -l) hotels on sale"
}

forward() {
  step "port-forwarding (Ctrl-C stops)"
  local pids=()
  k port-forward svc/web "$WEB_PORT:80" >/dev/null & pids+=($!)
  k port-forward svc/gateway "$GATEWAY_PORT:80" >/dev/null & pids+=($!)
  k port-forward svc/mailpit "$MAIL_PORT:8025" >/dev/null & pids+=($!)
  trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT INT TERM
  cat >&2 <<MSG

    TripNest runs in kind cluster '$CLUSTER', namespace '$NS':
      web UI        http://localhost:$WEB_PORT        (search Lisbon, sign up, book with pm_card_visa)
      gateway API   http://localhost:$GATEWAY_PORT/api/docs
      mail viewer   http://localhost:$MAIL_PORT       (the booking confirmation lands here)
      kubectl --context $CONTEXT -n $NS get servicedeployments,hotels,inventories,cronjobs

MSG
  wait
}

case "${1:-up}" in
  up) check_tools; create_cluster; build_images; install; forward ;;
  forward) command -v kubectl >/dev/null || die "kubectl is missing"; forward ;;
  down) command -v kind >/dev/null || die "kind is missing"; kind delete cluster --name "$CLUSTER" ;;
  *) echo "usage: $0 [up|forward|down]" >&2; exit 2 ;;
esac
