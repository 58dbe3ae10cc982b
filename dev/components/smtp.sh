# An SMTP server whose mail can be read back over HTTP: Mailpit (github.com/axllent/mailpit), its
# API (/api/v1/...) for the tests and its web page at / for people. Built once per version from
# its Go module; the module does not carry the web UI's compiled assets (server/ui/dist is made
# by npm in Mailpit's release process), so they are built here with npm from the sources the
# module does carry, before `go build` embeds them. Mail is kept in a temporary SQLite database.
SMTP_PORT="${SMTP_PORT:-11025}"
SMTP_HTTP_PORT="${SMTP_HTTP_PORT:-18025}"
MAILPIT_HOME="$CACHE/mailpit-$MAILPIT_VERSION"
MAILPIT_BIN="$MAILPIT_HOME/bin/mailpit"
# Messages kept (the oldest go first); tests find theirs among the newest.
MAILPIT_MAX_MESSAGES=1000

smtp_install() {
  [[ -x "$MAILPIT_BIN" ]] && return 0
  need_cmd go || die "Mailpit build: no Go toolchain on PATH" "" "install Go ≥ 1.24 (the Go module proxy must be reachable)"
  need_cmd npm || die "Mailpit build: no npm on PATH (its web UI is built with npm)" "" "install Node.js 20"
  local log="$LOGS/build-mailpit.log" src="$MAILPIT_HOME/src" dir
  step "building Mailpit $MAILPIT_VERSION: its web UI with npm, then the binary with Go (first time only, about 2 minutes; log: $log)"
  dir="$(GOFLAGS= go mod download -json "github.com/axllent/mailpit@v$MAILPIT_VERSION" 2>>"$log" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
  [[ -d "$dir" ]] || die "downloading the Mailpit $MAILPIT_VERSION module" "$log" "check the Go module proxy is reachable (go env GOPROXY)"
  rm -rf "$src" && mkdir -p "$MAILPIT_HOME/bin" && cp -r "$dir" "$src" && chmod -R u+w "$src"
  (cd "$src" && npm ci --no-audit --no-fund && npm run build) >>"$log" 2>&1 || die "building Mailpit's web UI (npm ci, npm run build)" "$log"
  [[ -s "$src/server/ui/dist/app.js" ]] || die "Mailpit's web UI build left no server/ui/dist/app.js" "$log"
  (cd "$src" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X github.com/axllent/mailpit/config.Version=v$MAILPIT_VERSION" -o "$MAILPIT_BIN.tmp" .) >>"$log" 2>&1 ||
    die "building Mailpit $MAILPIT_VERSION" "$log" "rm -rf $MAILPIT_HOME and retry"
  mv "$MAILPIT_BIN.tmp" "$MAILPIT_BIN"
  rm -rf "$src"
  ok "Mailpit $MAILPIT_VERSION built into $MAILPIT_HOME/bin"
}

smtp_start() {
  if adopt_running smtp "${TRIPNEST_WAIT:-30}" smtp_health; then
    ok "smtp already running on $SMTP_PORT (mail viewer http://127.0.0.1:$SMTP_HTTP_PORT)"
    return 0
  fi
  port_free "$SMTP_PORT" smtp SMTP_PORT
  port_free "$SMTP_HTTP_PORT" "smtp web/API" SMTP_HTTP_PORT
  # Any (or no) SMTP login is accepted, without TLS, as a local catcher should.
  start_bg smtp "$MAILPIT_BIN" --smtp "127.0.0.1:$SMTP_PORT" --listen "127.0.0.1:$SMTP_HTTP_PORT" --max "$MAILPIT_MAX_MESSAGES" \
    --smtp-auth-accept-any --smtp-auth-allow-insecure --disable-version-check
  wait_for smtp "${TRIPNEST_WAIT:-30}" smtp_health
  ok "smtp (Mailpit $MAILPIT_VERSION) on 127.0.0.1:$SMTP_PORT, mail viewer and API on http://127.0.0.1:$SMTP_HTTP_PORT"
}

# Mailpit's own readiness check over HTTP, and the SMTP banner.
smtp_health() {
  [[ -x "$MAILPIT_BIN" ]] && "$MAILPIT_BIN" readyz --listen "127.0.0.1:$SMTP_HTTP_PORT" >/dev/null 2>&1 || return 1
  local banner
  exec 3<>"/dev/tcp/127.0.0.1/$SMTP_PORT" || return 1
  IFS= read -r -t 3 banner <&3
  printf 'QUIT\r\n' >&3
  exec 3<&- 3>&-
  [[ "$banner" == 220* ]]
}
smtp_env() {
  echo "SMTP_URL=smtp://127.0.0.1:$SMTP_PORT"
  echo "MAIL_API_URL=http://127.0.0.1:$SMTP_HTTP_PORT"
}
smtp_procs() { echo smtp; }
