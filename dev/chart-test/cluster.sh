# The cluster half of dev/chart-test.sh (sourced by it): the chart on the real local API server,
# in a fresh namespace that is deleted afterwards, even when a check fails.

K=()          # kubectl as the admin
NS=""         # the test namespace
REL=chart-test
PIDS=()       # processes this run started (booking, operator)
TEST_DB=""
# jq: names of Deployments/CronJobs whose pods may run as root or write their root filesystem.
UNSAFE_PODS='[.items[] | select(.kind == "Deployment" or .kind == "CronJob")
  | (.spec.template // .spec.jobTemplate.spec.template) as $t
  | select(($t.spec.securityContext.runAsNonRoot != true)
      or ([$t.spec.containers[] | .securityContext.readOnlyRootFilesystem == true and .securityContext.allowPrivilegeEscalation == false] | all | not))
  | .metadata.name] | join(" ")'

cluster_cleanup() {
  local rc=$?
  [[ -n "$NS" ]] || exit $rc
  step "cleaning up namespace $NS"
  # Let our operator take the example Hotels off sale in our booking while it still runs.
  "${K[@]}" -n "$NS" delete hotels.tripnest.io --all --wait=false >/dev/null 2>&1 || true
  local deadline=$((SECONDS + 20))
  while ((SECONDS < deadline)) && [[ -n "$("${K[@]}" -n "$NS" get hotels.tripnest.io -o name 2>/dev/null)" ]]; do sleep 0.5; done
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
  # Whatever still carries the finalizer would keep the namespace Terminating forever.
  for h in $("${K[@]}" -n "$NS" get hotels.tripnest.io -o name 2>/dev/null); do
    "${K[@]}" -n "$NS" patch "$h" --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1 || true
  done
  KUBECONFIG="$KCFG" "$HELM" uninstall "$REL" -n "$NS" --wait=false >/dev/null 2>&1 || true
  "${K[@]}" delete clusterrole,clusterrolebinding "$NS-$REL-tripnest-operator" --ignore-not-found >/dev/null 2>&1 || true
  "${K[@]}" delete namespace "$NS" --wait=false >/dev/null 2>&1 || true
  if [[ -n "${KAFKA_BOOTSTRAP_SERVERS:-}" ]]; then
    java -cp "$CACHE/kafka-$KAFKA_VERSION/libs/*" "$FIX/ListTopics.java" "$KAFKA_BOOTSTRAP_SERVERS" "$NS." --delete >/dev/null 2>&1 || true
  fi
  if [[ -n "$TEST_DB" ]]; then psql "$DATABASE_URL" -qc "DROP DATABASE IF EXISTS \"$TEST_DB\" WITH (FORCE)" >/dev/null 2>&1 || true; fi
  ok "namespace $NS deleted, its topics deleted${TEST_DB:+, database $TEST_DB dropped}"
  exit $rc
}

# A free TCP port on loopback.
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 20000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}

# can_i EXPECT VERB RESOURCE [ARGS...]: the operator's token must get EXPECT (yes/no).
can_i() {
  local want="$1"; shift
  local got; got="$(kubectl --kubeconfig "$SA_KCFG" auth can-i "$@" 2>/dev/null)" || true
  [[ "$got" == "$want" ]] || die "as the operator's ServiceAccount, 'can-i $*' says '${got:-error}', want '$want'"
  CAN_I+=("$want: $*")
}

# sa_kubeconfig SA FILE: a kubeconfig that authenticates with a real token of SA in $NS.
sa_kubeconfig() {
  local token server ca
  token="$("${K[@]}" -n "$NS" create token "$1" --duration=1h)" || die "kubectl create token $1"
  server="$("${K[@]}" config view --raw --minify -o jsonpath='{.clusters[0].cluster.server}')"
  ca="$("${K[@]}" config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')"
  cat >"$2" <<KC
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "$server", certificate-authority-data: "$ca"}}]
users: [{name: sa, user: {token: "$token"}}]
contexts: [{name: sa, context: {cluster: c, user: sa, namespace: "$NS"}}]
current-context: sa
KC
  chmod 600 "$2"
}

dry_run() {
  local name="$1" file="$2"
  "${K[@]}" apply --dry-run=server --server-side --force-conflicts -n "$NS" -f "$file" -o json >"$WORK/$name.json" 2>"$WORK/$name.err" ||
    die "server-side dry run of $name: $(head -c 2000 "$WORK/$name.err")"
  ok "$name: $(jq '.items | length' "$WORK/$name.json") objects accepted by the API server"
}

# The operator from `make up` must not reconcile our namespace (see the header of chart-test.sh).
refuse_shared_operator() {
  [[ "$KCFG" == "$STACK_KUBECONFIG" ]] || return 0
  running svc-operator || return 0
  local pid; pid="$(cat "$(pidfile svc-operator)")"
  tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -q '^APP_WATCH_NAMESPACE=.' && return 0
  die "the operator from 'make up' (pid $pid) watches every namespace; it would reconcile the test namespace as admin" "" \
    "restart it scoped to 'default' with 'bash dev/services.sh up' (it restarts when its settings changed)"
}

cluster_checks() {
  [[ -f "$STATE/stack.env" ]] || die "the cluster checks need the local stack" "" "run 'make up' first"
  set -a; source "$STATE/stack.env"; set +a
  STACK_KUBECONFIG="$KUBECONFIG"
  KCFG="${TRIPNEST_TEST_KUBECONFIG:-$KUBECONFIG}"
  export KUBECONFIG="$KCFG"
  need_cmd jq || apt_install jq
  need_cmd java || die "java is missing (Kafka's admin client lists the topics)" "" "make up installs it"
  K=(kubectl --kubeconfig "$KCFG" --request-timeout=20s)
  refuse_shared_operator
  source "$DEV/toolchain.sh"; ensure_rust
  step "building tripnest-operator and tripnest-booking (debug)"
  cargo build -q -p tripnest-operator -p tripnest-booking --bins >"$WORK/cargo.log" 2>&1 || die "cargo build" "$WORK/cargo.log"
  # Copy them at once: other checkouts sharing $CARGO_TARGET_DIR write binaries of the same name.
  mkdir -p "$WORK/bin" && cp "$CARGO_TARGET_DIR/debug/tripnest-operator" "$CARGO_TARGET_DIR/debug/tripnest-booking" "$WORK/bin/"

  NS="tripnest-chart-$(date +%s)-$RANDOM"
  trap cluster_cleanup EXIT
  local prefix="$NS." sa="$REL-tripnest-operator"
  step "namespace $NS; CRDs from the chart (server-side apply, idempotent)"
  "${K[@]}" apply --server-side --force-conflicts -f "$CHART/crds/" >/dev/null || die "applying the chart's CRDs"
  "${K[@]}" wait --for condition=established --timeout=60s crd/hotels.tripnest.io crd/inventories.tripnest.io crd/servicedeployments.tripnest.io >/dev/null
  "${K[@]}" create namespace "$NS" >/dev/null
  "${K[@]}" label namespace "$NS" tripnest.io/test=chart >/dev/null

  step "server-side dry run of every rendering"
  render dry-default "$REL" "$CHART" -n "$NS"
  render dry-namespaced "$REL" "$CHART" -n "$NS" -f "$CHART/ci/ha-namespaced-values.yaml" --set operator.watchNamespace="$NS"
  render dry-existing "$REL" "$CHART" -n "$NS" -f "$CHART/ci/existing-secrets-values.yaml"
  # External Services with their EndpointSlices, and NodePorts (left to the API server to pick,
  # so a cluster already serving the fixed ones does not refuse the dry run).
  render dry-local-node "$REL" "$CHART" -n "$NS" -f "$ROOT/dev/node/values.yaml" --set operator.watchNamespace="$NS" \
    --set gateway.service.nodePort=null --set web.service.nodePort=null
  local r
  for r in dry-default dry-namespaced dry-existing dry-local-node; do dry_run "$r" "$WORK/$r.yaml"; done
  dry_run kind-deps "$ROOT/kind/deps.yaml"
  dry_run examples-platform "$ROOT/crds/examples/platform.yaml"
  local topics='[.items[] | select(.kind == "ServiceDeployment") | {(.metadata.name): (.spec.topics // [])}] | add'
  [[ "$(jq -cS "$topics" "$WORK/dry-default.json")" == "$(jq -cS "$topics" "$WORK/examples-platform.json")" ]] ||
    die "the chart's ServiceDeployment topics differ from crds/examples/platform.yaml"
  ok "the chart's topics equal crds/examples/platform.yaml"
  [[ -z "$(jq -r "$UNSAFE_PODS" "$WORK/dry-default.json")" ]] || die "chart workloads that may run as root or write their root filesystem: $(jq -r "$UNSAFE_PODS" "$WORK/dry-default.json")"

  step "helm install $REL into $NS (kafka topic prefix $prefix)"
  local kafka="${KAFKA_BOOTSTRAP_SERVERS:?}"
  local set=(--set "kafka.topicPrefix=$prefix" --set "connections.kafka.bootstrapServers=$kafka")
  "$HELM" install "$REL" "$CHART" -n "$NS" "${set[@]}" >"$WORK/helm-install.log" 2>&1 || die "helm install" "$WORK/helm-install.log"
  local token; token="$("${K[@]}" -n "$NS" get secret booking-env -o jsonpath='{.data.APP_INTERNAL_TOKEN}' | base64 -d)"
  "$HELM" upgrade "$REL" "$CHART" -n "$NS" "${set[@]}" >>"$WORK/helm-install.log" 2>&1 || die "helm upgrade" "$WORK/helm-install.log"
  [[ ${#token} -ge 16 && "$("${K[@]}" -n "$NS" get secret booking-env -o jsonpath='{.data.APP_INTERNAL_TOKEN}' | base64 -d)" == "$token" ]] ||
    die "the generated internal token changed on helm upgrade"
  ok "installed; the generated internal token survives an upgrade"

  step "RBAC, asked with the operator's own ServiceAccount token"
  SA_KCFG="$WORK/operator.kubeconfig"; CAN_I=()
  sa_kubeconfig "$sa" "$SA_KCFG"
  can_i yes patch servicedeployments.tripnest.io --subresource=status -n "$NS"
  can_i yes patch hotels.tripnest.io -n "$NS"
  can_i yes create deployments.apps -n "$NS"
  can_i yes patch cronjobs.batch -n "$NS"
  can_i yes delete horizontalpodautoscalers.autoscaling -n "$NS"
  can_i yes create events.events.k8s.io -n "$NS"
  can_i yes watch configmaps --all-namespaces
  can_i yes list pods -n "$NS"
  can_i yes watch pods --all-namespaces
  can_i yes create leases.coordination.k8s.io -n "$NS"
  can_i yes update leases.coordination.k8s.io/tripnest-operator -n "$NS"
  can_i no update leases.coordination.k8s.io/kube-controller-manager -n "$NS"
  can_i no update leases.coordination.k8s.io/tripnest-operator -n kube-system
  can_i no get secrets -n "$NS"
  can_i no get secrets -n kube-system
  can_i no list secrets --all-namespaces
  can_i no delete deployments.apps -n "$NS"
  can_i no create pods -n "$NS"
  can_i no delete pods -n "$NS"
  can_i no create pods/exec -n "$NS"
  can_i no delete namespaces
  can_i no create clusterroles.rbac.authorization.k8s.io
  can_i no create rolebindings.rbac.authorization.k8s.io -n "$NS"
  can_i no impersonate serviceaccounts
  can_i no patch customresourcedefinitions.apiextensions.k8s.io
  can_i no delete hotels.tripnest.io -n "$NS"
  # Scoped to one namespace (operator.watchNamespace): the same work there, nothing elsewhere.
  "$HELM" template ns-scoped "$CHART" -n "$NS" --set operator.watchNamespace="$NS" --show-only templates/operator-rbac.yaml |
    "${K[@]}" apply -f - >/dev/null || die "applying the namespaced RBAC"
  sa_kubeconfig ns-scoped-tripnest-operator "$WORK/scoped.kubeconfig"
  local full="$SA_KCFG"; SA_KCFG="$WORK/scoped.kubeconfig"
  can_i yes patch deployments.apps -n "$NS"
  can_i no patch deployments.apps -n default
  can_i no list pods -n default
  can_i no list hotels.tripnest.io --all-namespaces
  can_i no get secrets -n "$NS"
  SA_KCFG="$full"
  ok "${#CAN_I[@]} answers as expected: $(printf '%s; ' "${CAN_I[@]:0:3}")…"

  step "the operator, as a local process with the chart's settings and its ServiceAccount token"
  local bin="$WORK/bin" bport oport identity="$REL-$$"
  bport="$(free_port)"; oport="$(free_port)"
  TEST_DB="$(echo "chart_$NS" | tr '-' '_')"
  # Booking (the operator's peer) with the chart's internal token, on a fresh database.
  setsid env APP_HTTP__HOST=127.0.0.1 APP_HTTP__PORT="$bport" APP_LOG__FORMAT=json \
    APP_DATABASE_URL="${DATABASE_URL%/*}/$TEST_DB" APP_KAFKA__BOOTSTRAP_SERVERS="$kafka" APP_KAFKA__TOPIC_PREFIX="$prefix" \
    APP_KAFKA__GROUP_ID="$NS-booking" APP_KAFKA__CREATE_MISSING_TOPICS=false APP_INTERNAL_TOKEN="$token" \
    APP_JWKS_URL="http://127.0.0.1:9/.well-known/jwks.json" "$bin/tripnest-booking" >"$WORK/booking.log" 2>&1 </dev/null &
  PIDS+=($!)
  LOG_HINT="$WORK/booking.log" until_ok "booking to be ready" 60 curl -fsS "http://127.0.0.1:$bport/readyz"
  # The operator's environment is the installed Deployment's, plus its Secret; only what a pod
  # gets from the downward API and the loopback addresses are replaced.
  local envs=()
  mapfile -t envs < <("${K[@]}" -n "$NS" get deploy "$sa" -o json | jq -r '.spec.template.spec.containers[0].env[] | select(.value != null) | "\(.name)=\(.value)"')
  mapfile -t -O "${#envs[@]}" envs < <("${K[@]}" -n "$NS" get secret "$sa-env" -o json | jq -r '.data | to_entries[] | "\(.key)=\(.value | @base64d)"')
  envs+=(APP_HTTP__HOST=127.0.0.1 "APP_HTTP__PORT=$oport" "APP_WATCH_NAMESPACE=$NS" "APP_LEADER__LEASE_NAMESPACE=$NS"
    "APP_LEADER__IDENTITY=$identity" "APP_BOOKING_URL=http://127.0.0.1:$bport" "APP_KAFKA__GROUP_ID=$NS-operator"
    APP_MAX_BACKOFF_SECS=3 "KUBECONFIG=$SA_KCFG")
  printf '%s\n' "${envs[@]}" | grep -v TOKEN >"$WORK/operator.env"
  setsid env "${envs[@]}" "$bin/tripnest-operator" >"$WORK/operator.log" 2>&1 </dev/null &
  PIDS+=($!)
  LOG_HINT="$WORK/operator.log" until_ok "the operator to be ready" 60 curl -fsS "http://127.0.0.1:$oport/readyz"
  LOG_HINT="$WORK/operator.log" until_ok "the operator to hold its Lease" 60 \
    bash -c "[[ \"\$(kubectl --kubeconfig '$KCFG' -n '$NS' get lease tripnest-operator -o jsonpath='{.spec.holderIdentity}')\" == '$identity' ]]"
  ok "operator $identity leads (Lease $NS/tripnest-operator)"

  step "the example Hotels and Inventories, then everything they and the ServiceDeployments ask for"
  "${K[@]}" apply -n "$NS" -f "$ROOT/crds/examples/hotels.yaml" -f "$ROOT/crds/examples/inventories.yaml" >/dev/null || die "applying crds/examples"
  local want=() sd inv
  for sd in $("${K[@]}" -n "$NS" get servicedeployments.tripnest.io -o jsonpath='{.items[*].metadata.name}'); do
    want+=("deployment/$sd" "service/$sd" "configmap/$sd-config")
  done
  while read -r sd; do [[ -n "$sd" ]] && want+=("hpa/$sd"); done < <("${K[@]}" -n "$NS" get servicedeployments.tripnest.io -o json | jq -r '.items[] | select(.spec.autoscaling) | .metadata.name')
  while read -r sd; do [[ -n "$sd" ]] && want+=("pdb/$sd"); done < <("${K[@]}" -n "$NS" get servicedeployments.tripnest.io -o json | jq -r '.items[] | select(.spec.disruptionBudget) | .metadata.name')
  for inv in $("${K[@]}" -n "$NS" get inventories.tripnest.io -o jsonpath='{.items[*].metadata.name}'); do want+=("cronjob/$inv-roll"); done
  local o
  for o in "${want[@]}"; do LOG_HINT="$WORK/operator.log" until_ok "$o in $NS" 90 "${K[@]}" -n "$NS" get "$o"; done
  ok "${#want[@]} objects: $(printf '%s\n' "${want[@]}" | cut -d/ -f1 | sort | uniq -c | awk '{printf "%s %s, ", $1, $2}' | sed 's/, $//')"
  # Owned by their parents, locked down (non-root, read-only root filesystem), and the CronJobs
  # run the chart's booking image.
  local unowned
  unowned="$("${K[@]}" -n "$NS" get deploy,svc,cm,cronjob -l app.kubernetes.io/managed-by=tripnest-operator -o json | jq -r '[.items[] | select((.metadata.ownerReferences // []) | length == 0) | .metadata.name] | join(" ")')"
  [[ -z "$unowned" ]] || die "children without an owner reference: $unowned"
  unowned="$("${K[@]}" -n "$NS" get deploy,cronjob -l app.kubernetes.io/managed-by=tripnest-operator -o json | jq -r "$UNSAFE_PODS")"
  [[ -z "$unowned" ]] || die "pods the operator would run as root or with a writable root filesystem: $unowned"
  "${K[@]}" -n "$NS" get cronjob -o jsonpath='{.items[*].spec.jobTemplate.spec.template.spec.containers[0].image}' | tr ' ' '\n' | sort -u |
    grep -qx "$("${K[@]}" -n "$NS" get deploy "$sa" -o json | jq -r '.spec.template.spec.containers[0].env[] | select(.name == "APP_BOOKING_IMAGE") | .value')" ||
    die "the roll CronJobs do not run the chart's booking image"

  step "Kafka topics (listed with Kafka's own admin client)"
  local expected listed
  expected="$("${K[@]}" -n "$NS" get servicedeployments.tripnest.io -o json | jq -r --arg p "$prefix" '.items[].spec.topics[]? | "\($p)\(.name) \(.partitions // 1)"' | sort)"
  list_topics() { java -cp "$CACHE/kafka-$KAFKA_VERSION/libs/*" "$FIX/ListTopics.java" "$kafka" "$prefix" 2>/dev/null | sort >"$WORK/topics.txt"; [[ "$(cat "$WORK/topics.txt")" == "$expected" ]]; }
  LOG_HINT="$WORK/operator.log" until_ok "the topics $(echo "$expected" | wc -l) ServiceDeployments ask for (got: $WORK/topics.txt)" 90 list_topics
  ok "$(echo "$expected" | wc -l) topics with prefix $prefix, partitions as asked"

  step "every ServiceDeployment, Hotel and Inventory reports Ready, from this operator alone"
  LOG_HINT="$WORK/operator.log" until_ok "all ServiceDeployments to report Applied with all topics ready" 60 bash -c \
    "kubectl --kubeconfig '$KCFG' -n '$NS' get servicedeployments.tripnest.io -o json | jq -e '[.items[].status | select(.topicsReady != null and (.topicsReady | split(\"/\") | .[0] == .[1])) ] | length == $("${K[@]}" -n "$NS" get servicedeployments.tripnest.io -o name | wc -l)'"
  "${K[@]}" -n "$NS" wait --for condition=Ready --timeout=60s hotels.tripnest.io --all >/dev/null || die "example Hotels never became Ready" "$WORK/operator.log"
  "${K[@]}" -n "$NS" wait --for condition=Ready --timeout=60s inventories.tripnest.io --all >/dev/null || die "example Inventories never became Ready" "$WORK/operator.log"
  local reporters
  reporters="$("${K[@]}" -n "$NS" get events.events.k8s.io -o json | jq -r '[.items[] | select(.reportingController == "tripnest-operator") | .reportingInstance] | unique | join(" ")')"
  [[ "$reporters" == "$identity" ]] || die "Events in $NS come from operator(s) '$reporters', want only '$identity'"
  if grep -iq 'forbidden' "$WORK/operator.log"; then die "the operator was refused something" "$WORK/operator.log"; fi
  ok "no request refused; every Event recorded by $identity"
}
