//! One telemetry setup for every binary: an env-filtered `tracing` subscriber writing JSON
//! lines (or pretty text locally) to stdout, and the process-wide Prometheus recorder behind
//! the `metrics` macros, rendered by `/metrics`.

use crate::config::{LogConfig, LogFormat};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use tracing_subscriber::{EnvFilter, layer::SubscriberExt, util::SubscriberInitExt};

/// Latency buckets (seconds) for every `*_duration_seconds` histogram.
pub const LATENCY_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Buckets (seconds) for every `*_age_seconds` histogram (how old an event was when applied).
pub const AGE_BUCKETS: &[f64] = &[0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0];

static PROMETHEUS: OnceLock<PrometheusHandle> = OnceLock::new();

/// Initialise logging and metrics for `service`. Safe to call more than once (tests do):
/// the first call wins and later calls are no-ops.
pub fn init(service: &str, log: &LogConfig) -> PrometheusHandle {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&log.level));
    let registry = tracing_subscriber::registry().with(filter);
    let result = match log.format {
        LogFormat::Json => registry
            // Every enclosing span, so the `request`/`message` span's trace id is on each line
            // even under a handler's own span (see `crate::trace`).
            .with(tracing_subscriber::fmt::layer().json().flatten_event(true).with_current_span(false).with_span_list(true))
            .try_init(),
        LogFormat::Pretty => registry.with(tracing_subscriber::fmt::layer().compact()).try_init(),
    };
    if result.is_ok() {
        tracing::debug!(service, "telemetry initialised");
    }
    prometheus(service)
}

/// The process-wide Prometheus handle, installing the recorder on first use.
pub fn prometheus(service: &str) -> PrometheusHandle {
    PROMETHEUS
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .add_global_label("service", service)
                .set_buckets_for_metric(Matcher::Suffix("_duration_seconds".into()), LATENCY_BUCKETS)
                .expect("static bucket list is non-empty")
                .set_buckets_for_metric(Matcher::Suffix("_age_seconds".into()), AGE_BUCKETS)
                .expect("static bucket list is non-empty")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (e.g. two services in one test
            // process); the handle still renders what this recorder sees.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_histograms_render_as_prometheus_text() {
        let handle = init("unit-test", &LogConfig::default());
        metrics::counter!("tripnest_test_events_total", "kind" => "demo").increment(3);
        metrics::histogram!("tripnest_test_duration_seconds").record(0.02);
        handle.run_upkeep();
        let text = handle.render();
        // The recorder is process-wide: whichever test initialised it first named the service.
        let line = text.lines().find(|l| l.starts_with("tripnest_test_events_total{")).expect("counter rendered");
        assert!(line.contains(r#"service=""#) && line.ends_with(r#"kind="demo"} 3"#), "{line}");
        assert!(text.contains("tripnest_test_duration_seconds_bucket"), "histograms use buckets: {text}");
        // A second init is harmless and shares the same registry.
        let again = init("unit-test", &LogConfig::default());
        assert!(again.render().contains("tripnest_test_events_total"));
    }
}
