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
# self-signed cert), a service-account key, a static admin token, the apiserver's client cert
# for kubelets, and a front-proxy CA and client for aggregated APIs (metrics-server). Each is
# made once, when missing, and kept in $STATE.
k8s_pki() {
  local p="$K8S_STATE/pki" log="$LOGS/kubernetes-pki.log"
  mkdir -p "$p"
  {
    [[ -f "$p/ca.crt" ]] || openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=tripnest-local-ca" \
      -keyout "$p/ca.key" -out "$p/ca.crt"
    if [[ ! -f "$p/apiserver.crt" ]]; then
      openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" -keyout "$p/apiserver.key" -out "$p/apiserver.csr"
      printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:10.96.0.1,IP:10.244.0.1\nextendedKeyUsage=serverAuth\n' >"$p/ext.cnf"
      openssl x509 -req -in "$p/apiserver.csr" -CA "$p/ca.crt" -CAkey "$p/ca.key" -CAcreateserial -days 3650 \
        -extfile "$p/ext.cnf" -out "$p/apiserver.crt"
    fi
    [[ -f "$p/sa.key" ]] || { openssl genrsa -out "$p/sa.key" 2048 && openssl rsa -in "$p/sa.key" -pubout -out "$p/sa.pub"; }
    [[ -f "$p/kubelet-client.crt" ]] || k8s_client_cert "$p" ca kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
    [[ -f "$p/front-proxy-ca.crt" ]] || openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=tripnest-front-proxy-ca" \
      -keyout "$p/front-proxy-ca.key" -out "$p/front-proxy-ca.crt"
    [[ -f "$p/front-proxy-client.crt" ]] || k8s_client_cert "$p" front-proxy-ca front-proxy-client "/CN=front-proxy-client"
  } >>"$log" 2>&1 || die "kubernetes certificates (openssl)" "$log"
  if [[ ! -f "$p/admin.token" ]]; then
    local tok; tok="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    echo "$tok,tripnest-admin,tripnest-admin,\"system:masters\"" >"$p/tokens.csv"
    echo "$tok" >"$p/admin.token"
  fi
  chmod 600 "$p"/*.key "$p/tokens.csv" "$p/admin.token"
}

# k8s_client_cert DIR CA NAME SUBJECT: a client certificate signed by DIR/CA.
k8s_client_cert() {
  local p="$1" ca="$2" name="$3"
  openssl req -newkey rsa:2048 -nodes -subj "$4" -keyout "$p/$name.key" -out "$p/$name.csr" &&
    printf 'extendedKeyUsage=clientAuth\n' >"$p/client-ext.cnf" &&
    openssl x509 -req -in "$p/$name.csr" -CA "$p/$ca.crt" -CAkey "$p/$ca.key" -CAcreateserial -days 3650 \
      -extfile "$p/client-ext.cnf" -out "$p/$name.crt"
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
  # With a node, the apiserver advertises the node's bridge address (a loopback endpoint of the
  # `kubernetes` Service is invalid), which a relay forwards to the loopback listener.
  local advertise=127.0.0.1
  node_supported >/dev/null && advertise="$NODE_IP"
  local apiserver=("$K8S_BIN/kube-apiserver"
      --etcd-servers "http://127.0.0.1:$ETCD_PORT"
      --bind-address 127.0.0.1 --advertise-address "$advertise" --secure-port "$APISERVER_PORT"
      --tls-cert-file "$p/apiserver.crt" --tls-private-key-file "$p/apiserver.key" --client-ca-file "$p/ca.crt"
      --service-cluster-ip-range 10.96.0.0/16
      --service-account-key-file "$p/sa.pub" --service-account-signing-key-file "$p/sa.key"
      --service-account-issuer https://kubernetes.default.svc.cluster.local
      --token-auth-file "$p/tokens.csv" --authorization-mode RBAC --allow-privileged=true
      --kubelet-client-certificate "$p/kubelet-client.crt" --kubelet-client-key "$p/kubelet-client.key"
      --kubelet-preferred-address-types InternalIP,Hostname
      --requestheader-client-ca-file "$p/front-proxy-ca.crt" --requestheader-allowed-names front-proxy-client
      --requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group
      --requestheader-extra-headers-prefix X-Remote-Extra-
      --proxy-client-cert-file "$p/front-proxy-client.crt" --proxy-client-key-file "$p/front-proxy-client.key"
      --enable-aggregator-routing=true --profiling=false --v=1)
  restart_if_changed kube-apiserver "${apiserver[@]}"
  if adopt_running kube-apiserver "${TRIPNEST_WAIT:-120}" apiserver_health; then ok "kube-apiserver already running on $APISERVER_PORT"; else
    port_free "$APISERVER_PORT" kube-apiserver APISERVER_PORT
    start_bg kube-apiserver "${apiserver[@]}"
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
