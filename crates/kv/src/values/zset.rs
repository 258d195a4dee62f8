//! Sorted sets in Redis's two encodings.
//!
//! A small sorted set is one [`Listpack`] holding member, score, member, score, …
//! ordered by (score, member), as Redis's listpack encoding is: a score is written
//! as the shortest text that parses back to the same `f64`. It is searched
//! linearly, which at the default 128 members beats any index. Past
//! `zset-max-listpack-entries` members, or once a member is longer than
//! `zset-max-listpack-value` bytes, it becomes a [`SkipForm`] (a hash of scores
//! plus an ordered set, playing the part of Redis's skiplist) and stays one.
//!
//! Both forms answer the same API; the iterators ([`Iter`]) are one type over
//! either form, double-ended, in Redis's order.

use std::collections::{btree_set, BTreeSet, HashMap};
use std::ops::Bound;

use super::super::encoding::EncodingLimits;
use super::super::reply::format_double;
use super::super::store::{Bytes, Hasher};
use super::listpack::{self, Listpack, Pos};

/// A score with the order Redis sorts by: numeric, -0 equal to 0. No NaN is ever
/// stored, nor -0: it is stored as 0, as Redis's listpack does (its skiplist
/// would keep the sign; one answer for both encodings is better).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score(pub f64);

impl Eq for Score {}

impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Score {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // Never NaN, so the partial order is total; -0 == 0 as `==` has it.
        self.0
            .partial_cmp(&other.0)
            .unwrap_or_else(|| self.0.total_cmp(&other.0))
    }
}

/// One end of a score range (`1.5` or the exclusive `(1.5` in Redis's syntax).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreBound {
    /// The score.
    pub value: f64,
    /// True for `(`: the score itself is outside the range.
    pub exclusive: bool,
}

impl ScoreBound {
    /// True if `s` is not below this lower bound.
    fn admits_from_below(&self, s: f64) -> bool {
        if self.exclusive {
            s > self.value
        } else {
            s >= self.value
        }
    }

    /// True if `s` is not above this upper bound.
    fn admits_from_above(&self, s: f64) -> bool {
        if self.exclusive {
            s < self.value
        } else {
            s <= self.value
        }
    }
}

/// One end of a lexicographic range: `-`, `+`, `[member` or `(member`.
#[derive(Debug, Clone, PartialEq)]
pub enum LexBound {
    /// `-`: below every member.
    Min,
    /// `+`: above every member.
    Max,
    /// `[member`.
    Included(Bytes),
    /// `(member`.
    Excluded(Bytes),
}

impl LexBound {
    /// True if `m` is not below this lower bound.
    fn admits_from_below(&self, m: &[u8]) -> bool {
        match self {
            LexBound::Min => true,
            LexBound::Max => false,
            LexBound::Included(b) => m >= &**b,
            LexBound::Excluded(b) => m > &**b,
        }
    }

    /// True if `m` is not above this upper bound.
    fn admits_from_above(&self, m: &[u8]) -> bool {
        match self {
            LexBound::Min => false,
            LexBound::Max => true,
            LexBound::Included(b) => m <= &**b,
            LexBound::Excluded(b) => m < &**b,
        }
    }
}

/// The least score above `v` in [`Score`]'s order (-0 counts as 0).
fn next_score(v: f64) -> f64 {
    if v == 0.0 {
        0.0f64.next_up()
    } else {
        v.next_up()
    }
}

/// -0 as 0 (see [`Score`]).
fn normal(score: f64) -> f64 {
    if score == 0.0 {
        0.0
    } else {
        score
    }
}

/// The large form: member → score, plus the members ordered by (score, member),
/// which is Redis's order. Rank queries walk the ordered set (O(rank)), which is
/// simple and correct; Redis's skiplist answers them in O(log n).
#[derive(Debug, Default, Clone)]
pub struct SkipForm {
    scores: HashMap<Bytes, f64, Hasher>,
    order: BTreeSet<(Score, Bytes)>,
}

impl SkipForm {
    fn insert(&mut self, member: &[u8], score: f64) -> bool {
        match self.scores.get_mut(member) {
            Some(old) => {
                if *old != score {
                    let m: Bytes = member.into();
                    self.order.remove(&(Score(*old), m.clone()));
                    self.order.insert((Score(score), m));
                    *old = score;
                }
                false
            }
            None => {
                let m: Bytes = member.into();
                self.order.insert((Score(score), m.clone()));
                self.scores.insert(m, score);
                true
            }
        }
    }

    fn remove(&mut self, member: &[u8]) -> bool {
        match self.scores.remove_entry(member) {
            Some((m, s)) => {
                self.order.remove(&(Score(s), m));
                true
            }
            None => false,
        }
    }

    fn range_by_score(
        &self,
        min: ScoreBound,
        max: ScoreBound,
    ) -> Option<btree_set::Range<'_, (Score, Bytes)>> {
        // Every bound is put as (score, empty member), the least key of that score, so
        // an exclusive end is the next representable score.
        let low = match (min.value, min.exclusive) {
            (v, true) if v == f64::INFINITY => return None,
            (v, true) => next_score(v),
            (v, false) => v,
        };
        let high = match (max.value, max.exclusive) {
            (v, false) if v == f64::INFINITY => Bound::Unbounded,
            (v, false) => Bound::Excluded(next_score(v)),
            (v, true) => Bound::Excluded(v),
        };
        if let Bound::Excluded(high) = high {
            if Score(low) >= Score(high) {
                return None;
            }
        }
        let key = |v: f64| (Score(v), Bytes::default());
        Some(self.order.range((Bound::Included(key(low)), high.map(key))))
    }

    /// A lexicographic range when every member has the same score (the order is
    /// then the members' order, so the B-tree finds both ends).
    fn range_by_lex_one_score(
        &self,
        min: &LexBound,
        max: &LexBound,
    ) -> Option<btree_set::Range<'_, (Score, Bytes)>> {
        let (score, _) = self.order.first()?;
        let at = |m: &[u8]| (*score, Bytes::from(m));
        let low = match min {
            LexBound::Min => Bound::Included(at(b"")),
            LexBound::Included(m) => Bound::Included(at(m)),
            LexBound::Excluded(m) => Bound::Excluded(at(m)),
            LexBound::Max => return None,
        };
        let high = match max {
            LexBound::Max if score.0 == f64::INFINITY => Bound::Unbounded,
            LexBound::Max => Bound::Excluded((Score(next_score(score.0)), Bytes::default())),
            LexBound::Included(m) => Bound::Included(at(m)),
            LexBound::Excluded(m) => Bound::Excluded(at(m)),
            LexBound::Min => return None,
        };
        let key = |b: &Bound<(Score, Bytes)>| match b {
            Bound::Included(k) | Bound::Excluded(k) => Some(k.clone()),
            Bound::Unbounded => None,
        };
        if let (Some(l), Some(h)) = (key(&low), key(&high)) {
            let both_closed =
                matches!(low, Bound::Included(_)) && matches!(high, Bound::Included(_));
            if l > h || (l == h && !both_closed) {
                return None;
            }
        }
        Some(self.order.range((low, high)))
    }
}

/// A sorted set, in the listpack or the skiplist encoding (see the module
/// documentation). 16 bytes, so `Value` holds it unboxed.
#[derive(Debug, Clone)]
pub enum ZSet {
    /// member, score, … in (score, member) order.
    Pack(Listpack),
    /// The large form.
    Skip(Box<SkipForm>),
}

impl Default for ZSet {
    fn default() -> Self {
        ZSet::Pack(Listpack::new())
    }
}

/// The score stored in a listpack entry (always text this module wrote).
fn parse_score(b: &[u8]) -> f64 {
    std::str::from_utf8(b)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.0)
}

/// The shortest text that parses back to `score`, `-0` included (the form a
/// listpack and the append-only log store).
pub(crate) fn score_text(score: f64, buf: &mut [u8; 40]) -> &[u8] {
    if score == 0.0 && score.is_sign_negative() {
        buf[..2].copy_from_slice(b"-0");
        return &buf[..2];
    }
    let n = format_double(buf, score);
    &buf[..n]
}

/// The member `member` of a packed set: its position and score.
fn pack_find(lp: &Listpack, member: &[u8]) -> Option<(Pos, f64)> {
    let p = lp.find(member, 2)?;
    let s = lp.next(p)?;
    Some((p, parse_score(lp.get(s))))
}

/// Insert a member known to be absent at its place in (score, member) order.
fn pack_insert(lp: &mut Listpack, member: &[u8], score: f64) {
    let mut before = None;
    let mut p = lp.first();
    while let Some(mp) = p {
        let Some(sp) = lp.next(mp) else { break };
        let s = parse_score(lp.get(sp));
        if (Score(s), lp.get(mp)) > (Score(score), member) {
            before = Some(mp);
            break;
        }
        p = lp.next(sp);
    }
    let mut buf = [0u8; 40];
    let text = score_text(score, &mut buf);
    match before {
        Some(at) => {
            let sp = lp.insert(Some(at), text);
            lp.insert(Some(sp), member);
        }
        None => {
            lp.insert(None, member);
            lp.insert(None, text);
        }
    }
}

/// Whether a set of `len` members, the longest `max_len` bytes, fits the listpack
/// encoding under `limits`.
fn fits_pack(len: usize, max_len: usize, limits: &EncodingLimits) -> bool {
    len as u64 <= limits.zset_entries && max_len as u64 <= limits.zset_value
}

impl ZSet {
    /// An empty sorted set in the encoding Redis's `zsetTypeCreate` picks for
    /// `size_hint` members, the longest `max_len` bytes.
    pub(crate) fn with_hint(size_hint: usize, max_len: usize, limits: &EncodingLimits) -> ZSet {
        if fits_pack(size_hint, max_len, limits) {
            ZSet::default()
        } else {
            ZSet::Skip(Box::default())
        }
    }

    /// A sorted set of `items` (distinct members, any order) in the encoding a
    /// set of that size gets (as Redis's `zsetConvertToListpackIfNeeded` does to
    /// a computed result).
    pub(crate) fn from_items(mut items: Vec<(Bytes, f64)>, limits: &EncodingLimits) -> ZSet {
        let max_len = items.iter().map(|(m, _)| m.len()).max().unwrap_or(0);
        if !fits_pack(items.len(), max_len, limits) {
            let mut skip = SkipForm::default();
            for (m, s) in items {
                skip.insert(&m, normal(s));
            }
            return ZSet::Skip(Box::new(skip));
        }
        for it in &mut items {
            it.1 = normal(it.1);
        }
        items.sort_by(|a, b| (Score(a.1), &a.0).cmp(&(Score(b.1), &b.0)));
        let texts: Vec<Vec<u8>> = items
            .iter()
            .map(|(_, s)| score_text(*s, &mut [0u8; 40]).to_vec())
            .collect();
        let lp: Listpack = items
            .iter()
            .zip(&texts)
            .flat_map(|((m, _), t)| [&**m, &t[..]])
            .collect();
        ZSet::Pack(lp)
    }

    /// Redis's name for the encoding: `listpack` or `skiplist`.
    pub fn encoding_name(&self) -> &'static str {
        match self {
            ZSet::Pack(_) => "listpack",
            ZSet::Skip(_) => "skiplist",
        }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match self {
            ZSet::Pack(lp) => lp.len() / 2,
            ZSet::Skip(s) => s.scores.len(),
        }
    }

    /// True if there are no members.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A rough count of the bytes this set uses, for INFO.
    pub fn memory(&self) -> usize {
        const ELEM: usize = 32;
        match self {
            ZSet::Pack(lp) => lp.heap_bytes(),
            ZSet::Skip(s) => s.scores.keys().map(|e| 2 * e.len() + 3 * ELEM).sum(),
        }
    }

    /// The score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            ZSet::Pack(lp) => pack_find(lp, member).map(|(_, s)| s),
            ZSet::Skip(s) => s.scores.get(member).copied(),
        }
    }

    /// Turn a listpack into the skiplist form (no-op if it is one already).
    fn convert(&mut self) -> &mut SkipForm {
        if let ZSet::Pack(lp) = self {
            let mut skip = SkipForm::default();
            for (m, s) in pairs(lp, 0, lp.len() / 2) {
                skip.insert(m, s);
            }
            *self = ZSet::Skip(Box::new(skip));
        }
        match self {
            ZSet::Skip(s) => s,
            ZSet::Pack(_) => unreachable!("converted above"),
        }
    }

    /// Set the score of `member`; returns true if it was added (not updated). A
    /// listpack that a new member would take past `limits` becomes a skiplist
    /// first, as in Redis's `zsetAdd`.
    pub(crate) fn insert(&mut self, member: &[u8], score: f64, limits: &EncodingLimits) -> bool {
        let score = normal(score);
        if let ZSet::Pack(lp) = self {
            match pack_find(lp, member) {
                Some((p, cur)) => {
                    if cur != score {
                        lp.remove(p, 2);
                        pack_insert(lp, member, score);
                    }
                    return false;
                }
                None if fits_pack(lp.len() / 2 + 1, member.len(), limits) => {
                    pack_insert(lp, member, score);
                    return true;
                }
                None => {}
            }
        }
        self.convert().insert(member, score)
    }

    /// Remove `member`; returns true if it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self {
            ZSet::Pack(lp) => match lp.find(member, 2) {
                Some(p) => {
                    lp.remove(p, 2);
                    true
                }
                None => false,
            },
            ZSet::Skip(s) => s.remove(member),
        }
    }

    /// The 0-based rank of `member` in ascending order.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        match self {
            ZSet::Pack(_) => self.iter().position(|(m, _)| m == member),
            ZSet::Skip(s) => {
                s.scores.get(member)?;
                s.order.iter().position(|(_, m)| **m == *member)
            }
        }
    }

    /// The 0-based rank of `member` in descending order.
    pub fn rev_rank(&self, member: &[u8]) -> Option<usize> {
        self.rank(member).map(|r| self.len() - 1 - r)
    }

    /// Members with scores in ascending order (descending with `.rev()`).
    pub fn iter(&self) -> Iter<'_> {
        match self {
            ZSet::Pack(lp) => pairs(lp, 0, lp.len() / 2),
            ZSet::Skip(s) => Iter::Skip(s.order.range::<(Score, Bytes), _>(..)),
        }
    }

    /// Members whose score lies within `min..max` (each end inclusive or not), in
    /// ascending order.
    pub fn range_by_score(&self, min: ScoreBound, max: ScoreBound) -> Iter<'_> {
        match self {
            ZSet::Pack(lp) => {
                let n = lp.len() / 2;
                let start = pairs(lp, 0, n)
                    .take_while(|(_, s)| !min.admits_from_below(*s))
                    .count();
                let end = start
                    + pairs(lp, start, n)
                        .take_while(|(_, s)| max.admits_from_above(*s))
                        .count();
                pairs(lp, start, end)
            }
            ZSet::Skip(s) => s.range_by_score(min, max).map_or(Iter::Empty, Iter::Skip),
        }
    }

    /// Members within a lexicographic range, ascending, as Redis's listpack walk
    /// finds them: the first member (in score order) not below `min`, then the
    /// members after it while they are not above `max`, scores ignored. A set
    /// whose members share one score (what lex ranges are for) gives exactly the
    /// members between `min` and `max`.
    pub fn range_by_lex(&self, min: &LexBound, max: &LexBound) -> Iter<'_> {
        self.lex_range(min, max, false)
    }

    /// The members ZREVRANGEBYLEX walks, ascending (take them with `.rev()`): the
    /// last member not above `max`, then the members before it while they are not
    /// below `min`. The same members as [`ZSet::range_by_lex`] when the members
    /// share one score.
    pub fn rev_range_by_lex(&self, min: &LexBound, max: &LexBound) -> Iter<'_> {
        self.lex_range(min, max, true)
    }

    /// ZRANGEBYLEX with LIMIT as Redis walks it: from the first member of the
    /// range (the last, for `rev`), skip `offset` members whatever they are, then
    /// take up to `limit` while they stay within the far bound. Only a set with
    /// mixed scores can tell this from skipping within the range.
    pub fn lex_walk(
        &self,
        min: &LexBound,
        max: &LexBound,
        rev: bool,
        offset: usize,
        limit: usize,
    ) -> Vec<(&[u8], f64)> {
        let one_score = match (self.iter().next(), self.iter().next_back()) {
            (Some(a), Some(b)) => a.1 == b.1,
            _ => return Vec::new(),
        };
        if offset == 0 || one_score {
            return if rev {
                let span = self.rev_range_by_lex(min, max).rev();
                span.skip(offset).take(limit).collect()
            } else {
                let span = self.range_by_lex(min, max);
                span.skip(offset).take(limit).collect()
            };
        }
        let Some((start, end)) = lex_span(self.iter(), min, max, rev) else {
            return Vec::new();
        };
        if rev {
            let from_end = self.len() - end;
            self.iter()
                .rev()
                .skip(from_end)
                .skip(offset)
                .take_while(|(m, _)| min.admits_from_below(m))
                .take(limit)
                .collect()
        } else {
            self.iter()
                .skip(start)
                .skip(offset)
                .take_while(|(m, _)| max.admits_from_above(m))
                .take(limit)
                .collect()
        }
    }

    fn lex_range(&self, min: &LexBound, max: &LexBound, rev: bool) -> Iter<'_> {
        match self {
            ZSet::Pack(lp) => match lex_span(self.iter(), min, max, rev) {
                Some((start, end)) => pairs(lp, start, end),
                None => Iter::Empty,
            },
            ZSet::Skip(s) => {
                let one_score = match (s.order.first(), s.order.last()) {
                    (Some(a), Some(b)) => a.0 == b.0,
                    _ => return Iter::Empty,
                };
                if one_score {
                    return s
                        .range_by_lex_one_score(min, max)
                        .map_or(Iter::Empty, Iter::Skip);
                }
                let Some((start, end)) = lex_span(self.iter(), min, max, rev) else {
                    return Iter::Empty;
                };
                let mut it = s.order.iter().skip(start);
                let (Some(first), Some(last)) = (it.next(), s.order.iter().nth(end - 1)) else {
                    return Iter::Empty;
                };
                Iter::Skip(s.order.range(first.clone()..=last.clone()))
            }
        }
    }

    /// Remove and return the member with the lowest score.
    pub fn pop_min(&mut self) -> Option<(Bytes, f64)> {
        match self {
            ZSet::Pack(lp) => {
                let p = lp.first()?;
                let m: Bytes = lp.get(p).into();
                let s = parse_score(lp.get(lp.next(p)?));
                lp.remove(p, 2);
                Some((m, s))
            }
            ZSet::Skip(z) => {
                let (s, m) = z.order.pop_first()?;
                z.scores.remove(&m);
                Some((m, s.0))
            }
        }
    }

    /// Remove and return the member with the highest score.
    pub fn pop_max(&mut self) -> Option<(Bytes, f64)> {
        match self {
            ZSet::Pack(lp) => {
                let sp = lp.last()?;
                let p = lp.prev(sp)?;
                let m: Bytes = lp.get(p).into();
                let s = parse_score(lp.get(sp));
                lp.remove(p, 2);
                Some((m, s))
            }
            ZSet::Skip(z) => {
                let (s, m) = z.order.pop_last()?;
                z.scores.remove(&m);
                Some((m, s.0))
            }
        }
    }
}

/// The pair indices `start..end` a lexicographic range selects (see
/// [`ZSet::range_by_lex`] and [`ZSet::rev_range_by_lex`]), as Redis's
/// `zzlIsInLexRange` and `zzlFirstInLexRange` / `zzlLastInLexRange` walk: nothing
/// unless the first member is not above `max` and the last not below `min`.
fn lex_span(all: Iter<'_>, min: &LexBound, max: &LexBound, rev: bool) -> Option<(usize, usize)> {
    let n = all.clone().count();
    let members = all.map(|(m, _)| m);
    let first = members.clone().next()?;
    let last = members.clone().next_back()?;
    if !max.admits_from_above(first) || !min.admits_from_below(last) {
        return None;
    }
    if rev {
        let skipped = members
            .clone()
            .rev()
            .position(|m| max.admits_from_above(m))?;
        let k = members
            .rev()
            .skip(skipped)
            .take_while(|m| min.admits_from_below(m))
            .count();
        (k > 0).then(|| (n - skipped - k, n - skipped))
    } else {
        let start = members.clone().position(|m| min.admits_from_below(m))?;
        let k = members
            .skip(start)
            .take_while(|m| max.admits_from_above(m))
            .count();
        (k > 0).then_some((start, start + k))
    }
}

/// The pairs `start..end` (by pair index) of a packed set.
fn pairs(lp: &Listpack, start: usize, end: usize) -> Iter<'_> {
    let n = lp.len() / 2;
    let end = end.min(n);
    if start >= end {
        return Iter::Empty;
    }
    let mut it = lp.iter();
    if start > 0 {
        it.nth(2 * start - 1);
    }
    if end < n {
        it.nth_back(2 * (n - end) - 1);
    }
    Iter::Pack {
        it,
        left: end - start,
    }
}

/// (member, score) pairs of a [`ZSet`] in Redis's order, from either end.
#[derive(Clone)]
pub enum Iter<'a> {
    /// Nothing left.
    Empty,
    /// Over a listpack: the entries and the pairs left.
    Pack {
        /// The entries not yet taken.
        it: listpack::Iter<'a>,
        /// Pairs left.
        left: usize,
    },
    /// Over the ordered set of the skiplist form.
    Skip(btree_set::Range<'a, (Score, Bytes)>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Empty => None,
            Iter::Pack { it, left } => {
                if *left == 0 {
                    return None;
                }
                *left -= 1;
                let m = it.next()?;
                let s = it.next()?;
                Some((m, parse_score(s)))
            }
            Iter::Skip(r) => r.next().map(|(s, m)| (&**m, s.0)),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            Iter::Empty => (0, Some(0)),
            Iter::Pack { left, .. } => (*left, Some(*left)),
            Iter::Skip(r) => r.size_hint(),
        }
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Empty => None,
            Iter::Pack { it, left } => {
                if *left == 0 {
                    return None;
                }
                *left -= 1;
                let s = it.next_back()?;
                let m = it.next_back()?;
                Some((m, parse_score(s)))
            }
            Iter::Skip(r) => r.next_back().map(|(s, m)| (&**m, s.0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(entries: u64, value: u64) -> EncodingLimits {
        EncodingLimits {
            zset_entries: entries,
            zset_value: value,
            ..EncodingLimits::default()
        }
    }

    fn both() -> [EncodingLimits; 2] {
        [limits(1000, 1000), limits(0, 0)]
    }

    fn collect<'a>(it: impl Iterator<Item = (&'a [u8], f64)>) -> Vec<(Vec<u8>, f64)> {
        it.map(|(m, s)| (m.to_vec(), s)).collect()
    }

    #[test]
    fn sixteen_bytes() {
        assert_eq!(std::mem::size_of::<ZSet>(), 16);
    }

    #[test]
    fn zset_order_in_both_forms() {
        for l in both() {
            let mut z = ZSet::default();
            assert!(z.insert(b"b", 1.0, &l));
            assert!(z.insert(b"a", 1.0, &l));
            assert!(z.insert(b"c", -0.0, &l));
            assert!(!z.insert(b"c", 5.0, &l));
            assert_eq!(
                collect(z.iter()),
                vec![
                    (b"a".to_vec(), 1.0),
                    (b"b".to_vec(), 1.0),
                    (b"c".to_vec(), 5.0)
                ]
            );
            assert_eq!(
                collect(z.iter().rev())[0],
                (b"c".to_vec(), 5.0),
                "{}",
                z.encoding_name()
            );
            assert_eq!(z.rank(b"c"), Some(2));
            assert_eq!(z.rev_rank(b"c"), Some(0));
            assert!(z.remove(b"a"));
            assert!(!z.remove(b"a"));
            assert_eq!(z.pop_min(), Some((b"b".to_vec().into(), 1.0)));
            assert_eq!(z.len(), 1);
            assert_eq!(z.pop_max(), Some((b"c".to_vec().into(), 5.0)));
            assert!(z.is_empty());
        }
    }

    #[test]
    fn converts_past_the_thresholds_and_not_back() {
        let l = limits(3, 4);
        let mut z = ZSet::default();
        for (i, m) in [b"a", b"b", b"c"].iter().enumerate() {
            z.insert(*m, i as f64, &l);
        }
        assert_eq!(z.encoding_name(), "listpack");
        z.insert(b"d", 9.0, &l);
        assert_eq!(z.encoding_name(), "skiplist");
        z.remove(b"d");
        z.remove(b"c");
        assert_eq!(z.encoding_name(), "skiplist");
        let mut z = ZSet::default();
        z.insert(b"abcd", 1.0, &l);
        assert_eq!(z.encoding_name(), "listpack");
        z.insert(b"abcde", 1.0, &l);
        assert_eq!(z.encoding_name(), "skiplist");
        assert_eq!(z.score(b"abcd"), Some(1.0));
        assert_eq!(ZSet::with_hint(4, 1, &l).encoding_name(), "skiplist");
        assert_eq!(ZSet::with_hint(3, 4, &l).encoding_name(), "listpack");
        let items = vec![(Bytes::from(&b"x"[..]), 2.0), (Bytes::from(&b"y"[..]), 1.0)];
        let z = ZSet::from_items(items.clone(), &l);
        assert_eq!(z.encoding_name(), "listpack");
        assert_eq!(
            collect(z.iter()),
            vec![(b"y".to_vec(), 1.0), (b"x".to_vec(), 2.0)]
        );
        let z = ZSet::from_items(items, &limits(1, 4));
        assert_eq!(z.encoding_name(), "skiplist");
        assert_eq!(
            collect(z.iter()),
            vec![(b"y".to_vec(), 1.0), (b"x".to_vec(), 2.0)]
        );
    }

    #[test]
    fn scores_round_trip_through_the_listpack() {
        let l = limits(1000, 1000);
        let mut z = ZSet::default();
        let scores = [
            0.1,
            1e-300,
            -1.5e300,
            f64::MAX,
            f64::MIN_POSITIVE,
            5e-324,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1.0 / 3.0,
            123456789012345680.0,
            -7.0,
        ];
        for (i, s) in scores.iter().enumerate() {
            z.insert(format!("m{i}").as_bytes(), *s, &l);
        }
        assert_eq!(z.encoding_name(), "listpack");
        for (i, s) in scores.iter().enumerate() {
            assert_eq!(z.score(format!("m{i}").as_bytes()), Some(*s));
        }
    }

    #[test]
    fn ranges_agree_between_forms() {
        let members: Vec<(String, f64)> = (0..40)
            .map(|i| (format!("m{:02}", (i * 7) % 40), ((i % 9) as f64) - 3.0))
            .collect();
        let mut forms = both().map(|l| {
            let mut z = ZSet::default();
            for (m, s) in &members {
                z.insert(m.as_bytes(), *s, &l);
            }
            z
        });
        assert_eq!(forms[0].encoding_name(), "listpack");
        assert_eq!(forms[1].encoding_name(), "skiplist");
        let bounds = [
            -4.0,
            -3.0,
            -0.0,
            0.0,
            1.5,
            5.0,
            6.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        for &lo in &bounds {
            for &hi in &bounds {
                for (le, he) in [(false, false), (true, false), (false, true), (true, true)] {
                    let min = ScoreBound {
                        value: lo,
                        exclusive: le,
                    };
                    let max = ScoreBound {
                        value: hi,
                        exclusive: he,
                    };
                    let a = collect(forms[0].range_by_score(min, max));
                    let b = collect(forms[1].range_by_score(min, max));
                    assert_eq!(a, b, "{min:?} {max:?}");
                    let a = collect(forms[0].range_by_score(min, max).rev());
                    assert_eq!(a, collect(forms[1].range_by_score(min, max).rev()));
                }
            }
        }
        let lex = [
            LexBound::Min,
            LexBound::Max,
            LexBound::Included(b"m05".to_vec().into()),
            LexBound::Excluded(b"m05".to_vec().into()),
            LexBound::Included(b"m3".to_vec().into()),
            LexBound::Excluded(b"".to_vec().into()),
        ];
        for lo in &lex {
            for hi in &lex {
                let a = collect(forms[0].range_by_lex(lo, hi));
                assert_eq!(a, collect(forms[1].range_by_lex(lo, hi)), "{lo:?} {hi:?}");
                let a = collect(forms[0].rev_range_by_lex(lo, hi).rev());
                assert_eq!(a, collect(forms[1].rev_range_by_lex(lo, hi).rev()));
            }
        }
        for m in ["m00", "m13", "m39", "zz"] {
            assert_eq!(forms[0].rank(m.as_bytes()), forms[1].rank(m.as_bytes()));
        }
        while let Some(a) = forms[0].pop_max() {
            assert_eq!(Some(a), forms[1].pop_max());
        }
        assert!(forms[1].is_empty());
    }
}
