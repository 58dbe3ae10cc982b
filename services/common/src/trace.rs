//! W3C Trace Context (`traceparent`) for following one booking through every service's logs.
//!
//! - An HTTP request continues the caller's trace when it sends a valid `traceparent`, and
//!   starts one otherwise ([`TraceParent::continue_or_start`], in [`crate::http::observe`]).
//!   The request then carries this hop's `traceparent` (same trace id, a new parent id), so the
//!   gateway forwards it upstream and a handler that writes events puts it on them (the outbox
//!   stores it, the relay sends it as a Kafka header).
//! - A Kafka message continues the trace of its `traceparent` header (in
//!   [`crate::kafka::run_consumer`]); a handler that produces events passes the header on.
//! - Every request runs in a `request` span (method, matched route, request id, trace id) and
//!   every message in a `message` span (topic, partition, offset, event id, trace id), so
//!   every log line written while handling it names the trace: `grep <trace id>` over the JSON
//!   logs of gateway, booking, payment and notification shows one booking's whole saga.

use rand::RngCore;

/// The name of the W3C trace context header, on HTTP requests and Kafka messages alike.
pub const TRACEPARENT: &str = "traceparent";

/// A parsed `traceparent`: version 00, a trace id, the parent (span) id and the flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    /// 16 bytes, never all zero.
    pub trace_id: [u8; 16],
    /// 8 bytes, never all zero.
    pub parent_id: [u8; 8],
    /// Trace flags (bit 0: sampled).
    pub flags: u8,
}

impl TraceParent {
    /// Parse a `traceparent` value; `None` for anything that is not a valid version-00 header
    /// (which then starts a new trace, as the W3C specification asks).
    pub fn parse(value: &str) -> Option<Self> {
        let mut parts = value.trim().split('-');
        let (version, trace, parent, flags) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || version != "00" {
            return None;
        }
        let trace_id: [u8; 16] = hex(trace)?.try_into().ok()?;
        let parent_id: [u8; 8] = hex(parent)?.try_into().ok()?;
        let flags: [u8; 1] = hex(flags)?.try_into().ok()?;
        (trace_id != [0; 16] && parent_id != [0; 8]).then_some(Self { trace_id, parent_id, flags: flags[0] })
    }

    /// A new trace (sampled).
    pub fn start() -> Self {
        let mut trace_id = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut trace_id);
        trace_id[0] |= 1; // never all zero
        Self { trace_id, parent_id: new_span_id(), flags: 1 }
    }

    /// The trace of `incoming` when it is a valid `traceparent`, else a new one; either way
    /// with a new parent id: this hop's.
    pub fn continue_or_start(incoming: Option<&str>) -> Self {
        incoming.and_then(Self::parse).map_or_else(Self::start, |t| Self { parent_id: new_span_id(), ..t })
    }

    /// The trace id as 32 lowercase hex digits (what log lines carry).
    pub fn trace_id_hex(&self) -> String {
        to_hex(&self.trace_id)
    }
}

impl std::fmt::Display for TraceParent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "00-{}-{}-{:02x}", to_hex(&self.trace_id), to_hex(&self.parent_id), self.flags)
    }
}

fn new_span_id() -> [u8; 8] {
    let mut id = [0u8; 8];
    rand::thread_rng().fill_bytes(&mut id);
    id[0] |= 1;
    id
}

fn hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok()).collect()
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_valid_traceparent_round_trips() {
        let t = TraceParent::parse(VALID).expect("valid");
        assert_eq!(t.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(t.to_string(), VALID);
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "",
            "00-abc-def-01",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
        ] {
            assert_eq!(TraceParent::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_hop_keeps_the_trace_and_takes_a_new_parent() {
        let incoming = TraceParent::parse(VALID).expect("valid");
        let hop = TraceParent::continue_or_start(Some(VALID));
        assert_eq!(hop.trace_id, incoming.trace_id);
        assert_ne!(hop.parent_id, incoming.parent_id);
        let fresh = TraceParent::continue_or_start(Some("garbage"));
        assert_ne!(fresh.trace_id, incoming.trace_id);
        assert_eq!(TraceParent::parse(&fresh.to_string()), Some(fresh), "a started trace is a valid header");
    }
}
