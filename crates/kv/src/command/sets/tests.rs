//! The set commands' replies, byte for byte as Redis 7.0 gives them, and the
//! intset → hashtable conversion.

use super::super::super::testutil::Harness;
use super::super::tests::{arr, bulk, NOT_INT, SYNTAX, WT};
use proptest::prelude::*;

fn encoding(h: &mut Harness, key: &str) -> String {
    h.cmd(&["OBJECT", "ENCODING", key])
}

/// The bulk strings of an array reply, sorted.
fn sorted(reply: &str) -> Vec<String> {
    let mut v: Vec<String> = reply
        .split("\r\n")
        .skip(1)
        .filter(|l| !l.starts_with('$') && !l.is_empty())
        .map(String::from)
        .collect();
    v.sort();
    v
}

#[test]
fn integers_are_an_intset_until_a_string_or_the_threshold() {
    let mut h = Harness::new();
    assert_eq!(h.cmd(&["SADD", "s", "3", "1", "2", "2"]), ":3\r\n");
    assert_eq!(encoding(&mut h, "s"), bulk("intset"));
    // Ascending, as Redis's intset answers.
    assert_eq!(h.cmd(&["SMEMBERS", "s"]), arr(&["1", "2", "3"]));
    assert_eq!(h.cmd(&["SADD", "s", "07"]), ":1\r\n");
    assert_eq!(encoding(&mut h, "s"), bulk("hashtable"));
    assert_eq!(h.cmd(&["SISMEMBER", "s", "07"]), ":1\r\n");
    assert_eq!(h.cmd(&["SISMEMBER", "s", "7"]), ":0\r\n");
    // Never back: removing the string leaves a hash table.
    h.cmd(&["SREM", "s", "07"]);
    assert_eq!(encoding(&mut h, "s"), bulk("hashtable"));

    h.cmd(&["CONFIG", "SET", "set-max-intset-entries", "2"]);
    h.cmd(&["SADD", "t", "1", "2"]);
    assert_eq!(encoding(&mut h, "t"), bulk("intset"));
    h.cmd(&["SADD", "t", "3"]);
    assert_eq!(encoding(&mut h, "t"), bulk("hashtable"));
    assert_eq!(h.cmd(&["SCARD", "t"]), ":3\r\n");
    assert_eq!(h.cmd(&["SADD", "u", "a"]), ":1\r\n");
    assert_eq!(encoding(&mut h, "u"), bulk("hashtable"));
}

#[test]
fn smismember_and_wrong_types() {
    let mut h = Harness::new();
    h.cmd(&["SADD", "s", "a", "1"]);
    assert_eq!(
        h.cmd(&["SMISMEMBER", "s", "a", "b", "1"]),
        "*3\r\n:1\r\n:0\r\n:1\r\n"
    );
    assert_eq!(h.cmd(&["SMISMEMBER", "nosuch", "a"]), "*1\r\n:0\r\n");
    h.cmd(&["SET", "str", "x"]);
    for cmd in [
        &["SMISMEMBER", "str", "a"][..],
        &["SADD", "str", "a"],
        &["SRANDMEMBER", "str"],
        &["SPOP", "str"],
        &["SINTER", "s", "str"],
        &["SUNION", "s", "str"],
        &["SDIFF", "s", "str"],
        &["SINTERCARD", "2", "s", "str"],
        &["SINTERSTORE", "d", "s", "str"],
        &["SMOVE", "str", "s", "a"],
        &["SMOVE", "s", "str", "a"],
    ] {
        assert_eq!(h.cmd(cmd), WT, "{cmd:?}");
    }
    // A missing key is an empty set even before a wrong one.
    assert_eq!(h.cmd(&["SINTER", "nosuch", "str"]), WT);
    assert_eq!(h.cmd(&["SMOVE", "nosuch", "str", "a"]), ":0\r\n");
}

#[test]
fn inter_union_diff_and_their_store_forms() {
    let mut h = Harness::new();
    h.cmd(&["SADD", "a", "1", "2", "3", "x"]);
    h.cmd(&["SADD", "b", "2", "3", "4"]);
    h.cmd(&["SADD", "c", "3", "4", "5"]);
    assert_eq!(sorted(&h.cmd(&["SINTER", "a", "b", "c"])), ["3"]);
    assert_eq!(
        sorted(&h.cmd(&["SUNION", "a", "b", "nosuch"])),
        ["1", "2", "3", "4", "x"]
    );
    assert_eq!(sorted(&h.cmd(&["SDIFF", "a", "b", "nosuch"])), ["1", "x"]);
    assert_eq!(h.cmd(&["SDIFF", "a", "a"]), "*0\r\n");
    assert_eq!(h.cmd(&["SINTER", "a", "nosuch"]), "*0\r\n");
    assert_eq!(h.cmd(&["SDIFF", "nosuch", "a"]), "*0\r\n");

    // The stored result is built as Redis builds it: an intset when it can be.
    assert_eq!(h.cmd(&["SINTERSTORE", "d", "a", "b"]), ":2\r\n");
    assert_eq!(encoding(&mut h, "d"), bulk("intset"));
    assert_eq!(h.cmd(&["SMEMBERS", "d"]), arr(&["2", "3"]));
    assert_eq!(h.cmd(&["SUNIONSTORE", "d", "a", "b"]), ":5\r\n");
    assert_eq!(encoding(&mut h, "d"), bulk("hashtable"));
    // The destination is replaced whatever it held, TTL included.
    h.cmd(&["SET", "str", "v", "EX", "100"]);
    assert_eq!(h.cmd(&["SDIFFSTORE", "str", "b", "c"]), ":1\r\n");
    assert_eq!(h.cmd(&["TTL", "str"]), ":-1\r\n");
    assert_eq!(h.cmd(&["SMEMBERS", "str"]), arr(&["2"]));
    // An empty result deletes the destination.
    assert_eq!(h.cmd(&["SINTERSTORE", "d", "a", "nosuch"]), ":0\r\n");
    assert_eq!(h.cmd(&["EXISTS", "d"]), ":0\r\n");
    assert_eq!(h.cmd(&["SDIFFSTORE", "str", "a", "a"]), ":0\r\n");
    assert_eq!(h.cmd(&["EXISTS", "str"]), ":0\r\n");
}

#[test]
fn sintercard_counts_with_a_limit_and_redis_errors() {
    let mut h = Harness::new();
    h.cmd(&["SADD", "a", "1", "2", "3", "x"]);
    h.cmd(&["SADD", "b", "1", "2", "3", "y"]);
    assert_eq!(h.cmd(&["SINTERCARD", "2", "a", "b"]), ":3\r\n");
    assert_eq!(
        h.cmd(&["SINTERCARD", "2", "a", "b", "LIMIT", "2"]),
        ":2\r\n"
    );
    assert_eq!(
        h.cmd(&["SINTERCARD", "2", "a", "b", "limit", "0"]),
        ":3\r\n"
    );
    assert_eq!(h.cmd(&["SINTERCARD", "1", "nosuch"]), ":0\r\n");
    let positive = "-ERR numkeys should be greater than 0\r\n";
    assert_eq!(h.cmd(&["SINTERCARD", "0", "a"]), positive);
    assert_eq!(h.cmd(&["SINTERCARD", "x", "a"]), positive);
    assert_eq!(
        h.cmd(&["SINTERCARD", "3", "a", "b"]),
        "-ERR Number of keys can't be greater than number of args\r\n"
    );
    assert_eq!(
        h.cmd(&["SINTERCARD", "2", "a", "b", "LIMIT", "-1"]),
        "-ERR LIMIT can't be negative\r\n"
    );
    assert_eq!(h.cmd(&["SINTERCARD", "1", "a", "LIMIT"]), SYNTAX);
    assert_eq!(h.cmd(&["SINTERCARD", "1", "a", "b"]), SYNTAX);
}

#[test]
fn smove_moves_once_and_deletes_an_emptied_source() {
    let mut h = Harness::new();
    h.cmd(&["SADD", "src", "1"]);
    h.cmd(&["SADD", "dst", "a"]);
    assert_eq!(h.cmd(&["SMOVE", "src", "src", "1"]), ":1\r\n");
    assert_eq!(h.cmd(&["SMOVE", "src", "src", "2"]), ":0\r\n");
    assert_eq!(h.cmd(&["SMOVE", "src", "dst", "2"]), ":0\r\n");
    assert_eq!(h.cmd(&["SMOVE", "src", "dst", "1"]), ":1\r\n");
    assert_eq!(h.cmd(&["EXISTS", "src"]), ":0\r\n");
    assert_eq!(sorted(&h.cmd(&["SMEMBERS", "dst"])), ["1", "a"]);
    // Into a new key: created with the member.
    assert_eq!(h.cmd(&["SMOVE", "dst", "new", "1"]), ":1\r\n");
    assert_eq!(encoding(&mut h, "new"), bulk("intset"));
}

#[test]
fn spop_and_srandmember_counts() {
    let mut h = Harness::new();
    h.cmd(&["SADD", "s", "1", "2", "3", "4", "5"]);
    assert_eq!(h.cmd(&["SRANDMEMBER", "s", "0"]), "*0\r\n");
    assert_eq!(sorted(&h.cmd(&["SRANDMEMBER", "s", "10"])).len(), 5);
    let three = sorted(&h.cmd(&["SRANDMEMBER", "s", "3"]));
    let mut distinct = three.clone();
    distinct.dedup();
    assert_eq!(distinct.len(), 3);
    assert!(h.cmd(&["SRANDMEMBER", "s", "-20"]).starts_with("*20\r\n"));
    assert_eq!(h.cmd(&["SRANDMEMBER", "s", "x"]), NOT_INT);
    assert_eq!(h.cmd(&["SRANDMEMBER", "s", "1", "2"]), SYNTAX);
    assert!(h
        .cmd(&["SRANDMEMBER", "s", "-9223372036854775808"])
        .contains("value is out of range"));
    assert_eq!(h.cmd(&["SRANDMEMBER", "nosuch"]), "$-1\r\n");
    assert_eq!(h.cmd(&["SRANDMEMBER", "nosuch", "5"]), "*0\r\n");

    assert_eq!(h.cmd(&["SPOP", "s", "0"]), "*0\r\n");
    assert_eq!(
        h.cmd(&["SPOP", "s", "-1"]),
        "-ERR value is out of range, must be positive\r\n"
    );
    assert_eq!(h.cmd(&["SPOP", "s", "1", "2"]), SYNTAX);
    let popped = sorted(&h.cmd(&["SPOP", "s", "2"]));
    assert_eq!(popped.len(), 2);
    assert_eq!(h.cmd(&["SCARD", "s"]), ":3\r\n");
    for m in &popped {
        assert_eq!(h.cmd(&["SISMEMBER", "s", m]), ":0\r\n");
    }
    assert_eq!(sorted(&h.cmd(&["SPOP", "s", "10"])).len(), 3);
    assert_eq!(h.cmd(&["EXISTS", "s"]), ":0\r\n");
    assert_eq!(h.cmd(&["SPOP", "s"]), "$-1\r\n");
    assert_eq!(h.cmd(&["SPOP", "s", "3"]), "*0\r\n");
}

#[test]
fn sscan_answers_an_intset_whole() {
    let mut h = Harness::new();
    let members: Vec<String> = (0..100).map(|i| i.to_string()).collect();
    let mut args = vec!["SADD", "s"];
    args.extend(members.iter().map(String::as_str));
    h.cmd(&args);
    let r = h.cmd(&["SSCAN", "s", "0", "COUNT", "5"]);
    assert!(r.starts_with("*2\r\n$1\r\n0\r\n*100\r\n"), "{r}");
}

/// A member, key or count for the property test below.
const MEMBERS: &[&str] = &["1", "2", "-3", "40000", "a", "b", "07"];
const KEYS: &[&str] = &["s1", "s2", "s3", "str"];

fn command() -> impl Strategy<Value = (Vec<String>, bool)> {
    let k = || (0..KEYS.len()).prop_map(|i| KEYS[i].to_string());
    let m = || (0..MEMBERS.len()).prop_map(|i| MEMBERS[i].to_string());
    let ms = || proptest::collection::vec(m(), 1..4);
    let ks = || proptest::collection::vec(k(), 1..4);
    // (arguments, whether the reply is an unordered array)
    prop_oneof![
        4 => (k(), ms()).prop_map(|(k, ms)| ([vec!["SADD".into(), k], ms].concat(), false)),
        2 => (k(), ms()).prop_map(|(k, ms)| ([vec!["SREM".into(), k], ms].concat(), false)),
        1 => (k(), ms()).prop_map(|(k, ms)| ([vec!["SMISMEMBER".into(), k], ms].concat(), false)),
        1 => (k(), m()).prop_map(|(k, m)| (vec!["SISMEMBER".into(), k, m], false)),
        1 => k().prop_map(|k| (vec!["SCARD".into(), k], false)),
        1 => k().prop_map(|k| (vec!["SMEMBERS".into(), k], true)),
        1 => (k(), k(), m()).prop_map(|(a, b, m)| (vec!["SMOVE".into(), a, b, m], false)),
        1 => ks().prop_map(|ks| ([vec!["SINTER".into()], ks].concat(), true)),
        1 => ks().prop_map(|ks| ([vec!["SUNION".into()], ks].concat(), true)),
        1 => ks().prop_map(|ks| ([vec!["SDIFF".into()], ks].concat(), true)),
        1 => (k(), ks()).prop_map(|(d, ks)| ([vec!["SUNIONSTORE".into(), d], ks].concat(), false)),
        1 => (k(), ks()).prop_map(|(d, ks)| ([vec!["SDIFFSTORE".into(), d], ks].concat(), false)),
        1 => (k(), ks()).prop_map(|(d, ks)| ([vec!["SINTERSTORE".into(), d], ks].concat(), false)),
        1 => ks().prop_map(|ks| ([vec!["SINTERCARD".into(), ks.len().to_string()], ks].concat(), false)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// The same commands give the same replies whether sets of integers stay
    /// intsets or every set is a hash table from its first member.
    #[test]
    fn replies_do_not_depend_on_the_encoding(cmds in proptest::collection::vec(command(), 1..60)) {
        let mut ints = Harness::new();
        let mut table = Harness::new();
        table.cmd(&["CONFIG", "SET", "set-max-intset-entries", "0"]);
        for h in [&mut ints, &mut table] {
            h.cmd(&["SET", "str", "a string"]);
        }
        for (a, unordered) in &cmds {
            let a: Vec<&str> = a.iter().map(String::as_str).collect();
            let (x, y) = (ints.cmd(&a), table.cmd(&a));
            if *unordered && x.starts_with('*') {
                prop_assert_eq!(sorted(&x), sorted(&y), "{:?}", a);
            } else {
                prop_assert_eq!(&x, &y, "{:?}", a);
            }
        }
        for k in KEYS {
            let (x, y) = (ints.cmd(&["SMEMBERS", k]), table.cmd(&["SMEMBERS", k]));
            prop_assert_eq!(sorted(&x), sorted(&y));
        }
    }
}
