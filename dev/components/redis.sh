# Redis from Debian's packages, persistence off (it holds rate limits and caches only).
REDIS_PORT="${REDIS_PORT:-16379}"

redis_install() { need_cmd redis-server && need_cmd redis-cli && return 0; apt_install redis-server redis-tools; }

redis_start() {
  adopt_running redis "${TRIPNEST_WAIT:-60}" redis_health && { ok "redis already running on $REDIS_PORT"; return 0; }
  port_free "$REDIS_PORT" redis REDIS_PORT
  mkdir -p "$STATE/redis"
  start_bg redis redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$STATE/redis" \
    --save '' --appendonly no --daemonize no
  wait_for redis "${TRIPNEST_WAIT:-30}" redis_health
  ok "redis on 127.0.0.1:$REDIS_PORT"
}

redis_health() { [[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping)" == PONG ]]; }
redis_env() { echo "REDIS_URL=redis://127.0.0.1:$REDIS_PORT"; }
redis_procs() { echo redis; }
