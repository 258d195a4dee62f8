//! A keyspace: every key of one database, its value, and its expiry time.
//!
//! A `KvService` has 16 databases (`DATABASES`, `SELECT 0` to `SELECT 15`), each a
//! [`Store`] of its own behind its own `RefCell`, shared by all of the service's
//! sessions (the reactor is single-threaded, so a `RefCell` is all the locking
//! needed); see `command::databases`. A store knows nothing of RESP; the command
//! layer asks it for entries and shapes the replies.
//!
//! Shape, chosen for the hot path (`SET`/`GET` at well under a microsecond):
//! - A `hashbrown::HashTable` of [`Entry`], hashed with foldhash (a fast, seeded
//!   hasher). The table API lets one probe find a key, check its expiry, and then
//!   remove it, return it, or insert next to it, instead of the two or three probes
//!   `std::collections::HashMap` needs for "get unless expired".
//! - A key of up to 15 bytes without a TTL is stored in the entry itself; a longer
//!   key, or one with a TTL, is in an `Rc`'d allocation with its deadline, shared
//!   with the expiry index and with SCAN snapshots (see `key`). An entry is 40 bytes.
//! - Keys with a TTL are also kept in a `key::TtlIndex` (a vector of the shared keys,
//!   each knowing its position), so the active expiry cycle can sample random keys
//!   with a TTL in O(1), and removing a key from it is O(1) too, with no hashing.
//!   Entries without a TTL cost the index nothing.
//! - Expiry is lazy (every lookup checks the entry's deadline and deletes it if past)
//!   plus active ([`Store::active_expire`], run from the service's timer on every
//!   database that has keys with a TTL, Redis's sampling algorithm bounded in time).
//!
//! Time is passed in as UNIX milliseconds (`now`) by the caller, taken once per batch
//! of commands, which keeps tests deterministic.

use std::hash::BuildHasher;
use std::time::{Duration, Instant};

use hashbrown::HashTable;

use super::cursor::Cursors;
pub use super::key::KeyName;
use super::key::{KeySlot, TtlIndex};
pub use super::values::string::Str;
pub use super::values::zset::{LexBound, ScoreBound, ZSet};

/// The hasher of the keyspace and of every collection: foldhash, seeded per process.
pub type Hasher = foldhash::fast::RandomState;

/// A binary-safe element of a collection.
pub type Bytes = Box<[u8]>;

/// A value of one of Redis's five basic types. Collections are boxed so that a string
/// entry stays small (`Value` is 24 bytes, not 80): most keys are strings, and the
/// extra indirection is paid only by collections.
#[derive(Debug, Clone)]
#[allow(clippy::box_collection)]
pub enum Value {
    /// A string (Redis strings are binary safe; INCR stores decimal text):
    /// inline up to 15 bytes (see `values::string`).
    Str(super::values::string::Str),
    /// A list: packed while small (see `values::list`).
    List(super::values::list::List),
    /// A hash (field → value): a listpack while small, a table beyond.
    Hash(super::values::hash::Hash),
    /// A set: an intset while its members are few integers (see `values::set`).
    Set(super::values::set::Set),
    /// A sorted set (a listpack or a skiplist, unboxed: 16 bytes).
    ZSet(ZSet),
}

impl Value {
    /// The name TYPE answers with.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
        }
    }

    /// The name `OBJECT ENCODING` gives this value: Redis 7.0's name for the
    /// representation it has here. Strings are named by their content (see
    /// `encoding::string_encoding`); hashes, sets and sorted sets by the form
    /// they are in (compact below the CONFIG thresholds, see `values`); a list
    /// is a `quicklist` whatever its size, as in Redis 7.0.
    pub(crate) fn encoding_name(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding_name(),
            Value::List(_) => "quicklist",
            Value::Hash(h) => h.encoding_name(),
            Value::Set(s) => s.encoding_name(),
            Value::ZSet(z) => z.encoding_name(),
        }
    }

    /// True for an empty collection (Redis deletes those keys).
    pub fn is_empty_collection(&self) -> bool {
        match self {
            Value::Str(_) => false,
            Value::List(l) => l.is_empty(),
            Value::Hash(h) => h.is_empty(),
            Value::Set(s) => s.is_empty(),
            Value::ZSet(z) => z.is_empty(),
        }
    }

    /// Bytes of heap the value uses, roughly (INFO `used_memory`, MEMORY USAGE).
    pub(crate) fn memory(&self) -> usize {
        match self {
            Value::Str(s) => s.heap_bytes(),
            Value::List(l) => l.memory(),
            Value::Hash(h) => h.heap_bytes(),
            Value::Set(s) => s.heap_bytes(),
            Value::ZSet(z) => z.memory(),
        }
    }
}

/// One key of the keyspace.
#[derive(Debug)]
pub struct Entry {
    /// The key and its deadline in UNIX ms (0: no TTL). The deadline is changed
    /// only through [`Store`] methods, which keep the TTL index in step.
    key: KeySlot,
    /// The value.
    pub value: Value,
}

impl Entry {
    fn new(key: &[u8], value: Value, at: u64, ttl: &mut TtlIndex) -> Entry {
        Entry {
            key: KeySlot::new(key, at, ttl),
            value,
        }
    }

    /// The key.
    pub fn key(&self) -> &[u8] {
        self.key.bytes()
    }

    /// The key's name, to keep beyond the entry.
    pub fn name(&self) -> KeyName {
        self.key.name()
    }

    /// The deadline in UNIX ms, if the key has a TTL.
    pub fn expire_at(&self) -> Option<u64> {
        let at = self.key.deadline();
        (at != 0).then_some(at)
    }

    fn expired(&self, now: u64) -> bool {
        let at = self.key.deadline();
        at != 0 && at <= now
    }

    /// Set the deadline (0: none), keeping `ttl` in step.
    fn set_deadline(&mut self, at: u64, ttl: &mut TtlIndex) {
        self.key.set_deadline(at, ttl);
    }

    /// Heap bytes of the entry, roughly: the key's allocation (none for an inline
    /// key; counts and bytes for a shared one) and the value's.
    pub fn heap_bytes(&self) -> usize {
        self.key.heap_bytes() + self.value.memory()
    }

    /// This entry leaves the keyspace: out of `ttl` if it was there.
    fn leave(&self, ttl: &mut TtlIndex) {
        self.key.leave(ttl);
    }
}

/// How a write treats the key's TTL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ttl {
    /// Remove any TTL (what SET does by default).
    Clear,
    /// Keep the TTL the key has (SET KEEPTTL).
    Keep,
    /// Expire at this UNIX ms.
    At(u64),
}

/// Counters the store keeps for INFO.
#[derive(Debug, Default, Clone, Copy)]
pub struct StoreStats {
    /// Keys deleted because their TTL passed (lazily or by the active cycle).
    pub expired_keys: u64,
}

/// The keyspace of one database (there are 16). See the module documentation.
pub struct Store {
    /// Keys created since they were last taken, while the keyspace event class
    /// `n` (new key) is on (`None`: off).
    pub new_log: Option<Vec<Bytes>>,
    /// While a `CLIENT PAUSE` is in force, an expired key reads as absent but
    /// is not deleted (Redis's rule: a pause changes nothing, not even by
    /// expiry).
    pub hold_expired: bool,
    table: HashTable<Entry>,
    hasher: Hasher,
    ttl: TtlIndex,
    rng: u64,
    scans: Cursors<KeyName>,
    /// Unfinished SSCAN/HSCAN/ZSCAN walks of this database's collections.
    pub member_scans: Cursors<Bytes>,
    /// Counters for INFO.
    pub stats: StoreStats,
    /// Clients blocked on keys (BLPOP and friends), as Redis keeps them per
    /// database.
    pub blocked: super::blocking::Blocked,
    /// Keys clients are blocked on that a write may have filled since they were
    /// last served (Redis's `ready_keys`); the command layer serves them after
    /// each command.
    pub ready: Vec<Bytes>,
    /// Keys deleted by expiry since they were last taken (after each command and
    /// each expiry cycle): the append-only log records a `DEL` for each, so a
    /// replay does not resurrect a key that later commands saw as absent, and
    /// each is an `expired` keyspace event and a tracking invalidation.
    /// `None`: not kept (a store no service drains).
    pub expired_log: Option<Vec<KeyName>>,
    /// Keys clients WATCH, with the stamp of their last change; like the
    /// blocked clients, they belong to the database index (SWAPDB leaves them).
    pub watched: super::watch::WatchedKeys,
    /// New entries ever inserted. Entries move between buckets only when an
    /// insert finds no spare slot, so after `k` inserts with more than `k` spare
    /// slots before them, every entry is still where it was.
    inserted: u64,
}

impl Default for Store {
    fn default() -> Self {
        Store::new()
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("keys", &self.table.len())
            .field("expires", &self.ttl.len())
            .finish()
    }
}

impl Store {
    /// An empty keyspace.
    pub fn new() -> Store {
        let hasher = Hasher::default();
        // Seed the sampling PRNG from the (randomly seeded) hasher; never zero.
        let rng = hasher.hash_one(0x5eed_u64) | 1;
        Store {
            table: HashTable::new(),
            hasher,
            ttl: TtlIndex::default(),
            rng,
            scans: Cursors::default(),
            member_scans: Cursors::default(),
            stats: StoreStats::default(),
            blocked: Default::default(),
            ready: Vec::new(),
            hold_expired: false,
            new_log: None,
            expired_log: Some(Vec::new()),
            watched: Default::default(),
            inserted: 0,
        }
    }

    /// New entries ever inserted (see [`Store::spare_slots`]).
    pub fn inserted(&self) -> u64 {
        self.inserted
    }

    /// Inserts the table takes before it must grow or rehash (moving entries).
    pub fn spare_slots(&self) -> usize {
        self.table.capacity() - self.table.len()
    }

    /// The number of buckets: indices for [`Store::key_names_in`].
    pub fn buckets(&self) -> usize {
        self.table.num_buckets()
    }

    /// Append the names of the keys in buckets `from..to`.
    pub fn key_names_in(&self, from: usize, to: usize, out: &mut Vec<KeyName>) {
        for i in from..to.min(self.table.num_buckets()) {
            if let Some(e) = self.table.get_bucket(i) {
                out.push(e.name());
            }
        }
    }

    /// The entry at `key` as stored, expired or not, without lazy expiry.
    pub fn peek(&self, key: &[u8]) -> Option<&Entry> {
        self.table.find(self.hash(key), |e| e.key() == key)
    }

    /// A write is about to fill `key`: if clients are blocked on it, it is ready.
    /// (Free when nobody is blocked: one emptiness check.)
    fn note_write(&mut self, key: &[u8]) {
        if !self.blocked.is_empty()
            && self.blocked.watches(key)
            && !self.ready.iter().any(|k| **k == *key)
        {
            self.ready.push(key.into());
        }
    }

    /// Number of keys (expired keys not yet collected included, as in Redis DBSIZE).
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// True if there are no keys.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Number of keys with a TTL.
    pub fn expires_len(&self) -> usize {
        self.ttl.len()
    }

    /// Delete every key.
    pub fn clear(&mut self) {
        self.table = HashTable::new();
        self.ttl = TtlIndex::default();
        self.scans.clear();
        self.member_scans.clear();
    }

    /// Exchange this database's keys with `other`'s (SWAPDB). What belongs to the
    /// database index rather than to its data stays: the clients blocked on its
    /// keys, its ready list, the expiry log and the counters. Keys blocked clients
    /// wait on that now hold data are marked ready in each.
    pub fn swap_keys(&mut self, other: &mut Store) {
        std::mem::swap(&mut self.table, &mut other.table);
        std::mem::swap(&mut self.hasher, &mut other.hasher);
        std::mem::swap(&mut self.ttl, &mut other.ttl);
        std::mem::swap(&mut self.inserted, &mut other.inserted);
        self.scans.clear();
        other.scans.clear();
        self.member_scans.clear();
        other.member_scans.clear();
        self.mark_filled_ready();
        other.mark_filled_ready();
    }

    /// Mark ready every key a client is blocked on that holds a value.
    fn mark_filled_ready(&mut self) {
        if self.blocked.is_empty() {
            return;
        }
        let filled: Vec<Bytes> = self
            .blocked
            .keys()
            .filter(|k| self.peek(k).is_some())
            .map(Bytes::from)
            .collect();
        for key in filled {
            self.note_write(&key);
        }
    }

    /// Take `key` out with its deadline (0: none), if it is live (MOVE).
    pub fn take(&mut self, key: &[u8], now: u64) -> Option<(Value, u64)> {
        self.remove(key, now).map(|e| (e.value, e.key.deadline()))
    }

    /// A rough estimate of the bytes the keyspace uses (for INFO `used_memory`).
    pub fn memory_estimate(&self) -> usize {
        // A slot and its control byte, the key's allocation (with its TTL
        // index slot), the value's.
        let per_key = std::mem::size_of::<Entry>() + 1;
        self.table.iter().map(|e| per_key + e.heap_bytes()).sum()
    }

    /// A random live key (RANDOMKEY): the first key at or after a random bucket.
    /// Expired keys met on the way are deleted, as Redis's lookup would.
    pub fn random_key(&mut self, now: u64) -> Option<KeyName> {
        loop {
            let buckets = self.table.num_buckets();
            if self.table.is_empty() || buckets == 0 {
                return None;
            }
            let start = (self.random() % buckets as u64) as usize;
            let found = (0..buckets)
                .map(|i| (start + i) % buckets)
                .find_map(|i| self.table.get_bucket(i))
                .map(|e| (e.name(), e.expired(now)))?;
            match found {
                (key, true) => {
                    self.remove(&key, now);
                }
                (key, false) => return Some(key),
            }
        }
    }

    /// A small xorshift PRNG: SPOP and the expiry sampler need randomness, not security.
    pub fn random(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }

    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The live entry for `key`, deleting it first if its TTL passed (lazy expiry).
    pub fn get(&mut self, key: &[u8], now: u64) -> Option<&mut Entry> {
        let hash = self.hash(key);
        match self.table.find_entry(hash, |e| e.key() == key) {
            Ok(occ) => {
                if occ.get().expired(now) {
                    if self.hold_expired {
                        return None;
                    }
                    let (e, _) = occ.remove();
                    e.leave(&mut self.ttl);
                    self.stats.expired_keys += 1;
                    if let Some(log) = &mut self.expired_log {
                        log.push(e.name());
                    }
                    None
                } else {
                    Some(occ.into_mut())
                }
            }
            Err(_) => None,
        }
    }

    /// True if `key` exists and has not expired.
    pub fn exists(&mut self, key: &[u8], now: u64) -> bool {
        self.get(key, now).is_some()
    }

    /// The live entry for `key`, or a new one holding `make()` (without TTL).
    pub fn get_or_insert_with(
        &mut self,
        key: &[u8],
        now: u64,
        make: impl FnOnce() -> Value,
    ) -> &mut Entry {
        self.note_write(key);
        let hash = self.hash(key);
        let Store {
            table,
            hasher,
            ttl,
            stats,
            expired_log,
            new_log,
            inserted,
            ..
        } = self;
        match table.find_entry(hash, |e| e.key() == key) {
            Ok(occ) => {
                if occ.get().expired(now) {
                    let (mut old, vacant) = occ.remove();
                    stats.expired_keys += 1;
                    if let Some(log) = expired_log {
                        log.push(old.name());
                    }
                    old.set_deadline(0, ttl);
                    old.value = make();
                    vacant.insert(old).into_mut()
                } else {
                    occ.into_mut()
                }
            }
            Err(absent) => {
                *inserted += 1;
                if let Some(log) = new_log {
                    log.push(key.into());
                }
                absent
                    .into_table()
                    .insert_unique(hash, Entry::new(key, make(), 0, ttl), |e| {
                        hasher.hash_one(e.key())
                    })
                    .into_mut()
            }
        }
    }

    /// Store a string at `key`, replacing any value of any type (SET). Overwriting a
    /// string reuses its buffer when that is not wasteful.
    pub fn set_string(&mut self, key: &[u8], val: &[u8], ttl_mode: Ttl, now: u64) {
        let hash = self.hash(key);
        let Store {
            table,
            hasher,
            ttl,
            inserted,
            new_log,
            ..
        } = self;
        match table.find_entry(hash, |e| e.key() == key) {
            Ok(mut occ) => {
                let e = occ.get_mut();
                match &mut e.value {
                    Value::Str(v) => v.set(val),
                    other => *other = Value::Str(Str::new(val)),
                }
                let mode = if ttl_mode == Ttl::Keep && e.expired(now) {
                    Ttl::Clear
                } else {
                    ttl_mode
                };
                match mode {
                    Ttl::Keep => {}
                    Ttl::Clear => e.set_deadline(0, ttl),
                    Ttl::At(at) => e.set_deadline(at.max(1), ttl),
                }
            }
            Err(absent) => {
                let at = match ttl_mode {
                    Ttl::At(at) => at.max(1),
                    _ => 0,
                };
                *inserted += 1;
                if let Some(log) = new_log {
                    log.push(key.into());
                }
                absent.into_table().insert_unique(
                    hash,
                    Entry::new(key, Value::Str(Str::new(val)), at, ttl),
                    |e| hasher.hash_one(e.key()),
                );
            }
        }
    }

    /// Put `value` at `key` with the given deadline (0: none), replacing what was there.
    pub fn insert(&mut self, key: &[u8], value: Value, expire_at: u64) {
        self.note_write(key);
        if self.remove_any(key).is_none() {
            if let Some(log) = &mut self.new_log {
                log.push(key.into());
            }
        }
        let hash = self.hash(key);
        let entry = Entry::new(key, value, expire_at, &mut self.ttl);
        let hasher = &self.hasher;
        self.inserted += 1;
        self.table
            .insert_unique(hash, entry, |e| hasher.hash_one(e.key()));
    }

    /// Delete `key`; returns the entry if it was live (an expired one is deleted too,
    /// but reported as absent, as Redis's DEL counts it).
    pub fn remove(&mut self, key: &[u8], now: u64) -> Option<Entry> {
        let e = self.remove_any(key)?;
        if e.expired(now) {
            self.stats.expired_keys += 1;
            if let Some(log) = &mut self.expired_log {
                log.push(e.name());
            }
            None
        } else {
            Some(e)
        }
    }

    fn remove_any(&mut self, key: &[u8]) -> Option<Entry> {
        let hash = self.hash(key);
        let (e, _) = self
            .table
            .find_entry(hash, |e| e.key() == key)
            .ok()?
            .remove();
        e.leave(&mut self.ttl);
        Some(e)
    }

    /// Delete `key` if it holds an empty collection (after a pop or a removal).
    pub fn remove_if_empty(&mut self, key: &[u8]) {
        let hash = self.hash(key);
        if let Ok(occ) = self.table.find_entry(hash, |e| e.key() == key) {
            if occ.get().value.is_empty_collection() {
                let (e, _) = occ.remove();
                e.leave(&mut self.ttl);
            }
        }
    }

    /// Set or clear the TTL of a live key. Returns false if the key does not exist.
    pub fn set_expire(&mut self, key: &[u8], at: Option<u64>, now: u64) -> bool {
        if self.get(key, now).is_none() {
            return false;
        }
        let hash = self.hash(key);
        let Some(e) = self.table.find_mut(hash, |e| e.key() == key) else {
            return false;
        };
        e.set_deadline(at.map_or(0, |at| at.max(1)), &mut self.ttl);
        true
    }

    /// Call `f` for every live key, in no particular order.
    pub fn for_each_live<'s>(&'s self, now: u64, mut f: impl FnMut(&'s Entry)) {
        for e in self.table.iter() {
            if !e.expired(now) {
                f(e);
            }
        }
    }

    /// Redis's active expiry cycle: sample up to 20 keys with a TTL, delete the
    /// expired ones, and repeat while more than a quarter of a sample had expired and
    /// `budget` is not used up. Returns how many keys were deleted.
    pub fn active_expire(&mut self, now: u64, budget: Duration) -> usize {
        const SAMPLE: usize = 20;
        let start = Instant::now();
        let mut total = 0;
        loop {
            let samples = self.ttl.len().min(SAMPLE);
            if samples == 0 {
                break;
            }
            let mut expired = 0;
            for _ in 0..samples {
                if self.ttl.is_empty() {
                    break;
                }
                let i = (self.random() % self.ttl.len() as u64) as usize;
                let Some(key) = self.ttl.get(i) else {
                    break;
                };
                let hash = self.hash(&key);
                if let Ok(occ) = self.table.find_entry(hash, |e| *e.key() == *key) {
                    if occ.get().expired(now) {
                        let (e, _) = occ.remove();
                        e.leave(&mut self.ttl);
                        self.stats.expired_keys += 1;
                        if let Some(log) = &mut self.expired_log {
                            log.push(e.name());
                        }
                        expired += 1;
                    }
                }
            }
            total += expired;
            if expired * 4 <= samples || start.elapsed() >= budget {
                break;
            }
        }
        total
    }

    /// One step of SCAN. Cursor 0 starts a scan by taking a snapshot of the key names
    /// (inline copies of short names, `Rc` clones of long ones); later cursors walk that snapshot `count`
    /// keys at a time, skipping keys deleted since, and calling `f` for each live key.
    /// Returns the next cursor (0 when done), or `None` for a cursor this store does
    /// not know (never issued, or its snapshot was dropped after
    /// [`MAX_SCANS`](super::cursor::MAX_SCANS) newer scans were started).
    ///
    /// Guarantee: every key that exists for the whole scan is returned exactly once;
    /// keys added after the scan started are not returned; keys deleted are not
    /// returned after their deletion. (Redis gives "at least once"; this is stronger.)
    pub fn scan(
        &mut self,
        cursor: u64,
        count: usize,
        now: u64,
        mut f: impl FnMut(&Entry),
    ) -> Option<u64> {
        let mut walk = if cursor == 0 {
            let keys = self.table.iter().map(Entry::name).collect();
            self.scans.start(b"", keys)
        } else {
            self.scans.resume(cursor, b"")?
        };
        for key in walk.batch(count) {
            if let Some(e) = self.get(key, now) {
                f(e);
            }
        }
        Some(self.scans.park(walk))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_three_words() {
        // The keyspace holds one per key: the compact forms must not grow it.
        assert_eq!(std::mem::size_of::<Value>(), 24);
        // And an entry, the table's slot, is five: a 16-byte key slot and the value.
        assert_eq!(std::mem::size_of::<Entry>(), 40);
    }

    #[test]
    fn lazy_expiry() {
        let mut s = Store::new();
        s.set_string(b"a", b"1", Ttl::At(1100), 1000);
        s.set_string(b"b", b"2", Ttl::Clear, 1000);
        assert_eq!(s.expires_len(), 1);
        assert!(s.get(b"a", 1099).is_some());
        assert!(s.get(b"a", 1100).is_none());
        assert_eq!(s.len(), 1);
        assert_eq!(s.expires_len(), 0);
        assert_eq!(s.stats.expired_keys, 1);
    }

    #[test]
    fn set_clears_or_keeps_ttl() {
        let mut s = Store::new();
        s.set_string(b"a", b"1", Ttl::At(5000), 1000);
        s.set_string(b"a", b"2", Ttl::Keep, 1000);
        assert_eq!(s.get(b"a", 1000).unwrap().expire_at(), Some(5000));
        s.set_string(b"a", b"3", Ttl::Clear, 1000);
        assert_eq!(s.get(b"a", 1000).unwrap().expire_at(), None);
        assert_eq!(s.expires_len(), 0);
    }

    #[test]
    fn active_cycle_removes_expired_keys() {
        let mut s = Store::new();
        for i in 0..10_000u32 {
            let k = i.to_string();
            let ttl = if i % 2 == 0 {
                Ttl::At(2000)
            } else {
                Ttl::At(99_000)
            };
            s.set_string(k.as_bytes(), b"v", ttl, 1000);
        }
        for i in 0..1000u32 {
            s.set_string(format!("p{i}").as_bytes(), b"v", Ttl::Clear, 1000);
        }
        assert_eq!(s.active_expire(1500, Duration::from_millis(1)), 0);
        let mut removed = 0;
        for _ in 0..1000 {
            removed += s.active_expire(3000, Duration::from_millis(1));
            if s.expires_len() < 5_500 {
                break;
            }
        }
        assert!(removed > 4_000, "removed {removed}");
        assert_eq!(s.len(), 11_000 - removed);
        assert_eq!(s.expires_len(), 10_000 - removed);
    }

    #[test]
    fn scan_returns_stable_keys_once_despite_churn() {
        let mut s = Store::new();
        for i in 0..1000u32 {
            s.set_string(format!("k{i}").as_bytes(), b"v", Ttl::Clear, 0);
        }
        let mut seen = std::collections::HashMap::new();
        let mut cursor = 0;
        let mut round = 0u32;
        loop {
            let mut got = Vec::new();
            cursor = s
                .scan(cursor, 10, 0, |e| got.push(e.key().to_vec()))
                .unwrap();
            for k in got {
                *seen.entry(k).or_insert(0) += 1;
            }
            // Churn: add and delete other keys between calls.
            s.set_string(format!("new{round}").as_bytes(), b"v", Ttl::Clear, 0);
            s.remove(format!("new{}", round / 2).as_bytes(), 0);
            round += 1;
            if cursor == 0 {
                break;
            }
        }
        for i in 0..1000u32 {
            assert_eq!(seen.get(format!("k{i}").as_bytes()), Some(&1), "k{i}");
        }
        assert_eq!(s.scan(12345 << 32, 10, 0, |_| {}), None);
    }
}
