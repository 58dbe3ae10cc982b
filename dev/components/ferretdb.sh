# A MongoDB wire-protocol server: FerretDB v1 embedded in our tiny Go main (dev/ferretdb),
# storing in SQLite files under $STATE/ferretdb. (FerretDB's own command panics when built with
# `go install`, and no registry here ships mongod.)
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
  mkdir -p "$STATE/ferretdb"
  start_bg ferretdb "$FERRETDB_BIN" -listen "127.0.0.1:$MONGODB_PORT" -handler sqlite -sqlite-dir "$STATE/ferretdb"
  wait_for ferretdb "${TRIPNEST_WAIT:-30}" ferretdb_health
  ok "ferretdb (MongoDB wire protocol, SQLite in $STATE/ferretdb) on 127.0.0.1:$MONGODB_PORT"
}

# One OP_MSG {ping: 1} on the wire; FerretDB's ping also asks the SQLite backend for its status.
ferretdb_health() { [[ -x "$FERRETDB_BIN" ]] && "$FERRETDB_BIN" -ping "mongodb://127.0.0.1:$MONGODB_PORT/" -timeout 3s; }
ferretdb_env() { echo "MONGODB_URI=mongodb://127.0.0.1:$MONGODB_PORT/"; }
ferretdb_procs() { echo ferretdb; }
