//! The hash commands' replies, byte for byte as Redis 7.0 gives them, and the
//! listpack → hashtable conversion.

use super::super::super::testutil::Harness;
use super::super::tests::{arr, bulk, NOT_INT, SYNTAX, WT};
use proptest::prelude::*;

fn encoding(h: &mut Harness, key: &str) -> String {
    h.cmd(&["OBJECT", "ENCODING", key])
}

#[test]
fn hsetnx_sets_only_a_missing_field() {
    let mut h = Harness::new();
    assert_eq!(h.cmd(&["HSETNX", "h", "f", "1"]), ":1\r\n");
    assert_eq!(h.cmd(&["HSETNX", "h", "f", "2"]), ":0\r\n");
    assert_eq!(h.cmd(&["HGET", "h", "f"]), bulk("1"));
    assert_eq!(h.cmd(&["HSETNX", "h", "g", "2"]), ":1\r\n");
    assert_eq!(h.cmd(&["HLEN", "h"]), ":2\r\n");
    assert_eq!(
        h.cmd(&["HSETNX", "h", "f"]),
        "-ERR wrong number of arguments for 'hsetnx' command\r\n"
    );
    h.cmd(&["SET", "s", "x"]);
    assert_eq!(h.cmd(&["HSETNX", "s", "f", "1"]), WT);
    // An existing field with a long value does not convert: nothing is written.
    h.cmd(&["CONFIG", "SET", "hash-max-listpack-value", "4"]);
    assert_eq!(h.cmd(&["HSETNX", "h", "f", "longer"]), ":0\r\n");
    assert_eq!(encoding(&mut h, "h"), bulk("listpack"));
    assert_eq!(h.cmd(&["HSETNX", "h", "n", "longer"]), ":1\r\n");
    assert_eq!(encoding(&mut h, "h"), bulk("hashtable"));
}

#[test]
fn hstrlen_is_the_value_length_or_zero() {
    let mut h = Harness::new();
    h.cmd(&[
        "HSET",
        "h",
        "a",
        "hello",
        "e",
        "",
        "n",
        "-9223372036854775808",
    ]);
    assert_eq!(h.cmd(&["HSTRLEN", "h", "a"]), ":5\r\n");
    assert_eq!(h.cmd(&["HSTRLEN", "h", "e"]), ":0\r\n");
    assert_eq!(h.cmd(&["HSTRLEN", "h", "n"]), ":20\r\n");
    assert_eq!(h.cmd(&["HSTRLEN", "h", "missing"]), ":0\r\n");
    assert_eq!(h.cmd(&["HSTRLEN", "nokey", "a"]), ":0\r\n");
    h.cmd(&["SET", "s", "x"]);
    assert_eq!(h.cmd(&["HSTRLEN", "s", "a"]), WT);
}

#[test]
fn hincrby_errors_as_redis() {
    let mut h = Harness::new();
    assert_eq!(h.cmd(&["HINCRBY", "h", "f", "5"]), ":5\r\n");
    assert_eq!(h.cmd(&["HINCRBY", "h", "f", "-7"]), ":-2\r\n");
    h.cmd(&["HSET", "h", "sp", " 1", "sp2", "1 ", "big", "17179869184"]);
    let not_int = "-ERR hash value is not an integer\r\n";
    assert_eq!(h.cmd(&["HINCRBY", "h", "sp", "1"]), not_int);
    assert_eq!(h.cmd(&["HINCRBY", "h", "sp2", "1"]), not_int);
    assert_eq!(
        h.cmd(&["HINCRBY", "h", "big", "17179869184"]),
        ":34359738368\r\n"
    );
    assert_eq!(h.cmd(&["HINCRBY", "h", "f", "1.5"]), NOT_INT);
    h.cmd(&["HSET", "h", "min", "-9223372036854775808"]);
    assert_eq!(
        h.cmd(&["HINCRBY", "h", "min", "-1"]),
        "-ERR increment or decrement would overflow\r\n"
    );
    assert_eq!(h.cmd(&["HGET", "h", "min"]), bulk("-9223372036854775808"));
    h.cmd(&["SET", "s", "x"]);
    assert_eq!(h.cmd(&["HINCRBY", "s", "f", "1"]), WT);
    // The increment is checked before the type, as in Redis.
    assert_eq!(h.cmd(&["HINCRBY", "s", "f", "x"]), NOT_INT);
}

#[test]
fn hincrbyfloat_formats_and_errors_as_redis() {
    let mut h = Harness::new();
    assert_eq!(h.cmd(&["HINCRBYFLOAT", "h", "f", "2.5"]), bulk("2.5"));
    assert_eq!(h.cmd(&["HINCRBYFLOAT", "h", "f", "3.5"]), bulk("6"));
    assert_eq!(h.cmd(&["HGET", "h", "f"]), bulk("6"));
    assert_eq!(h.cmd(&["HINCRBY", "h", "f", "1"]), ":7\r\n");
    assert_eq!(h.cmd(&["HINCRBYFLOAT", "h", "g", "1.23"]), bulk("1.23"));
    assert_eq!(h.cmd(&["HINCRBYFLOAT", "h", "g", "0.77"]), bulk("2"));
    assert_eq!(h.cmd(&["HINCRBYFLOAT", "h", "g", "-0.1"]), bulk("1.9"));
    h.cmd(&["HSET", "h", "big", "17179869184"]);
    assert_eq!(
        h.cmd(&["HINCRBYFLOAT", "h", "big", "17179869184"]),
        bulk("34359738368")
    );
    assert_eq!(h.cmd(&["HINCRBYFLOAT", "h", "z", "-0"]), bulk("0"));
    assert_eq!(h.cmd(&["HINCRBYFLOAT", "h", "e", "1e3"]), bulk("1000"));
    assert_eq!(h.cmd(&["HINCRBYFLOAT", "h", "e", "5.0e-1"]), bulk("1000.5"));
    h.cmd(&[
        "HSET", "h", "sp", " 1", "sp2", "1 ", "nul", "1\u{0}2", "word", "x",
    ]);
    let not_float = "-ERR hash value is not a float\r\n";
    for f in ["sp", "sp2", "nul", "word"] {
        assert_eq!(h.cmd(&["HINCRBYFLOAT", "h", f, "1"]), not_float, "{f}");
    }
    assert_eq!(
        h.cmd(&["HINCRBYFLOAT", "h", "f", "x"]),
        "-ERR value is not a valid float\r\n"
    );
    assert_eq!(
        h.cmd(&["HINCRBYFLOAT", "h", "f", "nan"]),
        "-ERR value is not a valid float\r\n"
    );
    for inf in ["+inf", "-inf", "inf"] {
        assert_eq!(
            h.cmd(&["HINCRBYFLOAT", "nokey", "f", inf]),
            "-ERR value is NaN or Infinity\r\n"
        );
    }
    assert_eq!(h.cmd(&["EXISTS", "nokey"]), ":0\r\n");
    h.cmd(&["HSET", "h", "huge", "1.7e308"]);
    assert_eq!(
        h.cmd(&["HINCRBYFLOAT", "h", "huge", "1.7e308"]),
        "-ERR increment would produce NaN or Infinity\r\n"
    );
    assert_eq!(h.cmd(&["HGET", "h", "huge"]), bulk("1.7e308"));
    h.cmd(&["SET", "s", "x"]);
    assert_eq!(h.cmd(&["HINCRBYFLOAT", "s", "f", "1"]), WT);
}

#[test]
fn hincrbyfloat_converts_on_a_long_result_or_field() {
    let mut h = Harness::new();
    h.cmd(&["CONFIG", "SET", "hash-max-listpack-value", "8"]);
    h.cmd(&["HSET", "small", "tmp", "0"]);
    h.cmd(&["HSET", "big", "tmp", "0"]);
    assert_eq!(
        h.cmd(&["HINCRBYFLOAT", "small", "tmp", "0.000005"]),
        bulk("0.000005")
    );
    assert_eq!(
        h.cmd(&["HINCRBYFLOAT", "big", "tmp", "0.0000005"]),
        bulk("0.0000005")
    );
    assert_eq!(encoding(&mut h, "small"), bulk("listpack"));
    assert_eq!(encoding(&mut h, "big"), bulk("hashtable"));
    h.cmd(&["DEL", "small", "big"]);
    h.cmd(&["HINCRBYFLOAT", "small", "abcdefgh", "1"]);
    h.cmd(&["HINCRBYFLOAT", "big", "abcdefghi", "1"]);
    assert_eq!(encoding(&mut h, "small"), bulk("listpack"));
    assert_eq!(encoding(&mut h, "big"), bulk("hashtable"));
    // HINCRBY too.
    h.cmd(&["HINCRBY", "i", "f", "12345678"]);
    assert_eq!(encoding(&mut h, "i"), bulk("listpack"));
    h.cmd(&["HINCRBY", "i", "f", "100000000"]);
    assert_eq!(encoding(&mut h, "i"), bulk("hashtable"));
    assert_eq!(h.cmd(&["HGET", "i", "f"]), bulk("112345678"));
}

/// The elements of a flat array reply of bulk strings.
fn items(reply: &str) -> Vec<String> {
    let lines: Vec<&str> = reply.split("\r\n").collect();
    assert!(lines[0].starts_with('*'), "{reply}");
    lines[1..]
        .chunks(2)
        .filter(|c| c.len() == 2)
        .map(|c| c[1].to_string())
        .collect()
}

#[test]
fn hrandfield_without_count() {
    let mut h = Harness::new();
    assert_eq!(h.cmd(&["HRANDFIELD", "nokey"]), "$-1\r\n");
    h.cmd(&["HSET", "h", "a", "1", "b", "2", "c", "3"]);
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..200 {
        let r = h.cmd(&["HRANDFIELD", "h"]);
        assert!(r.starts_with("$1\r\n"), "{r}");
        seen.insert(r);
    }
    assert_eq!(seen.len(), 3);
    h.cmd(&["SET", "s", "x"]);
    assert_eq!(h.cmd(&["HRANDFIELD", "s"]), WT);
}

#[test]
fn hrandfield_counts_as_redis() {
    for entries in ["512", "0"] {
        let mut h = Harness::new();
        h.cmd(&["CONFIG", "SET", "hash-max-listpack-entries", entries]);
        let mut pairs = Vec::new();
        for i in 0..10 {
            h.cmd(&["HSET", "h", &format!("f{i}"), &format!("v{i}")]);
            pairs.push((format!("f{i}"), format!("v{i}")));
        }
        let want = if entries == "0" {
            "hashtable"
        } else {
            "listpack"
        };
        assert_eq!(encoding(&mut h, "h"), bulk(want));
        assert_eq!(h.cmd(&["HRANDFIELD", "h", "0"]), "*0\r\n");
        assert_eq!(h.cmd(&["HRANDFIELD", "nokey", "5"]), "*0\r\n");
        assert_eq!(h.cmd(&["HRANDFIELD", "nokey", "5", "WITHVALUES"]), "*0\r\n");
        // Negative: repeats allowed, exactly that many.
        let r = items(&h.cmd(&["HRANDFIELD", "h", "-1001"]));
        assert_eq!(r.len(), 1001);
        assert!(r.iter().all(|f| pairs.iter().any(|(k, _)| k == f)));
        let r = items(&h.cmd(&["HRANDFIELD", "h", "-20", "withvalues"]));
        assert_eq!(r.len(), 40);
        for kv in r.chunks(2) {
            assert_eq!(kv[1], kv[0].replace('f', "v"));
        }
        // At least the size: everything.
        for n in ["10", "20"] {
            let mut r = items(&h.cmd(&["HRANDFIELD", "h", n]));
            r.sort();
            let mut fields: Vec<_> = pairs.iter().map(|(k, _)| k.clone()).collect();
            fields.sort();
            assert_eq!(r, fields);
            let r = items(&h.cmd(&["HRANDFIELD", "h", n, "WITHVALUES"]));
            assert_eq!(r.len(), 20);
        }
        // Fewer: distinct, and over many calls every field comes up.
        for n in [8, 2] {
            let mut seen = std::collections::BTreeSet::new();
            for _ in 0..100 {
                let r = items(&h.cmd(&["HRANDFIELD", "h", &n.to_string(), "WITHVALUES"]));
                assert_eq!(r.len(), 2 * n);
                let mut fields: Vec<_> = r.chunks(2).map(|kv| kv[0].clone()).collect();
                for kv in r.chunks(2) {
                    assert_eq!(kv[1], kv[0].replace('f', "v"));
                }
                seen.extend(fields.iter().cloned());
                fields.sort();
                fields.dedup();
                assert_eq!(fields.len(), n, "distinct");
            }
            assert_eq!(seen.len(), 10);
        }
    }
}

#[test]
fn hrandfield_argument_errors() {
    let mut h = Harness::new();
    h.cmd(&["HSET", "h", "a", "1"]);
    let range = "-ERR value is out of range\r\n";
    assert_eq!(
        h.cmd(&["HRANDFIELD", "h", "-9223372036854770000", "withvalues"]),
        range
    );
    assert_eq!(
        h.cmd(&["HRANDFIELD", "h", "4611686018427387904", "withvalues"]),
        range
    );
    let long_range = "-ERR value is out of range, value must between -9223372036854775807 \
                      and 9223372036854775807\r\n";
    assert_eq!(
        h.cmd(&["HRANDFIELD", "h", "-9223372036854775808", "withvalues"]),
        long_range
    );
    assert_eq!(
        h.cmd(&["HRANDFIELD", "h", "-9223372036854775808"]),
        long_range
    );
    assert_eq!(h.cmd(&["HRANDFIELD", "h", "x"]), NOT_INT);
    assert_eq!(h.cmd(&["HRANDFIELD", "h", "1", "withscores"]), SYNTAX);
    assert_eq!(h.cmd(&["HRANDFIELD", "h", "1", "withvalues", "x"]), SYNTAX);
    assert_eq!(
        h.cmd(&["HRANDFIELD", "h", "1", "WithValues"]),
        arr(&["a", "1"])
    );
    h.cmd(&["SET", "s", "x"]);
    assert_eq!(h.cmd(&["HRANDFIELD", "s", "1"]), WT);
    // The count is checked before the type.
    assert_eq!(h.cmd(&["HRANDFIELD", "s", "x"]), NOT_INT);
    // A reply larger than the limit is refused, not built.
    h.cmd(&["HSET", "big", "f", &"v".repeat(1000)]);
    assert!(h
        .cmd(&["HRANDFIELD", "big", "-1000000", "withvalues"])
        .starts_with("-ERR reply too large"));
}

#[test]
fn encoding_flips_at_513_fields_and_at_a_65_byte_value() {
    let mut h = Harness::new();
    for i in 0..512 {
        h.cmd(&["HSET", "h", &format!("f{i}"), "v"]);
    }
    assert_eq!(encoding(&mut h, "h"), bulk("listpack"));
    // Updating a field does not add one.
    h.cmd(&["HSET", "h", "f0", "w"]);
    assert_eq!(encoding(&mut h, "h"), bulk("listpack"));
    h.cmd(&["HSET", "h", "f512", "v"]);
    assert_eq!(encoding(&mut h, "h"), bulk("hashtable"));
    assert_eq!(h.cmd(&["HLEN", "h"]), ":513\r\n");
    assert_eq!(h.cmd(&["HGET", "h", "f0"]), bulk("w"));
    // Never back, even when emptied to one field.
    for i in 1..513 {
        h.cmd(&["HDEL", "h", &format!("f{i}")]);
    }
    assert_eq!(encoding(&mut h, "h"), bulk("hashtable"));

    h.cmd(&["HSET", "v", "f", &"x".repeat(64)]);
    assert_eq!(encoding(&mut h, "v"), bulk("listpack"));
    h.cmd(&["HSET", "v", "f", &"x".repeat(65)]);
    assert_eq!(encoding(&mut h, "v"), bulk("hashtable"));
    h.cmd(&["HSET", "k", &"x".repeat(65), "v"]);
    assert_eq!(encoding(&mut h, "k"), bulk("hashtable"));
    // One long value among several pairs converts the whole HSET.
    h.cmd(&["HMSET", "m", "a", "1", "b", &"x".repeat(65), "c", "3"]);
    assert_eq!(encoding(&mut h, "m"), bulk("hashtable"));
    assert_eq!(h.cmd(&["HLEN", "m"]), ":3\r\n");
}

#[test]
fn encoding_follows_config_set_thresholds() {
    let mut h = Harness::new();
    assert_eq!(
        h.cmd(&["CONFIG", "SET", "hash-max-listpack-entries", "4"]),
        "+OK\r\n"
    );
    h.cmd(&["HSET", "h", "a", "1", "b", "2", "c", "3", "d", "4"]);
    assert_eq!(encoding(&mut h, "h"), bulk("listpack"));
    h.cmd(&["HSETNX", "h", "e", "5"]);
    assert_eq!(encoding(&mut h, "h"), bulk("hashtable"));
    // The old alias, as the Redis suite uses it.
    h.cmd(&["CONFIG", "SET", "hash-max-ziplist-entries", "1"]);
    h.cmd(&["HSET", "g", "a", "1"]);
    assert_eq!(encoding(&mut h, "g"), bulk("listpack"));
    h.cmd(&["HINCRBY", "g", "b", "1"]);
    assert_eq!(encoding(&mut h, "g"), bulk("hashtable"));
    // A raised threshold leaves existing tables alone; new hashes use it.
    h.cmd(&["CONFIG", "SET", "hash-max-listpack-entries", "100"]);
    h.cmd(&["HSET", "g", "c", "1"]);
    assert_eq!(encoding(&mut h, "g"), bulk("hashtable"));
    h.cmd(&["HSET", "n", "a", "1", "b", "2"]);
    assert_eq!(encoding(&mut h, "n"), bulk("listpack"));
    h.cmd(&["CONFIG", "SET", "hash-max-ziplist-value", "2"]);
    h.cmd(&["HSET", "n", "c", "333"]);
    assert_eq!(encoding(&mut h, "n"), bulk("hashtable"));
}

#[test]
fn hscan_answers_a_listpack_whole() {
    let mut h = Harness::new();
    for i in 0..100 {
        h.cmd(&["HSET", "h", &format!("f{i}"), &i.to_string()]);
    }
    let r = h.cmd(&["HSCAN", "h", "0", "COUNT", "1"]);
    assert!(r.starts_with("*2\r\n$1\r\n0\r\n*200\r\n"), "{r}");
    let r = h.cmd(&["HSCAN", "h", "0", "MATCH", "f1*", "COUNT", "1"]);
    // f1, f10..f19
    assert!(
        r.starts_with("*2\r\n$1\r\n0\r\n*22\r\n$2\r\nf1\r\n$1\r\n1\r\n"),
        "{r}"
    );
    h.cmd(&["CONFIG", "SET", "hash-max-listpack-entries", "0"]);
    h.cmd(&["HSET", "t", "a", "1", "b", "2"]);
    let r = h.cmd(&["HSCAN", "t", "0", "MATCH", "b"]);
    assert_eq!(r, "*2\r\n$1\r\n0\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n");
}

#[test]
fn listpack_order_is_insertion_order() {
    let mut h = Harness::new();
    h.cmd(&["HSET", "h", "z", "1", "a", "2", "m", "3"]);
    h.cmd(&["HDEL", "h", "a"]);
    h.cmd(&["HSET", "h", "a", "4"]);
    assert_eq!(
        h.cmd(&["HGETALL", "h"]),
        arr(&["z", "1", "m", "3", "a", "4"])
    );
    assert_eq!(h.cmd(&["HKEYS", "h"]), arr(&["z", "m", "a"]));
    assert_eq!(h.cmd(&["HVALS", "h"]), arr(&["1", "3", "4"]));
    assert_eq!(h.cmd(&["HDEL", "h", "z", "m", "a", "x"]), ":3\r\n");
    assert_eq!(h.cmd(&["EXISTS", "h"]), ":0\r\n");
}

// ----------------------------------------------------------- the property test

#[derive(Debug, Clone)]
enum Cmd {
    Set(usize, Vec<(usize, usize)>),
    SetNx(usize, usize, usize),
    Del(usize, Vec<usize>),
    Get(usize, usize),
    MGet(usize, Vec<usize>),
    Len(usize),
    StrLen(usize, usize),
    Exists(usize, usize),
    IncrBy(usize, usize, i64),
    IncrByFloat(usize, usize, usize),
    GetAll(usize),
    Keys(usize),
    Vals(usize),
    Scan(usize),
    RandField(usize, i64, bool),
    DelKey(usize),
}

const KEYS: [&str; 3] = ["h0", "h1", "str"];
const FIELDS: [&str; 8] = ["a", "b", "c", "10", "-3", "", "long", "x y"];
const VALUES: [&str; 8] = [
    "1",
    "-17",
    "2.5",
    "",
    "abc",
    "9223372036854775807",
    "a value somewhat longer than a listpack's usual elements, past 64 b",
    "0",
];
const FLOATS: [&str; 4] = ["1.5", "-0.25", "1e3", "x"];

fn cmd() -> impl Strategy<Value = Cmd> {
    let k = 0..KEYS.len();
    let f = || 0..FIELDS.len();
    let v = || 0..VALUES.len();
    prop_oneof![
        4 => (k.clone(), proptest::collection::vec((f(), v()), 1..4)).prop_map(|(k, p)| Cmd::Set(k, p)),
        1 => (k.clone(), f(), v()).prop_map(|(k, f, v)| Cmd::SetNx(k, f, v)),
        2 => (k.clone(), proptest::collection::vec(f(), 1..3)).prop_map(|(k, f)| Cmd::Del(k, f)),
        1 => (k.clone(), f()).prop_map(|(k, f)| Cmd::Get(k, f)),
        1 => (k.clone(), proptest::collection::vec(f(), 1..4)).prop_map(|(k, f)| Cmd::MGet(k, f)),
        1 => k.clone().prop_map(Cmd::Len),
        1 => (k.clone(), f()).prop_map(|(k, f)| Cmd::StrLen(k, f)),
        1 => (k.clone(), f()).prop_map(|(k, f)| Cmd::Exists(k, f)),
        1 => (k.clone(), f(), -5i64..5).prop_map(|(k, f, n)| Cmd::IncrBy(k, f, n)),
        1 => (k.clone(), f(), 0..FLOATS.len()).prop_map(|(k, f, n)| Cmd::IncrByFloat(k, f, n)),
        1 => k.clone().prop_map(Cmd::GetAll),
        1 => k.clone().prop_map(Cmd::Keys),
        1 => k.clone().prop_map(Cmd::Vals),
        1 => k.clone().prop_map(Cmd::Scan),
        1 => (k.clone(), -12i64..12, any::<bool>()).prop_map(|(k, n, w)| Cmd::RandField(k, n, w)),
        1 => k.prop_map(Cmd::DelKey),
    ]
}

/// The command's arguments, and whether its reply's order is unspecified (a
/// whole-hash listing, sorted before comparing) or random (HRANDFIELD: only its
/// shape is compared).
fn args(c: &Cmd) -> (Vec<String>, Norm) {
    let s = |x: &str| x.to_string();
    let (k, f, v) = (
        |i: usize| s(KEYS[i]),
        |i: usize| s(FIELDS[i]),
        |i: usize| s(VALUES[i]),
    );
    match c {
        Cmd::Set(key, pairs) => {
            let mut a = vec![s("HSET"), k(*key)];
            for (fi, vi) in pairs {
                a.push(f(*fi));
                a.push(v(*vi));
            }
            (a, Norm::Exact)
        }
        Cmd::SetNx(key, fi, vi) => (vec![s("HSETNX"), k(*key), f(*fi), v(*vi)], Norm::Exact),
        Cmd::Del(key, fs) => {
            let mut a = vec![s("HDEL"), k(*key)];
            a.extend(fs.iter().map(|i| f(*i)));
            (a, Norm::Exact)
        }
        Cmd::Get(key, fi) => (vec![s("HGET"), k(*key), f(*fi)], Norm::Exact),
        Cmd::MGet(key, fs) => {
            let mut a = vec![s("HMGET"), k(*key)];
            a.extend(fs.iter().map(|i| f(*i)));
            (a, Norm::Exact)
        }
        Cmd::Len(key) => (vec![s("HLEN"), k(*key)], Norm::Exact),
        Cmd::StrLen(key, fi) => (vec![s("HSTRLEN"), k(*key), f(*fi)], Norm::Exact),
        Cmd::Exists(key, fi) => (vec![s("HEXISTS"), k(*key), f(*fi)], Norm::Exact),
        Cmd::IncrBy(key, fi, n) => (
            vec![s("HINCRBY"), k(*key), f(*fi), n.to_string()],
            Norm::Exact,
        ),
        Cmd::IncrByFloat(key, fi, n) => (
            vec![s("HINCRBYFLOAT"), k(*key), f(*fi), s(FLOATS[*n])],
            Norm::Exact,
        ),
        Cmd::GetAll(key) => (vec![s("HGETALL"), k(*key)], Norm::Pairs),
        Cmd::Keys(key) => (vec![s("HKEYS"), k(*key)], Norm::Sorted),
        Cmd::Vals(key) => (vec![s("HVALS"), k(*key)], Norm::Sorted),
        Cmd::Scan(key) => (vec![s("HSCAN"), k(*key), s("0")], Norm::Scan),
        Cmd::RandField(key, n, w) => {
            let mut a = vec![s("HRANDFIELD"), k(*key), n.to_string()];
            if *w {
                a.push(s("WITHVALUES"));
            }
            (a, Norm::Shape)
        }
        Cmd::DelKey(key) => (vec![s("DEL"), k(*key)], Norm::Exact),
    }
}

#[derive(Debug, Clone, Copy)]
enum Norm {
    Exact,
    Sorted,
    Pairs,
    Scan,
    Shape,
}

/// `reply` with its unspecified order taken out.
fn normalise(reply: &str, norm: Norm) -> String {
    if reply.starts_with('-') || reply.starts_with(':') || reply.starts_with('$') {
        return reply.to_string();
    }
    match norm {
        Norm::Exact => reply.to_string(),
        Norm::Sorted => {
            let mut v = items(reply);
            v.sort();
            format!("{v:?}")
        }
        Norm::Pairs => {
            let v = items(reply);
            let mut p: Vec<_> = v.chunks(2).map(|c| c.to_vec()).collect();
            p.sort();
            format!("{p:?}")
        }
        Norm::Scan => {
            // *2, $len, cursor, *n, then the pairs.
            let (head, rest) = reply.split_at(reply.find("\r\n*").expect("scan reply") + 2);
            format!("{head}{}", normalise(rest, Norm::Pairs))
        }
        // The picks are random: both encodings must agree on how many (here)
        // and pick only fields of the hash (checked by the caller).
        Norm::Shape => reply.split("\r\n").next().unwrap_or("").to_string(),
    }
}

fn harness(entries: &str, value: &str) -> Harness {
    let mut h = Harness::new();
    h.cmd(&["CONFIG", "SET", "hash-max-listpack-entries", entries]);
    h.cmd(&["CONFIG", "SET", "hash-max-listpack-value", value]);
    h.cmd(&["SET", "str", "a string"]);
    h
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// The same commands give the same replies whether every hash stays a
    /// listpack or every hash is a table from its first field.
    #[test]
    fn replies_do_not_depend_on_the_encoding(cmds in proptest::collection::vec(cmd(), 1..60)) {
        let mut packed = harness("1000000", "1000000");
        let mut table = harness("0", "0");
        for c in &cmds {
            let (a, norm) = args(c);
            let a: Vec<&str> = a.iter().map(String::as_str).collect();
            let p = packed.cmd(&a);
            let t = table.cmd(&a);
            prop_assert_eq!(normalise(&p, norm), normalise(&t, norm), "{:?}", a);
            if let Norm::Shape = norm {
                // Every pick is a field of the hash.
                for r in [&p, &t] {
                    if r.starts_with('*') {
                        let it = items(r);
                        let step = if a.len() == 4 { 2 } else { 1 };
                        for f in it.iter().step_by(step) {
                            prop_assert_eq!(packed.cmd(&["HEXISTS", a[1], f]), ":1\r\n");
                        }
                    }
                }
            }
        }
        for key in ["h0", "h1"] {
            let enc = packed.cmd(&["OBJECT", "ENCODING", key]);
            prop_assert!(enc == "$-1\r\n" || enc == "$8\r\nlistpack\r\n", "{}", enc);
            let enc = table.cmd(&["OBJECT", "ENCODING", key]);
            prop_assert!(enc == "$-1\r\n" || enc == "$9\r\nhashtable\r\n", "{}", enc);
        }
    }
}
