//! The command layer's replies, byte for byte, through a session without sockets.

use super::super::testutil::{advance, clock, Harness};

pub(super) const WT: &str =
    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
pub(super) const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
pub(super) const SYNTAX: &str = "-ERR syntax error\r\n";

pub(super) fn bulk(s: &str) -> String {
    format!("${}\r\n{}\r\n", s.len(), s)
}

pub(super) fn arr(items: &[&str]) -> String {
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
    assert_eq!(
        h.cmd(&["SELECT", "16"]),
        "-ERR DB index is out of range\r\n"
    );
    assert_eq!(h.cmd(&["SELECT", "x"]), NOT_INT);
    assert_eq!(
        h.cmd(&["HELLO", "4"]),
        "-NOPROTO unsupported protocol version\r\n"
    );
    assert_eq!(
        h.cmd(&["HELLO", "x"]),
        "-ERR Protocol version is not an integer or out of range\r\n"
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
    assert!(h
        .cmd(&["COMMAND", "DOCS"])
        .contains("$6\r\nappend\r\n*10\r\n$7\r\nsummary"));
    assert!(h.cmd(&["COMMAND", "COUNT"]).starts_with(':'));
    assert_eq!(h.cmd(&["DBSIZE"]), ":0\r\n");
    h.cmd(&["SET", "a", "1"]);
    h.cmd(&["SET", "b", "1", "EX", "100"]);
    assert_eq!(h.cmd(&["DBSIZE"]), ":2\r\n");
    let info = h.cmd(&["INFO"]);
    for needle in [
        "# Server\r\nredis_version:7.0.15\r\n",
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
fn sorted_set_ranges() {
    let mut h = Harness::new();
    let float_err = "-ERR min or max is not a float\r\n";
    let lex_err = "-ERR min or max not valid string range item\r\n";
    h.cmd(&[
        "ZADD", "z", "-inf", "a", "1", "b", "2", "c", "2", "d", "3", "e", "+inf", "f",
    ]);
    assert_eq!(
        h.cmd(&["ZRANGEBYSCORE", "z", "1", "2"]),
        arr(&["b", "c", "d"])
    );
    assert_eq!(h.cmd(&["ZRANGEBYSCORE", "z", "(1", "(3"]), arr(&["c", "d"]));
    assert_eq!(
        h.cmd(&["ZRANGEBYSCORE", "z", "-inf", "+inf"]),
        arr(&["a", "b", "c", "d", "e", "f"])
    );
    assert_eq!(
        h.cmd(&["ZRANGEBYSCORE", "z", "(-inf", "(inf"]),
        arr(&["b", "c", "d", "e"])
    );
    assert_eq!(h.cmd(&["ZRANGEBYSCORE", "z", "(inf", "+inf"]), "*0\r\n");
    assert_eq!(h.cmd(&["ZRANGEBYSCORE", "z", "3", "1"]), "*0\r\n");
    assert_eq!(h.cmd(&["ZRANGEBYSCORE", "z", "(2", "2"]), "*0\r\n");
    assert_eq!(
        h.cmd(&[
            "ZRANGEBYSCORE",
            "z",
            "1",
            "3",
            "WITHSCORES",
            "LIMIT",
            "1",
            "2"
        ]),
        arr(&["c", "2", "d", "2"])
    );
    assert_eq!(
        h.cmd(&["ZRANGEBYSCORE", "z", "1", "3", "LIMIT", "-1", "2"]),
        "*0\r\n"
    );
    assert_eq!(
        h.cmd(&["ZRANGEBYSCORE", "z", "1", "3", "LIMIT", "3", "-1"]),
        arr(&["e"])
    );
    assert_eq!(
        h.cmd(&["ZREVRANGEBYSCORE", "z", "2", "(1"]),
        arr(&["d", "c"])
    );
    assert_eq!(
        h.cmd(&["ZRANGE", "z", "(3", "1", "BYSCORE", "REV", "LIMIT", "0", "1"]),
        arr(&["d"])
    );
    assert_eq!(h.cmd(&["ZRANGEBYSCORE", "z", "nan", "1"]), float_err);
    assert_eq!(h.cmd(&["ZRANGEBYSCORE", "z", "(x", "1"]), float_err);
    assert_eq!(
        h.cmd(&["ZRANGEBYSCORE", "z", "1", "2", "LIMIT", "x", "1"]),
        NOT_INT
    );
    assert_eq!(
        h.cmd(&["ZRANGEBYSCORE", "z", "1", "2", "LIMIT", "1"]),
        SYNTAX
    );
    assert_eq!(
        h.cmd(&["ZRANGE", "z", "0", "1", "LIMIT", "0", "1"]),
        "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n"
    );
    assert_eq!(
        h.cmd(&["ZREVRANGE", "z", "0", "1", "WITHSCORES"]),
        arr(&["f", "inf", "e", "3"])
    );
    assert_eq!(h.cmd(&["ZCOUNT", "z", "(1", "+inf"]), ":4\r\n");
    assert_eq!(h.cmd(&["ZCOUNT", "nokey", "0", "1"]), ":0\r\n");
    assert_eq!(h.cmd(&["ZREVRANK", "z", "f"]), ":0\r\n");
    assert_eq!(h.cmd(&["ZREVRANK", "z", "a"]), ":5\r\n");
    assert_eq!(
        h.cmd(&["ZMSCORE", "z", "b", "nope", "f"]),
        "*3\r\n$1\r\n1\r\n$-1\r\n$3\r\ninf\r\n"
    );
    assert_eq!(h.cmd(&["ZMSCORE", "nokey", "b"]), "*1\r\n$-1\r\n");
    assert_eq!(h.cmd(&["ZINCRBY", "z", "2.5", "b"]), bulk("3.5"));
    assert_eq!(h.cmd(&["ZINCRBY", "new", "-1", "m"]), bulk("-1"));
    assert_eq!(
        h.cmd(&["ZINCRBY", "z", "x", "b"]),
        "-ERR value is not a valid float\r\n"
    );
    assert_eq!(
        h.cmd(&["ZINCRBY", "z", "-inf", "f"]),
        "-ERR resulting score is not a number (NaN)\r\n"
    );
    assert_eq!(h.cmd(&["ZINCRBY", "fresh", "+inf", "m"]), bulk("inf"));

    // Lexicographic ranges, on members sharing one score.
    h.cmd(&[
        "ZADD", "l", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e",
    ]);
    assert_eq!(
        h.cmd(&["ZRANGEBYLEX", "l", "-", "+"]),
        arr(&["a", "b", "c", "d", "e"])
    );
    assert_eq!(h.cmd(&["ZRANGEBYLEX", "l", "[b", "(d"]), arr(&["b", "c"]));
    assert_eq!(h.cmd(&["ZRANGEBYLEX", "l", "(b", "[b"]), "*0\r\n");
    assert_eq!(h.cmd(&["ZRANGEBYLEX", "l", "[b", "[b"]), arr(&["b"]));
    assert_eq!(h.cmd(&["ZRANGEBYLEX", "l", "+", "-"]), "*0\r\n");
    assert_eq!(
        h.cmd(&["ZRANGEBYLEX", "l", "-", "+", "LIMIT", "1", "2"]),
        arr(&["b", "c"])
    );
    assert_eq!(
        h.cmd(&["ZREVRANGEBYLEX", "l", "(d", "-"]),
        arr(&["c", "b", "a"])
    );
    assert_eq!(
        h.cmd(&["ZRANGE", "l", "[c", "-", "BYLEX", "REV"]),
        arr(&["c", "b", "a"])
    );
    assert_eq!(h.cmd(&["ZLEXCOUNT", "l", "(a", "+"]), ":4\r\n");
    assert_eq!(h.cmd(&["ZRANGEBYLEX", "l", "b", "+"]), lex_err);
    assert_eq!(
        h.cmd(&["ZRANGEBYLEX", "l", "-", "+", "WITHSCORES"]),
        "-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n"
    );

    // ZRANGESTORE replaces the destination, or deletes it for an empty result.
    h.cmd(&["SET", "dst", "v"]);
    assert_eq!(h.cmd(&["ZRANGESTORE", "dst", "l", "1", "2"]), ":2\r\n");
    assert_eq!(h.cmd(&["ZRANGE", "dst", "0", "-1"]), arr(&["b", "c"]));
    assert_eq!(
        h.cmd(&["ZRANGESTORE", "dst", "z", "5", "+inf", "BYSCORE"]),
        ":1\r\n"
    );
    assert_eq!(
        h.cmd(&["ZRANGE", "dst", "0", "-1", "WITHSCORES"]),
        arr(&["f", "inf"])
    );
    assert_eq!(
        h.cmd(&["ZRANGESTORE", "dst", "z", "0", "1", "WITHSCORES"]),
        SYNTAX
    );
    assert_eq!(h.cmd(&["ZRANGESTORE", "dst", "nokey", "0", "-1"]), ":0\r\n");
    assert_eq!(h.cmd(&["EXISTS", "dst"]), ":0\r\n");

    // Removing ranges.
    assert_eq!(h.cmd(&["ZREMRANGEBYLEX", "l", "[b", "[c"]), ":2\r\n");
    assert_eq!(h.cmd(&["ZREMRANGEBYRANK", "l", "-1", "-1"]), ":1\r\n");
    assert_eq!(h.cmd(&["ZRANGE", "l", "0", "-1"]), arr(&["a", "d"]));
    assert_eq!(h.cmd(&["ZREMRANGEBYRANK", "l", "5", "9"]), ":0\r\n");
    assert_eq!(h.cmd(&["ZREMRANGEBYSCORE", "z", "(1", "3.5"]), ":4\r\n");
    assert_eq!(h.cmd(&["ZRANGE", "z", "0", "-1"]), arr(&["a", "f"]));
    assert_eq!(h.cmd(&["ZREMRANGEBYSCORE", "z", "-inf", "+inf"]), ":2\r\n");
    assert_eq!(h.cmd(&["EXISTS", "z"]), ":0\r\n");
    assert_eq!(h.cmd(&["ZREMRANGEBYSCORE", "l", "x", "1"]), float_err);
    h.cmd(&["SET", "s", "v"]);
    assert_eq!(h.cmd(&["ZRANGEBYSCORE", "s", "0", "1"]), WT);
    assert_eq!(h.cmd(&["ZINCRBY", "s", "1", "m"]), WT);
    assert_eq!(h.cmd(&["ZREMRANGEBYRANK", "s", "0", "1"]), WT);
}

#[test]
fn inline_commands() {
    let mut h = Harness::new();
    let (r, _) = h.raw(b"SET greeting \"hello world\"\r\nGET greeting\nPING\r\n");
    assert_eq!(r, format!("+OK\r\n{}+PONG\r\n", bulk("hello world")));
}

#[test]
fn info_counts_calls_rejections_failures_and_errors_per_command() {
    let mut h = Harness::new();
    h.cmd(&["SET", "k", "v"]);
    h.cmd(&["SET", "k", "v"]);
    h.cmd(&["GET"]); // wrong arity: rejected before running
    h.cmd(&["LPUSH", "k", "x"]); // ran, answered WRONGTYPE
    h.cmd(&["NOSUCH"]); // unknown: an error, no command's counters
    h.cmd(&["CLIENT", "ID"]);
    let info = h.cmd(&["INFO", "commandstats", "errorstats", "stats"]);
    for needle in [
        "cmdstat_set:calls=2,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=0\r\n",
        "cmdstat_get:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0\r\n",
        "cmdstat_lpush:calls=1,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=1\r\n",
        "cmdstat_client|id:calls=1,",
        "errorstat_ERR:count=2\r\n",
        "errorstat_WRONGTYPE:count=1\r\n",
        "total_error_replies:3\r\n",
        // The commands that ran, as Redis counts them (INFO itself not yet).
        "total_commands_processed:4\r\n",
    ] {
        assert!(info.contains(needle), "{needle:?} not in {info}");
    }
    // Not in the default sections.
    assert!(!h.cmd(&["INFO"]).contains("cmdstat_"));
    assert_eq!(h.cmd(&["CONFIG", "RESETSTAT"]), "+OK\r\n");
    let info = h.cmd(&["INFO", "all"]);
    assert!(!info.contains("cmdstat_set:"), "{info}");
    assert!(info.contains("cmdstat_config|resetstat:calls=1,"), "{info}");
    assert!(!info.contains("errorstat_"), "{info}");
}

#[test]
fn client_tracking_and_no_evict_options_are_checked_as_redis_does() {
    let mut h = Harness::new();
    let err = |s: &str| format!("-ERR {s}\r\n");
    assert_eq!(
        h.cmd(&["CLIENT", "TRACKING", "ON", "PREFIX", "a"]),
        err("PREFIX option requires BCAST mode to be enabled")
    );
    assert_eq!(
        h.cmd(&["CLIENT", "TRACKING", "ON", "BCAST", "OPTIN"]),
        err("OPTIN and OPTOUT are not compatible with BCAST")
    );
    assert_eq!(
        h.cmd(&["CLIENT", "TRACKING", "ON", "OPTIN", "OPTOUT"]),
        err("You can't use both OPTIN and OPTOUT")
    );
    assert_eq!(
        h.cmd(&["CLIENT", "TRACKING", "ON", "REDIRECT", "999"]),
        err("The client ID you want redirect to does not exist")
    );
    assert_eq!(
        h.cmd(&["CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "ab", "PREFIX", "a"]),
        err("Prefix 'ab' overlaps with another provided prefix 'a'. Prefixes for a single client must not overlap.")
    );
    assert_eq!(h.cmd(&["CLIENT", "GETREDIR"]), ":-1\r\n");
    assert!(h
        .cmd(&["CLIENT", "CACHING", "YES"])
        .starts_with("-ERR CLIENT CACHING can be called only"));
    assert_eq!(h.cmd(&["CLIENT", "TRACKING", "ON", "OPTIN"]), "+OK\r\n");
    assert_eq!(h.cmd(&["CLIENT", "GETREDIR"]), ":0\r\n");
    assert_eq!(
        h.cmd(&["CLIENT", "TRACKING", "ON", "OPTOUT"]),
        err("You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.")
    );
    assert_eq!(
        h.cmd(&["CLIENT", "CACHING", "NO"]),
        err("CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.")
    );
    assert_eq!(h.cmd(&["CLIENT", "CACHING", "YES"]), "+OK\r\n");
    assert_eq!(
        h.cmd(&["CLIENT", "TRACKING", "ON", "BCAST"]),
        err("You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.")
    );
    let list = h.cmd(&["CLIENT", "LIST"]);
    assert!(list.contains(" redir=0 "), "{list}");
    assert_eq!(h.cmd(&["CLIENT", "TRACKING", "OFF"]), "+OK\r\n");
    assert!(h.cmd(&["CLIENT", "LIST"]).contains(" redir=-1 "));
    assert_eq!(h.cmd(&["CLIENT", "NO-EVICT", "maybe"]), SYNTAX);
    assert_eq!(h.cmd(&["CLIENT", "NO-EVICT", "ON"]), "+OK\r\n");
    assert!(h.cmd(&["CLIENT", "INFO"]).contains(" flags=e "));
}
