//! Random members with Redis's count semantics, shared by SRANDMEMBER, HRANDFIELD
//! and ZRANDMEMBER (and SPOP's choice of victims).
//!
//! A count of 0 is an empty array; a positive count is that many distinct members
//! (the whole collection if it has no more); a negative count is `-count` members
//! drawn independently, repeats allowed. The count is taken within
//! `-LONG_MAX..=LONG_MAX` as Redis does. Redis would go on building a reply of
//! any size a negative count asks for; here a reply that would pass
//! [`RANDOM_REPLY_LIMIT`] bytes is refused with an error instead, so one command
//! cannot grow the server without bound.

use super::*;

/// The largest reply a random-member command builds: Redis's default
/// `proto-max-bulk-len`, the largest single value it accepts.
pub(super) const RANDOM_REPLY_LIMIT: usize = 512 << 20;

/// A small xorshift PRNG, seeded from the store's: sampling needs randomness, not
/// security.
pub(super) struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A uniform index below `n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// The COUNT argument: `Err` after Redis's error reply.
pub(super) fn random_count(arg: &[u8], out: &mut Reply<'_>) -> Result<i64, ()> {
    match parse_i64(arg) {
        None => {
            reply::error(out, NOT_INT);
            Err(())
        }
        Some(i64::MIN) => {
            reply::error(
                out,
                b"ERR value is out of range, value must between -9223372036854775807 and \
                  9223372036854775807",
            );
            Err(())
        }
        Some(n) => Ok(n),
    }
}

/// The indices a count picks from a collection of `len` members.
pub(super) enum Picks {
    /// Drawn independently (negative count).
    Repeat { rng: Rng, left: u64, len: usize },
    /// Every member, in order (count at least the size).
    All(std::ops::Range<usize>),
    /// A random subset (positive count below the size).
    Distinct(indexmap::set::IntoIter<usize>),
}

impl Picks {
    pub fn new(mut rng: Rng, len: usize, count: i64) -> Picks {
        if count < 0 && len > 0 {
            return Picks::Repeat {
                rng,
                left: count.unsigned_abs(),
                len,
            };
        }
        let count = usize::try_from(count.max(0)).unwrap_or(usize::MAX);
        if count >= len {
            return Picks::All(0..len);
        }
        // Floyd's algorithm: `count` distinct indices in O(count) time and space.
        let mut chosen: IndexSet<usize> = IndexSet::with_capacity(count);
        for j in len - count..len {
            let t = rng.below(j + 1);
            if !chosen.insert(t) {
                chosen.insert(j);
            }
        }
        Picks::Distinct(chosen.into_iter())
    }

    /// How many indices are left.
    pub fn remaining(&self) -> u64 {
        match self {
            Picks::Repeat { left, .. } => *left,
            Picks::All(r) => r.len() as u64,
            Picks::Distinct(it) => it.len() as u64,
        }
    }
}

impl Iterator for Picks {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        match self {
            Picks::Repeat { rng, left, len } => {
                if *left == 0 {
                    return None;
                }
                *left -= 1;
                Some(rng.below(*len))
            }
            Picks::All(r) => r.next(),
            Picks::Distinct(it) => it.next(),
        }
    }
}

/// Reply with an array of `per` elements for each pick, written by `write`; if the
/// reply would pass `limit` bytes, replace it with an error. In RESP3 a pick of two
/// (a member and its score, a field and its value) is an array of its own, as
/// Redis 7 answers `WITHSCORES`/`WITHVALUES`.
pub(super) fn reply_picks(
    out: &mut Reply<'_>,
    mut picks: Picks,
    per: usize,
    limit: usize,
    mut write: impl FnMut(usize, &mut Reply<'_>),
) {
    let pairs = per == 2 && out.resp3();
    let start = out.len();
    let total = usize::try_from(picks.remaining())
        .ok()
        .and_then(|n| n.checked_mul(per));
    let Some(total) = total else {
        return reply::error(out, b"ERR value is out of range");
    };
    reply::array(out, if pairs { total / 2 } else { total });
    for i in picks.by_ref() {
        if pairs {
            reply::array(out, 2);
        }
        write(i, out);
        if out.len() - start > limit {
            out.truncate(start);
            let msg = format!(
                "ERR reply too large: the count asks for more than {limit} bytes of members"
            );
            return reply::error(out, msg.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_semantics() {
        let all: Vec<_> = Picks::new(Rng::new(7), 5, 9).collect();
        assert_eq!(all, vec![0, 1, 2, 3, 4]);
        assert_eq!(Picks::new(Rng::new(7), 5, 0).count(), 0);
        assert_eq!(Picks::new(Rng::new(7), 0, -3).count(), 0);
        for seed in 1..50 {
            let mut d: Vec<_> = Picks::new(Rng::new(seed), 10, 4).collect();
            assert_eq!(d.len(), 4);
            assert!(d.iter().all(|&i| i < 10));
            d.sort_unstable();
            d.dedup();
            assert_eq!(d.len(), 4, "distinct");
        }
        let r: Vec<_> = Picks::new(Rng::new(3), 2, -100).collect();
        assert_eq!(r.len(), 100);
        assert!(r.contains(&0) && r.contains(&1));
    }

    #[test]
    fn oversized_reply_is_refused() {
        let mut out = b"+before\r\n".to_vec();
        let picks = Picks::new(Rng::new(1), 1, -1_000_000);
        reply_picks(&mut Reply::new(&mut out, false), picks, 1, 1000, |_, o| {
            reply::bulk(o, b"member")
        });
        assert_eq!(
            out,
            b"+before\r\n-ERR reply too large: the count asks for more than 1000 bytes of \
              members\r\n"
        );
    }
}
