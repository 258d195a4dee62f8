//! Replies of the keyspace and string commands added for Redis's test suite
//! (OBJECT, GETEX, EXPIRETIME, COPY, LCS, ...), byte for byte.

use super::super::testutil::{advance, clock, Harness};
use super::tests::{bulk, NOT_INT, SYNTAX, WT};

#[test]
fn object_encoding_names_what_is_stored() {
    let mut h = Harness::new();
    h.cmd(&["SET", "int", "12345"]);
    h.cmd(&["SET", "short", "hello"]);
    h.cmd(&["SET", "long", &"x".repeat(45)]);
    h.cmd(&["RPUSH", "l", "a"]);
    h.cmd(&["HSET", "h", "f", "v"]);
    h.cmd(&["SADD", "s", "1"]);
    h.cmd(&["SADD", "t", "a"]);
    h.cmd(&["ZADD", "z", "1", "m"]);
    for (key, enc) in [
        ("int", "int"),
        ("short", "embstr"),
        ("long", "raw"),
        ("l", "quicklist"),
        ("h", "listpack"),
        ("s", "intset"),
        ("t", "hashtable"),
        ("z", "listpack"),
    ] {
        assert_eq!(h.cmd(&["OBJECT", "ENCODING", key]), bulk(enc), "{key}");
    }
    h.cmd(&["INCR", "short2"]);
    assert_eq!(h.cmd(&["object", "encoding", "short2"]), bulk("int"));
    // As Redis: a string changed in place is raw; stored whole, it is not.
    for (cmd, enc) in [
        (&["APPEND", "a", "12"][..], "int"),
        (&["APPEND", "a", "3"], "raw"),
        (&["INCR", "a"], "int"),
        (&["SETRANGE", "a", "0", "9"], "raw"),
        (&["SET", "a", "x"], "embstr"),
        (&["SETRANGE", "b", "1", "x"], "raw"),
        (&["SETBIT", "c", "1", "1"], "raw"),
        (&["SET", "m", "twenty-bytes-long-xx"], "embstr"),
        (&["APPEND", "m", "y"], "raw"),
        (&["SET", "m", "twenty-bytes-long-xx"], "embstr"),
        (&["SETRANGE", "m", "0", "T"], "raw"),
    ] {
        h.cmd(cmd);
        assert_eq!(h.cmd(&["OBJECT", "ENCODING", cmd[1]]), bulk(enc), "{cmd:?}");
    }
    assert_eq!(h.cmd(&["GET", "a"]), bulk("x"));
    assert_eq!(h.cmd(&["GET", "b"]), "$2\r\n\0x\r\n");
    assert_eq!(h.cmd(&["OBJECT", "ENCODING", "missing"]), "$-1\r\n");
    assert_eq!(h.cmd(&["OBJECT", "REFCOUNT", "l"]), ":1\r\n");
    assert_eq!(h.cmd(&["OBJECT", "IDLETIME", "l"]), ":0\r\n");
    assert!(h.cmd(&["OBJECT", "FREQ", "l"]).starts_with(
        "-ERR An LFU maxmemory policy is not selected, access frequency not tracked."
    ));
    assert_eq!(
        h.cmd(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"]),
        "+OK\r\n"
    );
    assert!(h
        .cmd(&["OBJECT", "IDLETIME", "l"])
        .starts_with("-ERR An LFU maxmemory policy is selected, idle time not tracked."));
    assert_eq!(
        h.cmd(&["OBJECT", "NOPE", "l"]),
        "-ERR unknown subcommand 'NOPE'. Try OBJECT HELP.\r\n"
    );
    assert_eq!(
        h.cmd(&["OBJECT", "ENCODING"]),
        "-ERR wrong number of arguments for 'object|encoding' command\r\n"
    );
    let help = h.cmd(&["OBJECT", "HELP"]);
    assert!(help.starts_with("*15\r\n+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+ENCODING <key>\r\n"), "{help}");
    assert!(
        help.ends_with("+HELP\r\n+    Print this help.\r\n"),
        "{help}"
    );
}

#[test]
fn getex_sets_or_clears_the_ttl_after_reading() {
    let mut h = Harness::new();
    assert_eq!(h.cmd(&["GETEX", "missing", "EX", "10"]), "$-1\r\n");
    h.cmd(&["SET", "k", "v"]);
    assert_eq!(h.cmd(&["GETEX", "k"]), bulk("v"));
    assert_eq!(h.cmd(&["TTL", "k"]), ":-1\r\n");
    assert_eq!(h.cmd(&["GETEX", "k", "EX", "100"]), bulk("v"));
    assert_eq!(h.cmd(&["TTL", "k"]), ":100\r\n");
    assert_eq!(h.cmd(&["GETEX", "k", "PX", "5000"]), bulk("v"));
    assert_eq!(h.cmd(&["PTTL", "k"]), ":5000\r\n");
    assert_eq!(h.cmd(&["GETEX", "k", "PERSIST"]), bulk("v"));
    assert_eq!(h.cmd(&["TTL", "k"]), ":-1\r\n");
    let at = (clock() / 1000 + 50).to_string();
    assert_eq!(h.cmd(&["GETEX", "k", "EXAT", &at]), bulk("v"));
    assert_eq!(h.cmd(&["EXPIRETIME", "k"]), format!(":{at}\r\n"));
    // A deadline in the past deletes the key, after answering with it.
    assert_eq!(h.cmd(&["GETEX", "k", "PXAT", "1"]), bulk("v"));
    assert_eq!(h.cmd(&["EXISTS", "k"]), ":0\r\n");
    h.cmd(&["SET", "k", "v"]);
    for bad in [
        &["GETEX", "k", "EX"][..],
        &["GETEX", "k", "EX", "1", "PX", "1"],
        &["GETEX", "k", "PERSIST", "EX", "1"],
        &["GETEX", "k", "NOPE"],
    ] {
        assert_eq!(h.cmd(bad), SYNTAX, "{bad:?}");
    }
    assert_eq!(h.cmd(&["GETEX", "k", "EX", "x"]), NOT_INT);
    assert_eq!(
        h.cmd(&["GETEX", "k", "EX", "0"]),
        "-ERR invalid expire time in 'getex' command\r\n"
    );
    h.cmd(&["RPUSH", "l", "a"]);
    assert_eq!(h.cmd(&["GETEX", "l"]), WT);
}

#[test]
fn expiretime_renamenx_touch_randomkey() {
    let mut h = Harness::new();
    assert_eq!(h.cmd(&["EXPIRETIME", "k"]), ":-2\r\n");
    assert_eq!(h.cmd(&["RANDOMKEY"]), "$-1\r\n");
    h.cmd(&["SET", "k", "v"]);
    assert_eq!(h.cmd(&["PEXPIRETIME", "k"]), ":-1\r\n");
    h.cmd(&["PEXPIREAT", "k", "1800000000123"]);
    assert_eq!(h.cmd(&["PEXPIRETIME", "k"]), ":1800000000123\r\n");
    assert_eq!(h.cmd(&["EXPIRETIME", "k"]), ":1800000000\r\n");
    assert_eq!(h.cmd(&["RANDOMKEY"]), bulk("k"));
    h.cmd(&["SET", "other", "x"]);
    assert_eq!(h.cmd(&["RENAMENX", "k", "other"]), ":0\r\n");
    assert_eq!(h.cmd(&["RENAMENX", "k", "k"]), ":0\r\n");
    assert_eq!(h.cmd(&["RENAMENX", "k", "new"]), ":1\r\n");
    assert_eq!(h.cmd(&["PEXPIRETIME", "new"]), ":1800000000123\r\n");
    assert_eq!(h.cmd(&["RENAMENX", "k", "x"]), "-ERR no such key\r\n");
    assert_eq!(h.cmd(&["RENAME", "new", "new"]), "+OK\r\n");
    assert_eq!(h.cmd(&["TOUCH", "new", "other", "nope", "new"]), ":3\r\n");
    // Only expired keys left: RANDOMKEY deletes them and answers nil.
    h.cmd(&["FLUSHDB"]);
    h.cmd(&["SET", "gone", "v", "PX", "10"]);
    advance(20);
    assert_eq!(h.cmd(&["RANDOMKEY"]), "$-1\r\n");
    assert_eq!(h.cmd(&["DBSIZE"]), ":0\r\n");
}

#[test]
fn copy_within_and_across_databases() {
    let mut h = Harness::new();
    h.cmd(&["RPUSH", "l", "a", "b"]);
    h.cmd(&["PEXPIRE", "l", "100000"]);
    assert_eq!(h.cmd(&["COPY", "l", "l2"]), ":1\r\n");
    assert_eq!(
        h.cmd(&["LRANGE", "l2", "0", "-1"]),
        "*2\r\n$1\r\na\r\n$1\r\nb\r\n"
    );
    assert_eq!(h.cmd(&["PTTL", "l2"]), ":100000\r\n");
    // The copy is its own value.
    h.cmd(&["RPUSH", "l2", "c"]);
    assert_eq!(h.cmd(&["LLEN", "l"]), ":2\r\n");
    assert_eq!(h.cmd(&["COPY", "l", "l2"]), ":0\r\n");
    assert_eq!(h.cmd(&["COPY", "l", "l2", "REPLACE"]), ":1\r\n");
    assert_eq!(h.cmd(&["LLEN", "l2"]), ":2\r\n");
    assert_eq!(h.cmd(&["COPY", "nope", "x"]), ":0\r\n");
    assert_eq!(
        h.cmd(&["COPY", "l", "l"]),
        "-ERR source and destination objects are the same\r\n"
    );
    assert_eq!(h.cmd(&["COPY", "l", "l", "DB", "4"]), ":1\r\n");
    assert_eq!(
        h.cmd(&["COPY", "l", "l", "DB", "16"]),
        "-ERR DB index is out of range\r\n"
    );
    assert_eq!(h.cmd(&["COPY", "l", "l", "DB", "x"]), NOT_INT);
    assert_eq!(h.cmd(&["COPY", "l", "l", "BOGUS"]), SYNTAX);
    h.cmd(&["SELECT", "4"]);
    assert_eq!(
        h.cmd(&["LRANGE", "l", "0", "-1"]),
        "*2\r\n$1\r\na\r\n$1\r\nb\r\n"
    );
    assert_eq!(h.cmd(&["PTTL", "l"]), ":100000\r\n");
}

#[test]
fn lcs_as_redis_answers_it() {
    let mut h = Harness::new();
    h.cmd(&["SET", "virus1", "ohmytext"]);
    h.cmd(&["SET", "virus2", "mynewtext"]);
    assert_eq!(h.cmd(&["LCS", "virus1", "virus2"]), bulk("mytext"));
    assert_eq!(h.cmd(&["LCS", "virus1", "virus2", "LEN"]), ":6\r\n");
    assert_eq!(
        h.cmd(&["LCS", "virus1", "virus2", "IDX"]),
        "*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n"
    );
    assert_eq!(
        h.cmd(&["LCS", "virus1", "virus2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"]),
        "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n"
    );
    assert_eq!(h.cmd(&["LCS", "virus1", "nope"]), bulk(""));
    assert_eq!(
        h.cmd(&["LCS", "virus1", "virus2", "LEN", "IDX"]),
        "-ERR If you want both the length and indexes, please just use IDX.\r\n"
    );
    h.cmd(&["RPUSH", "l", "a"]);
    assert_eq!(
        h.cmd(&["LCS", "virus1", "l"]),
        "-ERR The specified keys must contain string values\r\n"
    );
    assert_eq!(h.cmd(&["SUBSTR", "virus1", "2", "3"]), bulk("my"));
}

#[test]
fn setbit_and_getbit_address_bits_most_significant_first() {
    let mut h = Harness::new();
    assert_eq!(h.cmd(&["SETBIT", "k", "1", "1"]), ":0\r\n");
    assert_eq!(h.cmd(&["SETBIT", "k", "7", "1"]), ":0\r\n");
    assert_eq!(h.cmd(&["GET", "k"]), bulk("A"));
    assert_eq!(h.cmd(&["SETBIT", "k", "7", "0"]), ":1\r\n");
    assert_eq!(h.cmd(&["GETBIT", "k", "1"]), ":1\r\n");
    assert_eq!(h.cmd(&["GETBIT", "k", "100"]), ":0\r\n");
    assert_eq!(h.cmd(&["GETBIT", "nope", "0"]), ":0\r\n");
    assert_eq!(h.cmd(&["SETBIT", "k", "23", "1"]), ":0\r\n");
    assert_eq!(h.cmd(&["STRLEN", "k"]), ":3\r\n");
    let bad_offset = "-ERR bit offset is not an integer or out of range\r\n";
    assert_eq!(h.cmd(&["SETBIT", "k", "-1", "1"]), bad_offset);
    assert_eq!(h.cmd(&["SETBIT", "k", "4294967296", "1"]), bad_offset);
    assert_eq!(h.cmd(&["GETBIT", "k", "x"]), bad_offset);
    assert_eq!(
        h.cmd(&["SETBIT", "k", "0", "2"]),
        "-ERR bit is not an integer or out of range\r\n"
    );
    h.cmd(&["RPUSH", "l", "a"]);
    assert_eq!(h.cmd(&["SETBIT", "l", "0", "1"]), WT);
    assert_eq!(h.cmd(&["GETBIT", "l", "0"]), WT);
}
