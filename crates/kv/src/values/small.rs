//! Byte strings stored inside a fixed-size slot while short: what the
//! keyspace's key slots and a set's members use, so that a short key or member
//! costs no allocation of its own (a separate allocation of a few bytes is a
//! 32-byte chunk from glibc's allocator — more than the bytes).
//!
//! [`Inline`] holds up to `N` bytes in `N + 1`; its length is a [`Len`] enum that
//! never exceeds 23, so the values above are free for an enum around it to tag
//! its other forms with: [`SmallBytes`] is 24 bytes, inline up to 23 or boxed.

use crate::store::Bytes;

/// Most bytes an [`Inline`] can hold (its length's largest value).
pub const MAX_INLINE: usize = 23;

/// The length of an inline string: a byte that is never above 23, which leaves
/// the values above for the enums around it to use as their tag.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Len {
    L0,
    L1,
    L2,
    L3,
    L4,
    L5,
    L6,
    L7,
    L8,
    L9,
    L10,
    L11,
    L12,
    L13,
    L14,
    L15,
    L16,
    L17,
    L18,
    L19,
    L20,
    L21,
    L22,
    L23,
}

const LENS: [Len; MAX_INLINE + 1] = [
    Len::L0,
    Len::L1,
    Len::L2,
    Len::L3,
    Len::L4,
    Len::L5,
    Len::L6,
    Len::L7,
    Len::L8,
    Len::L9,
    Len::L10,
    Len::L11,
    Len::L12,
    Len::L13,
    Len::L14,
    Len::L15,
    Len::L16,
    Len::L17,
    Len::L18,
    Len::L19,
    Len::L20,
    Len::L21,
    Len::L22,
    Len::L23,
];

/// Up to `N` bytes (at most [`MAX_INLINE`]) in `N + 1` bytes.
#[derive(Clone, Copy)]
pub struct Inline<const N: usize>(Len, [u8; N]);

impl<const N: usize> Inline<N> {
    /// `k` inline, if it has at most `N` bytes.
    pub fn new(k: &[u8]) -> Option<Inline<N>> {
        if k.len() > N {
            return None;
        }
        let len = *LENS.get(k.len())?;
        let mut d = [0; N];
        d[..k.len()].copy_from_slice(k);
        Some(Inline(len, d))
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.1[..self.0 as usize]
    }
}

/// A byte string in 24 bytes: inline up to 23, boxed beyond.
#[derive(Clone)]
pub enum SmallBytes {
    /// Up to [`MAX_INLINE`] bytes.
    Inline(Inline<MAX_INLINE>),
    /// Longer: its own allocation.
    Boxed(Bytes),
}

impl SmallBytes {
    /// A copy of `k`.
    pub fn new(k: &[u8]) -> SmallBytes {
        match Inline::new(k) {
            Some(s) => SmallBytes::Inline(s),
            None => SmallBytes::Boxed(k.into()),
        }
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            SmallBytes::Inline(s) => s.bytes(),
            SmallBytes::Boxed(b) => b,
        }
    }

    /// The bytes as a box (no copy when boxed already).
    pub fn into_bytes(self) -> Bytes {
        match self {
            SmallBytes::Boxed(b) => b,
            inline => inline.as_bytes().into(),
        }
    }

    /// Heap bytes beyond the 24: the box's length, 0 inline.
    pub fn heap_len(&self) -> usize {
        match self {
            SmallBytes::Inline(_) => 0,
            SmallBytes::Boxed(b) => b.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_24_bytes_inline_up_to_23() {
        assert_eq!(std::mem::size_of::<SmallBytes>(), 24);
        assert_eq!(std::mem::size_of::<Inline<15>>(), 16);
        assert!(matches!(
            SmallBytes::new(&[7; MAX_INLINE]),
            SmallBytes::Inline(_)
        ));
        assert!(matches!(
            SmallBytes::new(&[7; MAX_INLINE + 1]),
            SmallBytes::Boxed(_)
        ));
        assert_eq!(SmallBytes::new(b"").as_bytes(), b"");
        assert!(Inline::<15>::new(&[1; 16]).is_none());
        assert_eq!(Inline::<15>::new(b"abc").unwrap().bytes(), b"abc");
        assert_eq!(&*SmallBytes::new(&[9; 30]).into_bytes(), &[9; 30][..]);
    }
}
