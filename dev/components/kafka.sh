# Apache Kafka in KRaft mode (one node that is both broker and controller), from Maven Central jars.
# The jars come from dev/kafka/pom.xml via Maven's copy-dependencies into $CACHE/kafka-<version>/libs;
# the broker runs as plain `java -cp libs/* kafka.Kafka server.properties`.
KAFKA_PORT="${KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-19093}"
KAFKA_POD_PORT="${KAFKA_POD_PORT:-19094}"
KAFKA_HEAP="${KAFKA_HEAP:--Xmx512m -Xms128m}"
KAFKA_HOME="$CACHE/kafka-$KAFKA_VERSION"
KAFKA_STATE="$STATE/kafka"
# Fixed so the data dir stays valid across restarts; the health check also checks for it.
# (base64url of the 16 bytes "TripNestDevKafka", the form Kafka's Uuid expects)
KAFKA_CLUSTER_ID="VHJpcE5lc3REZXZLYWZrYQ"

kafka_install() {
  # .complete holds the pom's hash, so editing dev/kafka/pom.xml refreshes the jars.
  local pom_hash; pom_hash="$(sha256sum <"$DEV/kafka/pom.xml" | cut -c1-16)"
  [[ "$(cat "$KAFKA_HOME/.complete" 2>/dev/null)" == "$pom_hash" ]] && return 0
  need_cmd java || apt_install openjdk-17-jre-headless
  need_cmd mvn || apt_install maven
  need_cmd python3 || apt_install python3
  local log="$LOGS/install-kafka.log"
  step "downloading Kafka $KAFKA_VERSION jars with Maven (first time only; log: $log)"
  rm -rf "$KAFKA_HOME/libs.tmp"
  mkdir -p "$KAFKA_HOME" "$CACHE/m2"
  # -Dmaven.repo.local keeps Maven's own repository outside the clone too.
  if ! mvn -q -B -f "$DEV/kafka/pom.xml" -Dmaven.repo.local="$CACHE/m2" \
      -Dkafka.version="$KAFKA_VERSION" -Dkafka.scala="$KAFKA_SCALA" \
      dependency:copy-dependencies -DoutputDirectory="$KAFKA_HOME/libs.tmp" >>"$log" 2>&1; then
    die "Kafka jars from Maven Central" "$log" "check Maven Central is reachable: mvn -f dev/kafka/pom.xml dependency:resolve"
  fi
  [[ -f "$KAFKA_HOME/libs.tmp/kafka_${KAFKA_SCALA}-$KAFKA_VERSION.jar" ]] ||
    die "Kafka jars: kafka_${KAFKA_SCALA}-$KAFKA_VERSION.jar missing after Maven" "$log" "rm -rf $KAFKA_HOME and retry"
  rm -rf "$KAFKA_HOME/libs" && mv "$KAFKA_HOME/libs.tmp" "$KAFKA_HOME/libs"
  echo "$pom_hash" >"$KAFKA_HOME/.complete"
  ok "Kafka $KAFKA_VERSION jars in $KAFKA_HOME/libs"
}

kafka_write_config() {
  mkdir -p "$KAFKA_STATE/data"
  cat >"$KAFKA_STATE/server.properties" <<EOF
# Written by dev/components/kafka.sh on every start; edit that file, not this one.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
# PODS: the listener Pods of the local node use, through a relay on the node's bridge address
# (dev/components/node.sh), which it advertises.
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT,PODS://127.0.0.1:$KAFKA_POD_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,PODS://${NODE_IP:-10.244.0.1}:$KAFKA_POD_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,PODS:PLAINTEXT
log.dirs=$KAFKA_STATE/data
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
delete.topic.enable=true
num.network.threads=2
num.io.threads=4
EOF
  cat >"$KAFKA_STATE/log4j.properties" <<'EOF'
# Kafka logs to stdout (captured in .tripnest/logs/kafka.log): warnings, plus start/stop lines.
log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaRaftServer=INFO
log4j.logger.kafka.server.BrokerServer=INFO
log4j.logger.kafka.server.ControllerServer=INFO
EOF
}

# kafka_java_cmd: the java command line (without main class) into the array KAFKA_JAVA.
kafka_java_cmd() {
  local heap; read -r -a heap <<<"$KAFKA_HEAP"
  KAFKA_JAVA=(java "${heap[@]}" -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
    -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true
    "-Dlog4j.configuration=file:$KAFKA_STATE/log4j.properties"
    -cp "$KAFKA_HOME/libs/*")
}

kafka_start() {
  if adopt_running kafka "${TRIPNEST_WAIT:-90}" kafka_health; then
    ok "kafka already running on $KAFKA_PORT"
    return 0
  fi
  port_free "$KAFKA_PORT" kafka KAFKA_PORT
  port_free "$KAFKA_CONTROLLER_PORT" "kafka controller" KAFKA_CONTROLLER_PORT
  port_free "$KAFKA_POD_PORT" "kafka (Pods' listener)" KAFKA_POD_PORT
  kafka_write_config
  kafka_java_cmd
  if [[ ! -f "$KAFKA_STATE/data/meta.properties" ]]; then
    "${KAFKA_JAVA[@]}" kafka.tools.StorageTool format -t "$KAFKA_CLUSTER_ID" -c "$KAFKA_STATE/server.properties" \
      --ignore-formatted >>"$LOGS/kafka.log" 2>&1 ||
      die "kafka storage format" "$LOGS/kafka.log" "rm -rf $KAFKA_STATE/data and retry"
  fi
  # After a clean `down` this takes ~4s. After a crash (kill -9) the controller keeps the old broker
  # registration until its session times out (broker.session.timeout.ms, 9s), so it takes ~15s.
  # The broker answers only once it has loaded every partition's log: a state that many test and
  # bench runs left with 8,879 partition directories (2.3 GB) took 103 s, and 90 s failed `up`.
  # wait_for stops at once when the process exits, so the long wait costs only a broker that
  # lives and never answers.
  start_bg kafka "${KAFKA_JAVA[@]}" kafka.Kafka "$KAFKA_STATE/server.properties"
  wait_for kafka "${TRIPNEST_WAIT:-300}" kafka_health
  ok "kafka on 127.0.0.1:$KAFKA_PORT (controller $KAFKA_CONTROLLER_PORT)"
}

# One Metadata (v4) request over the Kafka protocol: healthy when the broker answers with
# itself as a broker, our cluster id and an active controller.
kafka_health() {
  python3 - "$KAFKA_PORT" "$KAFKA_CLUSTER_ID" <<'PY'
import socket, struct, sys
port, cluster = int(sys.argv[1]), sys.argv[2]
client = b"tripnest-health"
# header v1: api_key=3 (Metadata), api_version=4, correlation_id, client_id;
# body v4: topics=[] (none), allow_auto_topic_creation=false
req = struct.pack(">hhih", 3, 4, 7, len(client)) + client + struct.pack(">i?", 0, False)
with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
    s.settimeout(3)
    s.sendall(struct.pack(">i", len(req)) + req)
    def read(n):
        b = b""
        while len(b) < n:
            chunk = s.recv(n - len(b))
            if not chunk:
                raise SystemExit("connection closed")
            b += chunk
        return b
    size, = struct.unpack(">i", read(4))
    buf = read(size)
pos = 0
def take(fmt):
    global pos
    v = struct.unpack_from(fmt, buf, pos); pos += struct.calcsize(fmt); return v[0]
def string():
    global pos
    n = take(">h")
    if n < 0: return None
    v = buf[pos:pos + n].decode(); pos += n; return v
if take(">i") != 7: raise SystemExit("wrong correlation id")
take(">i")  # throttle_time_ms
brokers = []
for _ in range(take(">i")):
    brokers.append((take(">i"), string(), take(">i"))); string()  # node_id, host, port, rack
cluster_id, controller = string(), take(">i")
ok = any(p == port for _, _, p in brokers) and cluster_id == cluster and controller >= 0
if not ok: raise SystemExit(f"not ready: brokers={brokers} cluster={cluster_id} controller={controller}")
PY
}

kafka_env() { echo "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$KAFKA_PORT"; }
kafka_procs() { echo kafka; }
