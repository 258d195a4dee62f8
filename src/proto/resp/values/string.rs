//! A string value: up to 15 bytes inside the value itself, a `Vec` beyond.
//!
//! Most keys hold short strings (counters, ids, flags), and a separate heap
//! allocation of a few bytes costs a 32-byte chunk from the allocator: more than
//! the string. Redis keeps such strings in the object's own allocation
//! (`embstr`) for the same reason. [`Str`] is 24 bytes either way, and `Value`
//! stays 24 (the small form fits around the `Vec`'s capacity niche).
//!
//! The forms also record how the string was made, as Redis's encodings do:
//! storing a whole string (SET, INCR, a new key by APPEND) takes the small form
//! when it fits, while changing one in place (APPEND to an existing string,
//! SETRANGE, SETBIT) moves it to the `Vec` and keeps it there — Redis makes
//! those strings `raw`. So a string of up to 15 bytes in the `Vec` is `raw` for
//! OBJECT ENCODING; one longer is named by its length, as it cannot be told
//! apart (16 to 44 bytes changed in place say `embstr` where Redis says `raw`).

use std::ops::Deref;

/// Bytes a string may have and be stored inline.
pub const SMALL: usize = 15;

/// A string value. See the module documentation.
#[derive(Clone)]
pub enum Str {
    /// On the heap: long, or changed in place.
    Heap(Vec<u8>),
    /// Inline: the length and the bytes.
    Small(u8, [u8; SMALL]),
}

impl std::fmt::Debug for Str {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self))
    }
}

impl Default for Str {
    fn default() -> Self {
        Str::Small(0, [0; SMALL])
    }
}

impl Str {
    /// A copy of `v`, inline if it fits.
    pub fn new(v: &[u8]) -> Str {
        if v.len() <= SMALL {
            let mut d = [0; SMALL];
            d[..v.len()].copy_from_slice(v);
            Str::Small(v.len() as u8, d)
        } else {
            Str::Heap(v.to_vec())
        }
    }

    /// A string already on the heap, kept there (what SETRANGE and SETBIT
    /// create: `raw` in Redis).
    pub fn raw(v: Vec<u8>) -> Str {
        Str::Heap(v)
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Str::Heap(v) => v,
            Str::Small(n, d) => &d[..*n as usize],
        }
    }

    /// Replace the whole string with `v` (SET over a string, INCR): inline if it
    /// fits, else into the heap buffer when that is not wasteful.
    pub fn set(&mut self, v: &[u8]) {
        match self {
            // Short over short (SET of a counter, INCR): in place.
            Str::Small(n, d) if v.len() <= SMALL => {
                d[..v.len()].copy_from_slice(v);
                *n = v.len() as u8;
            }
            Str::Heap(buf) if v.len() > SMALL && buf.capacity() <= 2 * v.len() + 64 => {
                buf.clear();
                buf.extend_from_slice(v);
            }
            _ => *self = Str::new(v),
        }
    }

    /// The string as a `Vec` to change in place (APPEND, SETRANGE, SETBIT); it
    /// stays on the heap afterwards.
    pub fn to_mut(&mut self) -> &mut Vec<u8> {
        if let Str::Small(..) = self {
            *self = Str::Heap(self.as_bytes().to_vec());
        }
        match self {
            Str::Heap(v) => v,
            Str::Small(..) => unreachable!("moved to the heap above"),
        }
    }

    /// Heap bytes the string uses (its `Vec`'s capacity; 0 inline).
    pub fn heap_bytes(&self) -> usize {
        match self {
            Str::Heap(v) => v.capacity(),
            Str::Small(..) => 0,
        }
    }

    /// The name OBJECT ENCODING gives it (see the module documentation).
    pub fn encoding_name(&self) -> &'static str {
        match self {
            Str::Heap(v) if v.len() <= SMALL => "raw",
            s => crate::proto::resp::encoding::string_encoding(s),
        }
    }
}

impl Deref for Str {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl From<Vec<u8>> for Str {
    /// Inline if it fits (the `Vec` is dropped), else the `Vec` itself.
    fn from(v: Vec<u8>) -> Str {
        if v.len() <= SMALL {
            Str::new(&v)
        } else {
            Str::Heap(v)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_24_bytes_and_short_strings_are_inline() {
        assert_eq!(std::mem::size_of::<Str>(), 24);
        assert!(matches!(Str::new(&[1; SMALL]), Str::Small(..)));
        assert!(matches!(Str::new(&[1; SMALL + 1]), Str::Heap(_)));
        assert!(matches!(Str::from(b"12".to_vec()), Str::Small(..)));
        assert_eq!(&*Str::default(), b"");
    }

    #[test]
    fn changing_in_place_makes_a_raw_string_and_set_makes_it_compact_again() {
        let mut s = Str::new(b"1234");
        assert_eq!(s.encoding_name(), "int");
        s.to_mut().extend_from_slice(b"5");
        assert_eq!(&*s, b"12345");
        assert_eq!(s.encoding_name(), "raw");
        s.set(b"hello");
        assert_eq!(s.encoding_name(), "embstr");
        assert_eq!(s.heap_bytes(), 0);
        let long = [b'x'; 40];
        s.set(&long);
        assert_eq!((&*s, s.encoding_name()), (&long[..], "embstr"));
        s.set(&[b'y'; 50]);
        assert_eq!(s.encoding_name(), "raw");
        assert_eq!(s.to_vec(), vec![b'y'; 50]);
    }
}
