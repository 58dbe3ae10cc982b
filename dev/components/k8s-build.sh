#!/usr/bin/env bash
# Builds etcd and the Kubernetes binaries (control plane: kube-apiserver, kube-controller-manager;
# node: kubelet, kube-scheduler, kube-proxy) from the Kubernetes Go modules, once per version,
# into $CACHE/k8s-<version>/bin. k8s.io/kubernetes cannot be `go install`ed
# because its go.mod points the k8s.io staging modules at ./staging; a wrapper module that
# replaces each of them with its published v0.Y.Z twin builds cleanly.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
source "$DEV/versions.env"

K8S_BIN="$CACHE/k8s-$K8S_VERSION/bin"
ETCD_BIN="$CACHE/etcd-$ETCD_VERSION/bin"

K8S_CMDS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy)

build_k8s() {
  local c missing=()
  for c in "${K8S_CMDS[@]}"; do [[ -x "$K8S_BIN/$c" ]] || missing+=("$c"); done
  ((${#missing[@]})) || return 0
  need_cmd go || die "kubernetes build" "" "install Go ≥ 1.23 and put it on PATH"
  local mod="$CACHE/k8s-$K8S_VERSION/src" log="$LOGS/build-kubernetes.log"
  mkdir -p "$mod"
  step "building ${missing[*]} v$K8S_VERSION (first time only, ~20 min on empty caches; log: $log)"
  local gomod
  gomod="$(cd "$mod" && go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" 2>>"$log" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  [[ -f "$gomod" ]] || die "download of k8s.io/kubernetes v$K8S_VERSION" "$log" "check the Go module proxy is reachable"
  local minor="${K8S_VERSION#*.}"
  {
    echo "module tripnest.local/k8s"
    echo
    echo "go 1.23"
    echo
    echo "require k8s.io/kubernetes v$K8S_VERSION"
    echo
    # Every staging module the published go.mod redirects to ./staging gets its published twin.
    grep -E '^\s*k8s\.io/[^ ]+ => \./staging/' "$gomod" | awk -v v="v0.$minor" '{print "replace " $1 " => " $1 " " v}'
  } >"$mod/go.mod"
  cat >"$mod/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
GO
  local ld="-s -w -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${minor%%.*} -X k8s.io/component-base/version.gitTreeState=clean"
  mkdir -p "$K8S_BIN"
  if ! (cd "$mod" && go mod tidy -e && go build -trimpath -ldflags "$ld" -o "$K8S_BIN/" "${missing[@]/#/k8s.io/kubernetes/cmd/}") >>"$log" 2>&1; then
    die "build of ${missing[*]}" "$log" "check the Go module proxy is reachable; delete $mod to retry from scratch"
  fi
  ok "kubernetes v$K8S_VERSION built"
}

build_etcd() {
  [[ -x "$ETCD_BIN/etcd" ]] && return 0
  local mod="$CACHE/etcd-$ETCD_VERSION/src" log="$LOGS/build-etcd.log"
  mkdir -p "$mod"
  step "building etcd v$ETCD_VERSION (first time only; log: $log)"
  cat >"$mod/go.mod" <<GO
module tripnest.local/etcd

go 1.23

require go.etcd.io/etcd/server/v3 v$ETCD_VERSION
GO
  cat >"$mod/main.go" <<'GO'
// Command etcd runs the upstream etcd server entry point.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  mkdir -p "$ETCD_BIN"
  if ! (cd "$mod" && go mod tidy && go build -trimpath -ldflags "-s -w" -o "$ETCD_BIN/etcd" .) >>"$log" 2>&1; then
    die "build of etcd" "$log" "check the Go module proxy is reachable; delete $mod to retry"
  fi
  ok "etcd v$ETCD_VERSION built"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  build_etcd
  build_k8s
fi
