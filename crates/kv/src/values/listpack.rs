//! A packed sequence of byte strings in one allocation: Redis's listpack in spirit.
//!
//! Small collections are kept as one of these (a hash's fields and values
//! alternating, a sorted set's members and scores, a node of a list), because a
//! separate allocation per element costs more than the element: Redis's compact
//! encodings are most of why it is small.
//!
//! Layout: a 4-byte little-endian entry count, then the entries back to back. An
//! entry is its length as a LEB128 varint (one byte below 128), the bytes, and
//! then the size of those two again, written backwards ("backlen"), so the entry
//! before any position can be found from the end too: both ends are O(1), as a
//! list needs. An empty listpack owns no allocation at all.
//!
//! The buffer is grown exactly (`reserve_exact`), as Redis reallocates its
//! listpacks to their size: spare capacity would cost more than the reallocation
//! saves at these sizes. Positions ([`Pos`]) are byte offsets; any change to the
//! listpack may move entries, so a position is valid only until the next change
//! (the changing methods return the position they leave valid).

/// The byte offset of one entry in a [`Listpack`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos(usize);

/// Bytes of the entry-count header.
const HEADER: usize = 4;

/// A packed sequence of byte strings. See the module documentation.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Listpack {
    /// A boxed slice, not a `Vec`: 16 bytes, so that a collection's compact form
    /// and a pointer to its large form fit in 16 bytes and `Value` stays 24.
    buf: Box<[u8]>,
}

impl std::fmt::Debug for Listpack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|e| String::from_utf8_lossy(e)))
            .finish()
    }
}

/// Bytes a LEB128 varint of `n` takes.
fn varint_len(n: usize) -> usize {
    let bits = usize::BITS - (n | 1).leading_zeros();
    bits.div_ceil(7) as usize
}

/// Bytes one entry of `len` data bytes takes, all told.
fn entry_size(len: usize) -> usize {
    let front = varint_len(len) + len;
    front + varint_len(front)
}

/// Write `v` as one entry into `dst` (exactly [`entry_size`] bytes).
fn encode(dst: &mut [u8], v: &[u8]) {
    let mut i = 0;
    let mut n = v.len();
    loop {
        let low = (n & 0x7f) as u8;
        n >>= 7;
        dst[i] = if n == 0 { low } else { low | 0x80 };
        i += 1;
        if n == 0 {
            break;
        }
    }
    dst[i..i + v.len()].copy_from_slice(v);
    i += v.len();
    // The backlen: the same varint of the front's size, bytes reversed, so it
    // reads from its last byte leftwards.
    // Its rightmost byte holds the low 7 bits; every byte but the leftmost
    // carries a continuation bit.
    let mut n = i;
    for k in (0..varint_len(i)).rev() {
        let low = (n & 0x7f) as u8;
        n >>= 7;
        dst[i + k] = if k == 0 { low } else { low | 0x80 };
    }
}

impl Listpack {
    /// An empty listpack (no allocation).
    pub fn new() -> Listpack {
        Listpack {
            buf: Box::default(),
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        match self.buf.get(..HEADER) {
            Some(h) => u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize,
            None => 0,
        }
    }

    /// True if there are no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes allocated, for memory accounting.
    pub fn heap_bytes(&self) -> usize {
        self.buf.len()
    }

    /// Change the buffer as a `Vec`; it is boxed again at its exact length (a
    /// reallocation only if `f` left spare capacity, which the callers avoid with
    /// `reserve_exact`).
    fn edit<R>(&mut self, f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
        let mut v = std::mem::take(&mut self.buf).into_vec();
        let r = f(&mut v);
        self.buf = v.into_boxed_slice();
        r
    }

    fn set_len(&mut self, n: usize) {
        let n = u32::try_from(n).expect("a listpack holds fewer than 2^32 entries");
        self.buf[..HEADER].copy_from_slice(&n.to_le_bytes());
    }

    /// Data length and the offset of the data, for the entry at `p`.
    fn head(&self, p: usize) -> (usize, usize) {
        let mut n = 0usize;
        let mut shift = 0;
        let mut i = p;
        loop {
            let b = self.buf[i];
            n |= usize::from(b & 0x7f) << shift;
            i += 1;
            if b & 0x80 == 0 {
                return (n, i);
            }
            shift += 7;
        }
    }

    /// The offset just past the entry at `p`.
    fn end_of(&self, p: usize) -> usize {
        let (len, data) = self.head(p);
        let front = data + len - p;
        data + len + varint_len(front)
    }

    /// The offset of the entry that ends at `end`.
    fn start_before(&self, end: usize) -> usize {
        let mut n = 0usize;
        let mut shift = 0;
        let mut i = end;
        loop {
            i -= 1;
            let b = self.buf[i];
            n |= usize::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return i - n;
            }
            shift += 7;
        }
    }

    /// The first entry.
    pub fn first(&self) -> Option<Pos> {
        (!self.is_empty()).then_some(Pos(HEADER))
    }

    /// The last entry.
    pub fn last(&self) -> Option<Pos> {
        (!self.is_empty()).then(|| Pos(self.start_before(self.buf.len())))
    }

    /// The entry after `p`.
    pub fn next(&self, p: Pos) -> Option<Pos> {
        let e = self.end_of(p.0);
        (e < self.buf.len()).then_some(Pos(e))
    }

    /// The entry before `p`.
    pub fn prev(&self, p: Pos) -> Option<Pos> {
        (p.0 > HEADER).then(|| Pos(self.start_before(p.0)))
    }

    /// The bytes of the entry at `p`.
    pub fn get(&self, p: Pos) -> &[u8] {
        let (len, data) = self.head(p.0);
        &self.buf[data..data + len]
    }

    /// The `i`th entry (from 0), walking from the nearer end.
    pub fn nth(&self, i: usize) -> Option<Pos> {
        let n = self.len();
        if i >= n {
            return None;
        }
        if i <= n / 2 {
            let mut p = Pos(HEADER);
            for _ in 0..i {
                p = Pos(self.end_of(p.0));
            }
            Some(p)
        } else {
            let mut p = Pos(self.buf.len());
            for _ in i..n {
                p = Pos(self.start_before(p.0));
            }
            Some(p)
        }
    }

    /// The first entry equal to `v` among entries 0, `step`, 2·`step`, … (a step
    /// of 2 searches a hash's fields and skips its values).
    pub fn find(&self, v: &[u8], step: usize) -> Option<Pos> {
        let mut p = HEADER;
        let end = self.buf.len();
        if self.is_empty() {
            return None;
        }
        while p < end {
            let (len, data) = self.head(p);
            if self.buf[data..data + len] == *v {
                return Some(Pos(p));
            }
            p = data + len + varint_len(data + len - p);
            for _ in 1..step {
                if p >= end {
                    return None;
                }
                p = self.end_of(p);
            }
        }
        None
    }

    /// The entries, front to back (and back to front with `.rev()`).
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            lp: self,
            front: HEADER,
            back: self.buf.len(),
            left: self.len(),
        }
    }

    /// Make room for `size` bytes at `at`, moving what follows, and count one
    /// more entry.
    fn open(&mut self, at: usize, size: usize) {
        self.edit(|buf| {
            if buf.is_empty() {
                buf.reserve_exact(HEADER + size);
                buf.extend_from_slice(&[0; HEADER]);
            } else {
                buf.reserve_exact(size);
            }
            let old = buf.len();
            buf.resize(old + size, 0);
            buf.copy_within(at..old, at + size);
        });
        let n = self.len();
        self.set_len(n + 1);
    }

    /// Insert `v` before the entry at `before` (`None`: at the end); returns
    /// the new entry's position.
    pub fn insert(&mut self, before: Option<Pos>, v: &[u8]) -> Pos {
        let at = match before {
            Some(p) => p.0,
            None => self.buf.len().max(HEADER),
        };
        let size = entry_size(v.len());
        self.open(at, size);
        encode(&mut self.buf[at..at + size], v);
        Pos(at)
    }

    /// Append `v`.
    pub fn push_back(&mut self, v: &[u8]) {
        self.insert(None, v);
    }

    /// Prepend `v`.
    pub fn push_front(&mut self, v: &[u8]) {
        self.insert(self.first(), v);
    }

    /// Replace the entry at `p` with `v`; returns its (unchanged) position.
    pub fn replace(&mut self, p: Pos, v: &[u8]) -> Pos {
        let end = self.end_of(p.0);
        let old = end - p.0;
        let new = entry_size(v.len());
        if new != old {
            self.edit(|buf| {
                if new > old {
                    buf.reserve_exact(new - old);
                }
                buf.splice(p.0..end, std::iter::repeat_n(0, new));
            });
        }
        encode(&mut self.buf[p.0..p.0 + new], v);
        p
    }

    /// Remove `n` entries starting at `p` (fewer if the listpack ends first).
    pub fn remove(&mut self, p: Pos, n: usize) {
        let mut end = p.0;
        let mut removed = 0;
        while removed < n && end < self.buf.len() {
            end = self.end_of(end);
            removed += 1;
        }
        let left = self.len() - removed;
        if left == 0 {
            self.buf = Box::default();
        } else {
            self.edit(|buf| {
                buf.drain(p.0..end);
            });
            self.set_len(left);
        }
    }

    /// Remove and return the first entry.
    pub fn pop_front(&mut self) -> Option<Box<[u8]>> {
        let p = self.first()?;
        let v: Box<[u8]> = self.get(p).into();
        self.remove(p, 1);
        Some(v)
    }

    /// Remove and return the last entry.
    pub fn pop_back(&mut self) -> Option<Box<[u8]>> {
        let p = self.last()?;
        let v: Box<[u8]> = self.get(p).into();
        self.remove(p, 1);
        Some(v)
    }
}

impl<'a> FromIterator<&'a [u8]> for Listpack {
    fn from_iter<I: IntoIterator<Item = &'a [u8]>>(iter: I) -> Listpack {
        let mut buf = vec![0; HEADER];
        let mut n = 0usize;
        for v in iter {
            let at = buf.len();
            let size = entry_size(v.len());
            buf.resize(at + size, 0);
            encode(&mut buf[at..], v);
            n += 1;
        }
        if n == 0 {
            return Listpack::new();
        }
        let mut lp = Listpack {
            buf: buf.into_boxed_slice(),
        };
        lp.set_len(n);
        lp
    }
}

/// The entries of a [`Listpack`], from either end.
#[derive(Clone)]
pub struct Iter<'a> {
    lp: &'a Listpack,
    front: usize,
    back: usize,
    left: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let (len, data) = self.lp.head(self.front);
        self.front = data + len + varint_len(data + len - self.front);
        Some(&self.lp.buf[data..data + len])
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        self.back = self.lp.start_before(self.back);
        Some(self.lp.get(Pos(self.back)))
    }
}

impl ExactSizeIterator for Iter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn is_two_words() {
        assert_eq!(std::mem::size_of::<Listpack>(), 16);
    }

    #[test]
    fn empty_owns_nothing() {
        let mut lp = Listpack::new();
        assert_eq!(lp.len(), 0);
        assert_eq!(lp.heap_bytes(), 0);
        assert_eq!(lp.first(), None);
        assert_eq!(lp.pop_back(), None);
        lp.push_back(b"a");
        assert_eq!(lp.pop_front().as_deref(), Some(&b"a"[..]));
        assert_eq!(lp.heap_bytes(), 0);
    }

    #[test]
    fn small_entries_cost_two_bytes() {
        let lp: Listpack = [&b"f:1"[..], b"v"].into_iter().collect();
        assert_eq!(lp.heap_bytes(), HEADER + 5 + 3);
        let long = [7u8; 200];
        let lp: Listpack = [&long[..]].into_iter().collect();
        // 2-byte length, 200 bytes, 2-byte backlen (202 > 127).
        assert_eq!(lp.heap_bytes(), HEADER + 204);
        assert_eq!(lp.iter().next_back(), Some(&long[..]));
    }

    #[test]
    fn find_with_a_step_skips_values() {
        let lp: Listpack = [&b"a"[..], b"b", b"b", b"c"].into_iter().collect();
        assert_eq!(lp.find(b"b", 2), lp.nth(2));
        assert_eq!(lp.find(b"b", 1), lp.nth(1));
        assert_eq!(lp.find(b"c", 2), None);
        assert_eq!(lp.find(b"a", 2), lp.first());
    }

    #[derive(Debug, Clone)]
    enum Op {
        PushBack(Vec<u8>),
        PushFront(Vec<u8>),
        PopBack,
        PopFront,
        Insert(usize, Vec<u8>),
        Replace(usize, Vec<u8>),
        Remove(usize, usize),
    }

    fn value() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..4),
            proptest::collection::vec(any::<u8>(), 120..140),
            proptest::collection::vec(any::<u8>(), 16380..16390),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            value().prop_map(Op::PushBack),
            value().prop_map(Op::PushFront),
            Just(Op::PopBack),
            Just(Op::PopFront),
            (any::<usize>(), value()).prop_map(|(i, v)| Op::Insert(i, v)),
            (any::<usize>(), value()).prop_map(|(i, v)| Op::Replace(i, v)),
            (any::<usize>(), 0..4usize).prop_map(|(i, n)| Op::Remove(i, n)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Any sequence of changes leaves the listpack holding what a
        /// `VecDeque` holds, read from either end or by index.
        #[test]
        fn behaves_like_a_deque(ops in proptest::collection::vec(op(), 0..40)) {
            let mut lp = Listpack::new();
            let mut model: std::collections::VecDeque<Vec<u8>> = Default::default();
            for op in ops {
                match op {
                    Op::PushBack(v) => { lp.push_back(&v); model.push_back(v); }
                    Op::PushFront(v) => { lp.push_front(&v); model.push_front(v); }
                    Op::PopBack => prop_assert_eq!(lp.pop_back().map(Vec::from), model.pop_back()),
                    Op::PopFront => prop_assert_eq!(lp.pop_front().map(Vec::from), model.pop_front()),
                    Op::Insert(i, v) => {
                        let i = i % (model.len() + 1);
                        let p = lp.insert(lp.nth(i), &v);
                        prop_assert_eq!(lp.get(p), &v[..]);
                        model.insert(i, v);
                    }
                    Op::Replace(i, v) => if !model.is_empty() {
                        let i = i % model.len();
                        let p = lp.nth(i).unwrap();
                        lp.replace(p, &v);
                        model[i] = v;
                    },
                    Op::Remove(i, n) => if !model.is_empty() {
                        let i = i % model.len();
                        lp.remove(lp.nth(i).unwrap(), n);
                        let n = n.min(model.len() - i);
                        model.drain(i..i + n);
                    },
                }
                prop_assert_eq!(lp.len(), model.len());
                let fwd: Vec<&[u8]> = lp.iter().collect();
                let want: Vec<&[u8]> = model.iter().map(|v| &v[..]).collect();
                prop_assert_eq!(&fwd, &want);
                let back: Vec<&[u8]> = lp.iter().rev().collect();
                let want_back: Vec<&[u8]> = model.iter().rev().map(|v| &v[..]).collect();
                prop_assert_eq!(back, want_back);
                for (i, v) in model.iter().enumerate() {
                    prop_assert_eq!(lp.get(lp.nth(i).unwrap()), &v[..]);
                }
                if let (Some(f), Some(l)) = (lp.first(), lp.last()) {
                    prop_assert_eq!(lp.prev(f), None);
                    prop_assert_eq!(lp.next(l), None);
                }
                let collected: Listpack = want.iter().copied().collect();
                prop_assert_eq!(&collected.iter().collect::<Vec<_>>(), &want);
            }
        }
    }
}
