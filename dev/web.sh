#!/usr/bin/env bash
# The TripNest web UI (frontend/, Next.js) on loopback, talking to the gateway of the local stack.
#
#   dev/web.sh up       npm ci (when the lockfile changed), next build (when the sources changed),
#                       then `next start` on 127.0.0.1:$WEB_PORT (default 3000), health-checked
#   dev/web.sh down     stop it
#   dev/web.sh status   show it
#   dev/web.sh test     type check + formatting, then the Playwright tests (unit, and browser tests
#                       in Debian's Chromium against the running stack; starts the UI for the run
#                       if it was not up, and stops it again)
#
# Dependencies come from the npm registry through the npm cache in ~/.npm (NPM_CACHE); the
# build and node_modules stay in frontend/ (git-ignored). Logs: .tripnest/logs/web.log,
# build-web.log. The browser tests need the services: `bash dev/services.sh up` first.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WEB="$ROOT/frontend"
WEB_PORT="${WEB_PORT:-3000}"
NPM_CACHE="${NPM_CACHE:-$HOME/.npm}"
export NEXT_TELEMETRY_DISABLED=1 npm_config_cache="$NPM_CACHE" npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

web_health() { curl -fsS -m 2 "http://127.0.0.1:$WEB_PORT/healthz" >/dev/null 2>&1; }

# The stack's addresses (GATEWAY_URL, MAIL_API_URL, …) from `make up`; the environment wins.
load_stack_env() {
  local gateway="${GATEWAY_URL:-}"
  if [[ -f "$STATE/stack.env" ]]; then set -a; source "$STATE/stack.env"; set +a; fi
  export GATEWAY_URL="${gateway:-${GATEWAY_URL:-http://127.0.0.1:8080}}"
  export WEB_URL="http://127.0.0.1:$WEB_PORT"
}

ensure_node() {
  need_cmd node && need_cmd npm || die "Node.js is missing" "" "install Node.js 20.9 or newer (Debian: apt-get install nodejs npm)"
  local v; v="$(node -p 'process.versions.node')"
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=9)?0:1)' ||
    die "Node.js $v is too old for Next.js" "" "install Node.js 20.9 or newer"
}

# A fingerprint of a list of files (content and names).
fingerprint() { (cd "$WEB" && find "$@" -type f -print0 2>/dev/null | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1); }

ensure_deps() {
  local want have="" stamp="$WEB/node_modules/.tripnest-lock"
  want="$(fingerprint package.json package-lock.json)"
  [[ -f "$stamp" ]] && have="$(cat "$stamp")"
  [[ "$want" == "$have" ]] && return 0
  local log="$LOGS/build-web.log"
  step "installing the web UI's npm packages (cache: $NPM_CACHE; log: $log)"
  (cd "$WEB" && npm ci --prefer-offline --no-audit --no-fund) >>"$log" 2>&1 ||
    die "npm ci in frontend/" "$log" "check that the npm registry is reachable (npm ping)"
  echo "$want" >"$stamp"
}

# Build when the sources, config or dependencies changed since the last build; prints 1 if it built.
ensure_build() {
  local want have="" stamp="$WEB/.next/.tripnest-build"
  want="$(fingerprint src package-lock.json next.config.ts tsconfig.json postcss.config.mjs)"
  [[ -f "$stamp" ]] && have="$(cat "$stamp")"
  if [[ "$want" == "$have" && -f "$WEB/.next/BUILD_ID" ]]; then echo 0; return 0; fi
  local log="$LOGS/build-web.log"
  stop_bg web # never serve from a .next that is being rewritten
  step "building the web UI (next build; log: $log)"
  (cd "$WEB" && ./node_modules/.bin/next build) >>"$log" 2>&1 || die "next build" "$log" "run 'cd frontend && npx next build' to see the error"
  echo "$want" >"$stamp"
  (cd "$WEB" && node scripts/route-js.mjs) >&2 || true
  echo 1
}

cmd_up() {
  load_stack_env
  # On the local node the web UI is a Pod the chart runs (dev/services.sh), behind a NodePort.
  if [[ "${TRIPNEST_RUNTIME:-processes}" == cluster ]]; then
    web_health || die "the web UI Pod does not answer on $WEB_URL" "$LOGS/platform.log" "kubectl describe pods -l app.kubernetes.io/name=web; make up"
    ok "web UI (a Pod) on $WEB_URL"
    return 0
  fi
  ensure_node
  ensure_deps
  local built; built="$(ensure_build)"
  if [[ "$built" == 0 ]] && adopt_running web "${TRIPNEST_WAIT:-60}" web_health; then
    ok "web UI already running on $WEB_URL"
    return 0
  fi
  stop_bg web
  port_free "$WEB_PORT" "web UI" WEB_PORT
  start_bg web env GATEWAY_URL="$GATEWAY_URL" PUBLIC_GATEWAY_URL="${PUBLIC_GATEWAY_URL:-}" NODE_ENV=production \
    "$WEB/node_modules/.bin/next" start "$WEB" --hostname 127.0.0.1 --port "$WEB_PORT"
  wait_for web "${TRIPNEST_WAIT:-60}" web_health
  ok "web UI on $WEB_URL (gateway $GATEWAY_URL)"
}

cmd_down() {
  if running web; then step "stopping the web UI"; fi
  stop_bg web
}

cmd_status() {
  local health=down
  web_health && health=ready
  printf '%-16s %-6s http://127.0.0.1:%s  %s\n' web "$health" "$WEB_PORT" "$LOGS/web.log"
}

cmd_test() {
  load_stack_env
  ensure_node
  ensure_deps
  step "web UI: API types fresh from the OpenAPI document, tsc --noEmit and prettier --check"
  (cd "$WEB" && node scripts/gen-api.mjs --check && ./node_modules/.bin/tsc --noEmit && ./node_modules/.bin/prettier --check . >/dev/null) ||
    die "web UI generated API types, type check or formatting" "" "cd frontend && npm run gen:api, npm run format, then npm run check"
  apt_install chromium
  curl -fsS -m 3 "$GATEWAY_URL/healthz" >/dev/null 2>&1 ||
    die "the gateway at $GATEWAY_URL does not answer" "" "start the services first: bash dev/services.sh up"
  local started=0
  running web || started=1
  cmd_up # rebuilds and restarts only when the sources changed
  # On the node the UI is a Pod, but the "gateway unreachable" test starts a second UI server
  # from frontend/.next, so that build must exist and be current there too.
  if [[ "${TRIPNEST_RUNTIME:-processes}" == cluster ]]; then ensure_build >/dev/null; fi
  # The tests seed hotels and a manager through booking's and user's internal APIs.
  BOOKING_INTERNAL_URL="${BOOKING_INTERNAL_URL:-$(internal_url booking 8082)}" || die "booking's address" "" "make up"
  USER_INTERNAL_URL="${USER_INTERNAL_URL:-$(internal_url user 8081)}" || die "user's address" "" "make up"
  export BOOKING_INTERNAL_URL USER_INTERNAL_URL
  local rc=0
  step "web UI tests (Playwright: unit, then browser tests in /usr/bin/chromium; artifacts in frontend/e2e/artifacts/)"
  (cd "$WEB" && CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}" ./node_modules/.bin/playwright test "$@") || rc=$?
  ((started)) && cmd_down
  return "$rc"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  test) shift; cmd_test "$@" ;;
  *) echo "usage: $0 up|down|status|test [playwright args]" >&2; exit 2 ;;
esac
