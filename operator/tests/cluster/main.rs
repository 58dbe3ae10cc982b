//! Operator integration tests against the real local control plane, a real booking service
//! and the real Kafka. Each test has its own namespace, booking database and topic prefix.

mod helpers;
mod hotels;
mod inventories;
mod leader;
mod rbac;
mod service_deployments;
mod validation;
