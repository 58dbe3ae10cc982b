//! The user service against the real PostgreSQL of the local stack; every test gets a fresh
//! database.

mod auth;
mod credentials;
mod helpers;
mod internal;
mod keys;
mod logs;
mod refresh;
mod rejections;
mod throttle;
