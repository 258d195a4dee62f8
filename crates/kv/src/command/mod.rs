//! The command layer: Redis command names to handlers, with Redis's exact replies.
//!
//! A handler gets the parsed arguments (`Argv`, slices borrowed from the input) and a
//! [`Ctx`] (the store, the batch's clock, the client), and appends its reply. This is
//! where Redis compatibility lives: arity checks, `WRONGTYPE`, the wording of every
//! error, which reply is nil and which is an empty array. The messages are Redis 7's,
//! so client libraries and redis-cli behave as they do against Redis.
//!
//! Dispatch lowercases the command name into a small stack buffer (no allocation)
//! and matches it against byte-string literals; the compiler turns that into a
//! length switch plus a few comparisons.
//!
//! The handlers live in one module per command group, as Redis's `t_*.c` files do:
//! `server` (connection and server), `keys`, `strings`, `lists`, `hashes`, `sets`,
//! `zsets`; transactions, pub/sub, blocking commands, auth and scripting have their
//! own modules beside this one. This module holds what they share: the context, the
//! one dispatch table, the checks every command passes, and the common errors.

mod config;
mod databases;
mod dump;
mod hashes;
mod info;
mod keys;
mod lists;
mod memory;
// The random-member helpers, for SRANDMEMBER, HRANDFIELD and ZRANDMEMBER.
mod random;
mod scan;
mod server;
mod sets;
mod sort;
// The command table's types, and the table generated from Redis's definitions.
pub(crate) mod spec;
mod strings;
mod table;
mod zsets;

use config::config;
use databases::*;
use dump::{dump, restore};
use hashes::*;
use info::command;
use keys::*;
use lists::*;
use memory::memory;
#[allow(unused_imports)]
use random::*;
use scan::*;
use server::*;
use sets::*;
pub(crate) use sort::store_destination;
use sort::{sort, sort_ro};
use strings::*;
use zsets::*;

use super::aof::bgrewriteaof;
use super::auth::auth;
use super::blocking::{
    blmove, blmpop, blpop, brpop, brpoplpush, bzmpop, bzpopmax, bzpopmin, lmove, lmpop, rpoplpush,
    zmpop,
};
use super::clients::monitor;
use super::frame::{parse_i64, Argv};
use super::glob;
use super::multi::{discard, exec, multi};
use super::pubsub::{psubscribe, publish, pubsub, punsubscribe, subscribe, unsubscribe};
use super::reply::{self, Reply};
use super::scripting::{function, script, unsupported};
use super::store::{Bytes, Entry, Hasher, LexBound, ScoreBound, Store, Ttl, Value, ZSet};
use super::watch::{stamp, touch_existing, unwatch, watch};
use super::Shared;

pub(crate) use config::Settings;

use std::cell::RefMut;
use std::collections::HashMap;

use indexmap::IndexSet;

/// Everything a command may touch.
pub(crate) struct Ctx<'a, 'n> {
    /// The client's selected database.
    pub store: RefMut<'a, Store>,
    /// UNIX ms, read once for the batch.
    pub now: u64,
    pub shared: &'a Shared,
    pub client: &'a mut super::Client,
    /// Set by QUIT: flush the replies, then close.
    pub close: bool,
    /// The reactor's side: this connection's id, pushes and wakes to others,
    /// timers, output limits.
    pub net: &'a mut evloop::Ctx<'n>,
    /// Input bytes not yet consumed, this command included (CLIENT LIST's
    /// `qbuf` for the client itself, as Redis's query buffer while it runs).
    pub input_left: usize,
}

/// What a command did, reported by its handler as Redis's are (`server.dirty`,
/// `signalModifiedKey`, `alsoPropagate`): what the append-only file records and
/// what WATCH sees come from here, never from the reply's bytes.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Effects {
    /// Changes made (Redis's `dirty`): 0 means the command changed nothing, so
    /// nothing is recorded.
    pub dirty: u64,
    /// The command asked to be recorded as other commands (SPOP as the SREM of
    /// what it popped, HINCRBYFLOAT as the HSET of the value it wrote): those,
    /// while the append-only file is on, wait in `Shared::propagated`.
    pub propagated: bool,
}

impl Ctx<'_, '_> {
    /// The command changed `key` of the client's database (Redis's
    /// `signalModifiedKey` and `dirty++`): WATCH sees it, clients caching it are
    /// told.
    pub(crate) fn modified(&mut self, key: &[u8]) {
        self.client.effects.dirty += 1;
        if !self.store.watched.is_empty() {
            let s = stamp(self.shared);
            self.store.watched.touch(key, s);
        }
        if self.shared.tracking_on.get() {
            super::tracking::invalidate(self.shared, self.net, key, Some(self.client.record.id));
        }
    }

    /// The command changed something that [`Ctx::modified`] does not name (a
    /// whole database, another database's key whose watchers it touched itself).
    pub(crate) fn dirty(&mut self) {
        self.client.effects.dirty += 1;
    }

    /// Keyspace event `event` of class `class` (see [`super::notify`]) on `key`
    /// of the client's database (Redis's `notifyKeyspaceEvent`).
    pub(crate) fn notify(&mut self, class: u32, event: &'static str, key: &[u8]) {
        if self.shared.notify_flags.get() & class != 0 {
            super::notify::send(self.shared, self.net, self.client.db, class, event, key);
        }
    }

    /// [`Ctx::notify`] for a key of database `db` (MOVE, COPY ... DB).
    pub(crate) fn notify_in(&mut self, db: usize, class: u32, event: &'static str, key: &[u8]) {
        if self.shared.notify_flags.get() & class != 0 {
            super::notify::send(self.shared, self.net, db, class, event, key);
        }
    }

    /// Take the keys the command found expired (see [`super::expired_keys`]).
    pub(crate) fn drain_expired(&mut self) {
        super::expired_keys(self.shared, &mut self.store, self.net, self.client.db);
    }

    /// The `new` keyspace events of the keys the command created (sent after
    /// the command's own events; Redis sends them as the key is added).
    pub(crate) fn drain_new(&mut self) {
        let keys = self
            .store
            .new_log
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default();
        for key in keys {
            self.notify(super::notify::NEW, "new", &key);
        }
    }

    /// Record `args` in the append-only file instead of the command's own
    /// arguments (Redis's `alsoPropagate` with the command's own suppressed).
    pub(crate) fn propagate(&mut self, args: &[&[u8]]) {
        self.client.effects.propagated = true;
        if self.shared.aof_on.get() {
            self.shared
                .propagated
                .borrow_mut()
                .push(super::aof::encode_command(args));
        }
    }
}

pub(crate) use spec::Handler;

pub(crate) const WRONGTYPE: &[u8] =
    b"WRONGTYPE Operation against a key holding the wrong kind of value";
const NOT_INT: &[u8] = b"ERR value is not an integer or out of range";
const NOT_FLOAT: &[u8] = b"ERR value is not a valid float";
pub(crate) const SYNTAX: &[u8] = b"ERR syntax error";
const OVERFLOW: &[u8] = b"ERR increment or decrement would overflow";
const NO_KEY: &[u8] = b"ERR no such key";
const MUST_BE_POSITIVE: &[u8] = b"ERR value is out of range, must be positive";
const TOO_BIG: &[u8] = b"ERR string exceeds maximum allowed size (proto-max-bulk-len)";

/// Whether this client can block (a session driven without a reactor has no
/// connection to be woken on: there blocking commands answer at once).
pub(crate) fn can_block(c: &Ctx<'_, '_>) -> bool {
    !c.net.id().is_detached() && !c.client.in_exec
}

/// Lowercase `name` into `buf`; `None` if it is longer than any command name.
fn lower<'b>(name: &[u8], buf: &'b mut [u8; 16]) -> Option<&'b [u8]> {
    let dst = buf.get_mut(..name.len())?;
    for (d, s) in dst.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    Some(dst)
}

/// The command named `name` (any case), if this server serves it.
#[inline]
pub(crate) fn find(name: &[u8]) -> Option<&'static spec::Command> {
    let mut buf = [0u8; 16];
    lower(name, &mut buf).and_then(table::lookup)
}

/// `-ERR wrong number of arguments for 'name' command`.
pub(crate) fn arity_error(out: &mut Reply<'_>, name: &[u8]) {
    out.extend_from_slice(b"-ERR wrong number of arguments for '");
    out.extend_from_slice(name);
    out.extend_from_slice(b"' command\r\n");
}

/// Run one command and append its reply (EXEC's commands, the append-only
/// file's loader); the session's loop calls [`run`], the same inlined.
pub(crate) fn execute(ctx: &mut Ctx<'_, '_>, argv: Argv<'_>, out: &mut Reply<'_>) {
    run(ctx, argv, out)
}

/// Why [`refuse`] refuses a command.
enum Refusal {
    Arity,
    NoAuth,
    Misconf(String),
    Subscribed,
}

/// Refuse `cmd` before it runs, with Redis's error; counted as a rejected call
/// and an error reply, and it dirties a transaction being queued. Out of line:
/// the hot path only branches to it.
#[cold]
#[inline(never)]
fn refuse(ctx: &mut Ctx<'_, '_>, cmd: &spec::Command, out: &mut Reply<'_>, why: Refusal) {
    let name = cmd.name.as_bytes();
    // Subscribed mode refuses without dirtying a transaction (none can be
    // queued there), as before.
    if !matches!(why, Refusal::Subscribed) {
        if let Some(multi) = &mut ctx.client.multi {
            multi.flag_error();
        }
    }
    let start = out.len();
    match why {
        Refusal::Arity => arity_error(out, name),
        Refusal::NoAuth => reply::error(out, super::auth::NOAUTH),
        Refusal::Misconf(msg) => reply::error(out, msg.as_bytes()),
        Refusal::Subscribed => {
            let mut msg = b"ERR Can't execute '".to_vec();
            msg.extend_from_slice(name);
            msg.extend_from_slice(
                b"': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are \
                  allowed in this context",
            );
            reply::error(out, &msg);
        }
    }
    let s = &ctx.shared.cmdstats[cmd.id as usize & STATS_MASK];
    s.rejected.set(s.rejected.get() + 1);
    count_error(ctx.shared, &out[start + 1..]);
}

/// Check and run one command: the hot path of every request. What only some
/// connections need (errors, MONITOR, tracking) is out of line behind one test
/// each.
#[inline(always)]
pub(crate) fn run(ctx: &mut Ctx<'_, '_>, argv: Argv<'_>, out: &mut Reply<'_>) {
    let Some(cmd) = find(argv.get(0)) else {
        return unknown(ctx, argv, out);
    };
    if !cmd.arity_ok(argv.len()) {
        return refuse(ctx, cmd, out, Refusal::Arity);
    }
    if !ctx.client.authenticated && !cmd.has(spec::NO_AUTH) {
        return refuse(ctx, cmd, out, Refusal::NoAuth);
    }
    // Constant while serving (CONFIG SET appendonly needs a restart).
    let aof = ctx.shared.aof_on.get();
    if aof {
        if let Err(msg) = super::aof::check(ctx.shared, cmd) {
            return refuse(ctx, cmd, out, Refusal::Misconf(msg));
        }
    }
    if ctx.client.subscribed()
        && !out.resp3()
        && !ctx.client.in_exec
        && !cmd.has(spec::SUBSCRIBED_OK)
    {
        return refuse(ctx, cmd, out, Refusal::Subscribed);
    }
    if ctx.client.multi.is_some() && !cmd.has(spec::TX_CONTROL) {
        return super::multi::queue(ctx, argv, out);
    }
    // CLIENT LIST's `cmd` and commandstats: a container's subcommand.
    let shown = match cmd.subcommands {
        [] => cmd,
        _ => cmd.subcommand(argv.get(1)).unwrap_or(cmd),
    };
    ctx.client.record.cmd.set(Some(shown));
    let handler = cmd.handler;
    let start = out.len();
    // The command's own effects: read by the append-only file and, in debug
    // builds, checked; nothing else reads them, so otherwise they are not reset.
    if aof || cfg!(debug_assertions) {
        ctx.client.effects = Effects::default();
    }
    if aof {
        super::aof::run_logged(ctx, cmd, handler, argv, out);
    } else {
        handler(ctx, argv, out);
        if ctx
            .store
            .expired_log
            .as_ref()
            .is_some_and(|l| !l.is_empty())
            || ctx.store.new_log.is_some()
        {
            ctx.drain_expired();
            if ctx.store.new_log.is_some() {
                ctx.drain_new();
            }
        }
    }
    let s = &ctx.shared.cmdstats[shown.id as usize & STATS_MASK];
    s.calls.set(s.calls.get() + 1);
    if out.get(start) == Some(&b'-') {
        failed(ctx.shared, s, &out[start + 1..]);
    }
    if ctx.shared.slow.get() {
        after_slow(ctx, cmd, &argv, out);
    }
    #[cfg(debug_assertions)]
    if cmd.has(spec::WRITE) && !ctx.client.effects.propagated {
        check_effects(cmd, &argv, &out[start..], ctx.client.effects.dirty);
    }
}

/// The handler of a subcommand's table entry: subcommands are run by their
/// container's handler, so dispatch never calls this; it answers as an
/// unknown command would.
pub(crate) fn subcommand_entry(_: &mut Ctx<'_, '_>, argv: Argv<'_>, out: &mut Reply<'_>) {
    unknown_command(argv, out);
}

/// An unknown command: Redis's error,
/// counted; it dirties a transaction being queued.
#[cold]
#[inline(never)]
fn unknown(ctx: &mut Ctx<'_, '_>, argv: Argv<'_>, out: &mut Reply<'_>) {
    if let Some(multi) = &mut ctx.client.multi {
        multi.flag_error();
    }
    let start = out.len();
    unknown_command(argv, out);
    count_error(ctx.shared, &out[start + 1..]);
}

/// A command that ran answered an error: commandstats' failed calls and
/// errorstats.
#[cold]
#[inline(never)]
fn failed(shared: &super::Shared, s: &CmdStat, reply: &[u8]) {
    s.failed.set(s.failed.get() + 1);
    count_error(shared, reply);
}

/// After a command, while some client tracks keys or monitors: remember what a
/// tracking client read, and send it the invalidations its own command caused;
/// show the command to the monitors (a container's
/// subcommand has flags of its own: CONFIG GET is admin, not shown).
#[cold]
#[inline(never)]
fn after_slow(
    ctx: &mut Ctx<'_, '_>,
    cmd: &'static spec::Command,
    argv: &Argv<'_>,
    out: &mut Reply<'_>,
) {
    if ctx.shared.tracking_on.get() {
        let id = ctx.client.record.id;
        super::tracking::after_command(ctx.shared, id, cmd, argv, false);
        // Invalidations this command caused for this client go after its
        // reply (after EXEC's whole array, not between its elements).
        if !ctx.client.in_exec {
            let resp3 = out.resp3();
            super::tracking::take_pending(ctx.shared, id, out, resp3);
        }
    }
    if ctx.shared.monitoring.get() {
        let cmd = match cmd.subcommands {
            [] => Some(cmd),
            _ if argv.len() > 1 => cmd.subcommand(argv.get(1)),
            _ => None,
        };
        if cmd.is_some_and(|c| c.flags & (spec::ADMIN | spec::SKIP_MONITOR) == 0) {
            super::clients::feed_monitors(ctx, argv);
        }
    }
}

/// One command's counters (INFO's `commandstats`).
#[derive(Debug, Default)]
pub(crate) struct CmdStat {
    pub calls: std::cell::Cell<u64>,
    /// Ran and answered an error.
    pub failed: std::cell::Cell<u64>,
    /// Refused before running.
    pub rejected: std::cell::Cell<u64>,
}

/// Counters for 256 commands: every [`spec::Command::id`] is below it, so an id
/// masked with [`STATS_MASK`] indexes without a bounds check.
pub(crate) type Stats = Box<[CmdStat; 256]>;
const STATS_MASK: usize = 255;
const _: () = assert!(table::COUNT <= 256);

/// A counter for each command and subcommand, by [`spec::Command::id`].
pub(crate) fn new_stats() -> Stats {
    Box::new(std::array::from_fn(|_| CmdStat::default()))
}

/// Every command and subcommand with its counters, for INFO.
pub(crate) fn each_stat(stats: &[CmdStat], mut f: impl FnMut(&str, &CmdStat)) {
    for cmd in table::ALL {
        for c in std::iter::once(*cmd).chain(cmd.subcommands) {
            f(c.name, &stats[c.id as usize]);
        }
    }
}

/// Count one error reply (`reply` is after the `-`) under its first word, as
/// Redis's `errorstats` does (up to 128 different codes).
fn count_error(shared: &super::Shared, reply: &[u8]) {
    shared.error_replies.set(shared.error_replies.get() + 1);
    let code = reply
        .iter()
        .position(|&b| b == b' ' || b == b'\r')
        .map_or(reply, |end| &reply[..end]);
    let code = String::from_utf8_lossy(code);
    let mut errors = shared.errors.borrow_mut();
    if let Some(n) = errors.get_mut(&*code) {
        *n += 1;
    } else if errors.len() < 128 {
        errors.insert(code.into_owned(), 1);
    }
}

/// Debug builds: a handler's report of whether it changed anything must agree
/// with what its reply says, by the rule WATCH used before effects were
/// reported (which over-approximates: a reply not listed there counts as a
/// change). A disagreement is a handler that forgot `modified`, or one that
/// reports a change it did not make.
#[cfg(debug_assertions)]
fn check_effects(cmd: &spec::Command, argv: &Argv<'_>, reply: &[u8], dirty: u64) {
    let name = cmd.name.as_bytes();
    let by_reply = !super::watch::changed_nothing(name, reply);
    // Commands whose replies do not tell (a nil from SET NX, an OK from an
    // empty FLUSHDB, a count that includes unchanged members) are checked one
    // way only: no change claimed with an error reply.
    let reply_cannot_tell = matches!(
        name,
        b"set"
            | b"flushdb"
            | b"flushall"
            | b"swapdb"
            | b"move"
            | b"copy"
            | b"sort"
            | b"getex"
            | b"setbit"
            | b"setrange"
            | b"restore"
            | b"lmove"
            | b"blmove"
            | b"rpoplpush"
            | b"brpoplpush"
            | b"blpop"
            | b"brpop"
            | b"blmpop"
            | b"bzpopmin"
            | b"bzpopmax"
            | b"bzmpop"
            | b"zadd"
            | b"zincrby"
            | b"hset"
            | b"hmset"
            | b"sinterstore"
            | b"sunionstore"
            | b"sdiffstore"
            | b"zunionstore"
            | b"zinterstore"
            | b"zdiffstore"
            | b"zrangestore"
            | b"ltrim"
            | b"linsert"
            | b"lset"
            | b"smove"
            | b"rename"
            | b"renamenx"
            | b"lpop"
            | b"rpop"
            | b"spop"
            | b"zpopmin"
            | b"zpopmax"
            | b"lmpop"
            | b"zmpop"
            | b"getdel"
            | b"getset"
            | b"incrbyfloat"
            | b"hincrbyfloat"
            | b"append"
            | b"expire"
            | b"pexpire"
            | b"expireat"
            | b"pexpireat"
    );
    let errored = reply.first() == Some(&b'-') || reply.is_empty();
    let bad = if errored {
        dirty > 0
    } else if reply_cannot_tell {
        false
    } else {
        by_reply != (dirty > 0)
    };
    assert!(
        !bad,
        "effects mismatch: {} {:?} replied {:?} but reported dirty={dirty}",
        cmd.name,
        argv.iter_from(1)
            .map(String::from_utf8_lossy)
            .collect::<Vec<_>>(),
        String::from_utf8_lossy(reply)
    );
}

/// Redis 7: `unknown command 'foo', with args beginning with: 'a' 'b' ` (each
/// argument quoted and followed by a space, up to about 128 bytes of arguments).
fn unknown_command(argv: Argv<'_>, out: &mut Reply<'_>) {
    let name = argv.get(0);
    let mut msg = b"ERR unknown command '".to_vec();
    msg.extend_from_slice(&name[..name.len().min(128)]);
    msg.extend_from_slice(b"', with args beginning with: ");
    let mut args_len = 0;
    for arg in argv.iter_from(1) {
        if args_len >= 128 {
            break;
        }
        let take = arg.len().min(128 - args_len);
        msg.push(b'\'');
        msg.extend_from_slice(&arg[..take]);
        msg.extend_from_slice(b"' ");
        args_len += take + 3;
    }
    reply::error(out, &msg);
}

pub(crate) fn unknown_subcommand(out: &mut Reply<'_>, sub: &[u8], container: &[u8]) {
    let mut msg = b"ERR unknown subcommand '".to_vec();
    msg.extend_from_slice(&sub[..sub.len().min(128)]);
    msg.extend_from_slice(b"'. Try ");
    msg.extend_from_slice(container);
    msg.extend_from_slice(b" HELP.");
    reply::error(out, &msg);
}

fn eq(a: &[u8], b: &[u8]) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// A float argument as Redis's `strtod` checks accept it: no spaces, not NaN,
/// `inf`/`-inf` allowed.
fn parse_f64(a: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(a).ok()?;
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_whitespace()) {
        return None;
    }
    let v: f64 = s.parse().ok()?;
    (!v.is_nan()).then_some(v)
}

#[cfg(test)]
mod keyspace_tests;
#[cfg(test)]
mod tests;
