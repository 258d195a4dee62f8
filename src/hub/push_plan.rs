//! The pushes of one loop iteration, grouped by target.
//!
//! [`Ctx::push`](crate::Ctx::push) appends the bytes to one shared buffer
//! (`Links::bytes`) and queues an effect; the hub records each push here, linked
//! after the earlier pushes to the same target. When the target is next driven,
//! or when the iteration ends, its pushes are taken in order and leave in one
//! write. A plan is a vector of entries plus, per slab key, the first and last
//! entry of that key's list: no allocation per push once the vectors have grown,
//! and no map.

use crate::ctx::ConnId;

/// No entry.
const NONE: u32 = u32::MAX;

/// One planned push: `bytes[start..end]` of the push buffer, for `to`.
#[derive(Debug, Clone, Copy)]
struct Planned {
    to: ConnId,
    start: usize,
    end: usize,
    /// The next entry for the same slab key, or `NONE`.
    next: u32,
}

/// The pushes planned in this iteration, per target, in the order they were made.
#[derive(Debug, Default)]
pub(crate) struct PushPlan {
    entries: Vec<Planned>,
    /// Per slab key: the first and last entry of its list (`NONE` when empty).
    lists: Vec<(u32, u32)>,
    /// The ranges of the target being delivered (kept for its allocation).
    ranges: Vec<(usize, usize)>,
}

impl PushPlan {
    /// Plan `bytes[start..end]` for `to`, after what it was planned before.
    pub(crate) fn add(&mut self, to: ConnId, start: usize, end: usize) {
        let key = to.key();
        if self.lists.len() <= key {
            self.lists.resize(key + 1, (NONE, NONE));
        }
        let index = u32::try_from(self.entries.len()).expect("fewer than 2^32 pushes a turn");
        self.entries.push(Planned {
            to,
            start,
            end,
            next: NONE,
        });
        match self.lists[key] {
            (NONE, _) => self.lists[key] = (index, index),
            (first, last) => {
                self.entries[last as usize].next = index;
                self.lists[key] = (first, index);
            }
        }
    }

    /// Entries planned this iteration (delivered ones included).
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The slab key whose undelivered list starts at entry `i`, if one does: walking
    /// `i` from 0 to [`len`](Self::len) visits each target with pushes once, in the
    /// order of its first push.
    pub(crate) fn target_starting_at(&self, i: usize) -> Option<usize> {
        let key = self.entries.get(i)?.to.key();
        (self.lists[key].0 as usize == i).then_some(key)
    }

    /// Take the pushes planned for slab key `key`: the id they were made to (a
    /// connection that closed since may have left its slot to another, so only
    /// ranges for that id are returned) and their ranges, in order. `None` if
    /// nothing is planned for the key.
    pub(crate) fn take(&mut self, key: usize) -> Option<(ConnId, &[(usize, usize)])> {
        let (first, _) = *self.lists.get(key)?;
        if first == NONE {
            return None;
        }
        self.lists[key] = (NONE, NONE);
        let to = self.entries[first as usize].to;
        self.ranges.clear();
        let mut next = first;
        while next != NONE {
            let entry = self.entries[next as usize];
            if entry.to == to {
                self.ranges.push((entry.start, entry.end));
            }
            next = entry.next;
        }
        Some((to, &self.ranges))
    }

    /// Forget every entry (the end of an iteration, all delivered).
    pub(crate) fn clear(&mut self) {
        debug_assert!((0..self.entries.len()).all(|i| self.target_starting_at(i).is_none()));
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(key: usize, generation: u32) -> ConnId {
        ConnId::new(key, generation)
    }

    #[test]
    fn each_target_gets_its_pushes_in_order() {
        let mut plan = PushPlan::default();
        plan.add(id(3, 1), 0, 2);
        plan.add(id(1, 1), 2, 5);
        plan.add(id(3, 1), 5, 6);
        plan.add(id(3, 1), 6, 9);
        let targets: Vec<usize> = (0..plan.len())
            .filter_map(|i| plan.target_starting_at(i))
            .collect();
        assert_eq!(targets, [3, 1], "in the order of each target's first push");
        let (to, ranges) = plan.take(3).unwrap();
        assert_eq!(to, id(3, 1));
        assert_eq!(ranges, [(0, 2), (5, 6), (6, 9)]);
        assert!(plan.take(3).is_none(), "taken once");
        assert_eq!(plan.take(1).unwrap().1, [(2, 5)]);
        plan.clear();
        assert_eq!(plan.len(), 0);
        assert!(plan.take(7).is_none(), "a key never planned");
    }

    #[test]
    fn pushes_to_an_earlier_connection_in_the_same_slot_are_dropped() {
        let mut plan = PushPlan::default();
        plan.add(id(2, 1), 0, 4);
        // The connection closed and its slot was reused within the iteration.
        plan.add(id(2, 2), 4, 8);
        let (to, ranges) = plan.take(2).unwrap();
        assert_eq!(to, id(2, 1));
        assert_eq!(ranges, [(0, 4)]);
    }

    #[test]
    fn a_taken_list_starts_again_empty() {
        let mut plan = PushPlan::default();
        plan.add(id(0, 1), 0, 1);
        assert_eq!(plan.take(0).unwrap().1, [(0, 1)]);
        plan.add(id(0, 1), 1, 2);
        assert_eq!(plan.take(0).unwrap().1, [(1, 2)], "only what came after");
        assert_eq!(plan.target_starting_at(0), None);
        assert_eq!(plan.target_starting_at(1), None);
    }
}
