//! A string value: up to 15 bytes inside the value itself, an exact-size box
//! beyond, a growable `Vec` once changed in place.
//!
//! Most keys hold short strings (counters, ids, flags), and a separate heap
//! allocation of a few bytes costs a 32-byte chunk from the allocator: more than
//! the string. Redis keeps such strings in the object's own allocation
//! (`embstr`) for the same reason. [`Str`] is 24 bytes in every form, and
//! `Value` stays 24 (the other forms fit around the `Vec`'s capacity niche).
//!
//! The forms also record how the string was made, as Redis's encodings do:
//! storing a whole string (SET, INCR, a new key by APPEND) takes the small form
//! when it fits and an exact-size box otherwise (`embstr` up to 44 bytes,
//! `raw` beyond, by length as in Redis), while changing one in place (APPEND to
//! an existing string, SETRANGE, SETBIT) moves it to a `Vec` — which grows by
//! doubling, so repeated APPENDs stay linear — and keeps it there: Redis makes
//! those strings `raw`, and so does OBJECT ENCODING here.

use std::ops::Deref;

/// Bytes a string may have and be stored inline.
pub const SMALL: usize = 15;

/// A string value. See the module documentation.
#[derive(Clone)]
pub enum Str {
    /// Changed in place: growable.
    Heap(Vec<u8>),
    /// Stored whole and longer than [`SMALL`]: exactly its size.
    Boxed(Box<[u8]>),
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
            Str::Boxed(v.into())
        }
    }

    /// A string made in place (what SETRANGE and SETBIT create: `raw` in
    /// Redis).
    pub fn raw(v: Vec<u8>) -> Str {
        Str::Heap(v)
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Str::Heap(v) => v,
            Str::Boxed(b) => b,
            Str::Small(n, d) => &d[..*n as usize],
        }
    }

    /// Replace the whole string with `v` (SET over a string, INCR): inline if it
    /// fits, in place when the length is the same, else a new box.
    pub fn set(&mut self, v: &[u8]) {
        match self {
            // Short over short (SET of a counter, INCR): in place.
            Str::Small(n, d) if v.len() <= SMALL => {
                d[..v.len()].copy_from_slice(v);
                *n = v.len() as u8;
            }
            // Same size over a stored string (a benchmark's fixed-size values).
            Str::Boxed(b) if b.len() == v.len() => b.copy_from_slice(v),
            _ => *self = Str::new(v),
        }
    }

    /// The string as a `Vec` to change in place (APPEND, SETRANGE, SETBIT); it
    /// stays one afterwards. A boxed string becomes the `Vec` without a copy.
    pub fn to_mut(&mut self) -> &mut Vec<u8> {
        if !matches!(self, Str::Heap(_)) {
            let v = match std::mem::take(self) {
                Str::Boxed(b) => b.into_vec(),
                other => other.as_bytes().to_vec(),
            };
            *self = Str::Heap(v);
        }
        match self {
            Str::Heap(v) => v,
            _ => unreachable!("a Vec above"),
        }
    }

    /// Heap bytes the string uses (0 inline).
    pub fn heap_bytes(&self) -> usize {
        match self {
            Str::Heap(v) => v.capacity(),
            Str::Boxed(b) => b.len(),
            Str::Small(..) => 0,
        }
    }

    /// The name OBJECT ENCODING gives it (see the module documentation).
    pub fn encoding_name(&self) -> &'static str {
        match self {
            Str::Heap(_) => "raw",
            s => crate::encoding::string_encoding(s),
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
    /// Stored whole: inline if it fits, else an exact-size box.
    fn from(v: Vec<u8>) -> Str {
        if v.len() <= SMALL {
            Str::new(&v)
        } else {
            Str::Boxed(v.into_boxed_slice())
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
        assert!(matches!(Str::new(&[1; SMALL + 1]), Str::Boxed(_)));
        assert!(matches!(Str::from(b"12".to_vec()), Str::Small(..)));
        assert!(matches!(Str::from(vec![1; 40]), Str::Boxed(_)));
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
        s.set(&[b'z'; 40]);
        assert!(matches!(s, Str::Boxed(_)) && s[0] == b'z');
        // 16 to 44 bytes changed in place are raw, as in Redis.
        s.to_mut()[0] = b'y';
        assert_eq!((s.encoding_name(), s.len(), s[0]), ("raw", 40, b'y'));
        s.set(&[b'y'; 50]);
        assert_eq!(s.encoding_name(), "raw");
        assert_eq!(s.to_vec(), vec![b'y'; 50]);
    }
}
