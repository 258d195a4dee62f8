//! COMMAND: what each command is, as Redis 7.0 describes it, read off the
//! command table (`table.rs`, generated from Redis's own definitions): name,
//! arity, flags, the legacy key range, ACL categories, tips, key specs and
//! subcommands (`COMMAND INFO`), documentation and syntax (`COMMAND DOCS`), the
//! keys of a given call (`COMMAND GETKEYS`, `GETKEYSANDFLAGS`, found with the key
//! specs as Redis's `getKeysUsingKeySpecs` does), and the names (`COMMAND LIST
//! [FILTERBY MODULE m|ACLCAT c|PATTERN p]`, `COMMAND COUNT`). Client libraries
//! route and check commands by these (cluster clients, redis-cli's hints,
//! proxies).

use super::spec::{self, Arg, ArgKind, Begin, Command, Find};
use super::table::ALL;
use super::*;

/// `names` whose bit is set in `bits`, as a set of status strings.
fn flag_set<T: Copy + Into<u32>>(out: &mut Reply<'_>, bits: T, names: &[(T, &str)], prefix: &str) {
    let bits = bits.into();
    let set: Vec<&str> = names
        .iter()
        .filter(|(b, _)| bits & (*b).into() != 0)
        .map(|(_, n)| *n)
        .collect();
    reply::set(out, set.len());
    for n in set {
        out.push(b'+');
        out.extend_from_slice(prefix.as_bytes());
        out.extend_from_slice(n.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
}

/// One command's `COMMAND INFO` entry: Redis 7's ten fields.
fn entry(out: &mut Reply<'_>, cmd: &Command) {
    reply::array(out, 10);
    reply::bulk(out, cmd.name.as_bytes());
    reply::int(out, cmd.arity as i64);
    flag_set(out, cmd.flags, spec::FLAG_NAMES, "");
    let (first, last, step) = cmd.legacy_range();
    reply::int(out, first);
    reply::int(out, last);
    reply::int(out, step);
    flag_set(out, cmd.acl, spec::ACL_NAMES, "@");
    reply::set(out, cmd.tips.len());
    for tip in cmd.tips {
        reply::bulk(out, tip.as_bytes());
    }
    key_specs(out, cmd);
    if cmd.subcommands.is_empty() {
        reply::set(out, 0);
    } else {
        reply::array(out, cmd.subcommands.len());
        for sub in cmd.subcommands {
            entry(out, sub);
        }
    }
}

/// The key specs, each a map (`addReplyCommandKeySpecs`).
fn key_specs(out: &mut Reply<'_>, cmd: &Command) {
    reply::set(out, cmd.keys.len());
    for k in cmd.keys {
        reply::map(out, 3 + !k.notes.is_empty() as usize);
        if !k.notes.is_empty() {
            reply::bulk(out, b"notes");
            reply::bulk(out, k.notes.as_bytes());
        }
        reply::bulk(out, b"flags");
        flag_set(out, k.flags, spec::KEY_SPEC_FLAG_NAMES, "");
        reply::bulk(out, b"begin_search");
        reply::map(out, 2);
        reply::bulk(out, b"type");
        match k.begin {
            Begin::Index(i) => {
                reply::bulk(out, b"index");
                reply::bulk(out, b"spec");
                reply::map(out, 1);
                reply::bulk(out, b"index");
                reply::int(out, i as i64);
            }
            Begin::Keyword {
                keyword,
                start_from,
            } => {
                reply::bulk(out, b"keyword");
                reply::bulk(out, b"spec");
                reply::map(out, 2);
                reply::bulk(out, b"keyword");
                reply::bulk(out, keyword.as_bytes());
                reply::bulk(out, b"startfrom");
                reply::int(out, start_from as i64);
            }
            Begin::Unknown => {
                reply::bulk(out, b"unknown");
                reply::bulk(out, b"spec");
                reply::map(out, 0);
            }
        }
        reply::bulk(out, b"find_keys");
        reply::map(out, 2);
        reply::bulk(out, b"type");
        let fields: [(&[u8], i32); 3] = match k.find {
            Find::Range { last, step, limit } => {
                reply::bulk(out, b"range");
                [(b"lastkey", last), (b"keystep", step), (b"limit", limit)]
            }
            Find::Keynum {
                keynum_index,
                first,
                step,
            } => {
                reply::bulk(out, b"keynum");
                [
                    (b"keynumidx", keynum_index),
                    (b"firstkey", first),
                    (b"keystep", step),
                ]
            }
            Find::Unknown => {
                reply::bulk(out, b"unknown");
                reply::bulk(out, b"spec");
                reply::map(out, 0);
                continue;
            }
        };
        reply::bulk(out, b"spec");
        reply::map(out, 3);
        for (name, v) in fields {
            reply::bulk(out, name);
            reply::int(out, v as i64);
        }
    }
}

/// One command's `COMMAND DOCS` map (`addReplyCommandDocs`).
fn docs(out: &mut Reply<'_>, cmd: &Command) {
    let some = |s: &str| !s.is_empty() as usize;
    let len = 1
        + some(cmd.summary)
        + some(cmd.since)
        + some(cmd.complexity)
        + (cmd.doc_flags != 0) as usize
        + some(cmd.deprecated_since)
        + some(cmd.replaced_by)
        + !cmd.history.is_empty() as usize
        + !cmd.args.is_empty() as usize
        + !cmd.subcommands.is_empty() as usize;
    reply::map(out, len);
    let field = |out: &mut Reply<'_>, name: &[u8], v: &str| {
        if !v.is_empty() {
            reply::bulk(out, name);
            reply::bulk(out, v.as_bytes());
        }
    };
    field(out, b"summary", cmd.summary);
    field(out, b"since", cmd.since);
    reply::bulk(out, b"group");
    reply::bulk(out, cmd.group.as_bytes());
    field(out, b"complexity", cmd.complexity);
    if cmd.doc_flags != 0 {
        reply::bulk(out, b"doc_flags");
        flag_set(out, cmd.doc_flags, spec::DOC_FLAG_NAMES, "");
    }
    field(out, b"deprecated_since", cmd.deprecated_since);
    field(out, b"replaced_by", cmd.replaced_by);
    if !cmd.history.is_empty() {
        reply::bulk(out, b"history");
        reply::set(out, cmd.history.len());
        for (since, changes) in cmd.history {
            reply::array(out, 2);
            reply::bulk(out, since.as_bytes());
            reply::bulk(out, changes.as_bytes());
        }
    }
    if !cmd.args.is_empty() {
        reply::bulk(out, b"arguments");
        args(out, cmd.args);
    }
    if !cmd.subcommands.is_empty() {
        reply::bulk(out, b"subcommands");
        reply::map(out, cmd.subcommands.len());
        for sub in cmd.subcommands {
            reply::bulk(out, sub.name.as_bytes());
            docs(out, sub);
        }
    }
}

/// A syntax's arguments, each a map (`addReplyCommandArgList`).
fn args(out: &mut Reply<'_>, list: &[Arg]) {
    reply::array(out, list.len());
    for a in list {
        let some = |s: &str| !s.is_empty() as usize;
        let nested = matches!(a.kind, ArgKind::OneOf | ArgKind::Block);
        let len = 2
            + (a.key_spec >= 0) as usize
            + some(a.token)
            + some(a.summary)
            + some(a.since)
            + some(a.deprecated_since)
            + (a.flags != 0) as usize
            + nested as usize;
        reply::map(out, len);
        reply::bulk(out, b"name");
        reply::bulk(out, a.name.as_bytes());
        reply::bulk(out, b"type");
        reply::bulk(out, a.kind.name().as_bytes());
        if a.key_spec >= 0 {
            reply::bulk(out, b"key_spec_index");
            reply::int(out, a.key_spec as i64);
        }
        for (name, v) in [
            (&b"token"[..], a.token),
            (b"summary", a.summary),
            (b"since", a.since),
            (b"deprecated_since", a.deprecated_since),
        ] {
            if !v.is_empty() {
                reply::bulk(out, name);
                reply::bulk(out, v.as_bytes());
            }
        }
        if a.flags != 0 {
            reply::bulk(out, b"flags");
            flag_set(out, a.flags, spec::ARG_FLAG_NAMES, "");
        }
        if nested {
            reply::bulk(out, b"arguments");
            args(out, a.subargs);
        }
    }
}

/// The command `argv[0]` names, or its subcommand `argv[1]` for a container
/// (Redis's `lookupCommand`).
fn resolve(argv: &[&[u8]]) -> Option<&'static Command> {
    let cmd = find(argv.first()?)?;
    if cmd.subcommands.is_empty() {
        return Some(cmd);
    }
    cmd.subcommand(argv.get(1)?)
}

/// A name as `COMMAND INFO`/`DOCS` take it: `get`, or `client|list`.
fn by_fullname(name: &[u8]) -> Option<&'static Command> {
    let lower = name.to_ascii_lowercase();
    let mut parts = lower.splitn(2, |&b| b == b'|');
    let top = find(parts.next()?)?;
    match parts.next() {
        None => Some(top),
        Some(sub) => top.subcommand(sub),
    }
}

/// COMMAND GETKEYS / GETKEYSANDFLAGS cmd arg...: the keys `cmd` would touch.
fn getkeys(a: Argv<'_>, out: &mut Reply<'_>, with_flags: bool) {
    let argv: Vec<&[u8]> = a.iter_from(2).collect();
    let Some(cmd) = resolve(&argv) else {
        return reply::error(out, b"ERR Invalid command specified");
    };
    if !cmd.has_keys() {
        return reply::error(out, b"ERR The command has no key arguments");
    }
    if !cmd.arity_ok(argv.len()) {
        return reply::error(
            out,
            b"ERR Invalid number of arguments specified for command",
        );
    }
    let mut keys = Vec::new();
    let found = if cmd.name == "sort" {
        sort_keys(&argv, &mut keys);
        Ok(())
    } else if cmd.name == "set" {
        // Redis's `setGetKeys`: the flags depend on GET.
        let get = argv[3..].iter().any(|a| eq(a, b"get"));
        let flags = if get {
            spec::KEY_RW | spec::KEY_ACCESS | spec::KEY_UPDATE
        } else {
            spec::KEY_OW | spec::KEY_UPDATE
        };
        keys.push((1, flags));
        Ok(())
    } else {
        cmd.keys(&argv, |i, flags| keys.push((i, flags)))
    };
    if found.is_err() || keys.is_empty() {
        if cmd.has(spec::NO_MANDATORY_KEYS) {
            return reply::array(out, 0);
        }
        return reply::error(out, b"ERR Invalid arguments specified for command");
    }
    reply::array(out, keys.len());
    for (i, flags) in keys {
        if with_flags {
            reply::array(out, 2);
            reply::bulk(out, argv[i]);
            flag_set(out, flags, spec::KEY_SPEC_FLAG_NAMES, "");
        } else {
            reply::bulk(out, argv[i]);
        }
    }
}

/// SORT's keys, which its specs leave `unknown`: the sorted key and the STORE
/// destination, found as Redis's `sortGetKeys` does (skipping LIMIT's two
/// arguments and BY's and GET's one; the last STORE wins).
fn sort_keys(argv: &[&[u8]], keys: &mut Vec<(usize, u32)>) {
    keys.push((1, spec::KEY_RO | spec::KEY_ACCESS));
    let mut store = None;
    let mut i = 2;
    while i < argv.len() {
        let skip = if eq(argv[i], b"limit") {
            2
        } else if eq(argv[i], b"get") || eq(argv[i], b"by") {
            1
        } else if eq(argv[i], b"store") {
            store = Some(i + 1);
            1
        } else {
            0
        };
        i += skip + 1;
    }
    if let Some(at) = store.filter(|&at| at < argv.len()) {
        keys.push((at, spec::KEY_OW | spec::KEY_UPDATE));
    }
}

/// Every command and subcommand name passing `keep` (`COMMAND LIST`).
fn list(out: &mut Reply<'_>, keep: impl Fn(&Command) -> bool) {
    let mut names = Vec::new();
    for cmd in ALL {
        for c in std::iter::once(*cmd).chain(cmd.subcommands) {
            if keep(c) {
                names.push(c.name);
            }
        }
    }
    reply::array(out, names.len());
    for n in names {
        reply::bulk(out, n.as_bytes());
    }
}

/// COMMAND, COMMAND COUNT|LIST|INFO|DOCS|GETKEYS|GETKEYSANDFLAGS|HELP.
pub(super) fn command(_: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    if a.len() == 1 {
        reply::array(out, ALL.len());
        for cmd in ALL {
            entry(out, cmd);
        }
        return;
    }
    let sub = a.get(1);
    if eq(sub, b"count") && a.len() == 2 {
        reply::int(out, ALL.len() as i64);
    } else if eq(sub, b"list") {
        if a.len() == 2 {
            return list(out, |_| true);
        }
        if a.len() != 5 || !eq(a.get(2), b"filterby") {
            return reply::error(out, SYNTAX);
        }
        let (kind, arg) = (a.get(3), a.get(4));
        if eq(kind, b"module") {
            // No modules here.
            list(out, |_| false)
        } else if eq(kind, b"aclcat") {
            let Some(&(bit, _)) = spec::ACL_NAMES.iter().find(|(_, n)| eq(n.as_bytes(), arg))
            else {
                return reply::array(out, 0);
            };
            list(out, |c| c.acl & bit != 0)
        } else if eq(kind, b"pattern") {
            list(out, |c| glob::matches(arg, c.name.as_bytes(), true))
        } else {
            reply::error(out, SYNTAX)
        }
    } else if eq(sub, b"info") {
        if a.len() == 2 {
            reply::array(out, ALL.len());
            for cmd in ALL {
                entry(out, cmd);
            }
            return;
        }
        reply::array(out, a.len() - 2);
        for n in a.iter_from(2) {
            match by_fullname(n) {
                Some(cmd) => entry(out, cmd),
                None => reply::nil(out),
            }
        }
    } else if eq(sub, b"docs") {
        let found: Vec<&Command> = if a.len() == 2 {
            ALL.to_vec()
        } else {
            a.iter_from(2).filter_map(by_fullname).collect()
        };
        reply::map(out, found.len());
        for cmd in found {
            reply::bulk(out, cmd.name.as_bytes());
            docs(out, cmd);
        }
    } else if eq(sub, b"getkeys") && a.len() >= 3 {
        getkeys(a, out, false);
    } else if eq(sub, b"getkeysandflags") && a.len() >= 3 {
        getkeys(a, out, true);
    } else if eq(sub, b"help") && a.len() == 2 {
        let lines: &[&[u8]] = &[
            b"(no subcommand)",
            b"    Return details about all Redis commands.",
            b"COUNT",
            b"    Return the total number of commands in this Redis server.",
            b"LIST",
            b"    Return a list of all commands in this Redis server.",
            b"INFO [<command-name> ...]",
            b"    Return details about multiple Redis commands.",
            b"    If no command names are given, documentation details for all",
            b"    commands are returned.",
            b"DOCS [<command-name> ...]",
            b"    Return documentation details about multiple Redis commands.",
            b"    If no command names are given, documentation details for all",
            b"    commands are returned.",
            b"GETKEYS <full-command>",
            b"    Return the keys from a full Redis command.",
            b"GETKEYSANDFLAGS <full-command>",
            b"    Return the keys and the access flags from a full Redis command.",
        ];
        reply::help(out, b"COMMAND", lines);
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
        // Byte for byte what redis-server 7.0.15 answers.
        assert_eq!(
            h.cmd(&["COMMAND", "INFO", "get", "nosuch"]),
            "*2\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n\
             *3\r\n+@read\r\n+@string\r\n+@fast\r\n*0\r\n*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n\
             +access\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n\
             *2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n\
             $4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n\
             *0\r\n$-1\r\n"
        );
        let mset = h.cmd(&["COMMAND", "INFO", "MSET"]);
        assert!(
            mset.contains("$4\r\nmset\r\n:-3\r\n*2\r\n+write\r\n+denyoom\r\n:1\r\n:-1\r\n:2\r\n"),
            "{mset}"
        );
        assert!(
            mset.contains("$26\r\nrequest_policy:multi_shard\r\n"),
            "{mset}"
        );
        // RESP3: flags, categories, tips and key specs are sets, a spec a map.
        h.cmd(&["HELLO", "3"]);
        let get = h.cmd(&["COMMAND", "INFO", "get"]);
        assert!(
            get.starts_with("*1\r\n*10\r\n$3\r\nget\r\n:2\r\n~2\r\n+readonly\r\n+fast\r\n"),
            "{get}"
        );
        assert!(
            get.contains("~0\r\n~1\r\n%3\r\n$5\r\nflags\r\n~2\r\n"),
            "{get}"
        );
        h.cmd(&["HELLO", "2"]);
        assert_eq!(
            h.cmd(&[
                "COMMAND",
                "GETKEYSANDFLAGS",
                "LMOVE",
                "a",
                "b",
                "LEFT",
                "RIGHT"
            ]),
            "*2\r\n*2\r\n$1\r\na\r\n*3\r\n+RW\r\n+access\r\n+delete\r\n\
             *2\r\n$1\r\nb\r\n*2\r\n+RW\r\n+insert\r\n"
        );
        assert_eq!(
            h.cmd(&["COMMAND", "GETKEYS", "SORT", "a", "BY", "w_*", "STORE", "b"]),
            "*2\r\n$1\r\na\r\n$1\r\nb\r\n"
        );
        assert_eq!(
            h.cmd(&["COMMAND", "LIST", "FILTERBY", "PATTERN", "client|s*"]),
            "*1\r\n$14\r\nclient|setname\r\n"
        );
        let docs = h.cmd(&["COMMAND", "DOCS", "get"]);
        assert!(
            docs.starts_with("*2\r\n$3\r\nget\r\n*10\r\n$7\r\nsummary\r\n"),
            "{docs}"
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
        assert!(all.starts_with(&format!("*{n}\r\n*10\r\n")));
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
