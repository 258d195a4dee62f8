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
mod strings;
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
use super::frame::{parse_i64, Argv};
use super::glob;
use super::multi::{discard, exec, multi};
use super::pubsub::{psubscribe, publish, pubsub, punsubscribe, subscribe, unsubscribe};
use super::reply;
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
}

pub(crate) type Handler = fn(&mut Ctx<'_, '_>, Argv<'_>, &mut Vec<u8>);

pub(crate) const WRONGTYPE: &[u8] =
    b"WRONGTYPE Operation against a key holding the wrong kind of value";
const NOT_INT: &[u8] = b"ERR value is not an integer or out of range";
const NOT_FLOAT: &[u8] = b"ERR value is not a valid float";
pub(crate) const SYNTAX: &[u8] = b"ERR syntax error";
const OVERFLOW: &[u8] = b"ERR increment or decrement would overflow";
const NO_KEY: &[u8] = b"ERR no such key";
const MUST_BE_POSITIVE: &[u8] = b"ERR value is out of range, must be positive";
const TOO_BIG: &[u8] = b"ERR string exceeds maximum allowed size (proto-max-bulk-len)";

macro_rules! commands {
    ($($name:literal $arity:literal $handler:ident;)*) => {
        /// Find a command by its lowercased name: (name, arity, handler). Arity as in
        /// Redis: positive means exactly, negative means at least.
        fn lookup(name: &[u8]) -> Option<(&'static [u8], i32, Handler)> {
            match name {
                $($name => Some(($name, $arity, $handler as Handler)),)*
                _ => None,
            }
        }

        /// Every command name, for COMMAND COUNT / LIST.
        const NAMES: &[&[u8]] = &[$($name),*];
    };
}

commands! {
    b"get" 2 get;
    b"set" -3 set;
    b"ping" -1 ping;
    b"incr" 2 incr;
    b"decr" 2 decr;
    b"incrby" 3 incrby;
    b"decrby" 3 decrby;
    b"mget" -2 mget;
    b"mset" -3 mset;
    b"lpush" -3 lpush;
    b"rpush" -3 rpush;
    b"lpop" -2 lpop;
    b"rpop" -2 rpop;
    b"lrange" 4 lrange;
    b"sadd" -3 sadd;
    b"spop" -2 spop;
    b"hset" -4 hset;
    b"hmset" -4 hmset;
    b"zadd" -4 zadd;
    b"zpopmin" -2 zpopmin;
    b"echo" 2 echo;
    b"quit" -1 quit;
    b"hello" -1 hello;
    b"client" -2 client;
    b"info" -1 info;
    b"config" -2 config;
    b"command" -1 command;
    b"time" 1 time;
    b"del" -2 del;
    b"unlink" -2 del;
    b"exists" -2 exists;
    b"type" 2 type_;
    b"keys" 2 keys;
    b"scan" -2 scan;
    b"rename" 3 rename;
    b"expire" -3 expire;
    b"pexpire" -3 pexpire;
    b"expireat" -3 expireat;
    b"pexpireat" -3 pexpireat;
    b"ttl" 2 ttl;
    b"pttl" 2 pttl;
    b"persist" 2 persist;
    b"setnx" 3 setnx;
    b"setex" 4 setex;
    b"psetex" 4 psetex;
    b"getset" 3 getset;
    b"getdel" 2 getdel;
    b"msetnx" -3 msetnx;
    b"incrbyfloat" 3 incrbyfloat;
    b"append" 3 append;
    b"strlen" 2 strlen;
    b"getrange" 4 getrange;
    b"setrange" 4 setrange;
    b"llen" 2 llen;
    b"lindex" 3 lindex;
    b"lset" 4 lset;
    b"lrem" 4 lrem;
    b"ltrim" 4 ltrim;
    b"linsert" 5 linsert;
    b"lpos" -3 lpos;
    b"lpushx" -3 lpushx;
    b"rpushx" -3 rpushx;
    b"hget" 3 hget;
    b"hmget" -3 hmget;
    b"hdel" -3 hdel;
    b"hlen" 2 hlen;
    b"hexists" 3 hexists;
    b"hgetall" 2 hgetall;
    b"hkeys" 2 hkeys;
    b"hvals" 2 hvals;
    b"hincrby" 4 hincrby;
    // Hashes, second batch (hashes.rs).
    b"hsetnx" 4 hsetnx;
    b"hstrlen" 3 hstrlen;
    b"hincrbyfloat" 4 hincrbyfloat;
    b"hrandfield" -2 hrandfield;
    b"srem" -3 srem;
    b"smembers" 2 smembers;
    b"sismember" 3 sismember;
    b"scard" 2 scard;
    // Sets, second batch (sets.rs).
    b"smismember" -3 smismember;
    b"srandmember" -2 srandmember;
    b"smove" 4 smove;
    b"sinter" -2 sinter;
    b"sunion" -2 sunion;
    b"sdiff" -2 sdiff;
    b"sinterstore" -3 sinterstore;
    b"sunionstore" -3 sunionstore;
    b"sdiffstore" -3 sdiffstore;
    b"sintercard" -3 sintercard;
    b"zscore" 3 zscore;
    b"zcard" 2 zcard;
    b"zrem" -3 zrem;
    b"zrange" -4 zrange;
    b"zrank" 3 zrank;
    b"zpopmax" -2 zpopmax;
    // sorted sets: ranges by rank, score and member; counts; increments
    b"zrevrange" -4 zrevrange;
    b"zrangebyscore" -4 zrangebyscore;
    b"zrevrangebyscore" -4 zrevrangebyscore;
    b"zrangebylex" -4 zrangebylex;
    b"zrevrangebylex" -4 zrevrangebylex;
    b"zrangestore" -5 zrangestore;
    b"zcount" 4 zcount;
    b"zlexcount" 4 zlexcount;
    b"zincrby" 4 zincrby;
    b"zmscore" -3 zmscore;
    b"zrevrank" 3 zrevrank;
    b"zremrangebyrank" 4 zremrangebyrank;
    b"zremrangebyscore" 4 zremrangebyscore;
    b"zremrangebylex" 4 zremrangebylex;
    b"zunion" -3 zunion;
    b"zinter" -3 zinter;
    b"zdiff" -3 zdiff;
    b"zunionstore" -4 zunionstore;
    b"zinterstore" -4 zinterstore;
    b"zdiffstore" -4 zdiffstore;
    b"zintercard" -3 zintercard;
    b"zrandmember" -2 zrandmember;
    b"lmove" 5 lmove;
    b"rpoplpush" 3 rpoplpush;
    b"lmpop" -4 lmpop;
    b"zmpop" -4 zmpop;
    b"blpop" -3 blpop;
    b"brpop" -3 brpop;
    b"blmove" 6 blmove;
    b"brpoplpush" 4 brpoplpush;
    b"blmpop" -5 blmpop;
    b"bzpopmin" -3 bzpopmin;
    b"bzpopmax" -3 bzpopmax;
    b"bzmpop" -5 bzmpop;
    b"subscribe" -2 subscribe;
    b"unsubscribe" -1 unsubscribe;
    b"psubscribe" -2 psubscribe;
    b"punsubscribe" -1 punsubscribe;
    b"publish" 3 publish;
    b"pubsub" -2 pubsub;
    b"reset" 1 reset;
    b"multi" 1 multi;
    b"exec" 1 exec;
    b"discard" 1 discard;
    b"watch" -2 watch;
    b"unwatch" 1 unwatch;
    b"auth" -2 auth;
    b"bgrewriteaof" 1 bgrewriteaof;
    b"script" -2 script;
    b"function" -2 function;
    b"eval" -3 unsupported;
    b"evalsha" -3 unsupported;
    b"eval_ro" -3 unsupported;
    b"evalsha_ro" -3 unsupported;
    b"fcall" -3 unsupported;
    b"fcall_ro" -3 unsupported;
    // Databases (databases.rs).
    b"select" 2 select;
    b"dbsize" 1 dbsize;
    b"flushdb" -1 flushdb;
    b"flushall" -1 flushall;
    b"move" 3 move_;
    b"swapdb" 3 swapdb;
    b"copy" -3 copy;
    b"sort" -2 sort;
    b"sort_ro" -2 sort_ro;
    // Keyspace (keys.rs).
    b"object" -2 object;
    b"renamenx" 3 renamenx;
    b"randomkey" 1 randomkey;
    b"touch" -2 touch;
    b"expiretime" 2 expiretime;
    b"pexpiretime" 2 pexpiretime;
    // Strings (strings.rs).
    b"getex" -2 getex;
    b"substr" 4 getrange;
    b"lcs" -3 lcs;
    b"setbit" 4 setbit;
    b"getbit" 3 getbit;
    // DUMP and RESTORE (dump.rs).
    b"dump" 2 dump;
    b"restore" -4 restore;
    // MEMORY USAGE (memory.rs).
    b"memory" -2 memory;
    // Scanning collections (scan.rs).
    b"sscan" -3 sscan;
    b"hscan" -3 hscan;
    b"zscan" -3 zscan;
}

/// Commands a RESP2 client may run while subscribed.
const SUBSCRIBED_MODE: &[&[u8]] = &[
    b"subscribe",
    b"unsubscribe",
    b"psubscribe",
    b"punsubscribe",
    b"ping",
    b"quit",
    b"reset",
];

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

fn arity_ok(argc: usize, arity: i32) -> bool {
    if arity >= 0 {
        argc == arity as usize
    } else {
        argc >= arity.unsigned_abs() as usize
    }
}

/// `-ERR wrong number of arguments for 'name' command`.
pub(crate) fn arity_error(out: &mut Vec<u8>, name: &[u8]) {
    out.extend_from_slice(b"-ERR wrong number of arguments for '");
    out.extend_from_slice(name);
    out.extend_from_slice(b"' command\r\n");
}

/// Run one command and append its reply.
pub(crate) fn execute(ctx: &mut Ctx<'_, '_>, argv: Argv<'_>, out: &mut Vec<u8>) {
    let mut buf = [0u8; 16];
    let found = lower(argv.get(0), &mut buf).and_then(lookup);
    match found {
        Some((name, arity, handler)) => {
            if !arity_ok(argv.len(), arity) {
                if let Some(multi) = &mut ctx.client.multi {
                    multi.flag_error();
                }
                return arity_error(out, name);
            }
            if !ctx.client.authenticated && !super::auth::runs_unauthenticated(name) {
                if let Some(multi) = &mut ctx.client.multi {
                    multi.flag_error();
                }
                return reply::error(out, super::auth::NOAUTH);
            }
            if ctx.shared.aof_on.get() {
                if let Err(msg) = super::aof::check(ctx.shared, name) {
                    if let Some(multi) = &mut ctx.client.multi {
                        multi.flag_error();
                    }
                    return reply::error(out, msg.as_bytes());
                }
            }
            if ctx.client.subscribed() && !ctx.client.in_exec && !SUBSCRIBED_MODE.contains(&name) {
                let mut msg = b"ERR Can't execute '".to_vec();
                msg.extend_from_slice(name);
                msg.extend_from_slice(
                    b"': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are \
                      allowed in this context",
                );
                return reply::error(out, &msg);
            }
            if ctx.client.multi.is_some() && !super::multi::runs_immediately(name) {
                return super::multi::queue(ctx, argv, out);
            }
            ctx.client.record.cmd.set(name);
            let start = out.len();
            if ctx.shared.aof_on.get() {
                super::aof::run_logged(ctx, name, handler, argv, out);
            } else {
                handler(ctx, argv, out);
            }
            if !ctx.store.watched.is_empty() && super::aof::is_write(name) {
                super::watch::after_write(ctx, name, &argv, &out[start..]);
            }
        }
        None => {
            if let Some(multi) = &mut ctx.client.multi {
                multi.flag_error();
            }
            unknown_command(argv, out)
        }
    }
}

/// Redis 7: `unknown command 'foo', with args beginning with: 'a' 'b' ` (each
/// argument quoted and followed by a space, up to about 128 bytes of arguments).
fn unknown_command(argv: Argv<'_>, out: &mut Vec<u8>) {
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

pub(crate) fn unknown_subcommand(out: &mut Vec<u8>, sub: &[u8], container: &[u8]) {
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
