#!/usr/bin/env bash
# Fuzz the public API with schemathesis against the document the gateway serves, signed in,
# with every check, bounded in examples and time; part of `make test`. It fails on any check
# that fails: a 5xx, an undocumented status or content type, a body that does not match its
# schema, data the document forbids being accepted, or data it allows being refused.
#
#   dev/fuzz.sh                      against $GATEWAY_URL (the running platform)
#   FUZZ_EXAMPLES=200 dev/fuzz.sh    a longer run (default 25 per operation)
#
# Reports (JUnit, and a pytest file reproducing each failure) land in .tripnest/fuzz/.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$DEV/versions.env"
cd "$ROOT"

[[ -f "$STATE/stack.env" ]] && { set -a; . "$STATE/stack.env"; set +a; }
GATEWAY_URL="${GATEWAY_URL:-http://127.0.0.1:8080}"
VENV="$CACHE/schemathesis-$SCHEMATHESIS_VERSION"
OUT="$STATE/fuzz"

ensure_schemathesis() {
  [[ -x "$VENV/bin/st" ]] && return 0
  step "installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
  rm -rf "$VENV"
  { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION"; } >"$LOGS/schemathesis-install.log" 2>&1 ||
    die "pip install schemathesis==$SCHEMATHESIS_VERSION" "$LOGS/schemathesis-install.log" "check that PyPI is reachable"
}

# A fresh traveller for this run: its access token signs every request.
sign_in() {
  local email="fuzz-$(date +%s)-$RANDOM@tripnest.test" password body
  password="fz-$(head -c 12 /dev/urandom | base64 | tr -d '/+=')-Q7"
  curl -fsS -m 10 --retry 15 --retry-delay 2 --retry-all-errors -o /dev/null -H 'content-type: application/json' \
    -d "{\"email\":\"$email\",\"password\":\"$password\",\"name\":\"Fuzz Traveller\"}" "$GATEWAY_URL/api/auth/register" ||
    die "register the fuzz user at $GATEWAY_URL" "" "is the platform up? make up"
  body="$(curl -fsS -m 10 --retry 15 --retry-delay 2 --retry-all-errors -H 'content-type: application/json' \
    -d "{\"email\":\"$email\",\"password\":\"$password\"}" "$GATEWAY_URL/api/auth/login")" ||
    die "sign the fuzz user in at $GATEWAY_URL"
  python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])' <<<"$body" 2>/dev/null ||
    die "register the fuzz user: unexpected answer: $body"
}

# The platform answers before the fuzzing starts (its Pods may just have been rolled).
wait_for_gateway() {
  local deadline=$((SECONDS + 120))
  until curl -fsS -m 5 -o /dev/null "$GATEWAY_URL/readyz" 2>/dev/null; do
    ((SECONDS < deadline)) || die "the gateway at $GATEWAY_URL/readyz did not answer within 120 s" "" "is the platform up? make up"
    sleep 1
  done
}

# On the node, every ServiceDeployment Ready first: an earlier test (a broker restart) may have
# restarted a Pod, and a fuzz run against a service still starting reports its 502s as defects.
wait_for_platform() {
  [[ "${TRIPNEST_RUNTIME:-processes}" == cluster ]] || return 0
  kubectl --kubeconfig "$KUBECONFIG" -n "${TRIPNEST_NAMESPACE:-default}" wait --for=condition=Ready \
    servicedeployments.tripnest.io --all --timeout=240s >&2 || { platform_state; die "not every ServiceDeployment is Ready"; }
}

# What the platform looked like, printed when the fuzzing failed, so a CI log says why.
platform_state() {
  [[ "${TRIPNEST_RUNTIME:-processes}" == cluster ]] || return 0
  local k=(kubectl --kubeconfig "$KUBECONFIG" -n "${TRIPNEST_NAMESPACE:-default}") pod
  {
    echo "--- the platform after the fuzz run: kubectl get servicedeployments,pods"
    "${k[@]}" get servicedeployments.tripnest.io,pods -o wide
    echo "--- recent events"
    "${k[@]}" get events --sort-by=.lastTimestamp | tail -25
    for pod in $("${k[@]}" get pods -o name); do
      if "${k[@]}" get "$pod" -o jsonpath='{.status.containerStatuses[*].restartCount}' | grep -qv '^0*$'; then
        echo "--- $pod restarted; the log of its previous container:"
        "${k[@]}" logs "$pod" --previous --tail=40
      fi
    done
    echo "--- the last lines of booking's log"
    "${k[@]}" logs deployment/booking --tail=30
  } >&2 2>&1 || true
}

ensure_schemathesis
wait_for_platform
wait_for_gateway
token="$(sign_in)"
rm -rf "$OUT"; mkdir -p "$OUT"
step "schemathesis: every operation of $GATEWAY_URL/api/openapi.json, all checks, ${FUZZ_EXAMPLES:-25} examples each"
# One worker: with two, Hypothesis's lambda-source cache once raised "AST constructor recursion
# depth mismatch" inside schemathesis (a runtime error of the tool, not an API failure).
# The run stays under the gateway's default budget (600/min per caller); the sign-in routes'
# much smaller budget still answers 429 at times, a documented answer of every operation.
timeout --signal INT --kill-after 30 "${FUZZ_TIMEOUT:-300}" \
  "$VENV/bin/st" --config-file "$DEV/schemathesis.toml" run "$GATEWAY_URL/api/openapi.json" \
  --checks all \
  --header "Authorization: Bearer $token" \
  --max-examples "${FUZZ_EXAMPLES:-25}" \
  --max-time "${FUZZ_MAX_TIME:-180}" \
  --seed "${FUZZ_SEED:-20261129}" \
  --workers "${FUZZ_WORKERS:-1}" \
  --rate-limit "${FUZZ_RATE:-8/s}" \
  --request-timeout 15 \
  --generation-allow-x00 true \
  --generation-database none \
  --no-color \
  --report junit,pytest --report-dir "$OUT" || { rc=$?; platform_state; exit "$rc"; }
