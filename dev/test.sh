#!/usr/bin/env bash
# The whole test command (`make test`): bring up the local stack if it is not already up,
# check formatting and lints, build every binary, install the platform (as Pods on the local
# node, or as processes where no node runs), run every workspace test against the real engines
# (the cluster tests install the chart into namespaces of their own), fuzz the public API with
# schemathesis (dev/fuzz.sh), check the chart, images
# and kind manifests (dev/chart-test.sh), run the browser tests, and stop what this script
# started — even when a test fails — then check that the node left nothing on the host.
#
# A failure is summarised in the last lines printed (after the stack has stopped, whose own
# messages go to a log): the step that failed and, for cargo test, each failed test with the
# first line of its panic; for any other step, that step's last lines. CI often shows only the
# end of the output.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

current_step="starting"
step_log="$LOGS/make-test-step.log"
: >"$step_log"
# run_step NAME CMD...: one step of the test command; its output is shown and kept in $step_log
# until the next step, so that a failure can be summarised at the end.
run_step() {
  current_step="$1"
  shift
  step "$current_step"
  "$@" 2>&1 | tee "$step_log"
}

# The failed step, then what failed in it, at most ~20 lines, without colours.
summarise_failure() {
  printf '\033[1;31mfailed step:\033[0m %s (its output: %s)\n' "$current_step" "$step_log"
  local plain; plain="$(sed 's/\x1b\[[0-9;]*m//g' "$step_log")"
  if grep -q '^---- .* stdout ----$' <<<"$plain"; then
    # cargo test: the name of each failed test and the first line of its panic message.
    awk '/^---- .* stdout ----$/ { name = $2; next }
         name != "" && /panicked at/ { getline msg; printf "  %s: %s\n", name, substr(msg, 1, 240); name = "" }' <<<"$plain" | head -n 16
    grep -E "^error: [0-9]+ targets? failed|^    \`-" <<<"$plain" | head -n 6 || true
  else
    tail -n 20 <<<"$plain"
  fi
}

started_stack=0
finished=0
cleanup() {
  local rc=$?
  # A run stopped by a signal reaches here with status 0: it did not pass.
  if ((rc == 0 && !finished)); then
    rc=1
    current_step="$current_step (stopped by a signal before the end)"
  fi
  if ((started_stack)); then
    step "stopping what this run started (log: $LOGS/make-test-stop.log)"
    {
      bash "$DEV/web.sh" down || true
      bash "$DEV/services.sh" down || true
      bash "$DEV/stack.sh" down || true
    } >"$LOGS/make-test-stop.log" 2>&1
    local left; left="$(bash "$DEV/stack.sh" leftovers 2>&1)" || left="dev/stack.sh leftovers failed: $left"
    if [[ -n "$left" ]]; then
      printf '\033[1;31mmake down left this on the host:\033[0m\n%s\n' "$left" >&2
      if ((rc == 0)); then
        rc=1
        current_step="stopping the stack (dev/stack.sh leftovers)"
        printf '%s\n' "$left" >"$step_log"
      fi
    fi
  fi
  if ((rc == 0)); then
    step "all tests passed in $((SECONDS))s"
  else
    summarise_failure >&2 || true
    printf '\033[1;31mtests FAILED\033[0m (exit %s, after %ss) — logs in %s\n' "$rc" "$SECONDS" "$LOGS" >&2
  fi
  exit $rc
}
trap cleanup EXIT

source "$DEV/toolchain.sh"
ensure_rust
# Every clone shares the target directory (keyed by rustc version), but incremental caches are
# kept per clone path: clean clones, as CI makes, left 15 GB of them behind on one machine. The
# test command builds each crate of its clone once anyway, so it does without them.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

if bash "$DEV/stack.sh" status >/dev/null 2>&1; then
  step "stack already up: using it and leaving it running"
else
  started_stack=1
  run_step "the stack (dev/stack.sh up)" bash "$DEV/stack.sh" up
fi

run_step "cargo fmt --check" cargo fmt --all -- --check
run_step "cargo clippy --all-targets -- -D warnings" cargo clippy --workspace --all-targets --locked -- -D warnings
run_step "cargo build --workspace --bins" cargo build --workspace --bins --locked
# The services before the tests: the operator from `make up` must be the one scoped to the
# examples' namespace (services.sh restarts an older, cluster-wide one), or it would reconcile
# the tests' namespaces too.
run_step "the services (the operator watches only the examples' namespace)" bash "$DEV/services.sh" up
# The cluster tests install the chart with helm.
current_step="helm for the cluster tests"
source "$DEV/components/helm.sh"
ensure_helm
export HELM
run_step "cargo test --workspace" cargo test --workspace --locked --no-fail-fast -- --test-threads "${TEST_THREADS:-4}"
run_step "fuzz the public API against its generated OpenAPI document (dev/fuzz.sh)" bash "$DEV/fuzz.sh"
run_step "kubelet and containerd restarts leave Pods running (alone, after the other tests)" \
  cargo test --locked -p tripnest-e2e --test node_restart -- --ignored
run_step "the Helm chart, the Dockerfiles and the kind manifests (dev/chart-test.sh)" bash "$DEV/chart-test.sh"
run_step "web UI tests (Playwright in Debian's Chromium, against the services)" bash "$DEV/web.sh" test
run_step "make clean-tests: drop what this run's tests left in the stack" bash "$DEV/clean.sh" --topics
finished=1
