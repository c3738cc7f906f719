//! Security properties of verification: each one a test.

use proptest::prelude::*;
use webhook_core::{Scheme, SecretError, Signer, Verifier, VerifyError};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const TS: &str = "1614265330";
const NOW: i64 = 1614265330;
const BODY: &[u8] = br#"{"test": 2432232314}"#;
const SIG: &str = "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

fn standard(sig_header: &str) -> Result<webhook_core::Verified, VerifyError> {
    Verifier::standard(SECRET).unwrap().verify_at(
        &[
            ("webhook-id", ID),
            ("webhook-timestamp", TS),
            ("webhook-signature", sig_header),
        ],
        BODY,
        NOW,
    )
}

/// RUSTSEC-2024-0010: svix < 1.17 accepted `v1,` because it compared only the common prefix.
#[test]
fn empty_and_truncated_signatures_fail() {
    assert!(standard(&format!("v1,{SIG}")).is_ok());
    assert!(matches!(
        standard("v1,"),
        Err(VerifyError::SignatureMismatch { .. })
    ));
    assert!(matches!(
        standard("v1"),
        Err(VerifyError::MalformedHeader { .. })
    ));
    for cut in [1, 10, 43] {
        assert!(
            matches!(
                standard(&format!("v1,{}", &SIG[..cut])),
                Err(VerifyError::SignatureMismatch { .. })
            ),
            "{cut}"
        );
    }
    assert!(matches!(
        standard(&format!("v1,{SIG}AAAA")),
        Err(VerifyError::SignatureMismatch { .. })
    ));
    assert!(matches!(
        standard(""),
        Err(VerifyError::MalformedHeader {
            reason: "empty signature",
            ..
        })
    ));
    assert!(matches!(
        standard("   "),
        Err(VerifyError::MalformedHeader { .. })
    ));
}

/// A signature header must be ASCII, even in an entry that would be skipped: a delivery keeps
/// it as text to verify again later, and one that verified now but not then could be planted.
#[test]
fn a_signature_header_that_is_not_ascii_is_refused_and_kept_ones_verify_again() {
    let verifier = Verifier::standard(SECRET).unwrap();
    let mut value = format!("v1,{SIG} v2,").into_bytes();
    value.push(0xff);
    let headers: [(&str, &[u8]); 3] = [
        ("webhook-id", ID.as_bytes()),
        ("webhook-timestamp", TS.as_bytes()),
        ("webhook-signature", &value),
    ];
    assert!(matches!(
        verifier.verify_delivery_at(&headers, bytes::Bytes::from_static(BODY), NOW),
        Err(VerifyError::MalformedHeader {
            name: "webhook-signature",
            reason: "signature header is not ASCII",
        })
    ));
    let other = format!("v1,{SIG} v2,other");
    let fine: [(&str, &[u8]); 3] = [
        ("webhook-id", ID.as_bytes()),
        ("webhook-timestamp", TS.as_bytes()),
        ("webhook-signature", other.as_bytes()),
    ];
    let delivery = verifier
        .verify_delivery_at(&fine, bytes::Bytes::from_static(BODY), NOW)
        .unwrap();
    assert!(
        verifier.verify_at(delivery.headers(), BODY, NOW).is_ok(),
        "the kept headers verify again"
    );
}

#[test]
fn encodings_are_handled_deliberately() {
    // Not base64: a candidate that can never match (401), not a crash.
    assert!(matches!(
        standard("v1,!!!!not-base64!!!!"),
        Err(VerifyError::SignatureMismatch { .. })
    ));
    // Unpadded base64 signatures are not canonical and are refused.
    assert!(standard(&format!("v1,{}", SIG.trim_end_matches('='))).is_err());
    // Unknown versions alone: nothing this verifier accepts (401); next to a good one: ignored.
    assert!(matches!(
        standard(&format!("v2,{SIG}")),
        Err(VerifyError::NoSupportedSignature { .. })
    ));
    assert!(standard(&format!("v2,{SIG} v1,{SIG}")).is_ok());
    // Surrounding whitespace and repeated separators are tolerated.
    assert!(standard(&format!("  v1,{SIG}  ")).is_ok());
    assert!(standard(&format!("v1,AAAA   v1,{SIG}")).is_ok());

    // Hex schemes: odd length and junk never match. Senders emit lowercase hex; uppercase is refused
    // so that each signature has one spelling (and flipping a letter's case bit is a change).
    let good = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    let gh = |sig: &str| {
        Verifier::new(Scheme::GitHub, "It's a Secret to Everybody")
            .unwrap()
            .verify_at(&[("x-hub-signature-256", sig)], b"Hello, World!", 0)
    };
    assert!(gh(&format!("sha256={good}")).is_ok());
    assert!(matches!(
        gh(&format!("sha256={}", good.to_uppercase())),
        Err(VerifyError::SignatureMismatch { .. })
    ));
    assert!(matches!(
        gh(&format!("sha256={}", &good[1..])),
        Err(VerifyError::SignatureMismatch { .. })
    ));
    assert!(matches!(
        gh("sha256=zz"),
        Err(VerifyError::SignatureMismatch { .. })
    ));
    assert!(matches!(
        gh("sha256="),
        Err(VerifyError::SignatureMismatch { .. })
    ));
    assert!(matches!(
        gh(&format!("sha1={good}")),
        Err(VerifyError::MalformedHeader { .. })
    ));
}

#[test]
fn bad_timestamps_are_400s() {
    for ts in [
        "abc",
        "-1614265330",
        "1614265330.5",
        "99999999999999999999999",
        "",
        " ",
        "+1614265330",
        "0x10",
    ] {
        let err = Verifier::standard(SECRET)
            .unwrap()
            .verify_at(
                &[
                    ("webhook-id", ID),
                    ("webhook-timestamp", ts),
                    ("webhook-signature", "v1,AAAA"),
                ],
                BODY,
                NOW,
            )
            .unwrap_err();
        assert_eq!(err.status(), 400, "{ts:?}: {err}");
    }
}

#[test]
fn tolerance_boundaries_both_directions() {
    let body = b"x";
    let signer = Signer::standard(SECRET).unwrap();
    let verifier = Verifier::standard(SECRET).unwrap();
    let at = |ts: i64, now: i64| verifier.verify_at(&signer.sign("m", ts, body), body, now);
    assert!(at(1000, 1300).is_ok());
    assert!(at(1300, 1000).is_ok());
    assert!(matches!(
        at(1000, 1301),
        Err(VerifyError::TimestampTooOld {
            age: 301,
            tolerance: 300,
            ..
        })
    ));
    assert!(matches!(
        at(1301, 1000),
        Err(VerifyError::TimestampTooNew { ahead: 301, .. })
    ));
    assert_eq!(at(1000, 1301).unwrap_err().status(), 401);
    // Configurable, or off.
    let custom = Verifier::standard(SECRET)
        .unwrap()
        .tolerance(std::time::Duration::from_secs(10));
    assert!(
        custom
            .verify_at(&signer.sign("m", 1000, body), body, 1011)
            .is_err()
    );
    let off = Verifier::standard(SECRET)
        .unwrap()
        .without_timestamp_check();
    assert!(
        off.verify_at(&signer.sign("m", 0, body), body, i64::MAX)
            .is_ok()
    );
    // Extreme clocks never overflow.
    assert!(
        verifier
            .verify_at(&signer.sign("m", i64::MAX, body), body, i64::MIN)
            .is_err()
    );
}

#[test]
fn non_utf8_bodies_verify() {
    let body: &[u8] = &[0xff, 0xfe, 0x00, 0x80, b'{'];
    for scheme in Scheme::ALL {
        let secret = if scheme == Scheme::StandardWebhooks {
            SECRET
        } else {
            "s3cret"
        };
        let headers = Signer::new(scheme, secret).unwrap().sign("id-1", NOW, body);
        Verifier::new(scheme, secret)
            .unwrap()
            .verify_at(&headers, body, NOW)
            .unwrap();
    }
}

#[test]
fn empty_secrets_are_refused_at_construction() {
    for scheme in Scheme::ALL {
        assert_eq!(
            Verifier::new(scheme, "").unwrap_err(),
            SecretError::Empty,
            "{scheme}"
        );
        assert_eq!(
            Signer::new(scheme, "").unwrap_err(),
            SecretError::Empty,
            "{scheme}"
        );
    }
    assert_eq!(
        Verifier::standard("whsec_").unwrap_err(),
        SecretError::Empty
    );
    assert_eq!(
        Verifier::with_secrets(Scheme::Stripe, Vec::<String>::new()).unwrap_err(),
        SecretError::NoSecrets
    );
    assert_eq!(
        Verifier::standard("whsec_%%%").unwrap_err(),
        SecretError::InvalidBase64
    );
}

/// A signer in the middle of a rotation: schemes that carry several signatures carry one per
/// secret, in order, each verifying under its secret alone; the others are signed with the
/// first secret, exactly as a signer holding only that one signs.
#[test]
fn a_rotating_signer_signs_with_each_secret_where_the_scheme_carries_several() {
    for scheme in Scheme::ALL {
        let secrets: Vec<String> = ["first secret", "second secret", "third secret"]
            .iter()
            .map(|s| secret_for(scheme, s.as_bytes()))
            .collect();
        let rotating =
            Signer::with_secrets(scheme, &secrets)
                .unwrap()
                .sign("msg_1", 1_700_000_000, b"{}");
        let several = matches!(scheme, Scheme::StandardWebhooks | Scheme::Stripe);
        for (i, secret) in secrets.iter().enumerate() {
            let alone =
                Verifier::new(scheme, secret)
                    .unwrap()
                    .verify_at(&rotating, b"{}", 1_700_000_000);
            assert_eq!(alone.is_ok(), several || i == 0, "{scheme:?} secret {i}");
        }
        if !several {
            let first_only =
                Signer::new(scheme, &secrets[0])
                    .unwrap()
                    .sign("msg_1", 1_700_000_000, b"{}");
            assert_eq!(rotating, first_only, "{scheme:?}");
        }
    }
}

/// A signer signs with every secret it holds; verifiers refuse a header with more than
/// `MAX_SIGNATURES` signatures, so a signer holding more is refused at construction.
#[test]
fn a_signer_holds_at_most_as_many_secrets_as_a_header_carries() {
    let max = webhook_core::MAX_SIGNATURES;
    for scheme in [Scheme::StandardWebhooks, Scheme::Stripe] {
        let secrets: Vec<String> = (0..=max)
            .map(|i| secret_for(scheme, format!("secret number {i}").as_bytes()))
            .collect();
        let signer = Signer::with_secrets(scheme, &secrets[..max]).unwrap();
        let headers = signer.sign("msg_1", 1_700_000_000, b"{}");
        let verifier = Verifier::new(scheme, &secrets[max - 1]).unwrap();
        assert_eq!(
            verifier
                .verify_at(&headers, b"{}", 1_700_000_000)
                .unwrap()
                .secret_index(),
            0,
            "{scheme}: the last secret's signature is in the header"
        );
        let refused = SecretError::TooManySecrets { max };
        assert_eq!(Signer::with_secrets(scheme, &secrets).unwrap_err(), refused);
        assert_eq!(
            signer.add_secret(&secrets[max]).unwrap_err(),
            refused,
            "{scheme}"
        );
    }
}

#[test]
fn duplicated_or_missing_headers_are_400s() {
    let v = Verifier::standard(SECRET).unwrap();
    let sig = format!("v1,{SIG}");
    let dup = [
        ("webhook-id", ID),
        ("webhook-id", "other"),
        ("webhook-timestamp", TS),
        ("webhook-signature", sig.as_str()),
    ];
    assert!(matches!(
        v.verify_at(&dup, BODY, NOW),
        Err(VerifyError::MalformedHeader {
            name: "webhook-id",
            ..
        })
    ));
    for missing in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        let headers: Vec<(&str, &str)> = [
            ("webhook-id", ID),
            ("webhook-timestamp", TS),
            ("webhook-signature", sig.as_str()),
        ]
        .into_iter()
        .filter(|(k, _)| *k != missing)
        .collect();
        assert_eq!(
            v.verify_at(&headers, BODY, NOW),
            Err(VerifyError::MissingHeader {
                name: match missing {
                    "webhook-id" => "webhook-id",
                    "webhook-timestamp" => "webhook-timestamp",
                    _ => "webhook-signature",
                }
            })
        );
    }
}

/// An unsigned id header (timestamped `webhook-id`, GitHub's `x-github-delivery`, Shopify's
/// `x-shopify-webhook-id`) that appears twice reads as no id: it cannot make a correctly signed
/// delivery fail, and the dedupe key falls back to what the body gives.
#[test]
fn a_repeated_unsigned_id_reads_as_no_id() {
    let body = br#"{"id":"evt_1"}"#;
    for (scheme, secret, id_header) in [
        (Scheme::Timestamped, "sekrit", "webhook-id"),
        (Scheme::GitHub, "sekrit", "x-github-delivery"),
        (Scheme::Shopify, "sekrit", "x-shopify-webhook-id"),
    ] {
        let signed = Signer::new(scheme, secret).unwrap().sign("d1", NOW, body);
        let mut headers: Vec<(String, String)> = signed
            .iter()
            .filter(|(k, _)| *k != id_header)
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        headers.push((id_header.to_owned(), "a".to_owned()));
        let verifier = Verifier::new(scheme, secret).unwrap();
        assert_eq!(
            verifier.verify_at(&headers, body, NOW).unwrap().id(),
            Some("a"),
            "{scheme}"
        );
        headers.push((id_header.to_owned(), "b".to_owned()));
        let verified = verifier.verify_at(&headers, body, NOW).unwrap();
        assert_eq!(verified.id(), None, "{scheme}");
    }
}

/// A signature header given in another case is still the scheme's own: errors name it, and
/// Shopify's second header name still applies.
#[test]
fn a_known_signature_header_in_another_case_keeps_its_name() {
    let v = Verifier::new(Scheme::Stripe, "sekrit")
        .unwrap()
        .signature_header("Stripe-Signature");
    assert_eq!(
        v.verify_at(&[] as &[(&str, &str)], b"{}", NOW),
        Err(VerifyError::MissingHeader {
            name: "stripe-signature"
        })
    );
    let shopify = Verifier::new(Scheme::Shopify, "sekrit")
        .unwrap()
        .signature_header("X-Shopify-Hmac-SHA256");
    let signed = Signer::new(Scheme::Shopify, "sekrit")
        .unwrap()
        .sign("d1", NOW, b"{}");
    let hmac = signed.get("x-shopify-hmac-sha256").unwrap();
    shopify
        .verify_at(&[("shopify-hmac-sha256", hmac)], b"{}", NOW)
        .unwrap();
    // A name of its own reads as `signature` in errors.
    let custom = Verifier::new(Scheme::Timestamped, "sekrit")
        .unwrap()
        .signature_header("X-Sig");
    assert_eq!(
        custom.verify_at(&[] as &[(&str, &str)], b"{}", NOW),
        Err(VerifyError::MissingHeader { name: "signature" })
    );
}

/// An entry that is not `version,signature` is passed over, as the svix crate and the Standard
/// Webhooks JavaScript library do: the genuine signature beside it still verifies, and the header
/// is malformed only when nothing in it can.
#[test]
fn entries_without_a_comma_are_passed_over() {
    assert!(standard(&format!("junk v1,{SIG}")).is_ok());
    assert!(standard(&format!("v1,{SIG} v2")).is_ok());
    assert!(matches!(
        standard("junk v1,AAAA"),
        Err(VerifyError::SignatureMismatch { .. })
    ));
    assert!(matches!(
        standard("junk"),
        Err(VerifyError::MalformedHeader {
            reason: "expected space-separated `v1,<base64>` signatures",
            ..
        })
    ));
    // Without a comma, `v2` is malformed rather than a version this verifier does not take.
    assert!(matches!(
        standard("v2,AAAA v2"),
        Err(VerifyError::MalformedHeader { .. })
    ));
    assert!(matches!(
        standard("v2,AAAA"),
        Err(VerifyError::NoSupportedSignature { .. })
    ));
    // Like unknown versions, they cost a scan, not a MAC: they do not count towards the 16
    // signatures a header may carry.
    let many = format!("{} v1,{SIG}", vec!["junk"; 20].join(" "));
    assert!(standard(&many).is_ok());
}

#[test]
fn too_many_signatures_are_refused() {
    let many = vec!["v1,AAAA"; 17].join(" ");
    assert!(matches!(
        standard(&many),
        Err(VerifyError::MalformedHeader {
            reason: "more than 16 signatures",
            ..
        })
    ));
    let sixteen = format!("{} v1,{SIG}", vec!["v1,AAAA"; 15].join(" "));
    assert!(standard(&sixteen).is_ok());
}

#[test]
fn secrets_and_expected_macs_never_leak() {
    let verifier = Verifier::standard(SECRET).unwrap();
    let signer = Signer::standard(SECRET).unwrap();
    let secret_b64 = SECRET.trim_start_matches("whsec_");
    for text in [format!("{verifier:?}"), format!("{signer:?}")] {
        assert!(!text.contains(secret_b64), "{text}");
    }
    let errors = [
        standard("v1,AAAA").unwrap_err(),
        standard("v1,").unwrap_err(),
    ];
    for err in errors {
        let text = format!(
            "{err} {err:?} {}",
            webhook_core::Rejection::from(err.clone()).json_body()
        );
        assert!(!text.contains(SIG), "{text}");
        assert!(!text.contains(secret_b64), "{text}");
    }
}

#[test]
fn rotation_reports_which_secret_matched() {
    let old = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    let verifier = Verifier::standard(SECRET).unwrap().add_secret(old).unwrap();
    let h_new = Signer::standard(SECRET).unwrap().sign("m", NOW, BODY);
    let h_old = Signer::standard(old).unwrap().sign("m", NOW, BODY);
    assert_eq!(
        verifier
            .verify_at(&h_new, BODY, NOW)
            .unwrap()
            .secret_index(),
        0
    );
    assert_eq!(
        verifier
            .verify_at(&h_old, BODY, NOW)
            .unwrap()
            .secret_index(),
        1
    );
    // A sender mid-rotation signs with both: one header, two signatures.
    let both = Signer::standard(old)
        .unwrap()
        .add_secret(SECRET)
        .unwrap()
        .sign("m", NOW, BODY);
    assert_eq!(both.get("webhook-signature").unwrap().split(' ').count(), 2);
    assert!(
        Verifier::standard(SECRET)
            .unwrap()
            .verify_at(&both, BODY, NOW)
            .is_ok()
    );
}

#[cfg(feature = "ed25519")]
#[test]
fn ed25519_v1a_round_trip() {
    let sk = "whsk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8GKYo=";
    let pk = webhook_core::ed25519_public_key(sk).unwrap();
    let headers = Signer::standard(sk).unwrap().sign("msg_1", NOW, BODY);
    assert!(
        headers
            .get("webhook-signature")
            .unwrap()
            .starts_with("v1a,")
    );
    let verifier = Verifier::standard(&pk).unwrap();
    verifier.verify_at(&headers, BODY, NOW).unwrap();
    assert!(matches!(
        verifier.verify_at(&headers, b"tampered", NOW),
        Err(VerifyError::SignatureMismatch { .. })
    ));
    // An HMAC-only verifier does not accept v1a signatures, and vice versa.
    assert!(matches!(
        Verifier::standard(SECRET)
            .unwrap()
            .verify_at(&headers, BODY, NOW),
        Err(VerifyError::NoSupportedSignature { .. })
    ));
    let hmac_headers = Signer::standard(SECRET).unwrap().sign("msg_1", NOW, BODY);
    assert!(matches!(
        verifier.verify_at(&hmac_headers, BODY, NOW),
        Err(VerifyError::NoSupportedSignature { .. })
    ));
    // Mixed keys: HMAC secret plus public key.
    let mixed = Verifier::standard(SECRET).unwrap().add_secret(&pk).unwrap();
    assert_eq!(
        mixed.verify_at(&headers, BODY, NOW).unwrap().secret_index(),
        1
    );
    assert!(
        Verifier::standard(sk).is_err(),
        "a signing key is not a verification key"
    );
}

/// Each v1a signature costs a pass over the body per public key: a header may carry at most
/// `MAX_ED25519_SIGNATURES`, or anyone could make the receiver hash the body 16 times per key.
#[cfg(feature = "ed25519")]
#[test]
fn v1a_signatures_are_capped() {
    use webhook_core::MAX_ED25519_SIGNATURES;

    let sk = "whsk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8GKYo=";
    let verifier = Verifier::standard(&webhook_core::ed25519_public_key(sk).unwrap()).unwrap();
    let good = Signer::standard(sk).unwrap().sign("msg_1", NOW, BODY);
    let good = good.get("webhook-signature").unwrap().to_owned();
    // Well-formed signatures by another key, so that each one is really checked.
    let other = "whsk_C2FVsBQIhrscChlQIMV+b5sSYspob7oDC2FVsBQIhrs=";
    let forged = Signer::standard(other)
        .unwrap()
        .sign("msg_1", NOW, b"other bytes");
    let forged = forged.get("webhook-signature").unwrap().to_owned();
    let header = |forged_count: usize| {
        let mut entries = vec![forged.as_str(); forged_count];
        entries.push(&good);
        let mut headers = Signer::standard(sk).unwrap().sign("msg_1", NOW, BODY);
        headers.0.retain(|(name, _)| name != "webhook-signature");
        headers
            .0
            .push(("webhook-signature".into(), entries.join(" ")));
        headers
    };
    // The genuine signature last, behind as many others as allowed: verified.
    let at_cap = header(MAX_ED25519_SIGNATURES - 1);
    verifier.verify_at(&at_cap, BODY, NOW).unwrap();
    let past = header(MAX_ED25519_SIGNATURES);
    let err = verifier.verify_at(&past, BODY, NOW).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::MalformedHeader {
                reason: "more than 4 v1a signatures",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.status(), 400);
    // An HMAC-only verifier does not count them: it never checks v1a.
    let hmac = Verifier::standard(SECRET).unwrap();
    let with_v1 = {
        let mut h = past.clone();
        let v1 = Signer::standard(SECRET).unwrap().sign("msg_1", NOW, BODY);
        let v1 = v1.get("webhook-signature").unwrap().to_owned();
        for (name, value) in &mut h.0 {
            if name == "webhook-signature" {
                *value = format!("{value} {v1}");
            }
        }
        h
    };
    hmac.verify_at(&with_v1, BODY, NOW).unwrap();
}

/// A stored Shopify delivery verifies again (an inbox replay) with the id and dedupe key it was
/// accepted with: past a blank `x-shopify-webhook-id` the verifier reads `shopify-webhook-id`,
/// and the kept headers keep that one.
#[test]
fn shopify_kept_headers_keep_the_id_the_verifier_read() {
    let body = br#"{"id":1}"#;
    let mut headers = Signer::new(Scheme::Shopify, "s")
        .unwrap()
        .sign("real-id", NOW, body);
    headers.set("x-shopify-webhook-id", " ");
    headers.set("shopify-webhook-id", "real-id");
    let verifier = Verifier::new(Scheme::Shopify, "s").unwrap();
    let live = verifier
        .verify_delivery_at(&headers, bytes::Bytes::from_static(body), NOW)
        .unwrap();
    assert_eq!(live.id(), Some("real-id"));
    let again = verifier
        .verify_delivery_at(live.headers(), live.body().clone(), NOW)
        .unwrap();
    assert_eq!(again.id(), Some("real-id"));
    assert_eq!(again.dedupe_key(), live.dedupe_key());
}

fn secret_for(scheme: Scheme, seed: &[u8]) -> String {
    use base64::Engine as _;
    match scheme {
        Scheme::StandardWebhooks => format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode(seed)
        ),
        _ => format!("k{}", hex::encode(seed)),
    }
}

fn scheme_strategy() -> impl Strategy<Value = Scheme> {
    prop::sample::select(Scheme::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Nothing panics on any header bytes or body, for any scheme.
    #[test]
    fn never_panics_on_arbitrary_headers(
        scheme in scheme_strategy(),
        names in prop::collection::vec(prop::sample::select(vec![
            "webhook-id", "webhook-timestamp", "webhook-signature", "svix-id", "svix-timestamp", "svix-signature",
            "stripe-signature", "x-hub-signature-256", "x-slack-signature", "x-slack-request-timestamp",
            "x-shopify-hmac-sha256", "shopify-hmac-sha256", "paddle-signature", "x-github-delivery",
        ]), 0..8),
        values in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..120), 8),
        body in prop::collection::vec(any::<u8>(), 0..256),
        now in any::<i64>(),
    ) {
        let headers: Vec<(&str, Vec<u8>)> = names.iter().zip(values).map(|(n, v)| (*n, v)).collect();
        let verifier = Verifier::new(scheme, &secret_for(scheme, b"0123456789abcdef0123")).unwrap();
        let result = verifier.verify_at(&headers, &body, now);
        if let Err(e) = &result {
            prop_assert!(e.status() == 400 || e.status() == 401);
        }
        // The check before the body refuses exactly as verification would, and never refuses
        // what verifies.
        match verifier.check_headers_at(&headers, now) {
            Err(early) => prop_assert_eq!(result.err(), Some(early)),
            Ok(()) => {
                let header_error = matches!(result, Err(VerifyError::MissingHeader { .. }
                    | VerifyError::TimestampTooOld { .. } | VerifyError::TimestampTooNew { .. }));
                prop_assert!(!header_error, "{:?}", result);
            }
        }
    }

    /// Structured near-misses: plausible headers with random signature text.
    #[test]
    fn never_panics_on_plausible_signature_headers(
        sig in "[ ,;=tvh01a-zA-Z0-9+/]{0,200}",
        ts in "[-+0-9 ]{0,24}",
    ) {
        // Random text never verifies, and the refusal is a 400 or a 401.
        let v = Verifier::standard(SECRET).unwrap();
        let result = v.verify_at(&[("webhook-id", "m"), ("webhook-timestamp", ts.as_str()), ("webhook-signature", sig.as_str())], BODY, NOW);
        prop_assert!(matches!(result, Err(ref e) if e.status() == 400 || e.status() == 401), "{:?}", result);
        for scheme in [Scheme::Stripe, Scheme::Paddle, Scheme::Timestamped, Scheme::GitHub, Scheme::Slack, Scheme::Shopify] {
            let v = Verifier::new(scheme, "secret").unwrap();
            let result = v.verify_at(&[(scheme.signature_header(), sig.as_str()), ("x-slack-request-timestamp", ts.as_str())], BODY, NOW);
            prop_assert!(matches!(result, Err(ref e) if e.status() == 400 || e.status() == 401), "{:?}: {:?}", scheme, result);
        }
    }

    /// sign → verify round-trips for every scheme and several secrets.
    #[test]
    fn sign_verify_round_trip(
        scheme in scheme_strategy(),
        seeds in prop::collection::vec(prop::collection::vec(any::<u8>(), 24..40), 1..4),
        signer_index in 0usize..4,
        id in "[a-zA-Z0-9_.-]{1,40}",
        ts in 0i64..4_000_000_000,
        body in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        let secrets: Vec<String> = seeds.iter().map(|s| secret_for(scheme, s)).collect();
        let signer_index = signer_index % secrets.len();
        let headers = Signer::new(scheme, &secrets[signer_index]).unwrap().sign(&id, ts, &body);
        let verifier = Verifier::with_secrets(scheme, &secrets).unwrap();
        let verified = verifier.verify_at(&headers, &body, ts).unwrap();
        // Identical seeds may match an earlier index.
        prop_assert!(verified.secret_index() <= signer_index);
        prop_assert_eq!(verified.scheme(), scheme);
        if scheme.has_timestamp() {
            prop_assert_eq!(verified.timestamp(), Some(ts));
        }
        if scheme.id_header().is_some() {
            prop_assert_eq!(verified.id(), Some(id.as_str()));
        }
    }

    /// Flipping any single bit of the body, id, timestamp or signature makes verification fail.
    #[test]
    fn any_bit_flip_fails(
        scheme in scheme_strategy(),
        body in prop::collection::vec(any::<u8>(), 1..256),
        target in 0usize..4,
        position in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let secret = secret_for(scheme, b"0123456789abcdefghijklmn");
        let ts = 1_700_000_000i64;
        let signed = Signer::new(scheme, &secret).unwrap().sign("msg_abc", ts, &body);
        let verifier = Verifier::new(scheme, &secret).unwrap().without_timestamp_check();
        prop_assert!(verifier.verify_at(&signed, &body, ts).is_ok());

        let flip = |bytes: &mut Vec<u8>| {
            let i = position.index(bytes.len());
            bytes[i] ^= 1 << bit;
        };
        let mut body2 = body.clone();
        let mut headers: Vec<(String, Vec<u8>)> = signed.iter().map(|(k, v)| (k.to_owned(), v.as_bytes().to_vec())).collect();
        let header_named = |headers: &mut Vec<(String, Vec<u8>)>, name: &str| headers.iter().position(|(k, _)| k == name);
        match target {
            0 => flip(&mut body2),
            1 => match scheme.id_header() {
                // Only schemes that sign the id; others carry it unsigned.
                Some(name) if scheme == Scheme::StandardWebhooks => { let i = header_named(&mut headers, name).unwrap(); flip(&mut headers[i].1) }
                _ => flip(&mut body2),
            },
            2 => {
                // The timestamp: its own header, or the `t=`/`ts=` element's digits.
                let (name, skip) = match scheme {
                    Scheme::StandardWebhooks => ("webhook-timestamp", 0),
                    Scheme::Slack => ("x-slack-request-timestamp", 0),
                    Scheme::Stripe | Scheme::Timestamped => (scheme.signature_header(), 2),
                    Scheme::Paddle => ("paddle-signature", 3),
                    _ => ("", 0),
                };
                match header_named(&mut headers, name) {
                    Some(i) => { let b = &mut headers[i].1; let j = skip + position.index(10); b[j] ^= 1 << bit; }
                    None => flip(&mut body2),
                }
            }
            _ => {
                let i = header_named(&mut headers, scheme.signature_header()).unwrap();
                // Flip inside the signature itself, after its prefix.
                let sig = &mut headers[i].1;
                let start = match scheme {
                    Scheme::StandardWebhooks => 3,
                    Scheme::GitHub => 7,
                    Scheme::Slack => 3,
                    Scheme::Shopify => 0,
                    Scheme::Stripe | Scheme::Timestamped => sig.windows(3).position(|w| w == b"v1=").unwrap() + 3,
                    Scheme::Paddle => sig.windows(3).position(|w| w == b"h1=").unwrap() + 3,
                    _ => 0,
                };
                let j = start + position.index(sig.len() - start);
                sig[j] ^= 1 << bit;
            }
        }
        prop_assert!(verifier.verify_at(&headers, &body2, ts).is_err());
    }
}

/// The `http` header map read only by lookups, never in one pass.
struct LookupOnly<'a>(&'a http::HeaderMap);

impl webhook_core::Headers for LookupOnly<'_> {
    fn get(&self, name: &str) -> Option<&[u8]> {
        webhook_core::Headers::get(self.0, name)
    }
    fn count(&self, name: &str) -> usize {
        webhook_core::Headers::count(self.0, name)
    }
    fn get_unique(&self, name: &str) -> Result<Option<&[u8]>, webhook_core::headers::Duplicated> {
        webhook_core::Headers::get_unique(self.0, name)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Reading the Standard Webhooks headers in one pass answers exactly as reading them by
    /// lookups: the same verified delivery or the same error, whatever mix of `webhook-*`,
    /// `svix-*` and other headers, right or wrong, once or repeated, below and past the
    /// one-pass limit.
    #[test]
    fn one_pass_and_lookups_read_the_same_headers(
        entries in prop::collection::vec((0usize..8, 0usize..3), 0..24),
    ) {
        let names = [
            "webhook-id", "webhook-timestamp", "webhook-signature",
            "svix-id", "svix-timestamp", "svix-signature", "content-type", "x-other",
        ];
        let right = [ID, TS, &format!("v1,{SIG}")].map(str::to_owned);
        let mut map = http::HeaderMap::new();
        for (name, value) in entries {
            let value = match value {
                0 => right[name % 3].clone(),
                1 => String::new(),
                _ => "v1,AAAA 12x".to_owned(),
            };
            map.append(names[name], value.parse().unwrap());
        }
        let verifier = Verifier::standard(SECRET).unwrap();
        let one_pass = verifier.verify_at(&map, BODY, NOW);
        prop_assert_eq!(&one_pass, &verifier.verify_at(&LookupOnly(&map), BODY, NOW));
        let delivery = verifier.verify_delivery_at(&map, BODY.to_vec().into(), NOW);
        let looked_up =
            verifier.verify_delivery_at(&LookupOnly(&map), BODY.to_vec().into(), NOW);
        prop_assert_eq!(delivery.map(|d| d.headers().clone()), looked_up.map(|d| d.headers().clone()));
    }
}

/// A well-formed signature of a version the verifier holds no key for is `NoSupportedSignature`
/// (401), also beside an entry that is passed over (not `MalformedHeader`, which would send the
/// operator to fix a header format instead of the keys).
#[test]
fn a_passed_over_entry_does_not_change_no_supported_signature() {
    let v1a = format!("v1a,{}==", "A".repeat(86));
    assert!(matches!(
        standard(&v1a),
        Err(VerifyError::NoSupportedSignature { .. })
    ));
    let got = standard(&format!("junk {v1a}"));
    assert!(
        matches!(got, Err(VerifyError::NoSupportedSignature { .. })),
        "{got:?}"
    );
}

/// Entries the verifier does not check (`v1a` for a verifier holding only HMAC secrets) do not
/// count towards `MAX_SIGNATURES`.
#[test]
fn unchecked_v1a_entries_do_not_count_towards_max_signatures() {
    let header = format!("{} v1,{SIG}", vec!["v1a,AAAA"; 16].join(" "));
    let got = standard(&header);
    assert!(got.is_ok(), "{got:?}");
}
