# Helm, for rendering and checking charts/tripnest. Sourced by scripts that need it (not a
# stack component: nothing runs). `ensure_helm` sets $HELM:
#   - a helm on PATH of exactly HELM_VERSION is used as is;
#   - otherwise helm is built once from its Go module (`go install helm.sh/helm/v3/cmd/helm`)
#     into $CACHE/helm-$HELM_VERSION/bin and reused from there on every later run.
source "$DEV/versions.env"

ensure_helm() {
  local want="v$HELM_VERSION" bin="$CACHE/helm-$HELM_VERSION/bin"
  if need_cmd helm && [[ "$(helm version --template '{{.Version}}' 2>/dev/null)" == "$want" ]]; then
    HELM="$(command -v helm)"; return 0
  fi
  HELM="$bin/helm"
  if [[ -x "$HELM" ]] && [[ "$("$HELM" version --template '{{.Version}}' 2>/dev/null)" == "$want" ]]; then return 0; fi
  need_cmd go || die "helm $want is not on PATH and Go is missing to build it" "" \
    "install helm $want (https://helm.sh/docs/intro/install/), or Go ≥ 1.24 to build it"
  local log="$LOGS/build-helm.log"
  step "building helm $want from its Go module (first time only, a few minutes; log: $log)"
  mkdir -p "$bin"
  # Like helm's Makefile: the default Kubernetes version (`helm template`, lint) follows the
  # client-go helm is built with (v0.N.x → 1.N), set through ldflags.
  local gomod minor flags="-s -w -X helm.sh/helm/v3/internal/version.version=$want"
  gomod="$(GOFLAGS= go mod download -json "helm.sh/helm/v3@$want" 2>>"$log" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  minor="$(awk '$1 == "k8s.io/client-go" {split($2, v, "."); print v[2]}' "$gomod" 2>/dev/null)"
  [[ -n "$minor" ]] || die "reading helm $want's go.mod (for its Kubernetes version)" "$log" "check the Go module proxy is reachable (go env GOPROXY)"
  for pkg in pkg/lint/rules pkg/chartutil; do
    flags+=" -X helm.sh/helm/v3/$pkg.k8sVersionMajor=1 -X helm.sh/helm/v3/$pkg.k8sVersionMinor=$minor"
  done
  # GOFLAGS must not carry -mod=mod into `go install pkg@version`.
  if ! GOFLAGS= GOBIN="$bin" go install -trimpath -ldflags "$flags" "helm.sh/helm/v3/cmd/helm@$want" >>"$log" 2>&1; then
    die "build of helm $want" "$log" "check the Go module proxy is reachable (go env GOPROXY), or put helm $want on PATH"
  fi
  ok "helm $want in $bin"
}
