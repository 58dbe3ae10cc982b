# A real Kubernetes control plane: etcd, kube-apiserver and kube-controller-manager built from
# the Go modules (dev/components/k8s-build.sh). No kubelet, so Pods stay Pending, but the API,
# admission (schema + CEL), RBAC, garbage collection, Deployment→ReplicaSet and CronJob→Job are real.
source "$DEV/components/k8s-build.sh"
ETCD_PORT="${ETCD_PORT:-12379}"
ETCD_PEER_PORT="${ETCD_PEER_PORT:-12380}"
APISERVER_PORT="${APISERVER_PORT:-16443}"
K8S_STATE="$STATE/kubernetes"
KUBECONFIG_PATH="$STATE/kubeconfig"

kubernetes_install() {
  build_etcd
  build_k8s
  need_cmd kubectl || { warn "kubectl not on PATH: building it from the same wrapper module"; (cd "$CACHE/k8s-$K8S_VERSION/src" && go build -trimpath -o "$K8S_BIN/" k8s.io/kubernetes/cmd/kubectl) >>"$LOGS/build-kubernetes.log" 2>&1 || die "build of kubectl" "$LOGS/build-kubernetes.log"; }
  need_cmd openssl || apt_install openssl
}

# A CA, a serving cert with SAN 127.0.0.1/localhost (rustls rejects the apiserver's own
# self-signed cert), a service-account key and a static admin token. Made once, kept in $STATE.
k8s_pki() {
  local p="$K8S_STATE/pki" log="$LOGS/kubernetes-pki.log"
  [[ -f "$p/admin.token" ]] && return 0
  mkdir -p "$p"
  {
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=tripnest-local-ca" \
      -keyout "$p/ca.key" -out "$p/ca.crt"
    openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" -keyout "$p/apiserver.key" -out "$p/apiserver.csr"
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.96.0.1\nextendedKeyUsage=serverAuth\n' >"$p/ext.cnf"
    openssl x509 -req -in "$p/apiserver.csr" -CA "$p/ca.crt" -CAkey "$p/ca.key" -CAcreateserial -days 3650 \
      -extfile "$p/ext.cnf" -out "$p/apiserver.crt"
    openssl genrsa -out "$p/sa.key" 2048
    openssl rsa -in "$p/sa.key" -pubout -out "$p/sa.pub"
  } >>"$log" 2>&1 || die "kubernetes certificates (openssl)" "$log"
  local tok; tok="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  echo "$tok,tripnest-admin,tripnest-admin,\"system:masters\"" >"$p/tokens.csv"
  echo "$tok" >"$p/admin.token"
  chmod 600 "$p"/*.key "$p/tokens.csv" "$p/admin.token"
}

k8s_kubeconfig() {
  local p="$K8S_STATE/pki"
  cat >"$KUBECONFIG_PATH" <<KC
apiVersion: v1
kind: Config
clusters:
- name: tripnest-local
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority-data: $(base64 -w0 "$p/ca.crt")
users:
- name: tripnest-admin
  user:
    token: $(cat "$p/admin.token")
contexts:
- name: tripnest-local
  context: {cluster: tripnest-local, user: tripnest-admin, namespace: default}
current-context: tripnest-local
KC
  chmod 600 "$KUBECONFIG_PATH"
}

kubectl_local() { kubectl --kubeconfig "$KUBECONFIG_PATH" --request-timeout=5s "$@"; }
etcd_health() { curl -fsS "http://127.0.0.1:$ETCD_PORT/health" | grep -q '"health":"true"'; }
apiserver_health() { [[ "$(kubectl_local get --raw /readyz 2>/dev/null)" == ok ]]; }
# The controller manager serves nothing; its service-account controller creating
# `default/default` is the proof that it runs and reconciles.
kcm_health() { running kube-controller-manager && kubectl_local -n default get serviceaccount default; }

kubernetes_start() {
  k8s_pki
  k8s_kubeconfig
  local p="$K8S_STATE/pki"
  if adopt_running etcd "${TRIPNEST_WAIT:-60}" etcd_health; then ok "etcd already running on $ETCD_PORT"; else
    port_free "$ETCD_PORT" etcd ETCD_PORT; port_free "$ETCD_PEER_PORT" etcd ETCD_PEER_PORT
    start_bg etcd "$ETCD_BIN/etcd" --name tripnest --data-dir "$K8S_STATE/etcd" \
      --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
      --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
      --initial-cluster "tripnest=http://127.0.0.1:$ETCD_PEER_PORT" --unsafe-no-fsync --log-level warn \
      --quota-backend-bytes 4294967296
    wait_for etcd "${TRIPNEST_WAIT:-60}" etcd_health
    ok "etcd on 127.0.0.1:$ETCD_PORT"
  fi
  if adopt_running kube-apiserver "${TRIPNEST_WAIT:-120}" apiserver_health; then ok "kube-apiserver already running on $APISERVER_PORT"; else
    port_free "$APISERVER_PORT" kube-apiserver APISERVER_PORT
    start_bg kube-apiserver "$K8S_BIN/kube-apiserver" \
      --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
      --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$APISERVER_PORT" \
      --tls-cert-file "$p/apiserver.crt" --tls-private-key-file "$p/apiserver.key" --client-ca-file "$p/ca.crt" \
      --service-cluster-ip-range 10.96.0.0/16 \
      --service-account-key-file "$p/sa.pub" --service-account-signing-key-file "$p/sa.key" \
      --service-account-issuer https://kubernetes.default.svc.cluster.local \
      --token-auth-file "$p/tokens.csv" --authorization-mode RBAC --allow-privileged=true \
      --profiling=false --v=1
    wait_for kube-apiserver "${TRIPNEST_WAIT:-120}" apiserver_health
    ok "kube-apiserver on https://127.0.0.1:$APISERVER_PORT"
  fi
  if adopt_running kube-controller-manager "${TRIPNEST_WAIT:-90}" kcm_health; then ok "kube-controller-manager already running"; else
    start_bg kube-controller-manager "$K8S_BIN/kube-controller-manager" \
      --kubeconfig "$KUBECONFIG_PATH" --leader-elect=false --secure-port 0 \
      --service-account-private-key-file "$p/sa.key" --root-ca-file "$p/ca.crt" \
      --cluster-signing-cert-file "$p/ca.crt" --cluster-signing-key-file "$p/ca.key" \
      --use-service-account-credentials=false --concurrent-gc-syncs 5 --v=1
    wait_for kube-controller-manager "${TRIPNEST_WAIT:-90}" kcm_health
    ok "kube-controller-manager reconciling (default/default ServiceAccount exists)"
  fi
}

kubernetes_health() { etcd_health && apiserver_health && kcm_health; }
kubernetes_env() { echo "KUBECONFIG=$KUBECONFIG_PATH"; }
kubernetes_procs() { echo kube-controller-manager kube-apiserver etcd; }
