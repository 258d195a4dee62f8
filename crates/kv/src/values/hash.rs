//! A hash's two representations, as Redis's: a [`Listpack`] of fields and values
//! alternating while the hash is small, a hash table once it grows.
//!
//! Redis converts a listpack hash to a hash table when an insert would make it
//! hold more than `hash-max-listpack-entries` fields, or a field or value longer
//! than `hash-max-listpack-value` bytes is written (t_hash.c,
//! `hashTypeTryConversion` and `hashTypeSet`); it never converts back. [`Hash`](enum@Hash)
//! follows the same rules, so `OBJECT ENCODING` answers what Redis would.
//!
//! The large form is an `IndexMap` rather than a plain hash map: HRANDFIELD then
//! picks a field by index in O(1), as SRANDMEMBER does on a set. Removal is a
//! `swap_remove` (O(1)); a hash's order is unspecified anyway.

use indexmap::IndexMap;

use super::listpack::Listpack;
use crate::encoding::EncodingLimits;
use crate::store::{Bytes, Hasher};

/// The large form of a hash: field → value.
pub type Table = IndexMap<Bytes, Bytes, Hasher>;

/// A hash (field → value) in Redis's compact or large representation.
/// See the module documentation.
#[derive(Debug, Clone)]
#[allow(clippy::box_collection)]
pub enum Hash {
    /// Fields and values alternating in one listpack, in insertion order.
    Pack(Listpack),
    /// A hash table, boxed so that a hash is 16 bytes.
    Table(Box<Table>),
}

impl Default for Hash {
    fn default() -> Self {
        Hash::Pack(Listpack::new())
    }
}

impl Hash {
    /// An empty hash in the compact form (no allocation).
    pub fn new() -> Hash {
        Hash::default()
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        match self {
            Hash::Pack(lp) => lp.len() / 2,
            Hash::Table(t) => t.len(),
        }
    }

    /// True if there are no fields.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True while the hash is in the compact (listpack) form.
    pub fn is_packed(&self) -> bool {
        matches!(self, Hash::Pack(_))
    }

    /// The name `OBJECT ENCODING` gives this representation.
    pub fn encoding_name(&self) -> &'static str {
        match self {
            Hash::Pack(_) => "listpack",
            Hash::Table(_) => "hashtable",
        }
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match self {
            Hash::Pack(lp) => {
                let p = lp.find(field, 2)?;
                lp.next(p).map(|v| lp.get(v))
            }
            Hash::Table(t) => t.get(field).map(|v| &**v),
        }
    }

    /// True if `field` is in the hash.
    pub fn contains(&self, field: &[u8]) -> bool {
        match self {
            Hash::Pack(lp) => lp.find(field, 2).is_some(),
            Hash::Table(t) => t.contains_key(field),
        }
    }

    /// Convert to the hash table form (no-op if already there).
    pub fn convert_to_table(&mut self) {
        if let Hash::Pack(lp) = self {
            let mut t = Table::with_capacity_and_hasher(lp.len() / 2, Hasher::default());
            let mut it = lp.iter();
            while let (Some(f), Some(v)) = (it.next(), it.next()) {
                t.insert(f.into(), v.into());
            }
            *self = Hash::Table(Box::new(t));
        }
    }

    /// Set `field` to `value`; true if the field was added (false: updated).
    /// Converts to the table form, as Redis does, if the field or the value is
    /// longer than `limits.hash_value` or the hash would hold more than
    /// `limits.hash_entries` fields.
    pub fn insert(&mut self, field: &[u8], value: &[u8], limits: &EncodingLimits) -> bool {
        if self.is_packed() && (too_long(field, limits) || too_long(value, limits)) {
            self.convert_to_table();
        }
        let added = match self {
            Hash::Pack(lp) => match lp.find(field, 2) {
                Some(f) => {
                    let v = lp.next(f).expect("a listpack hash holds pairs");
                    lp.replace(v, value);
                    false
                }
                None => {
                    lp.push_back(field);
                    lp.push_back(value);
                    true
                }
            },
            Hash::Table(t) => match t.get_mut(field) {
                Some(v) => {
                    if **v != *value {
                        *v = value.into();
                    }
                    false
                }
                None => {
                    t.insert(field.into(), value.into());
                    true
                }
            },
        };
        if added && self.is_packed() && self.len() as u64 > limits.hash_entries {
            self.convert_to_table();
        }
        added
    }

    /// Remove `field`; true if it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self {
            Hash::Pack(lp) => match lp.find(field, 2) {
                Some(p) => {
                    lp.remove(p, 2);
                    true
                }
                None => false,
            },
            Hash::Table(t) => t.swap_remove(field).is_some(),
        }
    }

    /// The (field, value) pairs, in the representation's order.
    pub fn iter(&self) -> Iter<'_> {
        match self {
            Hash::Pack(lp) => Iter::Pack(lp.iter()),
            Hash::Table(t) => Iter::Table(t.iter()),
        }
    }

    /// The fields, in the representation's order.
    pub fn fields(&self) -> impl Iterator<Item = &[u8]> {
        self.iter().map(|(f, _)| f)
    }

    /// Random access to the pairs by index in `0..len()`, for HRANDFIELD: O(1)
    /// per pair in either form (the compact form is indexed once, in O(len)).
    pub fn indexed(&self) -> Indexed<'_> {
        match self {
            Hash::Pack(_) => Indexed::Pack(self.iter().collect()),
            Hash::Table(t) => Indexed::Table(t),
        }
    }

    /// Bytes of heap this hash uses, roughly (for memory accounting).
    pub fn heap_bytes(&self) -> usize {
        match self {
            Hash::Pack(lp) => lp.heap_bytes(),
            Hash::Table(t) => {
                // Per entry: the map's slot (hash, two boxed slices), its index,
                // and the two allocations.
                const SLOT: usize = 8 + 2 * 16 + 8;
                std::mem::size_of::<Table>()
                    + t.iter()
                        .map(|(f, v)| f.len() + v.len() + SLOT)
                        .sum::<usize>()
            }
        }
    }
}

fn too_long(s: &[u8], limits: &EncodingLimits) -> bool {
    s.len() as u64 > limits.hash_value
}

/// The pairs of a [`Hash`](enum@Hash); see [`Hash::iter`].
pub enum Iter<'a> {
    /// Over the listpack's entries, two at a time.
    Pack(super::listpack::Iter<'a>),
    /// Over the table.
    Table(indexmap::map::Iter<'a, Bytes, Bytes>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Pack(it) => {
                let f = it.next()?;
                let v = it.next()?;
                Some((f, v))
            }
            Iter::Table(it) => it.next().map(|(f, v)| (&**f, &**v)),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = match self {
            Iter::Pack(it) => it.len() / 2,
            Iter::Table(it) => it.len(),
        };
        (n, Some(n))
    }
}

impl ExactSizeIterator for Iter<'_> {}

/// Index access to a hash's pairs; see [`Hash::indexed`].
pub enum Indexed<'a> {
    /// The compact form's pairs, collected.
    Pack(Vec<(&'a [u8], &'a [u8])>),
    /// The table, indexed in place.
    Table(&'a Table),
}

impl<'a> Indexed<'a> {
    /// The `i`th pair (`i < len`).
    pub fn get(&self, i: usize) -> Option<(&'a [u8], &'a [u8])> {
        match self {
            Indexed::Pack(v) => v.get(i).copied(),
            Indexed::Table(t) => t.get_index(i).map(|(f, v)| (&**f, &**v)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(entries: u64, value: u64) -> EncodingLimits {
        EncodingLimits {
            hash_entries: entries,
            hash_value: value,
            ..EncodingLimits::default()
        }
    }

    #[test]
    fn is_two_words() {
        assert_eq!(std::mem::size_of::<Hash>(), 16);
    }

    #[test]
    fn compact_until_the_entries_threshold_is_passed() {
        let l = limits(3, 64);
        let mut h = Hash::new();
        assert!(h.insert(b"a", b"1", &l));
        assert!(h.insert(b"b", b"2", &l));
        assert!(!h.insert(b"a", b"3", &l));
        assert!(h.insert(b"c", b"4", &l));
        assert_eq!(h.encoding_name(), "listpack");
        assert_eq!(h.get(b"a"), Some(&b"3"[..]));
        assert!(h.insert(b"d", b"5", &l));
        assert_eq!(h.encoding_name(), "hashtable");
        assert_eq!(h.len(), 4);
        let mut pairs: Vec<_> = h.iter().collect();
        pairs.sort();
        assert_eq!(
            pairs,
            [
                (&b"a"[..], &b"3"[..]),
                (b"b", b"2"),
                (b"c", b"4"),
                (b"d", b"5")
            ]
        );
        // Never back.
        assert!(h.remove(b"d") && h.remove(b"c"));
        assert_eq!(h.encoding_name(), "hashtable");
    }

    #[test]
    fn a_long_field_or_value_converts_even_on_update() {
        let l = limits(128, 4);
        let mut h = Hash::new();
        h.insert(b"f", b"1234", &l);
        assert!(h.is_packed());
        assert!(!h.insert(b"f", b"12345", &l));
        assert!(!h.is_packed());
        let mut h = Hash::new();
        h.insert(b"field", b"v", &l);
        assert!(!h.is_packed());
        assert_eq!(h.get(b"field"), Some(&b"v"[..]));
    }

    #[test]
    fn fields_and_values_do_not_mix_in_the_listpack() {
        let l = limits(128, 64);
        let mut h = Hash::new();
        h.insert(b"a", b"b", &l);
        h.insert(b"b", b"a", &l);
        assert_eq!(h.get(b"b"), Some(&b"a"[..]));
        assert!(!h.contains(b"x"));
        assert!(h.remove(b"a"));
        assert_eq!(h.get(b"a"), None);
        assert_eq!(h.get(b"b"), Some(&b"a"[..]));
        assert!(!h.remove(b"a"));
        assert!(h.remove(b"b"));
        assert!(h.is_empty());
        assert_eq!(h.heap_bytes(), 0);
    }

    #[test]
    fn indexed_covers_every_pair() {
        for l in [limits(128, 64), limits(0, 0)] {
            let mut h = Hash::new();
            for i in 0..10u8 {
                h.insert(&[b'f', i], &[b'v', i], &l);
            }
            let ix = h.indexed();
            let mut got: Vec<_> = (0..10).map(|i| ix.get(i).unwrap()).collect();
            got.sort();
            let mut want: Vec<_> = h.iter().collect();
            want.sort();
            assert_eq!(got, want);
            assert_eq!(ix.get(10), None);
        }
    }
}
