//! A set's two representations, as Redis 7.0's: an [`IntSet`] (a sorted array
//! of integers, each as wide as the widest needs) while every member is the
//! decimal text of a 64-bit integer, a hash table otherwise.
//!
//! Redis converts an intset to a hash table when a member that is not an integer
//! is added, or when it would hold more than `set-max-intset-entries` members
//! (t_set.c, `setTypeAdd`); it never converts back. [`Set`](enum@Set) follows the
//! same rules, so `OBJECT ENCODING` answers what Redis 7.0 would — and Redis's
//! 7.0 test suite, the compatibility yardstick here, asserts `hashtable` for a
//! small set of strings (the listpack form of such sets came with Redis 7.2).
//!
//! Only the canonical text of an integer counts as one (`"7"`, not `"07"` or
//! `"+7"`), so that a member reads back byte for byte as it was written.
//!
//! The large form is a [`Table`] (members by position, with a hash index):
//! SPOP and SRANDMEMBER pick a member by index in O(1). An intset is indexed
//! too (it is an array), in ascending order.

use std::borrow::Cow;

use crate::encoding::EncodingLimits;
use crate::frame::parse_i64;
use crate::store::Bytes;

pub use super::table::Table;

/// A set in Redis's compact or large representation. See the module
/// documentation.
#[derive(Debug, Clone)]
#[allow(clippy::box_collection)]
pub enum Set {
    /// Integers, ascending.
    Ints(IntSet),
    /// A hash table, boxed so that a set is 16 bytes.
    Table(Box<Table>),
}

impl Default for Set {
    fn default() -> Self {
        Set::Ints(IntSet::default())
    }
}

/// The integer a member is, if it is the canonical text of one.
pub fn as_int(m: &[u8]) -> Option<i64> {
    if m.len() > 20 {
        return None;
    }
    parse_i64(m)
}

fn text(v: i64) -> Cow<'static, [u8]> {
    Cow::Owned(itoa::Buffer::new().format(v).as_bytes().to_vec())
}

impl Set {
    /// An empty set in the compact form (no allocation).
    pub fn new() -> Set {
        Set::default()
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match self {
            Set::Ints(i) => i.len(),
            Set::Table(t) => t.len(),
        }
    }

    /// True if there are no members.
    pub fn is_empty(&self) -> bool {
        match self {
            Set::Ints(i) => i.is_empty(),
            Set::Table(t) => t.is_empty(),
        }
    }

    /// True while the set is an intset.
    pub fn is_ints(&self) -> bool {
        matches!(self, Set::Ints(_))
    }

    /// The name `OBJECT ENCODING` gives this representation.
    pub fn encoding_name(&self) -> &'static str {
        match self {
            Set::Ints(_) => "intset",
            Set::Table(_) => "hashtable",
        }
    }

    /// True if `m` is a member.
    pub fn contains(&self, m: &[u8]) -> bool {
        match self {
            Set::Ints(i) => as_int(m).is_some_and(|v| i.find(v).is_ok()),
            Set::Table(t) => t.contains(m),
        }
    }

    /// Convert to the hash table form (no-op if already there).
    pub fn convert_to_table(&mut self) {
        if let Set::Ints(i) = self {
            let mut t = Table::with_capacity(i.len() + 1);
            for k in 0..i.len() {
                t.insert(&text(i.get(k)));
            }
            *self = Set::Table(Box::new(t));
        }
    }

    /// Add `m`; true if it was not a member. An intset becomes a hash table, as
    /// in Redis, when `m` is not an integer or the set would pass
    /// `limits.set_intset_entries` members.
    pub fn insert(&mut self, m: &[u8], limits: &EncodingLimits) -> bool {
        if let Set::Ints(i) = self {
            match as_int(m) {
                Some(v) => {
                    if !i.insert(v) {
                        return false;
                    }
                    if i.len() as u64 > limits.set_intset_entries {
                        self.convert_to_table();
                    }
                    return true;
                }
                None => self.convert_to_table(),
            }
        }
        match self {
            Set::Table(t) => t.insert(m),
            Set::Ints(_) => unreachable!("converted above"),
        }
    }

    /// Remove `m`; true if it was a member.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match self {
            Set::Ints(i) => as_int(m).is_some_and(|v| i.remove(v)),
            Set::Table(t) => t.remove(m),
        }
    }

    /// The member at index `k` (below `len()`): ascending for an intset,
    /// insertion order (disturbed by removals) for a table.
    pub fn get_index(&self, k: usize) -> Option<Cow<'_, [u8]>> {
        match self {
            Set::Ints(i) => (k < i.len()).then(|| text(i.get(k))),
            Set::Table(t) => t.get_index(k).map(Cow::Borrowed),
        }
    }

    /// Remove and return the member at index `k`.
    pub fn remove_index(&mut self, k: usize) -> Option<Bytes> {
        match self {
            Set::Ints(i) => (k < i.len()).then(|| Bytes::from(&*text(i.remove_index(k)))),
            Set::Table(t) => t.remove_index(k),
        }
    }

    /// Every member: ascending for an intset.
    pub fn iter(&self) -> impl Iterator<Item = Cow<'_, [u8]>> + '_ {
        (0..self.len()).filter_map(move |k| self.get_index(k))
    }

    /// Bytes of heap the set uses, roughly (MEMORY USAGE, INFO).
    pub fn heap_bytes(&self) -> usize {
        match self {
            Set::Ints(i) => i.0.len(),
            Set::Table(t) => t.heap_bytes(),
        }
    }
}

/// Redis's intset: integers in ascending order, each stored in the fewest bytes
/// (2, 4 or 8, the same for all) that hold the widest of them; one allocation
/// of a width byte and the little-endian values. The empty set allocates
/// nothing. Inserting and removing copy the array (O(n)), as Redis's `memmove`
/// does; the array is at most `set-max-intset-entries` long.
#[derive(Debug, Clone, Default)]
pub struct IntSet(Box<[u8]>);

fn width_for(v: i64) -> usize {
    if i16::try_from(v).is_ok() {
        2
    } else if i32::try_from(v).is_ok() {
        4
    } else {
        8
    }
}

impl IntSet {
    fn width(&self) -> usize {
        self.0.first().map_or(2, |&w| w as usize)
    }

    /// Number of integers.
    pub fn len(&self) -> usize {
        self.0.len().saturating_sub(1) / self.width()
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The integer at index `k` (below `len()`).
    pub fn get(&self, k: usize) -> i64 {
        let w = self.width();
        let b = &self.0[1 + k * w..1 + (k + 1) * w];
        match w {
            2 => i16::from_le_bytes([b[0], b[1]]) as i64,
            4 => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64,
            _ => i64::from_le_bytes(b.try_into().expect("8 bytes")),
        }
    }

    /// `Ok(index)` of `v`, or `Err(index)` where it would go.
    pub fn find(&self, v: i64) -> Result<usize, usize> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.get(mid).cmp(&v) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(mid),
            }
        }
        Err(lo)
    }

    /// Rebuild with `values` at width `w`.
    fn rebuild(w: usize, values: impl ExactSizeIterator<Item = i64>) -> IntSet {
        let n = values.len();
        if n == 0 {
            return IntSet::default();
        }
        let mut buf = Vec::with_capacity(1 + n * w);
        buf.push(w as u8);
        for v in values {
            match w {
                2 => buf.extend_from_slice(&(v as i16).to_le_bytes()),
                4 => buf.extend_from_slice(&(v as i32).to_le_bytes()),
                _ => buf.extend_from_slice(&v.to_le_bytes()),
            }
        }
        IntSet(buf.into_boxed_slice())
    }

    /// Add `v`; true if it was not there.
    pub fn insert(&mut self, v: i64) -> bool {
        let Err(at) = self.find(v) else {
            return false;
        };
        let w = self.width().max(width_for(v));
        let n = self.len();
        let values = (0..=n).map(|k| match k.cmp(&at) {
            std::cmp::Ordering::Less => self.get(k),
            std::cmp::Ordering::Equal => v,
            std::cmp::Ordering::Greater => self.get(k - 1),
        });
        *self = IntSet::rebuild(w, values.collect::<Vec<_>>().into_iter());
        true
    }

    /// Remove `v`; true if it was there.
    pub fn remove(&mut self, v: i64) -> bool {
        match self.find(v) {
            Ok(at) => {
                self.remove_index(at);
                true
            }
            Err(_) => false,
        }
    }

    /// Remove and return the integer at index `k` (below `len()`). The width
    /// stays, as Redis's intset never narrows.
    pub fn remove_index(&mut self, k: usize) -> i64 {
        let v = self.get(k);
        let w = self.width();
        let values: Vec<i64> = (0..self.len())
            .filter(|&j| j != k)
            .map(|j| self.get(j))
            .collect();
        *self = IntSet::rebuild(w, values.into_iter());
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(intset_entries: u64) -> EncodingLimits {
        EncodingLimits {
            set_intset_entries: intset_entries,
            ..EncodingLimits::default()
        }
    }

    fn members(s: &Set) -> Vec<String> {
        let mut m: Vec<String> = s
            .iter()
            .map(|m| String::from_utf8_lossy(&m).into_owned())
            .collect();
        m.sort();
        m
    }

    #[test]
    fn is_two_words() {
        assert_eq!(std::mem::size_of::<Set>(), 16);
    }

    #[test]
    fn integers_stay_an_intset_until_the_threshold() {
        let l = limits(4);
        let mut s = Set::new();
        for m in ["3", "-1", "70000", "-9223372036854775808"] {
            assert!(s.insert(m.as_bytes(), &l));
        }
        assert!(!s.insert(b"3", &l));
        assert_eq!(s.encoding_name(), "intset");
        let got: Vec<Vec<u8>> = s.iter().map(|m| m.into_owned()).collect();
        assert_eq!(
            got,
            [&b"-9223372036854775808"[..], b"-1", b"3", b"70000"].map(|m| m.to_vec())
        );
        assert!(s.contains(b"70000") && !s.contains(b"7"));
        assert!(s.insert(b"5", &l));
        assert_eq!(s.encoding_name(), "hashtable");
        assert_eq!(
            members(&s),
            ["-1", "-9223372036854775808", "3", "5", "70000"]
        );
    }

    #[test]
    fn a_non_canonical_integer_is_a_string() {
        let l = limits(512);
        for m in ["07", "+7", "-0", "", "9223372036854775808", " 7"] {
            let mut s = Set::new();
            s.insert(b"1", &l);
            s.insert(m.as_bytes(), &l);
            assert_eq!(s.encoding_name(), "hashtable", "{m:?}");
            assert!(s.contains(m.as_bytes()) && !s.contains(b"7"));
        }
    }

    #[test]
    fn widths_grow_and_removal_keeps_order() {
        let mut i = IntSet::default();
        assert!(i.is_empty() && i.0.is_empty());
        for v in [5, -3, 40000, 1 << 40, -7] {
            assert!(i.insert(v));
        }
        assert_eq!(i.width(), 8);
        assert_eq!(i.0.len(), 1 + 5 * 8);
        assert!(i.remove(40000) && !i.remove(40000));
        let got: Vec<i64> = (0..i.len()).map(|k| i.get(k)).collect();
        assert_eq!(got, [-7, -3, 5, 1 << 40]);
        let mut small = IntSet::default();
        small.insert(1);
        small.insert(2);
        assert_eq!(small.0.len(), 1 + 2 * 2);
    }

    #[test]
    fn both_forms_answer_alike() {
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let (small, large) = (limits(512), limits(0));
        let (mut a, mut b) = (Set::new(), Set::new());
        for _ in 0..2000 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let m = ((rng % 64) as i64 - 32).to_string();
            if rng.is_multiple_of(3) {
                assert_eq!(a.remove(m.as_bytes()), b.remove(m.as_bytes()));
            } else {
                assert_eq!(
                    a.insert(m.as_bytes(), &small),
                    b.insert(m.as_bytes(), &large)
                );
            }
            assert_eq!(a.len(), b.len());
        }
        assert_eq!(a.encoding_name(), "intset");
        assert_eq!(b.encoding_name(), "hashtable");
        assert_eq!(members(&a), members(&b));
    }
}
