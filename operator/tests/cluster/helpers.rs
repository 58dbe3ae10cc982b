//! One operator test environment: a fresh namespace on the real API server, a real booking
//! service (in-process, fresh database, unique topic prefix), and an operator scoped to that
//! namespace with its own Lease. CRDs are installed by server-side apply (idempotent, so
//! parallel tests may all do it) and awaited until Established.

use k8s_openapi::{api::core::v1::Namespace, apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition};
use kube::{
    Api, Client, Resource,
    api::{Patch, PatchParams, PostParams},
    config::{KubeConfigOptions, Kubeconfig},
    runtime::wait::{await_condition, conditions},
};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::{fmt::Debug, time::Duration};
use tokio_util::sync::CancellationToken;
use tripnest_e2e::{Stack, unique};

pub const INTERNAL_TOKEN: &str = "operator-test-token";
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// A client from the stack's kubeconfig.
pub async fn client() -> Client {
    let kubeconfig = Kubeconfig::read_from(Stack::load().get("KUBECONFIG")).expect("read kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.expect("kubeconfig");
    Client::try_from(config).expect("client")
}

/// Apply every CRD `crdgen` prints and wait until the API server serves them.
pub async fn install_crds(client: &Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for (_, crd) in tripnest_operator::resources::crds() {
        let name = crd.metadata.name.clone().expect("crd name");
        crds.patch(&name, &PatchParams::apply("tripnest-crd-install").force(), &Patch::Apply(&crd)).await.expect("apply crd");
        tokio::time::timeout(TIMEOUT, await_condition(crds.clone(), &name, conditions::is_crd_established()))
            .await
            .expect("crd established in time")
            .expect("watch crd");
    }
}

/// A fresh namespace for one test, deleted when the returned guard drops (also when the test
/// fails), after its Hotels' finalizers are stripped.
pub async fn namespace(client: &Client) -> tripnest_e2e::TestNamespace {
    let name = unique("op");
    let ns: Namespace =
        serde_json::from_value(json!({ "metadata": { "name": name, "labels": { "tripnest.io/test": "operator" } } })).expect("ns");
    Api::<Namespace>::all(client.clone()).create(&PostParams::default(), &ns).await.expect("create namespace");
    tripnest_e2e::TestNamespace::adopt(&Stack::load(), &name)
}

/// A booking service on a free port with a fresh database; returns its URL, a pool on its
/// database, and a guard that stops it and drops the database.
pub async fn start_booking(topic_prefix: &str) -> (String, sqlx::PgPool, (tokio_util::sync::DropGuard, tripnest_e2e::TestDatabase)) {
    let stack = Stack::load();
    let db = stack.fresh_database().await;
    let mut cfg = tripnest_booking::Config::default();
    cfg.common.database_url = Some(db.url.clone().into());
    cfg.common.kafka.bootstrap_servers = stack.get("KAFKA_BOOTSTRAP_SERVERS").to_owned();
    cfg.common.kafka.topic_prefix = topic_prefix.to_owned();
    cfg.common.kafka.group_id = unique("booking");
    cfg.internal_token = Some(INTERNAL_TOKEN.into());
    let shutdown = CancellationToken::new();
    let running = tripnest_booking::start(cfg, shutdown.clone()).await.expect("booking starts");
    (running.url(), db.pool.clone(), (shutdown.drop_guard(), db))
}

/// Operator settings for a test: scoped to `ns`, its Lease there, quick retries.
pub fn operator_config(ns: &str, booking_url: &str, topic_prefix: &str) -> tripnest_operator::Config {
    let stack = Stack::load();
    let mut cfg = tripnest_operator::Config::default();
    cfg.common.kafka.bootstrap_servers = stack.get("KAFKA_BOOTSTRAP_SERVERS").to_owned();
    cfg.common.kafka.topic_prefix = topic_prefix.to_owned();
    cfg.common.kafka.group_id = unique("operator");
    cfg.booking_url = booking_url.to_owned();
    cfg.internal_token = Some(INTERNAL_TOKEN.into());
    cfg.booking_image = "registry.test/tripnest/booking:test".into();
    cfg.watch_namespace = Some(ns.to_owned());
    cfg.leader.lease_namespace = ns.to_owned();
    cfg.leader.identity = unique("op");
    cfg.leader.lease_duration_secs = 4;
    cfg.leader.renew_deadline_secs = 3;
    cfg.leader.retry_period_secs = 1;
    cfg.max_backoff_secs = 3;
    cfg.resync_secs = 60;
    cfg
}

/// Everything one test needs, torn down by [`TestEnv::teardown`].
pub struct TestEnv {
    pub client: Client,
    pub ns: String,
    pub booking_url: String,
    pub booking_db: sqlx::PgPool,
    pub operator_url: String,
    pub topic_prefix: String,
    pub http: reqwest::Client,
    operator: CancellationToken,
    running: tripnest_operator::Operator,
    _booking: (tokio_util::sync::DropGuard, tripnest_e2e::TestDatabase),
    /// Deleted when the test ends, passed or failed.
    _namespace: tripnest_e2e::TestNamespace,
}

impl TestEnv {
    /// CRDs, a namespace, booking and an operator.
    pub async fn start() -> Self {
        let client = client().await;
        Self::start_with(client.clone(), |_| async move { client }).await
    }

    /// Like [`TestEnv::start`], with the operator using the client `operator_client` makes
    /// for the new namespace (e.g. one with only the operator's RBAC).
    pub async fn start_with<F, Fut>(client: Client, operator_client: F) -> Self
    where
        F: FnOnce(String) -> Fut,
        Fut: Future<Output = Client>,
    {
        install_crds(&client).await;
        let namespace = namespace(&client).await;
        let ns = namespace.name.clone();
        let operator_client = operator_client(ns.clone()).await;
        let topic_prefix = format!("{}.", unique("t"));
        let (booking_url, booking_db, booking) = start_booking(&topic_prefix).await;
        let operator = CancellationToken::new();
        let cfg = operator_config(&ns, &booking_url, &topic_prefix);
        let running = tripnest_operator::start(cfg, operator_client, operator.clone()).await.expect("operator starts");
        let http = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().expect("http");
        Self {
            client,
            ns,
            booking_url,
            booking_db,
            operator_url: running.ops_url(),
            topic_prefix,
            http,
            operator,
            running,
            _booking: booking,
            _namespace: namespace,
        }
    }

    /// The namespaced API for `K` in this test's namespace.
    pub fn api<K>(&self) -> Api<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()> + Clone + DeserializeOwned + Debug,
    {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    /// Server-side apply `body` (a full object as JSON) as a person with kubectl would.
    pub async fn apply<K>(&self, body: Value) -> K
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()> + Clone + DeserializeOwned + Debug,
    {
        let name = body["metadata"]["name"].as_str().expect("metadata.name").to_owned();
        self.api::<K>().patch(&name, &PatchParams::apply("kubectl-test").force(), &Patch::Apply(&body)).await.expect("apply")
    }

    /// Wait until `K/name` satisfies `check`.
    pub async fn wait_for<K>(&self, name: &str, what: &str, check: impl Fn(&K) -> bool) -> K
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + 'static,
    {
        let found = tokio::time::timeout(TIMEOUT, await_condition(self.api::<K>(), name, move |o: Option<&K>| o.is_some_and(&check)))
            .await
            .unwrap_or_else(|_| panic!("timed out after {TIMEOUT:?} waiting for {what}"))
            .expect("watch");
        found.expect("condition holds only for a present object")
    }

    /// Wait until `K/name` is gone.
    pub async fn wait_gone<K>(&self, name: &str, what: &str)
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + 'static,
    {
        tokio::time::timeout(TIMEOUT, await_condition(self.api::<K>(), name, |o: Option<&K>| o.is_none()))
            .await
            .unwrap_or_else(|_| panic!("timed out after {TIMEOUT:?} waiting for {what}"))
            .expect("watch");
    }

    /// GET a booking path: (status, body).
    pub async fn booking_get(&self, path: &str) -> (u16, Value) {
        let r = self.http.get(format!("{}{path}", self.booking_url)).bearer_auth(INTERNAL_TOKEN).send().await.expect("get");
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// The operator's `/metrics` text.
    pub async fn metrics(&self) -> String {
        self.http.get(format!("{}/metrics", self.operator_url)).send().await.expect("metrics").text().await.expect("text")
    }

    /// Stop the operator (letting in-flight reconciles finish) and delete the namespace.
    /// Stop the operator gracefully (a test that fails ends without this); the namespace and
    /// booking's database go with the guards.
    pub async fn teardown(self) {
        self.operator.cancel();
        tokio::time::timeout(TIMEOUT, self.running.stopped()).await.expect("operator stops in time").expect("clean stop");
    }
}

/// A Hotel manifest with the given room types.
pub fn hotel(name: &str, room_types: &[&str]) -> Value {
    let rts: Vec<Value> = room_types
        .iter()
        .enumerate()
        .map(|(i, n)| json!({ "name": n, "capacity": 2 + i, "baseRateCents": 10000 + 5000 * i as i64, "amenities": ["wifi"] }))
        .collect();
    json!({
        "apiVersion": "tripnest.io/v1alpha1", "kind": "Hotel", "metadata": { "name": name },
        "spec": { "displayName": "Riverside Lisbon", "city": "Lisbon", "country": "PT", "address": "Rua do Rio 1",
            "location": { "lat": 38.7, "lon": -9.1 }, "stars": 4, "amenities": ["wifi", "pool"], "currency": "EUR",
            "description": "By the river.", "roomTypes": rts }
    })
}

/// An Inventory manifest.
pub fn inventory(name: &str, hotel: &str, room_type: &str, rooms: i32) -> Value {
    json!({
        "apiVersion": "tripnest.io/v1alpha1", "kind": "Inventory", "metadata": { "name": name },
        "spec": { "hotelRef": hotel, "roomType": room_type, "rooms": rooms, "horizonDays": 30, "schedule": "15 3 * * *",
            "pricing": { "weekendMultiplier": 1.25 } }
    })
}

/// Whether `conditions` has `type_` with `status`.
pub fn has_condition(conditions: &[tripnest_operator::resources::conditions::Condition], type_: &str, status: &str) -> bool {
    conditions.iter().any(|c| c.type_ == type_ && c.status == status)
}
