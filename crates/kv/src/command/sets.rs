//! Set commands. A set is an intset while it holds few integers, a hash table
//! otherwise (see `values::set`); every command here works on both.

use super::*;
use crate::values::set::Set;

/// The set at `key`: `Ok(None)` if there is none, `Err` after a WRONGTYPE reply.
pub(super) fn set_of<'s>(
    c: &'s mut Ctx<'_, '_>,
    key: &[u8],
    out: &mut Reply<'_>,
) -> Result<Option<&'s mut Set>, ()> {
    match c.store.get(key, c.now) {
        None => Ok(None),
        Some(Entry {
            value: Value::Set(s),
            ..
        }) => Ok(Some(s)),
        Some(_) => {
            reply::error(out, WRONGTYPE);
            Err(())
        }
    }
}

/// SADD key member \[member ...\].
pub(super) fn sadd(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let key = a.get(1);
    let limits = c.shared.encoding_limits();
    let e = c
        .store
        .get_or_insert_with(key, c.now, || Value::Set(Set::new()));
    let Value::Set(s) = &mut e.value else {
        return reply::error(out, WRONGTYPE);
    };
    let added = a.iter_from(2).filter(|m| s.insert(m, &limits)).count();
    // Members already there change nothing.
    if added > 0 {
        c.modified(key);
        c.notify(crate::notify::SET, "sadd", key);
    }
    reply::int(out, added as i64);
}

/// SREM key member \[member ...\].
pub(super) fn srem(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let key = a.get(1);
    let Ok(s) = set_of(c, key, out) else {
        return;
    };
    let Some(s) = s else {
        return reply::int(out, 0);
    };
    let n = a.iter_from(2).filter(|m| s.remove(m)).count();
    let emptied = s.is_empty();
    if emptied {
        c.store.remove_if_empty(key);
    }
    if n > 0 {
        c.modified(key);
        c.notify(crate::notify::SET, "srem", key);
        if emptied {
            c.notify(crate::notify::GENERIC, "del", key);
        }
    }
    reply::int(out, n as i64);
}

/// SMEMBERS key.
pub(super) fn smembers(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    if let Ok(s) = set_of(c, a.get(1), out) {
        let Some(s) = s else {
            return reply::set(out, 0);
        };
        reply::set(out, s.len());
        for m in s.iter() {
            reply::bulk(out, &m);
        }
    }
}

/// SISMEMBER key member.
pub(super) fn sismember(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let m = a.get(2);
    if let Ok(s) = set_of(c, a.get(1), out) {
        reply::int(out, s.is_some_and(|s| s.contains(m)) as i64);
    }
}

/// SMISMEMBER key member \[member ...\].
pub(super) fn smismember(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    if let Ok(s) = set_of(c, a.get(1), out) {
        reply::array(out, a.len() - 2);
        for m in a.iter_from(2) {
            reply::int(out, s.as_ref().is_some_and(|s| s.contains(m)) as i64);
        }
    }
}

/// SCARD key.
pub(super) fn scard(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    if let Ok(s) = set_of(c, a.get(1), out) {
        reply::int(out, s.map_or(0, |s| s.len()) as i64);
    }
}

/// SPOP key \[count\]: without a count one random member (or nil), with one an
/// array of up to `count` distinct members. The key goes when the set empties.
/// The append-only file records the SREM of what was popped (Redis records
/// SREMs, or a DEL when the whole set went: the same result).
pub(super) fn spop(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    if a.len() > 3 {
        return reply::error(out, SYNTAX);
    }
    let count = match a.len() {
        3 => match parse_i64(a.get(2)) {
            None => return reply::error(out, NOT_INT),
            Some(n) if n < 0 => return reply::error(out, MUST_BE_POSITIVE),
            Some(n) => Some(usize::try_from(n).unwrap_or(usize::MAX)),
        },
        _ => None,
    };
    let key = a.get(1);
    let mut rng = Rng::new(c.store.random());
    let Ok(s) = set_of(c, key, out) else {
        return;
    };
    let Some(s) = s else {
        return match count {
            Some(_) => reply::set(out, 0),
            None => reply::nil(out),
        };
    };
    let mut popped: Vec<Bytes> = Vec::new();
    // The whole set: answered in its own order, and the key goes.
    let whole = matches!(count, Some(n) if n >= s.len());
    if whole {
        popped.extend(s.iter().map(|m| Bytes::from(&*m)));
    } else {
        for _ in 0..count.unwrap_or(1) {
            let k = rng.below(s.len());
            popped.extend(s.remove_index(k));
        }
    }
    let emptied = whole || s.is_empty();
    if emptied {
        c.store.remove(key, c.now);
    }
    match count {
        None => match popped.first() {
            Some(m) => reply::bulk(out, m),
            None => reply::nil(out),
        },
        Some(_) => {
            reply::set(out, popped.len());
            for m in &popped {
                reply::bulk(out, m);
            }
        }
    }
    // A count of 0 pops nothing and changes nothing.
    if popped.is_empty() {
        return;
    }
    c.notify(crate::notify::SET, "spop", key);
    if emptied {
        c.notify(crate::notify::GENERIC, "del", key);
    }
    c.modified(key);
    let mut srem: Vec<&[u8]> = vec![&b"SREM"[..], key];
    srem.extend(popped.iter().map(|m| &**m));
    c.propagate(&srem);
}

/// SRANDMEMBER key \[count\], with Redis's count semantics (see `random`).
pub(super) fn srandmember(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    if a.len() > 3 {
        return reply::error(out, SYNTAX);
    }
    let mut count = None;
    if a.len() == 3 {
        let Ok(n) = random_count(a.get(2), out) else {
            return;
        };
        count = Some(n);
    }
    let seed = c.store.random();
    let Ok(s) = set_of(c, a.get(1), out) else {
        return;
    };
    let Some(s) = s else {
        return match count {
            Some(_) => reply::set(out, 0),
            None => reply::nil(out),
        };
    };
    let mut rng = Rng::new(seed);
    let Some(count) = count else {
        let m = s.get_index(rng.below(s.len()));
        return reply::bulk(out, &m.expect("a stored set is not empty"));
    };
    let picks = Picks::new(rng, s.len(), count);
    reply_picks(out, picks, 1, RANDOM_REPLY_LIMIT, |i, out| {
        if let Some(m) = s.get_index(i) {
            reply::bulk(out, &m);
        }
    });
}

/// SMOVE source destination member. As in Redis, the destination counts as
/// changed (for WATCH) only if the member was added to it.
pub(super) fn smove(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let (src, dst, m) = (a.get(1), a.get(2), a.get(3));
    match c.store.get(src, c.now).map(|e| &e.value) {
        None => return reply::int(out, 0),
        Some(Value::Set(_)) => {}
        Some(_) => return reply::error(out, WRONGTYPE),
    }
    if matches!(c.store.get(dst, c.now), Some(e) if !matches!(e.value, Value::Set(_))) {
        return reply::error(out, WRONGTYPE);
    }
    let Ok(Some(s)) = set_of(c, src, out) else {
        return;
    };
    if src == dst {
        return reply::int(out, s.contains(m) as i64);
    }
    if !s.remove(m) {
        return reply::int(out, 0);
    }
    let emptied = s.is_empty();
    c.notify(crate::notify::SET, "srem", src);
    if emptied {
        c.store.remove_if_empty(src);
        c.notify(crate::notify::GENERIC, "del", src);
    }
    c.modified(src);
    let limits = c.shared.encoding_limits();
    let e = c
        .store
        .get_or_insert_with(dst, c.now, || Value::Set(Set::new()));
    let added = match &mut e.value {
        Value::Set(d) => d.insert(m, &limits),
        _ => false,
    };
    if added {
        c.modified(dst);
        c.notify(crate::notify::SET, "sadd", dst);
    }
    reply::int(out, 1);
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Inter,
    Union,
    Diff,
}

/// Redis's `sinterGenericCommand` and `sunionDiffGenericCommand`: the sets at
/// `keys` (a missing key is an empty set; any other type is WRONGTYPE, checked
/// for every key before anything is computed) combined into a new set, built
/// as Redis builds one (an intset while it can be). For an intersection a
/// `limit` (SINTERCARD's LIMIT, 0 for none) stops early.
fn combine(
    c: &mut Ctx<'_, '_>,
    op: Op,
    keys: &[&[u8]],
    limit: usize,
    out: &mut Reply<'_>,
) -> Result<Set, ()> {
    for k in keys {
        match c.store.get(k, c.now).map(|e| &e.value) {
            None | Some(Value::Set(_)) => {}
            Some(_) => {
                reply::error(out, WRONGTYPE);
                return Err(());
            }
        }
    }
    let limits = c.shared.encoding_limits();
    // Lazy expiry ran above: what is stored now is live.
    let sets: Vec<Option<&Set>> = keys
        .iter()
        .map(|k| match c.store.peek(k).map(|e| &e.value) {
            Some(Value::Set(s)) => Some(s),
            _ => None,
        })
        .collect();
    let mut result = Set::new();
    match op {
        Op::Inter => {
            let Some(mut sets) = sets.into_iter().collect::<Option<Vec<&Set>>>() else {
                return Ok(result);
            };
            // Walk the smallest set, probe the others.
            sets.sort_by_key(|s| s.len());
            for m in sets[0].iter() {
                if sets[1..].iter().all(|s| s.contains(&m)) {
                    result.insert(&m, &limits);
                    if limit != 0 && result.len() >= limit {
                        break;
                    }
                }
            }
        }
        Op::Union => {
            for s in sets.iter().flatten() {
                for m in s.iter() {
                    result.insert(&m, &limits);
                }
            }
        }
        Op::Diff => {
            if let Some(first) = sets[0] {
                for m in first.iter() {
                    if !sets[1..].iter().flatten().any(|s| s.contains(&m)) {
                        result.insert(&m, &limits);
                    }
                }
            }
        }
    }
    Ok(result)
}

fn set_op(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>, op: Op) {
    let keys: Vec<&[u8]> = a.iter_from(1).collect();
    if let Ok(s) = combine(c, op, &keys, 0, out) {
        reply::set(out, s.len());
        for m in s.iter() {
            reply::bulk(out, &m);
        }
    }
}

/// The STORE forms: the result replaces the destination (whatever its type, and
/// its TTL); an empty result deletes it.
fn set_op_store(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>, op: Op) {
    let keys: Vec<&[u8]> = a.iter_from(2).collect();
    let Ok(s) = combine(c, op, &keys, 0, out) else {
        return;
    };
    let dst = a.get(1);
    let n = s.len();
    if n == 0 {
        // Deleting the destination is a change only if it was there.
        if c.store.remove(dst, c.now).is_some() {
            c.modified(dst);
            c.notify(crate::notify::GENERIC, "del", dst);
        }
    } else {
        c.store.insert(dst, Value::Set(s), 0);
        c.modified(dst);
        let event = match op {
            Op::Inter => "sinterstore",
            Op::Union => "sunionstore",
            Op::Diff => "sdiffstore",
        };
        c.notify(crate::notify::SET, event, dst);
    }
    reply::int(out, n as i64);
}

/// SINTER key \[key ...\].
pub(super) fn sinter(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    set_op(c, a, out, Op::Inter);
}

/// SUNION key \[key ...\].
pub(super) fn sunion(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    set_op(c, a, out, Op::Union);
}

/// SDIFF key \[key ...\]: the first set without the members of the others.
pub(super) fn sdiff(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    set_op(c, a, out, Op::Diff);
}

/// SINTERSTORE destination key \[key ...\].
pub(super) fn sinterstore(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    set_op_store(c, a, out, Op::Inter);
}

/// SUNIONSTORE destination key \[key ...\].
pub(super) fn sunionstore(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    set_op_store(c, a, out, Op::Union);
}

/// SDIFFSTORE destination key \[key ...\].
pub(super) fn sdiffstore(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    set_op_store(c, a, out, Op::Diff);
}

/// The LIMIT of SINTERCARD and ZINTERCARD (0: none): `Err` after Redis's error.
pub(super) fn card_limit(arg: &[u8], out: &mut Reply<'_>) -> Result<usize, ()> {
    match parse_i64(arg) {
        Some(n) if n >= 0 => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
        _ => {
            reply::error(out, b"ERR LIMIT can't be negative");
            Err(())
        }
    }
}

/// SINTERCARD numkeys key \[key ...\] \[LIMIT limit\], with Redis's errors.
pub(super) fn sintercard(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let numkeys = match parse_i64(a.get(1)) {
        Some(n) if n >= 1 => n as u64,
        _ => return reply::error(out, b"ERR numkeys should be greater than 0"),
    };
    if numkeys > (a.len() - 2) as u64 {
        return reply::error(
            out,
            b"ERR Number of keys can't be greater than number of args",
        );
    }
    let end = 2 + numkeys as usize;
    let mut limit = 0usize;
    let mut j = end;
    while j < a.len() {
        if eq(a.get(j), b"limit") && j + 1 < a.len() {
            let Ok(n) = card_limit(a.get(j + 1), out) else {
                return;
            };
            limit = n;
            j += 2;
        } else {
            return reply::error(out, SYNTAX);
        }
    }
    let keys: Vec<&[u8]> = (2..end).map(|i| a.get(i)).collect();
    if let Ok(s) = combine(c, Op::Inter, &keys, limit, out) {
        reply::int(out, s.len() as i64);
    }
}

#[cfg(test)]
mod tests;
