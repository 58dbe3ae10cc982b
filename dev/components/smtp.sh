# An SMTP server whose mail can be read back over HTTP: our smtp-sink (dev/smtp-sink), a real SMTP
# server (github.com/emersion/go-smtp) keeping mail in memory, with Mailpit's read API (/api/v1/...)
# and a page listing the mail at /. Mailpit itself does not install from our Go module proxy
# (checksum database lookup fails), see dev/smtp-sink/main.go.
SMTP_PORT="${SMTP_PORT:-11025}"
SMTP_HTTP_PORT="${SMTP_HTTP_PORT:-18025}"

# Our own program has no upstream version: its cache is keyed by the hash of its sources.
smtp_src_hash() { cat "$DEV/smtp-sink/main.go" "$DEV/smtp-sink/go.mod" "$DEV/smtp-sink/go.sum" | sha256sum | cut -c1-16; }
smtp_bin() { echo "$CACHE/smtp-sink-$(smtp_src_hash)/bin/smtp-sink"; }

smtp_install() {
  local bin; bin="$(smtp_bin)"
  [[ -x "$bin" ]] && return 0
  need_cmd go || die "smtp-sink build: no Go toolchain on PATH" "" "install Go ≥ 1.23 (the Go module proxy must be reachable)"
  local home; home="$(dirname "$(dirname "$bin")")"
  # Build from a copy so `go mod tidy` never writes into the clone.
  rm -rf "$home/src" && mkdir -p "$home/src"
  cp "$DEV/smtp-sink/main.go" "$DEV/smtp-sink/go.mod" "$DEV/smtp-sink/go.sum" "$home/src/"
  go_build "smtp-sink" "$home/src" "$home/bin" .
  [[ -x "$bin" ]] || die "smtp-sink build produced no binary" "$LOGS/build-smtp-sink.log" "rm -rf $home and retry"
  ok "smtp-sink built into $home/bin"
}

smtp_start() {
  if adopt_running smtp "${TRIPNEST_WAIT:-30}" smtp_health; then
    ok "smtp already running on $SMTP_PORT (mail viewer http://127.0.0.1:$SMTP_HTTP_PORT)"
    return 0
  fi
  port_free "$SMTP_PORT" smtp SMTP_PORT
  port_free "$SMTP_HTTP_PORT" "smtp web/API" SMTP_HTTP_PORT
  start_bg smtp "$(smtp_bin)" -smtp "127.0.0.1:$SMTP_PORT" -http "127.0.0.1:$SMTP_HTTP_PORT"
  wait_for smtp "${TRIPNEST_WAIT:-30}" smtp_health
  ok "smtp on 127.0.0.1:$SMTP_PORT, mail viewer and API on http://127.0.0.1:$SMTP_HTTP_PORT"
}

# SMTP banner + EHLO + QUIT, and GET /api/v1/messages answering with a message list.
smtp_health() {
  local bin; bin="$(smtp_bin)"
  [[ -x "$bin" ]] && "$bin" -check -smtp "127.0.0.1:$SMTP_PORT" -http "127.0.0.1:$SMTP_HTTP_PORT"
}
smtp_env() {
  echo "SMTP_URL=smtp://127.0.0.1:$SMTP_PORT"
  echo "MAIL_API_URL=http://127.0.0.1:$SMTP_HTTP_PORT"
}
smtp_procs() { echo smtp; }
