//! Iterating the signatures a signature header carries, scheme by scheme, without allocating.

use crate::Scheme;
use crate::parse::trim;

/// How a candidate signature is encoded and what it signs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Alg {
    /// HMAC-SHA256, lowercase hex.
    HmacHex,
    /// HMAC-SHA256, padded standard base64.
    HmacBase64,
    /// ed25519, padded standard base64 (Standard Webhooks `v1a`).
    Ed25519Base64,
}

impl Alg {
    pub(crate) fn is_hmac(self) -> bool {
        !matches!(self, Alg::Ed25519Base64)
    }

    /// Decodes an HMAC-SHA256 tag.
    pub(crate) fn decode_tag(self, encoded: &[u8]) -> Option<[u8; 32]> {
        match self {
            Alg::HmacHex => crate::parse::hex32(encoded),
            Alg::HmacBase64 => crate::parse::base64_exact::<32>(encoded),
            Alg::Ed25519Base64 => None,
        }
    }
}

/// One signature found in the header, still encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Candidate<'h> {
    pub(crate) alg: Alg,
    pub(crate) encoded: &'h [u8],
}

#[derive(Clone, Copy, Debug)]
enum Mode {
    /// Standard Webhooks: space-separated `version,signature` entries.
    Standard,
    /// `key=value` elements separated by `sep`, signatures under `key` (Stripe, Paddle, timestamped).
    Elements {
        sep: u8,
        key: &'static [u8],
    },
    /// One signature after a fixed prefix (GitHub `sha256=`, Slack `v0=`, Shopify none).
    Single {
        prefix: &'static [u8],
        alg: Alg,
    },
    Done,
}

/// An iterator over the candidate signatures of a header value. Yields `Err(())` for an element
/// that cannot be parsed: a Standard Webhooks entry without a comma is passed over and the
/// entries after it still come (as the svix crate and the Standard Webhooks JavaScript library
/// skip it); in the other schemes' headers it is the last item.
#[derive(Clone, Debug)]
pub(crate) struct Candidates<'h> {
    rest: &'h [u8],
    mode: Mode,
}

impl<'h> Candidates<'h> {
    pub(crate) fn new(scheme: Scheme, value: &'h [u8]) -> Self {
        let mode = match scheme {
            Scheme::StandardWebhooks => Mode::Standard,
            Scheme::Stripe | Scheme::Timestamped => Mode::Elements {
                sep: b',',
                key: b"v1",
            },
            Scheme::Paddle => Mode::Elements {
                sep: b';',
                key: b"h1",
            },
            Scheme::GitHub => Mode::Single {
                prefix: b"sha256=",
                alg: Alg::HmacHex,
            },
            Scheme::Slack => Mode::Single {
                prefix: b"v0=",
                alg: Alg::HmacHex,
            },
            Scheme::Shopify => Mode::Single {
                prefix: b"",
                alg: Alg::HmacBase64,
            },
        };
        Candidates {
            rest: trim(value),
            mode,
        }
    }

    /// Why an element could not be parsed, for [`VerifyError::MalformedHeader`](crate::VerifyError).
    pub(crate) fn malformed_reason(scheme: Scheme) -> &'static str {
        match scheme {
            Scheme::StandardWebhooks => "expected space-separated `v1,<base64>` signatures",
            Scheme::Stripe | Scheme::Timestamped => "expected comma-separated `key=value` elements",
            Scheme::Paddle => "expected semicolon-separated `key=value` elements",
            Scheme::GitHub => "expected `sha256=<hex>`",
            Scheme::Slack => "expected `v0=<hex>`",
            Scheme::Shopify => "expected a base64 signature",
        }
    }

    fn split_next(&mut self, sep: u8) -> Option<&'h [u8]> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let (elem, rest) = match memchr::memchr(sep, self.rest) {
                Some(i) => (&self.rest[..i], &self.rest[i + 1..]),
                None => (self.rest, &b""[..]),
            };
            self.rest = rest;
            let elem = trim(elem);
            if !elem.is_empty() {
                return Some(elem);
            }
        }
    }
}

impl<'h> Iterator for Candidates<'h> {
    type Item = Result<Candidate<'h>, ()>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.mode {
            Mode::Done => None,
            Mode::Single { prefix, alg } => {
                self.mode = Mode::Done;
                match self.rest.strip_prefix(prefix) {
                    Some(encoded) => Some(Ok(Candidate { alg, encoded })),
                    None => Some(Err(())),
                }
            }
            Mode::Standard => loop {
                let entry = self.split_next(b' ')?;
                let Some(comma) = memchr::memchr(b',', entry) else {
                    return Some(Err(()));
                };
                let (version, encoded) = (&entry[..comma], &entry[comma + 1..]);
                let alg = match version {
                    b"v1" => Alg::HmacBase64,
                    b"v1a" => Alg::Ed25519Base64,
                    // Unknown versions (`v2`, ...) are for other receivers: skip them.
                    _ => continue,
                };
                return Some(Ok(Candidate { alg, encoded }));
            },
            Mode::Elements { sep, key } => loop {
                let elem = self.split_next(sep)?;
                let Some(eq) = memchr::memchr(b'=', elem) else {
                    self.mode = Mode::Done;
                    return Some(Err(()));
                };
                if trim(&elem[..eq]) == key {
                    return Some(Ok(Candidate {
                        alg: Alg::HmacHex,
                        encoded: trim(&elem[eq + 1..]),
                    }));
                }
                // `t`/`ts`, `v0` (Stripe's test scheme) and unknown keys are not signatures here.
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(scheme: Scheme, v: &str) -> Vec<Result<(Alg, String), ()>> {
        Candidates::new(scheme, v.as_bytes())
            .map(|c| c.map(|c| (c.alg, String::from_utf8(c.encoded.to_vec()).unwrap())))
            .collect()
    }

    #[test]
    fn standard_entries() {
        assert_eq!(
            encoded(Scheme::StandardWebhooks, "v1,a  v2,b v1a,c v1,"),
            vec![
                Ok((Alg::HmacBase64, "a".into())),
                Ok((Alg::Ed25519Base64, "c".into())),
                Ok((Alg::HmacBase64, "".into())),
            ]
        );
        assert_eq!(
            encoded(Scheme::StandardWebhooks, "v1,a junk v1,b"),
            vec![
                Ok((Alg::HmacBase64, "a".into())),
                Err(()),
                Ok((Alg::HmacBase64, "b".into()))
            ]
        );
        assert!(encoded(Scheme::StandardWebhooks, "  ").is_empty());
    }

    #[test]
    fn stripe_elements() {
        assert_eq!(
            encoded(Scheme::Stripe, "t=1,v1=aa,v0=bb,v1=cc,x=y"),
            vec![
                Ok((Alg::HmacHex, "aa".into())),
                Ok((Alg::HmacHex, "cc".into()))
            ]
        );
        assert_eq!(
            encoded(Scheme::Paddle, "ts=1;h1=aa;h1=bb"),
            vec![
                Ok((Alg::HmacHex, "aa".into())),
                Ok((Alg::HmacHex, "bb".into()))
            ]
        );
    }

    #[test]
    fn single_prefix() {
        assert_eq!(
            encoded(Scheme::GitHub, "sha256=ab"),
            vec![Ok((Alg::HmacHex, "ab".into()))]
        );
        assert_eq!(encoded(Scheme::GitHub, "sha1=ab"), vec![Err(())]);
        assert_eq!(
            encoded(Scheme::Slack, "v0=ab"),
            vec![Ok((Alg::HmacHex, "ab".into()))]
        );
        assert_eq!(
            encoded(Scheme::Shopify, "abc="),
            vec![Ok((Alg::HmacBase64, "abc=".into()))]
        );
    }
}
