//! [`BodyBuffer`]: collecting a request body up to a limit, for the framework integrations.

use bytes::{Buf, Bytes};

/// Collects a request body's frames up to a limit, for a framework integration that must verify
/// the raw bytes before anything parses them.
///
/// A single frame is kept as is (no copy); several are copied into one allocation. Memory
/// follows the bytes that arrived, never the declared length alone: the allocation at most
/// doubles what was received, or takes the declared length once half of it is here, and never
/// exceeds the limit. A client declaring a large `Content-Length` and sending a few bytes holds a
/// few bytes.
///
/// ```
/// use bytes::Bytes;
/// use webhook_core::body_buffer::{BodyBuffer, TooLarge};
///
/// let mut body = BodyBuffer::new(8, Some(6));
/// body.push(Bytes::from_static(b"abc"))?;
/// body.push(Bytes::from_static(b"def"))?;
/// // 9 bytes would pass the limit: refused, and nothing of it is kept.
/// assert_eq!(body.push(Bytes::from_static(b"ghi")), Err(TooLarge));
/// assert_eq!(&body.finish()[..], b"abcdef");
/// # Ok::<(), TooLarge>(())
/// ```
#[derive(Debug)]
pub struct BodyBuffer {
    first: Option<Bytes>,
    joined: Vec<u8>,
    len: usize,
    limit: usize,
    declared: usize,
}

/// The body went past the limit: answer 413.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the body is larger than the limit")]
pub struct TooLarge;

impl BodyBuffer {
    /// A buffer refusing more than `limit` bytes. `declared` is the `Content-Length` (or an
    /// exact size hint), if any: a body declaring more than `limit` should be refused before
    /// reading, by the caller.
    pub fn new(limit: usize, declared: Option<u64>) -> Self {
        let declared = declared.map_or(0, |d| usize::try_from(d).unwrap_or(usize::MAX));
        BodyBuffer {
            first: None,
            joined: Vec::new(),
            len: 0,
            limit,
            declared: declared.min(limit),
        }
    }

    /// Adds a frame, or refuses it when the body would pass the limit (nothing is kept of it).
    pub fn push<D: Buf>(&mut self, mut data: D) -> Result<(), TooLarge> {
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
        match self.first.take() {
            Some(first) => {
                self.reserve(first.len() + n);
                self.joined.extend_from_slice(&first);
            }
            None => self.reserve(n),
        }
        while data.has_remaining() {
            let chunk = data.chunk();
            let k = chunk.len();
            self.joined.extend_from_slice(chunk);
            data.advance(k);
        }
        Ok(())
    }

    fn reserve(&mut self, additional: usize) {
        let needed = self.joined.len() + additional;
        let capacity = self.joined.capacity();
        if needed <= capacity {
            return;
        }
        let target = if self.declared >= needed && self.declared <= needed.saturating_mul(2) {
            self.declared
        } else {
            needed.max(capacity.saturating_mul(2)).min(self.limit)
        };
        self.joined.reserve_exact(target - self.joined.len());
    }

    /// How many bytes arrived.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether none did.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The body, as one `Bytes` (the single frame itself when there was one).
    pub fn finish(&mut self) -> Bytes {
        self.len = 0;
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
        let mut b = BodyBuffer::new(10, None);
        b.push(data.clone()).unwrap();
        let out = b.finish();
        assert_eq!(out.as_ptr(), data.as_ptr());
    }

    #[test]
    fn frames_are_joined_and_capacity_stays_within_the_limit() {
        let mut b = BodyBuffer::new(1000, None);
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
        let mut b = BodyBuffer::new(4, None);
        assert_eq!(b.push(&b"12345"[..]), Err(TooLarge));
        b.push(&b"1234"[..]).unwrap();
        assert_eq!(b.push(&b"5"[..]), Err(TooLarge));
    }

    #[test]
    fn the_declared_length_is_allocated_once_half_of_it_is_here() {
        let mut b = BodyBuffer::new(100, Some(30));
        b.push(&b"0123456789"[..]).unwrap();
        b.push(&b"0123456789"[..]).unwrap();
        assert_eq!(b.capacity(), 30);
        b.push(&b"0123456789"[..]).unwrap();
        assert_eq!(b.capacity(), 30);
        assert_eq!(&b.finish()[..], b"012345678901234567890123456789");
    }

    #[test]
    fn a_large_declared_length_is_not_allocated_before_the_bytes_arrive() {
        let mut b = BodyBuffer::new(2 << 20, Some(2 << 20));
        b.push(&b"a"[..]).unwrap();
        b.push(&b"b"[..]).unwrap();
        assert!(b.capacity() <= 4, "{}", b.capacity());
        // Growth doubles what arrived, within the limit.
        for _ in 0..100 {
            b.push(&[b'x'; 1000][..]).unwrap();
            assert!(
                b.capacity() <= 2 * b.len(),
                "{} for {}",
                b.capacity(),
                b.len()
            );
        }
    }

    #[test]
    fn empty_body() {
        let mut b = BodyBuffer::new(4, None);
        b.push(&b""[..]).unwrap();
        assert!(b.finish().is_empty());
    }
}
