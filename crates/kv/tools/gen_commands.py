#!/usr/bin/env python3
"""Generate crates/kv/src/command/table.rs from Redis's command definitions.

Usage: python3 crates/kv/tools/gen_commands.py PATH/TO/redis/src/commands

Reads Redis 7.0.15's src/commands/*.json (the files Redis's own
utils/generate-command-code.py turns into commands.c) and writes one static
`Command` (see src/command/spec.rs) per command this server serves, with the
subcommands it serves inline, plus `ALL` and `lookup`.

What is served is decided here:
- HANDLERS: command name -> Rust handler ident (the `commands!` table this
  replaced);
- SUBCOMMANDS: container -> the subcommands its handler serves.

Flags and ACL categories are computed as Redis 7.0.15 computes them at startup
(populateCommandLegacyRangeSpec for MOVABLE_KEYS, setImplicitACLCategories for the
implied categories), so the table holds the final values. Standard library only.
"""

import glob
import json
import os
import re
import sys

REDIS_VERSION = "7.0.15"

# Command name (lowercase) -> handler ident, in scope in src/command/mod.rs.
# Initialised from the `commands!` macro there.
HANDLERS = {
    "get": "get",
    "set": "set",
    "ping": "ping",
    "incr": "incr",
    "decr": "decr",
    "incrby": "incrby",
    "decrby": "decrby",
    "mget": "mget",
    "mset": "mset",
    "lpush": "lpush",
    "rpush": "rpush",
    "lpop": "lpop",
    "rpop": "rpop",
    "lrange": "lrange",
    "sadd": "sadd",
    "spop": "spop",
    "hset": "hset",
    "hmset": "hmset",
    "zadd": "zadd",
    "zpopmin": "zpopmin",
    "echo": "echo",
    "quit": "quit",
    "hello": "hello",
    "client": "client",
    "info": "info",
    "config": "config",
    "command": "command",
    "time": "time",
    "del": "del",
    "unlink": "del",
    "exists": "exists",
    "type": "type_",
    "keys": "keys",
    "scan": "scan",
    "rename": "rename",
    "expire": "expire",
    "pexpire": "pexpire",
    "expireat": "expireat",
    "pexpireat": "pexpireat",
    "ttl": "ttl",
    "pttl": "pttl",
    "persist": "persist",
    "setnx": "setnx",
    "setex": "setex",
    "psetex": "psetex",
    "getset": "getset",
    "getdel": "getdel",
    "msetnx": "msetnx",
    "incrbyfloat": "incrbyfloat",
    "append": "append",
    "strlen": "strlen",
    "getrange": "getrange",
    "setrange": "setrange",
    "llen": "llen",
    "lindex": "lindex",
    "lset": "lset",
    "lrem": "lrem",
    "ltrim": "ltrim",
    "linsert": "linsert",
    "lpos": "lpos",
    "lpushx": "lpushx",
    "rpushx": "rpushx",
    "hget": "hget",
    "hmget": "hmget",
    "hdel": "hdel",
    "hlen": "hlen",
    "hexists": "hexists",
    "hgetall": "hgetall",
    "hkeys": "hkeys",
    "hvals": "hvals",
    "hincrby": "hincrby",
    "hsetnx": "hsetnx",
    "hstrlen": "hstrlen",
    "hincrbyfloat": "hincrbyfloat",
    "hrandfield": "hrandfield",
    "srem": "srem",
    "smembers": "smembers",
    "sismember": "sismember",
    "scard": "scard",
    "smismember": "smismember",
    "srandmember": "srandmember",
    "smove": "smove",
    "sinter": "sinter",
    "sunion": "sunion",
    "sdiff": "sdiff",
    "sinterstore": "sinterstore",
    "sunionstore": "sunionstore",
    "sdiffstore": "sdiffstore",
    "sintercard": "sintercard",
    "zscore": "zscore",
    "zcard": "zcard",
    "zrem": "zrem",
    "zrange": "zrange",
    "zrank": "zrank",
    "zpopmax": "zpopmax",
    "zrevrange": "zrevrange",
    "zrangebyscore": "zrangebyscore",
    "zrevrangebyscore": "zrevrangebyscore",
    "zrangebylex": "zrangebylex",
    "zrevrangebylex": "zrevrangebylex",
    "zrangestore": "zrangestore",
    "zcount": "zcount",
    "zlexcount": "zlexcount",
    "zincrby": "zincrby",
    "zmscore": "zmscore",
    "zrevrank": "zrevrank",
    "zremrangebyrank": "zremrangebyrank",
    "zremrangebyscore": "zremrangebyscore",
    "zremrangebylex": "zremrangebylex",
    "zunion": "zunion",
    "zinter": "zinter",
    "zdiff": "zdiff",
    "zunionstore": "zunionstore",
    "zinterstore": "zinterstore",
    "zdiffstore": "zdiffstore",
    "zintercard": "zintercard",
    "zrandmember": "zrandmember",
    "lmove": "lmove",
    "rpoplpush": "rpoplpush",
    "lmpop": "lmpop",
    "zmpop": "zmpop",
    "blpop": "blpop",
    "brpop": "brpop",
    "blmove": "blmove",
    "brpoplpush": "brpoplpush",
    "blmpop": "blmpop",
    "bzpopmin": "bzpopmin",
    "bzpopmax": "bzpopmax",
    "bzmpop": "bzmpop",
    "subscribe": "subscribe",
    "unsubscribe": "unsubscribe",
    "psubscribe": "psubscribe",
    "punsubscribe": "punsubscribe",
    "publish": "publish",
    "pubsub": "pubsub",
    "reset": "reset",
    "multi": "multi",
    "exec": "exec",
    "discard": "discard",
    "watch": "watch",
    "unwatch": "unwatch",
    "auth": "auth",
    "bgrewriteaof": "bgrewriteaof",
    "script": "script",
    "function": "function",
    "eval": "unsupported",
    "evalsha": "unsupported",
    "eval_ro": "unsupported",
    "evalsha_ro": "unsupported",
    "fcall": "unsupported",
    "fcall_ro": "unsupported",
    "select": "select",
    "dbsize": "dbsize",
    "flushdb": "flushdb",
    "flushall": "flushall",
    "move": "move_",
    "swapdb": "swapdb",
    "copy": "copy",
    "sort": "sort",
    "sort_ro": "sort_ro",
    "object": "object",
    "renamenx": "renamenx",
    "randomkey": "randomkey",
    "touch": "touch",
    "expiretime": "expiretime",
    "pexpiretime": "pexpiretime",
    "getex": "getex",
    "substr": "getrange",
    "lcs": "lcs",
    "setbit": "setbit",
    "getbit": "getbit",
    "dump": "dump",
    "restore": "restore",
    "memory": "memory",
    "sscan": "sscan",
    "hscan": "hscan",
    "zscan": "zscan",
    "monitor": "monitor",
}

# The subcommands of each served container that its handler serves. A container
# missing here serves none of Redis's subcommands through the table.
SUBCOMMANDS = {
    "client": ["caching", "getname", "getredir", "help", "id", "info", "kill", "list",
               "no-evict", "pause", "reply", "setname", "tracking", "trackinginfo",
               "unblock", "unpause"],
    "command": ["count", "docs", "getkeys", "getkeysandflags", "help", "info", "list"],
    "config": ["get", "help", "resetstat", "set"],
    "function": ["delete", "dump", "flush", "kill", "list", "load", "restore", "stats"],
    "memory": ["help", "usage"],
    "object": ["encoding", "freq", "help", "idletime", "refcount"],
    "pubsub": ["channels", "help", "numpat", "numsub"],
    "script": ["debug", "exists", "flush", "kill", "load"],
}

# This server's own flags (spec.rs), not Redis's; top-level commands only.
# SUBSCRIBED_OK: may run while a RESP2 client is subscribed.
SUBSCRIBED_OK = {
    "ping", "subscribe", "unsubscribe", "psubscribe", "punsubscribe",
    "ssubscribe", "sunsubscribe", "quit", "reset",
}
# TX_CONTROL: runs at once inside MULTI instead of being queued.
TX_CONTROL = {"exec", "discard", "multi", "watch", "quit", "reset"}

HERE = os.path.dirname(os.path.abspath(__file__))
CRATE = os.path.dirname(HERE)
SRC = os.path.join(CRATE, "src")
OUT = os.path.join(SRC, "command", "table.rs")

# Redis's CMD_* names (as in the JSON) -> spec.rs constants.
CMD_FLAGS = {
    "WRITE": "WRITE",
    "READONLY": "READONLY",
    "DENYOOM": "DENYOOM",
    "MODULE": "MODULE",
    "ADMIN": "ADMIN",
    "PUBSUB": "PUBSUB",
    "NOSCRIPT": "NOSCRIPT",
    "BLOCKING": "BLOCKING",
    "LOADING": "LOADING",
    "STALE": "STALE",
    "SKIP_MONITOR": "SKIP_MONITOR",
    "SKIP_SLOWLOG": "SKIP_SLOWLOG",
    "ASKING": "ASKING",
    "FAST": "FAST",
    "NO_AUTH": "NO_AUTH",
    "MAY_REPLICATE": "MAY_REPLICATE",
    "SENTINEL": "SENTINEL",
    "ONLY_SENTINEL": "ONLY_SENTINEL",
    "NO_MANDATORY_KEYS": "NO_MANDATORY_KEYS",
    "PROTECTED": "PROTECTED",
    "MODULE_GETKEYS": "MODULE_GETKEYS",
    "MODULE_NO_CLUSTER": "MODULE_NO_CLUSTER",
    "NO_ASYNC_LOADING": "NO_ASYNC_LOADING",
    "NO_MULTI": "NO_MULTI",
    "MOVABLE_KEYS": "MOVABLE_KEYS",
    "ALLOW_BUSY": "ALLOW_BUSY",
    "MODULE_GETCHANNELS": "MODULE_GETCHANNELS",
    "TOUCHES_ARBITRARY_KEYS": "TOUCHES_ARBITRARY_KEYS",
}
# Emission order of flag constants (Redis's bit order), then our own.
FLAG_ORDER = list(CMD_FLAGS.values()) + ["SUBSCRIBED_OK", "TX_CONTROL"]

ACL_ORDER = [
    "KEYSPACE", "READ", "WRITE", "SET", "SORTEDSET", "LIST", "HASH", "STRING",
    "BITMAP", "HYPERLOGLOG", "GEO", "STREAM", "PUBSUB", "ADMIN", "FAST", "SLOW",
    "BLOCKING", "DANGEROUS", "CONNECTION", "TRANSACTION", "SCRIPTING",
]

KEY_FLAGS = [
    "RO", "RW", "OW", "RM", "ACCESS", "UPDATE", "INSERT", "DELETE", "NOT_KEY",
    "INCOMPLETE", "VARIABLE_FLAGS",
]

DOC_FLAGS = {"DEPRECATED": "DOC_DEPRECATED", "SYSCMD": "DOC_SYSCMD"}

ARG_KINDS = {
    "string": "String",
    "integer": "Integer",
    "double": "Double",
    "key": "Key",
    "pattern": "Pattern",
    "unix-time": "UnixTime",
    "pure-token": "PureToken",
    "oneof": "OneOf",
    "block": "Block",
}

# Fields of the JSON this generator knows; anything else is reported as not
# represented.
KNOWN_COMMAND_FIELDS = {
    "summary", "complexity", "group", "since", "arity", "function",
    "get_keys_function", "command_flags", "acl_categories", "key_specs",
    "arguments", "container", "command_tips", "history", "doc_flags",
    "deprecated_since", "replaced_by",
}
KNOWN_ARG_FIELDS = {
    "name", "type", "token", "optional", "multiple", "multiple_token",
    "key_spec_index", "arguments", "since", "deprecated_since", "summary",
}
# Of those, "function" and "get_keys_function" (C function names) have no place in
# the Rust table: get_keys_function only matters through MOVABLE_KEYS.

warnings = []


def warn(msg):
    warnings.append(msg)
    print("warning: " + msg, file=sys.stderr)


def die(msg):
    print("error: " + msg, file=sys.stderr)
    sys.exit(1)


# ---------------------------------------------------------------- loading


def load(cmd_dir):
    """(top-level commands by lowercase name, subcommands by container then name)."""
    commands, subs = {}, {}
    files = sorted(glob.glob(os.path.join(cmd_dir, "*.json")))
    if not files:
        die("no *.json in %s" % cmd_dir)
    for path in files:
        with open(path, encoding="utf-8") as f:
            try:
                doc = json.load(f)
            except json.JSONDecodeError as err:
                die("%s: %s" % (path, err))
        for name, desc in doc.items():
            name = name.lower()
            if desc.get("container"):
                subs.setdefault(desc["container"].lower(), {})[name] = desc
            else:
                commands[name] = desc
    return commands, subs


def legacy_table():
    """The `commands!` macro entries of src/command/mod.rs, if it still has one:
    [(name, arity, handler)]."""
    path = os.path.join(SRC, "command", "mod.rs")
    try:
        text = open(path, encoding="utf-8").read()
    except OSError:
        return None
    start = text.find("commands! {")
    if start < 0:
        return None
    body = text[start:text.index("\n}\n", start)]
    return [(n, int(a), h) for n, a, h in re.findall(r'b"([^"]+)"\s+(-?\d+)\s+(\w+);', body)]


def served_subcommands(name, subs):
    """The subcommands of container `name` we serve, sorted."""
    available = subs.get(name, {})
    chosen = SUBCOMMANDS.get(name)
    if chosen is None:
        warn("container %r has no entry in SUBCOMMANDS: serving none of its subcommands" % name)
        return []
    for sub in chosen:
        if sub not in available:
            die("SUBCOMMANDS: Redis %s has no %s|%s" % (REDIS_VERSION, name, sub))
    return sorted(chosen)


# ---------------------------------------------------------------- semantics


def movable_keys(specs):
    """Redis 7.0.15's populateCommandLegacyRangeSpec: whether CMD_MOVABLE_KEYS is set
    (no native command has MODULE_GETKEYS)."""
    if not specs:
        return False
    def plain(s):
        return "index" in s["begin_search"] and "range" in s["find_keys"]
    if len(specs) == 1 and plain(specs[0]):
        return "INCOMPLETE" in specs[0].get("flags", [])
    movable = False
    firstkey, lastkey, prev_lastkey = None, 0, 0
    u32 = lambda v: v & 0xFFFFFFFF
    for s in specs:
        if not plain(s):
            movable = True
            continue
        pos = s["begin_search"]["index"]["pos"]
        rng = s["find_keys"]["range"]
        if rng["step"] != 1 or (prev_lastkey and prev_lastkey != pos - 1):
            movable = True
            continue
        if "INCOMPLETE" in s.get("flags", []):
            movable = True
        firstkey = pos if firstkey is None else min(firstkey, pos)
        last_abs = rng["lastkey"]
        if last_abs >= 0:
            last_abs += pos
        # Redis compares as unsigned, so a negative (from the end) lastkey wins.
        lastkey = lastkey if u32(lastkey) >= u32(last_abs) else last_abs
        prev_lastkey = lastkey
    if firstkey is None:
        movable = True
    return movable


def movable_keys_simple(desc):
    """The rule as first described (any non index+range spec, or a getkeys
    function), to report where it differs from Redis's."""
    if desc.get("get_keys_function"):
        return True
    return any(
        not ("index" in s["begin_search"] and "range" in s["find_keys"])
        for s in desc.get("key_specs", [])
    )


def command_flags(name, desc, top_level):
    flags = []
    for f in desc.get("command_flags", []):
        if f not in CMD_FLAGS:
            die("%s: unknown command flag %s" % (name, f))
        flags.append(CMD_FLAGS[f])
    if movable_keys(desc.get("key_specs", [])):
        flags.append("MOVABLE_KEYS")
    if top_level and name in SUBSCRIBED_OK:
        flags.append("SUBSCRIBED_OK")
    if top_level and name in TX_CONTROL:
        flags.append("TX_CONTROL")
    return [f for f in FLAG_ORDER if f in flags]


def acl_categories(name, desc, flags):
    """Declared categories plus Redis's setImplicitACLCategories."""
    cats = set()
    for c in desc.get("acl_categories", []):
        if c not in ACL_ORDER:
            die("%s: unknown ACL category %s" % (name, c))
        cats.add(c)
    if "WRITE" in flags:
        cats.add("WRITE")
    if "READONLY" in flags and "SCRIPTING" not in cats:
        cats.add("READ")
    if "ADMIN" in flags:
        cats |= {"ADMIN", "DANGEROUS"}
    if "PUBSUB" in flags:
        cats.add("PUBSUB")
    if "FAST" in flags:
        cats.add("FAST")
    if "BLOCKING" in flags:
        cats.add("BLOCKING")
    if "FAST" not in cats:
        cats.add("SLOW")
    return ["ACL_" + c for c in ACL_ORDER if c in cats]


def check_key_specs(name, desc):
    """Redis's check_command_key_specs: every spec is used by some argument."""
    specs = desc.get("key_specs", [])
    if not specs:
        return
    for s in specs:
        if "flags" not in s:
            warn("%s: key spec without flags" % name)
        if "NOT_KEY" in s.get("flags", []):
            return
    used = set()
    def walk(args):
        for a in args or []:
            i = a.get("key_spec_index")
            if i is not None:
                if not isinstance(i, int) or not 0 <= i < len(specs):
                    warn("%s: argument %s: bad key_spec_index %r" % (name, a["name"], i))
                used.add(i)
            walk(a.get("arguments"))
    walk(desc.get("arguments"))
    if used != set(range(len(specs))):
        warn("%s: key specs not all used by arguments" % name)


def check_fields(name, desc):
    for k in desc:
        if k not in KNOWN_COMMAND_FIELDS:
            warn("%s: field %r is not represented in the table" % (name, k))
    def walk(args, where):
        for a in args or []:
            for k in a:
                if k not in KNOWN_ARG_FIELDS:
                    warn("%s: argument %s: field %r is not represented" % (name, where + a["name"], k))
            walk(a.get("arguments"), where + a["name"] + ".")
    walk(desc.get("arguments"), "")


# ---------------------------------------------------------------- Rust output

MAX_WIDTH = 100


def rust_str(s):
    out = ['"']
    for ch in s or "":
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append("\\u{%x}" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def bits(names, indent, prefix_len):
    """`A | B | C`, or rustfmt's one-operand-per-line form when too long."""
    if not names:
        return "0"
    one = " | ".join(names)
    if indent + prefix_len + len(one) + 1 <= MAX_WIDTH:
        return one
    pad = " " * (indent + 4)
    return names[0] + "".join("\n%s| %s" % (pad, n) for n in names[1:])


class W:
    """Line writer with rustfmt-like struct/array layout."""

    def __init__(self):
        self.lines = []

    def line(self, indent, text):
        self.lines.append(" " * indent + text)

    def field(self, indent, name, value):
        self.line(indent, "%s: %s," % (name, value))

    def str_array(self, indent, name, items):
        """`name: &["a", "b"],`, vertical when long."""
        if not items:
            return self.field(indent, name, "&[]")
        one = "&[%s]" % ", ".join(items)
        if len(one) <= 60 and indent + len(name) + 2 + len(one) + 1 <= MAX_WIDTH:
            return self.field(indent, name, one)
        self.line(indent, "%s: &[" % name)
        for it in items:
            self.line(indent + 4, it + ",")
        self.line(indent, "],")

    def tuple_array(self, indent, name, pairs):
        if not pairs:
            return self.field(indent, name, "&[]")
        tuples = ["(%s, %s)" % (rust_str(a), rust_str(b)) for a, b in pairs]
        one = "&[%s]" % ", ".join(tuples)
        if len(one) <= 60 and indent + len(name) + 2 + len(one) + 1 <= MAX_WIDTH:
            return self.field(indent, name, one)
        self.line(indent, "%s: &[" % name)
        for (a, b), t in zip(pairs, tuples):
            if len(t) <= 60 and indent + 4 + len(t) + 1 <= MAX_WIDTH:
                self.line(indent + 4, t + ",")
            else:
                self.line(indent + 4, "(")
                self.line(indent + 8, rust_str(a) + ",")
                self.line(indent + 8, rust_str(b) + ",")
                self.line(indent + 4, "),")
        self.line(indent, "],")


def emit_key_spec(w, ind, spec):
    for f in spec.get("flags", []):
        if f not in KEY_FLAGS:
            die("unknown key-spec flag %s" % f)
    flags = ["KEY_" + f for f in KEY_FLAGS if f in spec.get("flags", [])]
    w.line(ind, "KeySpec {")
    i = ind + 4
    w.line(i, "flags: %s," % bits(flags, i, len("flags: ")))
    bs = spec["begin_search"]
    if bs.get("index"):
        w.field(i, "begin", "Begin::Index(%d)" % bs["index"]["pos"])
    elif bs.get("keyword"):
        kw = bs["keyword"]
        w.line(i, "begin: Begin::Keyword {")
        w.field(i + 4, "keyword", rust_str(kw["keyword"]))
        w.field(i + 4, "start_from", "%d" % kw["startfrom"])
        w.line(i, "},")
    elif "unknown" in bs:
        w.field(i, "begin", "Begin::Unknown")
    else:
        die("invalid begin_search %r" % bs)
    fk = spec["find_keys"]
    if fk.get("range"):
        r = fk["range"]
        w.line(i, "find: Find::Range {")
        w.field(i + 4, "last", "%d" % r["lastkey"])
        w.field(i + 4, "step", "%d" % r["step"])
        w.field(i + 4, "limit", "%d" % r["limit"])
        w.line(i, "},")
    elif fk.get("keynum"):
        k = fk["keynum"]
        w.line(i, "find: Find::Keynum {")
        w.field(i + 4, "keynum_index", "%d" % k["keynumidx"])
        w.field(i + 4, "first", "%d" % k["firstkey"])
        w.field(i + 4, "step", "%d" % k["step"])
        w.line(i, "},")
    elif "unknown" in fk:
        w.field(i, "find", "Find::Unknown")
    else:
        die("invalid find_keys %r" % fk)
    w.field(i, "notes", rust_str(spec.get("notes", "")))
    w.line(ind, "},")


def emit_arg(w, ind, a):
    kind = a["type"]
    if kind not in ARG_KINDS:
        die("unknown argument type %s" % kind)
    flags = []
    if a.get("optional"):
        flags.append("ARG_OPTIONAL")
    if a.get("multiple"):
        flags.append("ARG_MULTIPLE")
    if a.get("multiple_token"):
        if not a.get("multiple"):
            die("argument %s: multiple_token without multiple" % a["name"])
        flags.append("ARG_MULTIPLE_TOKEN")
    name = a["name"].lower()
    token = (a.get("token") or "").upper()
    if kind in ("oneof", "block"):
        value = ""
    elif kind == "pure-token":
        value = token or name
    else:
        value = name
    w.line(ind, "Arg {")
    i = ind + 4
    w.field(i, "name", rust_str(name))
    w.field(i, "kind", "ArgKind::" + ARG_KINDS[kind])
    w.field(i, "key_spec", "%d" % a.get("key_spec_index", -1))
    w.field(i, "token", rust_str(token))
    w.field(i, "summary", rust_str(a.get("summary", "")))
    w.field(i, "since", rust_str(a.get("since", "")))
    w.line(i, "flags: %s," % bits(flags, i, len("flags: ")))
    w.field(i, "deprecated_since", rust_str(a.get("deprecated_since", "")))
    w.field(i, "value", rust_str(value))
    emit_args(w, i, "subargs", a.get("arguments", []) if kind in ("oneof", "block") else [])
    w.line(ind, "},")


def emit_args(w, ind, field, args):
    if not args:
        return w.field(ind, field, "&[]")
    w.line(ind, "%s: &[" % field)
    for a in args:
        emit_arg(w, ind + 4, a)
    w.line(ind, "],")


# The next command's `id` (its index in per-command statistics).
NEXT_ID = [0]


def emit_command_body(w, ind, full, desc, group, top_level, subcommands, handler):
    """The fields of one `Command { ... }`, at indent `ind`."""
    flags = command_flags(full, desc, top_level)
    acl = acl_categories(full, desc, flags)
    doc = []
    for f in desc.get("doc_flags", []):
        if f not in DOC_FLAGS:
            die("%s: unknown doc flag %s" % (full, f))
        doc.append(DOC_FLAGS[f])
    w.field(ind, "name", rust_str(full))
    w.field(ind, "id", "%d" % NEXT_ID[0])
    NEXT_ID[0] += 1
    w.field(ind, "arity", "%d" % desc["arity"])
    # The arity as the bounds dispatch checks (one comparison, no sign test).
    w.field(ind, "min_args", "%d" % abs(desc["arity"]))
    w.field(ind, "max_args", "%d" % (desc["arity"] if desc["arity"] >= 0 else 0xFFFFFFFF))
    w.line(ind, "flags: %s," % bits(flags, ind, len("flags: ")))
    w.line(ind, "acl: %s," % bits(acl, ind, len("acl: ")))
    specs = desc.get("key_specs", [])
    if specs:
        w.line(ind, "keys: &[")
        for s in specs:
            emit_key_spec(w, ind + 4, s)
        w.line(ind, "],")
    else:
        w.field(ind, "keys", "&[]")
    w.field(ind, "group", rust_str(group))
    w.field(ind, "since", rust_str(desc.get("since", "")))
    w.field(ind, "summary", rust_str(desc.get("summary", "")))
    w.field(ind, "complexity", rust_str(desc.get("complexity", "")))
    w.line(ind, "doc_flags: %s," % bits(doc, ind, len("doc_flags: ")))
    w.field(ind, "deprecated_since", rust_str(desc.get("deprecated_since", "")))
    w.field(ind, "replaced_by", rust_str(desc.get("replaced_by", "")))
    w.tuple_array(ind, "history", [tuple(h) for h in desc.get("history", [])])
    w.str_array(ind, "tips", [rust_str(t.lower()) for t in desc.get("command_tips", [])])
    emit_args(w, ind, "args", desc.get("arguments", []))
    if subcommands:
        w.line(ind, "subcommands: &[")
        for sub_full, sub_desc in subcommands:
            w.line(ind + 4, "Command {")
            emit_command_body(w, ind + 8, sub_full, sub_desc, group, False, [], None)
            w.line(ind + 4, "},")
        w.line(ind, "],")
    else:
        w.field(ind, "subcommands", "&[]")
    # A subcommand is run by its container's handler; its own entry is never
    # dispatched to.
    w.field(ind, "handler", handler if handler else "subcommand_entry")


def static_ident(name):
    return "C_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()


# ---------------------------------------------------------------- main


def main():
    if len(sys.argv) != 2:
        die("usage: %s PATH/TO/redis/src/commands" % sys.argv[0])
    commands, subs = load(sys.argv[1])

    missing = [n for n in HANDLERS if n not in commands]
    if missing:
        die("not top-level commands in Redis %s's JSON: %s" % (REDIS_VERSION, ", ".join(missing)))

    # The arities of the table this replaced must agree with Redis's.
    legacy = legacy_table()
    if legacy is None:
        print("note: no `commands!` macro in src/command/mod.rs; arity check skipped")
    else:
        differ = [
            "%s (ours %d, Redis %d)" % (n, a, commands[n]["arity"])
            for n, a, _ in legacy
            if n in commands and commands[n]["arity"] != a
        ]
        if differ:
            warn("arity differs from Redis %s: %s" % (REDIS_VERSION, "; ".join(differ)))
        else:
            print("arities: all %d in the `commands!` macro agree with Redis" % len(legacy))
        macro = {n: h for n, _, h in legacy}
        if macro != HANDLERS:
            gone = sorted(set(macro) - set(HANDLERS))
            new = sorted(set(HANDLERS) - set(macro))
            changed = sorted(n for n in set(macro) & set(HANDLERS) if macro[n] != HANDLERS[n])
            warn("HANDLERS differs from the `commands!` macro: only in macro %s, only in HANDLERS %s, "
                 "other handler %s" % (gone, new, changed))

    served = {}
    for name in sorted(HANDLERS):
        if name in subs:
            served[name] = served_subcommands(name, subs)
    for name, sub_names in served.items():
        print("%-8s %s" % (name, " ".join(sub_names) if sub_names else "(none)"))
    for name in sorted(SUBCOMMANDS):
        if name not in HANDLERS:
            die("SUBCOMMANDS: %s is not served" % name)

    idents = {}
    for name in HANDLERS:
        ident = static_ident(name)
        if ident in idents.values():
            die("static name clash: %s" % ident)
        idents[name] = ident

    moved = []
    w = W()
    w.line(0, "// @generated by crates/kv/tools/gen_commands.py from Redis %s's src/commands/*.json"
              " — do not edit by hand; edit the script's HANDLERS and rerun." % REDIS_VERSION)
    w.line(0, "")
    w.line(0, "use super::spec::*;")
    w.line(0, "use super::*;")
    for name in sorted(HANDLERS):
        desc = commands[name]
        group = desc["group"]
        subcommands = []
        for sub in served.get(name, []):
            sdesc = subs[name][sub]
            if sdesc.get("group") and sdesc["group"] != group:
                warn("%s|%s: group %s, container's %s" % (name, sub, sdesc["group"], group))
            subcommands.append(("%s|%s" % (name, sub), sdesc))
        for full, d in [(name, desc)] + subcommands:
            check_fields(full, d)
            check_key_specs(full, d)
            if movable_keys(d.get("key_specs", [])) != movable_keys_simple(d):
                moved.append(full)
        w.line(0, "")
        w.line(0, "pub(crate) static %s: Command = Command {" % idents[name])
        emit_command_body(w, 4, name, desc, group, True, subcommands, HANDLERS[name])
        w.line(0, "};")

    w.line(0, "")
    w.line(0, "/// How many commands and subcommands there are: the `id`s are below it.")
    w.line(0, "pub(crate) const COUNT: usize = %d;" % NEXT_ID[0])
    w.line(0, "")
    w.line(0, "/// Every command this server serves, sorted by name.")
    w.line(0, "pub(crate) static ALL: &[&Command] = &[")
    for name in sorted(HANDLERS):
        w.line(4, "&%s," % idents[name])
    w.line(0, "];")
    w.line(0, "")
    w.line(0, "/// The command named `name` (already lowercased), if this server serves it.")
    w.line(0, "pub(crate) fn lookup(name: &[u8]) -> Option<&'static Command> {")
    w.line(4, "match name {")
    for name in sorted(HANDLERS):
        w.line(8, "b%s => Some(&%s)," % (rust_str(name), idents[name]))
    w.line(8, "_ => None,")
    w.line(4, "}")
    w.line(0, "}")

    with open(OUT, "w", encoding="utf-8") as f:
        f.write("\n".join(w.lines) + "\n")
    print("wrote %s: %d commands, %d subcommands, %d lines" % (
        os.path.relpath(OUT, CRATE), len(HANDLERS), sum(len(v) for v in served.values()),
        len(w.lines)))
    if moved:
        print("note: MOVABLE_KEYS follows Redis 7.0.15 (populateCommandLegacyRangeSpec), which "
              "differs from 'non index+range spec or getkeys function' for: " + ", ".join(moved))
    if warnings:
        print("%d warning(s), see above" % len(warnings))


if __name__ == "__main__":
    main()
