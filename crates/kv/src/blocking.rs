//! Blocking list and sorted-set commands — `BLPOP`, `BRPOP`, `BLMOVE`,
//! `BRPOPLPUSH`, `BLMPOP`, `BZPOPMIN`, `BZPOPMAX`, `BZMPOP` — and their
//! non-blocking forms (`LMOVE`, `RPOPLPUSH`, `LMPOP`, `ZPOPMAX`, `ZMPOP`), as Redis's
//! `blocked.c` and `t_list.c` do them.
//!
//! A blocking command that finds data answers at once. Otherwise its client is
//! queued on every key it named ([`Blocked`], kept in the store as Redis keeps it
//! per database), the session stops taking commands, and a timer is set for its
//! timeout (`0`: none). Any write that may fill a watched key (a push, `RENAME`,
//! `LMOVE` into it, …) marks the key *ready* in the store; after each command the
//! session that ran it serves the ready keys: it takes the clients blocked on them
//! in the order they blocked, runs each one's pop on its behalf while data lasts,
//! [pushes](evloop::Ctx::push) the reply to that client and
//! [wakes](evloop::Ctx::wake) it. The woken session finds itself no longer queued,
//! cancels its timer and goes on with the commands that arrived meanwhile. A
//! timeout answers a null array; a client that disconnects leaves every queue.
//!
//! A session driven without a reactor ([`evloop::Detached`]) has no connection to be
//! woken on, so there a blocking command behaves like its non-blocking form, as
//! inside `MULTI` in Redis.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use super::command::{self, Ctx};
use super::frame::{parse_i64, Argv};
use super::reply::{self, Reply};
use super::store::{Bytes, Hasher, Store, Value};
use super::values::list::{Fill, List};
use evloop::ConnId;

/// The timer token of a blocked client's timeout.
pub(crate) const TIMEOUT_TIMER: u64 = 1;

/// What a blocked client waits to do once a key has data.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    /// BLPOP / BRPOP: `[key, element]`.
    Pop { left: bool },
    /// BLMOVE / BRPOPLPUSH: the element, pushed onto `to`.
    Move {
        from_left: bool,
        to: Bytes,
        to_left: bool,
    },
    /// BLMPOP: `[key, [elements]]`.
    MPop { left: bool, count: usize },
    /// BZPOPMIN / BZPOPMAX: `[key, member, score]`.
    ZPop { max: bool },
    /// BZMPOP: `[key, [[member, score], …]]`.
    ZMPop { max: bool, count: usize },
}

impl Op {
    fn wants_list(&self) -> bool {
        matches!(self, Op::Pop { .. } | Op::Move { .. } | Op::MPop { .. })
    }
}

/// One blocked client.
#[derive(Debug)]
struct Waiter {
    keys: Vec<Bytes>,
    op: Op,
    /// The client speaks RESP3 (its reply is written when it is served).
    resp3: bool,
}

/// Clients blocked on keys, in the order they blocked.
#[derive(Debug, Default)]
pub struct Blocked {
    by_key: HashMap<Bytes, VecDeque<ConnId>, Hasher>,
    waiters: HashMap<ConnId, Waiter, Hasher>,
}

impl Blocked {
    /// No client is blocked.
    pub fn is_empty(&self) -> bool {
        self.waiters.is_empty()
    }

    /// Number of blocked clients (INFO's `blocked_clients`).
    pub fn len(&self) -> usize {
        self.waiters.len()
    }

    /// Some client is blocked on `key`.
    pub fn watches(&self, key: &[u8]) -> bool {
        self.by_key.contains_key(key)
    }

    /// Every key some client is blocked on.
    pub fn keys(&self) -> impl Iterator<Item = &[u8]> {
        self.by_key.keys().map(|k| &**k)
    }

    /// Whether connection `id` is still waiting.
    pub(crate) fn is_waiting(&self, id: ConnId) -> bool {
        self.waiters.contains_key(&id)
    }

    fn block(&mut self, id: ConnId, mut keys: Vec<Bytes>, op: Op, resp3: bool) {
        // A key named twice queues the client once (as Redis's per-client key dict).
        let mut seen = std::collections::HashSet::with_capacity(keys.len());
        keys.retain(|k| seen.insert(k.clone()));
        for key in &keys {
            self.by_key.entry(key.clone()).or_default().push_back(id);
        }
        self.waiters.insert(id, Waiter { keys, op, resp3 });
    }

    /// Take connection `id` off every queue; its op and protocol, if it was
    /// waiting.
    fn remove(&mut self, id: ConnId) -> Option<(Op, bool)> {
        let waiter = self.waiters.remove(&id)?;
        for key in &waiter.keys {
            if let Some(queue) = self.by_key.get_mut(key) {
                queue.retain(|&c| c != id);
                if queue.is_empty() {
                    self.by_key.remove(key);
                }
            }
        }
        Some((waiter.op, waiter.resp3))
    }

    /// The first client blocked on `key` whose op takes a value of this kind.
    fn first_for(&self, key: &[u8], list: bool) -> Option<ConnId> {
        self.by_key.get(key)?.iter().copied().find(|id| {
            self.waiters
                .get(id)
                .is_some_and(|w| w.op.wants_list() == list)
        })
    }
}

/// Take connection `id` off every queue (it disconnected, or was unblocked).
pub(crate) fn forget(store: &mut Store, id: ConnId) -> bool {
    store.blocked.remove(id).is_some()
}

/// Take connection `id` off the queues of whichever database it is blocked in
/// (CLIENT UNBLOCK from a client that may have selected another one).
pub(crate) fn forget_anywhere(c: &mut Ctx<'_, '_>, id: ConnId) -> bool {
    if forget(&mut c.store, id) {
        return true;
    }
    // The caller's own database is borrowed (and was searched above).
    c.shared
        .dbs
        .iter()
        .filter_map(|db| db.try_borrow_mut().ok())
        .any(|mut db| forget(&mut db, id))
}

/// What running an op on one key found.
enum Attempt {
    /// Done: the reply is written.
    Served,
    /// The key holds nothing (or does not exist).
    Empty,
    /// A key holds a value of another type: WRONGTYPE is written.
    WrongType,
}

/// Run `op` on `key` if it holds data for it, writing the reply.
/// `fill`: the node limits a list a move creates or grows is packed under.
fn attempt(
    store: &mut Store,
    key: &[u8],
    op: &Op,
    fill: Fill,
    now: u64,
    out: &mut Reply<'_>,
) -> Attempt {
    if let Op::Move {
        from_left,
        to,
        to_left,
    } = op
    {
        return match store.get(key, now).map(|e| &e.value) {
            None => Attempt::Empty,
            Some(Value::List(l)) if l.is_empty() => Attempt::Empty,
            Some(Value::List(_)) => {
                move_element(store, key, to, (*from_left, *to_left), fill, now, out)
            }
            Some(_) => {
                reply::error(out, command::WRONGTYPE);
                Attempt::WrongType
            }
        };
    }
    let Some(entry) = store.get(key, now) else {
        return Attempt::Empty;
    };
    match (&mut entry.value, op) {
        (Value::List(list), Op::Pop { left }) => {
            let Some(v) = list.pop(*left) else {
                return Attempt::Empty;
            };
            reply::array(out, 2);
            reply::bulk(out, key);
            reply::bulk(out, &v);
        }
        (Value::List(list), Op::MPop { left, count }) => {
            let n = (*count).min(list.len());
            if n == 0 {
                return Attempt::Empty;
            }
            mpop_head(out, key, n);
            for _ in 0..n {
                reply::bulk(out, &list.pop(*left).unwrap_or_default());
            }
        }
        (Value::ZSet(z), Op::ZPop { max }) => {
            let Some((m, s)) = pop_zset(z, *max) else {
                return Attempt::Empty;
            };
            reply::array(out, 3);
            reply::bulk(out, key);
            reply::bulk(out, &m);
            reply::double(out, s);
        }
        (Value::ZSet(z), Op::ZMPop { max, count }) => {
            let n = (*count).min(z.len());
            if n == 0 {
                return Attempt::Empty;
            }
            mpop_head(out, key, n);
            for _ in 0..n {
                if let Some((m, s)) = pop_zset(z, *max) {
                    reply::array(out, 2);
                    reply::bulk(out, &m);
                    reply::double(out, s);
                }
            }
        }
        _ => {
            reply::error(out, command::WRONGTYPE);
            return Attempt::WrongType;
        }
    }
    store.remove_if_empty(key);
    Attempt::Served
}

fn pop_zset(z: &mut super::store::ZSet, max: bool) -> Option<(Bytes, f64)> {
    if max {
        z.pop_max()
    } else {
        z.pop_min()
    }
}

/// `*2 key *n`: the head of an LMPOP/ZMPOP reply.
fn mpop_head(out: &mut Reply<'_>, key: &[u8], n: usize) {
    reply::array(out, 2);
    reply::bulk(out, key);
    reply::array(out, n);
}

/// LMOVE's work once `src` is known to be a non-empty list: check `dst`, pop, push.
/// `ends`: (pop from the left, push on the left).
fn move_element(
    store: &mut Store,
    src: &[u8],
    dst: &[u8],
    (from_left, to_left): (bool, bool),
    fill: Fill,
    now: u64,
    out: &mut Reply<'_>,
) -> Attempt {
    if let Some(e) = store.get(dst, now) {
        if !matches!(e.value, Value::List(_)) {
            reply::error(out, command::WRONGTYPE);
            return Attempt::WrongType;
        }
    }
    let Some(Value::List(list)) = store.get(src, now).map(|e| &mut e.value) else {
        return Attempt::Empty;
    };
    let Some(v) = list.pop(from_left) else {
        return Attempt::Empty;
    };
    reply::bulk(out, &v);
    let entry = store.get_or_insert_with(dst, now, || Value::List(List::new()));
    if let Value::List(list) = &mut entry.value {
        list.push(&v, to_left, fill);
    }
    store.remove_if_empty(src);
    Attempt::Served
}

/// One thing serving an op reports.
enum Effect<'k> {
    /// A keyspace event (Redis's `notifyKeyspaceEvent`).
    Event(u32, &'static str, &'k [u8]),
    /// The key changed (Redis's `signalModifiedKey`).
    Modified(&'k [u8]),
}

/// What serving `op` on `key` reports, in the order Redis reports it. `deleted`:
/// the pop emptied `key`, which is gone. `later`: a blocked client served by
/// another's write (Redis's `serveClientBlockedOnList`), where a BLPOP/BRPOP pop
/// and the source of a BLMOVE signal no change (the write that filled the key
/// did); BLMPOP and the sorted-set pops report as when served at once.
fn effects<'k>(
    op: &'k Op,
    key: &'k [u8],
    deleted: bool,
    later: bool,
    mut report: impl FnMut(Effect<'k>),
) {
    use super::notify::{GENERIC, LIST, ZSET};
    let pop = |left: bool| if left { "lpop" } else { "rpop" };
    match op {
        // Redis's `listElementsRemoved`.
        Op::Pop { left } | Op::MPop { left, .. } => {
            report(Effect::Event(LIST, pop(*left), key));
            if deleted {
                report(Effect::Event(GENERIC, "del", key));
            }
            if !later || matches!(op, Op::MPop { .. }) {
                report(Effect::Modified(key));
            }
        }
        // Redis's `lmoveHandlePush` on the destination, then the pop.
        Op::Move {
            from_left,
            to,
            to_left,
        } => {
            let to: &[u8] = to;
            report(Effect::Modified(to));
            let push = if *to_left { "lpush" } else { "rpush" };
            report(Effect::Event(LIST, push, to));
            report(Effect::Event(LIST, pop(*from_left), key));
            if deleted {
                report(Effect::Event(GENERIC, "del", key));
            }
            if !later {
                report(Effect::Modified(key));
            }
        }
        // Redis's `genericZpopCommand`: one event however many were popped.
        Op::ZPop { max } | Op::ZMPop { max, .. } => {
            let event = if *max { "zpopmax" } else { "zpopmin" };
            report(Effect::Event(ZSET, event, key));
            report(Effect::Modified(key));
            if deleted {
                report(Effect::Event(GENERIC, "del", key));
            }
        }
    }
}

/// The non-blocking command that does what serving `op` on `key` did: what the
/// append-only file records for it, as Redis rewrites a served blocking command
/// (`count`: room for the COUNT argument).
fn nonblocking_form<'a>(op: &'a Op, key: &'a [u8], count: &'a mut itoa::Buffer) -> Vec<&'a [u8]> {
    let side = |left: bool| -> &'static [u8] {
        if left {
            b"LEFT"
        } else {
            b"RIGHT"
        }
    };
    match op {
        Op::Pop { left } => vec![if *left { b"LPOP" } else { b"RPOP" }, key],
        Op::Move {
            from_left,
            to,
            to_left,
        } => vec![b"LMOVE", key, to, side(*from_left), side(*to_left)],
        Op::MPop { left, count: n } => vec![
            if *left { b"LPOP" } else { b"RPOP" },
            key,
            count.format(*n).as_bytes(),
        ],
        Op::ZPop { max } => vec![if *max { b"ZPOPMAX" } else { b"ZPOPMIN" }, key],
        Op::ZMPop { max, count: n } => vec![
            if *max { b"ZPOPMAX" } else { b"ZPOPMIN" },
            key,
            count.format(*n).as_bytes(),
        ],
    }
}

/// Serve the clients blocked on keys that writes made ready: in the order they
/// blocked, while each key has data. A move into another watched key makes that one
/// ready too, and it is served in the same pass.
/// `db`: the index of `store`, for the keyspace events.
pub(crate) fn serve_ready(
    store: &mut Store,
    db: usize,
    now: u64,
    net: &mut evloop::Ctx<'_>,
    shared: &super::Shared,
) {
    let mut reply = Vec::new();
    // In the order the keys became ready, as Redis walks its ready list; keys a
    // move makes ready are served after this round's.
    while !store.ready.is_empty() {
        for key in std::mem::take(&mut store.ready) {
            serve_key(store, db, &key, now, net, &mut reply, shared);
        }
    }
}

/// Serve the clients blocked on `key`, in the order they blocked, while it has data.
fn serve_key(
    store: &mut Store,
    db: usize,
    key: &[u8],
    now: u64,
    net: &mut evloop::Ctx<'_>,
    reply: &mut Vec<u8>,
    shared: &super::Shared,
) {
    let fill = Fill::new(shared.encoding_limits().list_size);
    loop {
        let list = match store.get(key, now).map(|e| &e.value) {
            Some(Value::List(l)) if !l.is_empty() => true,
            Some(Value::ZSet(z)) if !z.is_empty() => false,
            _ => return,
        };
        let Some(id) = store.blocked.first_for(key, list) else {
            return;
        };
        let Some((op, resp3)) = store.blocked.remove(id) else {
            return;
        };
        if !net.is_open(id) {
            continue; // closing: its session forgets it on close
        }
        reply.clear();
        let reply = &mut Reply::new(reply, resp3);
        let served = if !shared.aof_on.get() {
            attempt(store, key, &op, fill, now, reply)
        } else {
            // Recorded as the command that does the same without blocking.
            let mut count = itoa::Buffer::new();
            let args = nonblocking_form(&op, key, &mut count);
            super::aof::served(shared, store, now, &args, false);
            let served = attempt(store, key, &op, fill, now, reply);
            if let Attempt::Served = served {
                super::aof::served(shared, store, now, &args, true);
            }
            served
        };
        // A served pop changed its key, and a move its destination too: WATCH
        // sees both, as Redis's signalModifiedKey does.
        if matches!(served, Attempt::Served) && !store.watched.is_empty() {
            let s = super::watch::stamp(shared);
            store.watched.touch(key, s);
            if let Op::Move { to, .. } = &op {
                store.watched.touch(to, s);
            }
        }
        // The receiver's own output limit is lifted while it blocks, so its
        // reply cannot be refused for size.
        let _ = net.push(id, reply.as_slice());
        if matches!(served, Attempt::Served) {
            // WATCH was told above; events and client-side caching here.
            let deleted = store.peek(key).is_none();
            effects(&op, key, deleted, true, |e| match e {
                Effect::Event(class, event, k) => {
                    super::notify::send(shared, net, db, class, event, k)
                }
                Effect::Modified(k) => super::tracking::invalidate(shared, net, k, None),
            });
        }
        let _ = net.wake(id);
    }
}

/// Parse a blocking timeout in seconds (fractions allowed, `0`: forever), as
/// Redis's `getTimeoutFromObjectOrReply`.
fn timeout(arg: &[u8], out: &mut Reply<'_>) -> Option<Option<Duration>> {
    let secs = std::str::from_utf8(arg)
        .ok()
        .filter(|s| !s.is_empty() && !s.starts_with(char::is_whitespace))
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|f| f.is_finite());
    let Some(secs) = secs else {
        reply::error(out, b"ERR timeout is not a float or out of range");
        return None;
    };
    let ms = (secs * 1000.0).ceil();
    if ms < 0.0 {
        reply::error(out, b"ERR timeout is negative");
        return None;
    }
    Some((ms > 0.0).then(|| Duration::from_millis(ms.min(1e15) as u64)))
}

/// Report serving `op` on `key` by the client's own command.
fn served_now(c: &mut Ctx<'_, '_>, key: &[u8], op: &Op) {
    let deleted = c.store.peek(key).is_none();
    effects(op, key, deleted, false, |e| match e {
        Effect::Event(class, event, k) => c.notify(class, event, k),
        Effect::Modified(k) => c.modified(k),
    });
}

/// Try `op` on each of `keys` in order; block on all of them if none has data.
fn pop_or_block(
    c: &mut Ctx<'_, '_>,
    keys: Vec<Bytes>,
    op: Op,
    timeout: Option<Option<Duration>>,
    out: &mut Reply<'_>,
) {
    let fill = Fill::new(c.shared.encoding_limits().list_size);
    for key in &keys {
        match attempt(&mut c.store, key, &op, fill, c.now, out) {
            Attempt::Served => {
                served_now(c, key, &op);
                // Recorded as its non-blocking form, as Redis rewrites it.
                let mut count = itoa::Buffer::new();
                return c.propagate(&nonblocking_form(&op, key, &mut count));
            }
            Attempt::WrongType => return,
            Attempt::Empty => {}
        }
    }
    let Some(timeout) = timeout else {
        return reply::nil_array(out); // a non-blocking form: nothing there
    };
    let id = c.net.id();
    if !command::can_block(c) {
        return reply::nil_array(out);
    }
    c.store.blocked.block(id, keys, op, out.resp3());
    c.client.block();
    c.net.set_waiting(true); // no idle or request timeout while it waits
                             // Pushed replies must not be refused for size while blocked.
    c.net.set_output_limit(evloop::OutputLimit::UNLIMITED);
    if let Some(after) = timeout {
        c.net.set_timer(after, TIMEOUT_TIMER);
    }
}

fn side(arg: &[u8], out: &mut Reply<'_>) -> Option<bool> {
    if arg.eq_ignore_ascii_case(b"left") {
        Some(true)
    } else if arg.eq_ignore_ascii_case(b"right") {
        Some(false)
    } else {
        reply::error(out, command::SYNTAX);
        None
    }
}

fn min_max(arg: &[u8], out: &mut Reply<'_>) -> Option<bool> {
    if arg.eq_ignore_ascii_case(b"min") {
        Some(false)
    } else if arg.eq_ignore_ascii_case(b"max") {
        Some(true)
    } else {
        reply::error(out, command::SYNTAX);
        None
    }
}

fn keys(a: &Argv<'_>, from: usize, to: usize) -> Vec<Bytes> {
    (from..to).map(|i| a.get(i).into()).collect()
}

/// BLPOP / BRPOP / BZPOPMIN / BZPOPMAX: `key [key ...] timeout`.
fn keys_then_timeout(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>, op: Op) {
    let Some(t) = timeout(a.get(a.len() - 1), out) else {
        return;
    };
    pop_or_block(c, keys(&a, 1, a.len() - 1), op, Some(t), out);
}

pub(crate) fn blpop(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    keys_then_timeout(c, a, out, Op::Pop { left: true })
}

pub(crate) fn brpop(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    keys_then_timeout(c, a, out, Op::Pop { left: false })
}

pub(crate) fn bzpopmin(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    keys_then_timeout(c, a, out, Op::ZPop { max: false })
}

pub(crate) fn bzpopmax(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    keys_then_timeout(c, a, out, Op::ZPop { max: true })
}

/// LMOVE / BLMOVE / RPOPLPUSH / BRPOPLPUSH. A missing source answers a null bulk
/// string (the non-blocking forms) or blocks; a timeout answers a null array.
fn lmove_generic(
    c: &mut Ctx<'_, '_>,
    a: &Argv<'_>,
    from_left: bool,
    to_left: bool,
    timeout: Option<Option<Duration>>,
    out: &mut Reply<'_>,
) {
    let (src, dst) = (a.get(1), a.get(2));
    let op = Op::Move {
        from_left,
        to: dst.into(),
        to_left,
    };
    let fill = Fill::new(c.shared.encoding_limits().list_size);
    // A source of another type, or a destination when there is something to
    // move, answers WRONGTYPE.
    match attempt(&mut c.store, src, &op, fill, c.now, out) {
        Attempt::Served => {
            served_now(c, src, &op);
            // Redis records BLMOVE as LMOVE and BRPOPLPUSH as RPOPLPUSH.
            if timeout.is_some() {
                if a.len() == 6 {
                    c.propagate(&[b"LMOVE", src, dst, a.get(3), a.get(4)]);
                } else {
                    c.propagate(&[b"RPOPLPUSH", src, dst]);
                }
            }
        }
        Attempt::WrongType => {}
        Attempt::Empty => {
            if timeout.is_none() || !command::can_block(c) {
                return reply::nil(out);
            }
            pop_or_block(c, vec![src.into()], op, timeout, out);
        }
    }
}

pub(crate) fn lmove(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let Some(from_left) = side(a.get(3), out) else {
        return;
    };
    let Some(to_left) = side(a.get(4), out) else {
        return;
    };
    lmove_generic(c, &a, from_left, to_left, None, out)
}

pub(crate) fn blmove(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let Some(from_left) = side(a.get(3), out) else {
        return;
    };
    let Some(to_left) = side(a.get(4), out) else {
        return;
    };
    let Some(t) = timeout(a.get(5), out) else {
        return;
    };
    lmove_generic(c, &a, from_left, to_left, Some(t), out)
}

pub(crate) fn rpoplpush(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    lmove_generic(c, &a, false, true, None, out)
}

pub(crate) fn brpoplpush(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let Some(t) = timeout(a.get(3), out) else {
        return;
    };
    lmove_generic(c, &a, false, true, Some(t), out)
}

/// The `numkeys key [key ...] WHERE [COUNT count]` tail of LMPOP and ZMPOP (and
/// their blocking forms), from argument `at`: the keys, the side, the count.
fn mpop_args(
    a: &Argv<'_>,
    at: usize,
    list: bool,
    out: &mut Reply<'_>,
) -> Option<(Vec<Bytes>, bool, usize)> {
    let numkeys = match parse_i64(a.get(at)) {
        Some(n) if n > 0 => n as usize,
        _ => {
            reply::error(out, b"ERR numkeys should be greater than 0");
            return None;
        }
    };
    let where_at = at.saturating_add(numkeys).saturating_add(1);
    if where_at >= a.len() {
        reply::error(out, command::SYNTAX);
        return None;
    }
    let side = if list {
        side(a.get(where_at), out)?
    } else {
        min_max(a.get(where_at), out)?
    };
    let mut count = None;
    let mut i = where_at + 1;
    while i < a.len() {
        if count.is_none() && a.get(i).eq_ignore_ascii_case(b"count") && i + 1 < a.len() {
            match parse_i64(a.get(i + 1)) {
                Some(n) if n > 0 => count = Some(n as usize),
                _ => {
                    reply::error(out, b"ERR count should be greater than 0");
                    return None;
                }
            }
            i += 2;
        } else {
            reply::error(out, command::SYNTAX);
            return None;
        }
    }
    Some((keys(a, at + 1, where_at), side, count.unwrap_or(1)))
}

/// LMPOP / BLMPOP / ZMPOP / BZMPOP: the blocking forms take a timeout first.
fn mpop_generic(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>, list: bool, block: bool) {
    let timeout = if block {
        let Some(t) = timeout(a.get(1), out) else {
            return;
        };
        Some(t)
    } else {
        None
    };
    let at = if block { 2 } else { 1 };
    if let Some((keys, side, count)) = mpop_args(&a, at, list, out) {
        let op = if list {
            Op::MPop { left: side, count }
        } else {
            Op::ZMPop { max: side, count }
        };
        pop_or_block(c, keys, op, timeout, out);
    }
}

pub(crate) fn lmpop(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    mpop_generic(c, a, out, true, false)
}

pub(crate) fn blmpop(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    mpop_generic(c, a, out, true, true)
}

pub(crate) fn zmpop(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    mpop_generic(c, a, out, false, false)
}

pub(crate) fn bzmpop(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    mpop_generic(c, a, out, false, true)
}
