//! List commands (the blocking and moving ones live in `blocking`).

use super::*;
use crate::proto::resp::values::list::{Fill, List};

pub(super) fn new_list() -> Value {
    Value::List(List::new())
}

/// The node limits lists are packed under now (`list-max-listpack-size`).
fn fill(c: &Ctx<'_, '_>) -> Fill {
    Fill::new(c.shared.encoding_limits().list_size)
}

/// LPUSH/RPUSH, and with `xx` LPUSHX/RPUSHX (which push only onto an existing list).
pub(super) fn push(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>, left: bool, xx: bool) {
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
}

pub(super) fn lpush(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    push(c, a, out, true, false)
}

pub(super) fn rpush(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    push(c, a, out, false, false)
}

pub(super) fn lpushx(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    push(c, a, out, true, true)
}

pub(super) fn rpushx(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    push(c, a, out, false, true)
}

/// The optional COUNT of LPOP/RPOP/SPOP/ZPOPMIN: a non-negative integer, anything
/// else is "value is out of range, must be positive" (Redis words both cases so).
pub(super) fn pop_count(a: &Argv<'_>, name: &[u8], out: &mut Vec<u8>) -> Result<Option<usize>, ()> {
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

pub(super) fn pop(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>, left: bool) {
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
    if l.is_empty() {
        c.store.remove_if_empty(key);
    }
}

pub(super) fn lpop(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    pop(c, a, out, true)
}

pub(super) fn rpop(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    pop(c, a, out, false)
}

/// The live list at `key`: Ok(None) if missing, Err after replying WRONGTYPE.
pub(super) fn list<'s>(
    c: &'s mut Ctx<'_, '_>,
    key: &[u8],
    out: &mut Vec<u8>,
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

pub(super) fn lrange(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
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

pub(super) fn llen(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
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
pub(super) fn lindex(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
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
pub(super) fn lset(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let fill = fill(c);
    let val = a.get(3);
    match list(c, a.get(1), out) {
        Err(()) => {}
        Ok(None) => reply::error(out, NO_KEY),
        Ok(Some(l)) => {
            let Some(idx) = parse_i64(a.get(2)) else {
                return reply::error(out, NOT_INT);
            };
            match list_index(idx, l.len()) {
                Some(i) if l.set(i, val, fill) => reply::ok(out),
                _ => reply::error(out, b"ERR index out of range"),
            }
        }
    }
}

/// LINSERT key BEFORE|AFTER pivot element: the new length, -1 if the pivot is
/// not there, 0 if the key is not.
pub(super) fn linsert(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let where_ = a.get(2);
    let after = if where_.eq_ignore_ascii_case(b"after") {
        true
    } else if where_.eq_ignore_ascii_case(b"before") {
        false
    } else {
        return reply::error(out, SYNTAX);
    };
    let fill = fill(c);
    match list(c, a.get(1), out) {
        Err(()) => {}
        Ok(None) => reply::int(out, 0),
        Ok(Some(l)) => {
            if l.insert(a.get(3), a.get(4), after, fill) {
                reply::int(out, l.len() as i64);
            } else {
                reply::int(out, -1);
            }
        }
    }
}

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]: the options are
/// checked before the key, as Redis does.
pub(super) fn lpos(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let mut rank = 1i64;
    let mut count: Option<usize> = None;
    let mut maxlen = 0usize;
    let mut j = 3;
    while j < a.len() {
        let opt = a.get(j);
        let more = j + 1 < a.len();
        // COUNT and MAXLEN: anything but a non-negative integer is refused
        // with the option's own message.
        let non_negative = |v: &[u8], msg: &[u8], out: &mut Vec<u8>| match parse_i64(v) {
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

pub(super) fn lrem(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
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
    if l.is_empty() {
        c.store.remove_if_empty(key);
    }
    reply::int(out, removed as i64);
}

pub(super) fn ltrim(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let (Some(start), Some(end)) = (parse_i64(a.get(2)), parse_i64(a.get(3))) else {
        return reply::error(out, NOT_INT);
    };
    let key = a.get(1);
    let Ok(l) = list(c, key, out) else {
        return;
    };
    if let Some(l) = l {
        l.trim(range(start, end, l.len()));
        if l.is_empty() {
            c.store.remove_if_empty(key);
        }
    }
    reply::ok(out);
}
