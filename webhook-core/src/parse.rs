//! Pure parsers for signature and timestamp headers. Nothing here allocates or panics.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::VerifyError;

/// The most signatures one header may carry that the verifier checks: bounds the work an
/// attacker can ask for. Other entries (unknown versions, entries of a version the verifier
/// holds no key for, entries without a comma) cost a scan of the header, not a MAC, and are not
/// counted.
pub const MAX_SIGNATURES: usize = 16;

/// The most `v1a` (ed25519) signatures one header may carry when the verifier holds a public key.
/// Each is checked against each key over the whole body (an HMAC is computed once per key,
/// whatever the header holds), so anyone with a current timestamp could otherwise make a
/// receiver hash the body 16 times per key; a sender signs once per key, twice in a rotation.
pub const MAX_ED25519_SIGNATURES: usize = 4;

/// An unsigned id header's value as the verifier reads it: trimmed; `None` when blank or not
/// UTF-8 (read as no id).
pub(crate) fn id_value(value: &[u8]) -> Option<&str> {
    Some(trim(value))
        .filter(|v| !v.is_empty())
        .and_then(|v| std::str::from_utf8(v).ok())
}

/// Trims optional whitespace (spaces and tabs) around a header value or element.
pub(crate) fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t'))
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

/// Parses a Unix timestamp in seconds: ASCII digits only (no sign, no fraction, no spaces inside).
pub(crate) fn timestamp(raw: &[u8], name: &'static str) -> Result<i64, VerifyError> {
    if raw.is_empty() {
        return Err(VerifyError::MalformedHeader {
            name,
            reason: "empty timestamp",
        });
    }
    let mut value: i64 = 0;
    for &b in raw {
        if !b.is_ascii_digit() {
            return Err(VerifyError::MalformedHeader {
                name,
                reason: "timestamp is not a non-negative integer number of seconds",
            });
        }
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(b - b'0')))
            .ok_or(VerifyError::MalformedHeader {
                name,
                reason: "timestamp is out of range",
            })?;
    }
    Ok(value)
}

/// Decodes a lowercase hex HMAC-SHA256 tag, the only form senders emit. Uppercase is refused so
/// that every signature has exactly one accepted spelling. `None` for anything else.
pub(crate) fn hex32(encoded: &[u8]) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if encoded.len() != 64
        || !encoded
            .iter()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return None;
    }
    hex::decode_to_slice(encoded, &mut out).ok()?;
    Some(out)
}

/// Decodes canonical, padded standard base64 of exactly `N` bytes. `None` for anything else.
pub(crate) fn base64_exact<const N: usize>(encoded: &[u8]) -> Option<[u8; N]> {
    if encoded.len() != N.div_ceil(3) * 4 {
        return None;
    }
    // The decoder wants room for its estimate (a multiple of 3 bytes).
    let mut buf = [0u8; 96];
    let n = STANDARD.decode_slice(encoded, &mut buf).ok()?;
    if n != N {
        return None;
    }
    let mut out = [0u8; N];
    out.copy_from_slice(&buf[..N]);
    Some(out)
}

/// Iterates `key<kv>value` elements of a `sep`-separated header such as Stripe's
/// `t=1,v1=ab,v0=cd` or Paddle's `ts=1;h1=ab`. An element without `kv` is an error.
pub(crate) fn elements(
    value: &[u8],
    sep: u8,
    kv: u8,
) -> impl Iterator<Item = Result<(&[u8], &[u8]), ()>> {
    value
        .split(move |&b| b == sep)
        .map(trim)
        .filter(|e| !e.is_empty())
        .map(move |e| match memchr::memchr(kv, e) {
            Some(i) => Ok((trim(&e[..i]), trim(&e[i + 1..]))),
            None => Err(()),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(timestamp(b"1614265330", "t").unwrap(), 1614265330);
        assert_eq!(timestamp(b"0", "t").unwrap(), 0);
        for bad in [
            &b""[..],
            b"-5",
            b"+5",
            b"1.5",
            b"12a",
            b"1 2",
            b"99999999999999999999",
        ] {
            let err = timestamp(bad, "t").unwrap_err();
            assert_eq!(err.status(), 400, "{bad:?}");
        }
        assert_eq!(timestamp(b"9223372036854775807", "t").unwrap(), i64::MAX);
        assert!(timestamp(b"9223372036854775808", "t").is_err());
    }

    #[test]
    fn hex_tags() {
        let h = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert!(hex32(h.as_bytes()).is_some());
        assert!(
            hex32(h.to_uppercase().as_bytes()).is_none(),
            "uppercase is not canonical"
        );
        assert!(hex32(&h.as_bytes()[1..]).is_none(), "odd length");
        assert!(hex32(b"").is_none());
        assert!(hex32(&[b'z'; 64]).is_none());
    }

    #[test]
    fn base64_tags() {
        let s = b"g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        assert!(base64_exact::<32>(s).is_some());
        assert!(base64_exact::<32>(&s[..43]).is_none(), "unpadded");
        assert!(base64_exact::<32>(b"").is_none());
        assert!(base64_exact::<32>(&[b'!'; 44]).is_none());
    }

    #[test]
    fn element_split() {
        let v: Vec<_> = elements(b" t=1, v1=ab ,,v0=c=d", b',', b'=').collect();
        assert_eq!(
            v,
            vec![
                Ok((&b"t"[..], &b"1"[..])),
                Ok((&b"v1"[..], &b"ab"[..])),
                Ok((&b"v0"[..], &b"c=d"[..]))
            ]
        );
        assert_eq!(elements(b"junk", b',', b'=').next(), Some(Err(())));
    }

    #[test]
    fn trimming() {
        assert_eq!(trim(b"  a b\t"), b"a b");
        assert_eq!(trim(b"   "), b"");
    }
}
