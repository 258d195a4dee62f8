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
use super::store::{Bytes, Entry, Hasher, Store, Ttl, Value, ZSet};
use super::Shared;

use std::collections::{HashMap, VecDeque};

use indexmap::IndexSet;

/// Everything a command may touch.
pub(crate) struct Ctx<'a, 'n> {
    pub store: &'a mut Store,
    /// UNIX ms, read once for the batch.
    pub now: u64,
    pub shared: &'a Shared,
    pub client: &'a mut super::Client,
    /// Set by QUIT: flush the replies, then close.
    pub close: bool,
    /// The reactor's side: this connection's id, pushes and wakes to others,
    /// timers, output limits.
    pub net: &'a mut crate::Ctx<'n>,
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
    b"select" 2 select;
    b"hello" -1 hello;
    b"client" -2 client;
    b"info" -1 info;
    b"config" -2 config;
    b"command" -1 command;
    b"dbsize" 1 dbsize;
    b"flushdb" -1 flushdb;
    b"flushall" -1 flushdb;
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
    b"hget" 3 hget;
    b"hmget" -3 hmget;
    b"hdel" -3 hdel;
    b"hlen" 2 hlen;
    b"hexists" 3 hexists;
    b"hgetall" 2 hgetall;
    b"hkeys" 2 hkeys;
    b"hvals" 2 hvals;
    b"hincrby" 4 hincrby;
    b"srem" -3 srem;
    b"smembers" 2 smembers;
    b"sismember" 3 sismember;
    b"scard" 2 scard;
    b"zscore" 3 zscore;
    b"zcard" 2 zcard;
    b"zrem" -3 zrem;
    b"zrange" -4 zrange;
    b"zrank" 3 zrank;
    b"zpopmax" -2 zpopmax;
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
    c.net.id().generation() != 0 && !c.client.in_exec
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
            if ctx.shared.aof_on.get() {
                return super::aof::run_logged(ctx, name, handler, argv, out);
            }
            handler(ctx, argv, out)
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

// ---------------------------------------------------------------- connection/server

fn ping(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    if a.len() > 2 {
        return arity_error(out, b"ping");
    }
    if c.client.subscribed() {
        // RESP2 subscribed mode: a pong frame like a message's.
        reply::array(out, 2);
        reply::bulk(out, b"pong");
        reply::bulk(out, if a.len() == 2 { a.get(1) } else { b"" });
    } else if a.len() == 2 {
        reply::bulk(out, a.get(1));
    } else {
        out.extend_from_slice(b"+PONG\r\n");
    }
}

/// RESET: the connection as new — subscriptions left, name cleared.
fn reset(c: &mut Ctx<'_, '_>, _: Argv<'_>, out: &mut Vec<u8>) {
    if let Some(subs) = c.client.subs.take() {
        let id = c.net.id();
        super::pubsub::forget(&mut c.shared.pubsub.borrow_mut(), id, &subs);
        c.client.note_subscriptions();
        c.net.set_waiting(false);
    }
    *c.client.record.name.borrow_mut() = None;
    // Back to the default user: with a password set, it has to be given again.
    c.client.authenticated = c.shared.requirepass.borrow().is_none();
    c.client.multi = None;
    c.client.record.multi.set(-1);
    reply::simple(out, b"RESET");
}

fn echo(_: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    reply::bulk(out, a.get(1));
}

fn quit(c: &mut Ctx<'_, '_>, _: Argv<'_>, out: &mut Vec<u8>) {
    reply::ok(out);
    c.close = true;
}

fn select(_: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    match parse_i64(a.get(1)) {
        None => reply::error(out, NOT_INT),
        Some(0) => reply::ok(out),
        Some(_) => reply::error(out, b"ERR DB index is out of range"),
    }
}

/// The version evloop reports: a Redis 7.0 feature level, marked as not Redis.
const VERSION: &[u8] = b"7.0.0-evloop";

fn valid_client_name(name: &[u8]) -> bool {
    name.iter().all(|&b| (b'!'..=b'~').contains(&b))
}

const BAD_NAME: &[u8] = b"ERR Client names cannot contain spaces, newlines or special characters.";

fn hello(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    if a.len() >= 2 {
        match parse_i64(a.get(1)) {
            None => {
                return reply::error(
                    out,
                    b"ERR Protocol version is not an integer or out of range",
                )
            }
            Some(2) => {}
            Some(_) => return reply::error(out, b"NOPROTO unsupported protocol version"),
        }
    }
    let mut i = 2;
    let mut setname = None;
    let mut auth = None;
    while i < a.len() {
        let opt = a.get(i);
        let more = a.len() - i - 1;
        if eq(opt, b"auth") && more >= 2 {
            auth = Some((a.get(i + 1), a.get(i + 2)));
            i += 3;
        } else if eq(opt, b"setname") && more >= 1 {
            setname = Some(a.get(i + 1));
            i += 2;
        } else {
            let mut msg = b"ERR Syntax error in HELLO option '".to_vec();
            msg.extend_from_slice(opt);
            msg.push(b'\'');
            return reply::error(out, &msg);
        }
    }
    match auth {
        Some((user, pass)) => match super::auth::check(c, user, pass) {
            Ok(()) => c.client.authenticated = true,
            Err(msg) => return reply::error(out, msg),
        },
        None if !c.client.authenticated => {
            return reply::error(
                out,
                b"NOAUTH HELLO must be called with the client already authenticated, otherwise \
                  the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the \
                  client and select the RESP protocol version at the same time",
            )
        }
        None => {}
    }
    if let Some(name) = setname {
        if !valid_client_name(name) {
            return reply::error(out, BAD_NAME);
        }
        *c.client.record.name.borrow_mut() = (!name.is_empty()).then(|| name.into());
    }
    reply::array(out, 14);
    reply::bulk(out, b"server");
    reply::bulk(out, b"redis");
    reply::bulk(out, b"version");
    reply::bulk(out, VERSION);
    reply::bulk(out, b"proto");
    reply::int(out, 2);
    reply::bulk(out, b"id");
    reply::int(out, c.client.record.id as i64);
    reply::bulk(out, b"mode");
    reply::bulk(out, b"standalone");
    reply::bulk(out, b"role");
    reply::bulk(out, b"master");
    reply::bulk(out, b"modules");
    reply::array(out, 0);
}

fn client(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let sub = a.get(1);
    let (name, arity): (&[u8], i32) = if eq(sub, b"setname") {
        (b"client|setname", 3)
    } else if eq(sub, b"getname") {
        (b"client|getname", 2)
    } else if eq(sub, b"id") {
        (b"client|id", 2)
    } else if eq(sub, b"setinfo") {
        (b"client|setinfo", 4)
    } else if eq(sub, b"list") {
        (b"client|list", -2)
    } else if eq(sub, b"info") {
        (b"client|info", 2)
    } else if eq(sub, b"kill") {
        (b"client|kill", -3)
    } else if eq(sub, b"unblock") {
        (b"client|unblock", -3)
    } else {
        return unknown_subcommand(out, sub, b"CLIENT");
    };
    if !arity_ok(a.len(), arity) {
        return arity_error(out, name);
    }
    match name {
        b"client|setname" => {
            let n = a.get(2);
            if !valid_client_name(n) {
                return reply::error(out, BAD_NAME);
            }
            *c.client.record.name.borrow_mut() = (!n.is_empty()).then(|| n.into());
            reply::ok(out);
        }
        b"client|getname" => match &*c.client.record.name.borrow() {
            Some(n) => reply::bulk(out, n),
            None => reply::nil(out),
        },
        b"client|id" => reply::int(out, c.client.record.id as i64),
        b"client|list" => super::clients::list(c, a, out),
        b"client|info" => super::clients::info(c, out),
        b"client|kill" => super::clients::kill(c, a, out),
        b"client|unblock" => super::clients::unblock(c, a, out),
        _ => {
            let attr = a.get(2);
            if eq(attr, b"lib-name") || eq(attr, b"lib-ver") {
                reply::ok(out);
            } else {
                let mut msg = b"ERR Unrecognized option '".to_vec();
                msg.extend_from_slice(attr);
                msg.push(b'\'');
                reply::error(out, &msg);
            }
        }
    }
}

fn info(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    use std::fmt::Write as _;
    let want = |section: &str| {
        a.len() == 1
            || a.iter_from(1).any(|s| {
                eq(s, section.as_bytes())
                    || eq(s, b"all")
                    || eq(s, b"default")
                    || eq(s, b"everything")
            })
    };
    let sh = c.shared;
    let mut s = String::new();
    let section = |s: &mut String, title: &str| {
        if !s.is_empty() {
            s.push_str("\r\n");
        }
        s.push_str("# ");
        s.push_str(title);
        s.push_str("\r\n");
    };
    // Writing to a String cannot fail; the results are ignored.
    if want("server") {
        section(&mut s, "Server");
        let uptime = c.now.saturating_sub(sh.started_ms) / 1000;
        let _ = write!(
            s,
            "redis_version:{}\r\nredis_mode:standalone\r\nevloop_version:{}\r\nos:{} {}\r\n\
             arch_bits:{}\r\nmultiplexing_api:epoll\r\nprocess_id:{}\r\n\
             uptime_in_seconds:{}\r\nuptime_in_days:{}\r\n",
            String::from_utf8_lossy(VERSION),
            env!("CARGO_PKG_VERSION"),
            std::env::consts::OS,
            std::env::consts::ARCH,
            usize::BITS,
            std::process::id(),
            uptime,
            uptime / 86400,
        );
    }
    if want("clients") {
        section(&mut s, "Clients");
        let _ = write!(
            s,
            "connected_clients:{}\r\nblocked_clients:{}\r\n",
            sh.connected_clients.get(),
            c.store.blocked.len(),
        );
    }
    if want("memory") {
        section(&mut s, "Memory");
        let used = c.store.memory_estimate();
        let _ = write!(
            s,
            "used_memory:{used}\r\nused_memory_human:{:.2}M\r\nmaxmemory:0\r\nmaxmemory_policy:noeviction\r\n",
            used as f64 / (1024.0 * 1024.0)
        );
    }
    if want("persistence") {
        section(&mut s, "Persistence");
        super::aof::info(sh, &mut s);
    }
    if want("stats") {
        section(&mut s, "Stats");
        let _ = write!(
            s,
            "total_connections_received:{}\r\ntotal_commands_processed:{}\r\nexpired_keys:{}\r\nevicted_keys:0\r\n\
             pubsub_channels:{}\r\npubsub_patterns:{}\r\n",
            sh.total_connections.get(),
            sh.total_commands.get(),
            c.store.stats.expired_keys,
            sh.pubsub.borrow().channel_count(),
            sh.pubsub.borrow().pattern_count(),
        );
    }
    if want("keyspace") {
        section(&mut s, "Keyspace");
        if !c.store.is_empty() {
            let _ = write!(
                s,
                "db0:keys={},expires={},avg_ttl=0\r\n",
                c.store.len(),
                c.store.expires_len()
            );
        }
    }
    for (title, render) in sh.info_sections.borrow().iter() {
        if want(&title.to_ascii_lowercase()) {
            section(&mut s, title);
            render(&mut s);
        }
    }
    reply::bulk(out, s.as_bytes());
}

fn config(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let sub = a.get(1);
    if eq(sub, b"get") {
        if a.len() < 3 {
            return arity_error(out, b"config|get");
        }
        let max_bulk = c.shared.config.max_bulk.to_string();
        let obuf = super::clients::output_limits(&c.shared.pubsub.borrow().limits);
        let persistence = super::aof::config_values(c.shared);
        let mut params: Vec<(&[u8], &[u8])> = vec![
            (b"save", b""),
            (b"databases", b"1"),
            (b"maxmemory", b"0"),
            (b"timeout", b"0"),
            (b"maxmemory-policy", b"noeviction"),
            (b"proto-max-bulk-len", max_bulk.as_bytes()),
            (b"client-output-buffer-limit", obuf.as_bytes()),
        ];
        params.extend(persistence.iter().map(|(n, v)| (*n, v.as_bytes())));
        let security = super::auth::config_values(c.shared);
        params.extend(security.iter().map(|(n, v)| (*n, v.as_bytes())));
        let hits: Vec<_> = params
            .iter()
            .filter(|(name, _)| a.iter_from(2).any(|p| glob::matches(p, name, true)))
            .collect();
        reply::array(out, hits.len() * 2);
        for (name, value) in hits {
            reply::bulk(out, name);
            reply::bulk(out, value);
        }
    } else if eq(sub, b"set") {
        if a.len() < 4 {
            return arity_error(out, b"config|set");
        }
        if a.len() == 4 && eq(a.get(2), b"client-output-buffer-limit") {
            return super::clients::set_output_limits(c, a.get(3), out);
        }
        if a.len() == 4 {
            let param = a.get(2).to_ascii_lowercase();
            let set = super::aof::config_set(c.shared, &param, a.get(3))
                .or_else(|| super::auth::config_set(c.shared, &param, a.get(3)));
            match set {
                Some(Ok(())) => return reply::ok(out),
                Some(Err(why)) => {
                    let msg = format!(
                        "ERR CONFIG SET failed (possibly related to argument '{}') - {why}",
                        String::from_utf8_lossy(&param)
                    );
                    return reply::error(out, msg.as_bytes());
                }
                None => {}
            }
        }
        let mut msg = b"ERR Unknown option or number of arguments for CONFIG SET - '".to_vec();
        msg.extend_from_slice(a.get(2));
        msg.push(b'\'');
        reply::error(out, &msg);
    } else if eq(sub, b"resetstat") {
        c.shared.total_commands.set(0);
        c.shared.total_connections.set(0);
        c.store.stats = Default::default();
        reply::ok(out);
    } else {
        unknown_subcommand(out, sub, b"CONFIG");
    }
}

fn command(_: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    if a.len() == 1 {
        return reply::array(out, 0);
    }
    let sub = a.get(1);
    if eq(sub, b"count") {
        reply::int(out, NAMES.len() as i64);
    } else if eq(sub, b"list") {
        reply::array(out, NAMES.len());
        for n in NAMES {
            reply::bulk(out, n);
        }
    } else if eq(sub, b"docs") || eq(sub, b"info") {
        reply::array(out, 0);
    } else {
        unknown_subcommand(out, sub, b"COMMAND");
    }
}

fn dbsize(c: &mut Ctx<'_, '_>, _: Argv<'_>, out: &mut Vec<u8>) {
    reply::int(out, c.store.len() as i64);
}

fn flushdb(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    if a.len() > 2 || (a.len() == 2 && !eq(a.get(1), b"sync") && !eq(a.get(1), b"async")) {
        return reply::error(out, SYNTAX);
    }
    c.store.clear();
    reply::ok(out);
}

fn time(c: &mut Ctx<'_, '_>, _: Argv<'_>, out: &mut Vec<u8>) {
    reply::array(out, 2);
    reply::bulk_int(out, (c.now / 1000) as i64);
    reply::bulk_int(out, ((c.now % 1000) * 1000) as i64);
}

// ---------------------------------------------------------------- keys

fn del(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let mut n = 0;
    for k in a.iter_from(1) {
        if c.store.remove(k, c.now).is_some() {
            n += 1;
        }
    }
    reply::int(out, n);
}

fn exists(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let mut n = 0;
    for k in a.iter_from(1) {
        if c.store.exists(k, c.now) {
            n += 1;
        }
    }
    reply::int(out, n);
}

fn type_(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let name = match c.store.get(a.get(1), c.now) {
        Some(e) => e.value.type_name(),
        None => "none",
    };
    reply::simple(out, name.as_bytes());
}

fn keys(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let pattern = a.get(1);
    let all = pattern == b"*";
    let mut hits: Vec<&[u8]> = Vec::new();
    c.store.for_each_live(c.now, |e| {
        if all || glob::matches(pattern, e.key(), false) {
            hits.push(e.key());
        }
    });
    reply::array(out, hits.len());
    for k in hits {
        reply::bulk(out, k);
    }
}

fn scan(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let cursor = std::str::from_utf8(a.get(1))
        .ok()
        .and_then(|s| s.parse::<u64>().ok());
    let Some(cursor) = cursor else {
        return reply::error(out, b"ERR invalid cursor");
    };
    let mut count = 10usize;
    let mut pattern: Option<&[u8]> = None;
    let mut type_filter: Option<&[u8]> = None;
    let mut i = 2;
    while i < a.len() {
        let opt = a.get(i);
        if i + 1 >= a.len() {
            return reply::error(out, SYNTAX);
        }
        let val = a.get(i + 1);
        if eq(opt, b"count") {
            match parse_i64(val) {
                None => return reply::error(out, NOT_INT),
                Some(n) if n < 1 => return reply::error(out, SYNTAX),
                Some(n) => count = usize::try_from(n).unwrap_or(usize::MAX),
            }
        } else if eq(opt, b"match") {
            pattern = Some(val);
        } else if eq(opt, b"type") {
            type_filter = Some(val);
        } else {
            return reply::error(out, SYNTAX);
        }
        i += 2;
    }
    let mut hits: Vec<Bytes> = Vec::new();
    let next = c.store.scan(cursor, count, c.now, |e: &Entry| {
        let matched = pattern.is_none_or(|p| glob::matches(p, e.key(), false))
            && type_filter.is_none_or(|t| eq(t, e.value.type_name().as_bytes()));
        if matched {
            hits.push(e.key().into());
        }
    });
    let Some(next) = next else {
        return reply::error(out, b"ERR invalid cursor");
    };
    reply::array(out, 2);
    reply::bulk(out, itoa::Buffer::new().format(next).as_bytes());
    reply::array(out, hits.len());
    for k in hits {
        reply::bulk(out, &k);
    }
}

fn rename(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let (src, dst) = (a.get(1), a.get(2));
    let Some(e) = c.store.remove(src, c.now) else {
        return reply::error(out, NO_KEY);
    };
    let at = e.expire_at().unwrap_or(0);
    c.store.insert(dst, e.value, at);
    reply::ok(out);
}

/// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT: `unit` is 1000 for seconds, `relative`
/// adds the current time.
fn expire_generic(
    c: &mut Ctx<'_, '_>,
    a: Argv<'_>,
    out: &mut Vec<u8>,
    unit: i64,
    relative: bool,
    name: &str,
) {
    let Some(mut when) = parse_i64(a.get(2)) else {
        return reply::error(out, NOT_INT);
    };
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for opt in a.iter_from(3) {
        if eq(opt, b"nx") {
            nx = true;
        } else if eq(opt, b"xx") {
            xx = true;
        } else if eq(opt, b"gt") {
            gt = true;
        } else if eq(opt, b"lt") {
            lt = true;
        } else {
            let mut msg = b"ERR Unsupported option ".to_vec();
            msg.extend_from_slice(opt);
            return reply::error(out, &msg);
        }
    }
    if nx && (xx || gt || lt) {
        return reply::error(
            out,
            b"ERR NX and XX, GT or LT options at the same time are not compatible",
        );
    }
    if gt && lt {
        return reply::error(
            out,
            b"ERR GT and LT options at the same time are not compatible",
        );
    }
    let base = if relative { c.now as i64 } else { 0 };
    match when.checked_mul(unit).and_then(|w| w.checked_add(base)) {
        Some(w) => when = w,
        None => {
            let msg = format!("ERR invalid expire time in '{name}' command");
            return reply::error(out, msg.as_bytes());
        }
    }
    let key = a.get(1);
    let current = match c.store.get(key, c.now) {
        None => return reply::int(out, 0),
        Some(e) => e.expire_at(),
    };
    let allowed = match current {
        Some(cur) => {
            let cur = cur as i64;
            !(nx || (gt && when <= cur) || (lt && when >= cur))
        }
        // No TTL counts as an infinite one.
        None => !(xx || gt),
    };
    if !allowed {
        return reply::int(out, 0);
    }
    if when <= c.now as i64 {
        c.store.remove(key, c.now);
    } else {
        c.store.set_expire(key, Some(when as u64), c.now);
    }
    reply::int(out, 1);
}

fn expire(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    expire_generic(c, a, out, 1000, true, "expire")
}

fn pexpire(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    expire_generic(c, a, out, 1, true, "pexpire")
}

fn expireat(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    expire_generic(c, a, out, 1000, false, "expireat")
}

fn pexpireat(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    expire_generic(c, a, out, 1, false, "pexpireat")
}

fn ttl_generic(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>, millis: bool) {
    let now = c.now;
    let n = match c.store.get(a.get(1), now) {
        None => -2,
        Some(e) => match e.expire_at() {
            None => -1,
            Some(at) => {
                let left = at.saturating_sub(now) as i64;
                if millis {
                    left
                } else {
                    (left + 500) / 1000
                }
            }
        },
    };
    reply::int(out, n);
}

fn ttl(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    ttl_generic(c, a, out, false)
}

fn pttl(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    ttl_generic(c, a, out, true)
}

fn persist(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let key = a.get(1);
    let had = matches!(c.store.get(key, c.now), Some(e) if e.expire_at().is_some());
    if had {
        c.store.set_expire(key, None, c.now);
    }
    reply::int(out, had as i64);
}

// ---------------------------------------------------------------- strings

fn get(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    match c.store.get(a.get(1), c.now) {
        None => reply::nil(out),
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => reply::bulk(out, s),
        Some(_) => reply::error(out, WRONGTYPE),
    }
}

/// Turn an EX/PX/EXAT/PXAT argument into an absolute UNIX ms deadline, with Redis's
/// checks: not an integer → NOT_INT; not positive or overflowing → invalid expire.
fn expire_arg(arg: &[u8], unit: i64, relative: bool, now: u64, cmd: &str) -> Result<u64, Vec<u8>> {
    let n = parse_i64(arg).ok_or_else(|| NOT_INT.to_vec())?;
    let invalid = || format!("ERR invalid expire time in '{cmd}' command").into_bytes();
    if n <= 0 {
        return Err(invalid());
    }
    let base = if relative { now as i64 } else { 0 };
    let at = n
        .checked_mul(unit)
        .and_then(|ms| ms.checked_add(base))
        .ok_or_else(invalid)?;
    Ok(at as u64)
}

fn set(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let (key, val) = (a.get(1), a.get(2));
    if a.len() == 3 {
        c.store.set_string(key, val, Ttl::Clear, c.now);
        return reply::ok(out);
    }
    let (mut nx, mut xx, mut get, mut keep) = (false, false, false, false);
    // (unit, relative, argument)
    let mut expire: Option<(i64, bool, &[u8])> = None;
    let mut i = 3;
    while i < a.len() {
        let opt = a.get(i);
        let next = (i + 1 < a.len()).then(|| a.get(i + 1));
        let exp = if eq(opt, b"ex") {
            Some((1000, true))
        } else if eq(opt, b"px") {
            Some((1, true))
        } else if eq(opt, b"exat") {
            Some((1000, false))
        } else if eq(opt, b"pxat") {
            Some((1, false))
        } else {
            None
        };
        if let Some((unit, relative)) = exp {
            match next {
                Some(arg) if expire.is_none() && !keep => {
                    expire = Some((unit, relative, arg));
                    i += 2;
                    continue;
                }
                _ => return reply::error(out, SYNTAX),
            }
        }
        if eq(opt, b"nx") && !xx {
            nx = true;
        } else if eq(opt, b"xx") && !nx {
            xx = true;
        } else if eq(opt, b"get") {
            get = true;
        } else if eq(opt, b"keepttl") && expire.is_none() {
            keep = true;
        } else {
            return reply::error(out, SYNTAX);
        }
        i += 1;
    }
    let ttl_mode = match expire {
        Some((unit, relative, arg)) => match expire_arg(arg, unit, relative, c.now, "set") {
            Ok(at) => Ttl::At(at),
            Err(msg) => return reply::error(out, &msg),
        },
        None if keep => Ttl::Keep,
        None => Ttl::Clear,
    };
    let exists = match c.store.get(key, c.now) {
        None => {
            if get {
                reply::nil(out);
            }
            false
        }
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => {
            if get {
                reply::bulk(out, s);
            }
            true
        }
        Some(_) => {
            if get {
                return reply::error(out, WRONGTYPE);
            }
            true
        }
    };
    if (nx && exists) || (xx && !exists) {
        if !get {
            reply::nil(out);
        }
        return;
    }
    c.store.set_string(key, val, ttl_mode, c.now);
    if !get {
        reply::ok(out);
    }
}

fn setnx(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    if c.store.exists(a.get(1), c.now) {
        return reply::int(out, 0);
    }
    c.store.set_string(a.get(1), a.get(2), Ttl::Clear, c.now);
    reply::int(out, 1);
}

fn setex_generic(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>, unit: i64, name: &str) {
    match expire_arg(a.get(2), unit, true, c.now, name) {
        Ok(at) => {
            c.store.set_string(a.get(1), a.get(3), Ttl::At(at), c.now);
            reply::ok(out);
        }
        Err(msg) => reply::error(out, &msg),
    }
}

fn setex(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    setex_generic(c, a, out, 1000, "setex")
}

fn psetex(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    setex_generic(c, a, out, 1, "psetex")
}

fn getset(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    match c.store.get(a.get(1), c.now) {
        None => reply::nil(out),
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => reply::bulk(out, s),
        Some(_) => return reply::error(out, WRONGTYPE),
    }
    c.store.set_string(a.get(1), a.get(2), Ttl::Clear, c.now);
}

fn getdel(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    match c.store.get(a.get(1), c.now) {
        None => return reply::nil(out),
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => reply::bulk(out, s),
        Some(_) => return reply::error(out, WRONGTYPE),
    }
    c.store.remove(a.get(1), c.now);
}

fn mget(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    reply::array(out, a.len() - 1);
    for k in a.iter_from(1) {
        match c.store.get(k, c.now) {
            Some(Entry {
                value: Value::Str(s),
                ..
            }) => reply::bulk(out, s),
            _ => reply::nil(out),
        }
    }
}

fn mset(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    if a.len().is_multiple_of(2) {
        return arity_error(out, b"mset");
    }
    for i in (1..a.len()).step_by(2) {
        c.store
            .set_string(a.get(i), a.get(i + 1), Ttl::Clear, c.now);
    }
    reply::ok(out);
}

fn msetnx(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    if a.len().is_multiple_of(2) {
        return arity_error(out, b"msetnx");
    }
    for i in (1..a.len()).step_by(2) {
        if c.store.exists(a.get(i), c.now) {
            return reply::int(out, 0);
        }
    }
    for i in (1..a.len()).step_by(2) {
        c.store
            .set_string(a.get(i), a.get(i + 1), Ttl::Clear, c.now);
    }
    reply::int(out, 1);
}

/// INCR and friends: the value must be a decimal i64; the result replaces it in
/// place (keeping the TTL) without allocating.
fn incr_by(c: &mut Ctx<'_, '_>, key: &[u8], delta: i64, out: &mut Vec<u8>) {
    match c.store.get(key, c.now) {
        Some(e) => {
            let Value::Str(s) = &mut e.value else {
                return reply::error(out, WRONGTYPE);
            };
            let Some(cur) = parse_i64(s) else {
                return reply::error(out, NOT_INT);
            };
            let Some(n) = cur.checked_add(delta) else {
                return reply::error(out, OVERFLOW);
            };
            s.clear();
            s.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
            reply::int(out, n);
        }
        None => {
            let mut buf = itoa::Buffer::new();
            c.store
                .set_string(key, buf.format(delta).as_bytes(), Ttl::Clear, c.now);
            reply::int(out, delta);
        }
    }
}

fn incr(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    incr_by(c, a.get(1), 1, out)
}

fn decr(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    incr_by(c, a.get(1), -1, out)
}

fn incrby(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    match parse_i64(a.get(2)) {
        Some(d) => incr_by(c, a.get(1), d, out),
        None => reply::error(out, NOT_INT),
    }
}

fn decrby(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    match parse_i64(a.get(2)) {
        Some(i64::MIN) => reply::error(out, b"ERR decrement would overflow"),
        Some(d) => incr_by(c, a.get(1), -d, out),
        None => reply::error(out, NOT_INT),
    }
}

fn incrbyfloat(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let key = a.get(1);
    let Some(incr) = parse_f64(a.get(2)) else {
        return reply::error(out, NOT_FLOAT);
    };
    let cur = match c.store.get(key, c.now) {
        None => 0.0,
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => match parse_f64(s) {
            Some(v) => v,
            None => return reply::error(out, NOT_FLOAT),
        },
        Some(_) => return reply::error(out, WRONGTYPE),
    };
    let v = cur + incr;
    if !v.is_finite() {
        return reply::error(out, b"ERR increment would produce NaN or Infinity");
    }
    // Redis prints long doubles with %.17Lf and trims zeros; Rust's shortest f64
    // representation gives the same text in the common cases ("10.5", "3").
    let text = format!("{v}");
    match c.store.get(key, c.now) {
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => {
            s.clear();
            s.extend_from_slice(text.as_bytes());
        }
        _ => c.store.set_string(key, text.as_bytes(), Ttl::Clear, c.now),
    }
    reply::bulk(out, text.as_bytes());
}

fn append(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let max = c.shared.config.max_bulk;
    let add = a.get(2);
    let e = c
        .store
        .get_or_insert_with(a.get(1), c.now, || Value::Str(Vec::new()));
    let Value::Str(s) = &mut e.value else {
        return reply::error(out, WRONGTYPE);
    };
    if s.len() + add.len() > max {
        return reply::error(out, TOO_BIG);
    }
    s.extend_from_slice(add);
    reply::int(out, s.len() as i64);
}

fn strlen(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    match c.store.get(a.get(1), c.now) {
        None => reply::int(out, 0),
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => reply::int(out, s.len() as i64),
        Some(_) => reply::error(out, WRONGTYPE),
    }
}

fn getrange(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let (Some(mut start), Some(mut end)) = (parse_i64(a.get(2)), parse_i64(a.get(3))) else {
        return reply::error(out, NOT_INT);
    };
    let s = match c.store.get(a.get(1), c.now) {
        None => return reply::bulk(out, b""),
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => s,
        Some(_) => return reply::error(out, WRONGTYPE),
    };
    let len = s.len() as i64;
    if start < 0 && end < 0 && start > end {
        return reply::bulk(out, b"");
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        return reply::bulk(out, b"");
    }
    reply::bulk(out, &s[start as usize..=end as usize]);
}

fn setrange(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let key = a.get(1);
    let value = a.get(3);
    let Some(offset) = parse_i64(a.get(2)) else {
        return reply::error(out, NOT_INT);
    };
    if offset < 0 {
        return reply::error(out, b"ERR offset is out of range");
    }
    let max = c.shared.config.max_bulk as u64;
    let too_big = offset as u64 + value.len() as u64 > max;
    match c.store.get(key, c.now) {
        None => {
            if value.is_empty() {
                return reply::int(out, 0);
            }
            if too_big {
                return reply::error(out, TOO_BIG);
            }
            let mut s = vec![0u8; offset as usize];
            s.extend_from_slice(value);
            let n = s.len();
            c.store.insert(key, Value::Str(s), 0);
            reply::int(out, n as i64);
        }
        Some(e) => {
            let Value::Str(s) = &mut e.value else {
                return reply::error(out, WRONGTYPE);
            };
            if value.is_empty() {
                return reply::int(out, s.len() as i64);
            }
            if too_big {
                return reply::error(out, TOO_BIG);
            }
            let offset = offset as usize;
            let end = offset + value.len();
            if s.len() < end {
                s.resize(end, 0);
            }
            s[offset..end].copy_from_slice(value);
            reply::int(out, s.len() as i64);
        }
    }
}

// ---------------------------------------------------------------- lists

fn new_list() -> Value {
    Value::List(Box::default())
}

fn push(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>, left: bool) {
    let e = c.store.get_or_insert_with(a.get(1), c.now, new_list);
    let Value::List(l) = &mut e.value else {
        return reply::error(out, WRONGTYPE);
    };
    for v in a.iter_from(2) {
        if left {
            l.push_front(v.into());
        } else {
            l.push_back(v.into());
        }
    }
    reply::int(out, l.len() as i64);
}

fn lpush(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    push(c, a, out, true)
}

fn rpush(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    push(c, a, out, false)
}

/// The optional COUNT of LPOP/RPOP/SPOP/ZPOPMIN: a non-negative integer, anything
/// else is "value is out of range, must be positive" (Redis words both cases so).
fn pop_count(a: &Argv<'_>, name: &[u8], out: &mut Vec<u8>) -> Result<Option<usize>, ()> {
    match a.len() {
        2 => Ok(None),
        3 => match parse_i64(a.get(2)) {
            Some(n) if n >= 0 => Ok(Some(usize::try_from(n).unwrap_or(usize::MAX))),
            _ => {
                reply::error(out, MUST_BE_POSITIVE);
                Err(())
            }
        },
        _ => {
            arity_error(out, name);
            Err(())
        }
    }
}

fn pop(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>, left: bool) {
    let name: &[u8] = if left { b"lpop" } else { b"rpop" };
    let Ok(count) = pop_count(&a, name, out) else {
        return;
    };
    let key = a.get(1);
    let Some(e) = c.store.get(key, c.now) else {
        return match count {
            Some(_) => reply::nil_array(out),
            None => reply::nil(out),
        };
    };
    let Value::List(l) = &mut e.value else {
        return reply::error(out, WRONGTYPE);
    };
    let take = |l: &mut VecDeque<Bytes>| if left { l.pop_front() } else { l.pop_back() };
    match count {
        None => match take(l) {
            Some(v) => reply::bulk(out, &v),
            None => reply::nil(out),
        },
        Some(n) => {
            let n = n.min(l.len());
            reply::array(out, n);
            for _ in 0..n {
                if let Some(v) = take(l) {
                    reply::bulk(out, &v);
                }
            }
        }
    }
    if l.is_empty() {
        c.store.remove_if_empty(key);
    }
}

fn lpop(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    pop(c, a, out, true)
}

fn rpop(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    pop(c, a, out, false)
}

/// The live list at `key`: Ok(None) if missing, Err after replying WRONGTYPE.
fn list<'s>(
    c: &'s mut Ctx<'_, '_>,
    key: &[u8],
    out: &mut Vec<u8>,
) -> Result<Option<&'s mut VecDeque<Bytes>>, ()> {
    match c.store.get(key, c.now) {
        None => Ok(None),
        Some(Entry {
            value: Value::List(l),
            ..
        }) => Ok(Some(l)),
        Some(_) => {
            reply::error(out, WRONGTYPE);
            Err(())
        }
    }
}

/// Redis's index range normalisation (LRANGE, LTRIM, ZRANGE): `None` if empty.
fn range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut start = if start < 0 { start + len } else { start };
    let mut end = if end < 0 { end + len } else { end };
    start = start.max(0);
    if start > end || start >= len {
        return None;
    }
    if end >= len {
        end = len - 1;
    }
    Some((start as usize, end as usize))
}

fn lrange(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let (Some(start), Some(end)) = (parse_i64(a.get(2)), parse_i64(a.get(3))) else {
        return reply::error(out, NOT_INT);
    };
    let Ok(l) = list(c, a.get(1), out) else {
        return;
    };
    let Some(l) = l else {
        return reply::array(out, 0);
    };
    match range(start, end, l.len()) {
        None => reply::array(out, 0),
        Some((s, e)) => {
            reply::array(out, e - s + 1);
            for v in l.range(s..=e) {
                reply::bulk(out, v);
            }
        }
    }
}

fn llen(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    if let Ok(l) = list(c, a.get(1), out) {
        reply::int(out, l.map_or(0, |l| l.len()) as i64);
    }
}

fn list_index(idx: i64, len: usize) -> Option<usize> {
    let i = if idx < 0 { idx + len as i64 } else { idx };
    (i >= 0 && i < len as i64).then_some(i as usize)
}

fn lindex(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let Some(idx) = parse_i64(a.get(2)) else {
        return reply::error(out, NOT_INT);
    };
    if let Ok(l) = list(c, a.get(1), out) {
        match l.and_then(|l| list_index(idx, l.len()).and_then(|i| l.get(i))) {
            Some(v) => reply::bulk(out, v),
            None => reply::nil(out),
        }
    }
}

fn lset(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let Some(idx) = parse_i64(a.get(2)) else {
        return reply::error(out, NOT_INT);
    };
    let val = a.get(3);
    match list(c, a.get(1), out) {
        Err(()) => {}
        Ok(None) => reply::error(out, NO_KEY),
        Ok(Some(l)) => match list_index(idx, l.len()).and_then(|i| l.get_mut(i)) {
            Some(slot) => {
                *slot = val.into();
                reply::ok(out);
            }
            None => reply::error(out, b"ERR index out of range"),
        },
    }
}

fn lrem(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let Some(count) = parse_i64(a.get(2)) else {
        return reply::error(out, NOT_INT);
    };
    let key = a.get(1);
    let val = a.get(3);
    let Ok(l) = list(c, key, out) else {
        return;
    };
    let Some(l) = l else {
        return reply::int(out, 0);
    };
    let limit = if count == 0 {
        usize::MAX
    } else {
        usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX)
    };
    let mut removed = 0usize;
    if count >= 0 {
        let mut i = 0;
        while i < l.len() && removed < limit {
            if *l[i] == *val {
                l.remove(i);
                removed += 1;
            } else {
                i += 1;
            }
        }
    } else {
        let mut i = l.len();
        while i > 0 && removed < limit {
            i -= 1;
            if *l[i] == *val {
                l.remove(i);
                removed += 1;
            }
        }
    }
    if l.is_empty() {
        c.store.remove_if_empty(key);
    }
    reply::int(out, removed as i64);
}

fn ltrim(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let (Some(start), Some(end)) = (parse_i64(a.get(2)), parse_i64(a.get(3))) else {
        return reply::error(out, NOT_INT);
    };
    let key = a.get(1);
    let Ok(l) = list(c, key, out) else {
        return;
    };
    if let Some(l) = l {
        match range(start, end, l.len()) {
            None => l.clear(),
            Some((s, e)) => {
                l.truncate(e + 1);
                l.drain(..s);
            }
        }
        if l.is_empty() {
            c.store.remove_if_empty(key);
        }
    }
    reply::ok(out);
}

// ---------------------------------------------------------------- hashes

type Hash = HashMap<Bytes, Bytes, Hasher>;

fn new_hash() -> Value {
    Value::Hash(Box::default())
}

fn hash<'s>(
    c: &'s mut Ctx<'_, '_>,
    key: &[u8],
    out: &mut Vec<u8>,
) -> Result<Option<&'s mut Hash>, ()> {
    match c.store.get(key, c.now) {
        None => Ok(None),
        Some(Entry {
            value: Value::Hash(h),
            ..
        }) => Ok(Some(h)),
        Some(_) => {
            reply::error(out, WRONGTYPE);
            Err(())
        }
    }
}

/// HSET/HMSET: returns the number of fields added, or None after an error reply.
fn hset_generic(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>, name: &[u8]) -> Option<i64> {
    if a.len() % 2 == 1 {
        arity_error(out, name);
        return None;
    }
    let e = c.store.get_or_insert_with(a.get(1), c.now, new_hash);
    let Value::Hash(h) = &mut e.value else {
        reply::error(out, WRONGTYPE);
        return None;
    };
    let mut added = 0;
    for i in (2..a.len()).step_by(2) {
        let (f, v) = (a.get(i), a.get(i + 1));
        match h.get_mut(f) {
            Some(slot) => *slot = v.into(),
            None => {
                h.insert(f.into(), v.into());
                added += 1;
            }
        }
    }
    Some(added)
}

fn hset(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    if let Some(n) = hset_generic(c, a, out, b"hset") {
        reply::int(out, n);
    }
}

fn hmset(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    if hset_generic(c, a, out, b"hmset").is_some() {
        reply::ok(out);
    }
}

fn hget(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let f = a.get(2);
    if let Ok(h) = hash(c, a.get(1), out) {
        match h.and_then(|h| h.get(f)) {
            Some(v) => reply::bulk(out, v),
            None => reply::nil(out),
        }
    }
}

fn hmget(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    if let Ok(h) = hash(c, a.get(1), out) {
        reply::array(out, a.len() - 2);
        for f in a.iter_from(2) {
            match h.as_ref().and_then(|h| h.get(f)) {
                Some(v) => reply::bulk(out, v),
                None => reply::nil(out),
            }
        }
    }
}

fn hdel(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let key = a.get(1);
    let Ok(h) = hash(c, key, out) else {
        return;
    };
    let Some(h) = h else {
        return reply::int(out, 0);
    };
    let n = a.iter_from(2).filter(|f| h.remove(*f).is_some()).count();
    if h.is_empty() {
        c.store.remove_if_empty(key);
    }
    reply::int(out, n as i64);
}

fn hlen(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    if let Ok(h) = hash(c, a.get(1), out) {
        reply::int(out, h.map_or(0, |h| h.len()) as i64);
    }
}

fn hexists(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let f = a.get(2);
    if let Ok(h) = hash(c, a.get(1), out) {
        reply::int(out, h.is_some_and(|h| h.contains_key(f)) as i64);
    }
}

fn hgetall_generic(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>, keys: bool, vals: bool) {
    let Ok(h) = hash(c, a.get(1), out) else {
        return;
    };
    let Some(h) = h else {
        return reply::array(out, 0);
    };
    reply::array(out, h.len() * (keys as usize + vals as usize));
    for (k, v) in h.iter() {
        if keys {
            reply::bulk(out, k);
        }
        if vals {
            reply::bulk(out, v);
        }
    }
}

fn hgetall(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    hgetall_generic(c, a, out, true, true)
}

fn hkeys(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    hgetall_generic(c, a, out, true, false)
}

fn hvals(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    hgetall_generic(c, a, out, false, true)
}

fn hincrby(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let Some(incr) = parse_i64(a.get(3)) else {
        return reply::error(out, NOT_INT);
    };
    let f = a.get(2);
    let e = c.store.get_or_insert_with(a.get(1), c.now, new_hash);
    let Value::Hash(h) = &mut e.value else {
        return reply::error(out, WRONGTYPE);
    };
    let cur = match h.get(f) {
        None => 0,
        Some(v) => match parse_i64(v) {
            Some(n) => n,
            None => return reply::error(out, b"ERR hash value is not an integer"),
        },
    };
    let Some(n) = cur.checked_add(incr) else {
        if h.is_empty() {
            c.store.remove_if_empty(a.get(1));
        }
        return reply::error(out, OVERFLOW);
    };
    h.insert(f.into(), itoa::Buffer::new().format(n).as_bytes().into());
    reply::int(out, n);
}

// ---------------------------------------------------------------- sets

type Set = IndexSet<Bytes, Hasher>;

fn set_of<'s>(
    c: &'s mut Ctx<'_, '_>,
    key: &[u8],
    out: &mut Vec<u8>,
) -> Result<Option<&'s mut Set>, ()> {
    match c.store.get(key, c.now) {
        None => Ok(None),
        Some(Entry {
            value: Value::Set(s),
            ..
        }) => Ok(Some(s)),
        Some(_) => {
            reply::error(out, WRONGTYPE);
            Err(())
        }
    }
}

fn sadd(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let e = c
        .store
        .get_or_insert_with(a.get(1), c.now, || Value::Set(Box::default()));
    let Value::Set(s) = &mut e.value else {
        return reply::error(out, WRONGTYPE);
    };
    let mut added = 0;
    for m in a.iter_from(2) {
        if !s.contains(m) {
            s.insert(m.into());
            added += 1;
        }
    }
    reply::int(out, added);
}

fn srem(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let key = a.get(1);
    let Ok(s) = set_of(c, key, out) else {
        return;
    };
    let Some(s) = s else {
        return reply::int(out, 0);
    };
    let n = a.iter_from(2).filter(|m| s.swap_remove(*m)).count();
    if s.is_empty() {
        c.store.remove_if_empty(key);
    }
    reply::int(out, n as i64);
}

fn smembers(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    if let Ok(s) = set_of(c, a.get(1), out) {
        let Some(s) = s else {
            return reply::array(out, 0);
        };
        reply::array(out, s.len());
        for m in s.iter() {
            reply::bulk(out, m);
        }
    }
}

fn sismember(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let m = a.get(2);
    if let Ok(s) = set_of(c, a.get(1), out) {
        reply::int(out, s.is_some_and(|s| s.contains(m)) as i64);
    }
}

fn scard(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    if let Ok(s) = set_of(c, a.get(1), out) {
        reply::int(out, s.map_or(0, |s| s.len()) as i64);
    }
}

fn spop(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let Ok(count) = pop_count(&a, b"spop", out) else {
        return;
    };
    let key = a.get(1);
    let mut rng = c.store.random();
    let Ok(s) = set_of(c, key, out) else {
        return;
    };
    let Some(s) = s else {
        return match count {
            Some(_) => reply::array(out, 0),
            None => reply::nil(out),
        };
    };
    let mut pop_one = |s: &mut Set| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let i = (rng % s.len().max(1) as u64) as usize;
        s.swap_remove_index(i)
    };
    match count {
        None => match pop_one(s) {
            Some(m) => reply::bulk(out, &m),
            None => reply::nil(out),
        },
        Some(n) => {
            let n = n.min(s.len());
            reply::array(out, n);
            for _ in 0..n {
                if let Some(m) = pop_one(s) {
                    reply::bulk(out, &m);
                }
            }
        }
    }
    if s.is_empty() {
        c.store.remove_if_empty(key);
    }
}

// ---------------------------------------------------------------- sorted sets

fn zset<'s>(
    c: &'s mut Ctx<'_, '_>,
    key: &[u8],
    out: &mut Vec<u8>,
) -> Result<Option<&'s mut ZSet>, ()> {
    match c.store.get(key, c.now) {
        None => Ok(None),
        Some(Entry {
            value: Value::ZSet(z),
            ..
        }) => Ok(Some(z)),
        Some(_) => {
            reply::error(out, WRONGTYPE);
            Err(())
        }
    }
}

fn zadd(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let (mut nx, mut xx, mut gt, mut lt, mut ch, mut incr) =
        (false, false, false, false, false, false);
    let mut i = 2;
    while i < a.len() {
        let o = a.get(i);
        if eq(o, b"nx") {
            nx = true;
        } else if eq(o, b"xx") {
            xx = true;
        } else if eq(o, b"gt") {
            gt = true;
        } else if eq(o, b"lt") {
            lt = true;
        } else if eq(o, b"ch") {
            ch = true;
        } else if eq(o, b"incr") {
            incr = true;
        } else {
            break;
        }
        i += 1;
    }
    let elements = a.len() - i;
    if elements == 0 || elements % 2 == 1 {
        return reply::error(out, SYNTAX);
    }
    if nx && xx {
        return reply::error(
            out,
            b"ERR XX and NX options at the same time are not compatible",
        );
    }
    if (nx && (gt || lt)) || (gt && lt) {
        return reply::error(
            out,
            b"ERR GT, LT, and/or NX options at the same time are not compatible",
        );
    }
    if incr && elements > 2 {
        return reply::error(
            out,
            b"ERR INCR option supports a single increment-element pair",
        );
    }
    let first = i;
    for j in (first..a.len()).step_by(2) {
        if parse_f64(a.get(j)).is_none() {
            return reply::error(out, NOT_FLOAT);
        }
    }
    let key = a.get(1);
    let exists = match zset(c, key, out) {
        Err(()) => return,
        Ok(z) => z.is_some(),
    };
    if !exists && xx {
        return if incr {
            reply::nil(out)
        } else {
            reply::int(out, 0)
        };
    }
    let e = c
        .store
        .get_or_insert_with(key, c.now, || Value::ZSet(Box::default()));
    let Value::ZSet(z) = &mut e.value else {
        return reply::error(out, WRONGTYPE);
    };
    let (mut added, mut updated) = (0, 0);
    let mut incr_result = None;
    for j in (first..a.len()).step_by(2) {
        let mut score = parse_f64(a.get(j)).unwrap_or(0.0);
        let member = a.get(j + 1);
        match z.score(member) {
            Some(cur) => {
                if nx {
                    continue;
                }
                if incr {
                    score += cur;
                    if score.is_nan() {
                        if z.len() == 0 {
                            c.store.remove_if_empty(key);
                        }
                        return reply::error(out, b"ERR resulting score is not a number (NaN)");
                    }
                }
                if (lt && score >= cur) || (gt && score <= cur) {
                    continue;
                }
                incr_result = Some(score);
                if score != cur {
                    z.insert(member, score);
                    updated += 1;
                }
            }
            None => {
                if xx {
                    continue;
                }
                z.insert(member, score);
                added += 1;
                incr_result = Some(score);
            }
        }
    }
    if z.len() == 0 {
        c.store.remove_if_empty(key);
    }
    if incr {
        match incr_result {
            Some(s) => reply::double(out, s),
            None => reply::nil(out),
        }
    } else {
        reply::int(out, added + if ch { updated } else { 0 });
    }
}

fn zscore(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let m = a.get(2);
    if let Ok(z) = zset(c, a.get(1), out) {
        match z.and_then(|z| z.score(m)) {
            Some(s) => reply::double(out, s),
            None => reply::nil(out),
        }
    }
}

fn zcard(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    if let Ok(z) = zset(c, a.get(1), out) {
        reply::int(out, z.map_or(0, |z| z.len()) as i64);
    }
}

fn zrem(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let key = a.get(1);
    let Ok(z) = zset(c, key, out) else {
        return;
    };
    let Some(z) = z else {
        return reply::int(out, 0);
    };
    let n = a.iter_from(2).filter(|m| z.remove(m)).count();
    if z.len() == 0 {
        c.store.remove_if_empty(key);
    }
    reply::int(out, n as i64);
}

fn zrange(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let (Some(start), Some(end)) = (parse_i64(a.get(2)), parse_i64(a.get(3))) else {
        // Redis parses the options first; a BYSCORE range is not an integer.
        if a.iter_from(4).any(|o| eq(o, b"byscore") || eq(o, b"bylex")) {
            return reply::error(out, b"ERR BYSCORE and BYLEX ranges are not supported");
        }
        return reply::error(out, NOT_INT);
    };
    let (mut rev, mut scores) = (false, false);
    for o in a.iter_from(4) {
        if eq(o, b"rev") {
            rev = true;
        } else if eq(o, b"withscores") {
            scores = true;
        } else if eq(o, b"byscore") || eq(o, b"bylex") {
            return reply::error(out, b"ERR BYSCORE and BYLEX ranges are not supported");
        } else {
            return reply::error(out, SYNTAX);
        }
    }
    let Ok(z) = zset(c, a.get(1), out) else {
        return;
    };
    let Some(z) = z else {
        return reply::array(out, 0);
    };
    let Some((s, e)) = range(start, end, z.len()) else {
        return reply::array(out, 0);
    };
    let n = e - s + 1;
    reply::array(out, if scores { 2 * n } else { n });
    let mut emit = |(m, sc): (&[u8], f64)| {
        reply::bulk(out, m);
        if scores {
            reply::double(out, sc);
        }
    };
    if rev {
        z.iter().rev().skip(s).take(n).for_each(&mut emit);
    } else {
        z.iter().skip(s).take(n).for_each(&mut emit);
    }
}

fn zrank(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let m = a.get(2);
    if let Ok(z) = zset(c, a.get(1), out) {
        match z.and_then(|z| z.rank(m)) {
            Some(r) => reply::int(out, r as i64),
            None => reply::nil(out),
        }
    }
}

fn zpop_generic(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>, max: bool) {
    let name: &[u8] = if max { b"zpopmax" } else { b"zpopmin" };
    let Ok(count) = pop_count(&a, name, out) else {
        return;
    };
    let key = a.get(1);
    let Ok(z) = zset(c, key, out) else {
        return;
    };
    let Some(z) = z else {
        return reply::array(out, 0);
    };
    let n = count.unwrap_or(1).min(z.len());
    reply::array(out, 2 * n);
    for _ in 0..n {
        if let Some((m, s)) = if max { z.pop_max() } else { z.pop_min() } {
            reply::bulk(out, &m);
            reply::double(out, s);
        }
    }
    if z.len() == 0 {
        c.store.remove_if_empty(key);
    }
}

fn zpopmin(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    zpop_generic(c, a, out, false)
}

fn zpopmax(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    zpop_generic(c, a, out, true)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{advance, clock, Harness};

    const WT: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
    const SYNTAX: &str = "-ERR syntax error\r\n";

    fn bulk(s: &str) -> String {
        format!("${}\r\n{}\r\n", s.len(), s)
    }

    fn arr(items: &[&str]) -> String {
        let mut s = format!("*{}\r\n", items.len());
        for i in items {
            s.push_str(&bulk(i));
        }
        s
    }

    #[test]
    fn connection_commands() {
        let mut h = Harness::new();
        assert_eq!(h.cmd(&["PING"]), "+PONG\r\n");
        assert_eq!(h.cmd(&["ping", "hi"]), bulk("hi"));
        assert_eq!(
            h.cmd(&["PING", "a", "b"]),
            "-ERR wrong number of arguments for 'ping' command\r\n"
        );
        assert_eq!(h.cmd(&["ECHO", "x y"]), bulk("x y"));
        assert_eq!(h.cmd(&["SELECT", "0"]), "+OK\r\n");
        assert_eq!(h.cmd(&["SELECT", "1"]), "-ERR DB index is out of range\r\n");
        assert_eq!(h.cmd(&["SELECT", "x"]), NOT_INT);
        assert_eq!(
            h.cmd(&["HELLO", "3"]),
            "-NOPROTO unsupported protocol version\r\n"
        );
        let hello = h.cmd(&["HELLO", "2"]);
        assert!(
            hello.starts_with("*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n"),
            "{hello}"
        );
        assert!(hello.contains("$5\r\nproto\r\n:2\r\n"));
        assert!(hello.ends_with("$7\r\nmodules\r\n*0\r\n"));
        assert_eq!(h.cmd(&["HELLO"]), hello);
        assert_eq!(h.cmd(&["CLIENT", "GETNAME"]), "$-1\r\n");
        assert_eq!(h.cmd(&["CLIENT", "SETNAME", "bob"]), "+OK\r\n");
        assert_eq!(h.cmd(&["client", "getname"]), bulk("bob"));
        assert_eq!(
            h.cmd(&["CLIENT", "SETNAME", "a b"]),
            "-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
        );
        assert_eq!(h.cmd(&["CLIENT", "ID"]), ":1\r\n");
        assert_eq!(h.cmd(&["CLIENT", "SETINFO", "lib-name", "x"]), "+OK\r\n");
        assert_eq!(
            h.cmd(&["CLIENT", "SETNAME"]),
            "-ERR wrong number of arguments for 'client|setname' command\r\n"
        );
        assert_eq!(
            h.cmd(&["CLIENT", "NOPE"]),
            "-ERR unknown subcommand 'NOPE'. Try CLIENT HELP.\r\n"
        );
        assert_eq!(
            h.cmd(&["FOO", "a", "b"]),
            "-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n"
        );
        assert_eq!(
            h.cmd(&["nosuch"]),
            "-ERR unknown command 'nosuch', with args beginning with: \r\n"
        );
        assert_eq!(
            h.cmd(&["GET"]),
            "-ERR wrong number of arguments for 'get' command\r\n"
        );
        assert_eq!(h.cmd(&["gEt", "k"]), "$-1\r\n");
    }

    #[test]
    fn server_commands() {
        let mut h = Harness::new();
        assert_eq!(h.cmd(&["CONFIG", "GET", "save"]), arr(&["save", ""]));
        assert_eq!(
            h.cmd(&["CONFIG", "GET", "appendonly"]),
            arr(&["appendonly", "no"])
        );
        assert_eq!(h.cmd(&["CONFIG", "GET", "nothing"]), "*0\r\n");
        assert_eq!(h.cmd(&["COMMAND", "DOCS"]), "*0\r\n");
        assert!(h.cmd(&["COMMAND", "COUNT"]).starts_with(':'));
        assert_eq!(h.cmd(&["DBSIZE"]), ":0\r\n");
        h.cmd(&["SET", "a", "1"]);
        h.cmd(&["SET", "b", "1", "EX", "100"]);
        assert_eq!(h.cmd(&["DBSIZE"]), ":2\r\n");
        let info = h.cmd(&["INFO"]);
        for needle in [
            "# Server\r\nredis_version:7.0.0-evloop\r\n",
            "# Clients\r\nconnected_clients:1\r\n",
            "# Memory\r\nused_memory:",
            "# Stats\r\n",
            "total_commands_processed:",
            "# Keyspace\r\ndb0:keys=2,expires=1,avg_ttl=0\r\n",
        ] {
            assert!(info.contains(needle), "{needle} in {info}");
        }
        let keyspace = h.cmd(&["INFO", "keyspace"]);
        assert!(!keyspace.contains("# Server"));
        assert_eq!(h.cmd(&["FLUSHALL"]), "+OK\r\n");
        assert_eq!(h.cmd(&["DBSIZE"]), ":0\r\n");
        let secs = (clock() / 1000).to_string();
        assert!(h
            .cmd(&["TIME"])
            .starts_with(&format!("*2\r\n{}", bulk(&secs))));
    }

    #[test]
    fn set_and_get() {
        let mut h = Harness::new();
        assert_eq!(h.cmd(&["SET", "k", "v"]), "+OK\r\n");
        assert_eq!(h.cmd(&["GET", "k"]), bulk("v"));
        assert_eq!(h.cmd(&["SET", "k", "w", "NX"]), "$-1\r\n");
        assert_eq!(h.cmd(&["SET", "k", "w", "XX"]), "+OK\r\n");
        assert_eq!(h.cmd(&["SET", "n", "w", "XX"]), "$-1\r\n");
        assert_eq!(h.cmd(&["SET", "k", "x", "GET"]), bulk("w"));
        assert_eq!(h.cmd(&["SET", "new", "x", "GET"]), "$-1\r\n");
        assert_eq!(h.cmd(&["SET", "k", "x", "NX", "XX"]), SYNTAX);
        assert_eq!(h.cmd(&["SET", "k", "x", "EX", "1", "PX", "5"]), SYNTAX);
        assert_eq!(h.cmd(&["SET", "k", "x", "EX"]), SYNTAX);
        assert_eq!(h.cmd(&["SET", "k", "x", "EX", "1", "KEEPTTL"]), SYNTAX);
        assert_eq!(h.cmd(&["SET", "k", "x", "BOGUS"]), SYNTAX);
        assert_eq!(h.cmd(&["SET", "k", "x", "EX", "abc"]), NOT_INT);
        assert_eq!(
            h.cmd(&["SET", "k", "x", "EX", "0"]),
            "-ERR invalid expire time in 'set' command\r\n"
        );
        assert_eq!(
            h.cmd(&["SET", "k", "x", "EX", "9223372036854775807"]),
            "-ERR invalid expire time in 'set' command\r\n"
        );
        assert_eq!(h.cmd(&["SET", "k", "x", "ex", "10"]), "+OK\r\n");
        assert_eq!(h.cmd(&["TTL", "k"]), ":10\r\n");
        assert_eq!(h.cmd(&["SET", "k", "y", "KEEPTTL"]), "+OK\r\n");
        assert_eq!(h.cmd(&["PTTL", "k"]), ":10000\r\n");
        assert_eq!(h.cmd(&["SET", "k", "y"]), "+OK\r\n");
        assert_eq!(h.cmd(&["TTL", "k"]), ":-1\r\n");
        let at = (clock() / 1000 + 100).to_string();
        assert_eq!(h.cmd(&["SET", "k", "y", "EXAT", &at]), "+OK\r\n");
        assert_eq!(h.cmd(&["TTL", "k"]), ":100\r\n");
        h.cmd(&["LPUSH", "l", "a"]);
        assert_eq!(h.cmd(&["GET", "l"]), WT);
        assert_eq!(h.cmd(&["SET", "l", "v", "GET"]), WT);
        assert_eq!(h.cmd(&["SET", "l", "v"]), "+OK\r\n");
        assert_eq!(h.cmd(&["GET", "l"]), bulk("v"));
        // Binary-safe keys and values.
        let mut input = super::super::testutil::encode(&[b"SET", b"\0\r\n", b"\xff\0"]);
        input.extend(super::super::testutil::encode(&[b"GET", b"\0\r\n"]));
        assert_eq!(h.raw(&input).0, "+OK\r\n$2\r\n\u{fffd}\0\r\n");
    }

    #[test]
    fn string_commands() {
        let mut h = Harness::new();
        assert_eq!(h.cmd(&["SETNX", "a", "1"]), ":1\r\n");
        assert_eq!(h.cmd(&["SETNX", "a", "2"]), ":0\r\n");
        assert_eq!(h.cmd(&["SETEX", "b", "10", "v"]), "+OK\r\n");
        assert_eq!(h.cmd(&["TTL", "b"]), ":10\r\n");
        assert_eq!(
            h.cmd(&["SETEX", "b", "0", "v"]),
            "-ERR invalid expire time in 'setex' command\r\n"
        );
        assert_eq!(
            h.cmd(&["PSETEX", "b", "-5", "v"]),
            "-ERR invalid expire time in 'psetex' command\r\n"
        );
        assert_eq!(h.cmd(&["PSETEX", "b", "1500", "v"]), "+OK\r\n");
        assert_eq!(h.cmd(&["PTTL", "b"]), ":1500\r\n");
        assert_eq!(h.cmd(&["GETSET", "a", "3"]), bulk("1"));
        assert_eq!(h.cmd(&["GETSET", "zz", "3"]), "$-1\r\n");
        assert_eq!(h.cmd(&["GETDEL", "zz"]), bulk("3"));
        assert_eq!(h.cmd(&["GETDEL", "zz"]), "$-1\r\n");
        assert_eq!(h.cmd(&["MSET", "x", "1", "y", "2"]), "+OK\r\n");
        assert_eq!(
            h.cmd(&["MSET", "x", "1", "y"]),
            "-ERR wrong number of arguments for 'mset' command\r\n"
        );
        h.cmd(&["RPUSH", "list", "e"]);
        assert_eq!(
            h.cmd(&["MGET", "x", "nope", "y", "list"]),
            "*4\r\n$1\r\n1\r\n$-1\r\n$1\r\n2\r\n$-1\r\n"
        );
        assert_eq!(h.cmd(&["MSETNX", "x", "9", "q", "9"]), ":0\r\n");
        assert_eq!(h.cmd(&["MSETNX", "p", "9", "q", "9"]), ":1\r\n");
        assert_eq!(h.cmd(&["APPEND", "s", "ab"]), ":2\r\n");
        assert_eq!(h.cmd(&["APPEND", "s", "cd"]), ":4\r\n");
        assert_eq!(h.cmd(&["APPEND", "list", "cd"]), WT);
        assert_eq!(h.cmd(&["STRLEN", "s"]), ":4\r\n");
        assert_eq!(h.cmd(&["STRLEN", "nope"]), ":0\r\n");
        h.cmd(&["SET", "t", "This is a string"]);
        assert_eq!(h.cmd(&["GETRANGE", "t", "0", "3"]), bulk("This"));
        assert_eq!(h.cmd(&["GETRANGE", "t", "-3", "-1"]), bulk("ing"));
        assert_eq!(
            h.cmd(&["GETRANGE", "t", "0", "-1"]),
            bulk("This is a string")
        );
        assert_eq!(h.cmd(&["GETRANGE", "t", "10", "100"]), bulk("string"));
        assert_eq!(h.cmd(&["GETRANGE", "t", "5", "3"]), bulk(""));
        assert_eq!(h.cmd(&["GETRANGE", "nope", "0", "3"]), bulk(""));
        h.cmd(&["SET", "key1", "Hello World"]);
        assert_eq!(h.cmd(&["SETRANGE", "key1", "6", "Redis"]), ":11\r\n");
        assert_eq!(h.cmd(&["GET", "key1"]), bulk("Hello Redis"));
        assert_eq!(h.cmd(&["SETRANGE", "key2", "6", "Redis"]), ":11\r\n");
        assert_eq!(h.cmd(&["GET", "key2"]), bulk("\0\0\0\0\0\0Redis"));
        assert_eq!(h.cmd(&["SETRANGE", "key3", "6", ""]), ":0\r\n");
        assert_eq!(h.cmd(&["EXISTS", "key3"]), ":0\r\n");
        assert_eq!(
            h.cmd(&["SETRANGE", "key3", "-1", "x"]),
            "-ERR offset is out of range\r\n"
        );
        assert_eq!(
            h.cmd(&["SETRANGE", "key3", "536870911", "xx"]),
            "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"
        );
    }

    #[test]
    fn counters() {
        let mut h = Harness::new();
        assert_eq!(h.cmd(&["INCR", "n"]), ":1\r\n");
        assert_eq!(h.cmd(&["INCRBY", "n", "41"]), ":42\r\n");
        assert_eq!(h.cmd(&["DECR", "n"]), ":41\r\n");
        assert_eq!(h.cmd(&["DECRBY", "n", "-1"]), ":42\r\n");
        assert_eq!(h.cmd(&["GET", "n"]), bulk("42"));
        assert_eq!(h.cmd(&["INCRBY", "n", "x"]), NOT_INT);
        h.cmd(&["SET", "s", "abc"]);
        assert_eq!(h.cmd(&["INCR", "s"]), NOT_INT);
        h.cmd(&["SET", "s", " 1"]);
        assert_eq!(h.cmd(&["INCR", "s"]), NOT_INT);
        h.cmd(&["SET", "m", "9223372036854775807"]);
        assert_eq!(
            h.cmd(&["INCR", "m"]),
            "-ERR increment or decrement would overflow\r\n"
        );
        assert_eq!(
            h.cmd(&["DECRBY", "m", "-9223372036854775808"]),
            "-ERR decrement would overflow\r\n"
        );
        h.cmd(&["LPUSH", "l", "a"]);
        assert_eq!(h.cmd(&["INCR", "l"]), WT);
        // INCR keeps the TTL.
        h.cmd(&["SET", "t", "1", "EX", "100"]);
        h.cmd(&["INCR", "t"]);
        assert_eq!(h.cmd(&["TTL", "t"]), ":100\r\n");
        h.cmd(&["SET", "f", "10.50"]);
        assert_eq!(h.cmd(&["INCRBYFLOAT", "f", "0.1"]), bulk("10.6"));
        assert_eq!(h.cmd(&["INCRBYFLOAT", "f", "-5"]), bulk("5.6"));
        h.cmd(&["SET", "f", "5.0e3"]);
        assert_eq!(h.cmd(&["INCRBYFLOAT", "f", "2.0e2"]), bulk("5200"));
        assert_eq!(h.cmd(&["INCRBYFLOAT", "g", "3"]), bulk("3"));
        assert_eq!(
            h.cmd(&["INCRBYFLOAT", "g", "x"]),
            "-ERR value is not a valid float\r\n"
        );
        assert_eq!(
            h.cmd(&["INCRBYFLOAT", "g", "inf"]),
            "-ERR increment would produce NaN or Infinity\r\n"
        );
    }

    #[test]
    fn keys_and_expiry() {
        let mut h = Harness::new();
        h.cmd(&["MSET", "a", "1", "b", "2", "c", "3"]);
        assert_eq!(h.cmd(&["EXISTS", "a", "b", "a", "x"]), ":3\r\n");
        assert_eq!(h.cmd(&["DEL", "a", "x"]), ":1\r\n");
        assert_eq!(h.cmd(&["UNLINK", "b"]), ":1\r\n");
        assert_eq!(h.cmd(&["TYPE", "c"]), "+string\r\n");
        assert_eq!(h.cmd(&["TYPE", "a"]), "+none\r\n");
        h.cmd(&["HSET", "h", "f", "v"]);
        assert_eq!(h.cmd(&["TYPE", "h"]), "+hash\r\n");
        assert_eq!(h.cmd(&["RENAME", "nope", "x"]), "-ERR no such key\r\n");
        h.cmd(&["EXPIRE", "c", "50"]);
        assert_eq!(h.cmd(&["RENAME", "c", "d"]), "+OK\r\n");
        assert_eq!(h.cmd(&["GET", "d"]), bulk("3"));
        assert_eq!(h.cmd(&["TTL", "d"]), ":50\r\n");
        assert_eq!(h.cmd(&["EXISTS", "c"]), ":0\r\n");
        assert_eq!(h.cmd(&["TTL", "nope"]), ":-2\r\n");
        assert_eq!(h.cmd(&["TTL", "h"]), ":-1\r\n");
        assert_eq!(h.cmd(&["EXPIRE", "nope", "10"]), ":0\r\n");
        assert_eq!(h.cmd(&["EXPIRE", "h", "x"]), NOT_INT);
        assert_eq!(h.cmd(&["EXPIRE", "h", "10", "NX"]), ":1\r\n");
        assert_eq!(h.cmd(&["EXPIRE", "h", "20", "NX"]), ":0\r\n");
        assert_eq!(h.cmd(&["EXPIRE", "h", "5", "GT"]), ":0\r\n");
        assert_eq!(h.cmd(&["EXPIRE", "h", "20", "GT"]), ":1\r\n");
        assert_eq!(h.cmd(&["EXPIRE", "h", "30", "LT"]), ":0\r\n");
        assert_eq!(h.cmd(&["PEXPIRE", "h", "1500", "LT"]), ":1\r\n");
        assert_eq!(h.cmd(&["PTTL", "h"]), ":1500\r\n");
        assert_eq!(h.cmd(&["TTL", "h"]), ":2\r\n");
        assert_eq!(
            h.cmd(&["EXPIRE", "h", "5", "NX", "XX"]),
            "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n"
        );
        assert_eq!(
            h.cmd(&["EXPIRE", "h", "5", "GT", "LT"]),
            "-ERR GT and LT options at the same time are not compatible\r\n"
        );
        assert_eq!(
            h.cmd(&["EXPIRE", "h", "5", "FOO"]),
            "-ERR Unsupported option FOO\r\n"
        );
        assert_eq!(
            h.cmd(&["EXPIRE", "h", "9223372036854775807"]),
            "-ERR invalid expire time in 'expire' command\r\n"
        );
        assert_eq!(h.cmd(&["PERSIST", "h"]), ":1\r\n");
        assert_eq!(h.cmd(&["PERSIST", "h"]), ":0\r\n");
        assert_eq!(h.cmd(&["TTL", "h"]), ":-1\r\n");
        let at = (clock() / 1000 + 30).to_string();
        assert_eq!(h.cmd(&["EXPIREAT", "h", &at]), ":1\r\n");
        assert_eq!(h.cmd(&["TTL", "h"]), ":30\r\n");
        let at = (clock() + 700).to_string();
        assert_eq!(h.cmd(&["PEXPIREAT", "h", &at]), ":1\r\n");
        assert_eq!(h.cmd(&["PTTL", "h"]), ":700\r\n");
        // Lazy expiry with the injected clock.
        advance(699);
        assert_eq!(h.cmd(&["EXISTS", "h"]), ":1\r\n");
        advance(1);
        assert_eq!(h.cmd(&["EXISTS", "h"]), ":0\r\n");
        assert_eq!(h.cmd(&["HGET", "h", "f"]), "$-1\r\n");
        // A TTL in the past deletes at once.
        assert_eq!(h.cmd(&["EXPIRE", "d", "-1"]), ":1\r\n");
        assert_eq!(h.cmd(&["EXISTS", "d"]), ":0\r\n");
        h.cmd(&["SET", "p", "1", "PX", "100"]);
        advance(100);
        assert_eq!(h.cmd(&["GET", "p"]), "$-1\r\n");
        assert_eq!(h.cmd(&["DEL", "p"]), ":0\r\n");
    }

    #[test]
    fn keys_and_scan() {
        let mut h = Harness::new();
        h.cmd(&["MSET", "one", "1", "two", "2", "three", "3", "four", "4"]);
        let mut keys = h.cmd(&["KEYS", "*o*"]);
        assert!(keys.starts_with("*3\r\n"));
        for k in ["one", "two", "four"] {
            assert!(keys.contains(&bulk(k)));
        }
        keys = h.cmd(&["KEYS", "t??"]);
        assert_eq!(keys, arr(&["two"]));
        assert_eq!(h.cmd(&["SCAN", "x"]), "-ERR invalid cursor\r\n");
        assert_eq!(h.cmd(&["SCAN", "0", "COUNT", "0"]), SYNTAX);
        assert_eq!(h.cmd(&["SCAN", "0", "COUNT"]), SYNTAX);
        assert_eq!(h.cmd(&["SCAN", "0", "BOGUS", "1"]), SYNTAX);
        let r = h.cmd(&["SCAN", "0", "MATCH", "t*", "COUNT", "100"]);
        assert!(r.starts_with("*2\r\n$1\r\n0\r\n*2\r\n"), "{r}");
        // Walk with COUNT 1 and collect everything.
        let mut cursor = "0".to_string();
        let mut seen = 0;
        loop {
            let r = h.cmd(&["SCAN", &cursor, "COUNT", "1"]);
            let lines: Vec<&str> = r.split("\r\n").collect();
            cursor = lines[2].to_string();
            seen += lines[3][1..].parse::<usize>().unwrap();
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(seen, 4);
        h.cmd(&["RPUSH", "list", "a"]);
        let r = h.cmd(&["SCAN", "0", "TYPE", "list"]);
        assert_eq!(r, "*2\r\n$1\r\n0\r\n*1\r\n$4\r\nlist\r\n");
    }

    #[test]
    fn lists() {
        let mut h = Harness::new();
        assert_eq!(h.cmd(&["RPUSH", "l", "a", "b", "c"]), ":3\r\n");
        assert_eq!(h.cmd(&["LPUSH", "l", "x", "y"]), ":5\r\n");
        assert_eq!(
            h.cmd(&["LRANGE", "l", "0", "-1"]),
            arr(&["y", "x", "a", "b", "c"])
        );
        assert_eq!(h.cmd(&["LRANGE", "l", "-2", "100"]), arr(&["b", "c"]));
        assert_eq!(h.cmd(&["LRANGE", "l", "5", "10"]), "*0\r\n");
        assert_eq!(h.cmd(&["LRANGE", "nope", "0", "-1"]), "*0\r\n");
        assert_eq!(h.cmd(&["LRANGE", "l", "a", "1"]), NOT_INT);
        assert_eq!(h.cmd(&["LLEN", "l"]), ":5\r\n");
        assert_eq!(h.cmd(&["LINDEX", "l", "-1"]), bulk("c"));
        assert_eq!(h.cmd(&["LINDEX", "l", "9"]), "$-1\r\n");
        assert_eq!(h.cmd(&["LSET", "l", "0", "Y"]), "+OK\r\n");
        assert_eq!(
            h.cmd(&["LSET", "l", "9", "Y"]),
            "-ERR index out of range\r\n"
        );
        assert_eq!(h.cmd(&["LSET", "nope", "0", "Y"]), "-ERR no such key\r\n");
        assert_eq!(h.cmd(&["LPOP", "l"]), bulk("Y"));
        assert_eq!(h.cmd(&["RPOP", "l", "2"]), arr(&["c", "b"]));
        assert_eq!(h.cmd(&["RPOP", "l", "0"]), "*0\r\n");
        assert_eq!(
            h.cmd(&["LPOP", "l", "-1"]),
            "-ERR value is out of range, must be positive\r\n"
        );
        assert_eq!(
            h.cmd(&["LPOP", "l", "1", "2"]),
            "-ERR wrong number of arguments for 'lpop' command\r\n"
        );
        assert_eq!(h.cmd(&["LPOP", "nope"]), "$-1\r\n");
        assert_eq!(h.cmd(&["LPOP", "nope", "2"]), "*-1\r\n");
        assert_eq!(h.cmd(&["LPOP", "l", "10"]), arr(&["x", "a"]));
        assert_eq!(h.cmd(&["EXISTS", "l"]), ":0\r\n");
        h.cmd(&["RPUSH", "r", "a", "b", "a", "c", "a"]);
        assert_eq!(h.cmd(&["LREM", "r", "-2", "a"]), ":2\r\n");
        assert_eq!(h.cmd(&["LRANGE", "r", "0", "-1"]), arr(&["a", "b", "c"]));
        assert_eq!(h.cmd(&["LREM", "r", "0", "a"]), ":1\r\n");
        assert_eq!(h.cmd(&["LTRIM", "r", "1", "-1"]), "+OK\r\n");
        assert_eq!(h.cmd(&["LRANGE", "r", "0", "-1"]), arr(&["c"]));
        assert_eq!(h.cmd(&["LTRIM", "r", "5", "10"]), "+OK\r\n");
        assert_eq!(h.cmd(&["EXISTS", "r"]), ":0\r\n");
        h.cmd(&["SET", "s", "v"]);
        assert_eq!(h.cmd(&["LPUSH", "s", "v"]), WT);
        assert_eq!(h.cmd(&["LLEN", "s"]), WT);
        assert_eq!(h.cmd(&["LPOP", "s"]), WT);
    }

    #[test]
    fn hashes() {
        let mut h = Harness::new();
        assert_eq!(h.cmd(&["HSET", "h", "a", "1", "b", "2"]), ":2\r\n");
        assert_eq!(h.cmd(&["HSET", "h", "a", "3"]), ":0\r\n");
        assert_eq!(
            h.cmd(&["HSET", "h", "a", "3", "b"]),
            "-ERR wrong number of arguments for 'hset' command\r\n"
        );
        assert_eq!(h.cmd(&["HGET", "h", "a"]), bulk("3"));
        assert_eq!(h.cmd(&["HGET", "h", "z"]), "$-1\r\n");
        assert_eq!(h.cmd(&["HMGET", "h", "a", "z"]), "*2\r\n$1\r\n3\r\n$-1\r\n");
        assert_eq!(h.cmd(&["HMGET", "nope", "a"]), "*1\r\n$-1\r\n");
        assert_eq!(h.cmd(&["HLEN", "h"]), ":2\r\n");
        assert_eq!(h.cmd(&["HEXISTS", "h", "b"]), ":1\r\n");
        assert_eq!(h.cmd(&["HEXISTS", "h", "z"]), ":0\r\n");
        let all = h.cmd(&["HGETALL", "h"]);
        assert!(all == arr(&["a", "3", "b", "2"]) || all == arr(&["b", "2", "a", "3"]));
        assert!(h.cmd(&["HKEYS", "h"]).starts_with("*2\r\n"));
        assert!(h.cmd(&["HVALS", "h"]).starts_with("*2\r\n"));
        assert_eq!(h.cmd(&["HGETALL", "nope"]), "*0\r\n");
        assert_eq!(h.cmd(&["HINCRBY", "h", "a", "10"]), ":13\r\n");
        assert_eq!(h.cmd(&["HINCRBY", "h", "n", "-1"]), ":-1\r\n");
        h.cmd(&["HSET", "h", "s", "x"]);
        assert_eq!(
            h.cmd(&["HINCRBY", "h", "s", "1"]),
            "-ERR hash value is not an integer\r\n"
        );
        assert_eq!(h.cmd(&["HINCRBY", "h", "a", "y"]), NOT_INT);
        h.cmd(&["HSET", "h", "max", "9223372036854775807"]);
        assert_eq!(
            h.cmd(&["HINCRBY", "h", "max", "1"]),
            "-ERR increment or decrement would overflow\r\n"
        );
        assert_eq!(h.cmd(&["HDEL", "h", "a", "b", "zz"]), ":2\r\n");
        assert_eq!(h.cmd(&["HDEL", "h", "n", "s", "max"]), ":3\r\n");
        assert_eq!(h.cmd(&["EXISTS", "h"]), ":0\r\n");
        assert_eq!(h.cmd(&["HMSET", "h", "a", "1"]), "+OK\r\n");
        h.cmd(&["SET", "s", "v"]);
        assert_eq!(h.cmd(&["HSET", "s", "a", "1"]), WT);
        assert_eq!(h.cmd(&["HGET", "s", "a"]), WT);
    }

    #[test]
    fn sets() {
        let mut h = Harness::new();
        assert_eq!(h.cmd(&["SADD", "s", "a", "b", "a"]), ":2\r\n");
        assert_eq!(h.cmd(&["SADD", "s", "c"]), ":1\r\n");
        assert_eq!(h.cmd(&["SCARD", "s"]), ":3\r\n");
        assert_eq!(h.cmd(&["SISMEMBER", "s", "a"]), ":1\r\n");
        assert_eq!(h.cmd(&["SISMEMBER", "s", "z"]), ":0\r\n");
        assert_eq!(h.cmd(&["SREM", "s", "a", "z"]), ":1\r\n");
        assert!(h.cmd(&["SMEMBERS", "s"]).starts_with("*2\r\n"));
        let p = h.cmd(&["SPOP", "s"]);
        assert!(p == bulk("b") || p == bulk("c"), "{p}");
        assert!(h.cmd(&["SPOP", "s", "5"]).starts_with("*1\r\n"));
        assert_eq!(h.cmd(&["EXISTS", "s"]), ":0\r\n");
        assert_eq!(h.cmd(&["SPOP", "s"]), "$-1\r\n");
        assert_eq!(h.cmd(&["SPOP", "s", "2"]), "*0\r\n");
        assert_eq!(
            h.cmd(&["SPOP", "s", "-2"]),
            "-ERR value is out of range, must be positive\r\n"
        );
        assert_eq!(h.cmd(&["SMEMBERS", "s"]), "*0\r\n");
        h.cmd(&["SET", "str", "v"]);
        assert_eq!(h.cmd(&["SADD", "str", "a"]), WT);
    }

    #[test]
    fn sorted_sets() {
        let mut h = Harness::new();
        assert_eq!(h.cmd(&["ZADD", "z", "1", "one", "2", "two"]), ":2\r\n");
        assert_eq!(h.cmd(&["ZADD", "z", "1", "uno", "3", "two"]), ":1\r\n");
        assert_eq!(h.cmd(&["ZADD", "z", "CH", "4", "two"]), ":1\r\n");
        assert_eq!(
            h.cmd(&["ZADD", "z", "NX", "9", "two", "5", "five"]),
            ":1\r\n"
        );
        assert_eq!(h.cmd(&["ZADD", "z", "XX", "9", "nine"]), ":0\r\n");
        assert_eq!(h.cmd(&["ZADD", "z", "XX", "CH", "6", "five"]), ":1\r\n");
        assert_eq!(h.cmd(&["ZADD", "z", "GT", "CH", "1", "five"]), ":0\r\n");
        assert_eq!(h.cmd(&["ZADD", "z", "INCR", "0.5", "one"]), bulk("1.5"));
        assert_eq!(h.cmd(&["ZADD", "z", "NX", "INCR", "1", "one"]), "$-1\r\n");
        assert_eq!(h.cmd(&["ZADD", "z", "NX", "1"]), SYNTAX);
        assert_eq!(
            h.cmd(&["ZADD", "z", "x", "m"]),
            "-ERR value is not a valid float\r\n"
        );
        assert_eq!(
            h.cmd(&["ZADD", "z", "NX", "XX", "1", "m"]),
            "-ERR XX and NX options at the same time are not compatible\r\n"
        );
        assert_eq!(
            h.cmd(&["ZADD", "z", "GT", "LT", "1", "m"]),
            "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n"
        );
        assert_eq!(
            h.cmd(&["ZADD", "z", "INCR", "1", "a", "2", "b"]),
            "-ERR INCR option supports a single increment-element pair\r\n"
        );
        assert_eq!(h.cmd(&["ZADD", "nokey", "XX", "1", "a"]), ":0\r\n");
        assert_eq!(h.cmd(&["EXISTS", "nokey"]), ":0\r\n");
        assert_eq!(h.cmd(&["ZCARD", "z"]), ":4\r\n");
        assert_eq!(h.cmd(&["ZSCORE", "z", "one"]), bulk("1.5"));
        assert_eq!(h.cmd(&["ZSCORE", "z", "nope"]), "$-1\r\n");
        assert_eq!(
            h.cmd(&["ZRANGE", "z", "0", "-1"]),
            arr(&["uno", "one", "two", "five"])
        );
        assert_eq!(
            h.cmd(&["ZRANGE", "z", "0", "1", "WITHSCORES"]),
            arr(&["uno", "1", "one", "1.5"])
        );
        assert_eq!(
            h.cmd(&["ZRANGE", "z", "0", "0", "REV", "WITHSCORES"]),
            arr(&["five", "6"])
        );
        assert_eq!(h.cmd(&["ZRANGE", "z", "0", "1", "FOO"]), SYNTAX);
        assert_eq!(h.cmd(&["ZRANK", "z", "two"]), ":2\r\n");
        assert_eq!(h.cmd(&["ZRANK", "z", "nope"]), "$-1\r\n");
        assert_eq!(h.cmd(&["ZREM", "z", "uno", "nope"]), ":1\r\n");
        assert_eq!(h.cmd(&["ZPOPMIN", "z"]), arr(&["one", "1.5"]));
        assert_eq!(
            h.cmd(&["ZPOPMIN", "z", "5"]),
            arr(&["two", "4", "five", "6"])
        );
        assert_eq!(h.cmd(&["EXISTS", "z"]), ":0\r\n");
        assert_eq!(h.cmd(&["ZPOPMIN", "z"]), "*0\r\n");
        assert_eq!(h.cmd(&["ZADD", "z", "-inf", "a", "+inf", "b"]), ":2\r\n");
        assert_eq!(
            h.cmd(&["ZRANGE", "z", "0", "-1", "WITHSCORES"]),
            arr(&["a", "-inf", "b", "inf"])
        );
        assert_eq!(
            h.cmd(&["ZADD", "z", "INCR", "-inf", "b"]),
            "-ERR resulting score is not a number (NaN)\r\n"
        );
        h.cmd(&["SET", "s", "v"]);
        assert_eq!(h.cmd(&["ZADD", "s", "1", "a"]), WT);
        assert_eq!(h.cmd(&["ZRANGE", "s", "0", "1"]), WT);
    }

    #[test]
    fn inline_commands() {
        let mut h = Harness::new();
        let (r, _) = h.raw(b"SET greeting \"hello world\"\r\nGET greeting\nPING\r\n");
        assert_eq!(r, format!("+OK\r\n{}+PONG\r\n", bulk("hello world")));
    }
}
