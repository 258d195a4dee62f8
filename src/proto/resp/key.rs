//! How the keyspace holds a key: short ones inside the entry, longer ones (and
//! any key with a TTL) in a shared allocation next to the deadline.
//!
//! A key's own allocation costs more than a short key: an `Rc<[u8]>` of a
//! 10-byte key is a 48-byte chunk from glibc's allocator (16 bytes of counts,
//! the bytes, the allocator's header, rounded up). So a key of up to 15 bytes
//! without a TTL is stored inline in its [`KeySlot`] — most keys are short
//! names like `user:1234` — and costs nothing beyond the table slot. A key with
//! a deadline is shared (`Rc`) with the TTL index, as Redis keeps a second
//! reference to it in its `expires` dict; a longer key is shared too, so that
//! SCAN snapshots and the append-only rewrite copy no key bytes.
//!
//! Both forms are 24 bytes (the inline one fits around the `Rc`'s pointer), so
//! an entry is 48 with its value.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::rc::Rc;

/// Bytes a key may have and be stored inline.
pub const INLINE: usize = 15;

fn inline(k: &[u8]) -> Option<(u8, [u8; INLINE])> {
    (k.len() <= INLINE).then(|| {
        let mut d = [0; INLINE];
        d[..k.len()].copy_from_slice(k);
        (k.len() as u8, d)
    })
}

/// A key's name, cheap to clone (an inline copy or an `Rc` count): what SCAN
/// snapshots, RANDOMKEY and the expiry log hold.
#[derive(Clone)]
pub enum KeyName {
    /// Up to [`INLINE`] bytes.
    Inline(u8, [u8; INLINE]),
    /// A shared allocation.
    Shared(Rc<[u8]>),
}

impl KeyName {
    /// The name of `k` (copied).
    pub fn new(k: &[u8]) -> KeyName {
        match inline(k) {
            Some((n, d)) => KeyName::Inline(n, d),
            None => KeyName::Shared(k.into()),
        }
    }
}

impl Deref for KeyName {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            KeyName::Inline(n, d) => &d[..*n as usize],
            KeyName::Shared(k) => k,
        }
    }
}

impl Borrow<[u8]> for KeyName {
    fn borrow(&self) -> &[u8] {
        self
    }
}

impl PartialEq for KeyName {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for KeyName {}

impl Hash for KeyName {
    /// Hashes as the bytes do, so that sets of names can be probed with `&[u8]`.
    fn hash<H: Hasher>(&self, state: &mut H) {
        (**self).hash(state)
    }
}

impl std::fmt::Debug for KeyName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self))
    }
}

/// A key in its entry, with the entry's deadline. See the module documentation.
pub enum KeySlot {
    /// A short key without a TTL.
    Inline(u8, [u8; INLINE]),
    /// A shared key and its deadline in UNIX ms (0: none).
    Shared(Rc<[u8]>, u64),
}

impl KeySlot {
    /// The slot for `k` with deadline `at` (0: none).
    pub fn new(k: &[u8], at: u64) -> KeySlot {
        match inline(k) {
            Some((n, d)) if at == 0 => KeySlot::Inline(n, d),
            _ => KeySlot::Shared(k.into(), at),
        }
    }

    /// The key's bytes.
    pub fn bytes(&self) -> &[u8] {
        match self {
            KeySlot::Inline(n, d) => &d[..*n as usize],
            KeySlot::Shared(k, _) => k,
        }
    }

    /// The deadline, 0 for none.
    pub fn deadline(&self) -> u64 {
        match self {
            KeySlot::Inline(..) => 0,
            KeySlot::Shared(_, at) => *at,
        }
    }

    /// Set the deadline (0: none). A key given one moves to the shared form; a
    /// short key losing it moves back inline. Returns the shared key when the
    /// key has a deadline now, for the TTL index.
    pub fn set_deadline(&mut self, at: u64) -> Option<Rc<[u8]>> {
        match self {
            KeySlot::Shared(k, d) => {
                if at == 0 {
                    if let Some((n, b)) = inline(k) {
                        *self = KeySlot::Inline(n, b);
                        return None;
                    }
                }
                *d = at;
                (at != 0).then(|| k.clone())
            }
            KeySlot::Inline(..) if at == 0 => None,
            KeySlot::Inline(..) => {
                let k: Rc<[u8]> = self.bytes().into();
                *self = KeySlot::Shared(k.clone(), at);
                Some(k)
            }
        }
    }

    /// The key's name, to keep beyond the entry.
    pub fn name(&self) -> KeyName {
        match self {
            KeySlot::Inline(n, d) => KeyName::Inline(*n, *d),
            KeySlot::Shared(k, _) => KeyName::Shared(k.clone()),
        }
    }

    /// The shared key, if it is one (every key with a deadline is).
    pub fn shared(&self) -> Option<&Rc<[u8]>> {
        match self {
            KeySlot::Shared(k, _) => Some(k),
            KeySlot::Inline(..) => None,
        }
    }
}

impl std::fmt::Debug for KeySlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.bytes()))?;
        match self.deadline() {
            0 => Ok(()),
            at => write!(f, "@{at}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_are_24_bytes() {
        assert_eq!(std::mem::size_of::<KeySlot>(), 24);
        assert_eq!(std::mem::size_of::<KeyName>(), 24);
    }

    #[test]
    fn a_deadline_moves_a_short_key_to_the_shared_form_and_back() {
        let mut k = KeySlot::new(b"user:1", 0);
        assert!(matches!(k, KeySlot::Inline(..)));
        let shared = k.set_deadline(5).expect("shared now");
        assert_eq!(
            (&*shared, k.deadline(), k.bytes()),
            (&b"user:1"[..], 5, &b"user:1"[..])
        );
        assert!(k.set_deadline(7).is_some_and(|s| Rc::ptr_eq(&s, &shared)));
        assert!(k.set_deadline(0).is_none());
        assert!(matches!(k, KeySlot::Inline(..)));
        let long = [b'k'; INLINE + 1];
        let mut k = KeySlot::new(&long, 0);
        assert!(matches!(k, KeySlot::Shared(_, 0)));
        assert!(k.set_deadline(0).is_none());
        assert_eq!((k.bytes(), k.deadline()), (&long[..], 0));
        assert_eq!(&*k.name(), &long[..]);
        assert_eq!(KeyName::new(b"ab"), KeySlot::new(b"ab", 9).name());
    }
}
