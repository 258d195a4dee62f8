//! WATCH and UNWATCH: optimistic locking for transactions, as Redis's `multi.c`.
//!
//! A client watches keys, then queues a transaction; `EXEC` answers a null array
//! and runs nothing if any watched key changed in between — written by any client
//! (this one included), deleted, expired, flushed, swapped away by `SWAPDB` or
//! moved by `MOVE`. `EXEC`, `DISCARD`, `UNWATCH`, `RESET` and the connection's
//! end forget the client's watches.
//!
//! Each database keeps the keys some client watches ([`WatchedKeys`], empty — one
//! check per write — while nobody watches) with the stamp of their last change,
//! from one service-wide counter; a client keeps, per watched key, the counter's
//! value when it started watching and whether the key existed then. A watched key
//! changed if its stamp is newer, or if it existed and no longer does (it expired:
//! Redis 7 counts that as a change too, while watching a key that had already
//! expired is not one).
//!
//! A write command counts as changing the keys it names unless its reply says it
//! changed nothing (an error, `0` from `DEL`/`SADD`/`EXPIRE` and the like, a nil
//! from a pop of a missing key). That is a slight over-approximation of Redis,
//! which touches a key only where a command really modified it (`HSET` of a field
//! to the value it already had touches the key in both): `EXEC` can fail where
//! Redis's would not, in rare cases, never the reverse.

use std::collections::HashMap;

use super::command::Ctx;
use super::frame::Argv;
use super::reply::{self, Reply};
use super::store::{Bytes, Hasher, Store};
use super::Shared;

/// The keys of one database that clients watch, with the stamp of each one's last
/// change (0: not changed since anyone started watching it).
#[derive(Debug, Default)]
pub(crate) struct WatchedKeys {
    keys: HashMap<Bytes, Watch, Hasher>,
}

#[derive(Debug)]
struct Watch {
    /// Clients watching the key.
    watchers: u32,
    /// Stamp of the last change.
    touched: u64,
}

impl WatchedKeys {
    /// True while no client watches a key of this database.
    pub(crate) fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// `key` changed now.
    pub(crate) fn touch(&mut self, key: &[u8], stamp: u64) {
        if let Some(w) = self.keys.get_mut(key) {
            w.touched = stamp;
        }
    }

    fn add(&mut self, key: &[u8]) {
        match self.keys.get_mut(key) {
            Some(w) => w.watchers += 1,
            None => {
                self.keys.insert(
                    key.into(),
                    Watch {
                        watchers: 1,
                        touched: 0,
                    },
                );
            }
        }
    }

    fn release(&mut self, key: &[u8]) {
        if let Some(w) = self.keys.get_mut(key) {
            w.watchers -= 1;
            if w.watchers == 0 {
                self.keys.remove(key);
            }
        }
    }

    fn touched(&self, key: &[u8]) -> u64 {
        self.keys.get(key).map_or(0, |w| w.touched)
    }
}

/// One key a client watches.
#[derive(Debug)]
pub(crate) struct Watched {
    db: usize,
    key: Bytes,
    /// The service's stamp when the client started watching.
    since: u64,
    /// The key held a live value then.
    existed: bool,
}

/// A new stamp from the service-wide counter.
pub(crate) fn stamp(shared: &Shared) -> u64 {
    let n = shared.watch_clock.get() + 1;
    shared.watch_clock.set(n);
    n
}

/// Touch every watched key of `store` that holds a value in it or in `other`
/// (FLUSHDB, FLUSHALL and SWAPDB change exactly those; a watched key absent from
/// both stays absent).
pub(crate) fn touch_existing(shared: &Shared, store: &mut Store, other: Option<&Store>) {
    if store.watched.is_empty() {
        return;
    }
    let changed: Vec<Bytes> = store
        .watched
        .keys
        .keys()
        .filter(|k| store.peek(k).is_some() || other.is_some_and(|o| o.peek(k).is_some()))
        .cloned()
        .collect();
    if changed.is_empty() {
        return;
    }
    let s = stamp(shared);
    for k in changed {
        store.watched.touch(&k, s);
    }
}

/// Call `f` with database `db`: the context's own borrow if it is the client's
/// database (a second borrow of it would fail).
fn with_db<R>(c: &mut Ctx<'_, '_>, db: usize, f: impl FnOnce(&mut Store) -> R) -> R {
    if db == c.client.db {
        f(&mut c.store)
    } else {
        f(&mut c.shared.db(db).borrow_mut())
    }
}

pub(crate) fn watch(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    if c.client.multi.is_some() {
        return reply::error(out, b"ERR WATCH inside MULTI is not allowed");
    }
    let since = c.shared.watch_clock.get();
    let db = c.client.db;
    for key in a.iter_from(1) {
        if c.client
            .watching
            .iter()
            .any(|w| w.db == db && *w.key == *key)
        {
            continue;
        }
        let existed = c.store.exists(key, c.now);
        c.store.watched.add(key);
        c.client.watching.push(Watched {
            db,
            key: key.into(),
            since,
            existed,
        });
    }
    reply::ok(out);
}

pub(crate) fn unwatch(c: &mut Ctx<'_, '_>, _: Argv<'_>, out: &mut Reply<'_>) {
    unwatch_all(c);
    reply::ok(out);
}

/// Forget every key the client watches.
pub(crate) fn unwatch_all(c: &mut Ctx<'_, '_>) {
    for w in std::mem::take(&mut c.client.watching) {
        with_db(c, w.db, |s| s.watched.release(&w.key));
    }
}

/// Forget the watches of a client going away (no database is borrowed then).
pub(crate) fn forget(shared: &Shared, watching: &mut Vec<Watched>) {
    for w in watching.drain(..) {
        if let Ok(mut s) = shared.db(w.db).try_borrow_mut() {
            s.watched.release(&w.key);
        }
    }
}

/// Whether a key the client watches changed since it started watching (EXEC).
pub(crate) fn changed(c: &mut Ctx<'_, '_>) -> bool {
    let now = c.now;
    let watching = std::mem::take(&mut c.client.watching);
    let changed = watching.iter().any(|w| {
        with_db(c, w.db, |s| {
            s.watched.touched(&w.key) > w.since || (w.existed && !s.exists(&w.key, now))
        })
    });
    c.client.watching = watching;
    changed
}

/// Replies that say a write changed nothing, per command: the rule WATCH and
/// the append-only file used before handlers reported their effects, kept in
/// debug builds to cross-check those reports (see `command::execute`).
#[cfg(debug_assertions)]
pub(crate) fn changed_nothing(name: &[u8], reply: &[u8]) -> bool {
    match reply {
        [] | [b'-', ..] => true,
        b":0\r\n" => matches!(
            name,
            b"del"
                | b"unlink"
                | b"sadd"
                | b"srem"
                | b"smove"
                | b"hdel"
                | b"hsetnx"
                | b"zrem"
                | b"zremrangebyrank"
                | b"zremrangebyscore"
                | b"zremrangebylex"
                | b"lrem"
                | b"lpushx"
                | b"rpushx"
                | b"expire"
                | b"pexpire"
                | b"expireat"
                | b"pexpireat"
                | b"persist"
                | b"setnx"
                | b"msetnx"
                | b"renamenx"
        ),
        b"$-1\r\n" | b"*-1\r\n" | b"*0\r\n" => matches!(
            name,
            b"lpop"
                | b"rpop"
                | b"spop"
                | b"getdel"
                | b"getex"
                | b"lmpop"
                | b"zmpop"
                | b"zpopmin"
                | b"zpopmax"
                | b"lmove"
                | b"rpoplpush"
        ),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{advance, encode, Harness};
    use super::super::KvSession;
    use evloop::service::Session;

    /// One command on a second client of the same service.
    fn on(sess: &mut KvSession, args: &[&str]) -> String {
        let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        let mut out = Vec::new();
        sess.on_input(
            &mut evloop::Detached::new().ctx(std::time::Instant::now()),
            &encode(&bytes),
            &mut out,
        );
        String::from_utf8_lossy(&out).into_owned()
    }

    /// WATCH `key` on `h`, let `other` run `change`, then try a transaction.
    fn exec_after(h: &mut Harness, key: &str, change: &[&[&str]]) -> String {
        let mut other = h.svc.session();
        assert_eq!(h.cmd(&["WATCH", key]), "+OK\r\n");
        for args in change {
            on(&mut other, args);
        }
        assert_eq!(h.cmd(&["MULTI"]), "+OK\r\n");
        assert_eq!(h.cmd(&["PING"]), "+QUEUED\r\n");
        h.cmd(&["EXEC"])
    }

    const RAN: &str = "*1\r\n+PONG\r\n";
    const ABORTED: &str = "*-1\r\n";

    #[test]
    fn a_write_by_another_client_aborts_exec() {
        let mut h = Harness::new();
        h.cmd(&["SET", "x", "1"]);
        assert_eq!(exec_after(&mut h, "x", &[&["SET", "x", "2"]]), ABORTED);
        // The watch ended with EXEC: the next transaction runs.
        assert_eq!(h.cmd(&["MULTI"]), "+OK\r\n");
        h.cmd(&["INCR", "x"]);
        assert_eq!(h.cmd(&["EXEC"]), "*1\r\n:3\r\n");
        // Reads and writes of other keys do not count.
        assert_eq!(
            exec_after(&mut h, "x", &[&["GET", "x"], &["SET", "y", "1"]]),
            RAN
        );
        // Nor does a write that changed nothing.
        assert_eq!(
            exec_after(&mut h, "x", &[&["SETNX", "x", "9"], &["DEL", "nokey"]]),
            RAN
        );
        // The client's own write counts too, as in Redis.
        assert_eq!(h.cmd(&["WATCH", "x"]), "+OK\r\n");
        h.cmd(&["SET", "x", "5"]);
        h.cmd(&["MULTI"]);
        assert_eq!(h.cmd(&["EXEC"]), ABORTED);
    }

    #[test]
    fn unwatch_discard_and_watch_inside_multi() {
        let mut h = Harness::new();
        let mut other = h.svc.session();
        assert_eq!(h.cmd(&["WATCH", "x", "y"]), "+OK\r\n");
        on(&mut other, &["SET", "x", "1"]);
        assert_eq!(h.cmd(&["UNWATCH"]), "+OK\r\n");
        h.cmd(&["MULTI"]);
        assert_eq!(
            h.cmd(&["WATCH", "z"]),
            "-ERR WATCH inside MULTI is not allowed\r\n"
        );
        assert_eq!(h.cmd(&["EXEC"]), "*0\r\n");
        h.cmd(&["WATCH", "x"]);
        on(&mut other, &["SET", "x", "2"]);
        h.cmd(&["MULTI"]);
        assert_eq!(h.cmd(&["DISCARD"]), "+OK\r\n");
        h.cmd(&["MULTI"]);
        assert_eq!(h.cmd(&["EXEC"]), "*0\r\n");
        // An EXECABORT ends the watch as well.
        h.cmd(&["WATCH", "x"]);
        h.cmd(&["MULTI"]);
        h.cmd(&["NOSUCHCOMMAND"]);
        assert!(h.cmd(&["EXEC"]).starts_with("-EXECABORT"));
        assert!(h.svc.shared.db(0).borrow().watched.is_empty());
    }

    #[test]
    fn expiry_counts_as_a_change_but_an_already_expired_key_does_not() {
        let mut h = Harness::new();
        h.cmd(&["SET", "x", "1", "PX", "100"]);
        h.cmd(&["WATCH", "x"]);
        advance(200);
        h.cmd(&["MULTI"]);
        assert_eq!(h.cmd(&["EXEC"]), ABORTED);
        // Watched while already stale: absent then, absent now.
        h.cmd(&["SET", "y", "1", "PX", "100"]);
        advance(200);
        h.cmd(&["WATCH", "y"]);
        h.cmd(&["MULTI"]);
        assert_eq!(h.cmd(&["EXEC"]), "*0\r\n");
        // EXPIRE on a watched key changes it.
        h.cmd(&["SET", "z", "1"]);
        assert_eq!(exec_after(&mut h, "z", &[&["EXPIRE", "z", "100"]]), ABORTED);
    }

    #[test]
    fn flush_swapdb_and_move_touch_the_keys_they_change() {
        let mut h = Harness::new();
        h.cmd(&["SET", "x", "1"]);
        assert_eq!(exec_after(&mut h, "x", &[&["FLUSHDB"]]), ABORTED);
        // A flush of a database where the watched key is absent changes nothing.
        assert_eq!(exec_after(&mut h, "x", &[&["FLUSHALL"]]), RAN);
        h.cmd(&["SET", "x", "1"]);
        assert_eq!(
            exec_after(&mut h, "x", &[&["SELECT", "3"], &["FLUSHALL"]]),
            ABORTED
        );
        // SWAPDB with a database holding the key brings it into existence here.
        let mut other = h.svc.session();
        on(&mut other, &["SELECT", "5"]);
        on(&mut other, &["SET", "w", "5"]);
        assert_eq!(exec_after(&mut h, "w", &[&["SWAPDB", "0", "5"]]), ABORTED);
        assert_eq!(exec_after(&mut h, "nokey", &[&["SWAPDB", "0", "5"]]), RAN);
        // MOVE takes the key away.
        h.cmd(&["SET", "m", "1"]);
        assert_eq!(exec_after(&mut h, "m", &[&["MOVE", "m", "7"]]), ABORTED);
        // The watch remembers its database.
        h.cmd(&["SET", "k", "1"]);
        h.cmd(&["WATCH", "k"]);
        h.cmd(&["SELECT", "1"]);
        h.cmd(&["SET", "k", "other db"]);
        h.cmd(&["MULTI"]);
        assert_eq!(h.cmd(&["EXEC"]), "*0\r\n");
        h.cmd(&["SELECT", "0"]);
        h.cmd(&["WATCH", "k"]);
        h.cmd(&["SELECT", "1"]);
        on(&mut other, &["SELECT", "0"]);
        on(&mut other, &["SET", "k", "2"]);
        h.cmd(&["MULTI"]);
        assert_eq!(h.cmd(&["EXEC"]), ABORTED);
    }

    #[test]
    fn a_closed_client_leaves_no_watch_behind() {
        let mut h = Harness::new();
        let mut other = h.svc.session();
        assert_eq!(on(&mut other, &["WATCH", "a", "b"]), "+OK\r\n");
        assert!(!h.svc.shared.db(0).borrow().watched.is_empty());
        drop(other);
        assert!(h.svc.shared.db(0).borrow().watched.is_empty());
    }
}
