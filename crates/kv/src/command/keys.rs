//! Keyspace commands: DEL, EXISTS, TOUCH, TYPE, KEYS, SCAN, RANDOMKEY, RENAME,
//! RENAMENX, OBJECT and the expiry family.

use super::*;
use crate::notify;

/// DEL and UNLINK.
pub(super) fn del(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let mut n = 0;
    for k in a.iter_from(1) {
        if c.store.remove(k, c.now).is_some() {
            c.modified(k);
            c.notify(notify::GENERIC, "del", k);
            n += 1;
        }
    }
    reply::int(out, n);
}

pub(super) fn exists(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let mut n = 0;
    for k in a.iter_from(1) {
        if c.store.exists(k, c.now) {
            n += 1;
        }
    }
    reply::int(out, n);
}

pub(super) fn type_(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let name = match c.store.get(a.get(1), c.now) {
        Some(e) => e.value.type_name(),
        None => "none",
    };
    reply::simple(out, name.as_bytes());
}

pub(super) fn keys(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let pattern = a.get(1);
    let all = pattern == b"*";
    let mut hits: Vec<&[u8]> = Vec::new();
    c.store.for_each_live(c.now, |e| {
        if all || glob::matches(pattern, e.key(), false) {
            hits.push(e.key());
        }
    });
    reply::array(out, hits.len());
    for k in hits {
        reply::bulk(out, k);
    }
}

pub(super) fn scan(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let Some(cursor) = parse_cursor(a.get(1), out) else {
        return;
    };
    let Ok(ScanOptions {
        count,
        pattern,
        type_filter,
    }) = scan_options(&a, 2, true, out)
    else {
        return;
    };
    let mut hits: Vec<Bytes> = Vec::new();
    let next = c.store.scan(cursor, count, c.now, |e: &Entry| {
        let matched = pattern.is_none_or(|p| glob::matches(p, e.key(), false))
            && type_filter.is_none_or(|t| eq(t, e.value.type_name().as_bytes()));
        if matched {
            hits.push(e.key().into());
        }
    });
    let Some(next) = next else {
        return reply::error(out, b"ERR invalid cursor");
    };
    reply::array(out, 2);
    reply::bulk(out, itoa::Buffer::new().format(next).as_bytes());
    reply::array(out, hits.len());
    for k in hits {
        reply::bulk(out, &k);
    }
}

/// TOUCH: how many of the keys exist (there is no access time to update).
pub(super) fn touch(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    exists(c, a, out)
}

pub(super) fn randomkey(c: &mut Ctx<'_, '_>, _: Argv<'_>, out: &mut Reply<'_>) {
    match c.store.random_key(c.now) {
        Some(key) => reply::bulk(out, &key),
        None => reply::nil(out),
    }
}

/// RENAME and RENAMENX (`nx`: only if the new name is free; then 1 or 0).
fn rename_generic(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>, nx: bool) {
    let (src, dst) = (a.get(1), a.get(2));
    if !c.store.exists(src, c.now) {
        return reply::error(out, NO_KEY);
    }
    if src == dst {
        return if nx {
            reply::int(out, 0)
        } else {
            reply::ok(out)
        };
    }
    if nx && c.store.exists(dst, c.now) {
        return reply::int(out, 0);
    }
    if let Some(e) = c.store.remove(src, c.now) {
        let at = e.expire_at().unwrap_or(0);
        c.store.insert(dst, e.value, at);
    }
    // Redis counts one change (`dirty++`) for the two keys; here each counts.
    c.modified(src);
    c.modified(dst);
    c.notify(notify::GENERIC, "rename_from", src);
    c.notify(notify::GENERIC, "rename_to", dst);
    if nx {
        reply::int(out, 1)
    } else {
        reply::ok(out)
    }
}

pub(super) fn rename(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    rename_generic(c, a, out, false)
}

pub(super) fn renamenx(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    rename_generic(c, a, out, true)
}

/// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT: `unit` is 1000 for seconds, `relative`
/// adds the current time.
pub(super) fn expire_generic(
    c: &mut Ctx<'_, '_>,
    a: Argv<'_>,
    out: &mut Reply<'_>,
    unit: i64,
    relative: bool,
    name: &str,
) {
    let Some(mut when) = parse_i64(a.get(2)) else {
        return reply::error(out, NOT_INT);
    };
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for opt in a.iter_from(3) {
        if eq(opt, b"nx") {
            nx = true;
        } else if eq(opt, b"xx") {
            xx = true;
        } else if eq(opt, b"gt") {
            gt = true;
        } else if eq(opt, b"lt") {
            lt = true;
        } else {
            let mut msg = b"ERR Unsupported option ".to_vec();
            msg.extend_from_slice(opt);
            return reply::error(out, &msg);
        }
    }
    if nx && (xx || gt || lt) {
        return reply::error(
            out,
            b"ERR NX and XX, GT or LT options at the same time are not compatible",
        );
    }
    if gt && lt {
        return reply::error(
            out,
            b"ERR GT and LT options at the same time are not compatible",
        );
    }
    let base = if relative { c.now as i64 } else { 0 };
    match when.checked_mul(unit).and_then(|w| w.checked_add(base)) {
        Some(w) => when = w,
        None => {
            let msg = format!("ERR invalid expire time in '{name}' command");
            return reply::error(out, msg.as_bytes());
        }
    }
    let key = a.get(1);
    let current = match c.store.get(key, c.now) {
        None => return reply::int(out, 0),
        Some(e) => e.expire_at(),
    };
    let allowed = match current {
        Some(cur) => {
            let cur = cur as i64;
            !(nx || (gt && when <= cur) || (lt && when >= cur))
        }
        // No TTL counts as an infinite one.
        None => !(xx || gt),
    };
    if !allowed {
        return reply::int(out, 0);
    }
    // A deadline already past deletes the key: reported as a DEL.
    if when <= c.now as i64 {
        c.store.remove(key, c.now);
        c.modified(key);
        c.notify(notify::GENERIC, "del", key);
    } else {
        c.store.set_expire(key, Some(when as u64), c.now);
        c.modified(key);
        c.notify(notify::GENERIC, "expire", key);
    }
    reply::int(out, 1);
}

pub(super) fn expire(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    expire_generic(c, a, out, 1000, true, "expire")
}

pub(super) fn pexpire(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    expire_generic(c, a, out, 1, true, "pexpire")
}

pub(super) fn expireat(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    expire_generic(c, a, out, 1000, false, "expireat")
}

pub(super) fn pexpireat(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    expire_generic(c, a, out, 1, false, "pexpireat")
}

/// TTL, PTTL, EXPIRETIME, PEXPIRETIME: -2 for no key, -1 for no TTL, else the
/// time left (or, `absolute`, the deadline as a UNIX time), in ms or rounded
/// seconds.
fn ttl_generic(
    c: &mut Ctx<'_, '_>,
    a: Argv<'_>,
    out: &mut Reply<'_>,
    millis: bool,
    absolute: bool,
) {
    let now = c.now;
    let n = match c.store.get(a.get(1), now) {
        None => -2,
        Some(e) => match e.expire_at() {
            None => -1,
            Some(at) => {
                let ms = if absolute { at } else { at.saturating_sub(now) } as i64;
                if millis {
                    ms
                } else {
                    (ms + 500) / 1000
                }
            }
        },
    };
    reply::int(out, n);
}

pub(super) fn ttl(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    ttl_generic(c, a, out, false, false)
}

pub(super) fn pttl(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    ttl_generic(c, a, out, true, false)
}

pub(super) fn expiretime(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    ttl_generic(c, a, out, false, true)
}

pub(super) fn pexpiretime(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    ttl_generic(c, a, out, true, true)
}

pub(super) fn persist(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let key = a.get(1);
    let had = matches!(c.store.get(key, c.now), Some(e) if e.expire_at().is_some());
    if had {
        c.store.set_expire(key, None, c.now);
        c.modified(key);
        c.notify(notify::GENERIC, "persist", key);
    }
    reply::int(out, had as i64);
}

/// OBJECT ENCODING | REFCOUNT | IDLETIME | FREQ | HELP. A missing key is a nil.
/// No value is shared between keys here, so REFCOUNT is 1; keys carry no access
/// time or counter (that would cost every key 8 bytes), so IDLETIME is 0 and FREQ,
/// which Redis answers only under an LFU policy, is refused under any.
pub(super) fn object(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let sub = a.get(1);
    let name: &[u8] = if eq(sub, b"help") {
        if a.len() != 2 {
            return arity_error(out, b"object|help");
        }
        return reply::help(
            out,
            b"OBJECT",
            &[
                b"ENCODING <key>",
                b"    Return the kind of internal representation used in order to store the value",
                b"    associated with a <key>.",
                b"FREQ <key>",
                b"    Return the access frequency index of the <key>. The returned integer is",
                b"    proportional to the logarithm of the recent access frequency of the key.",
                b"IDLETIME <key>",
                b"    Return the idle time of the <key>, that is the approximated number of",
                b"    seconds elapsed since the last access to the key.",
                b"REFCOUNT <key>",
                b"    Return the number of references of the value associated with the specified",
                b"    <key>.",
            ],
        );
    } else if eq(sub, b"encoding") {
        b"object|encoding"
    } else if eq(sub, b"refcount") {
        b"object|refcount"
    } else if eq(sub, b"idletime") {
        b"object|idletime"
    } else if eq(sub, b"freq") {
        b"object|freq"
    } else {
        return unknown_subcommand(out, sub, b"OBJECT");
    };
    if a.len() != 3 {
        return arity_error(out, name);
    }
    let lfu = c
        .shared
        .settings
        .borrow()
        .maxmemory_policy
        .ends_with("-lfu");
    let Some(entry) = c.store.get(a.get(2), c.now) else {
        return reply::nil(out);
    };
    match name {
        b"object|encoding" => reply::bulk(out, entry.value.encoding_name().as_bytes()),
        b"object|refcount" => reply::int(out, 1),
        b"object|idletime" if lfu => reply::error(
            out,
            b"ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that \
              when switching between policies at runtime LRU and LFU data will take some time \
              to adjust.",
        ),
        b"object|idletime" => reply::int(out, 0),
        _ if !lfu => reply::error(
            out,
            b"ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please \
              note that when switching between policies at runtime LRU and LFU data will take \
              some time to adjust.",
        ),
        _ => reply::error(
            out,
            b"ERR access frequencies are not tracked by this server",
        ),
    }
}
