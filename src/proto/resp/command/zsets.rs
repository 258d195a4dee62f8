//! Sorted-set commands (ZMPOP and the blocking pops live in `blocking`).

use super::*;

pub(super) fn zset<'s>(
    c: &'s mut Ctx<'_, '_>,
    key: &[u8],
    out: &mut Vec<u8>,
) -> Result<Option<&'s mut ZSet>, ()> {
    match c.store.get(key, c.now) {
        None => Ok(None),
        Some(Entry {
            value: Value::ZSet(z),
            ..
        }) => Ok(Some(z)),
        Some(_) => {
            reply::error(out, WRONGTYPE);
            Err(())
        }
    }
}

pub(super) fn zadd(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let (mut nx, mut xx, mut gt, mut lt, mut ch, mut incr) =
        (false, false, false, false, false, false);
    let mut i = 2;
    while i < a.len() {
        let o = a.get(i);
        if eq(o, b"nx") {
            nx = true;
        } else if eq(o, b"xx") {
            xx = true;
        } else if eq(o, b"gt") {
            gt = true;
        } else if eq(o, b"lt") {
            lt = true;
        } else if eq(o, b"ch") {
            ch = true;
        } else if eq(o, b"incr") {
            incr = true;
        } else {
            break;
        }
        i += 1;
    }
    let elements = a.len() - i;
    if elements == 0 || elements % 2 == 1 {
        return reply::error(out, SYNTAX);
    }
    if nx && xx {
        return reply::error(
            out,
            b"ERR XX and NX options at the same time are not compatible",
        );
    }
    if (nx && (gt || lt)) || (gt && lt) {
        return reply::error(
            out,
            b"ERR GT, LT, and/or NX options at the same time are not compatible",
        );
    }
    if incr && elements > 2 {
        return reply::error(
            out,
            b"ERR INCR option supports a single increment-element pair",
        );
    }
    let first = i;
    for j in (first..a.len()).step_by(2) {
        if parse_f64(a.get(j)).is_none() {
            return reply::error(out, NOT_FLOAT);
        }
    }
    let key = a.get(1);
    let exists = match zset(c, key, out) {
        Err(()) => return,
        Ok(z) => z.is_some(),
    };
    if !exists && xx {
        return if incr {
            reply::nil(out)
        } else {
            reply::int(out, 0)
        };
    }
    let e = c
        .store
        .get_or_insert_with(key, c.now, || Value::ZSet(Box::default()));
    let Value::ZSet(z) = &mut e.value else {
        return reply::error(out, WRONGTYPE);
    };
    let (mut added, mut updated) = (0, 0);
    let mut incr_result = None;
    for j in (first..a.len()).step_by(2) {
        let mut score = parse_f64(a.get(j)).unwrap_or(0.0);
        let member = a.get(j + 1);
        match z.score(member) {
            Some(cur) => {
                if nx {
                    continue;
                }
                if incr {
                    score += cur;
                    if score.is_nan() {
                        if z.len() == 0 {
                            c.store.remove_if_empty(key);
                        }
                        return reply::error(out, b"ERR resulting score is not a number (NaN)");
                    }
                }
                if (lt && score >= cur) || (gt && score <= cur) {
                    continue;
                }
                incr_result = Some(score);
                if score != cur {
                    z.insert(member, score);
                    updated += 1;
                }
            }
            None => {
                if xx {
                    continue;
                }
                z.insert(member, score);
                added += 1;
                incr_result = Some(score);
            }
        }
    }
    if z.len() == 0 {
        c.store.remove_if_empty(key);
    }
    if incr {
        match incr_result {
            Some(s) => reply::double(out, s),
            None => reply::nil(out),
        }
    } else {
        reply::int(out, added + if ch { updated } else { 0 });
    }
}

pub(super) fn zscore(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let m = a.get(2);
    if let Ok(z) = zset(c, a.get(1), out) {
        match z.and_then(|z| z.score(m)) {
            Some(s) => reply::double(out, s),
            None => reply::nil(out),
        }
    }
}

pub(super) fn zcard(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    if let Ok(z) = zset(c, a.get(1), out) {
        reply::int(out, z.map_or(0, |z| z.len()) as i64);
    }
}

pub(super) fn zrem(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let key = a.get(1);
    let Ok(z) = zset(c, key, out) else {
        return;
    };
    let Some(z) = z else {
        return reply::int(out, 0);
    };
    let n = a.iter_from(2).filter(|m| z.remove(m)).count();
    if z.len() == 0 {
        c.store.remove_if_empty(key);
    }
    reply::int(out, n as i64);
}

pub(super) fn zrange(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let (Some(start), Some(end)) = (parse_i64(a.get(2)), parse_i64(a.get(3))) else {
        // Redis parses the options first; a BYSCORE range is not an integer.
        if a.iter_from(4).any(|o| eq(o, b"byscore") || eq(o, b"bylex")) {
            return reply::error(out, b"ERR BYSCORE and BYLEX ranges are not supported");
        }
        return reply::error(out, NOT_INT);
    };
    let (mut rev, mut scores) = (false, false);
    for o in a.iter_from(4) {
        if eq(o, b"rev") {
            rev = true;
        } else if eq(o, b"withscores") {
            scores = true;
        } else if eq(o, b"byscore") || eq(o, b"bylex") {
            return reply::error(out, b"ERR BYSCORE and BYLEX ranges are not supported");
        } else {
            return reply::error(out, SYNTAX);
        }
    }
    let Ok(z) = zset(c, a.get(1), out) else {
        return;
    };
    let Some(z) = z else {
        return reply::array(out, 0);
    };
    let Some((s, e)) = range(start, end, z.len()) else {
        return reply::array(out, 0);
    };
    let n = e - s + 1;
    reply::array(out, if scores { 2 * n } else { n });
    let mut emit = |(m, sc): (&[u8], f64)| {
        reply::bulk(out, m);
        if scores {
            reply::double(out, sc);
        }
    };
    if rev {
        z.iter().rev().skip(s).take(n).for_each(&mut emit);
    } else {
        z.iter().skip(s).take(n).for_each(&mut emit);
    }
}

pub(super) fn zrank(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let m = a.get(2);
    if let Ok(z) = zset(c, a.get(1), out) {
        match z.and_then(|z| z.rank(m)) {
            Some(r) => reply::int(out, r as i64),
            None => reply::nil(out),
        }
    }
}

pub(super) fn zpop_generic(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>, max: bool) {
    let name: &[u8] = if max { b"zpopmax" } else { b"zpopmin" };
    let Ok(count) = pop_count(&a, name, out) else {
        return;
    };
    let key = a.get(1);
    let Ok(z) = zset(c, key, out) else {
        return;
    };
    let Some(z) = z else {
        return reply::array(out, 0);
    };
    let n = count.unwrap_or(1).min(z.len());
    reply::array(out, 2 * n);
    for _ in 0..n {
        if let Some((m, s)) = if max { z.pop_max() } else { z.pop_min() } {
            reply::bulk(out, &m);
            reply::double(out, s);
        }
    }
    if z.len() == 0 {
        c.store.remove_if_empty(key);
    }
}

pub(super) fn zpopmin(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    zpop_generic(c, a, out, false)
}

pub(super) fn zpopmax(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    zpop_generic(c, a, out, true)
}
