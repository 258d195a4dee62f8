//! A list: one packed node while it is small, a ring buffer of elements beyond.
//!
//! Redis 7.0 keeps every list as a quicklist, a linked list of listpack nodes,
//! and `OBJECT ENCODING` always says `quicklist`; a short list is a quicklist of
//! one node. Here a list is [`List::Pack`] (one [`Listpack`]) while its elements
//! would fit in one quicklist node under `list-max-listpack-size` (see [`Fill`]),
//! and [`List::Deque`] (a `VecDeque` of boxed elements: O(1) at both ends and by
//! index) once an insert would pass that. It never goes back: a list that grew
//! large once is likely to again, and converting back and forth at the boundary
//! would cost a copy of the list per push/pop.
//!
//! One element longer than the node limit (8 KiB with the default of -2) makes
//! the list a `Deque` at once, as it would need a node of its own in Redis.

use std::collections::VecDeque;

use super::listpack::{self, Listpack};

/// A binary-safe element (the store's `Bytes`).
type Bytes = Box<[u8]>;

/// Redis's `SIZE_SAFETY_LIMIT`: a node holding a positive number of entries is
/// still kept to this many bytes.
const SAFETY_LIMIT: usize = 8192;

/// Node sizes for `list-max-listpack-size` -1 to -5.
const NODE_BYTES: [usize; 5] = [4096, 8192, 16384, 32768, 65536];

/// How much one quicklist node may hold, from `list-max-listpack-size`
/// (`EncodingLimits::list_size`): a positive number is most entries (and at most
/// 8 KiB, as Redis's safety limit), 0 acts as 1, and -1 to -5 are 4 KiB to 64 KiB
/// of listpack bytes (below -5 is -5, as Redis clamps it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fill {
    max_entries: usize,
    max_bytes: usize,
}

impl Fill {
    /// The node limits that `list-max-listpack-size` = `list_size` sets.
    pub fn new(list_size: i64) -> Fill {
        if list_size >= 0 {
            Fill {
                max_entries: usize::try_from(list_size.max(1)).unwrap_or(usize::MAX),
                max_bytes: SAFETY_LIMIT,
            }
        } else {
            let level = list_size.unsigned_abs().min(5) as usize;
            Fill {
                max_entries: usize::MAX,
                max_bytes: NODE_BYTES[level - 1],
            }
        }
    }

    /// True if a node of `entries` entries and `bytes` bytes is within the limits.
    fn allows(&self, entries: usize, bytes: usize) -> bool {
        entries <= self.max_entries && bytes <= self.max_bytes
    }
}

impl Default for Fill {
    /// Redis's default, -2: 8 KiB nodes.
    fn default() -> Fill {
        Fill::new(-2)
    }
}

/// Bytes one more element of `len` bytes adds to a node: its length plus Redis's
/// estimate of the entry's header and back-length (`_quicklistNodeAllowInsert`).
fn entry_cost(len: usize) -> usize {
    let back = if len < 254 { 1 } else { 5 };
    let head = if len < 64 {
        1
    } else if len < 16384 {
        2
    } else {
        5
    };
    len + back + head
}

/// A list of byte strings. See the module documentation.
#[derive(Debug, Clone)]
#[allow(clippy::box_collection)]
pub enum List {
    /// Small: one listpack (a single quicklist node in Redis's terms).
    Pack(Listpack),
    /// Large: a ring buffer of elements, boxed so the list stays 16 bytes.
    Deque(Box<VecDeque<Bytes>>),
}

impl Default for List {
    fn default() -> List {
        List::new()
    }
}

impl List {
    /// An empty list (packed, no allocation).
    pub fn new() -> List {
        List::Pack(Listpack::new())
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            List::Pack(lp) => lp.len(),
            List::Deque(d) => d.len(),
        }
    }

    /// True if there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True while the list is one packed node.
    #[cfg(test)]
    pub fn is_packed(&self) -> bool {
        matches!(self, List::Pack(_))
    }

    /// Approximate bytes of heap the list holds, for memory accounting.
    pub fn memory(&self) -> usize {
        const ELEM: usize = 32;
        match self {
            List::Pack(lp) => lp.heap_bytes(),
            List::Deque(d) => d.iter().map(|e| e.len() + ELEM).sum(),
        }
    }

    /// Turn a packed list into a deque (no-op for a deque).
    fn unpack(&mut self) -> &mut VecDeque<Bytes> {
        if let List::Pack(lp) = self {
            let d: VecDeque<Bytes> = lp.iter().map(Bytes::from).collect();
            *self = List::Deque(Box::new(d));
        }
        match self {
            List::Deque(d) => d,
            List::Pack(_) => unreachable!("just unpacked"),
        }
    }

    /// Unpack if adding one element of `len` bytes would outgrow the node.
    fn make_room(&mut self, len: usize, fill: Fill) {
        if let List::Pack(lp) = self {
            if !fill.allows(lp.len() + 1, lp.heap_bytes() + entry_cost(len)) {
                self.unpack();
            }
        }
    }

    /// Add `v` at the front (`front`) or the back.
    pub fn push(&mut self, v: &[u8], front: bool, fill: Fill) {
        self.make_room(v.len(), fill);
        match (self, front) {
            (List::Pack(lp), true) => lp.push_front(v),
            (List::Pack(lp), false) => lp.push_back(v),
            (List::Deque(d), true) => d.push_front(v.into()),
            (List::Deque(d), false) => d.push_back(v.into()),
        }
    }

    /// Add `v` at the front.
    #[cfg(test)]
    pub fn push_front(&mut self, v: &[u8], fill: Fill) {
        self.push(v, true, fill)
    }

    /// Add `v` at the back.
    pub fn push_back(&mut self, v: &[u8], fill: Fill) {
        self.push(v, false, fill)
    }

    /// Remove and return the element at the front (`front`) or the back.
    pub fn pop(&mut self, front: bool) -> Option<Bytes> {
        match (self, front) {
            (List::Pack(lp), true) => lp.pop_front(),
            (List::Pack(lp), false) => lp.pop_back(),
            (List::Deque(d), true) => d.pop_front(),
            (List::Deque(d), false) => d.pop_back(),
        }
    }

    /// The element at index `i` (from 0 at the front).
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        match self {
            List::Pack(lp) => lp.nth(i).map(|p| lp.get(p)),
            List::Deque(d) => d.get(i).map(|e| &**e),
        }
    }

    /// Replace the element at index `i` with `v`; false if there is none.
    pub fn set(&mut self, i: usize, v: &[u8], fill: Fill) -> bool {
        if i >= self.len() {
            return false;
        }
        if let List::Pack(lp) = self {
            let old = lp.nth(i).map_or(0, |p| lp.get(p).len());
            let bytes =
                lp.heap_bytes() - entry_cost(old).min(lp.heap_bytes()) + entry_cost(v.len());
            if !fill.allows(lp.len(), bytes) {
                self.unpack();
            }
        }
        match self {
            List::Pack(lp) => match lp.nth(i) {
                Some(p) => {
                    lp.replace(p, v);
                    true
                }
                None => false,
            },
            List::Deque(d) => match d.get_mut(i) {
                Some(slot) => {
                    *slot = v.into();
                    true
                }
                None => false,
            },
        }
    }

    /// The elements, front to back (`.rev()` for back to front).
    pub fn iter(&self) -> Iter<'_> {
        match self {
            List::Pack(lp) => Iter::Pack(lp.iter()),
            List::Deque(d) => Iter::Deque(d.iter()),
        }
    }

    /// The elements at indices `start..=end` (both within the list; empty if
    /// `start > end`).
    pub fn range(&self, start: usize, end: usize) -> std::iter::Take<std::iter::Skip<Iter<'_>>> {
        let n = (end + 1).saturating_sub(start);
        self.iter().skip(start).take(n)
    }

    /// Insert `v` before (or, with `after`, after) the first element equal to
    /// `pivot`, searching from the front (LINSERT). False if there is none.
    pub fn insert(&mut self, pivot: &[u8], v: &[u8], after: bool, fill: Fill) -> bool {
        let Some(i) = self.iter().position(|e| e == pivot) else {
            return false;
        };
        self.make_room(v.len(), fill);
        let at = if after { i + 1 } else { i };
        match self {
            List::Pack(lp) => {
                let before = lp.nth(at);
                lp.insert(before, v);
            }
            List::Deque(d) => d.insert(at, v.into()),
        }
        true
    }

    /// Remove elements equal to `v` (LREM): the first `count` of them from the
    /// front for `count > 0`, the last `-count` for `count < 0`, all for 0.
    /// Returns how many were removed.
    pub fn remove(&mut self, v: &[u8], count: i64) -> usize {
        let total = self.iter().filter(|e| *e == v).count();
        let limit = match count {
            0 => usize::MAX,
            c => usize::try_from(c.unsigned_abs()).unwrap_or(usize::MAX),
        };
        let n = total.min(limit);
        if n == 0 {
            return 0;
        }
        // The matches are numbered 0.. from the front; those in first..first+n go.
        let first = if count >= 0 { 0 } else { total - n };
        let mut k = 0;
        let mut keep = |e: &[u8]| {
            if e != v {
                return true;
            }
            let gone = (first..first + n).contains(&k);
            k += 1;
            !gone
        };
        match self {
            List::Pack(lp) => *lp = lp.iter().filter(|e| keep(e)).collect(),
            List::Deque(d) => d.retain(|e| keep(e)),
        }
        n
    }

    /// Keep only the elements at indices `start..=end` (`None`: none) (LTRIM).
    pub fn trim(&mut self, keep: Option<(usize, usize)>) {
        let len = self.len();
        let Some((start, end)) = keep.filter(|&(s, e)| s <= e && s < len) else {
            *self = List::new();
            return;
        };
        let end = end.min(len - 1);
        match self {
            List::Pack(lp) => {
                if let Some(p) = lp.nth(end + 1) {
                    lp.remove(p, len - end - 1);
                }
                if let (true, Some(p)) = (start > 0, lp.first()) {
                    lp.remove(p, start);
                }
            }
            List::Deque(d) => {
                d.truncate(end + 1);
                d.drain(..start);
            }
        }
    }

    /// The indices of elements equal to `v` (LPOS): skipping the first
    /// `|rank| - 1` matches, searching from the back for a negative `rank`
    /// (never 0), at most `count` of them (0: all), looking at no more than
    /// `maxlen` elements (0: all). Indices count from the front either way.
    pub fn positions(&self, v: &[u8], rank: i64, count: usize, maxlen: usize) -> Vec<usize> {
        let len = self.len();
        let scan = if maxlen == 0 { len } else { maxlen.min(len) };
        let skip = usize::try_from(rank.unsigned_abs().saturating_sub(1)).unwrap_or(usize::MAX);
        let want = if count == 0 { usize::MAX } else { count };
        fn pick<'a>(
            it: impl Iterator<Item = (usize, &'a [u8])>,
            v: &[u8],
            skip: usize,
            want: usize,
        ) -> Vec<usize> {
            it.filter(|(_, e)| *e == v)
                .skip(skip)
                .take(want)
                .map(|(i, _)| i)
                .collect()
        }
        if rank >= 0 {
            pick(self.iter().enumerate().take(scan), v, skip, want)
        } else {
            let back = self.iter().rev().enumerate().take(scan);
            pick(back.map(|(i, e)| (len - 1 - i, e)), v, skip, want)
        }
    }
}

/// The elements of a [`List`], from either end.
#[derive(Clone)]
pub enum Iter<'a> {
    /// Over a packed list.
    Pack(listpack::Iter<'a>),
    /// Over a deque.
    Deque(std::collections::vec_deque::Iter<'a, Bytes>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        match self {
            Iter::Pack(it) => it.next(),
            Iter::Deque(it) => it.next().map(|e| &**e),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            Iter::Pack(it) => it.size_hint(),
            Iter::Deque(it) => it.size_hint(),
        }
    }

    fn nth(&mut self, n: usize) -> Option<&'a [u8]> {
        match self {
            Iter::Pack(it) => it.nth(n),
            Iter::Deque(it) => it.nth(n).map(|e| &**e),
        }
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Pack(it) => it.next_back(),
            Iter::Deque(it) => it.next_back().map(|e| &**e),
        }
    }

    fn nth_back(&mut self, n: usize) -> Option<Self::Item> {
        match self {
            Iter::Pack(it) => it.nth_back(n),
            Iter::Deque(it) => it.nth_back(n).map(|e| &**e),
        }
    }
}

impl ExactSizeIterator for Iter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sixteen_bytes() {
        assert_eq!(std::mem::size_of::<List>(), 16);
    }

    #[test]
    fn fill_limits() {
        assert_eq!(
            Fill::new(-2),
            Fill {
                max_entries: usize::MAX,
                max_bytes: 8192
            }
        );
        assert_eq!(Fill::new(-9), Fill::new(-5));
        assert_eq!(Fill::new(0), Fill::new(1));
        assert_eq!(Fill::new(5).max_entries, 5);
    }

    #[test]
    fn packs_until_the_node_is_full() {
        let fill = Fill::new(3);
        let mut l = List::new();
        for v in ["a", "b", "c"] {
            l.push_back(v.as_bytes(), fill);
        }
        assert!(l.is_packed());
        l.push_front(b"z", fill);
        assert!(!l.is_packed());
        let all: Vec<&[u8]> = l.iter().collect();
        assert_eq!(all, [&b"z"[..], b"a", b"b", b"c"]);
        // One element above the byte limit unpacks at once.
        let mut l = List::new();
        l.push_back(&[b'x'; 9000], Fill::default());
        assert!(!l.is_packed());
        // So does an LSET that outgrows it.
        let mut l = List::new();
        l.push_back(b"a", Fill::default());
        assert!(l.set(0, &[b'x'; 9000], Fill::default()));
        assert!(!l.is_packed());
        assert_eq!(l.get(0).map(<[u8]>::len), Some(9000));
    }

    #[derive(Debug, Clone)]
    enum Op {
        Push(u8, bool),
        Pop(bool),
        Set(usize, u8),
        Insert(u8, u8, bool),
        Remove(u8, i64),
        Trim(usize, usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0..4u8, any::<bool>()).prop_map(|(v, f)| Op::Push(v, f)),
            any::<bool>().prop_map(Op::Pop),
            (0..12usize, 0..4u8).prop_map(|(i, v)| Op::Set(i, v)),
            (0..4u8, 0..4u8, any::<bool>()).prop_map(|(p, v, a)| Op::Insert(p, v, a)),
            (0..4u8, -3..3i64).prop_map(|(v, c)| Op::Remove(v, c)),
            (0..12usize, 0..12usize).prop_map(|(s, e)| Op::Trim(s, e)),
        ]
    }

    fn elem(v: u8) -> Vec<u8> {
        // Every fourth value is long, to cross the byte limits too.
        if v == 3 {
            vec![b'L'; 3000]
        } else {
            vec![b'a' + v]
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Packed or not, the list holds what a plain `VecDeque` holds.
        #[test]
        fn behaves_like_a_deque(ops in proptest::collection::vec(op(), 0..60), size in -3..6i64) {
            let fill = Fill::new(size);
            let mut l = List::new();
            let mut m: VecDeque<Vec<u8>> = VecDeque::new();
            for op in ops {
                match op {
                    Op::Push(v, f) => {
                        l.push(&elem(v), f, fill);
                        if f { m.push_front(elem(v)) } else { m.push_back(elem(v)) }
                    }
                    Op::Pop(f) => {
                        let want = if f { m.pop_front() } else { m.pop_back() };
                        prop_assert_eq!(l.pop(f).map(Vec::from), want);
                    }
                    Op::Set(i, v) => {
                        prop_assert_eq!(l.set(i, &elem(v), fill), i < m.len());
                        if let Some(s) = m.get_mut(i) { *s = elem(v) }
                    }
                    Op::Insert(p, v, after) => {
                        let at = m.iter().position(|e| *e == elem(p));
                        prop_assert_eq!(l.insert(&elem(p), &elem(v), after, fill), at.is_some());
                        if let Some(i) = at { m.insert(if after { i + 1 } else { i }, elem(v)) }
                    }
                    Op::Remove(v, c) => {
                        let want: Vec<usize> = {
                            let idx: Vec<usize> = (0..m.len()).filter(|&i| m[i] == elem(v)).collect();
                            let lim = if c == 0 { idx.len() } else { (c.unsigned_abs() as usize).min(idx.len()) };
                            if c >= 0 { idx[..lim].to_vec() } else { idx[idx.len() - lim..].to_vec() }
                        };
                        prop_assert_eq!(l.remove(&elem(v), c), want.len());
                        for i in want.into_iter().rev() { m.remove(i); }
                    }
                    Op::Trim(s, e) => {
                        l.trim(Some((s, e)));
                        if s <= e && s < m.len() {
                            m.truncate(e + 1);
                            m.drain(..s);
                        } else {
                            m.clear();
                        }
                    }
                }
                prop_assert_eq!(l.len(), m.len());
                let got: Vec<&[u8]> = l.iter().collect();
                let want: Vec<&[u8]> = m.iter().map(|e| &e[..]).collect();
                prop_assert_eq!(&got, &want);
                let back: Vec<&[u8]> = l.iter().rev().collect();
                prop_assert_eq!(back, want.iter().rev().copied().collect::<Vec<_>>());
                for (i, e) in want.iter().enumerate() {
                    prop_assert_eq!(l.get(i), Some(*e));
                }
                if !m.is_empty() {
                    let s = m.len() / 3;
                    let r: Vec<&[u8]> = l.range(s, m.len() - 1).collect();
                    prop_assert_eq!(&r[..], &want[s..]);
                }
                if l.is_packed() {
                    prop_assert!(l.len() <= fill.max_entries);
                }
            }
        }
    }

    #[test]
    fn positions_follow_lpos() {
        let mut l = List::new();
        for v in ["a", "b", "c", "1", "2", "3", "c", "c"] {
            l.push_back(v.as_bytes(), Fill::default());
        }
        assert_eq!(l.positions(b"c", 1, 1, 0), [2]);
        assert_eq!(l.positions(b"c", 2, 1, 0), [6]);
        assert_eq!(l.positions(b"c", 4, 1, 0), Vec::<usize>::new());
        assert_eq!(l.positions(b"c", -1, 1, 0), [7]);
        assert_eq!(l.positions(b"c", -2, 1, 0), [6]);
        assert_eq!(l.positions(b"c", 1, 0, 0), [2, 6, 7]);
        assert_eq!(l.positions(b"c", -1, 2, 0), [7, 6]);
        assert_eq!(l.positions(b"c", 1, 0, 3), [2]);
        assert_eq!(l.positions(b"c", -1, 0, 3), [7, 6]);
        assert_eq!(l.positions(b"c", 2, 0, 7), [6]);
        assert_eq!(l.positions(b"c", i64::MIN, 0, 0), Vec::<usize>::new());
    }
}
