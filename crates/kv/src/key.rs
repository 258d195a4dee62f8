//! How the keyspace holds a key: short ones inside the entry, longer ones (and
//! any key with a TTL) in a shared allocation that also holds the deadline.
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
//! The keys with a deadline are also in a [`TtlIndex`], for the active expiry
//! cycle to sample: a vector of pointers to the shared allocations, each of
//! which knows its position there, so that adding and removing a key is O(1)
//! with no hashing and 8 bytes per key.
//!
//! The shared allocation holds a key of up to 23 bytes itself (one 64-byte
//! chunk in all); only a longer key has its bytes one more pointer away.
//!
//! A slot is 16 bytes: 15 key bytes and a length whose unused values (24 to
//! 255) tell the compiler where the pointer form is, so an entry is 40 bytes
//! with its value — at a million keys, hashbrown's table of 2^21 slots (and
//! their control bytes) is then 86 bytes per key rather than 103.

use std::borrow::Borrow;
use std::cell::Cell;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::rc::Rc;

use super::values::small::{Inline, SmallBytes};

/// Bytes a key may have and be stored inline in its slot.
pub const INLINE: usize = 15;

/// A key short enough for its slot.
type Short = Inline<INLINE>;

/// A shared key, its deadline in UNIX ms (0: none) and its position in the
/// [`TtlIndex`] (meaningful while it has a deadline).
pub struct Shared {
    at: Cell<u64>,
    pos: Cell<usize>,
    key: SmallBytes,
}

impl Shared {
    fn new(k: &[u8], at: u64) -> Rc<Shared> {
        let key = SmallBytes::new(k);
        Rc::new(Shared {
            at: Cell::new(at),
            pos: Cell::new(0),
            key,
        })
    }

    fn bytes(&self) -> &[u8] {
        self.key.as_bytes()
    }
}

/// A key's name, cheap to clone (an inline copy or an `Rc` count): what SCAN
/// snapshots, RANDOMKEY, the expiry log and the TTL index hold.
#[derive(Clone)]
pub struct KeyName(Name);

#[derive(Clone)]
enum Name {
    Inline(Short),
    Shared(Rc<Shared>),
}

impl KeyName {
    /// The name of `k` (copied).
    pub fn new(k: &[u8]) -> KeyName {
        KeyName(match Short::new(k) {
            Some(s) => Name::Inline(s),
            None => Name::Shared(Shared::new(k, 0)),
        })
    }
}

impl Deref for KeyName {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match &self.0 {
            Name::Inline(s) => s.bytes(),
            Name::Shared(k) => k.bytes(),
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
pub struct KeySlot(Name);

impl KeySlot {
    /// The slot for `k` with deadline `at` (0: none), in `ttl` if it has one.
    pub fn new(k: &[u8], at: u64, ttl: &mut TtlIndex) -> KeySlot {
        match Short::new(k) {
            Some(s) if at == 0 => KeySlot(Name::Inline(s)),
            _ => {
                let shared = Shared::new(k, at);
                if at != 0 {
                    ttl.add(&shared);
                }
                KeySlot(Name::Shared(shared))
            }
        }
    }

    /// The key's bytes.
    pub fn bytes(&self) -> &[u8] {
        match &self.0 {
            Name::Inline(s) => s.bytes(),
            Name::Shared(k) => k.bytes(),
        }
    }

    /// The deadline, 0 for none.
    pub fn deadline(&self) -> u64 {
        match &self.0 {
            Name::Inline(_) => 0,
            Name::Shared(k) => k.at.get(),
        }
    }

    /// Set the deadline (0: none), keeping `ttl` in step. A key given one
    /// moves to the shared form; a short key losing it moves back inline.
    pub fn set_deadline(&mut self, at: u64, ttl: &mut TtlIndex) {
        match &self.0 {
            Name::Shared(k) => {
                match (k.at.get(), at) {
                    (0, 0) => {}
                    (0, _) => ttl.add(k),
                    (_, 0) => ttl.remove(k),
                    _ => {}
                }
                k.at.set(at);
                if at == 0 {
                    if let Some(s) = Short::new(k.bytes()) {
                        self.0 = Name::Inline(s);
                    }
                }
            }
            Name::Inline(_) if at == 0 => {}
            Name::Inline(s) => {
                let shared = Shared::new(s.bytes(), at);
                ttl.add(&shared);
                self.0 = Name::Shared(shared);
            }
        }
    }

    /// The key leaves the keyspace: out of `ttl` if it has a deadline.
    pub fn leave(&self, ttl: &mut TtlIndex) {
        if let Name::Shared(k) = &self.0 {
            if k.at.get() != 0 {
                ttl.remove(k);
            }
        }
    }

    /// The key's name, to keep beyond the entry.
    pub fn name(&self) -> KeyName {
        KeyName(self.0.clone())
    }

    /// Heap bytes the key uses, roughly: none inline; the shared allocation
    /// (counts, deadline, bytes) otherwise.
    pub fn heap_bytes(&self) -> usize {
        match &self.0 {
            Name::Inline(_) => 0,
            Name::Shared(k) => {
                // Counts, the allocation, long bytes, and a TTL index slot.
                let ttl_slot = if k.at.get() != 0 { 8 } else { 0 };
                16 + std::mem::size_of::<Shared>() + k.key.heap_len() + ttl_slot
            }
        }
    }
}

/// The keys with a deadline. See the module documentation.
#[derive(Default)]
pub struct TtlIndex(Vec<Rc<Shared>>);

impl TtlIndex {
    /// Number of keys with a deadline.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True if no key has a deadline.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The name of the key at position `i` (below `len()`), for sampling.
    pub fn get(&self, i: usize) -> Option<KeyName> {
        self.0.get(i).map(|k| KeyName(Name::Shared(k.clone())))
    }

    fn add(&mut self, k: &Rc<Shared>) {
        k.pos.set(self.0.len());
        self.0.push(k.clone());
    }

    fn remove(&mut self, k: &Shared) {
        let p = k.pos.get();
        // Only a key that is here is removed; the check keeps a slip from
        // removing another.
        if self.0.get(p).is_some_and(|x| std::ptr::eq(&**x, k)) {
            self.0.swap_remove(p);
            if let Some(moved) = self.0.get(p) {
                moved.pos.set(p);
            }
            if self.0.len() * 4 < self.0.capacity() {
                self.0.shrink_to(self.0.len() * 2);
            }
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
    use super::super::values::small::MAX_INLINE as SHARED_INLINE;
    use super::*;

    #[test]
    fn a_slot_and_a_name_are_16_bytes() {
        assert_eq!(std::mem::size_of::<KeySlot>(), 16);
        assert_eq!(std::mem::size_of::<KeyName>(), 16);
        // With Rc's two counts, 56 bytes: one 64-byte chunk, a key of up to 23
        // bytes included.
        assert_eq!(std::mem::size_of::<Shared>(), 40);
    }

    #[test]
    fn a_deadline_moves_a_short_key_to_the_shared_form_and_back() {
        let mut ttl = TtlIndex::default();
        let mut k = KeySlot::new(b"user:1", 0, &mut ttl);
        assert!(matches!(k.0, Name::Inline(_)));
        assert_eq!(k.heap_bytes(), 0);
        k.set_deadline(5, &mut ttl);
        assert_eq!((k.deadline(), k.bytes()), (5, &b"user:1"[..]));
        // The TTL index and the entry share the allocation.
        assert_eq!(ttl.len(), 1);
        assert!(matches!((&ttl.0[0], &k.0), (a, Name::Shared(b)) if Rc::ptr_eq(a, b)));
        k.set_deadline(7, &mut ttl);
        assert_eq!((k.deadline(), ttl.len()), (7, 1));
        k.set_deadline(0, &mut ttl);
        assert!(matches!(k.0, Name::Inline(_)) && ttl.is_empty());
        // A key too long for the slot but not for the shared allocation.
        let mid = [b'm'; SHARED_INLINE];
        let mut k = KeySlot::new(&mid, 0, &mut ttl);
        assert!(matches!(&k.0, Name::Shared(s) if matches!(s.key, SmallBytes::Inline(_))));
        k.set_deadline(3, &mut ttl);
        k.set_deadline(0, &mut ttl);
        assert_eq!((k.bytes(), k.deadline(), ttl.len()), (&mid[..], 0, 0));
        let long = [b'k'; SHARED_INLINE + 1];
        let mut k = KeySlot::new(&long, 0, &mut ttl);
        assert!(matches!(&k.0, Name::Shared(s) if matches!(s.key, SmallBytes::Boxed(_))));
        assert!(matches!(k.0, Name::Shared(_)));
        k.set_deadline(0, &mut ttl);
        assert_eq!((k.bytes(), k.deadline(), ttl.len()), (&long[..], 0, 0));
        assert_eq!(&*k.name(), &long[..]);
        assert_eq!(KeyName::new(b"ab"), KeySlot::new(b"ab", 9, &mut ttl).name());
        assert_eq!(&*KeyName::new(&[]), b"");
        assert_eq!(&*KeyName::new(&[b'x'; INLINE]), &[b'x'; INLINE][..]);
    }

    #[test]
    fn the_ttl_index_keeps_positions_through_removals() {
        let mut ttl = TtlIndex::default();
        let mut keys: Vec<KeySlot> = (0..100)
            .map(|i| KeySlot::new(format!("key:{i}").as_bytes(), 1 + i as u64, &mut ttl))
            .collect();
        assert_eq!(ttl.len(), 100);
        // Remove every third, by leaving or by losing the deadline.
        for (i, k) in keys.iter_mut().enumerate().filter(|(i, _)| i % 3 == 0) {
            if i % 2 == 0 {
                k.leave(&mut ttl);
            } else {
                k.set_deadline(0, &mut ttl);
            }
        }
        assert_eq!(ttl.len(), 66);
        for (p, k) in ttl.0.iter().enumerate() {
            assert_eq!(k.pos.get(), p);
        }
        let mut names: Vec<Vec<u8>> = (0..ttl.len())
            .map(|i| ttl.get(i).unwrap().to_vec())
            .collect();
        names.sort();
        let mut want: Vec<Vec<u8>> = (0..100)
            .filter(|i| i % 3 != 0)
            .map(|i| format!("key:{i}").into_bytes())
            .collect();
        want.sort();
        assert_eq!(names, want);
        // A key already out (or that never had a deadline) removes nothing else.
        keys[0].leave(&mut ttl);
        keys[3].leave(&mut ttl);
        assert_eq!(ttl.len(), 66);
    }
}
