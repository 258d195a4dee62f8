//! String commands: GET/SET and their variants, counters, ranges.

use super::*;
use crate::notify;
use crate::store::Str;

pub(super) fn get(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    match c.store.get(a.get(1), c.now) {
        None => reply::nil(out),
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => reply::bulk(out, s),
        Some(_) => reply::error(out, WRONGTYPE),
    }
}

/// Turn an EX/PX/EXAT/PXAT argument into an absolute UNIX ms deadline, with Redis's
/// checks: not an integer → NOT_INT; not positive or overflowing → invalid expire.
pub(super) fn expire_arg(
    arg: &[u8],
    unit: i64,
    relative: bool,
    now: u64,
    cmd: &str,
) -> Result<u64, Vec<u8>> {
    let n = parse_i64(arg).ok_or_else(|| NOT_INT.to_vec())?;
    let invalid = || format!("ERR invalid expire time in '{cmd}' command").into_bytes();
    if n <= 0 {
        return Err(invalid());
    }
    let base = if relative { now as i64 } else { 0 };
    let at = n
        .checked_mul(unit)
        .and_then(|ms| ms.checked_add(base))
        .ok_or_else(invalid)?;
    Ok(at as u64)
}

/// SET's and GETEX's EX/PX/EXAT/PXAT: (unit in ms, relative to now).
fn expire_option(opt: &[u8]) -> Option<(i64, bool)> {
    if eq(opt, b"ex") {
        Some((1000, true))
    } else if eq(opt, b"px") {
        Some((1, true))
    } else if eq(opt, b"exat") {
        Some((1000, false))
    } else if eq(opt, b"pxat") {
        Some((1, false))
    } else {
        None
    }
}

pub(super) fn set(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let (key, val) = (a.get(1), a.get(2));
    if a.len() == 3 {
        c.store.set_string(key, val, Ttl::Clear, c.now);
        c.modified(key);
        c.notify(notify::STRING, "set", key);
        return reply::ok(out);
    }
    let (mut nx, mut xx, mut get, mut keep) = (false, false, false, false);
    // (unit, relative, argument)
    let mut expire: Option<(i64, bool, &[u8])> = None;
    let mut i = 3;
    while i < a.len() {
        let opt = a.get(i);
        let next = (i + 1 < a.len()).then(|| a.get(i + 1));
        let exp = expire_option(opt);
        if let Some((unit, relative)) = exp {
            match next {
                Some(arg) if expire.is_none() && !keep => {
                    expire = Some((unit, relative, arg));
                    i += 2;
                    continue;
                }
                _ => return reply::error(out, SYNTAX),
            }
        }
        if eq(opt, b"nx") && !xx {
            nx = true;
        } else if eq(opt, b"xx") && !nx {
            xx = true;
        } else if eq(opt, b"get") {
            get = true;
        } else if eq(opt, b"keepttl") && expire.is_none() {
            keep = true;
        } else {
            return reply::error(out, SYNTAX);
        }
        i += 1;
    }
    let ttl_mode = match expire {
        Some((unit, relative, arg)) => match expire_arg(arg, unit, relative, c.now, "set") {
            Ok(at) => Ttl::At(at),
            Err(msg) => return reply::error(out, &msg),
        },
        None if keep => Ttl::Keep,
        None => Ttl::Clear,
    };
    let exists = match c.store.get(key, c.now) {
        None => {
            if get {
                reply::nil(out);
            }
            false
        }
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => {
            if get {
                reply::bulk(out, s);
            }
            true
        }
        Some(_) => {
            if get {
                return reply::error(out, WRONGTYPE);
            }
            true
        }
    };
    if (nx && exists) || (xx && !exists) {
        if !get {
            reply::nil(out);
        }
        return;
    }
    c.store.set_string(key, val, ttl_mode, c.now);
    c.modified(key);
    c.notify(notify::STRING, "set", key);
    // EX/PX/EXAT/PXAT also report the TTL set (KEEPTTL does not).
    if expire.is_some() {
        c.notify(notify::GENERIC, "expire", key);
    }
    if !get {
        reply::ok(out);
    }
}

pub(super) fn setnx(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    if c.store.exists(a.get(1), c.now) {
        return reply::int(out, 0);
    }
    c.store.set_string(a.get(1), a.get(2), Ttl::Clear, c.now);
    c.modified(a.get(1));
    c.notify(notify::STRING, "set", a.get(1));
    reply::int(out, 1);
}

pub(super) fn setex_generic(
    c: &mut Ctx<'_, '_>,
    a: Argv<'_>,
    out: &mut Reply<'_>,
    unit: i64,
    name: &str,
) {
    match expire_arg(a.get(2), unit, true, c.now, name) {
        Ok(at) => {
            c.store.set_string(a.get(1), a.get(3), Ttl::At(at), c.now);
            c.modified(a.get(1));
            c.notify(notify::STRING, "set", a.get(1));
            c.notify(notify::GENERIC, "expire", a.get(1));
            reply::ok(out);
        }
        Err(msg) => reply::error(out, &msg),
    }
}

pub(super) fn setex(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    setex_generic(c, a, out, 1000, "setex")
}

pub(super) fn psetex(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    setex_generic(c, a, out, 1, "psetex")
}

pub(super) fn getset(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    match c.store.get(a.get(1), c.now) {
        None => reply::nil(out),
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => reply::bulk(out, s),
        Some(_) => return reply::error(out, WRONGTYPE),
    }
    c.store.set_string(a.get(1), a.get(2), Ttl::Clear, c.now);
    c.modified(a.get(1));
    c.notify(notify::STRING, "set", a.get(1));
}

pub(super) fn getdel(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    match c.store.get(a.get(1), c.now) {
        None => return reply::nil(out),
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => reply::bulk(out, s),
        Some(_) => return reply::error(out, WRONGTYPE),
    }
    c.store.remove(a.get(1), c.now);
    c.modified(a.get(1));
    c.notify(notify::GENERIC, "del", a.get(1));
}

pub(super) fn mget(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    reply::array(out, a.len() - 1);
    for k in a.iter_from(1) {
        match c.store.get(k, c.now) {
            Some(Entry {
                value: Value::Str(s),
                ..
            }) => reply::bulk(out, s),
            _ => reply::nil(out),
        }
    }
}

pub(super) fn mset(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    if a.len().is_multiple_of(2) {
        return arity_error(out, b"mset");
    }
    for i in (1..a.len()).step_by(2) {
        c.store
            .set_string(a.get(i), a.get(i + 1), Ttl::Clear, c.now);
        c.modified(a.get(i));
        c.notify(notify::STRING, "set", a.get(i));
    }
    reply::ok(out);
}

pub(super) fn msetnx(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    if a.len().is_multiple_of(2) {
        return arity_error(out, b"msetnx");
    }
    for i in (1..a.len()).step_by(2) {
        if c.store.exists(a.get(i), c.now) {
            return reply::int(out, 0);
        }
    }
    for i in (1..a.len()).step_by(2) {
        c.store
            .set_string(a.get(i), a.get(i + 1), Ttl::Clear, c.now);
        c.modified(a.get(i));
        c.notify(notify::STRING, "set", a.get(i));
    }
    reply::int(out, 1);
}

/// INCR and friends: the value must be a decimal i64; the result replaces it in
/// place (keeping the TTL) without allocating.
pub(super) fn incr_by(c: &mut Ctx<'_, '_>, key: &[u8], delta: i64, out: &mut Reply<'_>) {
    let n = match c.store.get(key, c.now) {
        Some(e) => {
            let Value::Str(s) = &mut e.value else {
                return reply::error(out, WRONGTYPE);
            };
            let Some(cur) = parse_i64(s) else {
                return reply::error(out, NOT_INT);
            };
            let Some(n) = cur.checked_add(delta) else {
                return reply::error(out, OVERFLOW);
            };
            s.set(itoa::Buffer::new().format(n).as_bytes());
            n
        }
        None => {
            let mut buf = itoa::Buffer::new();
            c.store
                .set_string(key, buf.format(delta).as_bytes(), Ttl::Clear, c.now);
            delta
        }
    };
    c.modified(key);
    c.notify(notify::STRING, "incrby", key);
    reply::int(out, n);
}

pub(super) fn incr(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    incr_by(c, a.get(1), 1, out)
}

pub(super) fn decr(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    incr_by(c, a.get(1), -1, out)
}

pub(super) fn incrby(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    match parse_i64(a.get(2)) {
        Some(d) => incr_by(c, a.get(1), d, out),
        None => reply::error(out, NOT_INT),
    }
}

pub(super) fn decrby(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    match parse_i64(a.get(2)) {
        Some(i64::MIN) => reply::error(out, b"ERR decrement would overflow"),
        Some(d) => incr_by(c, a.get(1), -d, out),
        None => reply::error(out, NOT_INT),
    }
}

pub(super) fn incrbyfloat(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let key = a.get(1);
    let Some(incr) = parse_f64(a.get(2)) else {
        return reply::error(out, NOT_FLOAT);
    };
    let cur = match c.store.get(key, c.now) {
        None => 0.0,
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => match parse_f64(s) {
            Some(v) => v,
            None => return reply::error(out, NOT_FLOAT),
        },
        Some(_) => return reply::error(out, WRONGTYPE),
    };
    let v = cur + incr;
    if !v.is_finite() {
        return reply::error(out, b"ERR increment would produce NaN or Infinity");
    }
    // Redis prints long doubles with %.17Lf and trims zeros; Rust's shortest f64
    // representation gives the same text in the common cases ("10.5", "3").
    let text = format!("{v}");
    match c.store.get(key, c.now) {
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => {
            s.set(text.as_bytes());
        }
        _ => c.store.set_string(key, text.as_bytes(), Ttl::Clear, c.now),
    }
    c.modified(key);
    c.notify(notify::STRING, "incrbyfloat", key);
    reply::bulk(out, text.as_bytes());
}

pub(super) fn append(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let max = c.shared.config.get().max_bulk;
    let (key, add) = (a.get(1), a.get(2));
    // A new key is stored whole (inline if short, `int`/`embstr` as in Redis);
    // appending to a string changes it in place (Redis makes it `raw`).
    let len = match c.store.get(key, c.now) {
        None => {
            if add.len() > max {
                return reply::error(out, TOO_BIG);
            }
            c.store.insert(key, Value::Str(Str::new(add)), 0);
            add.len()
        }
        Some(e) => {
            let Value::Str(s) = &mut e.value else {
                return reply::error(out, WRONGTYPE);
            };
            if s.len() + add.len() > max {
                return reply::error(out, TOO_BIG);
            }
            let s = s.to_mut();
            s.extend_from_slice(add);
            s.len()
        }
    };
    c.modified(key);
    c.notify(notify::STRING, "append", key);
    reply::int(out, len as i64);
}

pub(super) fn strlen(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    match c.store.get(a.get(1), c.now) {
        None => reply::int(out, 0),
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => reply::int(out, s.len() as i64),
        Some(_) => reply::error(out, WRONGTYPE),
    }
}

pub(super) fn getrange(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let (Some(mut start), Some(mut end)) = (parse_i64(a.get(2)), parse_i64(a.get(3))) else {
        return reply::error(out, NOT_INT);
    };
    let s = match c.store.get(a.get(1), c.now) {
        None => return reply::bulk(out, b""),
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => s,
        Some(_) => return reply::error(out, WRONGTYPE),
    };
    let len = s.len() as i64;
    if start < 0 && end < 0 && start > end {
        return reply::bulk(out, b"");
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        return reply::bulk(out, b"");
    }
    reply::bulk(out, &s[start as usize..=end as usize]);
}

pub(super) fn setrange(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let key = a.get(1);
    let value = a.get(3);
    let Some(offset) = parse_i64(a.get(2)) else {
        return reply::error(out, NOT_INT);
    };
    if offset < 0 {
        return reply::error(out, b"ERR offset is out of range");
    }
    let max = c.shared.config.get().max_bulk as u64;
    let too_big = offset as u64 + value.len() as u64 > max;
    // An empty value returns before changing anything, so every write below
    // is reported.
    let len = match c.store.get(key, c.now) {
        None => {
            if value.is_empty() {
                return reply::int(out, 0);
            }
            if too_big {
                return reply::error(out, TOO_BIG);
            }
            let mut s = vec![0u8; offset as usize];
            s.extend_from_slice(value);
            let n = s.len();
            c.store.insert(key, Value::Str(Str::raw(s)), 0);
            n
        }
        Some(e) => {
            let Value::Str(s) = &mut e.value else {
                return reply::error(out, WRONGTYPE);
            };
            if value.is_empty() {
                return reply::int(out, s.len() as i64);
            }
            if too_big {
                return reply::error(out, TOO_BIG);
            }
            let offset = offset as usize;
            let end = offset + value.len();
            let s = s.to_mut();
            if s.len() < end {
                s.resize(end, 0);
            }
            s[offset..end].copy_from_slice(value);
            s.len()
        }
    };
    c.modified(key);
    c.notify(notify::STRING, "setrange", key);
    reply::int(out, len as i64);
}

/// GETEX key [EX s | PX ms | EXAT t | PXAT t | PERSIST]: GET that also sets or
/// clears the TTL. A deadline already past deletes the key after the reply.
pub(super) fn getex(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    enum Change<'x> {
        None,
        Persist,
        At(i64, bool, &'x [u8]),
    }
    let mut change = Change::None;
    let mut i = 2;
    while i < a.len() {
        let opt = a.get(i);
        let exp = expire_option(opt);
        match (exp, &change) {
            (Some((unit, relative)), Change::None) if i + 1 < a.len() => {
                change = Change::At(unit, relative, a.get(i + 1));
                i += 2;
            }
            (None, Change::None) if eq(opt, b"persist") => {
                change = Change::Persist;
                i += 1;
            }
            _ => return reply::error(out, SYNTAX),
        }
    }
    let key = a.get(1);
    match c.store.get(key, c.now) {
        None => return reply::nil(out),
        Some(Entry {
            value: Value::Str(_),
            ..
        }) => {}
        Some(_) => return reply::error(out, WRONGTYPE),
    }
    let deadline = match change {
        Change::At(unit, relative, arg) => match expire_arg(arg, unit, relative, c.now, "getex") {
            Ok(at) => Some(at),
            Err(msg) => return reply::error(out, &msg),
        },
        _ => None,
    };
    if let Some(Entry {
        value: Value::Str(s),
        ..
    }) = c.store.get(key, c.now)
    {
        reply::bulk(out, s);
    }
    match (change, deadline) {
        (_, Some(at)) if at <= c.now => {
            c.store.remove(key, c.now);
            c.modified(key);
            c.notify(notify::GENERIC, "del", key);
        }
        (_, Some(at)) => {
            c.store.set_expire(key, Some(at), c.now);
            c.modified(key);
            c.notify(notify::GENERIC, "expire", key);
        }
        (Change::Persist, _) => {
            // Only a key that had a TTL changes (and is reported).
            let had = c
                .store
                .get(key, c.now)
                .is_some_and(|e| e.expire_at().is_some());
            if had {
                c.store.set_expire(key, None, c.now);
                c.modified(key);
                c.notify(notify::GENERIC, "persist", key);
            }
        }
        _ => {}
    }
}

/// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]: the longest common
/// subsequence of two strings (a missing key is an empty string), by Redis's
/// dynamic program, whose table Redis bounds by `proto-max-bulk-len`.
pub(super) fn lcs(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let (mut getlen, mut getidx, mut withmatchlen, mut minmatchlen) = (false, false, false, 0u64);
    let mut i = 3;
    while i < a.len() {
        let opt = a.get(i);
        if eq(opt, b"idx") {
            getidx = true;
        } else if eq(opt, b"len") {
            getlen = true;
        } else if eq(opt, b"withmatchlen") {
            withmatchlen = true;
        } else if eq(opt, b"minmatchlen") && i + 1 < a.len() {
            match parse_i64(a.get(i + 1)) {
                Some(n) => minmatchlen = n.max(0) as u64,
                None => return reply::error(out, NOT_INT),
            }
            i += 1;
        } else {
            return reply::error(out, SYNTAX);
        }
        i += 1;
    }
    let mut string_of = |key: &[u8]| -> Result<Vec<u8>, ()> {
        match c.store.get(key, c.now) {
            None => Ok(Vec::new()),
            Some(Entry {
                value: Value::Str(s),
                ..
            }) => Ok(s.to_vec()),
            Some(_) => Err(()),
        }
    };
    let (Ok(x), Ok(y)) = (string_of(a.get(1)), string_of(a.get(2))) else {
        return reply::error(out, b"ERR The specified keys must contain string values");
    };
    if getlen && getidx {
        return reply::error(
            out,
            b"ERR If you want both the length and indexes, please just use IDX.",
        );
    }
    if x.len() as u64 >= u32::MAX as u64 - 1 || y.len() as u64 >= u32::MAX as u64 - 1 {
        return reply::error(out, b"ERR String too long for LCS");
    }
    let (alen, blen) = (x.len(), y.len());
    let cells = (alen as u64 + 1) * (blen as u64 + 1);
    if cells * 4 > c.shared.config.get().max_bulk as u64 {
        return reply::error(
            out,
            b"ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        );
    }
    let mut table: Vec<u32> = Vec::new();
    if table.try_reserve_exact(cells as usize).is_err() {
        return reply::error(
            out,
            b"ERR Insufficient memory, failed allocating transient memory for LCS",
        );
    }
    table.resize(cells as usize, 0);
    let at = |i: usize, j: usize| j + i * (blen + 1);
    for i in 1..=alen {
        for j in 1..=blen {
            table[at(i, j)] = if x[i - 1] == y[j - 1] {
                table[at(i - 1, j - 1)] + 1
            } else {
                table[at(i - 1, j)].max(table[at(i, j - 1)])
            };
        }
    }
    let total = table[at(alen, blen)];
    if getlen {
        return reply::int(out, total as i64);
    }
    // Walk back from the end, collecting the subsequence and, for IDX, the
    // ranges of contiguous matches (last first, as Redis emits them).
    let mut result = vec![0u8; total as usize];
    let mut ranges: Vec<[usize; 4]> = Vec::new();
    let (mut i, mut j, mut idx) = (alen, blen, total as usize);
    let mut range: Option<[usize; 4]> = None; // a_start, a_end, b_start, b_end
    while i > 0 && j > 0 {
        let mut emit = false;
        if x[i - 1] == y[j - 1] {
            result[idx - 1] = x[i - 1];
            match &mut range {
                None => range = Some([i - 1, i - 1, j - 1, j - 1]),
                Some(r) if r[0] == i && r[2] == j => {
                    r[0] -= 1;
                    r[2] -= 1;
                }
                Some(_) => emit = true,
            }
            if let Some(r) = range {
                if r[0] == 0 || r[2] == 0 {
                    emit = true;
                }
            }
            idx -= 1;
            i -= 1;
            j -= 1;
        } else {
            if table[at(i - 1, j)] > table[at(i, j - 1)] {
                i -= 1;
            } else {
                j -= 1;
            }
            emit = range.is_some();
        }
        if emit {
            if let Some(r) = range.take() {
                if (r[1] - r[0] + 1) as u64 >= minmatchlen {
                    ranges.push(r);
                }
            }
        }
    }
    if !getidx {
        return reply::bulk(out, &result);
    }
    reply::array(out, 4);
    reply::bulk(out, b"matches");
    reply::array(out, ranges.len());
    for r in ranges {
        reply::array(out, 2 + withmatchlen as usize);
        reply::array(out, 2);
        reply::int(out, r[0] as i64);
        reply::int(out, r[1] as i64);
        reply::array(out, 2);
        reply::int(out, r[2] as i64);
        reply::int(out, r[3] as i64);
        if withmatchlen {
            reply::int(out, (r[1] - r[0] + 1) as i64);
        }
    }
    reply::bulk(out, b"len");
    reply::int(out, total as i64);
}

/// A bit offset as SETBIT/GETBIT take it: below 8 × `proto-max-bulk-len`.
fn bit_offset(c: &Ctx<'_, '_>, arg: &[u8]) -> Option<usize> {
    let n = parse_i64(arg)?;
    let n = u64::try_from(n).ok()?;
    ((n >> 3) < c.shared.config.get().max_bulk as u64).then_some(n as usize)
}

const BAD_OFFSET: &[u8] = b"ERR bit offset is not an integer or out of range";

/// SETBIT key offset 0|1: the old bit; the string grows (zero-filled) to reach it.
pub(super) fn setbit(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let Some(offset) = bit_offset(c, a.get(2)) else {
        return reply::error(out, BAD_OFFSET);
    };
    let on = match a.get(3) {
        b"0" => false,
        b"1" => true,
        _ => return reply::error(out, b"ERR bit is not an integer or out of range"),
    };
    let (byte, mask) = (offset >> 3, 0x80u8 >> (offset & 7));
    let key = a.get(1);
    let existed = match c.store.get(key, c.now) {
        Some(e) if !matches!(e.value, Value::Str(_)) => return reply::error(out, WRONGTYPE),
        Some(_) => true,
        None => false,
    };
    let e = c
        .store
        .get_or_insert_with(key, c.now, || Value::Str(Str::raw(Vec::new())));
    let Value::Str(s) = &mut e.value else {
        return reply::error(out, WRONGTYPE);
    };
    let s = s.to_mut();
    let grew = s.len() <= byte;
    if grew {
        s.resize(byte + 1, 0);
    }
    let old = s[byte] & mask != 0;
    if on {
        s[byte] |= mask;
    } else {
        s[byte] &= !mask;
    }
    // Redis reports the key only if it was created, grew, or the bit flipped.
    if !existed || grew || old != on {
        c.modified(key);
        c.notify(notify::STRING, "setbit", key);
    }
    reply::int(out, old as i64);
}

pub(super) fn getbit(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let Some(offset) = bit_offset(c, a.get(2)) else {
        return reply::error(out, BAD_OFFSET);
    };
    match c.store.get(a.get(1), c.now) {
        None => reply::int(out, 0),
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => {
            let bit = s
                .get(offset >> 3)
                .is_some_and(|b| b & (0x80 >> (offset & 7)) != 0);
            reply::int(out, bit as i64)
        }
        Some(_) => reply::error(out, WRONGTYPE),
    }
}
