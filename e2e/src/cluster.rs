//! The platform as Pods on the local node (`make up` with `TRIPNEST_RUNTIME=cluster`): each test
//! installs `charts/tripnest` with helm into a fresh namespace, exactly as a platform team
//! does, with its own operator (watching only that namespace), topic prefix, databases and
//! internal token, on the engines of the local stack. [`ClusterPlatform`] is the test's handle;
//! dropping it deletes the namespace, even when the test failed.
//!
//! The test talks to the gateway through its Service's cluster IP (the host reaches cluster IPs
//! through kube-proxy, as any node does), and reads Pods, logs and statuses through the API.

use crate::{Stack, repo_root, unique, wait_until};
use k8s_openapi::api::{
    apps::v1::Deployment,
    core::v1::{Namespace, Pod, Service},
};
use kube::{
    Api, Client, Config, ResourceExt,
    api::{ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, LogParams, Patch, PatchParams, PostParams},
    config::{KubeConfigOptions, Kubeconfig},
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::{process::Command, time::Duration};

/// How long a Pod-level condition may take on this two-core machine.
pub const POD_DEADLINE: Duration = Duration::from_secs(180);

/// One helm release of the platform in its own namespace.
pub struct ClusterPlatform {
    /// Local stack settings.
    pub stack: Stack,
    /// The namespace (and the release's topic prefix, with a dot).
    pub ns: String,
    /// Kubernetes client (admin).
    pub client: Client,
    /// Bearer token of the internal APIs.
    pub internal_token: String,
    /// The prefix of this release's databases.
    pub db_prefix: String,
    /// HTTP client.
    pub http: reqwest::Client,
}

/// True when the local stack runs a node (`TRIPNEST_RUNTIME=cluster`); cluster tests say so and
/// pass vacuously otherwise, since `make test` in processes mode has no node to test.
pub fn node_available() -> bool {
    let runtime = Stack::load().get_or("TRIPNEST_RUNTIME", "processes").to_owned();
    if runtime != "cluster" {
        eprintln!("no local node (TRIPNEST_RUNTIME={runtime}): cluster test not run");
    }
    runtime == "cluster"
}

/// The admin client of the local stack's API server.
pub async fn kube_client(stack: &Stack) -> Client {
    let kubeconfig = Kubeconfig::read_from(stack.get("KUBECONFIG")).expect("read kubeconfig");
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.expect("kubeconfig");
    Client::try_from(config).expect("kube client")
}

impl ClusterPlatform {
    /// Install the gateway, user, booking, payment and notification (no read side, no web UI)
    /// with `extra_values` (YAML merged last), and wait until every ServiceDeployment is Ready.
    pub async fn install(extra_values: &str) -> Self {
        let stack = Stack::load();
        let ns = unique("tc");
        let db_prefix = format!("t_{}_", ns.replace('-', "_"));
        let internal_token = unique("internal");
        let values = format!(
            r#"
kafka: {{ topicPrefix: "{ns}." }}
operator: {{ replicas: 1, watchNamespace: "{ns}" }}
connections:
  postgres: {{ databasePrefix: "{db_prefix}" }}
  mongodb: {{ databasePrefix: "{db_prefix}" }}
  redis: {{ keyPrefix: "{ns}:" }}
gateway: {{ service: {{ type: ClusterIP, nodePort: null }} }}
web: {{ enabled: false }}
services:
  search: {{ enabled: false }}
  recommendation: {{ enabled: false }}
  review: {{ enabled: false }}
  gateway:
    env:
      APP_RATE_LIMITS__AUTH__BURST: "5000"
      APP_RATE_LIMITS__AUTH__PER_MINUTE: "60000"
      APP_RATE_LIMITS__BOOKINGS__BURST: "5000"
      APP_RATE_LIMITS__BOOKINGS__PER_MINUTE: "60000"
      APP_RATE_LIMITS__DEFAULT__BURST: "50000"
      APP_RATE_LIMITS__DEFAULT__PER_MINUTE: "600000"
"#
        );
        let dir = std::env::temp_dir().join(&ns);
        std::fs::create_dir_all(&dir).expect("values dir");
        std::fs::write(dir.join("test.yaml"), values).expect("values");
        std::fs::write(dir.join("extra.yaml"), extra_values).expect("values");
        let client = kube_client(&stack).await;
        let p = Self {
            stack,
            ns: ns.clone(),
            client,
            internal_token: internal_token.clone(),
            db_prefix,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .pool_idle_timeout(tripnest_common::http::CLIENT_POOL_IDLE)
                .build()
                .expect("http"),
        };
        let root = repo_root();
        let out = Command::new(helm())
            .args(["install", "tripnest"])
            .arg(root.join("charts/tripnest"))
            .args(["--namespace", &ns, "--create-namespace", "--kubeconfig", p.stack.get("KUBECONFIG")])
            .arg("-f")
            .arg(root.join("dev/node/values.yaml"))
            .arg("-f")
            .arg(dir.join("test.yaml"))
            .arg("-f")
            .arg(dir.join("extra.yaml"))
            .args(["--set-string", &format!("connections.internalToken={internal_token}")])
            .output()
            .expect("run helm (HELM or helm on PATH)");
        assert!(out.status.success(), "helm install: {}", String::from_utf8_lossy(&out.stderr));
        for sd in ["gateway", "user", "booking", "payment", "notification"] {
            p.wait_ready(sd).await;
        }
        p
    }

    /// An API of one of our kinds (`ServiceDeployment`, `Hotel`, `Inventory`) in this namespace.
    pub fn crd(&self, kind: &str) -> Api<DynamicObject> {
        let ar = ApiResource::from_gvk(&GroupVersionKind::gvk("tripnest.io", "v1alpha1", kind));
        Api::namespaced_with(self.client.clone(), &self.ns, &ar)
    }

    /// A ServiceDeployment's status, as JSON.
    pub async fn sd_status(&self, sd: &str) -> Value {
        let s = self.crd("ServiceDeployment").get(sd).await.expect("get ServiceDeployment");
        s.data["status"].clone()
    }

    /// Wait until the ServiceDeployment's `Ready` condition is True for its current generation
    /// and every replica is ready; returns its status.
    pub async fn wait_ready(&self, sd: &str) -> Value {
        let api = self.crd("ServiceDeployment");
        wait_until(&format!("ServiceDeployment {}/{sd} Ready", self.ns), POD_DEADLINE, || async {
            let s = api.get_opt(sd).await.ok().flatten()?;
            let st = &s.data["status"];
            let ready = condition(st, "Ready").is_some_and(|c| c["status"] == "True");
            let current = st["observedGeneration"].as_i64() == s.metadata.generation;
            (ready && current && st["readyReplicas"] == st["replicas"]).then(|| st.clone())
        })
        .await
    }

    /// Patch a ServiceDeployment's spec (a JSON merge patch).
    pub async fn patch_sd(&self, sd: &str, spec: Value) {
        let patch = Patch::Merge(json!({ "spec": spec }));
        self.crd("ServiceDeployment").patch(sd, &PatchParams::default(), &patch).await.expect("patch ServiceDeployment");
    }

    /// The base URL of a Service of this release (its cluster IP, port 80).
    pub async fn service_url(&self, name: &str) -> String {
        let svc = Api::<Service>::namespaced(self.client.clone(), &self.ns).get(name).await.expect("service");
        format!("http://{}", svc.spec.and_then(|s| s.cluster_ip).expect("cluster IP"))
    }

    /// The public API through the gateway Pods: `…/api`.
    pub async fn api(&self) -> String {
        format!("{}/api", self.service_url("gateway").await)
    }

    /// Running, not terminating Pods of a service.
    pub async fn pods(&self, service: &str) -> Vec<Pod> {
        let lp = ListParams::default().labels(&format!("app.kubernetes.io/name={service}"));
        let pods = Api::<Pod>::namespaced(self.client.clone(), &self.ns).list(&lp).await.expect("list pods");
        pods.items.into_iter().filter(|p| p.metadata.deletion_timestamp.is_none()).collect()
    }

    /// Everything a Pod's container logged.
    pub async fn logs(&self, pod: &str) -> String {
        Api::<Pod>::namespaced(self.client.clone(), &self.ns).logs(pod, &LogParams::default()).await.expect("pod logs")
    }

    /// The Deployment the operator made for a service.
    pub async fn deployment(&self, name: &str) -> Option<Deployment> {
        Api::<Deployment>::namespaced(self.client.clone(), &self.ns).get_opt(name).await.expect("get deployment")
    }

    /// A Hotel with a `double` room type and its Inventory of `rooms` rooms for 60 nights, as a
    /// hotel manager declares them; waits until the operator synced both into booking.
    pub async fn seed_hotel(&self, hotel: &str, rooms: i32) {
        let h: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "tripnest.io/v1alpha1", "kind": "Hotel", "metadata": { "name": hotel },
            "spec": { "displayName": format!("Hotel {hotel}"), "city": "Lisbon", "country": "PT", "stars": 4, "currency": "EUR",
                      "roomTypes": [{ "name": "double", "capacity": 2, "baseRateCents": 10000 }] }
        }))
        .expect("hotel");
        self.crd("Hotel").create(&PostParams::default(), &h).await.expect("create Hotel");
        let i: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "tripnest.io/v1alpha1", "kind": "Inventory", "metadata": { "name": format!("{hotel}-double") },
            "spec": { "hotelRef": hotel, "roomType": "double", "rooms": rooms, "horizonDays": 60, "schedule": "0 3 * * *" }
        }))
        .expect("inventory");
        self.crd("Inventory").create(&PostParams::default(), &i).await.expect("create Inventory");
        let api = self.api().await;
        let (from, to) = stay(10, 12);
        wait_until(&format!("{hotel} on sale with {rooms} rooms"), POD_DEADLINE, || async {
            let url = format!("{api}/hotels/{hotel}/availability?checkIn={from}&checkOut={to}&guests=1&rooms=1");
            let body: Value = self.http.get(url).send().await.ok()?.json().await.ok()?;
            (body["roomTypes"][0]["available"].as_i64() == Some(i64::from(rooms))).then_some(())
        })
        .await;
    }

    /// Register a traveller and sign in through the gateway; returns the access token.
    pub async fn traveller(&self, email: &str) -> String {
        let api = self.api().await;
        let password = "correct horse battery staple";
        let r = self
            .http
            .post(format!("{api}/auth/register"))
            .json(&json!({ "email": email, "password": password, "name": "Ada Lovelace" }))
            .send()
            .await
            .expect("register");
        assert_eq!(r.status(), 201, "register: {:?}", r.text().await);
        let r =
            self.http.post(format!("{api}/auth/login")).json(&json!({ "email": email, "password": password })).send().await.expect("login");
        assert_eq!(r.status(), 200, "login");
        let body: Value = r.json().await.expect("login json");
        body["accessToken"].as_str().expect("accessToken").to_owned()
    }

    /// `POST /api/bookings` through the gateway; `None` when the request did not get an answer.
    pub async fn book(&self, token: &str, key: &str, body: &Value) -> Option<(StatusCode, Value)> {
        let api = self.api().await;
        let r = self.http.post(format!("{api}/bookings")).bearer_auth(token).header("Idempotency-Key", key).json(body).send().await.ok()?;
        Some((r.status(), r.json().await.unwrap_or(Value::Null)))
    }

    /// `GET /api/bookings/{id}` as its guest.
    pub async fn booking(&self, token: &str, id: &str) -> Option<Value> {
        let api = self.api().await;
        let r = self.http.get(format!("{api}/bookings/{id}")).bearer_auth(token).send().await.ok()?;
        r.status().is_success().then_some(())?;
        r.json().await.ok()
    }

    /// Mails the local SMTP server received for `address`.
    pub async fn mails_to(&self, address: &str) -> Vec<Value> {
        crate::MailApi::new(&self.stack, self.http.clone()).messages_to(address).await
    }

    /// A pool on one of this release's databases (`payment`, `booking`, …).
    pub async fn database(&self, service: &str) -> sqlx::PgPool {
        sqlx::PgPool::connect(&crate::with_database(self.stack.database_url(), &format!("{}{service}", self.db_prefix)))
            .await
            .expect("connect to the release's database")
    }

    /// A booking request for the `double` of `hotel`, `days` from today for two nights.
    pub fn stay_body(hotel: &str, days: i64) -> Value {
        let (from, to) = stay(days, days + 2);
        json!({ "hotelId": hotel, "roomType": "double", "checkIn": from, "checkOut": to, "guests": 2, "rooms": 1,
                "paymentMethod": "pm_card_visa" })
    }
}

/// The condition of `type_` in a status.
pub fn condition<'a>(status: &'a Value, type_: &str) -> Option<&'a Value> {
    status["conditions"].as_array()?.iter().find(|c| c["type"] == type_)
}

/// Check-in and check-out dates `from` and `to` days from today.
pub fn stay(from: i64, to: i64) -> (String, String) {
    let today = chrono::Utc::now().date_naive();
    ((today + chrono::Days::new(from as u64)).to_string(), (today + chrono::Days::new(to as u64)).to_string())
}

/// The helm binary: `$HELM`, else `helm` on PATH.
pub fn helm() -> String {
    std::env::var("HELM").unwrap_or_else(|_| "helm".into())
}

impl Drop for ClusterPlatform {
    fn drop(&mut self) {
        // The Hotels' finalizer needs the operator that the namespace deletion is about to stop.
        drop(crate::TestNamespace::adopt(&self.stack, &self.ns));
        let _ = std::fs::remove_dir_all(std::env::temp_dir().join(&self.ns));
    }
}

/// Delete a Pod at once (`--grace-period=0 --force`), as a node failure would.
pub async fn kill_pod(client: &Client, ns: &str, pod: &str) {
    let dp = DeleteParams { grace_period_seconds: Some(0), ..DeleteParams::default() };
    Api::<Pod>::namespaced(client.clone(), ns).delete(pod, &dp).await.expect("force-delete pod");
}

/// The names of Pods, for messages.
pub fn names(pods: &[Pod]) -> Vec<String> {
    pods.iter().map(ResourceExt::name_any).collect()
}

/// Whether a namespace exists (tests check their cleanup).
pub async fn namespace_exists(client: &Client, ns: &str) -> bool {
    Api::<Namespace>::all(client.clone()).get_opt(ns).await.expect("get namespace").is_some()
}
