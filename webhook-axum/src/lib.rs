//! axum extractors for verified webhooks
#![forbid(unsafe_code)]
#![deny(missing_docs)]
