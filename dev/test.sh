#!/usr/bin/env bash
# The whole test command (`make test`): bring up the local stack if it is not already up,
# check formatting and lints, build every binary, install the platform (as Pods on the local
# node, or as processes where no node runs), run every workspace test against the real engines
# (the cluster tests install the chart into namespaces of their own), fuzz the public API with
# schemathesis (dev/fuzz.sh), check the chart, images
# and kind manifests (dev/chart-test.sh), run the browser tests, and stop what this script
# started — even when a test fails — then check that the node left nothing on the host.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

started_stack=0
cleanup() {
  local rc=$?
  if ((started_stack)); then
    step "stopping what this run started"
    bash "$DEV/web.sh" down || true
    bash "$DEV/services.sh" down || true
    bash "$DEV/stack.sh" down || true
    local left; left="$(bash "$DEV/stack.sh" leftovers 2>&1)" || left="dev/stack.sh leftovers failed: $left"
    if [[ -n "$left" ]]; then
      printf '\033[1;31mmake down left this on the host:\033[0m\n%s\n' "$left" >&2
      ((rc == 0)) && rc=1
    fi
  fi
  if ((rc == 0)); then step "all tests passed in $((SECONDS))s"; else printf '\033[1;31mtests FAILED\033[0m (exit %s) — logs in %s\n' "$rc" "$LOGS" >&2; fi
  exit $rc
}
trap cleanup EXIT

source "$DEV/toolchain.sh"
ensure_rust

if bash "$DEV/stack.sh" status >/dev/null 2>&1; then
  step "stack already up: using it and leaving it running"
else
  started_stack=1
  bash "$DEV/stack.sh" up
fi

step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
step "cargo build --workspace --bins"
cargo build --workspace --bins --locked
# The services before the tests: the operator from `make up` must be the one scoped to the
# examples' namespace (services.sh restarts an older, cluster-wide one), or it would reconcile
# the tests' namespaces too.
step "the services (the operator watches only the examples' namespace)"
bash "$DEV/services.sh" up
# The cluster tests install the chart with helm.
source "$DEV/components/helm.sh"
ensure_helm
export HELM
step "cargo test --workspace"
cargo test --workspace --locked --no-fail-fast -- --test-threads "${TEST_THREADS:-4}"
step "fuzz the public API against its generated OpenAPI document (dev/fuzz.sh)"
bash "$DEV/fuzz.sh"
step "kubelet and containerd restarts leave Pods running (alone, after the other tests)"
cargo test --locked -p tripnest-e2e --test node_restart -- --ignored
step "the Helm chart, the Dockerfiles and the kind manifests (dev/chart-test.sh)"
bash "$DEV/chart-test.sh"
step "web UI tests (Playwright in Debian's Chromium, against the services)"
bash "$DEV/web.sh" test
step "make clean-tests: drop what this run's tests left in the stack"
bash "$DEV/clean.sh" --topics
