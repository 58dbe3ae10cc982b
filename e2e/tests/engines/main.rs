//! Proof that every engine of the local stack is real: one round trip each, through the same
//! crate the services use. Needs `make up` (or run via `make test`).

mod kafka;
mod kubernetes;
mod mongo;
mod outbox;
mod postgres;
mod redis;
mod smtp;
