//! Cursors for the SCAN family (SCAN, SSCAN, HSCAN, ZSCAN), one scheme for all.
//!
//! Redis promises that an element present for the whole of a scan is returned at
//! least once, and that an element added or removed meanwhile may or may not be.
//! Redis keeps that promise with reverse-binary bucket cursors over its own hash
//! tables; the tables here (hashbrown, `HashMap`, `IndexSet`) move elements on
//! growth and on removal, so a position in them is no cursor. Instead, a scan that
//! cannot finish in one call takes a snapshot of the names (keys, members or
//! fields) when it starts, and the cursor is a position in that snapshot: later
//! calls walk it `COUNT` names at a time and the caller skips names that are gone.
//! Every name present for the whole scan is returned exactly once.
//!
//! Memory is bounded: [`Cursors`] keeps at most [`MAX_SCANS`] unfinished scans per
//! database and kind (a client that abandons a scan leaves its snapshot behind;
//! the oldest is dropped when a new one starts, and its cursor then gets
//! `ERR invalid cursor`). A snapshot of keys shares the key allocations (`Rc`).
//!
//! A cursor is `id << 32 | position`: the id names the snapshot, so a stale,
//! foreign or made-up cursor is recognised and refused rather than misread.

/// How many unfinished scans are kept before the oldest is dropped.
pub const MAX_SCANS: usize = 16;

/// The unfinished scans of one kind (keys of a database, or members of its
/// collections).
#[derive(Debug)]
pub struct Cursors<T> {
    snaps: Vec<Walk<T>>,
    next_id: u64,
}

impl<T> Default for Cursors<T> {
    fn default() -> Self {
        Cursors {
            snaps: Vec::new(),
            next_id: 1,
        }
    }
}

/// One scan in progress: its snapshot and how far it got. Take it with
/// [`Cursors::resume`] or [`Cursors::start`], walk it with [`Walk::batch`], and
/// hand it back with [`Cursors::park`] for the next cursor.
#[derive(Debug)]
pub struct Walk<T> {
    id: u64,
    owner: Box<[u8]>,
    items: Vec<T>,
    pos: usize,
}

impl<T> Walk<T> {
    /// The next `count` names (at least one), advancing the position.
    pub fn batch(&mut self, count: usize) -> &[T] {
        let from = self.pos.min(self.items.len());
        let to = from.saturating_add(count.max(1)).min(self.items.len());
        self.pos = to;
        &self.items[from..to]
    }
}

impl<T> Cursors<T> {
    /// Forget every unfinished scan (the data they walk is gone: FLUSHDB, SWAPDB).
    pub fn clear(&mut self) {
        self.snaps.clear();
    }

    /// Begin a scan of `items`, which belong to `owner` (the collection's key, or
    /// empty for the keyspace).
    pub fn start(&mut self, owner: &[u8], items: Vec<T>) -> Walk<T> {
        let id = self.next_id;
        self.next_id = (self.next_id + 1) & 0x7fff_ffff;
        if self.next_id == 0 {
            self.next_id = 1;
        }
        Walk {
            id,
            owner: owner.into(),
            items,
            pos: 0,
        }
    }

    /// The scan a non-zero `cursor` continues, if this is one it issued for
    /// `owner` and still keeps.
    pub fn resume(&mut self, cursor: u64, owner: &[u8]) -> Option<Walk<T>> {
        let (id, pos) = (cursor >> 32, (cursor & 0xffff_ffff) as usize);
        let idx = self
            .snaps
            .iter()
            .position(|s| s.id == id && *s.owner == *owner && s.pos == pos)?;
        Some(self.snaps.remove(idx))
    }

    /// Keep `walk` for its next call and return the cursor naming it, or 0 if it
    /// is finished.
    pub fn park(&mut self, walk: Walk<T>) -> u64 {
        if walk.pos >= walk.items.len() {
            return 0;
        }
        if self.snaps.len() >= MAX_SCANS {
            self.snaps.remove(0);
        }
        let cursor = (walk.id << 32) | walk.pos as u64;
        self.snaps.push(walk);
        cursor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_a_snapshot_and_refuses_foreign_cursors() {
        let mut c: Cursors<u32> = Cursors::default();
        let mut w = c.start(b"k", (0..25).collect());
        assert_eq!(w.batch(10), &(0..10).collect::<Vec<_>>()[..]);
        let cursor = c.park(w);
        assert_ne!(cursor, 0);
        assert!(c.resume(cursor, b"other").is_none());
        assert!(c.resume(cursor + 1, b"k").is_none());
        let mut w = c.resume(cursor, b"k").unwrap();
        assert_eq!(w.batch(10), &(10..20).collect::<Vec<_>>()[..]);
        let cursor = c.park(w);
        let mut w = c.resume(cursor, b"k").unwrap();
        assert_eq!(w.batch(10), &(20..25).collect::<Vec<_>>()[..]);
        assert_eq!(c.park(w), 0);
        // Finished: the cursor is not kept.
        assert!(c.resume(cursor, b"k").is_none());
    }

    #[test]
    fn abandoned_scans_are_bounded() {
        let mut c: Cursors<u32> = Cursors::default();
        let mut first = 0;
        for i in 0..(MAX_SCANS as u64 + 5) {
            let mut w = c.start(b"", vec![1, 2, 3]);
            w.batch(1);
            let cursor = c.park(w);
            if i == 0 {
                first = cursor;
            }
        }
        assert_eq!(c.snaps.len(), MAX_SCANS);
        assert!(c.resume(first, b"").is_none());
    }
}
