# A real single-node Kubernetes cluster on this machine: containerd (built from its Go module)
# with Debian's runc and CNI plugins, kubelet, kube-scheduler and kube-proxy (from the same
# Kubernetes module as the control plane), CoreDNS and metrics-server as Pods.
#
# Networking, all of it made here and removed by `down`:
#   - the bridge $NODE_BRIDGE with $NODE_IP/24: the Pods' network (CNI bridge + host-local) and
#     the node's address (kubelet refuses a loopback node IP);
#   - relays (socat) from $NODE_IP to the loopback engines, so Pods reach PostgreSQL, Kafka, Redis,
#     FerretDB, SMTP and the API server through selector-less Services whose Endpoints name
#     $NODE_IP — the way a cluster reaches managed databases outside it;
#   - kube-proxy in iptables mode, NodePorts on loopback; 127.0.0.1:8080 (gateway) and :3000
#     (web UI) relay to their NodePorts.
#
# The host changes it makes (sysctls, iptables chains, cgroups, mounts, fixed paths under /var
# and /run) are recorded in $NODE_STATE and undone by node_stop; node_leftovers lists anything
# that survived, and `make test` fails when something did.
#
# Where a node cannot run (not Linux, not root, no cgroups, or TRIPNEST_RUNTIME=processes),
# node_supported says why in one line and the stack runs the services as host processes.
source "$DEV/components/k8s-build.sh"

NODE_NAME="${NODE_NAME:-tripnest-node}"
NODE_BRIDGE="${NODE_BRIDGE:-tripnest0}"
NODE_IP="${NODE_IP:-10.244.0.1}"
NODE_POD_CIDR="${NODE_POD_CIDR:-10.244.0.0/24}"
NODE_CLUSTER_DNS="${NODE_CLUSTER_DNS:-10.96.0.10}"
NODE_STATE="$STATE/node"
CONTAINERD_ADDRESS="${CONTAINERD_ADDRESS:-$NODE_STATE/containerd/containerd.sock}"
# The sysctls kubelet, kube-proxy and the bridge plugin change; restored on `down`.
NODE_SYSCTLS=(vm.overcommit_memory kernel.panic kernel.panic_on_oops net.ipv4.ip_forward
  net.ipv4.conf.all.route_localnet net.bridge.bridge-nf-call-iptables)
# Fixed host paths the node writes whatever its root directories are; removed on `down` when
# this stack created them.
NODE_HOST_PATHS=(/var/log/containers /var/log/pods /var/lib/kubelet /var/lib/cni /run/containerd /run/netns
  /etc/cni/net.d/cni.lock /var/lib/containers)
# Public ports on loopback → NodePorts (the chart's local values set these NodePorts).
NODE_PUBLIC_PORTS=("${GATEWAY_PORT:-8080}:30080" "${WEB_PORT:-3000}:30300")

# The runtime the stack runs the services on: "cluster" (Pods on this node) or "processes".
stack_runtime() { if node_supported >/dev/null 2>&1; then echo cluster; else echo processes; fi; }

# node_supported: exit 0 when a node can run here; else print why, in one line.
node_supported() {
  case "${TRIPNEST_RUNTIME:-cluster}" in
    processes) echo "TRIPNEST_RUNTIME=processes"; return 1 ;;
    cluster) ;;
    *) echo "TRIPNEST_RUNTIME must be 'cluster' or 'processes', not '${TRIPNEST_RUNTIME}'"; return 1 ;;
  esac
  [[ "$(uname -s)" == Linux ]] || { echo "a Kubernetes node needs Linux (this is $(uname -s))"; return 1; }
  [[ $(id -u) -eq 0 ]] || { echo "a Kubernetes node needs root (kubelet, containerd and the bridge do)"; return 1; }
  [[ -d /sys/fs/cgroup/memory || -f /sys/fs/cgroup/cgroup.controllers ]] || { echo "no cgroups mounted at /sys/fs/cgroup"; return 1; }
  ip link show >/dev/null 2>&1 || { echo "cannot manage network links (ip link)"; return 1; }
  return 0
}

node_install() {
  node_supported >/dev/null || return 0
  apt_install runc containernetworking-plugins iptables conntrack socat buildah iproute2
  build_k8s
  build_containerd
  build_node_addons
}

# containerd 2.x from its Go module (its go.mod has no replace directives). btrfs, devmapper
# and zfs snapshotters are left out: we use overlayfs.
build_containerd() {
  [[ -x "$CONTAINERD_BIN/containerd" && -x "$CONTAINERD_BIN/containerd-shim-runc-v2" && -x "$CONTAINERD_BIN/ctr" ]] && return 0
  local mod="$CACHE/containerd-$CONTAINERD_VERSION/src" log="$LOGS/build-containerd.log"
  mkdir -p "$mod" "$CONTAINERD_BIN"
  step "building containerd v$CONTAINERD_VERSION (first time only; log: $log)"
  printf 'module tripnest.local/containerd\n\ngo 1.24\n\nrequire github.com/containerd/containerd/v2 v%s\n' "$CONTAINERD_VERSION" >"$mod/go.mod"
  go_tools_file "$mod" github.com/containerd/containerd/v2/cmd/{containerd,containerd-shim-runc-v2,ctr}
  (cd "$mod" && go mod tidy -e && go build -trimpath -tags "no_btrfs no_devmapper no_zfs" -ldflags "-s -w" -o "$CONTAINERD_BIN/" \
    github.com/containerd/containerd/v2/cmd/{containerd,containerd-shim-runc-v2,ctr}) >>"$log" 2>&1 ||
    die "build of containerd" "$log" "check the Go module proxy is reachable; delete $mod to retry"
  ok "containerd v$CONTAINERD_VERSION built"
}

# CoreDNS (only the plugins a cluster DNS needs, in plugin.cfg's order) and metrics-server:
# static Go binaries that dev/images.sh wraps into images.
build_node_addons() {
  [[ -x "$ADDONS_BIN/coredns" && -x "$ADDONS_BIN/metrics-server" ]] && return 0
  local mod="$CACHE/node-addons-$COREDNS_VERSION-$METRICS_SERVER_VERSION/src" log="$LOGS/build-node-addons.log"
  mkdir -p "$mod/coredns" "$ADDONS_BIN"
  step "building CoreDNS v$COREDNS_VERSION and metrics-server v$METRICS_SERVER_VERSION (first time only; log: $log)"
  printf 'module tripnest.local/nodeaddons\n\ngo 1.24\n\nrequire (\n\tgithub.com/coredns/coredns v%s\n\tsigs.k8s.io/metrics-server v%s\n)\n' \
    "$COREDNS_VERSION" "$METRICS_SERVER_VERSION" >"$mod/go.mod"
  cp "$DEV/node/coredns.go" "$mod/coredns/main.go"
  go_tools_file "$mod" sigs.k8s.io/metrics-server/cmd/metrics-server
  (cd "$mod" && go mod tidy -e && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$ADDONS_BIN/coredns" ./coredns &&
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$ADDONS_BIN/" sigs.k8s.io/metrics-server/cmd/metrics-server) >>"$log" 2>&1 ||
    die "build of CoreDNS / metrics-server" "$log" "check the Go module proxy is reachable; delete $mod to retry"
  ok "CoreDNS and metrics-server built"
}

# go_tools_file DIR PKG...: a tools.go that imports PKG... so `go mod tidy` keeps them.
go_tools_file() {
  local dir="$1"; shift
  { printf '//go:build tools\n\npackage tools\n\nimport (\n'; printf '\t_ "%s"\n' "$@"; printf ')\n'; } >"$dir/tools.go"
}

node_kubectl() { kubectl --kubeconfig "$KUBECONFIG_PATH" --request-timeout=10s "$@"; }
ctr_node() { "$CONTAINERD_BIN/ctr" --address "$CONTAINERD_ADDRESS" -n k8s.io "$@"; }
containerd_health() { "$CONTAINERD_BIN/ctr" --address "$CONTAINERD_ADDRESS" version; }
kubelet_health() { [[ "$(curl -fsS -m 2 http://127.0.0.1:10248/healthz)" == ok ]]; }
node_ready() { [[ "$(node_kubectl get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]]; }
scheduler_health() { [[ "$(curl -fsSk -m 2 https://127.0.0.1:10259/healthz)" == ok ]]; }
proxy_health() { curl -fsS -m 2 http://127.0.0.1:10256/healthz >/dev/null; }
addons_health() {
  [[ "$(node_kubectl -n kube-system get deploy coredns metrics-server -o jsonpath='{.items[*].status.readyReplicas}' 2>/dev/null)" == "1 1" ]]
}

# Record a sysctl's value the first time this stack changes it, so `down` can restore it.
save_sysctls() {
  local f="$NODE_STATE/sysctls.saved" k
  [[ -f "$f" ]] && return 0
  for k in "${NODE_SYSCTLS[@]}"; do
    [[ -e "/proc/sys/${k//.//}" ]] && echo "$k=$(sysctl -n "$k")"
  done >"$f"
}

save_host_paths() {
  local f="$NODE_STATE/host-paths.created" p
  [[ -f "$f" ]] && return 0
  for p in "${NODE_HOST_PATHS[@]}"; do [[ -e "$p" ]] || echo "$p"; done >"$f"
}

node_bridge() {
  ip link show "$NODE_BRIDGE" >/dev/null 2>&1 || ip link add "$NODE_BRIDGE" type bridge
  # (No `| grep -q` under pipefail: grep's early exit would fail the pipeline with SIGPIPE.)
  [[ "$(ip -4 -o addr show dev "$NODE_BRIDGE")" == *" $NODE_IP/"* ]] || ip addr add "$NODE_IP/24" dev "$NODE_BRIDGE"
  ip link set "$NODE_BRIDGE" up
  # Pod → Service → Pod on the same bridge must pass through iptables for the reply's un-DNAT.
  sysctl -qw net.bridge.bridge-nf-call-iptables=1 net.ipv4.ip_forward=1 net.ipv4.conf.all.route_localnet=1
}

# write_if_changed FILE: stdin into FILE unless it holds that already (kube-proxy exits when
# its configuration file changes, even to the same content).
write_if_changed() {
  local tmp; tmp="$(mktemp)"
  cat >"$tmp"
  if cmp -s "$tmp" "$1"; then rm -f "$tmp"; else mv "$tmp" "$1"; fi
}

node_write_config() {
  local p="$K8S_STATE/pki" d="$NODE_STATE"
  mkdir -p "$d/cni/net.d" "$d/cni/ipam" "$d/containerd" "$d/kubelet" "$d/pod-logs"
  write_if_changed "$d/cni/net.d/10-tripnest.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "tripnest",
  "plugins": [
    {"type": "bridge", "bridge": "$NODE_BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": "$d/cni/ipam", "ranges": [[{"subnet": "$NODE_POD_CIDR", "gateway": "$NODE_IP"}]],
              "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}},
    {"type": "loopback"}
  ]
}
EOF
  write_if_changed "$d/containerd/config.toml" <<EOF
# Written by dev/components/node.sh on every start.
version = 3
root = "$d/containerd/root"
state = "$d/containerd/state"
[grpc]
  address = "$CONTAINERD_ADDRESS"
[ttrpc]
  address = "$CONTAINERD_ADDRESS.ttrpc"
[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = "$PAUSE_IMAGE"
[plugins.'io.containerd.cri.v1.runtime']
  # runc cannot write -998 to oom_score_adj without CAP_SYS_RESOURCE, which this machine lacks.
  restrict_oom_score_adj = true
  [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
      BinaryName = "$(command -v runc)"
      SystemdCgroup = false
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ["/usr/lib/cni"]
    conf_dir = "$d/cni/net.d"
EOF
  # kubelet and kube-proxy use the admin token, like every other local control-plane part.
  write_if_changed "$d/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
containerRuntimeEndpoint: unix://$CONTAINERD_ADDRESS
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
clusterDNS: [$NODE_CLUSTER_DNS]
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
podLogsDir: $d/pod-logs
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $p/ca.crt}
authorization:
  mode: Webhook
# There is no registry to pull a collected image back from: never garbage-collect images.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: 200Mi, nodefs.available: "1%", imagefs.available: "1%"}
serializeImagePulls: false
maxPods: 110
EOF
  write_if_changed "$d/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection: {kubeconfig: $KUBECONFIG_PATH}
hostnameOverride: $NODE_NAME
bindAddress: 127.0.0.1
clusterCIDR: $NODE_POD_CIDR
nodePortAddresses: ["127.0.0.0/8"]
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
conntrack: {maxPerCore: 0}
EOF
}

# relay NAME LISTEN_ADDR:PORT TARGET_ADDR:PORT: a socat forwarder, one process per relay.
relay() {
  local name="relay-$1" listen="$2" target="$3"
  running "$name" && return 0
  start_bg "$name" socat "TCP-LISTEN:${listen##*:},bind=${listen%:*},reuseaddr,fork" "TCP:$target"
}

# The engines and the API server, reachable from Pods at $NODE_IP (their loopback ports).
NODE_RELAYS=(postgres:"$POSTGRES_PORT" redis:"$REDIS_PORT" kafka:"$KAFKA_POD_PORT" mongodb:"$MONGODB_PORT"
  smtp:"$SMTP_PORT" apiserver:"$APISERVER_PORT")

node_start() {
  local why
  if ! why="$(node_supported)"; then
    warn "no Kubernetes node: $why — the services run as host processes"
    return 0
  fi
  mkdir -p "$NODE_STATE"
  save_sysctls
  save_host_paths
  node_bridge
  node_write_config
  local r
  for r in "${NODE_RELAYS[@]}"; do relay "${r%%:*}" "$NODE_IP:${r##*:}" "127.0.0.1:${r##*:}"; done
  for r in "${NODE_PUBLIC_PORTS[@]}"; do relay "public-${r%%:*}" "127.0.0.1:${r%%:*}" "127.0.0.1:${r##*:}"; done

  restart_if_changed containerd "$CONTAINERD_BIN/containerd" "$CONTAINERD_BIN:$PATH"
  if adopt_running containerd 60 containerd_health; then ok "containerd already running"; else
    # Its shim must be the one built with it (a Debian containerd may have put an older one on PATH).
    start_bg containerd env PATH="$CONTAINERD_BIN:$PATH" "$CONTAINERD_BIN/containerd" --config "$NODE_STATE/containerd/config.toml"
    wait_for containerd 60 containerd_health
    ok "containerd v$CONTAINERD_VERSION ($CONTAINERD_ADDRESS)"
  fi
  # The sandbox (pause) and add-on images, built here: there is no registry to pull them from.
  CONTAINERD_ADDRESS="$CONTAINERD_ADDRESS" bash "$DEV/images.sh" up pause coredns metrics-server >/dev/null ||
    die "the node's images (pause, CoreDNS, metrics-server)" "$LOGS/images.log"

  if adopt_running kubelet 60 kubelet_health; then ok "kubelet already running"; else
    start_bg kubelet env PATH="$CONTAINERD_BIN:$PATH" "$K8S_BIN/kubelet" --config "$NODE_STATE/kubelet/config.yaml" \
      --kubeconfig "$KUBECONFIG_PATH" --root-dir "$NODE_STATE/kubelet/root" --cert-dir "$NODE_STATE/kubelet/pki" \
      --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" --v=1
    wait_for kubelet 60 kubelet_health
  fi
  wait_for kubelet 60 node_ready
  node_kubectl uncordon "$NODE_NAME" >/dev/null
  ok "node $NODE_NAME Ready ($NODE_IP)"

  if adopt_running kube-scheduler 60 scheduler_health; then ok "kube-scheduler already running"; else
    start_bg kube-scheduler "$K8S_BIN/kube-scheduler" --kubeconfig "$KUBECONFIG_PATH" \
      --authentication-kubeconfig "$KUBECONFIG_PATH" --authorization-kubeconfig "$KUBECONFIG_PATH" \
      --bind-address 127.0.0.1 --secure-port 10259 --leader-elect=false --v=1
    wait_for kube-scheduler 60 scheduler_health
    ok "kube-scheduler"
  fi
  if adopt_running kube-proxy 60 proxy_health; then ok "kube-proxy already running"; else
    start_bg kube-proxy "$K8S_BIN/kube-proxy" --config "$NODE_STATE/kube-proxy.yaml" --v=1
    wait_for kube-proxy 60 proxy_health
    ok "kube-proxy (iptables; NodePorts on 127.0.0.1)"
  fi

  local log="$LOGS/node-addons.log"
  sed -e "s/@CLUSTER_DNS@/$NODE_CLUSTER_DNS/" "$DEV/node/addons.yaml" | node_kubectl apply --server-side --force-conflicts -f - >>"$log" 2>&1 ||
    die "cluster add-ons (CoreDNS, metrics-server)" "$log"
  local deadline=$((SECONDS + ${TRIPNEST_WAIT:-120}))
  until addons_health; do
    ((SECONDS < deadline)) || die "CoreDNS and metrics-server did not become Ready" "$log" "kubectl -n kube-system get pods; kubectl -n kube-system describe pods"
    sleep 0.5
  done
  ok "CoreDNS ($NODE_CLUSTER_DNS) and metrics-server Ready"
}

node_health() {
  node_supported >/dev/null || return 0
  containerd_health >/dev/null && kubelet_health && node_ready && scheduler_health && proxy_health && addons_health
}

node_env() {
  node_supported >/dev/null || { echo "TRIPNEST_RUNTIME=processes"; return 0; }
  echo "TRIPNEST_RUNTIME=cluster"
  echo "CONTAINERD_ADDRESS=$CONTAINERD_ADDRESS"
  echo "NODE_IP=$NODE_IP"
}

node_procs() {
  local r p=(kube-proxy kube-scheduler kubelet containerd)
  for r in "${NODE_PUBLIC_PORTS[@]}"; do p+=("relay-public-${r%%:*}"); done
  for r in "${NODE_RELAYS[@]}"; do p+=("relay-${r%%:*}"); done
  echo "${p[@]}"
}

# The gentle part of `down`, before the processes are stopped: Pods deleted while kubelet runs,
# kube-proxy's rules removed. The rest of the host state goes in node_cleanup.
node_stop() {
  [[ -d "$NODE_STATE" ]] || return 0
  if running kubelet && apiserver_health 2>/dev/null; then
    step "deleting every Pod while kubelet still runs"
    # Cordoned first, so their controllers' replacements stay Pending (`up` uncordons).
    node_kubectl cordon "$NODE_NAME" >/dev/null 2>&1 || true
    node_kubectl delete pods --all --all-namespaces --grace-period=5 --wait=false >/dev/null 2>&1 || true
    local deadline=$((SECONDS + 40))
    while ((SECONDS < deadline)) && [[ -n "$(ctr_node containers ls -q 2>/dev/null)" ]]; do sleep 0.5; done
  fi
  [[ -x "$K8S_BIN/kube-proxy" ]] && "$K8S_BIN/kube-proxy" --cleanup >>"$LOGS/kube-proxy.log" 2>&1 || true
}

# After every node process stopped: shims, mounts, cgroups, iptables, the bridge, sysctls.
node_cleanup() {
  [[ -d "$NODE_STATE" ]] || return 0
  # Whatever a Pod still runs (kubelet was stopped before it finished), then the shims.
  local tasks
  tasks="$(cat /sys/fs/cgroup/*/kubepods/tasks /sys/fs/cgroup/*/kubepods/*/tasks /sys/fs/cgroup/*/kubepods/*/*/tasks \
    /sys/fs/cgroup/*/kubepods/*/*/*/tasks /sys/fs/cgroup/kubepods/cgroup.procs 2>/dev/null | sort -u)" || true
  [[ -n "$tasks" ]] && kill -KILL $tasks 2>/dev/null
  pkill -KILL -f "containerd-shim-runc-v2 .*-address $CONTAINERD_ADDRESS" 2>/dev/null || true
  local deadline=$((SECONDS + 10))
  while ((SECONDS < deadline)) && [[ -n "$(cat /sys/fs/cgroup/*/kubepods/*/*/*/tasks 2>/dev/null)" ]]; do sleep 0.2; done
  local m
  # Innermost mounts first.
  while read -r m; do umount -l "$m" 2>/dev/null || true; done < <(awk -v s="$NODE_STATE" -v n=/run/netns/cni- \
    'index($2, s) == 1 || index($2, n) == 1 {print $2}' /proc/self/mounts | sort -r)
  rm -f /run/netns/cni-* 2>/dev/null || true
  local c
  for c in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
    [[ -d "$c" ]] && find "$c" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
  node_iptables_cleanup
  ip link show "$NODE_BRIDGE" >/dev/null 2>&1 && ip link delete "$NODE_BRIDGE"
  local kv
  if [[ -f "$NODE_STATE/sysctls.saved" ]]; then
    while IFS= read -r kv; do sysctl -qw "$kv" 2>/dev/null || true; done <"$NODE_STATE/sysctls.saved"
    rm -f "$NODE_STATE/sysctls.saved"
  fi
  if [[ -f "$NODE_STATE/host-paths.created" ]]; then
    while IFS= read -r m; do [[ -n "$m" ]] && rm -rf "$m"; done <"$NODE_STATE/host-paths.created"
    rm -f "$NODE_STATE/host-paths.created"
  fi
}

# Every KUBE-* and CNI-* chain (and the jumps into them) in every table.
node_iptables_cleanup() {
  local t rule chain
  for t in filter nat mangle raw; do
    # Jumps from the built-in chains into ours (`|| true`: no match is fine under pipefail).
    { iptables -t "$t" -S 2>/dev/null | grep -E '^-A [A-Z]+ .*-j (KUBE|CNI)-' | grep -vE '^-A (KUBE|CNI)-' || true; } | while read -r rule; do
      eval "iptables -t $t ${rule/-A/-D}" 2>/dev/null || true
    done
    for chain in $(iptables -t "$t" -S 2>/dev/null | awk '/^-N (KUBE|CNI)-/ {print $2}'); do iptables -t "$t" -F "$chain" 2>/dev/null || true; done
    for chain in $(iptables -t "$t" -S 2>/dev/null | awk '/^-N (KUBE|CNI)-/ {print $2}'); do iptables -t "$t" -X "$chain" 2>/dev/null || true; done
  done
}

# What a node left on the host (empty when `down` cleaned up). One line per leftover.
node_leftovers() {
  awk -v s="$NODE_STATE" 'index($2, s) == 1 || $2 ~ /^\/run\/netns\/cni-/ {print "mount " $2}' /proc/self/mounts
  # Each probe finds nothing on a clean host, which its tools report as a failure: ignore that.
  local c; for c in /sys/fs/cgroup/*/kubepods; do [[ -d "$c" ]] && echo "cgroup $c"; done
  if ip link show "$NODE_BRIDGE" >/dev/null 2>&1; then echo "bridge $NODE_BRIDGE"; fi
  local t; for t in filter nat mangle raw; do { iptables -t "$t" -S 2>/dev/null || true; } | { grep -E '^-N (KUBE|CNI)-' || true; } | sed "s/^/iptables $t /"; done
  { pgrep -f "containerd-shim-runc-v2 .*-address $CONTAINERD_ADDRESS" || true; } | sed 's/^/shim pid /'
  if [[ -f "$NODE_STATE/sysctls.saved" ]]; then echo "sysctls not restored ($NODE_STATE/sysctls.saved)"; fi
  return 0
}
