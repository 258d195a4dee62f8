//! Replies of the keyspace and string commands added for Redis's test suite
//! (OBJECT, GETEX, EXPIRETIME, COPY, LCS, ...), byte for byte.

use super::super::testutil::Harness;
use super::tests::bulk;

#[test]
fn object_encoding_names_what_is_stored() {
    let mut h = Harness::new();
    h.cmd(&["SET", "int", "12345"]);
    h.cmd(&["SET", "short", "hello"]);
    h.cmd(&["SET", "long", &"x".repeat(45)]);
    h.cmd(&["RPUSH", "l", "a"]);
    h.cmd(&["HSET", "h", "f", "v"]);
    h.cmd(&["SADD", "s", "1"]);
    h.cmd(&["ZADD", "z", "1", "m"]);
    for (key, enc) in [
        ("int", "int"),
        ("short", "embstr"),
        ("long", "raw"),
        ("l", "quicklist"),
        ("h", "hashtable"),
        ("s", "hashtable"),
        ("z", "skiplist"),
    ] {
        assert_eq!(h.cmd(&["OBJECT", "ENCODING", key]), bulk(enc), "{key}");
    }
    h.cmd(&["INCR", "short2"]);
    assert_eq!(h.cmd(&["object", "encoding", "short2"]), bulk("int"));
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
