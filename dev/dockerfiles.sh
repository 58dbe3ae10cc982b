#!/usr/bin/env bash
# One Dockerfile per Rust binary image (operator and each service), all generated from
# dev/docker/rust.Dockerfile.in so they cannot drift apart.
#
#   dev/dockerfiles.sh write    (re)write operator/Dockerfile and services/<name>/Dockerfile
#   dev/dockerfiles.sh check    fail when a committed Dockerfile differs from the template
#   dev/dockerfiles.sh list     print the Dockerfiles (Rust images and the web UI's)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TEMPLATE="$DEV/docker/rust.Dockerfile.in"
# image name : cargo package : binary : Dockerfile path (relative to the root)
IMAGES=(
  "operator:tripnest-operator:tripnest-operator:operator/Dockerfile"
  "gateway:tripnest-gateway:tripnest-gateway:services/gateway/Dockerfile"
  "user:tripnest-user:tripnest-user:services/user/Dockerfile"
  "booking:tripnest-booking:tripnest-booking:services/booking/Dockerfile"
  "payment:tripnest-payment:tripnest-payment:services/payment/Dockerfile"
  "notification:tripnest-notification:tripnest-notification:services/notification/Dockerfile"
  "search:tripnest-search:tripnest-search:services/search/Dockerfile"
  "recommendation:tripnest-recommendation:tripnest-recommendation:services/recommendation/Dockerfile"
  "review:tripnest-review:tripnest-review:services/review/Dockerfile"
)

render() {
  local name="$1" package="$2" bin="$3" path="$4"
  sed -e "s|@NAME@|$name|g" -e "s|@PACKAGE@|$package|g" -e "s|@BIN@|$bin|g" -e "s|@DOCKERFILE@|$path|g" "$TEMPLATE"
}

cmd_write() {
  for entry in "${IMAGES[@]}"; do
    IFS=: read -r name package bin path <<<"$entry"
    render "$name" "$package" "$bin" "$path" >"$ROOT/$path"
    ok "wrote $path"
  done
}

cmd_check() {
  local stale=0
  for entry in "${IMAGES[@]}"; do
    IFS=: read -r name package bin path <<<"$entry"
    if ! render "$name" "$package" "$bin" "$path" | cmp -s - "$ROOT/$path"; then
      printf '    \033[31mstale\033[0m %s differs from %s\n' "$path" "${TEMPLATE#"$ROOT"/}" >&2
      stale=1
    fi
  done
  ((stale == 0)) || die "the Dockerfiles are not what the template makes" "" "edit dev/docker/rust.Dockerfile.in, then run 'bash dev/dockerfiles.sh write'"
  ok "${#IMAGES[@]} Rust Dockerfiles match ${TEMPLATE#"$ROOT"/}"
}

cmd_list() {
  for entry in "${IMAGES[@]}"; do echo "$ROOT/${entry##*:}"; done
  echo "$ROOT/frontend/Dockerfile"
}

case "${1:-}" in
  write) cmd_write ;;
  check) cmd_check ;;
  list) cmd_list ;;
  *) echo "usage: $0 write|check|list" >&2; exit 2 ;;
esac
