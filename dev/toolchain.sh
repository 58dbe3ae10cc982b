# Rust toolchain checks and the cargo cache location (outside the clone, keyed by rustc version).
ensure_rust() {
  need_cmd cargo || die "rust toolchain" "" "install Rust ≥ 1.94 with rustup (https://rustup.rs), then re-run"
  cargo fmt --version >/dev/null 2>&1 || die "rustfmt missing" "" "rustup component add rustfmt"
  cargo clippy --version >/dev/null 2>&1 || die "clippy missing" "" "rustup component add clippy"
  # librdkafka is compiled from the crate's bundled sources: it needs a C toolchain, make and cmake-free build deps.
  local pkgs=()
  need_cmd cc || pkgs+=(build-essential)
  need_cmd make || pkgs+=(make)
  need_cmd pkg-config || pkgs+=(pkg-config)
  need_cmd curl || pkgs+=(curl)
  ((${#pkgs[@]})) && apt_install "${pkgs[@]}"
  local rv; rv="$(rustc --version | awk '{print $2}')"
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CACHE/cargo-target-$rv}"
  export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-always}"
}
