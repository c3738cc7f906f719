//! Tower layer that verifies webhook signatures on the raw body
#![forbid(unsafe_code)]
#![deny(missing_docs)]
