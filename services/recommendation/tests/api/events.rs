//! The read model under redelivery, reordering and concurrent replicas, applied through the
//! store (as the consumer does) on the real FerretDB; and a review that arrives before its stay,
//! through Kafka.

use crate::helpers::*;
use tripnest_common::{
    Event,
    mongo::Versioned,
    saga::{Popularity, Stay},
};
use tripnest_recommendation::store::Store;
use uuid::Uuid;

async fn popularity(store: &Store, hotel: &str) -> i64 {
    let catalog = store.load_catalog().await.expect("catalog");
    catalog.iter().find(|h| h.id == hotel).map(|h| h.popularity).expect("hotel in the catalog")
}

#[tokio::test]
async fn redelivered_and_reordered_booking_events_leave_popularity_and_the_profile_right() {
    let database = fresh_database();
    let store = fresh_store(&database).await;
    let porto: Event<_> = hotel("porto", "Porto", &["wifi"], 10_000);
    store.upsert_hotel(&porto.data, 1).await.expect("hotel");
    let guest = Uuid::now_v7();
    let (kept, late, undone) =
        (stay(guest, "porto", 10, 2, 10_000), stay(guest, "porto", 20, 2, 10_000), stay(guest, "porto", 30, 2, 10_000));
    // What booking published, in the order it counted: kept, late and undone confirmed, late
    // and undone cancelled.
    let mut counts = Popularities::default();
    let (kept_in, late_in, undone_in) = (counts.count("porto", 1), counts.count("porto", 1), counts.count("porto", 1));
    let (late_out, undone_out) = (counts.count("porto", -1), counts.count("porto", -1));
    let record = |s: &Stay, confirmed: bool, p: Popularity| {
        let store = store.clone();
        let s = s.clone();
        async move { store.record_stay(&s, confirmed, !confirmed, Some(p)).await.expect("record") }
    };

    // Kept: confirmed, then the same event again.
    record(&kept, true, kept_in).await;
    record(&kept, true, kept_in).await;
    // Late: cancelled before its confirmation arrives, then both again.
    record(&late, false, late_out).await;
    record(&late, true, late_in).await;
    record(&late, false, late_out).await;
    record(&late, true, late_in).await;
    // Undone: confirmed, cancelled, then the confirmation redelivered.
    record(&undone, true, undone_in).await;
    record(&undone, false, undone_out).await;
    record(&undone, true, undone_in).await;

    assert_eq!(popularity(&store, "porto").await, 1, "booking's latest count, never an older one");
    let profile = store.profile_of(&guest.to_string()).await.expect("profile");
    let listed: Vec<&str> = profile.stays.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(listed, [kept.booking_id.to_string()], "only the kept stay is in the profile");
}

/// A change that adds `item` to a set once.
fn adding(item: &'static str) -> impl FnMut(&mut Vec<String>) -> bool {
    move |set| {
        if set.iter().any(|s| s == item) {
            return false;
        }
        set.push(item.into());
        true
    }
}

#[tokio::test]
async fn a_revision_written_by_a_writer_that_crashed_before_publishing_is_not_lost() {
    use mongodb::bson::{Document, doc};
    let database = fresh_database();
    let db = fresh_db(&database).await;
    let sets: Versioned<Vec<String>> = Versioned::new(&db, "sets");
    assert!(sets.update("h", adding("b1")).await.expect("add").changed);
    // A writer inserted revision 2 and crashed before it made the head show it.
    let orphan = doc! { "_id": "h#2", "rev": 2_i64, "state": ["b1", "b2"] };
    db.collection::<Document>("sets_revisions").insert_one(orphan).await.expect("orphan revision");
    assert_eq!(sets.get("h").await.expect("get"), ["b1"], "the head still shows revision 1");

    // A new change builds on the orphan, not on the head it read first.
    let next = sets.update("h", adding("b3")).await.expect("add after the orphan");
    assert_eq!((next.state.len(), next.rev, next.changed), (3, 3, true), "{next:?}");
    // A redelivery of the orphan's change finds it applied.
    let again = sets.update("h", adding("b2")).await.expect("redelivered add");
    assert_eq!((again.rev, again.changed), (3, false), "{again:?}");
    assert_eq!(sets.get("h").await.expect("get"), ["b1", "b2", "b3"]);
}

/// A change that changes nothing (a redelivery, a stay older than every one the profile keeps)
/// reads the head and looks once for a later revision: two round trips, no write. Counted from
/// the driver's own command events.
#[tokio::test]
async fn an_update_that_changes_nothing_costs_two_reads_and_no_write() {
    let database = fresh_database();
    let (db, commands) = counted_db(&database).await;
    let sets: Versioned<Vec<String>> = Versioned::new(&db, "sets");
    assert!(sets.update("h", adding("b1")).await.expect("add").changed);
    commands.lock().expect("commands").clear();

    let again = sets.update("h", adding("b1")).await.expect("redelivered add");
    assert_eq!((again.rev, again.changed), (1, false), "{again:?}");
    let names: Vec<String> = commands.lock().expect("commands").iter().map(|(name, _)| name.clone()).collect();
    assert_eq!(names, ["find", "find"], "the head, then the revision after it");
}

/// A booking's first event finds no fact and inserts one (one statement on FerretDB, where an
/// upsert is a transaction with a read and a write); a later event of the booking replaces the
/// fact it read. Counted from the driver's own command events on `bookings`.
#[tokio::test]
async fn a_bookings_first_event_inserts_its_fact_unread_and_a_later_one_merges_with_it() {
    let database = fresh_database();
    let (db, commands) = counted_db(&database).await;
    let store = Store::new(db);
    let guest = Uuid::now_v7();
    let s = stay(guest, "porto", 10, 2, 10_000);
    let on_bookings = || -> Vec<String> {
        commands.lock().expect("commands").iter().filter(|(_, c)| c == "bookings").map(|(name, _)| name.clone()).collect()
    };

    store.record_stay(&s, true, false, None).await.expect("confirmed");
    assert_eq!(on_bookings(), ["insert"], "a booking's first event does not look for its fact");
    assert_eq!(store.profile_of(&guest.to_string()).await.expect("profile").stays.len(), 1, "the confirmed stay counts");
    commands.lock().expect("commands").clear();
    store.record_stay(&s, false, true, None).await.expect("cancelled");
    assert_eq!(on_bookings(), ["insert", "find", "update"], "the fact found on insert is read and replaced (an update command)");
    assert!(store.profile_of(&guest.to_string()).await.expect("profile").stays.is_empty(), "the cancelled stay is not counted");
    commands.lock().expect("commands").clear();
    store.record_stay(&s, true, false, None).await.expect("confirmation redelivered");
    assert_eq!(on_bookings(), ["insert", "find"], "the fact already says so: not written");
    assert!(store.profile_of(&guest.to_string()).await.expect("profile").stays.is_empty(), "the cancelled stay is still not counted");
}

/// Two replicas (a partition handover) get a booking's confirmation and its cancellation at
/// once, before either recorded the booking: one insert of the fact loses to the other, merges
/// with it and leaves the profile as the merged fact says. Whichever wins, the stay never counts.
#[tokio::test]
async fn a_confirmation_and_a_cancellation_racing_for_a_new_booking_leave_it_out_of_the_profile() {
    let database = fresh_database();
    let (a, b) = (fresh_store(&database).await, fresh_store(&database).await);
    let guest = Uuid::now_v7();
    let stays: Vec<_> = (0..30).map(|i| stay(guest, "porto", 5 + i, 1, 9_000)).collect();
    futures::future::join_all(stays.iter().map(|s| {
        let (a, b) = (a.clone(), b.clone());
        async move {
            let (confirmed, cancelled) = tokio::join!(a.record_stay(s, true, false, None), b.record_stay(s, false, true, None));
            confirmed.expect("confirm");
            cancelled.expect("cancel");
        }
    }))
    .await;
    let profile = a.profile_of(&guest.to_string()).await.expect("profile");
    let counted: Vec<&str> = profile.stays.iter().map(|s| s.id.as_str()).collect();
    assert!(counted.is_empty(), "cancelled stays counted in the profile: {counted:?}");
}

#[tokio::test]
async fn two_replicas_updating_one_profile_lose_no_stays() {
    let database = fresh_database();
    let (a, b) = (fresh_store(&database).await, fresh_store(&database).await);
    let guest = Uuid::now_v7();
    let stays: Vec<_> = (0..40).map(|i| stay(guest, &format!("hotel-{i}"), 5 + i, 1, 9_000)).collect();
    let (first, second) = stays.split_at(20);
    let run = |store: Store, stays: Vec<Stay>| async move {
        for s in &stays {
            store.record_stay(s, true, false, None).await.expect("confirm");
        }
    };
    tokio::join!(run(a.clone(), first.to_vec()), run(b.clone(), second.to_vec()));
    assert_eq!(a.profile_of(&guest.to_string()).await.expect("profile").stays.len(), 40, "no stay lost from the shared profile");

    // Both replicas cancel every other stay at once, one of them twice.
    let cancels: Vec<_> = stays.iter().step_by(2).cloned().collect();
    let cancel = |store: Store, stays: Vec<Stay>| async move {
        for s in &stays {
            store.record_stay(s, false, true, None).await.expect("cancel");
        }
    };
    tokio::join!(cancel(a.clone(), cancels.clone()), cancel(b.clone(), cancels.clone()), cancel(b.clone(), cancels));
    assert_eq!(b.profile_of(&guest.to_string()).await.expect("profile").stays.len(), 20);
}

#[tokio::test]
async fn a_review_that_arrives_before_its_stay_still_weighs_it() {
    let app = spawn_app().await;
    app.publish(&hotel("porto-pool", "Porto", &["pool"], 10_000)).await;
    app.publish(&hotel("lisbon-spa", "Lisbon", &["spa"], 10_000)).await;
    let (ada, token) = app.issuer.traveller("ada@example.test");
    let (porto, lisbon) = (stay(ada, "porto-pool", 10, 2, 10_000), stay(ada, "lisbon-spa", 20, 2, 10_000));
    app.publish(&reviewed(&porto, 5)).await;
    let mut counts = Popularities::default();
    app.publish(&counts.confirmed(&lisbon)).await;
    app.publish(&counts.confirmed(&porto)).await;
    // Porto weighs 5/3, Lisbon 1: Porto holds 5/8 of the profile (without the review, half).
    tripnest_e2e::wait_until("the early review to weigh the Porto stay", WAIT, || async {
        let (_, body) = app.recommend(Some(&token), "").await;
        let top = &body["profile"]["cities"][0];
        let share = top[1].as_f64()?;
        (body["profile"]["stays"] == 2 && top[0] == "Porto" && (share - 0.625).abs() < 1e-9).then_some(())
    })
    .await;
}
