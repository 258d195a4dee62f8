//! The reactor's one timer structure: a min-heap of connection deadlines.
//!
//! Connections are busy far more often than they time out, so deadlines are kept
//! lazily: activity only moves a timestamp in the connection, never touches the heap.
//! Each connection remembers the earliest entry it has in the heap (`armed`); a new
//! entry is pushed only when its deadline moves *earlier* than that. When an entry
//! comes due the reactor re-computes the connection's real deadline and either
//! closes it or re-arms it. Entries that no longer match (`armed` moved, or the slot
//! was reused: generation mismatch) are discarded when they surface, and the heap is
//! compacted when stale entries outnumber live ones, so its size stays proportional
//! to the number of connections.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

/// One pending deadline: (when, slab key, connection generation).
type Entry = Reverse<(Instant, usize, u32)>;

/// A min-heap of deadlines keyed by slab key and generation.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Entry>,
}

impl Timers {
    /// Push a deadline for the connection at `key` with generation `generation`.
    pub(crate) fn push(&mut self, at: Instant, key: usize, generation: u32) {
        self.heap.push(Reverse((at, key, generation)));
    }

    /// The earliest deadline, if any.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _, _))| *at)
    }

    /// Remove and return the earliest entry if it is due at `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<(Instant, usize, u32)> {
        match self.heap.peek() {
            Some(Reverse((at, _, _))) if *at <= now => self.heap.pop().map(|Reverse(e)| e),
            _ => None,
        }
    }

    /// Drop every entry for which `live` says no, if stale entries have piled up
    /// (more than three per live connection, and more than a few thousand).
    pub(crate) fn compact(
        &mut self,
        live_connections: usize,
        live: impl Fn(usize, u32, Instant) -> bool,
    ) {
        if self.heap.len() <= 4096 || self.heap.len() <= 4 * live_connections {
            return;
        }
        self.heap
            .retain(|Reverse((at, key, generation))| live(*key, *generation, *at));
    }

    /// Number of entries, stale ones included.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn pops_in_deadline_order_and_only_when_due() {
        let t0 = Instant::now();
        let mut timers = Timers::default();
        timers.push(t0 + Duration::from_millis(30), 3, 0);
        timers.push(t0 + Duration::from_millis(10), 1, 0);
        timers.push(t0 + Duration::from_millis(20), 2, 0);
        assert_eq!(timers.next_deadline(), Some(t0 + Duration::from_millis(10)));
        assert_eq!(timers.pop_due(t0), None);
        let now = t0 + Duration::from_millis(25);
        assert_eq!(timers.pop_due(now).map(|e| e.1), Some(1));
        assert_eq!(timers.pop_due(now).map(|e| e.1), Some(2));
        assert_eq!(timers.pop_due(now), None);
        assert_eq!(timers.len(), 1);
    }

    #[test]
    fn compaction_keeps_only_live_entries() {
        let t0 = Instant::now();
        let mut timers = Timers::default();
        for i in 0..10_000 {
            timers.push(t0, i, 7);
        }
        timers.compact(10, |key, _, _| key < 10);
        assert_eq!(timers.len(), 10);
    }
}
