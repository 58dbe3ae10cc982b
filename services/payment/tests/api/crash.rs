//! Stopping or crashing the service around a charge never charges twice or loses the outcome.

use crate::helpers::{WAIT, booking, prepare_app, spawn_app, spawn_app_with};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use tripnest_common::{events::topics, saga::PaymentSucceeded};
use tripnest_e2e::wait_until;
use tripnest_payment::Config;

/// An instance in its own runtime, so it can die the way a killed process does: every task
/// dropped at its current await point, connections closed, nothing committed.
struct Doomed {
    kill: oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Doomed {
    async fn start(cfg: Config) -> Self {
        let (kill, killed) = oneshot::channel::<()>();
        let (started, ready) = oneshot::channel();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
            runtime.block_on(async move {
                let _running = tripnest_payment::start(cfg, CancellationToken::new()).await.expect("doomed instance starts");
                let _ = started.send(());
                let _ = killed.await;
            });
            runtime.shutdown_timeout(Duration::from_secs(10));
        });
        ready.await.expect("doomed instance started");
        Self { kill, thread }
    }

    async fn crash(self) {
        let _ = self.kill.send(());
        let thread = self.thread;
        tokio::task::spawn_blocking(move || thread.join()).await.expect("join task").expect("instance thread ends");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_between_the_charge_and_the_commit_charges_once_and_publishes_once() {
    let mut app = prepare_app(|_| {}).await;
    let mut slow = app.cfg.clone();
    slow.sandbox.response_delay_ms = 5_000;
    let doomed = Doomed::start(slow).await;
    let created = booking("pm_card_visa");
    let booking_id = created.stay.booking_id;

    app.create_booking(&created).await;
    wait_until("the card network to record the charge", WAIT, || async { (app.sandbox_charges(booking_id).await == 1).then_some(()) })
        .await;
    doomed.crash().await;

    assert_eq!(app.payment_rows(booking_id).await, 0, "the crash hit the window: charged at the network, nothing committed here");
    app.restart().await;
    let success = app.wait_for_event::<PaymentSucceeded>(topics::PAYMENT_SUCCESS, booking_id).await;
    app.wait_settled().await;
    assert_eq!(app.sandbox_attempts(booking_id).await, 2, "the redelivery called the provider again");
    assert_eq!(app.sandbox_charges(booking_id).await, 1, "and got the original capture back");
    assert_eq!(app.published_count(topics::PAYMENT_SUCCESS).await, 1, "exactly one payment.success overall");
    let (_, body) = app.get_payment(&booking_id.to_string()).await;
    let capture: String = sqlx::query_scalar("SELECT capture_id FROM sandbox_charges WHERE idempotency_key = $1")
        .bind(booking_id.to_string())
        .fetch_one(&app.pool)
        .await
        .expect("sandbox capture");
    assert_eq!(body["captureId"], capture);
    assert_eq!(body["paymentId"], success.data.payment_id.to_string());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_graceful_stop_during_a_charge_finishes_it_and_the_next_instance_publishes_it_once() {
    let mut app = spawn_app_with(|cfg| cfg.sandbox.response_delay_ms = 1_500).await;
    let created = booking("pm_card_visa");
    let booking_id = created.stay.booking_id;

    app.create_booking(&created).await;
    wait_until("the card network to record the charge", WAIT, || async { (app.sandbox_charges(booking_id).await == 1).then_some(()) })
        .await;
    app.stop().await;

    assert_eq!(app.payment_rows(booking_id).await, 1, "the consumer finished its current message before stopping");
    app.cfg.sandbox.response_delay_ms = 0;
    app.restart().await;
    app.wait_for_event::<PaymentSucceeded>(topics::PAYMENT_SUCCESS, booking_id).await;
    app.wait_settled().await;
    assert_eq!(app.sandbox_attempts(booking_id).await, 1, "the next instance did not charge again");
    assert_eq!(app.sandbox_charges(booking_id).await, 1);
    assert_eq!(app.published_count(topics::PAYMENT_SUCCESS).await, 1, "exactly one payment.success overall");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stop_right_after_the_booking_arrives_loses_nothing_and_charges_once() {
    let mut app = spawn_app().await;
    let created = booking("pm_card_visa");
    let booking_id = created.stay.booking_id;

    app.create_booking(&created).await;
    app.stop().await;
    app.restart().await;

    app.wait_for_event::<PaymentSucceeded>(topics::PAYMENT_SUCCESS, booking_id).await;
    app.wait_settled().await;
    assert_eq!(app.sandbox_charges(booking_id).await, 1);
    assert_eq!(app.published_count(topics::PAYMENT_SUCCESS).await, 1, "exactly one payment.success overall");
}
