//! A set's large form: the members in one dense vector, found through a hash
//! index of 4-byte positions into it.
//!
//! This is `indexmap`'s shape (SPOP and SRANDMEMBER pick a member by position
//! in O(1)) made smaller where a set of short strings spends its memory:
//! - a member of up to 23 bytes is stored inside its 24-byte slot of the
//!   vector, with no allocation of its own (a separate allocation of a few bytes
//!   costs a 32-byte chunk from the allocator);
//! - the index holds `u32` positions and no stored hash: a probe hashes the
//!   member it compares (short members hash in a few nanoseconds), which halves
//!   the index against `indexmap`'s `usize` + hash.
//!
//! Redis's dict costs a 24-byte entry and an sds per member plus an 8-byte
//! bucket; this costs 24 bytes plus about 5 (1.1–2.3 index slots of 4 bytes and
//! a control byte) for a short member. Positions are `u32`: a set holds at most
//! `u32::MAX` members (96 GiB of slots), and an insert past that is refused.

use std::hash::BuildHasher;

use hashbrown::HashTable;

use super::small::SmallBytes;
use crate::store::{Bytes, Hasher};

/// One member: inline up to 23 bytes, boxed beyond; 24 bytes either way.
type Member = SmallBytes;

/// A set of byte strings, indexed by position. See the module documentation.
#[derive(Clone, Default)]
pub struct Table {
    members: Vec<Member>,
    index: HashTable<u32>,
    hasher: Hasher,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set()
            .entries(self.iter().map(String::from_utf8_lossy))
            .finish()
    }
}

impl Table {
    /// An empty table with room for `n` members.
    pub fn with_capacity(n: usize) -> Table {
        Table {
            members: Vec::with_capacity(n),
            index: HashTable::with_capacity(n),
            hasher: Hasher::default(),
        }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// True if there are no members.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    fn position(&self, m: &[u8]) -> Option<usize> {
        let members = &self.members;
        self.index
            .find(self.hasher.hash_one(m), |&i| {
                members[i as usize].as_bytes() == m
            })
            .map(|&i| i as usize)
    }

    /// True if `m` is a member.
    pub fn contains(&self, m: &[u8]) -> bool {
        self.position(m).is_some()
    }

    /// Add `m`; true if it was not a member (false too for a set already
    /// holding `u32::MAX` members).
    pub fn insert(&mut self, m: &[u8]) -> bool {
        let Ok(at) = u32::try_from(self.members.len()) else {
            return false;
        };
        let Table {
            members,
            index,
            hasher,
        } = self;
        let entry = index.entry(
            hasher.hash_one(m),
            |&i| members[i as usize].as_bytes() == m,
            |&i| hasher.hash_one(members[i as usize].as_bytes()),
        );
        match entry {
            hashbrown::hash_table::Entry::Occupied(_) => false,
            hashbrown::hash_table::Entry::Vacant(v) => {
                v.insert(at);
                members.push(Member::new(m));
                true
            }
        }
    }

    /// Remove `m`; true if it was a member.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match self.position(m) {
            Some(k) => {
                self.remove_index(k);
                true
            }
            None => false,
        }
    }

    /// The member at position `k`, if `k < len()`.
    pub fn get_index(&self, k: usize) -> Option<&[u8]> {
        self.members.get(k).map(Member::as_bytes)
    }

    /// Remove and return the member at position `k`; the last member takes its
    /// place (as `Vec::swap_remove`).
    pub fn remove_index(&mut self, k: usize) -> Option<Bytes> {
        let last = self.members.len().checked_sub(1)?;
        if k > last {
            return None;
        }
        let Table {
            members,
            index,
            hasher,
        } = self;
        let h = hasher.hash_one(members[k].as_bytes());
        if let Ok(e) = index.find_entry(h, |&i| i as usize == k) {
            e.remove();
        }
        if k != last {
            let h = hasher.hash_one(members[last].as_bytes());
            if let Some(i) = index.find_mut(h, |&i| i as usize == last) {
                *i = k as u32;
            }
        }
        let m = members.swap_remove(k);
        // Give memory back once the set has shrunk to an eighth of its room,
        // as Redis shrinks a dict below 10 % fill.
        if members.len() * 8 < members.capacity() && members.capacity() > 8 {
            members.shrink_to(members.len() * 2);
            index.shrink_to(members.len() * 2, |&i| {
                hasher.hash_one(members[i as usize].as_bytes())
            });
        }
        Some(m.into_bytes())
    }

    /// Every member, in position order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.members.iter().map(Member::as_bytes)
    }

    /// Bytes of heap the table uses: its slots, its index and long members.
    pub fn heap_bytes(&self) -> usize {
        let long: usize = self.members.iter().map(Member::heap_len).sum();
        std::mem::size_of::<Table>()
            + self.members.capacity() * std::mem::size_of::<Member>()
            + self.index.capacity() * (std::mem::size_of::<u32>() + 1)
            + long
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_stay_consistent_through_swap_removes() {
        let mut t = Table::default();
        let name = |i: usize| format!("member-{i}-{}", "x".repeat(i % 30));
        for i in 0..1000 {
            assert!(t.insert(name(i).as_bytes()));
        }
        assert!(!t.insert(name(5).as_bytes()));
        // Remove most, by value and by position, checking every lookup.
        for i in (0..1000).step_by(3) {
            assert!(t.remove(name(i).as_bytes()));
            assert!(!t.remove(name(i).as_bytes()));
        }
        while t.len() > 20 {
            let m = t.remove_index(t.len() / 2).expect("in range");
            assert!(!t.contains(&m));
        }
        assert_eq!(t.remove_index(t.len()), None);
        for (k, m) in t.iter().enumerate() {
            assert_eq!(t.position(m), Some(k));
        }
        assert!(
            t.members.capacity() <= 64,
            "shrunk: {}",
            t.members.capacity()
        );
        while let Some(m) = t.remove_index(0) {
            assert!(!t.contains(&m));
        }
        assert!(t.is_empty());
        assert!(t.insert(b"again") && t.contains(b"again"));
    }
}
