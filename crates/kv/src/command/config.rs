//! CONFIG GET, SET and RESETSTAT over one table of parameters.
//!
//! Each parameter is a row: its name, Redis's alias if it has one, the kind of
//! value (an integer or byte size within bounds, one of a list, text), a
//! getter and a setter, and whether it may change at run time. CONFIG GET matches
//! every name and alias against glob patterns and answers each once; CONFIG SET
//! validates every pair first and then applies them all or none, as Redis 7 does.
//! The errors are Redis's (`config.c`) word for word, so scripts that parse them
//! keep working.
//!
//! The parameters live where they act: the byte limits in the service's
//! [`KvConfig`](super::super::KvConfig) cell, the small-encoding thresholds in
//! [`EncodingLimits`], persistence in `aof.rs`, access in `auth.rs`, output limits
//! in `clients.rs`, and the rest in [`Settings`].

use super::super::encoding::EncodingLimits;
use super::*;

/// The CONFIG parameters no other part of the service owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Settings {
    /// `timeout`: close a client silent this many seconds; 0 = never.
    pub timeout: u64,
    /// `maxclients`: refuse new clients once this many are connected.
    pub maxclients: u64,
    /// `save`: kept and reported (this server writes no snapshots).
    pub save: String,
    /// `list-compress-depth`: kept and reported (lists are not compressed here).
    pub list_compress_depth: i64,
    /// `maxmemory-policy`: kept and reported; with `maxmemory` 0 nothing is
    /// evicted under any policy, here as in Redis.
    pub maxmemory_policy: &'static str,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            timeout: 0,
            maxclients: 10_000,
            save: String::new(),
            list_compress_depth: 0,
            maxmemory_policy: "noeviction",
        }
    }
}

/// The kind of value a parameter takes, which decides how it is parsed and what
/// error a bad value gets.
enum Kind {
    /// An integer within bounds.
    Int(i64, i64),
    /// A byte count, with Redis's units (`k`, `kb`, `m`, `mb`, `g`, `gb`).
    Memory(i64, i64),
    Enum(&'static [&'static str]),
    Text,
}

/// A parsed value.
enum Value<'v> {
    Int(i64),
    Enum(&'static str),
    Text(&'v [u8]),
}

type Getter = fn(&Ctx<'_, '_>, &'static str) -> String;
type Setter = fn(&mut Ctx<'_, '_>, &'static str, Value<'_>) -> Result<(), String>;

struct Param {
    name: &'static str,
    alias: Option<&'static str>,
    kind: Kind,
    /// Fixed at start (Redis's IMMUTABLE_CONFIG).
    immutable: bool,
    get: Getter,
    set: Setter,
}

const LONG_MAX: i64 = i64::MAX;
const INT_MAX: i64 = i32::MAX as i64;
const UINT_MAX: i64 = u32::MAX as i64;
const MIB: i64 = 1024 * 1024;

const POLICIES: &[&str] = &[
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
];

/// One row per small-encoding threshold: the field of [`EncodingLimits`] it is.
macro_rules! encoding_param {
    ($name:literal, $alias:expr, $kind:expr, $field:ident) => {
        Param {
            name: $name,
            alias: $alias,
            kind: $kind,
            immutable: false,
            get: |c, _| c.shared.encoding_limits().$field.to_string(),
            set: |c, _, v| {
                let mut limits: EncodingLimits = c.shared.encoding_limits();
                limits.$field = int(v) as _;
                c.shared.encoding.set(limits);
                Ok(())
            },
        }
    };
}

/// A parameter another module owns (persistence, access, output limits): it
/// parses the text itself.
macro_rules! delegated {
    ($name:literal, $immutable:expr, $get:expr, $set:expr) => {
        Param {
            name: $name,
            alias: None,
            kind: Kind::Text,
            immutable: $immutable,
            get: $get,
            set: $set,
        }
    };
}

static PARAMS: &[Param] = &[
    encoding_param!(
        "hash-max-listpack-entries",
        Some("hash-max-ziplist-entries"),
        Kind::Int(0, LONG_MAX),
        hash_entries
    ),
    encoding_param!(
        "hash-max-listpack-value",
        Some("hash-max-ziplist-value"),
        Kind::Memory(0, LONG_MAX),
        hash_value
    ),
    encoding_param!(
        "zset-max-listpack-entries",
        Some("zset-max-ziplist-entries"),
        Kind::Int(0, LONG_MAX),
        zset_entries
    ),
    encoding_param!(
        "zset-max-listpack-value",
        Some("zset-max-ziplist-value"),
        Kind::Memory(0, LONG_MAX),
        zset_value
    ),
    encoding_param!(
        "set-max-intset-entries",
        None,
        Kind::Int(0, LONG_MAX),
        set_intset_entries
    ),
    encoding_param!(
        "set-max-listpack-entries",
        None,
        Kind::Int(0, LONG_MAX),
        set_entries
    ),
    encoding_param!(
        "set-max-listpack-value",
        None,
        Kind::Memory(0, LONG_MAX),
        set_value
    ),
    encoding_param!(
        "list-max-listpack-size",
        Some("list-max-ziplist-size"),
        Kind::Int(i32::MIN as i64, INT_MAX),
        list_size
    ),
    Param {
        name: "timeout",
        alias: None,
        kind: Kind::Int(0, INT_MAX),
        immutable: false,
        get: |c, _| c.shared.settings.borrow().timeout.to_string(),
        set: |c, _, v| {
            let secs = int(v) as u64;
            c.shared.settings.borrow_mut().timeout = secs;
            if secs > 0 {
                // Every client arms its idle check when woken.
                let conns: Vec<_> = c
                    .shared
                    .clients
                    .borrow()
                    .values()
                    .filter_map(|r| r.conn.get())
                    .collect();
                for id in conns {
                    let _ = c.net.wake(id);
                }
            }
            Ok(())
        },
    },
    Param {
        name: "maxclients",
        alias: None,
        kind: Kind::Int(1, UINT_MAX),
        immutable: false,
        get: |c, _| c.shared.settings.borrow().maxclients.to_string(),
        set: |c, _, v| {
            c.shared.settings.borrow_mut().maxclients = int(v) as u64;
            Ok(())
        },
    },
    Param {
        name: "proto-max-bulk-len",
        alias: None,
        kind: Kind::Memory(MIB, LONG_MAX),
        immutable: false,
        get: |c, _| c.shared.config.get().max_bulk.to_string(),
        set: |c, _, v| {
            let mut config = c.shared.config.get();
            config.max_bulk = usize::try_from(int(v)).unwrap_or(usize::MAX);
            c.shared.config.set(config);
            Ok(())
        },
    },
    Param {
        name: "client-query-buffer-limit",
        alias: None,
        kind: Kind::Memory(MIB, LONG_MAX),
        immutable: false,
        get: |c, _| c.shared.config.get().max_query.to_string(),
        set: |c, _, v| {
            // The reactor sized its input cap from the limit at start.
            let ceiling = c.shared.max_query_at_start;
            let n = usize::try_from(int(v)).unwrap_or(usize::MAX);
            if n > ceiling {
                return Err(format!(
                    "argument must be between {MIB} and {ceiling} inclusive (the limit the \
                     server started with)"
                ));
            }
            let mut config = c.shared.config.get();
            config.max_query = n;
            c.shared.config.set(config);
            Ok(())
        },
    },
    Param {
        name: "databases",
        alias: None,
        kind: Kind::Int(1, INT_MAX),
        immutable: true,
        get: |_, _| super::super::DATABASES.to_string(),
        set: |_, _, _| Ok(()),
    },
    Param {
        name: "save",
        alias: None,
        kind: Kind::Text,
        immutable: false,
        get: |c, _| c.shared.settings.borrow().save.clone(),
        set: |c, _, v| {
            let text = String::from_utf8_lossy(text(&v)).into_owned();
            let words: Vec<&str> = text.split_ascii_whitespace().collect();
            let valid = words.len().is_multiple_of(2)
                && words.iter().enumerate().all(|(i, w)| {
                    w.parse::<i64>()
                        .is_ok_and(|n| if i % 2 == 0 { n >= 1 } else { n >= 0 })
                });
            if !valid {
                return Err("Invalid save parameters".into());
            }
            c.shared.settings.borrow_mut().save = words.join(" ");
            Ok(())
        },
    },
    Param {
        name: "list-compress-depth",
        alias: None,
        kind: Kind::Int(0, INT_MAX),
        immutable: false,
        get: |c, _| c.shared.settings.borrow().list_compress_depth.to_string(),
        set: |c, _, v| {
            c.shared.settings.borrow_mut().list_compress_depth = int(v);
            Ok(())
        },
    },
    Param {
        name: "maxmemory",
        alias: None,
        kind: Kind::Memory(0, LONG_MAX),
        immutable: false,
        get: |_, _| "0".into(),
        set: |_, _, v| match int(v) {
            0 => Ok(()),
            _ => Err("this server has no memory limit or eviction; only 0 is valid".into()),
        },
    },
    Param {
        name: "notify-keyspace-events",
        alias: None,
        kind: Kind::Text,
        immutable: false,
        get: |c, _| super::super::notify::format(c.shared.notify_flags.get()),
        set: |c, _, v| match super::super::notify::parse(text(&v)) {
            Some(flags) => {
                c.shared.notify_flags.set(flags);
                // Stores note created keys only while `n` is on.
                let on = flags & super::super::notify::NEW != 0;
                let log = |l: &mut Option<Vec<Bytes>>| {
                    if on != l.is_some() {
                        *l = on.then(Vec::new);
                    }
                };
                log(&mut c.store.new_log);
                for db in c.shared.dbs.iter() {
                    if let Ok(mut db) = db.try_borrow_mut() {
                        log(&mut db.new_log);
                    }
                }
                Ok(())
            }
            None => Err("Invalid event class character. Use 'Ag$lshzxeKEtmd'.".into()),
        },
    },
    Param {
        name: "tracking-table-max-keys",
        alias: None,
        kind: Kind::Int(0, LONG_MAX),
        immutable: false,
        get: |c, _| c.shared.tracking.borrow().max_keys.to_string(),
        set: |c, _, v| {
            c.shared.tracking.borrow_mut().max_keys = int(v) as u64;
            super::super::tracking::limit(c.shared, c.net);
            Ok(())
        },
    },
    Param {
        name: "maxmemory-policy",
        alias: None,
        kind: Kind::Enum(POLICIES),
        immutable: false,
        get: |c, _| c.shared.settings.borrow().maxmemory_policy.into(),
        set: |c, _, v| {
            if let Value::Enum(p) = v {
                c.shared.settings.borrow_mut().maxmemory_policy = p;
            }
            Ok(())
        },
    },
    delegated!(
        "client-output-buffer-limit",
        false,
        |c, _| { super::super::clients::output_limits(&c.shared.pubsub.borrow().limits) },
        |c, _, v| super::super::clients::set_output_limits(c, text(&v)).map_err(String::from)
    ),
    delegated!("appendonly", false, aof_get, aof_set),
    delegated!("appendfsync", false, aof_get, aof_set),
    delegated!("appendfilename", true, aof_get, aof_set),
    delegated!("dir", false, aof_get, aof_set),
    delegated!("auto-aof-rewrite-percentage", false, aof_get, aof_set),
    delegated!("auto-aof-rewrite-min-size", false, aof_get, aof_set),
    delegated!("aof-load-truncated", false, aof_get, aof_set),
    delegated!("requirepass", false, auth_get, auth_set),
    delegated!("protected-mode", false, auth_get, auth_set),
];

fn aof_get(c: &Ctx<'_, '_>, name: &'static str) -> String {
    pick(super::super::aof::config_values(c.shared), name)
}

fn aof_set(c: &mut Ctx<'_, '_>, name: &'static str, v: Value<'_>) -> Result<(), String> {
    super::super::aof::config_set(c.shared, name.as_bytes(), text(&v)).unwrap_or(Ok(()))
}

fn auth_get(c: &Ctx<'_, '_>, name: &'static str) -> String {
    pick(super::super::auth::config_values(c.shared), name)
}

fn auth_set(c: &mut Ctx<'_, '_>, name: &'static str, v: Value<'_>) -> Result<(), String> {
    super::super::auth::config_set(c.shared, name.as_bytes(), text(&v)).unwrap_or(Ok(()))
}

/// The value of `name` in a module's list of (name, value).
fn pick(values: Vec<(&'static [u8], String)>, name: &str) -> String {
    values
        .into_iter()
        .find(|(n, _)| *n == name.as_bytes())
        .map(|(_, v)| v)
        .unwrap_or_default()
}

/// The integer of an `Int`/`Memory` parameter (the parser made it one).
fn int(v: Value<'_>) -> i64 {
    match v {
        Value::Int(n) => n,
        _ => 0,
    }
}

fn text<'v>(v: &Value<'v>) -> &'v [u8] {
    match v {
        Value::Text(t) => t,
        Value::Enum(e) => e.as_bytes(),
        _ => b"",
    }
}

/// The row named `name` (or aliased so), any case.
fn lookup(name: &[u8]) -> Option<&'static Param> {
    PARAMS
        .iter()
        .find(|p| eq(name, p.name.as_bytes()) || p.alias.is_some_and(|a| eq(name, a.as_bytes())))
}

/// `value` checked against `p`'s kind; the error is Redis's.
fn parse<'v>(p: &Param, value: &'v [u8]) -> Result<Value<'v>, String> {
    let bounded = |n: i64, min: i64, max: i64| {
        if (min..=max).contains(&n) {
            Ok(Value::Int(n))
        } else {
            Err(format!(
                "argument must be between {min} and {max} inclusive"
            ))
        }
    };
    match p.kind {
        Kind::Int(min, max) => match parse_i64(value) {
            Some(n) => bounded(n, min, max),
            None => Err("argument couldn't be parsed into an integer".into()),
        },
        Kind::Memory(min, max) => {
            let n = std::str::from_utf8(value)
                .ok()
                .and_then(super::super::clients::memtoull)
                .and_then(|n| i64::try_from(n).ok());
            match n {
                Some(n) => bounded(n, min, max),
                None => Err("argument must be a memory value".into()),
            }
        }
        Kind::Enum(names) => names
            .iter()
            .find(|n| eq(value, n.as_bytes()))
            .map(|n| Value::Enum(n))
            .ok_or_else(|| {
                format!(
                    "argument(s) must be one of the following: {}",
                    names.join(", ")
                )
            }),
        Kind::Text => Ok(Value::Text(value)),
    }
}

pub(super) fn config(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let sub = a.get(1);
    if eq(sub, b"get") {
        if a.len() < 3 {
            return arity_error(out, b"config|get");
        }
        config_get(c, a, out);
    } else if eq(sub, b"set") {
        if a.len() < 4 {
            return arity_error(out, b"config|set");
        }
        if !a.len().is_multiple_of(2) {
            return reply::error(out, SYNTAX);
        }
        match config_set(c, a) {
            Ok(()) => reply::ok(out),
            Err(msg) => reply::error(out, msg.as_bytes()),
        }
    } else if eq(sub, b"resetstat") {
        c.shared.total_connections.set(0);
        c.store.stats = Default::default();
        c.shared.error_replies.set(0);
        c.shared.errors.borrow_mut().clear();
        for st in c.shared.cmdstats.iter() {
            st.calls.set(0);
            st.failed.set(0);
            st.rejected.set(0);
        }
        reply::ok(out);
    } else {
        unknown_subcommand(out, sub, b"CONFIG");
    }
}

/// Every parameter whose name or alias matches a pattern, once each: a plain name
/// is answered under the spelling asked, a pattern under the names it matched.
fn config_get(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let mut hits: Vec<(Vec<u8>, &'static Param)> = Vec::new();
    let seen = |hits: &[(Vec<u8>, &Param)], name: &[u8]| hits.iter().any(|(n, _)| eq(n, name));
    for pattern in a.iter_from(2) {
        if !pattern.iter().any(|b| matches!(b, b'*' | b'?' | b'[')) {
            if let Some(p) = lookup(pattern) {
                if !seen(&hits, pattern) {
                    hits.push((pattern.to_vec(), p));
                }
            }
            continue;
        }
        for p in PARAMS {
            for name in std::iter::once(p.name).chain(p.alias) {
                if glob::matches(pattern, name.as_bytes(), true) && !seen(&hits, name.as_bytes()) {
                    hits.push((name.as_bytes().to_vec(), p));
                }
            }
        }
    }
    reply::map(out, hits.len());
    for (name, p) in hits {
        reply::bulk(out, &name);
        reply::bulk(out, (p.get)(c, p.name).as_bytes());
    }
}

/// `CONFIG SET name value [name value ...]`: every name known, none fixed, none
/// twice, every value valid — or nothing changes. A setter that fails part way
/// (the append-only file refusing, say) puts back the ones set before it.
fn config_set(c: &mut Ctx<'_, '_>, a: Argv<'_>) -> Result<(), String> {
    let fail = |name: &str, why: &str| {
        format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {why}")
    };
    let pairs = (a.len() - 2) / 2;
    let mut found: Vec<&'static Param> = Vec::with_capacity(pairs);
    let mut problem = None;
    for i in 0..pairs {
        let name = a.get(2 + 2 * i);
        let Some(p) = lookup(name) else {
            return Err(format!(
                "ERR Unknown option or number of arguments for CONFIG SET - '{}'",
                String::from_utf8_lossy(name)
            ));
        };
        if problem.is_none() {
            let name = String::from_utf8_lossy(name).into_owned();
            if p.immutable {
                problem = Some(fail(&name, "can't set immutable config"));
            } else if found.iter().any(|q| std::ptr::eq(*q, p)) {
                problem = Some(fail(&name, "duplicate parameter"));
            }
        }
        found.push(p);
    }
    if let Some(msg) = problem {
        return Err(msg);
    }
    let mut values = Vec::with_capacity(pairs);
    for (i, p) in found.iter().enumerate() {
        values.push(parse(p, a.get(3 + 2 * i)).map_err(|why| fail(p.name, &why))?);
    }
    let old: Vec<String> = found.iter().map(|p| (p.get)(c, p.name)).collect();
    for (i, (p, v)) in found.iter().zip(values).enumerate() {
        if let Err(why) = (p.set)(c, p.name, v) {
            for (q, was) in found[..i].iter().zip(&old).rev() {
                if let Ok(v) = parse(q, was.as_bytes()) {
                    let _ = (q.set)(c, q.name, v);
                }
            }
            return Err(fail(p.name, &why));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::super::testutil::*;

    #[test]
    fn get_matches_names_and_aliases_once_each() {
        let mut h = Harness::new();
        assert_eq!(
            h.cmd(&["CONFIG", "GET", "hash-max-listpack-entries"]),
            "*2\r\n$25\r\nhash-max-listpack-entries\r\n$3\r\n512\r\n"
        );
        assert_eq!(
            h.cmd(&["CONFIG", "GET", "zset-max-ziplist-entries"]),
            "*2\r\n$24\r\nzset-max-ziplist-entries\r\n$3\r\n128\r\n"
        );
        let both = h.cmd(&[
            "CONFIG",
            "GET",
            "zset-max-*-entries",
            "zset-*-entries",
            "zset*",
        ]);
        assert!(both.starts_with("*8\r\n"), "{both}");
        assert!(
            both.contains("zset-max-listpack-entries") && both.contains("zset-max-ziplist-value")
        );
        assert_eq!(h.cmd(&["CONFIG", "GET", "nosuch*"]), "*0\r\n");
        assert_eq!(
            h.cmd(&["CONFIG", "GET", "databases", "DATABASES"]),
            "*2\r\n$9\r\ndatabases\r\n$2\r\n16\r\n"
        );
    }

    #[test]
    fn set_changes_what_get_reports_and_is_all_or_nothing() {
        let mut h = Harness::new();
        assert_eq!(
            h.cmd(&[
                "CONFIG",
                "SET",
                "hash-max-ziplist-entries",
                "7",
                "zset-max-listpack-value",
                "1kb"
            ]),
            "+OK\r\n"
        );
        assert!(h
            .cmd(&["CONFIG", "GET", "hash-max-listpack-entries"])
            .ends_with("$1\r\n7\r\n"));
        assert!(h
            .cmd(&["CONFIG", "GET", "zset-max-listpack-value"])
            .ends_with("$4\r\n1024\r\n"));
        assert_eq!(h.svc.shared.encoding_limits().hash_entries, 7);
        // The second value is bad: the first does not change either.
        assert_eq!(
            h.cmd(&["CONFIG", "SET", "timeout", "5", "maxclients", "0"]),
            "-ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument must be between 1 and 4294967295 inclusive\r\n"
        );
        assert!(h
            .cmd(&["CONFIG", "GET", "timeout"])
            .ends_with("$1\r\n0\r\n"));
        // A setter that refuses after an earlier one ran puts that one back.
        assert_eq!(
            h.cmd(&["CONFIG", "SET", "maxclients", "5", "appendonly", "yes"]),
            "-ERR CONFIG SET failed (possibly related to argument 'appendonly') - turning the append-only file on or off needs a restart\r\n"
        );
        assert!(h
            .cmd(&["CONFIG", "GET", "maxclients"])
            .ends_with("$5\r\n10000\r\n"));
    }

    #[test]
    fn errors_are_redis_words() {
        let mut h = Harness::new();
        let cases: &[(&[&str], &str)] = &[
            (&["CONFIG", "SET", "nosuch", "1"], "-ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'"),
            (&["CONFIG", "SET", "timeout", "1", "nosuch", "1"], "-ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'"),
            (&["CONFIG", "SET", "databases", "3"], "-ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config"),
            (&["CONFIG", "SET", "timeout", "1", "timeout", "2"], "-ERR CONFIG SET failed (possibly related to argument 'timeout') - duplicate parameter"),
            (&["CONFIG", "SET", "timeout", "x"], "-ERR CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be parsed into an integer"),
            (&["CONFIG", "SET", "timeout", "-1"], "-ERR CONFIG SET failed (possibly related to argument 'timeout') - argument must be between 0 and 2147483647 inclusive"),
            (&["CONFIG", "SET", "proto-max-bulk-len", "1x"], "-ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be a memory value"),
            (&["CONFIG", "SET", "maxmemory-policy", "lru"], "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction"),
            (&["CONFIG", "SET", "save", "10"], "-ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters"),
            (&["CONFIG", "SET", "timeout", "1", "maxclients"], "-ERR syntax error"),
            (&["CONFIG", "SET", "maxmemory", "bla"], "-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"),
        ];
        for (cmd, want) in cases {
            assert_eq!(h.cmd(cmd), format!("{want}\r\n"), "{cmd:?}");
        }
        assert_eq!(h.cmd(&["CONFIG", "SET", "save", ""]), "+OK\r\n");
        assert_eq!(
            h.cmd(&["CONFIG", "SET", "save", "3600 1  300 100"]),
            "+OK\r\n"
        );
        assert!(h
            .cmd(&["CONFIG", "GET", "save"])
            .ends_with("$14\r\n3600 1 300 100\r\n"));
    }

    #[test]
    fn proto_max_bulk_len_applies_to_the_next_request() {
        let mut h = Harness::new();
        assert_eq!(
            h.cmd(&["CONFIG", "SET", "proto-max-bulk-len", "1mb"]),
            "+OK\r\n"
        );
        let big = format!("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${}\r\n", 1024 * 1024 + 1);
        let (reply, _) = h.raw(big.as_bytes());
        assert_eq!(reply, "-ERR Protocol error: invalid bulk length\r\n");
        let mut h = Harness::new();
        let value = "v".repeat(2 * 1024 * 1024);
        assert_eq!(h.cmd(&["SET", "k", &value]), "+OK\r\n");
        assert_eq!(
            h.cmd(&["CONFIG", "SET", "proto-max-bulk-len", "1048576"]),
            "+OK\r\n"
        );
        assert_eq!(
            h.cmd(&["APPEND", "k", "v"]),
            "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"
        );
    }

    #[test]
    fn the_query_buffer_limit_cannot_pass_the_start_value() {
        let mut h = Harness::new();
        assert_eq!(
            h.cmd(&["CONFIG", "SET", "client-query-buffer-limit", "2mb"]),
            "+OK\r\n"
        );
        let reply = h.cmd(&["CONFIG", "SET", "client-query-buffer-limit", "10000000000"]);
        assert!(reply.starts_with("-ERR CONFIG SET failed (possibly related to argument 'client-query-buffer-limit') - argument must be between"), "{reply}");
        assert!(h
            .cmd(&["CONFIG", "GET", "client-query-buffer-limit"])
            .ends_with("$7\r\n2097152\r\n"));
    }
}
