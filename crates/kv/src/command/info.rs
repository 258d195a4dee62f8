//! COMMAND: what each command is, as Redis 7 describes it — name, arity, flags,
//! and where its keys are (first, last, step) — for client libraries that route
//! or check commands by it (cluster clients, redis-cli's hints, proxies).
//!
//! The table of names and arities is the dispatch table's ([`NAMES`], [`lookup`]);
//! what is said here of each command beyond that comes from two facts the server
//! keeps anyway: whether it writes (the append-only file's list) and where its
//! keys are. Flags are Redis's `write`/`readonly`, with `denyoom` on writes that
//! can grow memory, `fast` on O(1) commands, `blocking`, `pubsub`, `noscript`,
//! `admin`, `loading`/`stale` where Redis has them, and `movablekeys` for
//! commands whose keys are counted by an argument (`ZUNIONSTORE`, `LMPOP`…).
//! Redis's ACL categories are answered as `@write` or `@read` plus the type's
//! category; key specs, tips and subcommand entries are empty arrays.

use super::*;

/// Where a command's keys are: Redis's (first, last, step); last is negative
/// when counted from the end. (0, 0, 0): no keys, or keys found by a count.
fn key_positions(name: &[u8]) -> (i64, i64, i64) {
    match name {
        b"del" | b"unlink" | b"exists" | b"mget" | b"touch" | b"watch" | b"sinter" | b"sunion"
        | b"sdiff" | b"sinterstore" | b"sunionstore" | b"sdiffstore" => (1, -1, 1),
        b"blpop" | b"brpop" | b"bzpopmin" | b"bzpopmax" => (1, -2, 1),
        b"mset" | b"msetnx" => (1, -1, 2),
        b"rename" | b"renamenx" | b"copy" | b"lmove" | b"rpoplpush" | b"blmove" | b"brpoplpush"
        | b"smove" | b"zrangestore" => (1, 2, 1),
        b"zunionstore" | b"zinterstore" | b"zdiffstore" => (1, 1, 1),
        _ if no_keys(name) || movable(name) => (0, 0, 0),
        _ => (1, 1, 1),
    }
}

/// Commands that name no key.
fn no_keys(name: &[u8]) -> bool {
    matches!(
        name,
        b"ping"
            | b"echo"
            | b"quit"
            | b"hello"
            | b"client"
            | b"info"
            | b"config"
            | b"command"
            | b"time"
            | b"select"
            | b"dbsize"
            | b"flushdb"
            | b"flushall"
            | b"swapdb"
            | b"randomkey"
            | b"keys"
            | b"scan"
            | b"multi"
            | b"exec"
            | b"discard"
            | b"unwatch"
            | b"auth"
            | b"reset"
            | b"bgrewriteaof"
            | b"script"
            | b"function"
            | b"subscribe"
            | b"unsubscribe"
            | b"psubscribe"
            | b"punsubscribe"
            | b"publish"
            | b"pubsub"
            | b"object"
    )
}

/// Commands whose keys are counted by an argument.
fn movable(name: &[u8]) -> bool {
    matches!(
        name,
        b"lmpop"
            | b"zmpop"
            | b"blmpop"
            | b"bzmpop"
            | b"sintercard"
            | b"zintercard"
            | b"zunion"
            | b"zinter"
            | b"zdiff"
            | b"zunionstore"
            | b"zinterstore"
            | b"zdiffstore"
            | b"eval"
            | b"evalsha"
            | b"eval_ro"
            | b"evalsha_ro"
            | b"fcall"
            | b"fcall_ro"
    )
}

/// O(1) commands (Redis's `fast`).
fn fast(name: &[u8]) -> bool {
    matches!(
        name,
        b"get"
            | b"set"
            | b"setnx"
            | b"setex"
            | b"psetex"
            | b"getset"
            | b"getdel"
            | b"getex"
            | b"incr"
            | b"decr"
            | b"incrby"
            | b"decrby"
            | b"incrbyfloat"
            | b"append"
            | b"strlen"
            | b"exists"
            | b"type"
            | b"ttl"
            | b"pttl"
            | b"expiretime"
            | b"pexpiretime"
            | b"persist"
            | b"expire"
            | b"pexpire"
            | b"expireat"
            | b"pexpireat"
            | b"touch"
            | b"lpush"
            | b"rpush"
            | b"lpushx"
            | b"rpushx"
            | b"lpop"
            | b"rpop"
            | b"llen"
            | b"hset"
            | b"hsetnx"
            | b"hget"
            | b"hexists"
            | b"hlen"
            | b"hstrlen"
            | b"hincrby"
            | b"hincrbyfloat"
            | b"hmget"
            | b"hdel"
            | b"sadd"
            | b"srem"
            | b"sismember"
            | b"smismember"
            | b"scard"
            | b"smove"
            | b"spop"
            | b"zadd"
            | b"zscore"
            | b"zmscore"
            | b"zcard"
            | b"zincrby"
            | b"zrem"
            | b"ping"
            | b"echo"
            | b"time"
            | b"select"
            | b"dbsize"
            | b"auth"
            | b"hello"
            | b"multi"
            | b"discard"
            | b"watch"
            | b"unwatch"
            | b"publish"
            | b"asking"
    )
}

/// Writes that cannot grow memory (Redis omits `denyoom` on them).
fn frees(name: &[u8]) -> bool {
    matches!(
        name,
        b"del"
            | b"unlink"
            | b"lpop"
            | b"rpop"
            | b"lrem"
            | b"ltrim"
            | b"lmpop"
            | b"blpop"
            | b"brpop"
            | b"blmpop"
            | b"srem"
            | b"spop"
            | b"hdel"
            | b"zrem"
            | b"zpopmin"
            | b"zpopmax"
            | b"zmpop"
            | b"bzpopmin"
            | b"bzpopmax"
            | b"bzmpop"
            | b"zremrangebyrank"
            | b"zremrangebyscore"
            | b"zremrangebylex"
            | b"getdel"
            | b"persist"
            | b"flushdb"
            | b"flushall"
            | b"move"
            | b"rename"
            | b"renamenx"
            | b"swapdb"
    )
}

/// The data type a command works on, as Redis's ACL category names it.
fn category(name: &[u8]) -> &'static [u8] {
    match name {
        b"blpop" | b"brpop" | b"blmove" | b"brpoplpush" | b"blmpop" | b"lmove" | b"rpoplpush"
        | b"lmpop" => b"@list",
        b"bzpopmin" | b"bzpopmax" | b"bzmpop" | b"zmpop" => b"@sortedset",
        _ => match name.first() {
            Some(b'l') if name != b"lcs" => b"@list",
            Some(b'r') if name.starts_with(b"rpush") || name == b"rpop" => b"@list",
            Some(b'h') if name != b"hello" => b"@hash",
            Some(b's')
                if name.starts_with(b"s")
                    && !matches!(
                        name,
                        b"set"
                            | b"setnx"
                            | b"setex"
                            | b"setrange"
                            | b"setbit"
                            | b"strlen"
                            | b"substr"
                            | b"select"
                            | b"scan"
                            | b"swapdb"
                            | b"subscribe"
                            | b"script"
                    ) =>
            {
                b"@set"
            }
            Some(b'z') => b"@sortedset",
            _ if no_keys(name) => b"@connection",
            _ => b"@keyspace",
        },
    }
}

/// The flags of `name`, as Redis's COMMAND prints them.
fn flags(name: &[u8]) -> Vec<&'static [u8]> {
    let mut f: Vec<&'static [u8]> = Vec::new();
    let write = super::super::aof::is_write(name);
    let keys = !no_keys(name);
    if write {
        f.push(b"write");
        if !frees(name) {
            f.push(b"denyoom");
        }
    } else if keys || matches!(name, b"keys" | b"scan" | b"randomkey" | b"dbsize") {
        f.push(b"readonly");
    }
    match name {
        b"config" | b"bgrewriteaof" | b"swapdb" | b"flushall" => f.push(b"admin"),
        b"subscribe" | b"unsubscribe" | b"psubscribe" | b"punsubscribe" | b"publish"
        | b"pubsub" => {
            f.push(b"pubsub");
            f.push(b"loading");
            f.push(b"stale");
        }
        b"multi" | b"exec" | b"discard" | b"watch" | b"unwatch" | b"auth" | b"hello" | b"reset"
        | b"quit" | b"script" | b"function" => {
            f.push(b"noscript");
            f.push(b"loading");
            f.push(b"stale");
        }
        b"ping" | b"echo" | b"time" | b"command" | b"client" | b"info" | b"select" => {
            f.push(b"loading");
            f.push(b"stale");
        }
        _ => {}
    }
    if name.starts_with(b"b") && name != b"bgrewriteaof" {
        f.push(b"blocking");
    }
    if fast(name) {
        f.push(b"fast");
    }
    if movable(name) {
        f.push(b"movablekeys");
    }
    f
}

/// One command's entry: Redis 7's ten fields.
fn entry(out: &mut Vec<u8>, name: &[u8], arity: i32) {
    reply::array(out, 10);
    reply::bulk(out, name);
    reply::int(out, arity as i64);
    let f = flags(name);
    reply::array(out, f.len());
    for flag in f {
        reply::simple(out, flag);
    }
    let (first, last, step) = key_positions(name);
    reply::int(out, first);
    reply::int(out, last);
    reply::int(out, step);
    let write = super::super::aof::is_write(name);
    reply::array(out, 2);
    reply::simple(out, if write { b"@write" } else { b"@read" });
    reply::simple(out, category(name));
    reply::array(out, 0); // tips
    reply::array(out, 0); // key specs
    reply::array(out, 0); // subcommands
}

/// Every command's entry.
fn all(out: &mut Vec<u8>) {
    reply::array(out, NAMES.len());
    for n in NAMES {
        if let Some((name, arity, _)) = lookup(n) {
            entry(out, name, arity);
        }
    }
}

/// COMMAND GETKEYS cmd arg...: the keys `cmd` would touch, by its key positions
/// (and for the commands whose keys are counted, by that count).
fn getkeys(a: Argv<'_>, out: &mut Vec<u8>) {
    let mut buf = [0u8; 16];
    let Some((name, arity, _)) = lower(a.get(2), &mut buf).and_then(lookup) else {
        return reply::error(out, b"ERR Invalid command specified");
    };
    let argc = a.len() - 2;
    if !arity_ok(argc, arity) {
        return reply::error(
            out,
            b"ERR Invalid number of arguments specified for command",
        );
    }
    let arg = |i: usize| a.get(i + 2);
    let mut keys: Vec<usize> = Vec::new();
    let (first, last, step) = key_positions(name);
    if first > 0 {
        let last = if last < 0 { argc as i64 + last } else { last };
        let mut i = first;
        while i <= last && (i as usize) < argc {
            keys.push(i as usize);
            i += step;
        }
    }
    if movable(name) {
        // The count is the first argument (LMPOP, ZUNION, SINTERCARD…) or, for
        // the blocking forms, the second (after the timeout); EVAL and FCALL are
        // `script numkeys key...`, the STORE forms `dst numkeys key...`.
        let at = match name {
            b"blmpop" | b"bzmpop" | b"eval" | b"evalsha" | b"eval_ro" | b"evalsha_ro"
            | b"fcall" | b"fcall_ro" | b"zunionstore" | b"zinterstore" | b"zdiffstore" => 2,
            _ => 1,
        };
        if let Some(n) = (at < argc).then(|| parse_i64(arg(at))).flatten() {
            if n < 0 || n as usize > argc - at - 1 {
                return reply::error(out, b"ERR Invalid arguments specified for command");
            }
            keys.extend(at + 1..at + 1 + n as usize);
        }
    }
    if keys.is_empty() {
        return reply::error(out, b"ERR The command has no key arguments");
    }
    reply::array(out, keys.len());
    for i in keys {
        reply::bulk(out, arg(i));
    }
}

/// COMMAND, COMMAND COUNT|LIST|INFO|DOCS|GETKEYS|HELP.
pub(super) fn command(_: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    if a.len() == 1 {
        return all(out);
    }
    let sub = a.get(1);
    if eq(sub, b"count") && a.len() == 2 {
        reply::int(out, NAMES.len() as i64);
    } else if eq(sub, b"list") && a.len() == 2 {
        reply::array(out, NAMES.len());
        for n in NAMES {
            reply::bulk(out, n);
        }
    } else if eq(sub, b"info") {
        let names: Vec<&[u8]> = a.iter_from(2).collect();
        if names.is_empty() {
            return all(out);
        }
        reply::array(out, names.len());
        for n in names {
            let mut buf = [0u8; 16];
            match lower(n, &mut buf).and_then(lookup) {
                Some((name, arity, _)) => entry(out, name, arity),
                None => reply::nil_array(out),
            }
        }
    } else if eq(sub, b"docs") {
        reply::array(out, 0);
    } else if eq(sub, b"getkeys") && a.len() >= 3 {
        getkeys(a, out);
    } else if eq(sub, b"help") && a.len() == 2 {
        let lines: &[&[u8]] = &[
            b"COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            b"(no subcommand)",
            b"    Return details about all Redis commands.",
            b"COUNT",
            b"    Return the total number of commands in this Redis server.",
            b"LIST",
            b"    Return a list of all commands in this Redis server.",
            b"INFO [<command-name> ...]",
            b"    Return details about multiple Redis commands.",
            b"DOCS [<command-name> ...]",
            b"    Return documentation details about multiple Redis commands (none here).",
            b"GETKEYS <full-command>",
            b"    Return the keys from a full Redis command.",
            b"HELP",
            b"    Print this help.",
        ];
        reply::array(out, lines.len());
        for l in lines {
            reply::simple(out, l);
        }
    } else {
        unknown_subcommand(out, sub, b"COMMAND");
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::testutil::Harness;

    #[test]
    fn command_info_describes_commands_as_redis_does() {
        let mut h = Harness::new();
        assert_eq!(
            h.cmd(&["COMMAND", "INFO", "get", "nosuch"]),
            "*2\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n\
             *2\r\n+@read\r\n+@keyspace\r\n*0\r\n*0\r\n*0\r\n*-1\r\n"
        );
        let mset = h.cmd(&["COMMAND", "INFO", "MSET"]);
        assert!(
            mset.contains("$4\r\nmset\r\n:-3\r\n*2\r\n+write\r\n+denyoom\r\n:1\r\n:-1\r\n:2\r\n"),
            "{mset}"
        );
        let blpop = h.cmd(&["COMMAND", "INFO", "blpop"]);
        assert!(
            blpop.contains("+blocking\r\n:1\r\n:-2\r\n:1\r\n"),
            "{blpop}"
        );
        // COMMAND answers one entry per command COUNT counts.
        let count = h.cmd(&["COMMAND", "COUNT"]);
        let n: usize = count.trim_start_matches(':').trim().parse().unwrap();
        assert!(n > 100, "{n}");
        let all = h.cmd(&["COMMAND"]);
        assert!(all.starts_with(&format!("*{n}\r\n")));
        assert_eq!(all.matches("*10\r\n").count(), n);
        assert!(h
            .cmd(&["COMMAND", "BOGUS"])
            .starts_with("-ERR unknown subcommand 'BOGUS'"));
    }

    #[test]
    fn command_getkeys_finds_fixed_and_counted_keys() {
        let mut h = Harness::new();
        assert_eq!(
            h.cmd(&["COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"]),
            "*2\r\n$1\r\na\r\n$1\r\nb\r\n"
        );
        assert_eq!(
            h.cmd(&["COMMAND", "GETKEYS", "BLPOP", "a", "b", "0"]),
            "*2\r\n$1\r\na\r\n$1\r\nb\r\n"
        );
        assert_eq!(
            h.cmd(&["COMMAND", "GETKEYS", "LMPOP", "2", "x", "y", "LEFT"]),
            "*2\r\n$1\r\nx\r\n$1\r\ny\r\n"
        );
        assert_eq!(
            h.cmd(&["COMMAND", "GETKEYS", "GET"]),
            "-ERR Invalid number of arguments specified for command\r\n"
        );
        assert_eq!(
            h.cmd(&["COMMAND", "GETKEYS", "PING"]),
            "-ERR The command has no key arguments\r\n"
        );
        assert_eq!(
            h.cmd(&["COMMAND", "GETKEYS", "NOPE", "x"]),
            "-ERR Invalid command specified\r\n"
        );
    }
}
