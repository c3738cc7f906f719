//! Helpers for the multi-process PostgreSQL tests: receiver processes, a signing sender, and a
//! cluster of their own that a test may stop and start.
#![allow(dead_code, unreachable_pub)]

pub mod cluster;
pub mod query;
pub mod receiver;
pub mod sender;
