#!/usr/bin/env bash
# Checks of everything that ships to a cluster (part of `make test`, after the cargo tests):
#
#   static   the Rust Dockerfiles are what dev/docker/rust.Dockerfile.in makes; dev/images.sh's local
#            recipe still matches every Dockerfile (`dev/images.sh check`); every Dockerfile passes
#            hadolint (the general rules) and dev/dockerfile-lint (BuildKit's parser + our
#            policy; its own tests include bad fixtures); the build contexts stay under 20 MB with their .dockerignore applied;
#            the scripts parse (bash -n, shellcheck when installed).
#   render   `helm lint --strict` and `helm template` of the default values, of every
#            charts/tripnest/ci/*.yaml and of kind/values.yaml;
#            every dev/chart-test/bad-values/*.yaml is refused with the message it expects
#            (by values.schema.json, or by the templates' own checks that a schema cannot say).
#   cluster  against the local control plane, in a fresh namespace deleted afterwards:
#            server-side dry runs of every rendering (and kind/deps.yaml, the examples),
#            including external Services with their EndpointSlices and NodePorts;
#            `helm install`; `kubectl auth can-i` with the operator's real ServiceAccount
#            token (yes to its work, no to Secrets, other namespaces, RBAC, ...); then the
#            operator binary runs as a local process with that token, and the test waits until
#            every Deployment, Service, ConfigMap, HPA, PDB, CronJob and Kafka topic that the
#            chart's ServiceDeployments and the example Inventories ask for exists.
#
#   dev/chart-test.sh [static|render|cluster|all]     (default: all)
#
# The cluster part needs the stack (`make up`). TRIPNEST_TEST_KUBECONFIG points it at another
# API server. It refuses to run while the operator from `make up` watches every namespace: that
# operator would reconcile the test namespace too (with admin rights), so the RBAC check would
# prove nothing, and deleting the example Hotels would take them off sale in the dev stack.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$DEV/components/helm.sh"
source "$DEV/components/hadolint.sh"
cd "$ROOT" || exit 1

CHART="$ROOT/charts/tripnest"
FIX="$DEV/chart-test"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/tripnest-chart-test.XXXXXX")"
T0=$SECONDS

# until_ok WHAT TIMEOUT CMD...: poll CMD until it succeeds, or fail saying what never happened.
until_ok() {
  local what="$1" deadline=$((SECONDS + $2)); shift 2
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "timed out waiting for $what" "${LOG_HINT:-}" "the namespace is kept until this script exits; logs are in $WORK"
    sleep 0.5
  done
}

static_checks() {
  step "Dockerfiles: generated from the template, then linted by hadolint and our policy"
  bash "$DEV/dockerfiles.sh" check
  bash "$DEV/images.sh" check
  need_cmd go || die "Go is missing (needed for the Dockerfile linter)" "" "install Go ≥ 1.24"
  local log="$LOGS/dockerfile-lint.log" files
  (cd "$DEV/dockerfile-lint" && go test ./... && go build -o "$WORK/dockerfile-lint" .) >"$log" 2>&1 ||
    die "dockerfile-lint's own tests (bad fixtures must be refused with clear messages)" "$log"
  mapfile -t files < <(bash "$DEV/dockerfiles.sh" list)
  "$WORK/dockerfile-lint" "${files[@]}" >"$log" 2>&1 || die "Dockerfile policy" "$log" "fix the lines named above"
  ensure_hadolint
  "$HADOLINT" --no-color "${files[@]}" >"$log" 2>&1 || die "hadolint" "$log" "fix the lines named above (rule ids: https://github.com/hadolint/hadolint#rules)"
  # The general rules are hadolint's now: a fixture that breaks them must still be refused.
  local bad="$DEV/dockerfile-lint/testdata/root.Dockerfile" rule
  "$HADOLINT" --no-color "$bad" >"$log" 2>&1 && die "hadolint passed $bad" "$log"
  for rule in DL3015 DL3025 DL3002; do
    grep -q "$rule" "$log" || die "hadolint did not name $rule in $bad" "$log"
  done
  ok "${#files[@]} Dockerfiles: hadolint $HADOLINT_VERSION clean; syntax (BuildKit's parser), pinned bases, numeric non-root USER"
  # What `docker build` would send, with the .dockerignore applied by Docker's own pattern library.
  for f in "$ROOT" "$ROOT/frontend"; do
    "$WORK/dockerfile-lint" -context "$f" 20 >"$log" 2>&1 || die "build context of ${f#"$ROOT"/}" "$log"
    ok "$(sed "s|$ROOT|.|" "$log")"
  done

  step "scripts parse"
  for f in kind/up.sh dev/*.sh dev/components/*.sh; do bash -n "$f" || die "bash -n $f"; done
  if need_cmd shellcheck; then shellcheck -S warning kind/up.sh dev/chart-test.sh dev/dockerfiles.sh dev/images.sh || die "shellcheck"; else warn "shellcheck not installed: only bash -n"; fi
  ok "kind/up.sh and dev/*.sh"
}

# render NAME ARGS...: helm template into $WORK/NAME.yaml.
render() {
  local name="$1"; shift
  "$HELM" template "$@" >"$WORK/$name.yaml" 2>"$WORK/$name.err" || die "helm template ($name): $(cat "$WORK/$name.err")"
}

render_checks() {
  ensure_helm
  step "helm lint and helm template: defaults and charts/tripnest/ci/*.yaml"
  "$HELM" lint --strict "$CHART" >"$WORK/lint.log" 2>&1 || die "helm lint --strict" "$WORK/lint.log"
  render default tripnest "$CHART" -n tripnest
  local f n
  for f in "$CHART"/ci/*.yaml; do
    "$HELM" lint --strict "$CHART" -f "$f" >"$WORK/lint.log" 2>&1 || die "helm lint --strict -f ${f#"$ROOT"/}" "$WORK/lint.log"
    render "ci-$(basename "$f" .yaml)" tripnest "$CHART" -n tripnest -f "$f"
  done
  render kind tripnest "$CHART" -n tripnest -f "$ROOT/kind/values.yaml"
  # What `make up` installs on the local node.
  "$HELM" lint --strict "$CHART" -f "$ROOT/dev/node/values.yaml" >"$WORK/lint.log" 2>&1 || die "helm lint --strict -f dev/node/values.yaml" "$WORK/lint.log"
  render local-node tripnest "$CHART" -n default -f "$ROOT/dev/node/values.yaml"
  for f in "$WORK"/default.yaml "$WORK"/ci-*.yaml "$WORK"/kind.yaml "$WORK"/local-node.yaml; do
    n="$(grep -c '^kind:' "$f")"
    ok "$(basename "$f" .yaml): $n objects ($(grep '^kind:' "$f" | sort | uniq -c | awk '{printf "%s %s, ", $1, $3}' | sed 's/, $//'))"
  done

  step "bad values are refused (values.schema.json, the templates' checks) with a message naming the field"
  for f in "$FIX"/bad-values/*.yaml; do
    local want out
    want="$(sed -n 's/^# expect: //p' "$f")"
    [[ -n "$want" ]] || die "${f#"$ROOT"/} has no '# expect: <message>' line"
    if out="$("$HELM" template t "$CHART" -f "$f" 2>&1)"; then die "helm accepted ${f#"$ROOT"/}; the schema must refuse it"; fi
    grep -qF -- "$want" <<<"$out" || die "${f#"$ROOT"/} was refused, but not with \"$want\": $out"
    ok "$(basename "$f" .yaml): $want"
  done
}

source "$DEV/chart-test/cluster.sh"

case "${1:-all}" in
  static) static_checks ;;
  render) render_checks ;;
  cluster) render_checks; cluster_checks ;;
  all) static_checks; render_checks; cluster_checks ;;
  *) echo "usage: $0 [static|render|cluster|all]" >&2; exit 2 ;;
esac
rm -rf "$WORK"
step "chart checks passed in $((SECONDS - T0))s"
