//! The API server itself rejects bad specs (schema bounds and CEL rules from the CRDs), with
//! messages that name the field.

use crate::helpers::{client, install_crds, namespace};
use kube::{
    Api, Client,
    api::{DynamicObject, Patch, PatchParams},
    discovery::ApiResource,
};
use serde_json::{Value, json};
use tripnest_operator::resources::{Hotel, Inventory, ServiceDeployment};

async fn apply(client: &Client, ns: &str, resource: &ApiResource, body: &Value) -> Result<DynamicObject, String> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, resource);
    let name = body["metadata"]["name"].as_str().expect("name");
    api.patch(name, &PatchParams::apply("kubectl-test"), &Patch::Apply(body)).await.map_err(|e| e.to_string())
}

fn hotel(name: &str, tweak: impl FnOnce(&mut Value)) -> Value {
    let mut h = json!({ "apiVersion": "tripnest.io/v1alpha1", "kind": "Hotel", "metadata": { "name": name },
        "spec": { "displayName": "Riverside", "city": "Lisbon", "country": "PT", "stars": 4, "currency": "EUR",
            "roomTypes": [{ "name": "double", "capacity": 2, "baseRateCents": 12000 }] } });
    tweak(&mut h["spec"]);
    h
}

fn inventory(name: &str, tweak: impl FnOnce(&mut Value)) -> Value {
    let mut i = json!({ "apiVersion": "tripnest.io/v1alpha1", "kind": "Inventory", "metadata": { "name": name },
        "spec": { "hotelRef": "riverside", "roomType": "double", "rooms": 10, "horizonDays": 90, "schedule": "0 3 * * *" } });
    tweak(&mut i["spec"]);
    i
}

fn service(name: &str, tweak: impl FnOnce(&mut Value)) -> Value {
    let mut s = json!({ "apiVersion": "tripnest.io/v1alpha1", "kind": "ServiceDeployment", "metadata": { "name": name },
        "spec": { "service": "booking", "image": "ghcr.io/tripnest/booking:1.0.0" } });
    tweak(&mut s["spec"]);
    s
}

#[tokio::test]
async fn invalid_specs_are_rejected_by_the_api_server_with_field_naming_messages() {
    let client = client().await;
    install_crds(&client).await;
    let ns = namespace(&client).await;
    let (hotels, inventories, services) =
        (ApiResource::erase::<Hotel>(&()), ApiResource::erase::<Inventory>(&()), ApiResource::erase::<ServiceDeployment>(&()));

    let cases: Vec<(&str, &ApiResource, Value, &[&str])> = vec![
        ("stars above 5", &hotels, hotel("h1", |s| s["stars"] = json!(6)), &["spec.stars", "less than or equal to 5"]),
        ("stars below 1", &hotels, hotel("h2", |s| s["stars"] = json!(0)), &["spec.stars"]),
        ("country not ISO", &hotels, hotel("h3", |s| s["country"] = json!("Portugal")), &["spec.country"]),
        ("manager not an email", &hotels, hotel("h5", |s| s["managers"] = json!(["ops@example.test", "Marta"])), &["spec.managers[1]"]),
        (
            "duplicate room types",
            &hotels,
            hotel("h4", |s| {
                s["roomTypes"].as_array_mut().expect("list").push(json!({ "name": "double", "capacity": 3, "baseRateCents": 1 }))
            }),
            &["spec.roomTypes", "room type names must be unique"],
        ),
        ("negative rooms", &inventories, inventory("i1", |s| s["rooms"] = json!(-1)), &["spec.rooms", "greater than or equal to 0"]),
        ("horizon too long", &inventories, inventory("i2", |s| s["horizonDays"] = json!(3650)), &["spec.horizonDays"]),
        ("horizon zero", &inventories, inventory("i3", |s| s["horizonDays"] = json!(0)), &["spec.horizonDays"]),
        ("bad cron", &inventories, inventory("i4", |s| s["schedule"] = json!("every night")), &["spec.schedule", "cron schedule"]),
        ("cron with four fields", &inventories, inventory("i5", |s| s["schedule"] = json!("0 3 * *")), &["spec.schedule"]),
        ("not a date", &inventories, inventory("i6", |s| s["closedDates"] = json!(["2027-02-30"])), &["spec.closedDates[0]"]),
        (
            "season from after to",
            &inventories,
            inventory("i7", |s| s["pricing"] = json!({ "seasons": [{ "from": "2027-09-01", "to": "2027-06-01", "multiplier": 1.3 }] })),
            &["spec.pricing.seasons[0].from", "must not be after"],
        ),
        (
            "override date not ISO",
            &inventories,
            inventory("i8", |s| s["overrides"] = json!([{ "date": "01/02/2027", "rooms": 2 }])),
            &["spec.overrides[0].date"],
        ),
        ("unknown service", &services, service("s1", |s| s["service"] = json!("billing")), &["spec.service", "Unsupported value"]),
        (
            "autoscaling min above max",
            &services,
            service("s2", |s| s["autoscaling"] = json!({ "minReplicas": 5, "maxReplicas": 2, "targetCpuUtilization": 70 })),
            &["spec.autoscaling", "minReplicas must not exceed maxReplicas"],
        ),
        (
            "budget with both bounds",
            &services,
            service("s3", |s| s["disruptionBudget"] = json!({ "minAvailable": 1, "maxUnavailable": 1 })),
            &["spec.disruptionBudget", "exactly one"],
        ),
        (
            "shrinking topic partitions to zero",
            &services,
            service("s4", |s| s["topics"] = json!([{ "name": "a", "partitions": 0 }])),
            &["spec.topics[0].partitions"],
        ),
    ];
    for (what, resource, body, needles) in &cases {
        let err = apply(&client, &ns, resource, body).await.expect_err(what);
        for needle in *needles {
            assert!(err.contains(needle), "{what}: the error should mention {needle:?}: {err}");
        }
    }

    // hotelRef, roomType and service are immutable once created.
    apply(&client, &ns, &inventories, &inventory("fixed", |_| {})).await.expect("a valid inventory is accepted");
    let err = apply(&client, &ns, &inventories, &inventory("fixed", |s| s["hotelRef"] = json!("elsewhere"))).await.expect_err("immutable");
    assert!(err.contains("spec.hotelRef") && err.contains("immutable"), "{err}");
    let err = apply(&client, &ns, &inventories, &inventory("fixed", |s| s["roomType"] = json!("suite"))).await.expect_err("immutable");
    assert!(err.contains("spec.roomType") && err.contains("immutable"), "{err}");
    apply(&client, &ns, &inventories, &inventory("fixed", |s| s["rooms"] = json!(25))).await.expect("rooms may change");
    apply(&client, &ns, &services, &service("svc", |_| {})).await.expect("a valid service deployment is accepted");
    let err = apply(&client, &ns, &services, &service("svc", |s| s["service"] = json!("payment"))).await.expect_err("immutable");
    assert!(err.contains("spec.service") && err.contains("immutable"), "{err}");
}

#[tokio::test]
async fn the_examples_are_accepted_by_the_api_server() {
    let client = client().await;
    install_crds(&client).await;
    let ns = namespace(&client).await;
    let dir = tripnest_e2e::repo_root().join("crds/examples");
    let mut applied = 0;
    for entry in std::fs::read_dir(&dir).expect("crds/examples") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("read example");
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let body: Value = serde::Deserialize::deserialize(doc).expect("yaml");
            if body.is_null() {
                continue;
            }
            let kind = body["kind"].as_str().expect("kind");
            let resource = match kind {
                "Hotel" => ApiResource::erase::<Hotel>(&()),
                "Inventory" => ApiResource::erase::<Inventory>(&()),
                "ServiceDeployment" => ApiResource::erase::<ServiceDeployment>(&()),
                other => panic!("{}: unexpected kind {other}", path.display()),
            };
            apply(&client, &ns, &resource, &body).await.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            applied += 1;
        }
    }
    assert!(applied >= 10, "examples cover hotels, inventories and the platform ({applied} applied)");
}
