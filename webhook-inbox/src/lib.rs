//! Durable at-least-once webhook processing on SQLite or PostgreSQL
#![forbid(unsafe_code)]
#![deny(missing_docs)]
