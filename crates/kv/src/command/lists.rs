//! List commands (the blocking and moving ones live in `blocking`).

use super::*;
use crate::values::list::{Fill, List};

pub(super) fn new_list() -> Value {
    Value::List(List::new())
}

/// The node limits lists are packed under now (`list-max-listpack-size`).
fn fill(c: &Ctx<'_, '_>) -> Fill {
    Fill::new(c.shared.encoding_limits().list_size)
}

/// LPUSH/RPUSH, and with `xx` LPUSHX/RPUSHX (which push only onto an existing list).
pub(super) fn push(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>, left: bool, xx: bool) {
    let fill = fill(c);
    let key = a.get(1);
    if xx {
        match list(c, key, out) {
            Err(()) => return,
            Ok(None) => return reply::int(out, 0),
            Ok(Some(_)) => {}
        }
    }
    let e = c.store.get_or_insert_with(key, c.now, new_list);
    let Value::List(l) = &mut e.value else {
        return reply::error(out, WRONGTYPE);
    };
    for v in a.iter_from(2) {
        l.push(v, left, fill);
    }
    reply::int(out, l.len() as i64);
    c.modified(key);
    let event = if left { "lpush" } else { "rpush" };
    c.notify(crate::notify::LIST, event, key);
}

pub(super) fn lpush(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    push(c, a, out, true, false)
}

pub(super) fn rpush(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    push(c, a, out, false, false)
}

pub(super) fn lpushx(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    push(c, a, out, true, true)
}

pub(super) fn rpushx(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    push(c, a, out, false, true)
}

/// The optional COUNT of LPOP/RPOP/SPOP/ZPOPMIN: a non-negative integer, anything
/// else is "value is out of range, must be positive" (Redis words both cases so).
pub(super) fn pop_count(
    a: &Argv<'_>,
    name: &[u8],
    out: &mut Reply<'_>,
) -> Result<Option<usize>, ()> {
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

pub(super) fn pop(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>, left: bool) {
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
    if count == Some(0) {
        // Redis's fast exit, after the type check: nothing popped, nothing reported.
        return reply::array(out, 0);
    }
    match count {
        None => match l.pop(left) {
            Some(v) => reply::bulk(out, &v),
            None => reply::nil(out),
        },
        Some(n) => {
            let n = n.min(l.len());
            reply::array(out, n);
            for _ in 0..n {
                if let Some(v) = l.pop(left) {
                    reply::bulk(out, &v);
                }
            }
        }
    }
    let deleted = l.is_empty();
    if deleted {
        c.store.remove_if_empty(key);
    }
    elements_removed(c, key, left, deleted);
}

/// What a pop reports (Redis's `listElementsRemoved`): the pop's event, `del`
/// if it emptied (and so deleted) the list, then the change.
fn elements_removed(c: &mut Ctx<'_, '_>, key: &[u8], left: bool, deleted: bool) {
    c.notify(crate::notify::LIST, if left { "lpop" } else { "rpop" }, key);
    if deleted {
        c.notify(crate::notify::GENERIC, "del", key);
    }
    c.modified(key);
}

pub(super) fn lpop(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    pop(c, a, out, true)
}

pub(super) fn rpop(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    pop(c, a, out, false)
}

/// The live list at `key`: Ok(None) if missing, Err after replying WRONGTYPE.
pub(super) fn list<'s>(
    c: &'s mut Ctx<'_, '_>,
    key: &[u8],
    out: &mut Reply<'_>,
) -> Result<Option<&'s mut List>, ()> {
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
pub(super) fn range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
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

pub(super) fn lrange(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
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
            for v in l.range(s, e) {
                reply::bulk(out, v);
            }
        }
    }
}

pub(super) fn llen(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    if let Ok(l) = list(c, a.get(1), out) {
        reply::int(out, l.map_or(0, |l| l.len()) as i64);
    }
}

pub(super) fn list_index(idx: i64, len: usize) -> Option<usize> {
    let i = if idx < 0 {
        idx.saturating_add(len as i64)
    } else {
        idx
    };
    (i >= 0 && i < len as i64).then_some(i as usize)
}

/// LINDEX: as in Redis the key is looked up before the index is parsed, so a
/// missing key answers nil whatever the index.
pub(super) fn lindex(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let Ok(l) = list(c, a.get(1), out) else {
        return;
    };
    let Some(l) = l else {
        return reply::nil(out);
    };
    let Some(idx) = parse_i64(a.get(2)) else {
        return reply::error(out, NOT_INT);
    };
    match list_index(idx, l.len()).and_then(|i| l.get(i)) {
        Some(v) => reply::bulk(out, v),
        None => reply::nil(out),
    }
}

/// LSET: the key first ("no such key"), then the index.
pub(super) fn lset(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let fill = fill(c);
    let (key, val) = (a.get(1), a.get(3));
    let l = match list(c, key, out) {
        Err(()) => return,
        Ok(None) => return reply::error(out, NO_KEY),
        Ok(Some(l)) => l,
    };
    let Some(idx) = parse_i64(a.get(2)) else {
        return reply::error(out, NOT_INT);
    };
    if !list_index(idx, l.len()).is_some_and(|i| l.set(i, val, fill)) {
        return reply::error(out, b"ERR index out of range");
    }
    reply::ok(out);
    c.modified(key);
    c.notify(crate::notify::LIST, "lset", key);
}

/// LINSERT key BEFORE|AFTER pivot element: the new length, -1 if the pivot is
/// not there, 0 if the key is not.
pub(super) fn linsert(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let where_ = a.get(2);
    let after = if where_.eq_ignore_ascii_case(b"after") {
        true
    } else if where_.eq_ignore_ascii_case(b"before") {
        false
    } else {
        return reply::error(out, SYNTAX);
    };
    let fill = fill(c);
    let key = a.get(1);
    let l = match list(c, key, out) {
        Err(()) => return,
        Ok(None) => return reply::int(out, 0),
        Ok(Some(l)) => l,
    };
    if !l.insert(a.get(3), a.get(4), after, fill) {
        return reply::int(out, -1);
    }
    reply::int(out, l.len() as i64);
    c.modified(key);
    c.notify(crate::notify::LIST, "linsert", key);
}

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]: the options are
/// checked before the key, as Redis does.
pub(super) fn lpos(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let mut rank = 1i64;
    let mut count: Option<usize> = None;
    let mut maxlen = 0usize;
    let mut j = 3;
    while j < a.len() {
        let opt = a.get(j);
        let more = j + 1 < a.len();
        // COUNT and MAXLEN: anything but a non-negative integer is refused
        // with the option's own message.
        let non_negative = |v: &[u8], msg: &[u8], out: &mut Reply<'_>| match parse_i64(v) {
            Some(n) if n >= 0 => Some(usize::try_from(n).unwrap_or(usize::MAX)),
            _ => {
                reply::error(out, msg);
                None
            }
        };
        if opt.eq_ignore_ascii_case(b"rank") && more {
            j += 1;
            match parse_i64(a.get(j)) {
                None => return reply::error(out, NOT_INT),
                Some(0) => {
                    return reply::error(
                        out,
                        b"ERR RANK can't be zero: use 1 to start from the first match, \
2 from the second ... or use negative to start from the end of the list",
                    )
                }
                Some(r) => rank = r,
            }
        } else if opt.eq_ignore_ascii_case(b"count") && more {
            j += 1;
            match non_negative(a.get(j), b"ERR COUNT can't be negative", out) {
                Some(n) => count = Some(n),
                None => return,
            }
        } else if opt.eq_ignore_ascii_case(b"maxlen") && more {
            j += 1;
            match non_negative(a.get(j), b"ERR MAXLEN can't be negative", out) {
                Some(n) => maxlen = n,
                None => return,
            }
        } else {
            return reply::error(out, SYNTAX);
        }
        j += 1;
    }
    let Ok(l) = list(c, a.get(1), out) else {
        return;
    };
    let found = match l {
        Some(l) => l.positions(a.get(2), rank, count.unwrap_or(1), maxlen),
        None => Vec::new(),
    };
    match count {
        Some(_) => {
            reply::array(out, found.len());
            for i in found {
                reply::int(out, i as i64);
            }
        }
        None => match found.first() {
            Some(&i) => reply::int(out, i as i64),
            None => reply::nil(out),
        },
    }
}

pub(super) fn lrem(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
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
    let removed = l.remove(val, count);
    let deleted = l.is_empty();
    if deleted {
        c.store.remove_if_empty(key);
    }
    if removed > 0 {
        c.modified(key);
        c.notify(crate::notify::LIST, "lrem", key);
    }
    if deleted {
        c.notify(crate::notify::GENERIC, "del", key);
    }
    reply::int(out, removed as i64);
}

pub(super) fn ltrim(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let (Some(start), Some(end)) = (parse_i64(a.get(2)), parse_i64(a.get(3))) else {
        return reply::error(out, NOT_INT);
    };
    let key = a.get(1);
    let Ok(l) = list(c, key, out) else {
        return;
    };
    let Some(l) = l else {
        return reply::ok(out);
    };
    l.trim(range(start, end, l.len()));
    let deleted = l.is_empty();
    if deleted {
        c.store.remove_if_empty(key);
    }
    // As Redis, reported even when the range kept the whole list (WATCH sees
    // it). Redis then counts no change and records nothing; `modified` counts one.
    c.notify(crate::notify::LIST, "ltrim", key);
    if deleted {
        c.notify(crate::notify::GENERIC, "del", key);
    }
    c.modified(key);
    reply::ok(out);
}

#[cfg(test)]
mod tests {
    use crate::store::Value;
    use crate::testutil::Harness;
    use proptest::prelude::*;

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

    fn ints(items: &[i64]) -> String {
        let mut s = format!("*{}\r\n", items.len());
        for i in items {
            s.push_str(&format!(":{i}\r\n"));
        }
        s
    }

    /// Whether `key` of database 0 holds a packed list.
    fn packed(h: &Harness, key: &str) -> Option<bool> {
        match &h.svc.shared.db(0).borrow().peek(key.as_bytes())?.value {
            Value::List(l) => Some(l.is_packed()),
            _ => None,
        }
    }

    #[test]
    fn linsert() {
        let mut h = Harness::new();
        assert_eq!(h.cmd(&["LINSERT", "l", "BEFORE", "a", "x"]), ":0\r\n");
        assert_eq!(h.cmd(&["EXISTS", "l"]), ":0\r\n");
        assert_eq!(h.cmd(&["LINSERT", "l", "middle", "a", "x"]), SYNTAX);
        h.cmd(&["RPUSH", "l", "a", "b", "c", "b"]);
        assert_eq!(h.cmd(&["LINSERT", "l", "before", "b", "x"]), ":5\r\n");
        assert_eq!(h.cmd(&["LINSERT", "l", "AFTER", "b", "y"]), ":6\r\n");
        assert_eq!(h.cmd(&["LINSERT", "l", "after", "c", "z"]), ":7\r\n");
        assert_eq!(h.cmd(&["LINSERT", "l", "after", "nope", "z"]), ":-1\r\n");
        assert_eq!(
            h.cmd(&["LRANGE", "l", "0", "-1"]),
            arr(&["a", "x", "b", "y", "c", "z", "b"])
        );
        assert_eq!(
            h.cmd(&["LINSERT", "l", "after", "b"]),
            "-ERR wrong number of arguments for 'linsert' command\r\n"
        );
        h.cmd(&["SET", "s", "v"]);
        assert_eq!(h.cmd(&["LINSERT", "s", "after", "b", "c"]), WT);
        // The syntax is checked before the type.
        assert_eq!(h.cmd(&["LINSERT", "s", "around", "b", "c"]), SYNTAX);
    }

    #[test]
    fn lpos() {
        let mut h = Harness::new();
        h.cmd(&["RPUSH", "l", "a", "b", "c", "1", "2", "3", "c", "c"]);
        assert_eq!(h.cmd(&["LPOS", "l", "a"]), ":0\r\n");
        assert_eq!(h.cmd(&["LPOS", "l", "c"]), ":2\r\n");
        assert_eq!(h.cmd(&["LPOS", "l", "c", "RANK", "2"]), ":6\r\n");
        assert_eq!(h.cmd(&["LPOS", "l", "c", "RANK", "4"]), "$-1\r\n");
        assert_eq!(h.cmd(&["LPOS", "l", "c", "rank", "-1"]), ":7\r\n");
        assert_eq!(
            h.cmd(&["LPOS", "l", "c", "RANK", "0"]),
            "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the \
             second ... or use negative to start from the end of the list\r\n"
        );
        assert_eq!(h.cmd(&["LPOS", "l", "c", "COUNT", "0"]), ints(&[2, 6, 7]));
        assert_eq!(h.cmd(&["LPOS", "l", "c", "COUNT", "2"]), ints(&[2, 6]));
        assert_eq!(
            h.cmd(&["LPOS", "l", "c", "COUNT", "2", "RANK", "-1"]),
            ints(&[7, 6])
        );
        assert_eq!(
            h.cmd(&["LPOS", "l", "c", "COUNT", "0", "MAXLEN", "3", "RANK", "-1"]),
            ints(&[7, 6])
        );
        assert_eq!(
            h.cmd(&["LPOS", "l", "c", "COUNT", "0", "MAXLEN", "7", "RANK", "2"]),
            ints(&[6])
        );
        assert_eq!(h.cmd(&["LPOS", "l", "x", "COUNT", "2"]), "*0\r\n");
        assert_eq!(h.cmd(&["LPOS", "nokey", "x", "COUNT", "2"]), "*0\r\n");
        assert_eq!(h.cmd(&["LPOS", "nokey", "x"]), "$-1\r\n");
        assert_eq!(
            h.cmd(&["LPOS", "l", "c", "COUNT", "-1"]),
            "-ERR COUNT can't be negative\r\n"
        );
        assert_eq!(
            h.cmd(&["LPOS", "l", "c", "COUNT", "x"]),
            "-ERR COUNT can't be negative\r\n"
        );
        assert_eq!(
            h.cmd(&["LPOS", "l", "c", "MAXLEN", "-1"]),
            "-ERR MAXLEN can't be negative\r\n"
        );
        assert_eq!(h.cmd(&["LPOS", "l", "c", "RANK", "x"]), NOT_INT);
        assert_eq!(h.cmd(&["LPOS", "l", "c", "RANK"]), SYNTAX);
        assert_eq!(h.cmd(&["LPOS", "l", "c", "FOO", "1"]), SYNTAX);
        // Options are checked before the key.
        assert_eq!(
            h.cmd(&["LPOS", "nokey", "c", "RANK", "0"]).get(..9),
            Some("-ERR RANK")
        );
        h.cmd(&["SET", "s", "v"]);
        assert_eq!(h.cmd(&["LPOS", "s", "c"]), WT);
        assert_eq!(
            h.cmd(&["LPOS", "s", "c", "COUNT", "-1"]),
            "-ERR COUNT can't be negative\r\n"
        );
        assert_eq!(
            h.cmd(&["LPOS", "l", "c", "RANK", "-9223372036854775808"]),
            "$-1\r\n"
        );
    }

    #[test]
    fn pushx() {
        let mut h = Harness::new();
        assert_eq!(h.cmd(&["LPUSHX", "l", "a"]), ":0\r\n");
        assert_eq!(h.cmd(&["RPUSHX", "l", "a", "b"]), ":0\r\n");
        assert_eq!(h.cmd(&["EXISTS", "l"]), ":0\r\n");
        h.cmd(&["RPUSH", "l", "m"]);
        assert_eq!(h.cmd(&["LPUSHX", "l", "a", "b"]), ":3\r\n");
        assert_eq!(h.cmd(&["RPUSHX", "l", "y", "z"]), ":5\r\n");
        assert_eq!(
            h.cmd(&["LRANGE", "l", "0", "-1"]),
            arr(&["b", "a", "m", "y", "z"])
        );
        h.cmd(&["SET", "s", "v"]);
        assert_eq!(h.cmd(&["LPUSHX", "s", "a"]), WT);
        assert_eq!(h.cmd(&["RPUSHX", "s", "a"]), WT);
        assert_eq!(
            h.cmd(&["LPUSHX", "l"]),
            "-ERR wrong number of arguments for 'lpushx' command\r\n"
        );
    }

    #[test]
    fn index_set_edges() {
        let mut h = Harness::new();
        // The key is looked up before the index is parsed.
        assert_eq!(h.cmd(&["LINDEX", "l", "x"]), "$-1\r\n");
        assert_eq!(h.cmd(&["LSET", "l", "x", "v"]), "-ERR no such key\r\n");
        h.cmd(&["RPUSH", "l", "a", "b", "c"]);
        assert_eq!(h.cmd(&["LINDEX", "l", "x"]), NOT_INT);
        assert_eq!(h.cmd(&["LSET", "l", "x", "v"]), NOT_INT);
        assert_eq!(h.cmd(&["LINDEX", "l", "-3"]), bulk("a"));
        assert_eq!(h.cmd(&["LINDEX", "l", "-4"]), "$-1\r\n");
        assert_eq!(h.cmd(&["LINDEX", "l", "-9223372036854775808"]), "$-1\r\n");
        assert_eq!(
            h.cmd(&["LSET", "l", "3", "v"]),
            "-ERR index out of range\r\n"
        );
        assert_eq!(h.cmd(&["LSET", "l", "-1", "z"]), "+OK\r\n");
        assert_eq!(h.cmd(&["LRANGE", "l", "0", "-1"]), arr(&["a", "b", "z"]));
        assert_eq!(
            h.cmd(&["LRANGE", "l", "-100", "100"]),
            arr(&["a", "b", "z"])
        );
        assert_eq!(h.cmd(&["LRANGE", "l", "2", "1"]), "*0\r\n");
        assert_eq!(h.cmd(&["LRANGE", "l", "x", "1"]), NOT_INT);
        h.cmd(&["SET", "s", "v"]);
        assert_eq!(h.cmd(&["LINDEX", "s", "x"]), WT);
        assert_eq!(h.cmd(&["LSET", "s", "x", "v"]), WT);
    }

    #[test]
    fn lrem_and_ltrim() {
        let mut h = Harness::new();
        h.cmd(&["RPUSH", "l", "x", "a", "x", "b", "x", "c", "x"]);
        assert_eq!(h.cmd(&["LREM", "l", "-2", "x"]), ":2\r\n");
        assert_eq!(
            h.cmd(&["LRANGE", "l", "0", "-1"]),
            arr(&["x", "a", "x", "b", "c"])
        );
        assert_eq!(h.cmd(&["LREM", "l", "1", "x"]), ":1\r\n");
        assert_eq!(h.cmd(&["LREM", "l", "0", "x"]), ":1\r\n");
        assert_eq!(h.cmd(&["LREM", "l", "0", "x"]), ":0\r\n");
        assert_eq!(h.cmd(&["LRANGE", "l", "0", "-1"]), arr(&["a", "b", "c"]));
        assert_eq!(h.cmd(&["LTRIM", "l", "1", "-1"]), "+OK\r\n");
        assert_eq!(h.cmd(&["LRANGE", "l", "0", "-1"]), arr(&["b", "c"]));
        assert_eq!(h.cmd(&["LTRIM", "l", "5", "10"]), "+OK\r\n");
        assert_eq!(h.cmd(&["EXISTS", "l"]), ":0\r\n");
        assert_eq!(h.cmd(&["LTRIM", "l", "x", "1"]), NOT_INT);
        h.cmd(&["RPUSH", "l", "x"]);
        assert_eq!(h.cmd(&["LREM", "l", "0", "x"]), ":1\r\n");
        assert_eq!(h.cmd(&["EXISTS", "l"]), ":0\r\n");
    }

    #[test]
    fn lists_unpack_past_the_node_limit() {
        let mut h = Harness::new();
        h.cmd(&["CONFIG", "SET", "list-max-listpack-size", "3"]);
        h.cmd(&["RPUSH", "l", "a", "b", "c"]);
        assert_eq!(packed(&h, "l"), Some(true));
        assert_eq!(h.cmd(&["OBJECT", "ENCODING", "l"]), bulk("quicklist"));
        h.cmd(&["LINSERT", "l", "after", "a", "x"]);
        assert_eq!(packed(&h, "l"), Some(false));
        assert_eq!(h.cmd(&["OBJECT", "ENCODING", "l"]), bulk("quicklist"));
        assert_eq!(
            h.cmd(&["LRANGE", "l", "0", "-1"]),
            arr(&["a", "x", "b", "c"])
        );
        // The default, 8 KiB nodes: a long element unpacks.
        h.cmd(&["CONFIG", "SET", "list-max-listpack-size", "-2"]);
        h.cmd(&["RPUSH", "m", "a"]);
        assert_eq!(packed(&h, "m"), Some(true));
        h.cmd(&["LSET", "m", "0", &"x".repeat(9000)]);
        assert_eq!(packed(&h, "m"), Some(false));
        // Moves honour the limits of the destination.
        h.cmd(&["CONFIG", "SET", "list-max-listpack-size", "1"]);
        h.cmd(&["RPUSH", "src", "1", "2"]);
        assert_eq!(packed(&h, "src"), Some(false));
        assert_eq!(h.cmd(&["LMOVE", "src", "dst", "LEFT", "RIGHT"]), bulk("1"));
        assert_eq!(packed(&h, "dst"), Some(true));
        assert_eq!(h.cmd(&["LMOVE", "src", "dst", "LEFT", "RIGHT"]), bulk("2"));
        assert_eq!(packed(&h, "dst"), Some(false));
    }

    /// One command of the random stream, on keys `a` and `b`.
    fn command() -> impl Strategy<Value = Vec<String>> {
        let key = prop_oneof![Just("a"), Just("b")].prop_map(String::from);
        let elem = prop_oneof![
            4 => (0..4u8).prop_map(|v| ((b'p' + v) as char).to_string()),
            1 => (0..3usize).prop_map(|n| "L".repeat(100 + n)),
        ];
        let idx = -6..6i64;
        let s = |v: &str| v.to_string();
        prop_oneof![
            (
                key.clone(),
                proptest::collection::vec(elem.clone(), 1..4),
                any::<bool>()
            )
                .prop_map(move |(k, vs, left)| {
                    let mut c = vec![s(if left { "LPUSH" } else { "RPUSH" }), k];
                    c.extend(vs);
                    c
                }),
            (key.clone(), elem.clone(), any::<bool>()).prop_map(move |(k, v, left)| vec![
                s(if left { "LPUSHX" } else { "RPUSHX" }),
                k,
                v
            ]),
            (key.clone(), any::<bool>(), 0..3usize).prop_map(move |(k, left, n)| {
                let mut c = vec![s(if left { "LPOP" } else { "RPOP" }), k];
                if n > 0 {
                    c.push(n.to_string());
                }
                c
            }),
            (key.clone(), idx.clone(), idx.clone()).prop_map(move |(k, a, b)| vec![
                s("LRANGE"),
                k,
                a.to_string(),
                b.to_string()
            ]),
            (key.clone(), idx.clone()).prop_map(move |(k, i)| vec![s("LINDEX"), k, i.to_string()]),
            (key.clone(), idx.clone(), elem.clone()).prop_map(move |(k, i, v)| vec![
                s("LSET"),
                k,
                i.to_string(),
                v
            ]),
            (key.clone(), any::<bool>(), elem.clone(), elem.clone()).prop_map(
                move |(k, after, p, v)| vec![
                    s("LINSERT"),
                    k,
                    s(if after { "AFTER" } else { "BEFORE" }),
                    p,
                    v
                ]
            ),
            (key.clone(), -3..3i64, elem.clone()).prop_map(move |(k, n, v)| vec![
                s("LREM"),
                k,
                n.to_string(),
                v
            ]),
            (key.clone(), idx.clone(), idx.clone()).prop_map(move |(k, a, b)| vec![
                s("LTRIM"),
                k,
                a.to_string(),
                b.to_string()
            ]),
            (key.clone(), elem.clone(), -3..3i64, 0..3usize, 0..4usize).prop_map(
                move |(k, v, rank, count, maxlen)| {
                    let mut c = vec![s("LPOS"), k, v];
                    if rank != 0 {
                        c.extend([s("RANK"), rank.to_string()]);
                    }
                    if count > 0 {
                        c.extend([s("COUNT"), (count - 1).to_string()]);
                    }
                    if maxlen > 0 {
                        c.extend([s("MAXLEN"), (maxlen - 1).to_string()]);
                    }
                    c
                }
            ),
            (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(move |(ab, l, r)| {
                let (from, to) = if ab { ("a", "b") } else { ("b", "a") };
                let side = |x: bool| s(if x { "LEFT" } else { "RIGHT" });
                vec![s("LMOVE"), s(from), s(to), side(l), side(r)]
            }),
            key.clone().prop_map(move |k| vec![s("LLEN"), k]),
            key.prop_map(move |k| vec![s("OBJECT"), s("ENCODING"), k]),
        ]
    }

    /// Run `cmds` with `list-max-listpack-size` = `size`; the replies, and
    /// whether every list stayed packed throughout.
    fn run(cmds: &[Vec<String>], size: &str) -> (Vec<String>, bool) {
        let mut h = Harness::new();
        assert_eq!(
            h.cmd(&["CONFIG", "SET", "list-max-listpack-size", size]),
            "+OK\r\n"
        );
        let mut all_packed = true;
        let replies = cmds
            .iter()
            .map(|c| {
                let args: Vec<&str> = c.iter().map(String::as_str).collect();
                let r = h.cmd(&args);
                for k in ["a", "b"] {
                    all_packed &= packed(&h, k) != Some(false);
                }
                r
            })
            .collect();
        (replies, all_packed)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// The same commands give the same replies whether lists stay packed
        /// (64 KiB nodes) or unpack at their second element.
        #[test]
        fn encoding_does_not_change_replies(cmds in proptest::collection::vec(command(), 1..60)) {
            let (compact, stayed) = run(&cmds, "-5");
            let (large, _) = run(&cmds, "1");
            prop_assert!(stayed, "a list under 64 KiB unpacked");
            prop_assert_eq!(compact, large);
        }
    }
}
