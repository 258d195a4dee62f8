//! Set commands.

use super::*;

type Set = IndexSet<Bytes, Hasher>;

pub(super) fn set_of<'s>(
    c: &'s mut Ctx<'_, '_>,
    key: &[u8],
    out: &mut Vec<u8>,
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

pub(super) fn sadd(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let e = c
        .store
        .get_or_insert_with(a.get(1), c.now, || Value::Set(Box::default()));
    let Value::Set(s) = &mut e.value else {
        return reply::error(out, WRONGTYPE);
    };
    let mut added = 0;
    for m in a.iter_from(2) {
        if !s.contains(m) {
            s.insert(m.into());
            added += 1;
        }
    }
    reply::int(out, added);
}

pub(super) fn srem(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let key = a.get(1);
    let Ok(s) = set_of(c, key, out) else {
        return;
    };
    let Some(s) = s else {
        return reply::int(out, 0);
    };
    let n = a.iter_from(2).filter(|m| s.swap_remove(*m)).count();
    if s.is_empty() {
        c.store.remove_if_empty(key);
    }
    reply::int(out, n as i64);
}

pub(super) fn smembers(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    if let Ok(s) = set_of(c, a.get(1), out) {
        let Some(s) = s else {
            return reply::array(out, 0);
        };
        reply::array(out, s.len());
        for m in s.iter() {
            reply::bulk(out, m);
        }
    }
}

pub(super) fn sismember(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let m = a.get(2);
    if let Ok(s) = set_of(c, a.get(1), out) {
        reply::int(out, s.is_some_and(|s| s.contains(m)) as i64);
    }
}

pub(super) fn scard(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    if let Ok(s) = set_of(c, a.get(1), out) {
        reply::int(out, s.map_or(0, |s| s.len()) as i64);
    }
}

pub(super) fn spop(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let Ok(count) = pop_count(&a, b"spop", out) else {
        return;
    };
    let key = a.get(1);
    let mut rng = c.store.random();
    let Ok(s) = set_of(c, key, out) else {
        return;
    };
    let Some(s) = s else {
        return match count {
            Some(_) => reply::array(out, 0),
            None => reply::nil(out),
        };
    };
    let mut pop_one = |s: &mut Set| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let i = (rng % s.len().max(1) as u64) as usize;
        s.swap_remove_index(i)
    };
    match count {
        None => match pop_one(s) {
            Some(m) => reply::bulk(out, &m),
            None => reply::nil(out),
        },
        Some(n) => {
            let n = n.min(s.len());
            reply::array(out, n);
            for _ in 0..n {
                if let Some(m) = pop_one(s) {
                    reply::bulk(out, &m);
                }
            }
        }
    }
    if s.is_empty() {
        c.store.remove_if_empty(key);
    }
}
