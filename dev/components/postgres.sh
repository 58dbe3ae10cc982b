# PostgreSQL from Debian's packages (or any postgres/initdb already on PATH), one cluster in $STATE.
POSTGRES_PORT="${POSTGRES_PORT:-15432}"
PG_DATA="$STATE/postgres"

pg_bindir() {
  if need_cmd initdb && need_cmd postgres && need_cmd pg_ctl; then dirname "$(command -v postgres)"; return; fi
  local d; d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
  [[ -n "$d" ]] && echo "$d"
}

postgres_install() {
  [[ -n "$(pg_bindir)" ]] && need_cmd psql && return 0
  apt_install postgresql postgresql-client
  [[ -n "$(pg_bindir)" ]] || die "postgres install" "$LOGS/apt.log" "apt-get install postgresql"
}

# The server refuses to run as root, so the cluster belongs to a plain user when we are root.
as_pg() {
  if [[ $(id -u) -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
    runuser -u postgres -- "$@"
  else "$@"; fi
}

postgres_start() {
  adopt_running postgres "${TRIPNEST_WAIT:-60}" postgres_health && { ok "postgres already running on $POSTGRES_PORT"; return 0; }
  port_free "$POSTGRES_PORT" postgres POSTGRES_PORT
  local bin; bin="$(pg_bindir)"
  mkdir -p "$PG_DATA" "$STATE/pg-socket"
  if [[ $(id -u) -eq 0 ]]; then as_pg true; chown -R postgres "$PG_DATA" "$STATE/pg-socket"; chmod 755 "$STATE"; fi
  if [[ ! -f "$PG_DATA/PG_VERSION" ]]; then
    as_pg "$bin/initdb" -D "$PG_DATA" -U postgres --auth=trust -E UTF8 >>"$LOGS/postgres.log" 2>&1 ||
      die "postgres initdb" "$LOGS/postgres.log" "rm -rf $PG_DATA and retry"
  fi
  local runas=()
  [[ $(id -u) -eq 0 ]] && runas=(runuser -u postgres --)
  # Per-statement counters (`SELECT … FROM pg_stat_statements`) when the contrib module is
  # installed: the bench reads them to say where the database's time goes.
  local extra=()
  [[ -f "$(dirname "$(readlink -f "$bin/postgres")")/../lib/pg_stat_statements.so" ]] && extra=(-c shared_preload_libraries=pg_stat_statements)
  # Durability is traded for speed: this cluster holds test and demo data only. The buffers
  # hold the large bench seed's hot set (booking's calendar and its index are ~480 MB): with
  # 256 MB, bookings at 200/s spent most of their statement time in `DataFileRead`.
  start_bg postgres "${runas[@]}" "$bin/postgres" -D "$PG_DATA" -p "$POSTGRES_PORT" \
    -c listen_addresses=127.0.0.1 -c unix_socket_directories="$STATE/pg-socket" \
    -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400 \
    -c shared_buffers=1GB "${extra[@]}"
  wait_for postgres "${TRIPNEST_WAIT:-60}" postgres_health
  ok "postgres on 127.0.0.1:$POSTGRES_PORT"
}

postgres_health() { psql "postgres://postgres@127.0.0.1:$POSTGRES_PORT/postgres" -Atqc 'select 1' | grep -q 1; }
postgres_env() { echo "DATABASE_URL=postgres://postgres:postgres@127.0.0.1:$POSTGRES_PORT/postgres"; }
postgres_procs() { echo postgres; }
# SIGTERM is a "smart" shutdown that waits for every client; fast mode ends sessions at once.
postgres_stop() {
  running postgres || return 0
  step "stopping postgres (fast)"
  as_pg "$(pg_bindir)/pg_ctl" -D "$PG_DATA" -m fast -w -t 30 stop >>"$LOGS/postgres.log" 2>&1 || true
}
