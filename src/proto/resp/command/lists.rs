//! List commands (the blocking and moving ones live in `blocking`).

use super::*;

pub(super) fn new_list() -> Value {
    Value::List(Box::default())
}

pub(super) fn push(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>, left: bool) {
    let e = c.store.get_or_insert_with(a.get(1), c.now, new_list);
    let Value::List(l) = &mut e.value else {
        return reply::error(out, WRONGTYPE);
    };
    for v in a.iter_from(2) {
        if left {
            l.push_front(v.into());
        } else {
            l.push_back(v.into());
        }
    }
    reply::int(out, l.len() as i64);
}

pub(super) fn lpush(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    push(c, a, out, true)
}

pub(super) fn rpush(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    push(c, a, out, false)
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
    let take = |l: &mut VecDeque<Bytes>| if left { l.pop_front() } else { l.pop_back() };
    match count {
        None => match take(l) {
            Some(v) => reply::bulk(out, &v),
            None => reply::nil(out),
        },
        Some(n) => {
            let n = n.min(l.len());
            reply::array(out, n);
            for _ in 0..n {
                if let Some(v) = take(l) {
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
) -> Result<Option<&'s mut VecDeque<Bytes>>, ()> {
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
            for v in l.range(s..=e) {
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
    let i = if idx < 0 { idx + len as i64 } else { idx };
    (i >= 0 && i < len as i64).then_some(i as usize)
}

pub(super) fn lindex(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let Some(idx) = parse_i64(a.get(2)) else {
        return reply::error(out, NOT_INT);
    };
    if let Ok(l) = list(c, a.get(1), out) {
        match l.and_then(|l| list_index(idx, l.len()).and_then(|i| l.get(i))) {
            Some(v) => reply::bulk(out, v),
            None => reply::nil(out),
        }
    }
}

pub(super) fn lset(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let Some(idx) = parse_i64(a.get(2)) else {
        return reply::error(out, NOT_INT);
    };
    let val = a.get(3);
    match list(c, a.get(1), out) {
        Err(()) => {}
        Ok(None) => reply::error(out, NO_KEY),
        Ok(Some(l)) => match list_index(idx, l.len()).and_then(|i| l.get_mut(i)) {
            Some(slot) => {
                *slot = val.into();
                reply::ok(out);
            }
            None => reply::error(out, b"ERR index out of range"),
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
    let limit = if count == 0 {
        usize::MAX
    } else {
        usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX)
    };
    let mut removed = 0usize;
    if count >= 0 {
        let mut i = 0;
        while i < l.len() && removed < limit {
            if *l[i] == *val {
                l.remove(i);
                removed += 1;
            } else {
                i += 1;
            }
        }
    } else {
        let mut i = l.len();
        while i > 0 && removed < limit {
            i -= 1;
            if *l[i] == *val {
                l.remove(i);
                removed += 1;
            }
        }
    }
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
        match range(start, end, l.len()) {
            None => l.clear(),
            Some((s, e)) => {
                l.truncate(e + 1);
                l.drain(..s);
            }
        }
        if l.is_empty() {
            c.store.remove_if_empty(key);
        }
    }
    reply::ok(out);
}
