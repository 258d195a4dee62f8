//! Hash commands (Redis's t_hash.c).
//!
//! A hash is a [`Hash`](enum@Hash): a listpack while small,
//! a table once an insert passes `hash-max-listpack-entries` or writes a field or
//! value longer than `hash-max-listpack-value` (read from the shared
//! `EncodingLimits` before the entry is borrowed).

use super::super::values::hash::Hash;
use super::*;

pub(super) fn new_hash() -> Value {
    Value::Hash(Hash::new())
}

pub(super) fn hash<'s>(
    c: &'s mut Ctx<'_, '_>,
    key: &[u8],
    out: &mut Reply<'_>,
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

/// The hash at `key`, created empty if missing (Redis's
/// `hashTypeLookupWriteOrCreate`); `None` after a WRONGTYPE reply.
fn hash_for_write<'s>(
    c: &'s mut Ctx<'_, '_>,
    key: &[u8],
    out: &mut Reply<'_>,
) -> Option<&'s mut Hash> {
    let e = c.store.get_or_insert_with(key, c.now, new_hash);
    match &mut e.value {
        Value::Hash(h) => Some(h),
        _ => {
            reply::error(out, WRONGTYPE);
            None
        }
    }
}

/// HSET/HMSET: returns the number of fields added, or None after an error reply.
pub(super) fn hset_generic(
    c: &mut Ctx<'_, '_>,
    a: Argv<'_>,
    out: &mut Reply<'_>,
    name: &[u8],
) -> Option<i64> {
    if a.len() % 2 == 1 {
        arity_error(out, name);
        return None;
    }
    let limits = c.shared.encoding_limits();
    let key = a.get(1);
    let h = hash_for_write(c, key, out)?;
    let mut added = 0;
    for i in (2..a.len()).step_by(2) {
        added += h.insert(a.get(i), a.get(i + 1), &limits) as i64;
    }
    // Reported even when every value was already there, as Redis does.
    c.modified(key);
    c.notify(crate::notify::HASH, "hset", key);
    Some(added)
}

pub(super) fn hset(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    if let Some(n) = hset_generic(c, a, out, b"hset") {
        reply::int(out, n);
    }
}

pub(super) fn hmset(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    if hset_generic(c, a, out, b"hmset").is_some() {
        reply::ok(out);
    }
}

/// HSETNX key field value: set the field only if it is absent.
pub(super) fn hsetnx(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let limits = c.shared.encoding_limits();
    let key = a.get(1);
    let Some(h) = hash_for_write(c, key, out) else {
        return;
    };
    if h.contains(a.get(2)) {
        return reply::int(out, 0);
    }
    h.insert(a.get(2), a.get(3), &limits);
    reply::int(out, 1);
    c.modified(key);
    c.notify(crate::notify::HASH, "hset", key);
}

pub(super) fn hget(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let f = a.get(2);
    if let Ok(h) = hash(c, a.get(1), out) {
        match h.and_then(|h| h.get(f)) {
            Some(v) => reply::bulk(out, v),
            None => reply::nil(out),
        }
    }
}

pub(super) fn hmget(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
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

pub(super) fn hdel(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let key = a.get(1);
    let Ok(h) = hash(c, key, out) else {
        return;
    };
    let Some(h) = h else {
        return reply::int(out, 0);
    };
    let mut n = 0;
    for f in a.iter_from(2) {
        if h.remove(f) {
            n += 1;
            if h.is_empty() {
                break;
            }
        }
    }
    let deleted = h.is_empty();
    if deleted {
        c.store.remove_if_empty(key);
    }
    if n > 0 {
        c.modified(key);
        c.notify(crate::notify::HASH, "hdel", key);
        if deleted {
            c.notify(crate::notify::GENERIC, "del", key);
        }
    }
    reply::int(out, n);
}

pub(super) fn hlen(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    if let Ok(h) = hash(c, a.get(1), out) {
        reply::int(out, h.map_or(0, |h| h.len()) as i64);
    }
}

/// HSTRLEN key field: the length of the field's value (0 if absent).
pub(super) fn hstrlen(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let f = a.get(2);
    if let Ok(h) = hash(c, a.get(1), out) {
        reply::int(out, h.and_then(|h| h.get(f)).map_or(0, <[u8]>::len) as i64);
    }
}

pub(super) fn hexists(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let f = a.get(2);
    if let Ok(h) = hash(c, a.get(1), out) {
        reply::int(out, h.is_some_and(|h| h.contains(f)) as i64);
    }
}

pub(super) fn hgetall_generic(
    c: &mut Ctx<'_, '_>,
    a: Argv<'_>,
    out: &mut Reply<'_>,
    keys: bool,
    vals: bool,
) {
    let Ok(h) = hash(c, a.get(1), out) else {
        return;
    };
    let len = h.as_ref().map_or(0, |h| h.len());
    // HGETALL is a map (an array of pairs in RESP2); HKEYS and HVALS arrays.
    if keys && vals {
        reply::map(out, len);
    } else {
        reply::array(out, len);
    }
    let Some(h) = h else {
        return;
    };
    for (k, v) in h.iter() {
        if keys {
            reply::bulk(out, k);
        }
        if vals {
            reply::bulk(out, v);
        }
    }
}

pub(super) fn hgetall(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    hgetall_generic(c, a, out, true, true)
}

pub(super) fn hkeys(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    hgetall_generic(c, a, out, true, false)
}

pub(super) fn hvals(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    hgetall_generic(c, a, out, false, true)
}

pub(super) fn hincrby(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let Some(incr) = parse_i64(a.get(3)) else {
        return reply::error(out, NOT_INT);
    };
    let limits = c.shared.encoding_limits();
    let (key, f) = (a.get(1), a.get(2));
    let Some(h) = hash_for_write(c, key, out) else {
        return;
    };
    let cur = match h.get(f) {
        None => 0,
        Some(v) => match parse_i64(v) {
            Some(n) => n,
            None => return reply::error(out, b"ERR hash value is not an integer"),
        },
    };
    let Some(n) = cur.checked_add(incr) else {
        return reply::error(out, OVERFLOW);
    };
    h.insert(f, itoa::Buffer::new().format(n).as_bytes(), &limits);
    reply::int(out, n);
    c.modified(key);
    c.notify(crate::notify::HASH, "hincrby", key);
}

/// A float the way INCRBYFLOAT writes it (see strings.rs): the shortest text that
/// reads back as the same double, without an exponent; -0 is written `0`, as
/// Redis's `ld2string` does.
fn float_text(v: f64) -> String {
    let v = if v == 0.0 { 0.0 } else { v };
    format!("{v}")
}

/// HINCRBYFLOAT key field increment.
pub(super) fn hincrbyfloat(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let Some(incr) = parse_f64(a.get(3)) else {
        return reply::error(out, NOT_FLOAT);
    };
    if !incr.is_finite() {
        return reply::error(out, b"ERR value is NaN or Infinity");
    }
    let limits = c.shared.encoding_limits();
    let (key, f) = (a.get(1), a.get(2));
    let Some(h) = hash_for_write(c, key, out) else {
        return;
    };
    let cur = match h.get(f) {
        None => 0.0,
        Some(v) => match parse_f64(v) {
            Some(n) => n,
            None => return reply::error(out, b"ERR hash value is not a float"),
        },
    };
    let v = cur + incr;
    if !v.is_finite() {
        return reply::error(out, b"ERR increment would produce NaN or Infinity");
    }
    let text = float_text(v);
    h.insert(f, text.as_bytes(), &limits);
    reply::bulk(out, text.as_bytes());
    c.modified(key);
    c.notify(crate::notify::HASH, "hincrbyfloat", key);
    // Recorded as the HSET of the value written, as Redis replicates it, so a
    // replay does not depend on float arithmetic or formatting.
    c.propagate(&[b"HSET", key, f, text.as_bytes()]);
}

/// HRANDFIELD key \[count \[WITHVALUES\]\].
pub(super) fn hrandfield(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let mut count = None;
    let mut withvalues = false;
    if a.len() >= 3 {
        let Ok(n) = random_count(a.get(2), out) else {
            return;
        };
        if a.len() > 4 || (a.len() == 4 && !eq(a.get(3), b"withvalues")) {
            return reply::error(out, SYNTAX);
        }
        if a.len() == 4 {
            withvalues = true;
            if !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&n) {
                return reply::error(out, b"ERR value is out of range");
            }
        }
        count = Some(n);
    }
    let seed = c.store.random();
    let Ok(h) = hash(c, a.get(1), out) else {
        return;
    };
    let Some(h) = h else {
        return match count {
            Some(_) => reply::array(out, 0),
            None => reply::nil(out),
        };
    };
    let ix = h.indexed();
    let Some(count) = count else {
        let (f, _) = ix
            .get(Rng::new(seed).below(h.len()))
            .expect("a stored hash is not empty");
        return reply::bulk(out, f);
    };
    let picks = Picks::new(Rng::new(seed), h.len(), count);
    let per = 1 + withvalues as usize;
    reply_picks(out, picks, per, RANDOM_REPLY_LIMIT, |i, out| {
        if let Some((f, v)) = ix.get(i) {
            reply::bulk(out, f);
            if withvalues {
                reply::bulk(out, v);
            }
        }
    });
}

#[cfg(test)]
mod tests;
