//! The platform as Pods the operator runs on the local node: each test installs the chart into a
//! fresh namespace ([`ClusterPlatform`]) and drives it through the gateway Pods. In processes
//! mode (no node) each test says so and returns.

use futures::{StreamExt, future::join_all};
use k8s_openapi::api::{coordination::v1::Lease, core::v1::Pod};
use kube::{Api, ResourceExt, api::ListParams};
use serde_json::{Value, json};
use std::{
    collections::{BTreeMap, HashSet},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};
use tripnest_e2e::{
    cluster::{ClusterPlatform, POD_DEADLINE, condition, kill_pod, names, node_available},
    unique, wait_until,
};

const SAGA_DEADLINE: Duration = Duration::from_secs(120);

fn email() -> String {
    format!("{}@example.com", unique("guest"))
}

/// Book until the gateway gives an answer that is not a 5xx (the same Idempotency-Key every
/// time, as a client retrying through a crash would); returns the final status and body.
async fn book_with_retries(p: &ClusterPlatform, token: &str, key: &str, body: &Value) -> (u16, Value) {
    wait_until(&format!("an answer to booking {key}"), SAGA_DEADLINE, || async {
        match p.book(token, key, body).await {
            Some((s, b)) if !s.is_server_error() => Some((s.as_u16(), b)),
            _ => None,
        }
    })
    .await
}

/// Wait until the booking is CONFIRMED or CANCELLED; returns that status.
async fn wait_terminal(p: &ClusterPlatform, token: &str, id: &str) -> String {
    wait_until(&format!("booking {id} to end"), SAGA_DEADLINE, || async {
        let b = p.booking(token, id).await?;
        let s = b["status"].as_str()?.to_owned();
        (s == "CONFIRMED" || s == "CANCELLED").then_some(s)
    })
    .await
}

#[tokio::test]
async fn a_booking_through_the_gateway_pod_is_confirmed_and_its_email_arrives() {
    if !node_available() {
        return;
    }
    let p = ClusterPlatform::install("").await;
    p.seed_hotel("pod-riverside", 5).await;
    let guest = email();
    let token = p.traveller(&guest).await;
    let (status, booking) = book_with_retries(&p, &token, &unique("key"), &ClusterPlatform::stay_body("pod-riverside", 10)).await;
    assert_eq!((status, booking["status"].as_str()), (202, Some("PENDING")), "{booking}");
    let id = booking["id"].as_str().expect("id");
    assert_eq!(wait_terminal(&p, &token, id).await, "CONFIRMED");
    let mail = wait_until("the confirmation email", SAGA_DEADLINE, || async { p.mails_to(&guest).await.into_iter().next() }).await;
    assert!(mail["Subject"].as_str().unwrap_or_default().contains("confirmed"), "{mail}");

    // What served it are Pods of Deployments that the ServiceDeployments own.
    for service in ["gateway", "booking", "payment", "notification"] {
        let d = p.deployment(service).await.expect("deployment");
        let owner = &d.owner_references()[0];
        assert_eq!((owner.kind.as_str(), owner.name.as_str()), ("ServiceDeployment", service));
        let pods = p.pods(service).await;
        assert!(!pods.is_empty() && pods.iter().all(running_and_ready), "{service}: {:?}", names(&pods));
    }
}

fn running_and_ready(p: &Pod) -> bool {
    let st = p.status.as_ref();
    st.and_then(|s| s.phase.as_deref()) == Some("Running")
        && st.and_then(|s| s.conditions.as_ref()).is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

#[tokio::test]
async fn force_deleting_the_booking_pod_mid_flight_loses_and_doubles_nothing() {
    if !node_available() {
        return;
    }
    let p = Arc::new(ClusterPlatform::install("").await);
    p.seed_hotel("crash-house", 60).await;
    let guests: Vec<(String, String)> = join_all((0..5).map(|_| {
        let p = p.clone();
        async move {
            let e = email();
            let t = p.traveller(&e).await;
            (e, t)
        }
    }))
    .await;
    let victim = p.pods("booking").await.into_iter().next().expect("a booking pod").name_any();

    // 50 bookings in flight; the booking Pod dies under them after the first few are answered.
    let answered = Arc::new(AtomicU64::new(0));
    let attempts = (0..50).map(|i| {
        let (p, answered) = (p.clone(), answered.clone());
        let (guest, token) = guests[i % guests.len()].clone();
        async move {
            let body = ClusterPlatform::stay_body("crash-house", 5 + (i as i64 % 20));
            let r = book_with_retries(&p, &token, &format!("crash-{i}"), &body).await;
            answered.fetch_add(1, Ordering::SeqCst);
            (guest, token, r)
        }
    });
    let killer = {
        let (p, answered, victim) = (p.clone(), answered.clone(), victim.clone());
        async move {
            wait_until("the first bookings answered", SAGA_DEADLINE, || async { (answered.load(Ordering::SeqCst) >= 5).then_some(()) })
                .await;
            kill_pod(&p.client, &p.ns, &victim).await;
        }
    };
    let (results, ()) = tokio::join!(join_all(attempts), killer);

    let accepted: Vec<(String, String, String)> = results
        .iter()
        .filter(|(_, _, (s, _))| *s == 202)
        .map(|(g, t, (_, b))| (g.clone(), t.clone(), b["id"].as_str().expect("id").to_owned()))
        .collect();
    let refused: Vec<&Value> = results.iter().filter(|(_, _, (s, _))| *s != 202).map(|(_, _, (_, b))| b).collect();
    assert!(refused.is_empty(), "every booking had rooms, yet some were refused: {refused:?}");
    assert_eq!(accepted.len(), 50, "every attempt ends accepted (retried with its key)");
    let distinct: HashSet<&str> = accepted.iter().map(|(_, _, id)| id.as_str()).collect();
    assert_eq!(distinct.len(), 50, "one booking per Idempotency-Key");
    assert!(!p.pods("booking").await.iter().any(|pod| pod.name_any() == victim), "the booking pod was replaced");

    let mut ended = BTreeMap::<String, usize>::new();
    for (_, token, id) in &accepted {
        *ended.entry(wait_terminal(&p, token, id).await).or_default() += 1;
    }
    // Exactly one charge for each confirmed booking, none for a cancelled one; one email each.
    let payment = p.database("payment").await;
    let notification = p.database("notification").await;
    let ids: Vec<uuid::Uuid> = accepted.iter().map(|(_, _, id)| id.parse().expect("uuid")).collect();
    let captured: i64 = sqlx::query_scalar("SELECT count(*) FROM payments WHERE status = 'captured' AND booking_id = ANY($1)")
        .bind(&ids)
        .fetch_one(&payment)
        .await
        .expect("payments");
    let keys: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let charges: i64 = sqlx::query_scalar("SELECT count(*) FROM sandbox_charges WHERE idempotency_key = ANY($1)")
        .bind(&keys)
        .fetch_one(&payment)
        .await
        .expect("charges");
    let confirmed = ended.get("CONFIRMED").copied().unwrap_or(0) as i64;
    assert_eq!((captured, charges), (confirmed, confirmed), "one charge per confirmed booking ({ended:?})");
    let emails = wait_until("one email per booking", SAGA_DEADLINE, || async {
        let per_booking: Vec<i64> = sqlx::query_scalar(
            "SELECT count(*) FROM notifications WHERE channel = 'email' AND status = 'sent' AND booking_id = ANY($1) GROUP BY booking_id",
        )
        .bind(&ids)
        .fetch_all(&notification)
        .await
        .ok()?;
        (per_booking.len() == 50).then_some(per_booking)
    })
    .await;
    assert!(emails.iter().all(|n| *n == 1), "exactly one email per booking: {emails:?}");
    let delivered: usize = join_all(guests.iter().map(|(g, _)| p.mails_to(g))).await.iter().map(Vec::len).sum();
    assert_eq!(delivered, 50, "the SMTP server received one mail per booking");
    eprintln!("crash test: 50 accepted, ended {ended:?}, {charges} charges, {delivered} emails");
}

#[tokio::test]
async fn three_booking_replicas_sell_three_rooms_to_forty_racers() {
    if !node_available() {
        return;
    }
    let p = Arc::new(ClusterPlatform::install("").await);
    p.seed_hotel("last-rooms", 3).await;
    p.patch_sd("booking", json!({ "replicas": 3 })).await;
    p.wait_ready("booking").await;
    assert_eq!(p.pods("booking").await.len(), 3);
    // The racers sign up a few at a time (80 password hashes at once made the user Pod answer
    // late on a loaded machine); the race itself is the 40 bookings sent together below.
    let tokens: Vec<String> = futures::stream::iter((0..40).map(|_| {
        let p = p.clone();
        async move { p.traveller(&email()).await }
    }))
    .buffered(4)
    .collect()
    .await;
    let body = ClusterPlatform::stay_body("last-rooms", 20);
    let keys: Vec<String> = tokens.iter().map(|_| unique("race")).collect();
    let results = join_all(tokens.iter().zip(&keys).map(|(t, k)| book_with_retries(&p, t, k, &body))).await;
    let held = results.iter().filter(|(s, _)| *s == 202).count();
    let sold_out = results.iter().filter(|(s, b)| *s == 409 && b["error"]["code"].is_string()).count();
    assert_eq!((held, sold_out), (3, 37), "{results:?}");
}

#[tokio::test]
async fn a_rollout_under_steady_load_fails_no_request() {
    if !node_available() {
        return;
    }
    let p = Arc::new(ClusterPlatform::install("").await);
    p.seed_hotel("rolling-inn", 5).await;
    let before: HashSet<String> = p.pods("booking").await.iter().map(ResourceExt::name_any).collect();
    let (sent, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(std::sync::Mutex::new(Vec::<String>::new())));
    let stop = Arc::new(AtomicBool::new(false));
    // Steady load through the gateway onto booking: 20 requests a second from 4 clients.
    let api = p.api().await;
    let (from, to) = tripnest_e2e::cluster::stay(10, 12);
    let url = format!("{api}/hotels/rolling-inn/availability?checkIn={from}&checkOut={to}&guests=1&rooms=1");
    let load = (0..4).map(|_| {
        let (p, sent, failed, stop, url) = (p.clone(), sent.clone(), failed.clone(), stop.clone(), url.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(200));
            while !stop.load(Ordering::SeqCst) {
                tick.tick().await;
                sent.fetch_add(1, Ordering::SeqCst);
                match p.http.get(&url).send().await {
                    Ok(r) if r.status() == 200 => {}
                    Ok(r) => failed.lock().expect("lock").push(format!("HTTP {}", r.status())),
                    Err(e) => failed.lock().expect("lock").push(e.to_string()),
                }
            }
        })
    });
    let load: Vec<_> = load.collect();
    // Load before the rollout starts, and after it: a count of requests, not a pause.
    let sent_by = |n: u64| {
        let sent = sent.clone();
        async move {
            wait_until(&format!("{n} requests sent"), POD_DEADLINE, || async { (sent.load(Ordering::SeqCst) >= n).then_some(()) }).await
        }
    };
    sent_by(10).await;
    p.patch_sd("booking", json!({ "env": { "APP_HOLD_SECONDS": "901" } })).await;
    wait_until("booking's Pods replaced", POD_DEADLINE, || async {
        let now: HashSet<String> = p.pods("booking").await.iter().filter(|p| running_and_ready(p)).map(ResourceExt::name_any).collect();
        let d = p.deployment("booking").await?;
        let st = d.status?;
        let done = st.updated_replicas == Some(1) && st.ready_replicas == Some(1) && st.replicas == Some(1);
        (done && now.len() == 1 && now.is_disjoint(&before)).then_some(())
    })
    .await;
    p.wait_ready("booking").await;
    sent_by(sent.load(Ordering::SeqCst) + 10).await;
    stop.store(true, Ordering::SeqCst);
    join_all(load).await;
    let (sent, failed) = (sent.load(Ordering::SeqCst), failed.lock().expect("lock").clone());
    eprintln!("rollout: {sent} requests sent, {} failed", failed.len());
    assert!(sent >= 40, "the load ran ({sent} requests)");
    assert!(failed.is_empty(), "{} of {sent} requests failed during the rollout: {failed:?}", failed.len());
}

#[tokio::test]
async fn load_on_the_gateway_makes_its_autoscaler_add_a_replica_that_takes_traffic() {
    if !node_available() {
        return;
    }
    let p = Arc::new(
        ClusterPlatform::install(
            "services:\n  gateway:\n    resources: { requests: { cpu: 10m, memory: 48Mi }, limits: { memory: 256Mi } }\n    autoscaling: { minReplicas: 1, maxReplicas: 2, targetCpuUtilization: 50 }\n",
        )
        .await,
    );
    let first = p.pods("gateway").await.iter().map(ResourceExt::name_any).collect::<HashSet<_>>();
    assert_eq!(first.len(), 1);
    let api = p.api().await;
    let stop = Arc::new(AtomicBool::new(false));
    let load: Vec<_> = (0..4)
        .map(|_| {
            let (http, stop, url) = (
                reqwest::Client::builder().pool_max_idle_per_host(0).build().expect("http"),
                stop.clone(),
                format!("{api}/hotels/none/availability"),
            );
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let _ = http.get(&url).send().await;
                }
            })
        })
        .collect();
    let new = wait_until("the HPA to add a gateway replica that is Ready", Duration::from_secs(420), || async {
        let ready: Vec<String> = p.pods("gateway").await.iter().filter(|p| running_and_ready(p)).map(ResourceExt::name_any).collect();
        ready.into_iter().find(|n| !first.contains(n))
    })
    .await;
    // The new replica serves requests: its own request counter grows.
    let pod = Api::<Pod>::namespaced(p.client.clone(), &p.ns).get(&new).await.expect("new pod");
    let ip = pod.status.and_then(|s| s.pod_ip).expect("pod IP");
    let served = wait_until("the new replica to serve proxied requests", Duration::from_secs(60), || async {
        let metrics = p.http.get(format!("http://{ip}:9090/metrics")).send().await.ok()?.text().await.ok()?;
        let n: f64 = metrics
            .lines()
            .filter(|l| l.starts_with("http_requests_total") && l.contains("availability"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum();
        (n > 0.0).then_some(n)
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    join_all(load).await;
    let status = p.sd_status("gateway").await;
    eprintln!("autoscaling: new replica {new} served {served} requests; status {status}");
}

#[tokio::test]
async fn pods_log_json_the_standby_operator_waits_and_deleting_a_service_removes_its_pods() {
    if !node_available() {
        return;
    }
    let p = ClusterPlatform::install("operator: { replicas: 2 }\n").await;
    // Every line every Pod logged is a JSON object.
    let pods = Api::<Pod>::namespaced(p.client.clone(), &p.ns).list(&ListParams::default()).await.expect("pods");
    for pod in &pods.items {
        let logs = p.logs(&pod.name_any()).await;
        assert!(!logs.trim().is_empty(), "{} logged nothing", pod.name_any());
        for line in logs.lines().filter(|l| !l.trim().is_empty()) {
            assert!(serde_json::from_str::<Value>(line).is_ok_and(|v| v.is_object()), "{}: not JSON: {line}", pod.name_any());
        }
    }
    // One operator holds the Lease and acts; the other stands by.
    let operators = wait_until("two operator replicas", POD_DEADLINE, || async {
        let lp = ListParams::default().labels("app.kubernetes.io/name=tripnest-operator");
        let pods = Api::<Pod>::namespaced(p.client.clone(), &p.ns).list(&lp).await.ok()?;
        let ready: Vec<String> = pods.items.iter().filter(|p| running_and_ready(p)).map(ResourceExt::name_any).collect();
        (ready.len() == 2).then_some(ready)
    })
    .await;
    let leases = Api::<Lease>::namespaced(p.client.clone(), &p.ns).list(&ListParams::default()).await.expect("leases");
    let holder = leases.items.iter().find_map(|l| l.spec.as_ref()?.holder_identity.clone()).expect("a lease holder");
    let standby = operators.iter().find(|o| **o != holder).expect("a standby replica");
    assert!(operators.contains(&holder), "the holder {holder} is one of {operators:?}");
    let standby_logs = p.logs(standby).await;
    assert!(!standby_logs.contains("became leader") && !standby_logs.contains("reconciled"), "the standby acted: {standby_logs}");
    assert!(p.logs(&holder).await.contains("became leader"));

    // Deleting a ServiceDeployment removes its Deployment and Pods.
    assert!(!p.pods("payment").await.is_empty());
    p.crd("ServiceDeployment").delete("payment", &Default::default()).await.expect("delete payment");
    wait_until("payment's Pods gone", POD_DEADLINE, || async {
        let lp = ListParams::default().labels("app.kubernetes.io/name=payment");
        let left = Api::<Pod>::namespaced(p.client.clone(), &p.ns).list(&lp).await.ok()?;
        (left.items.is_empty() && p.deployment("payment").await.is_none()).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_missing_image_and_a_crash_loop_are_named_in_the_status_and_events() {
    if !node_available() {
        return;
    }
    let p = ClusterPlatform::install("").await;
    let sd = |name: &str, image: &str, env: Value| {
        json!({ "apiVersion": "tripnest.io/v1alpha1", "kind": "ServiceDeployment", "metadata": { "name": name },
                "spec": { "service": name, "image": image, "replicas": 1, "env": env } })
    };
    let api = p.crd("ServiceDeployment");
    let create = |v: Value| {
        let api = api.clone();
        async move { api.create(&Default::default(), &serde_json::from_value(v).expect("sd")).await.expect("create") }
    };
    create(sd("review", "tripnest/no-such-image:dev", json!({}))).await;
    // A database URL that cannot work: the service exits at start, again and again.
    create(sd("search", "tripnest/search:dev", json!({ "APP_MONGODB_URI": "not-a-mongodb-uri" }))).await;
    for (name, reasons) in
        [("review", &["ErrImageNeverPull", "ImagePullBackOff", "ErrImagePull"][..]), ("search", &["CrashLoopBackOff"][..])]
    {
        let cond = wait_until(&format!("{name}'s Ready condition to name the cause"), POD_DEADLINE, || async {
            let st = p.sd_status(name).await;
            let c = condition(&st, "Ready")?.clone();
            (c["status"] == "False" && reasons.contains(&c["reason"].as_str()?)).then_some(c)
        })
        .await;
        assert!(cond["message"].as_str().is_some_and(|m| m.contains(name)), "{cond}");
        if name == "search" {
            assert!(cond["message"].as_str().is_some_and(|m| m.to_lowercase().contains("mongodb")), "the last message: {cond}");
        }
        let events = Api::<k8s_openapi::api::events::v1::Event>::namespaced(p.client.clone(), &p.ns);
        wait_until(&format!("a Warning event about {name}"), Duration::from_secs(60), || async {
            let list = events.list(&ListParams::default()).await.ok()?;
            list.items
                .iter()
                .any(|e| e.type_.as_deref() == Some("Warning") && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
                .then_some(())
        })
        .await;
    }
    // The operator did not crash.
    let lp = ListParams::default().labels("app.kubernetes.io/name=tripnest-operator");
    let ops = Api::<Pod>::namespaced(p.client.clone(), &p.ns).list(&lp).await.expect("operator pods");
    assert!(
        ops.items.iter().all(|o| o
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .is_some_and(|c| c.iter().all(|c| c.restart_count == 0)))
    );
}

#[tokio::test]
async fn an_inventory_cronjob_run_by_hand_rolls_the_calendar_in_a_pod_and_the_status_follows() {
    if !node_available() {
        return;
    }
    let p = ClusterPlatform::install("").await;
    p.seed_hotel("cron-lodge", 4).await;
    let inv = p.crd("Inventory");
    let before = inv.get("cron-lodge-double").await.expect("inventory").data["status"].clone();
    let cronjob = wait_until("the Inventory's CronJob", POD_DEADLINE, || async {
        let list =
            Api::<k8s_openapi::api::batch::v1::CronJob>::namespaced(p.client.clone(), &p.ns).list(&ListParams::default()).await.ok()?;
        list.items.first().map(ResourceExt::name_any)
    })
    .await;
    let job = unique("roll-by-hand");
    let out = std::process::Command::new("kubectl")
        .args(["--kubeconfig", p.stack.get("KUBECONFIG"), "-n", &p.ns, "create", "job", &job, &format!("--from=cronjob/{cronjob}")])
        .output()
        .expect("kubectl");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    wait_until("the roll Job to succeed", POD_DEADLINE, || async {
        let j = Api::<k8s_openapi::api::batch::v1::Job>::namespaced(p.client.clone(), &p.ns).get(&job).await.ok()?;
        (j.status?.succeeded? == 1).then_some(())
    })
    .await;
    let lp = ListParams::default().labels(&format!("job-name={job}"));
    let pods = Api::<Pod>::namespaced(p.client.clone(), &p.ns).list(&lp).await.expect("job pods");
    let logs = p.logs(&pods.items[0].name_any()).await;
    assert!(logs.lines().any(|l| serde_json::from_str::<Value>(l).is_ok()), "roll-inventory logged JSON: {logs}");
    let after = wait_until("the Inventory's status to follow the run", POD_DEADLINE, || async {
        let s = inv.get("cron-lodge-double").await.ok()?.data["status"].clone();
        (s["lastRun"].is_string() && s["lastRun"] != before["lastRun"] && s["generatedThrough"].is_string()).then_some(s)
    })
    .await;
    eprintln!("inventory status after the run: {after}");
}
