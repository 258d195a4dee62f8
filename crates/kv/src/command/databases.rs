//! The numbered databases: SELECT, MOVE, COPY, SWAPDB, DBSIZE, FLUSHDB, FLUSHALL.
//!
//! There are [`DATABASES`] keyspaces, each a [`Store`] of its own behind its own
//! `RefCell`; a client's commands borrow the one it selected, so the common path
//! (every command in database 0) costs one index and one borrow flag. Commands
//! that reach another database borrow it next to the client's own: the two are
//! always distinct (MOVE and SWAPDB check that first).
//!
//! Clients blocked on keys stay with the database index, as in Redis: SWAPDB
//! exchanges the keys, not the waiters, and wakes those whose keys now exist.
//!
//! The append-only file keeps database 0 only: while it is on, the other databases
//! are refused with an error rather than accepted and then lost on restart.

use super::super::blocking;
use super::super::DATABASES;
use super::*;
use crate::notify;

const OUT_OF_RANGE: &[u8] = b"ERR DB index is out of range";
const AOF_DB0_ONLY: &[u8] =
    b"ERR only database 0 is available while appendonly is on (the log keeps database 0)";

/// A database index argument: `Err` is the reply for a non-integer (`not_int`)
/// or one out of range.
fn db_index(arg: &[u8], not_int: &'static [u8]) -> Result<usize, &'static [u8]> {
    let n = parse_i64(arg).ok_or(not_int)?;
    usize::try_from(n)
        .ok()
        .filter(|&n| n < DATABASES)
        .ok_or(OUT_OF_RANGE)
}

/// Whether a command may reach database `n` (only 0 while the log is on).
fn reachable(c: &Ctx<'_, '_>, n: usize) -> bool {
    n == 0 || !c.shared.aof_on.get()
}

/// Make database `n` the client's (SELECT, RESET).
pub(super) fn select_db(c: &mut Ctx<'_, '_>, n: usize) {
    if n != c.client.db {
        if !c.store.ready.is_empty() {
            // Served once the command (an EXEC) is over, as Redis does.
            c.shared.left_ready.set(true);
        }
        c.store = c.shared.db(n).borrow_mut();
        c.client.db = n;
        c.client.record.db.set(n);
    }
}

/// Call `f` with every database in order, the client's own included.
pub(super) fn each_db(c: &Ctx<'_, '_>, mut f: impl FnMut(usize, &Store)) {
    for n in 0..DATABASES {
        if n == c.client.db {
            f(n, &c.store);
        } else {
            f(n, &c.shared.db(n).borrow());
        }
    }
}

pub(super) fn select(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    match db_index(a.get(1), NOT_INT) {
        Err(e) => reply::error(out, e),
        Ok(n) if !reachable(c, n) => reply::error(out, AOF_DB0_ONLY),
        Ok(n) => {
            select_db(c, n);
            reply::ok(out);
        }
    }
}

pub(super) fn dbsize(c: &mut Ctx<'_, '_>, _: Argv<'_>, out: &mut Reply<'_>) {
    reply::int(out, c.store.len() as i64);
}

/// FLUSHDB and FLUSHALL take `ASYNC` or `SYNC`; both free at once here (a
/// keyspace is dropped in one go, with nothing to do in the background).
fn flush_mode_ok(a: &Argv<'_>) -> bool {
    a.len() == 1 || (a.len() == 2 && (eq(a.get(1), b"sync") || eq(a.get(1), b"async")))
}

pub(super) fn flushdb(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    if !flush_mode_ok(&a) {
        return reply::error(out, SYNTAX);
    }
    touch_existing(c.shared, &mut c.store, None);
    c.store.clear();
    // A change even of an empty database (Redis forces it into the log); no
    // keyspace events; every tracking client forgets everything.
    c.dirty();
    let id = c.client.record.id;
    crate::tracking::flushed(c.shared, c.net, Some(id));
    reply::ok(out);
}

pub(super) fn flushall(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    if !flush_mode_ok(&a) {
        return reply::error(out, SYNTAX);
    }
    touch_existing(c.shared, &mut c.store, None);
    c.store.clear();
    for n in (0..DATABASES).filter(|&n| n != c.client.db) {
        let mut db = c.shared.db(n).borrow_mut();
        touch_existing(c.shared, &mut db, None);
        db.clear();
    }
    // As FLUSHDB: one change, no keyspace events, tracking flushed.
    c.dirty();
    let id = c.client.record.id;
    crate::tracking::flushed(c.shared, c.net, Some(id));
    reply::ok(out);
}

/// MOVE key db: 1 if moved (with its TTL), 0 if absent here or present there.
pub(super) fn move_(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let to = match db_index(a.get(2), NOT_INT) {
        Ok(n) => n,
        Err(e) => return reply::error(out, e),
    };
    if to == c.client.db {
        return reply::error(out, b"ERR source and destination objects are the same");
    }
    if !reachable(c, to) {
        return reply::error(out, AOF_DB0_ONLY);
    }
    let key = a.get(1);
    let mut dst = c.shared.db(to).borrow_mut();
    if !c.store.exists(key, c.now) || dst.exists(key, c.now) {
        return reply::int(out, 0);
    }
    if let Some((value, expire_at)) = c.store.take(key, c.now) {
        dst.insert(key, value, expire_at);
    }
    c.modified(key);
    dst.watched.touch(key, stamp(c.shared));
    c.dirty();
    c.notify(notify::GENERIC, "move_from", key);
    c.notify_in(to, notify::GENERIC, "move_to", key);
    reply::int(out, 1);
    serve_other(c, &mut dst, to);
}

/// COPY src dst [DB n] [REPLACE]: a copy of the value and its TTL under a new
/// name, in this database or database `n`; 1 if copied, 0 if `src` is missing or
/// `dst` exists (without REPLACE).
pub(super) fn copy(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let (src, dst) = (a.get(1), a.get(2));
    let mut to = c.client.db;
    let mut replace = false;
    let mut i = 3;
    while i < a.len() {
        let opt = a.get(i);
        if eq(opt, b"replace") {
            replace = true;
        } else if eq(opt, b"db") && i + 1 < a.len() {
            to = match db_index(a.get(i + 1), NOT_INT) {
                Ok(n) => n,
                Err(e) => return reply::error(out, e),
            };
            i += 1;
        } else {
            return reply::error(out, SYNTAX);
        }
        i += 1;
    }
    if !reachable(c, to) {
        return reply::error(out, AOF_DB0_ONLY);
    }
    if to == c.client.db && src == dst {
        return reply::error(out, b"ERR source and destination objects are the same");
    }
    let now = c.now;
    let Some((value, expire_at)) = c
        .store
        .get(src, now)
        .map(|e| (e.value.clone(), e.expire_at().unwrap_or(0)))
    else {
        return reply::int(out, 0);
    };
    if to == c.client.db {
        if c.store.exists(dst, now) && !replace {
            return reply::int(out, 0);
        }
        c.store.insert(dst, value, expire_at);
        c.modified(dst);
        c.notify(notify::GENERIC, "copy_to", dst);
        return reply::int(out, 1);
    }
    let mut other = c.shared.db(to).borrow_mut();
    if other.exists(dst, now) && !replace {
        return reply::int(out, 0);
    }
    other.insert(dst, value, expire_at);
    other.watched.touch(dst, stamp(c.shared));
    c.dirty();
    let id = c.client.record.id;
    crate::tracking::invalidate(c.shared, c.net, dst, Some(id));
    c.notify_in(to, notify::GENERIC, "copy_to", dst);
    reply::int(out, 1);
    serve_other(c, &mut other, to);
}

/// SWAPDB a b: exchange two databases' keys; clients stay where they are.
pub(super) fn swapdb(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let first = match db_index(a.get(1), b"ERR invalid first DB index") {
        Ok(n) => n,
        Err(e) => return reply::error(out, e),
    };
    let second = match db_index(a.get(2), b"ERR invalid second DB index") {
        Ok(n) => n,
        Err(e) => return reply::error(out, e),
    };
    if !reachable(c, first) || !reachable(c, second) {
        return reply::error(out, AOF_DB0_ONLY);
    }
    // A change even when the two are one (as Redis counts it); no keyspace
    // events.
    c.dirty();
    reply::ok(out);
    if first == second {
        return;
    }
    let own = c.client.db;
    if first == own || second == own {
        let other = if first == own { second } else { first };
        let mut other = c.shared.db(other).borrow_mut();
        touch_existing(c.shared, &mut c.store, Some(&other));
        touch_existing(c.shared, &mut other, Some(&c.store));
        c.store.swap_keys(&mut other);
        // The client's own database is served after this command, as any write.
        serve_other(c, &mut other, if first == own { second } else { first });
    } else {
        let mut x = c.shared.db(first).borrow_mut();
        let mut y = c.shared.db(second).borrow_mut();
        touch_existing(c.shared, &mut x, Some(&y));
        touch_existing(c.shared, &mut y, Some(&x));
        x.swap_keys(&mut y);
        serve_other(c, &mut x, first);
        serve_other(c, &mut y, second);
    }
}

/// Serve the clients blocked in a database other than the caller's whose keys
/// this command filled (the caller's own is served after every command).
fn serve_other(c: &mut Ctx<'_, '_>, db: &mut Store, index: usize) {
    if !db.ready.is_empty() {
        blocking::serve_ready(db, index, c.now, c.net, c.shared);
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::testutil::Harness;

    fn bulk(s: &str) -> String {
        format!("${}\r\n{}\r\n", s.len(), s)
    }

    #[test]
    fn each_database_is_its_own_keyspace() {
        let mut h = Harness::new();
        assert_eq!(h.cmd(&["SET", "k", "zero"]), "+OK\r\n");
        assert_eq!(h.cmd(&["SELECT", "15"]), "+OK\r\n");
        assert_eq!(h.cmd(&["GET", "k"]), "$-1\r\n");
        assert_eq!(h.cmd(&["SET", "k", "fifteen"]), "+OK\r\n");
        assert_eq!(h.cmd(&["SET", "other", "x"]), "+OK\r\n");
        assert_eq!(h.cmd(&["DBSIZE"]), ":2\r\n");
        assert_eq!(h.cmd(&["SELECT", "0"]), "+OK\r\n");
        assert_eq!(h.cmd(&["GET", "k"]), bulk("zero"));
        assert_eq!(h.cmd(&["DBSIZE"]), ":1\r\n");
        assert_eq!(
            h.cmd(&["SELECT", "16"]),
            "-ERR DB index is out of range\r\n"
        );
        assert_eq!(
            h.cmd(&["SELECT", "-1"]),
            "-ERR DB index is out of range\r\n"
        );
        assert_eq!(
            h.cmd(&["SELECT", "x"]),
            "-ERR value is not an integer or out of range\r\n"
        );
        let info = h.cmd(&["INFO", "keyspace"]);
        assert!(
            info.contains("db0:keys=1,expires=0,avg_ttl=0\r\n"),
            "{info}"
        );
        assert!(
            info.contains("db15:keys=2,expires=0,avg_ttl=0\r\n"),
            "{info}"
        );
        assert!(h.cmd(&["CLIENT", "LIST"]).contains(" db=0 "));
        assert_eq!(h.svc.dbsize(), 3);
        // RESET goes back to database 0.
        assert_eq!(h.cmd(&["SELECT", "15"]), "+OK\r\n");
        assert!(h.cmd(&["CLIENT", "LIST"]).contains(" db=15 "));
        assert_eq!(h.cmd(&["RESET"]), "+RESET\r\n");
        assert_eq!(h.cmd(&["GET", "k"]), bulk("zero"));
    }

    #[test]
    fn select_inside_a_pipeline_and_a_transaction_applies_to_what_follows() {
        let mut h = Harness::new();
        let mut input = Vec::new();
        for args in [
            &["SELECT", "2"][..],
            &["SET", "a", "1"],
            &["SELECT", "0"],
            &["GET", "a"],
        ] {
            let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
            input.extend(super::super::super::testutil::encode(&args));
        }
        let (reply, _) = h.raw(&input);
        assert_eq!(reply, "+OK\r\n+OK\r\n+OK\r\n$-1\r\n");
        assert_eq!(h.cmd(&["MULTI"]), "+OK\r\n");
        assert_eq!(h.cmd(&["SELECT", "2"]), "+QUEUED\r\n");
        assert_eq!(h.cmd(&["INCR", "a"]), "+QUEUED\r\n");
        assert_eq!(h.cmd(&["EXEC"]), "*2\r\n+OK\r\n:2\r\n");
        assert_eq!(h.cmd(&["GET", "a"]), bulk("2"));
    }

    #[test]
    fn move_keeps_the_ttl_and_refuses_what_redis_refuses() {
        let mut h = Harness::new();
        assert_eq!(h.cmd(&["SET", "k", "v", "PX", "5000"]), "+OK\r\n");
        assert_eq!(h.cmd(&["MOVE", "k", "3"]), ":1\r\n");
        assert_eq!(h.cmd(&["EXISTS", "k"]), ":0\r\n");
        assert_eq!(h.cmd(&["MOVE", "k", "3"]), ":0\r\n");
        assert_eq!(h.cmd(&["SET", "k", "here"]), "+OK\r\n");
        // Present in the target: not moved.
        assert_eq!(h.cmd(&["MOVE", "k", "3"]), ":0\r\n");
        assert_eq!(
            h.cmd(&["MOVE", "k", "0"]),
            "-ERR source and destination objects are the same\r\n"
        );
        assert_eq!(
            h.cmd(&["MOVE", "k", "16"]),
            "-ERR DB index is out of range\r\n"
        );
        assert_eq!(
            h.cmd(&["MOVE", "k", "x"]),
            "-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(h.cmd(&["SELECT", "3"]), "+OK\r\n");
        assert_eq!(h.cmd(&["GET", "k"]), bulk("v"));
        let pttl = h.cmd(&["PTTL", "k"]);
        assert_eq!(pttl, ":5000\r\n");
    }

    #[test]
    fn swapdb_exchanges_keys_and_flushall_clears_every_database() {
        let mut h = Harness::new();
        assert_eq!(h.cmd(&["SET", "a", "in0"]), "+OK\r\n");
        assert_eq!(h.cmd(&["SELECT", "1"]), "+OK\r\n");
        assert_eq!(h.cmd(&["SET", "b", "in1"]), "+OK\r\n");
        assert_eq!(h.cmd(&["SELECT", "4"]), "+OK\r\n");
        assert_eq!(h.cmd(&["SET", "c", "in4"]), "+OK\r\n");
        assert_eq!(h.cmd(&["SELECT", "1"]), "+OK\r\n");
        // The client's own database with another one.
        assert_eq!(h.cmd(&["SWAPDB", "0", "1"]), "+OK\r\n");
        assert_eq!(h.cmd(&["GET", "a"]), bulk("in0"));
        assert_eq!(h.cmd(&["GET", "b"]), "$-1\r\n");
        // Two databases other than the client's.
        assert_eq!(h.cmd(&["SWAPDB", "0", "4"]), "+OK\r\n");
        assert_eq!(h.cmd(&["SWAPDB", "2", "2"]), "+OK\r\n");
        assert_eq!(h.cmd(&["SELECT", "0"]), "+OK\r\n");
        assert_eq!(h.cmd(&["GET", "c"]), bulk("in4"));
        assert_eq!(h.cmd(&["SELECT", "4"]), "+OK\r\n");
        assert_eq!(h.cmd(&["GET", "b"]), bulk("in1"));
        assert_eq!(
            h.cmd(&["SWAPDB", "x", "1"]),
            "-ERR invalid first DB index\r\n"
        );
        assert_eq!(
            h.cmd(&["SWAPDB", "1", "y"]),
            "-ERR invalid second DB index\r\n"
        );
        assert_eq!(
            h.cmd(&["SWAPDB", "1", "99"]),
            "-ERR DB index is out of range\r\n"
        );
        assert_eq!(h.cmd(&["FLUSHDB", "ASYNC"]), "+OK\r\n");
        assert_eq!(h.cmd(&["DBSIZE"]), ":0\r\n");
        assert_eq!(h.svc.dbsize(), 2);
        assert_eq!(h.cmd(&["FLUSHALL", "nope"]), "-ERR syntax error\r\n");
        assert_eq!(h.cmd(&["FLUSHALL", "SYNC"]), "+OK\r\n");
        assert_eq!(h.svc.dbsize(), 0);
    }
}
