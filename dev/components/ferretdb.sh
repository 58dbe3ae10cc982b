# A MongoDB wire-protocol server: FerretDB v1 embedded in our tiny Go main (dev/ferretdb),
# storing in the stack's PostgreSQL (database `ferretdb`, one schema per MongoDB database), its
# production backend. (FerretDB's own command panics when built with `go install`, and no
# registry here ships mongod.) Its SQLite backend serialises every write behind one file lock:
# with the read models handling events concurrently it answered SQLITE_BUSY, and on the bench's
# seed it applied 6.6 recommendation and 12.2 search events/s against 33 and 43 on PostgreSQL.
# dev/ferretdb/postgres.sql makes FerretDB's lookups by _id use an index there.
MONGODB_PORT="${MONGODB_PORT:-37017}"
FERRETDB_HOME="$CACHE/ferretdb-$FERRETDB_VERSION"
FERRETDB_BIN="$FERRETDB_HOME/bin/ferretdb"

# The sources' hash: the cached binary is rebuilt when dev/ferretdb changes, not only the version.
ferretdb_src_hash() { cat "$DEV/ferretdb/main.go" "$DEV/ferretdb/go.mod" "$DEV/ferretdb/go.sum" | sha256sum | cut -c1-16; }

ferretdb_install() {
  local hash; hash="$(ferretdb_src_hash)"
  [[ -x "$FERRETDB_BIN" && "$(cat "$FERRETDB_HOME/bin/.src-hash" 2>/dev/null)" == "$hash" ]] && return 0
  need_cmd go || die "ferretdb build: no Go toolchain on PATH" "" "install Go ≥ 1.23 (the Go module proxy must be reachable)"
  # Build from a copy so `go mod tidy` never writes into the clone, pinned to FERRETDB_VERSION.
  local src="$FERRETDB_HOME/src"
  rm -rf "$src" && mkdir -p "$src"
  cp "$DEV/ferretdb/main.go" "$DEV/ferretdb/go.mod" "$DEV/ferretdb/go.sum" "$src/"
  (cd "$src" && go mod edit -require="github.com/FerretDB/FerretDB@v$FERRETDB_VERSION")
  rm -f "$FERRETDB_BIN"
  go_build "ferretdb" "$src" "$FERRETDB_HOME/bin" .
  [[ -x "$FERRETDB_BIN" ]] || die "ferretdb build produced no binary" "$LOGS/build-ferretdb.log" "rm -rf $FERRETDB_HOME and retry"
  echo "$hash" >"$FERRETDB_HOME/bin/.src-hash"
  ok "ferretdb $FERRETDB_VERSION built into $FERRETDB_HOME/bin"
}

ferretdb_start() {
  if adopt_running ferretdb "${TRIPNEST_WAIT:-30}" ferretdb_health; then
    ok "ferretdb already running on $MONGODB_PORT"
    return 0
  fi
  port_free "$MONGODB_PORT" ferretdb MONGODB_PORT
  postgres_health 2>/dev/null || die "ferretdb stores its data in PostgreSQL, which is not running" "" "dev/stack.sh up postgres ferretdb"
  [[ -d "$STATE/ferretdb" ]] && warn "$STATE/ferretdb holds an older stack's SQLite data, no longer read: the read models start empty (make down; rm -rf $STATE; make up)"
  local admin="postgres://postgres:postgres@127.0.0.1:$POSTGRES_PORT/postgres"
  [[ "$(psql "$admin" -Atqc "SELECT 1 FROM pg_database WHERE datname = 'ferretdb'")" == 1 ]] ||
    psql "$admin" -qc "CREATE DATABASE ferretdb" >>"$LOGS/ferretdb.log" 2>&1 || die "creating the ferretdb database" "$LOGS/ferretdb.log"
  # Index lookups by _id (see the file).
  psql "${admin%/postgres}/ferretdb" -q -v ON_ERROR_STOP=1 -f "$DEV/ferretdb/postgres.sql" >>"$LOGS/ferretdb.log" 2>&1 ||
    die "preparing the ferretdb database (dev/ferretdb/postgres.sql)" "$LOGS/ferretdb.log"
  # FERRETDB_DEBUG_ADDR=127.0.0.1:6061 serves Go's pprof there (`go tool pprof http://…/debug/pprof/profile`).
  # A CPU profile under the read models' load showed a quarter of FerretDB's time in Go's
  # garbage collector: GOGC=400 (53 MiB resident instead of 27) took recommendation from 268 to
  # 298 events/s on the bench's small seed.
  GOGC="${FERRETDB_GOGC:-400}" start_bg ferretdb "$FERRETDB_BIN" -listen "127.0.0.1:$MONGODB_PORT" -handler postgresql \
    -postgresql-url "postgres://postgres:postgres@127.0.0.1:$POSTGRES_PORT/ferretdb" ${FERRETDB_DEBUG_ADDR:+-debug-addr "$FERRETDB_DEBUG_ADDR"}
  wait_for ferretdb "${TRIPNEST_WAIT:-30}" ferretdb_health
  ok "ferretdb (MongoDB wire protocol, in PostgreSQL database ferretdb) on 127.0.0.1:$MONGODB_PORT"
}

# One OP_MSG {ping: 1} on the wire; FerretDB's ping also asks its PostgreSQL backend for its status.
ferretdb_health() { [[ -x "$FERRETDB_BIN" ]] && "$FERRETDB_BIN" -ping "mongodb://127.0.0.1:$MONGODB_PORT/" -timeout 3s; }
ferretdb_env() { echo "MONGODB_URI=mongodb://127.0.0.1:$MONGODB_PORT/"; }
ferretdb_procs() { echo ferretdb; }
