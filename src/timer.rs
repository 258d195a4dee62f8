//! The reactor's one timer structure: a min-heap of everything that is due at a
//! time — connection deadlines and session timers, service and UDP ticks, and the
//! end of an accept back-off.
//!
//! Connections are busy far more often than they time out, so their deadlines are
//! kept lazily: activity only moves a timestamp in the connection, never touches the
//! heap. Each connection remembers the earliest entry it has in the heap (`armed`);
//! a new entry is pushed only when its deadline (or its earliest session timer)
//! moves *earlier* than that. When an entry comes due the reactor re-computes the
//! connection's real deadline and either closes it, runs its due timers, or re-arms
//! it. Entries that no longer match (`armed` moved, or the slot was reused:
//! generation mismatch) are discarded when they surface, and the heap is compacted
//! when stale entries outnumber live ones, so its size stays proportional to the
//! number of connections. Ticks re-arm themselves when they fire; an accept
//! back-off entry fires once.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

/// What an entry is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Timer {
    /// The connection at slab `key`, if it still has this `generation`: its
    /// deadline or a session timer.
    Conn { key: usize, generation: u32 },
    /// The stream service at this index ticks.
    ServiceTick(usize),
    /// The UDP ticker at this index ticks.
    UdpTick(usize),
    /// The listener at this endpoint index may accept again.
    AcceptResume(usize),
}

/// One pending entry.
type Entry = Reverse<(Instant, Timer)>;

/// A min-heap of timed entries.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Entry>,
}

impl Timers {
    /// Have `timer` come due at `at`.
    pub(crate) fn push(&mut self, at: Instant, timer: Timer) {
        self.heap.push(Reverse((at, timer)));
    }

    /// The earliest entry's time, if any.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _))| *at)
    }

    /// Remove and return the earliest entry if it is due at `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<(Instant, Timer)> {
        match self.heap.peek() {
            Some(Reverse((at, _))) if *at <= now => self.heap.pop().map(|Reverse(e)| e),
            _ => None,
        }
    }

    /// Drop every connection entry for which `live` says no, if stale entries have
    /// piled up (more than three per live connection, and more than a few
    /// thousand). Other entries are always kept.
    pub(crate) fn compact(
        &mut self,
        live_connections: usize,
        live: impl Fn(usize, u32, Instant) -> bool,
    ) {
        if self.heap.len() <= 4096 || self.heap.len() <= 4 * live_connections {
            return;
        }
        self.heap.retain(|Reverse((at, timer))| match *timer {
            Timer::Conn { key, generation } => live(key, generation, *at),
            _ => true,
        });
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

    fn conn(key: usize) -> Timer {
        Timer::Conn { key, generation: 0 }
    }

    #[test]
    fn pops_in_deadline_order_and_only_when_due() {
        let t0 = Instant::now();
        let mut timers = Timers::default();
        timers.push(t0 + Duration::from_millis(30), conn(3));
        timers.push(t0 + Duration::from_millis(10), conn(1));
        timers.push(t0 + Duration::from_millis(20), Timer::ServiceTick(0));
        assert_eq!(timers.next_deadline(), Some(t0 + Duration::from_millis(10)));
        assert_eq!(timers.pop_due(t0), None);
        let now = t0 + Duration::from_millis(25);
        assert_eq!(timers.pop_due(now).map(|e| e.1), Some(conn(1)));
        assert_eq!(
            timers.pop_due(now).map(|e| e.1),
            Some(Timer::ServiceTick(0))
        );
        assert_eq!(timers.pop_due(now), None);
        assert_eq!(timers.len(), 1);
    }

    #[test]
    fn compaction_keeps_only_live_connection_entries_and_every_tick() {
        let t0 = Instant::now();
        let mut timers = Timers::default();
        for i in 0..10_000 {
            timers.push(
                t0,
                Timer::Conn {
                    key: i,
                    generation: 7,
                },
            );
        }
        timers.push(t0, Timer::UdpTick(0));
        timers.push(t0, Timer::AcceptResume(2));
        timers.compact(10, |key, _, _| key < 10);
        assert_eq!(timers.len(), 12);
    }
}
