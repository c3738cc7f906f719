//! Signed deliveries for tests, shared by the framework crates' test helpers
//! (`webhook_axum::testing`, `webhook_actix::testing`).

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

use crate::{Clock as _, Scheme, SignedHeaders, Signer, SystemClock};

/// A signer for `scheme` with `secret`, for a test: a refused secret is a mistake in the test
/// itself, so it panics where the test builds its request (the framework crates'
/// `SignedRequest::new` and `with_scheme` call this).
///
/// ```
/// use webhook_core::Scheme;
/// use webhook_core::testing::signer;
///
/// let github = signer(Scheme::GitHub, "gh-secret");
/// assert!(github.sign("d1", 0, b"{}").get("x-hub-signature-256").is_some());
/// ```
///
/// # Panics
/// If the secret is not valid for the scheme (see [`Signer::new`]).
#[allow(clippy::panic)]
pub fn signer(scheme: Scheme, secret: &str) -> Signer {
    match Signer::new(scheme, secret) {
        Ok(signer) => signer,
        Err(err) => panic!("SignedRequest: invalid secret for {scheme}: {err}"),
    }
}

/// How to spoil a signed delivery on purpose, to test a receiver's rejections. Both make
/// verification fail with `signature_mismatch` (401).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Tamper {
    /// Change the body after signing (its last byte is flipped, or a byte is added to an empty
    /// body).
    Body,
    /// Replace the signature with one, well-formed for the scheme, over other content.
    Signature,
}

/// What a sender would send, before signing: body, delivery id, timestamp, and what to change
/// after signing (tampering, removed or added headers). [`headers`](TestDelivery::headers) signs
/// it with any [`Signer`].
///
/// ```
/// use webhook_core::testing::{Tamper, TestDelivery};
/// use webhook_core::{Signer, Verifier, VerifyError};
///
/// let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// let signer = Signer::standard(secret)?;
/// let verifier = Verifier::standard(secret)?;
///
/// let delivery = TestDelivery::new(r#"{"type":"user.login"}"#).id("msg_1");
/// verifier.verify(&delivery.headers(&signer), &delivery.body())?;
///
/// let forged = delivery.tamper(Tamper::Signature);
/// let err = verifier.verify(&forged.headers(&signer), &forged.body()).unwrap_err();
/// assert!(matches!(err, VerifyError::SignatureMismatch { .. }));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct TestDelivery {
    body: Bytes,
    id: String,
    timestamp: i64,
    tamper_body: bool,
    tamper_signature: bool,
    removed: Vec<String>,
    extra: Vec<(String, String)>,
}

impl TestDelivery {
    /// A delivery of `body` with a fresh id (`msg_test_N`) and the current time.
    pub fn new(body: impl Into<Bytes>) -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        TestDelivery {
            body: body.into(),
            id: format!("msg_test_{}", NEXT_ID.fetch_add(1, Ordering::Relaxed)),
            timestamp: SystemClock.now_unix(),
            tamper_body: false,
            tamper_signature: false,
            removed: Vec::new(),
            extra: Vec::new(),
        }
    }

    /// The delivery id (`webhook-id`, `X-GitHub-Delivery`, …). Reuse an id to simulate a retry.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }

    /// The signed timestamp (Unix seconds), e.g. `now - 3600` for a stale delivery.
    pub fn timestamp(mut self, timestamp: i64) -> Self {
        self.timestamp = timestamp;
        self
    }

    /// Spoils the delivery after signing; several kinds can be combined.
    pub fn tamper(mut self, tamper: Tamper) -> Self {
        match tamper {
            Tamper::Body => self.tamper_body = true,
            Tamper::Signature => self.tamper_signature = true,
        }
        self
    }

    /// Undoes [`tamper`](TestDelivery::tamper).
    pub fn untampered(mut self) -> Self {
        self.tamper_body = false;
        self.tamper_signature = false;
        self
    }

    /// Removes a header after signing (case-insensitive name), e.g. `webhook-signature`.
    ///
    /// ```
    /// use webhook_core::testing::TestDelivery;
    /// use webhook_core::{Signer, Verifier, VerifyError};
    ///
    /// let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    /// let (signer, verifier) = (Signer::standard(secret)?, Verifier::standard(secret)?);
    ///
    /// let unsigned = TestDelivery::new("{}").without_header("Webhook-Signature");
    /// let err = verifier.verify(&unsigned.headers(&signer), &unsigned.body()).unwrap_err();
    /// assert_eq!(err, VerifyError::MissingHeader { name: "webhook-signature" });
    ///
    /// let stale = TestDelivery::new("{}").timestamp(1_614_265_330);
    /// let err = verifier.verify(&stale.headers(&signer), &stale.body()).unwrap_err();
    /// assert_eq!(err.code(), "timestamp_too_old");
    /// # Ok::<(), webhook_core::SecretError>(())
    /// ```
    pub fn without_header(mut self, name: &str) -> Self {
        let name = name.to_ascii_lowercase();
        // The last call on a name wins: one added earlier goes too.
        self.extra.retain(|(added, _)| *added != name);
        self.removed.push(name);
        self
    }

    /// Adds, or replaces, a header after signing: `x-github-event`, or a forged
    /// `webhook-timestamp`. The last call on a name wins, this or
    /// [`without_header`](TestDelivery::without_header).
    ///
    /// ```
    /// use webhook_core::Signer;
    /// use webhook_core::testing::TestDelivery;
    ///
    /// let signer = Signer::standard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
    /// let added = TestDelivery::new("{}").without_header("x-trace").header("X-Trace", "1");
    /// assert_eq!(added.headers(&signer).get("x-trace"), Some("1"));
    /// let removed = added.without_header("X-Trace");
    /// assert_eq!(removed.headers(&signer).get("x-trace"), None);
    /// # Ok::<(), webhook_core::SecretError>(())
    /// ```
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        let name = name.to_ascii_lowercase();
        self.removed.retain(|removed| *removed != name);
        self.extra.push((name, value.into()));
        self
    }

    /// The delivery id.
    pub fn delivery_id(&self) -> &str {
        &self.id
    }

    /// The headers added with [`header`](TestDelivery::header), in order.
    pub fn extra_headers(&self) -> &[(String, String)] {
        &self.extra
    }

    /// The body that will be sent (after tampering).
    pub fn body(&self) -> Bytes {
        if !self.tamper_body {
            return self.body.clone();
        }
        let mut body = self.body.to_vec();
        match body.last_mut() {
            Some(last) => *last ^= 0x01,
            None => body.push(b' '),
        }
        Bytes::from(body)
    }

    /// The headers that will be sent, signed by `signer`, with tampering, removals and additions
    /// applied.
    pub fn headers(&self, signer: &Signer) -> SignedHeaders {
        let mut headers = signer.sign(&self.id, self.timestamp, &self.body);
        if self.tamper_signature {
            let mut other = self.body.to_vec();
            other.extend_from_slice(b" tampered");
            let forged = signer.sign(&self.id, self.timestamp, &other);
            let name = signer.signature_header_name();
            if let Some(value) = forged.get(name) {
                headers.set(name, value);
            }
        }
        headers.0.retain(|(name, _)| !self.removed.contains(name));
        for (name, value) in &self.extra {
            headers.set(name, value.clone());
        }
        headers
    }
}
