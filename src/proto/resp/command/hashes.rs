//! Hash commands.

use super::*;

type Hash = HashMap<Bytes, Bytes, Hasher>;

pub(super) fn new_hash() -> Value {
    Value::Hash(Box::default())
}

pub(super) fn hash<'s>(
    c: &'s mut Ctx<'_, '_>,
    key: &[u8],
    out: &mut Vec<u8>,
) -> Result<Option<&'s mut Hash>, ()> {
    match c.store.get(key, c.now) {
        None => Ok(None),
        Some(Entry {
            value: Value::Hash(h),
            ..
        }) => Ok(Some(h)),
        Some(_) => {
            reply::error(out, WRONGTYPE);
            Err(())
        }
    }
}

/// HSET/HMSET: returns the number of fields added, or None after an error reply.
pub(super) fn hset_generic(
    c: &mut Ctx<'_, '_>,
    a: Argv<'_>,
    out: &mut Vec<u8>,
    name: &[u8],
) -> Option<i64> {
    if a.len() % 2 == 1 {
        arity_error(out, name);
        return None;
    }
    let e = c.store.get_or_insert_with(a.get(1), c.now, new_hash);
    let Value::Hash(h) = &mut e.value else {
        reply::error(out, WRONGTYPE);
        return None;
    };
    let mut added = 0;
    for i in (2..a.len()).step_by(2) {
        let (f, v) = (a.get(i), a.get(i + 1));
        match h.get_mut(f) {
            Some(slot) => *slot = v.into(),
            None => {
                h.insert(f.into(), v.into());
                added += 1;
            }
        }
    }
    Some(added)
}

pub(super) fn hset(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    if let Some(n) = hset_generic(c, a, out, b"hset") {
        reply::int(out, n);
    }
}

pub(super) fn hmset(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    if hset_generic(c, a, out, b"hmset").is_some() {
        reply::ok(out);
    }
}

pub(super) fn hget(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let f = a.get(2);
    if let Ok(h) = hash(c, a.get(1), out) {
        match h.and_then(|h| h.get(f)) {
            Some(v) => reply::bulk(out, v),
            None => reply::nil(out),
        }
    }
}

pub(super) fn hmget(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    if let Ok(h) = hash(c, a.get(1), out) {
        reply::array(out, a.len() - 2);
        for f in a.iter_from(2) {
            match h.as_ref().and_then(|h| h.get(f)) {
                Some(v) => reply::bulk(out, v),
                None => reply::nil(out),
            }
        }
    }
}

pub(super) fn hdel(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let key = a.get(1);
    let Ok(h) = hash(c, key, out) else {
        return;
    };
    let Some(h) = h else {
        return reply::int(out, 0);
    };
    let n = a.iter_from(2).filter(|f| h.remove(*f).is_some()).count();
    if h.is_empty() {
        c.store.remove_if_empty(key);
    }
    reply::int(out, n as i64);
}

pub(super) fn hlen(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    if let Ok(h) = hash(c, a.get(1), out) {
        reply::int(out, h.map_or(0, |h| h.len()) as i64);
    }
}

pub(super) fn hexists(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let f = a.get(2);
    if let Ok(h) = hash(c, a.get(1), out) {
        reply::int(out, h.is_some_and(|h| h.contains_key(f)) as i64);
    }
}

pub(super) fn hgetall_generic(
    c: &mut Ctx<'_, '_>,
    a: Argv<'_>,
    out: &mut Vec<u8>,
    keys: bool,
    vals: bool,
) {
    let Ok(h) = hash(c, a.get(1), out) else {
        return;
    };
    let Some(h) = h else {
        return reply::array(out, 0);
    };
    reply::array(out, h.len() * (keys as usize + vals as usize));
    for (k, v) in h.iter() {
        if keys {
            reply::bulk(out, k);
        }
        if vals {
            reply::bulk(out, v);
        }
    }
}

pub(super) fn hgetall(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    hgetall_generic(c, a, out, true, true)
}

pub(super) fn hkeys(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    hgetall_generic(c, a, out, true, false)
}

pub(super) fn hvals(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    hgetall_generic(c, a, out, false, true)
}

pub(super) fn hincrby(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let Some(incr) = parse_i64(a.get(3)) else {
        return reply::error(out, NOT_INT);
    };
    let f = a.get(2);
    let e = c.store.get_or_insert_with(a.get(1), c.now, new_hash);
    let Value::Hash(h) = &mut e.value else {
        return reply::error(out, WRONGTYPE);
    };
    let cur = match h.get(f) {
        None => 0,
        Some(v) => match parse_i64(v) {
            Some(n) => n,
            None => return reply::error(out, b"ERR hash value is not an integer"),
        },
    };
    let Some(n) = cur.checked_add(incr) else {
        if h.is_empty() {
            c.store.remove_if_empty(a.get(1));
        }
        return reply::error(out, OVERFLOW);
    };
    h.insert(f.into(), itoa::Buffer::new().format(n).as_bytes().into());
    reply::int(out, n);
}
