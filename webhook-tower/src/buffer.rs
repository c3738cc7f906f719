//! Bounded buffering of the request body.

use bytes::{Buf, Bytes};

/// Collects body frames up to a limit. A single frame is kept as is (no copy); several are
/// copied once into one allocation that never exceeds the limit.
#[derive(Debug)]
pub(crate) struct Buffer {
    first: Option<Bytes>,
    joined: Vec<u8>,
    len: usize,
    limit: usize,
    hint: usize,
}

/// The body went past the limit.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct TooLarge;

impl Buffer {
    /// `hint` is the expected size (e.g. `Content-Length`), used to allocate once; it is capped
    /// at `limit`.
    pub(crate) fn new(limit: usize, hint: usize) -> Self {
        Buffer {
            first: None,
            joined: Vec::new(),
            len: 0,
            limit,
            hint: hint.min(limit),
        }
    }

    pub(crate) fn push<D: Buf>(&mut self, mut data: D) -> Result<(), TooLarge> {
        let n = data.remaining();
        if n == 0 {
            return Ok(());
        }
        if n > self.limit - self.len {
            return Err(TooLarge);
        }
        self.len += n;
        if self.first.is_none() && self.joined.is_empty() {
            self.first = Some(data.copy_to_bytes(n));
            return Ok(());
        }
        if let Some(first) = self.first.take() {
            self.reserve(first.len());
            self.joined.extend_from_slice(&first);
        }
        self.reserve(n);
        while data.has_remaining() {
            let chunk = data.chunk();
            let k = chunk.len();
            self.joined.extend_from_slice(chunk);
            data.advance(k);
        }
        Ok(())
    }

    /// Grows the joined buffer geometrically, but never past the limit.
    fn reserve(&mut self, additional: usize) {
        let needed = self.joined.len() + additional;
        let capacity = self.joined.capacity();
        if needed <= capacity {
            return;
        }
        let target = needed
            .max(capacity.saturating_mul(2).min(self.limit))
            .max(self.hint);
        self.joined.reserve_exact(target - self.joined.len());
    }

    pub(crate) fn finish(&mut self) -> Bytes {
        match self.first.take() {
            Some(first) => first,
            None => Bytes::from(std::mem::take(&mut self.joined)),
        }
    }

    #[cfg(test)]
    fn capacity(&self) -> usize {
        self.joined.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_frame_is_not_copied() {
        let data = Bytes::from_static(b"hello");
        let mut b = Buffer::new(10, 0);
        b.push(data.clone()).unwrap();
        let out = b.finish();
        assert_eq!(out.as_ptr(), data.as_ptr());
    }

    #[test]
    fn frames_are_joined_and_capacity_stays_within_the_limit() {
        let mut b = Buffer::new(1000, 0);
        for _ in 0..99 {
            b.push(Bytes::from_static(b"0123456789")).unwrap();
        }
        assert!(b.capacity() <= 1000);
        b.push(&b"0123456789"[..]).unwrap();
        assert!(b.capacity() <= 1000);
        assert_eq!(b.push(&b"x"[..]), Err(TooLarge));
        assert_eq!(b.finish().len(), 1000);
    }

    #[test]
    fn oversize_single_frame_is_refused() {
        let mut b = Buffer::new(4, 0);
        assert_eq!(b.push(&b"12345"[..]), Err(TooLarge));
        b.push(&b"1234"[..]).unwrap();
        assert_eq!(b.push(&b"5"[..]), Err(TooLarge));
    }

    #[test]
    fn hint_allocates_once() {
        let mut b = Buffer::new(100, 30);
        b.push(&b"0123456789"[..]).unwrap();
        b.push(&b"0123456789"[..]).unwrap();
        b.push(&b"0123456789"[..]).unwrap();
        assert_eq!(b.capacity(), 30);
        assert_eq!(&b.finish()[..], b"012345678901234567890123456789");
    }

    #[test]
    fn empty_body() {
        let mut b = Buffer::new(4, 0);
        b.push(&b""[..]).unwrap();
        assert!(b.finish().is_empty());
    }
}
