//! The notification service against the real stack: events in through Kafka, mail out through
//! Mailpit, SMS out to a loopback provider, records and `notification.sent` checked.

mod cancelled;
mod confirmed;
mod dedup;
mod helpers;
mod listing;
mod recovery;
mod sms;
