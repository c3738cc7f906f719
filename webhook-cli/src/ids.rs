//! Fresh, realistic identifiers: `msg_…` delivery ids and `evt_…` event ids.
//!
//! Shaped like Svix's and Scalekit's: a prefix and 27 base62 characters of a KSUID (4 bytes of
//! seconds since 2014-05-13, 16 random bytes), so they sort by creation time.

use crate::error::CliError;

const KSUID_EPOCH: u64 = 1_400_000_000;
const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A fresh id: `prefix` followed by 27 base62 characters.
pub(crate) fn fresh(prefix: &str, unix_now: i64) -> Result<String, CliError> {
    let mut bytes = [0u8; 20];
    let secs = u64::try_from(unix_now)
        .unwrap_or(0)
        .saturating_sub(KSUID_EPOCH);
    let secs = u32::try_from(secs).unwrap_or(u32::MAX);
    bytes[..4].copy_from_slice(&secs.to_be_bytes());
    getrandom::fill(&mut bytes[4..])
        .map_err(|e| CliError::Runtime(format!("the system random source failed: {e}")))?;
    Ok(format!("{prefix}{}", base62_27(bytes)))
}

/// Big-endian base62 of 20 bytes, left-padded to 27 digits.
fn base62_27(mut number: [u8; 20]) -> String {
    let mut digits = [b'0'; 27];
    for slot in digits.iter_mut().rev() {
        let mut remainder = 0u32;
        for byte in number.iter_mut() {
            let acc = (remainder << 8) | u32::from(*byte);
            *byte = (acc / 62) as u8;
            remainder = acc % 62;
        }
        *slot = ALPHABET[remainder as usize];
    }
    digits.iter().map(|&b| char::from(b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_prefixed_distinct_and_time_ordered() {
        let a = fresh("msg_", 1_700_000_000).unwrap();
        let b = fresh("msg_", 1_700_000_000).unwrap();
        let later = fresh("msg_", 1_800_000_000).unwrap();
        assert!(a.starts_with("msg_"));
        assert_eq!(a.len(), 4 + 27);
        assert_ne!(a, b);
        assert!(later > a && later > b);
        assert!(a[4..].bytes().all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn base62_known_values() {
        assert_eq!(base62_27([0; 20]), "0".repeat(27));
        let mut one = [0u8; 20];
        one[19] = 61;
        assert_eq!(base62_27(one), format!("{}z", "0".repeat(26)));
        // The largest 20-byte number fits in 27 digits (KSUID's maximum).
        assert_eq!(base62_27([0xff; 20]), "aWgEPTl1tmebfsQzFP4bxwgy80V");
    }
}
