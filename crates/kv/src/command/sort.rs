//! SORT and SORT_RO, as Redis's `sort.c`: the elements of a list, set or sorted
//! set, ordered numerically (default) or as bytes (`ALPHA`), by themselves or by
//! other keys (`BY weight_*`, `BY h_*->field`), windowed by `LIMIT`, projected
//! through `GET` patterns (`#` is the element), returned or stored as a list
//! (`STORE`, SORT only).
//!
//! Redis's rules kept here: a `BY` pattern without `*` means "do not sort" (the
//! value's own order: a list's, a sorted set's by score, `DESC` reversing it) —
//! except for a set being stored, which is sorted `ALPHA` so the stored list does
//! not depend on hash order; a numeric sort of equal scores orders the elements by
//! their bytes, so every result is deterministic; a weight that is not a number is
//! an error, a missing weight counts as 0 (or sorts first, with `ALPHA`); a `GET`
//! of a missing key is nil in the reply and an empty string when stored; an empty
//! result stored deletes the destination. Redis compares `ALPHA` with `strcoll`;
//! here bytes compare as in the C locale.

use super::*;
use crate::notify;
use crate::values::list::{Fill, List};

/// The elements to sort, in the value's own order (None: not a list, set or
/// sorted set).
fn elements(v: &Value) -> Option<Vec<Bytes>> {
    match v {
        Value::List(l) => Some(l.iter().map(Bytes::from).collect()),
        Value::Set(s) => Some(s.iter().map(|m| Bytes::from(&*m)).collect()),
        Value::ZSet(z) => Some(z.iter().map(|(m, _)| m.into()).collect()),
        _ => None,
    }
}

/// What a pattern names for `elem`: the element itself (`#`), a string key, or a
/// hash field (`key_*->field`); None if the pattern has no `*` or the key is
/// missing or of another type.
fn lookup_pattern(c: &mut Ctx<'_, '_>, pattern: &[u8], elem: &[u8]) -> Option<Vec<u8>> {
    if pattern == b"#" {
        return Some(elem.to_vec());
    }
    let star = pattern.iter().position(|&b| b == b'*')?;
    let rest = &pattern[star + 1..];
    let (post, field) = match rest.windows(2).position(|w| w == b"->") {
        Some(at) if at + 2 < rest.len() => (&rest[..at], Some(&rest[at + 2..])),
        _ => (rest, None),
    };
    let mut key = Vec::with_capacity(star + elem.len() + post.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(elem);
    key.extend_from_slice(post);
    let e = c.store.get(&key, c.now)?;
    match (&e.value, field) {
        (Value::Str(s), None) => Some(s.to_vec()),
        (Value::Hash(h), Some(f)) => h.get(f).map(|v| v.to_vec()),
        _ => None,
    }
}

/// A weight as Redis's `strtod` check takes it: the whole text a number, not
/// NaN; the empty string is 0.
fn weight(v: &[u8]) -> Option<f64> {
    if v.is_empty() {
        return Some(0.0);
    }
    parse_f64(v)
}

struct Options<'a> {
    desc: bool,
    alpha: bool,
    limit: Option<(i64, i64)>,
    by: Option<&'a [u8]>,
    gets: Vec<&'a [u8]>,
    store: Option<&'a [u8]>,
}

fn parse<'a>(a: &Argv<'a>, readonly: bool, out: &mut Reply<'_>) -> Option<Options<'a>> {
    let mut o = Options {
        desc: false,
        alpha: false,
        limit: None,
        by: None,
        gets: Vec::new(),
        store: None,
    };
    let mut j = 2;
    while j < a.len() {
        let opt = a.get(j);
        let left = a.len() - j - 1;
        if eq(opt, b"asc") {
            o.desc = false;
        } else if eq(opt, b"desc") {
            o.desc = true;
        } else if eq(opt, b"alpha") {
            o.alpha = true;
        } else if eq(opt, b"limit") && left >= 2 {
            let (Some(start), Some(count)) = (parse_i64(a.get(j + 1)), parse_i64(a.get(j + 2)))
            else {
                reply::error(out, NOT_INT);
                return None;
            };
            o.limit = Some((start, count));
            j += 2;
        } else if !readonly && eq(opt, b"store") && left >= 1 {
            o.store = Some(a.get(j + 1));
            j += 1;
        } else if eq(opt, b"by") && left >= 1 {
            o.by = Some(a.get(j + 1));
            j += 1;
        } else if eq(opt, b"get") && left >= 1 {
            o.gets.push(a.get(j + 1));
            j += 1;
        } else {
            reply::error(out, SYNTAX);
            return None;
        }
        j += 1;
    }
    Some(o)
}

pub(super) fn sort(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    sort_generic(c, a, out, false);
}

pub(super) fn sort_ro(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    sort_generic(c, a, out, true);
}

fn sort_generic(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>, readonly: bool) {
    let Some(mut o) = parse(&a, readonly, out) else {
        return;
    };
    let (mut elems, is_set) = match c.store.get(a.get(1), c.now) {
        None => (Vec::new(), false),
        Some(e) => match elements(&e.value) {
            Some(v) => (v, matches!(e.value, Value::Set(_))),
            None => return reply::error(out, WRONGTYPE),
        },
    };
    let mut dontsort = o.by.is_some_and(|p| !p.contains(&b'*'));
    if dontsort && is_set && o.store.is_some() {
        dontsort = false;
        o.alpha = true;
        o.by = None;
    }
    // LIMIT, clamped as Redis clamps it.
    let n = elems.len() as i64;
    let (start, count) = o.limit.unwrap_or((0, -1));
    let start = start.clamp(0, n);
    let count = count.clamp(-1, n);
    let end = if count < 0 { n - 1 } else { start + count - 1 };
    let (start, end) = if start >= n {
        (n - 1, n - 2)
    } else {
        (start, end.min(n - 1))
    };
    if dontsort {
        if o.desc {
            elems.reverse();
        }
    } else {
        // (weight or comparison bytes, element), then sort.
        let mut keyed: Vec<(f64, Option<Vec<u8>>, Bytes)> = Vec::with_capacity(elems.len());
        for e in elems {
            let by = match o.by {
                Some(p) => lookup_pattern(c, p, &e),
                None => None,
            };
            if o.alpha {
                keyed.push((0.0, by, e));
            } else {
                let src: Option<&[u8]> = match o.by {
                    Some(_) => by.as_deref(),
                    None => Some(&e),
                };
                let w = match src {
                    Some(v) => match weight(v) {
                        Some(w) => w,
                        None => {
                            return reply::error(
                                out,
                                b"ERR One or more scores can't be converted into double",
                            )
                        }
                    },
                    None => 0.0,
                };
                keyed.push((w, None, e));
            }
        }
        let by_pattern = o.by.is_some();
        let (alpha, desc) = (o.alpha, o.desc);
        keyed.sort_by(|x, y| {
            let cmp = if !alpha {
                x.0.partial_cmp(&y.0)
                    .unwrap_or(std::cmp::Ordering::Equal)
                    .then_with(|| x.2.cmp(&y.2))
            } else if by_pattern {
                // A missing weight sorts first.
                x.1.cmp(&y.1)
            } else {
                x.2.cmp(&y.2)
            };
            if desc {
                cmp.reverse()
            } else {
                cmp
            }
        });
        elems = keyed.into_iter().map(|(_, _, e)| e).collect();
    }
    let window: &[Bytes] = if end >= start {
        &elems[start as usize..=end as usize]
    } else {
        &[]
    };
    // The result: each element, or what each GET names for it.
    let mut result: Vec<Option<Vec<u8>>> = Vec::new();
    for e in window {
        if o.gets.is_empty() {
            result.push(Some(e.to_vec()));
        }
        for g in &o.gets {
            result.push(lookup_pattern(c, g, e));
        }
    }
    match o.store {
        None => {
            reply::array(out, result.len());
            for r in &result {
                match r {
                    Some(v) => reply::bulk(out, v),
                    None => reply::nil(out),
                }
            }
        }
        Some(dst) => {
            let n = result.len();
            if n == 0 {
                // Reported only if there was a destination to delete.
                if c.store.remove(dst, c.now).is_some() {
                    c.modified(dst);
                    c.notify(notify::GENERIC, "del", dst);
                }
            } else {
                let fill = Fill::new(c.shared.encoding_limits().list_size);
                let mut list = List::new();
                for r in result {
                    list.push_back(&r.unwrap_or_default(), fill);
                }
                c.store.insert(dst, Value::List(list), 0);
                c.modified(dst);
                c.notify(notify::LIST, "sortstore", dst);
            }
            reply::int(out, n as i64);
        }
    }
}

/// The destination of a SORT's `STORE`, if it has one.
pub(crate) fn store_destination<'a>(a: &Argv<'a>) -> Option<&'a [u8]> {
    let mut j = 2;
    let mut dst = None;
    while j < a.len() {
        let opt = a.get(j);
        if eq(opt, b"limit") {
            j += 3;
            continue;
        }
        if (eq(opt, b"by") || eq(opt, b"get")) && j + 1 < a.len() {
            j += 2;
            continue;
        }
        if eq(opt, b"store") && j + 1 < a.len() {
            dst = Some(a.get(j + 1));
            j += 2;
            continue;
        }
        j += 1;
    }
    dst
}

#[cfg(test)]
mod tests {
    use super::super::super::testutil::Harness;
    use super::super::tests::{arr, bulk};

    fn setup() -> Harness {
        let mut h = Harness::new();
        h.cmd(&["RPUSH", "l", "3", "1", "2", "10"]);
        for (k, w) in [("1", "30"), ("2", "20"), ("3", "10")] {
            h.cmd(&["SET", &format!("w_{k}"), w]);
            h.cmd(&["HSET", &format!("h_{k}"), "name", &format!("n{k}")]);
        }
        h
    }

    #[test]
    fn numeric_alpha_desc_and_limit() {
        let mut h = setup();
        assert_eq!(h.cmd(&["SORT", "l"]), arr(&["1", "2", "3", "10"]));
        assert_eq!(h.cmd(&["SORT", "l", "DESC"]), arr(&["10", "3", "2", "1"]));
        assert_eq!(h.cmd(&["SORT", "l", "ALPHA"]), arr(&["1", "10", "2", "3"]));
        assert_eq!(h.cmd(&["SORT", "l", "LIMIT", "1", "2"]), arr(&["2", "3"]));
        assert_eq!(h.cmd(&["SORT", "l", "LIMIT", "3", "-1"]), arr(&["10"]));
        assert_eq!(h.cmd(&["SORT", "l", "LIMIT", "9", "1"]), "*0\r\n");
        assert_eq!(h.cmd(&["SORT", "nokey"]), "*0\r\n");
        h.cmd(&["RPUSH", "bad", "1", "x"]);
        assert_eq!(
            h.cmd(&["SORT", "bad"]),
            "-ERR One or more scores can't be converted into double\r\n"
        );
        assert_eq!(h.cmd(&["SORT", "bad", "ALPHA"]), arr(&["1", "x"]));
        h.cmd(&["SET", "s", "x"]);
        assert!(h.cmd(&["SORT", "s"]).starts_with("-WRONGTYPE"));
        assert_eq!(h.cmd(&["SORT", "l", "FOO"]), "-ERR syntax error\r\n");
        assert_eq!(
            h.cmd(&["SORT", "l", "LIMIT", "a", "1"]),
            "-ERR value is not an integer or out of range\r\n"
        );
    }

    #[test]
    fn by_and_get_patterns() {
        let mut h = setup();
        // By weight: w_3=10 < w_2=20 < w_1=30; w_10 is missing, so 0.
        assert_eq!(
            h.cmd(&["SORT", "l", "BY", "w_*"]),
            arr(&["10", "3", "2", "1"])
        );
        assert_eq!(
            h.cmd(&["SORT", "l", "BY", "w_*", "GET", "#", "GET", "h_*->name"]),
            format!(
                "*8\r\n{}$-1\r\n{}{}{}{}{}{}",
                bulk("10"),
                bulk("3"),
                bulk("n3"),
                bulk("2"),
                bulk("n2"),
                bulk("1"),
                bulk("n1")
            )
        );
        // A constant BY does not sort: the list's order, DESC reversing it.
        assert_eq!(
            h.cmd(&["SORT", "l", "BY", "nosort"]),
            arr(&["3", "1", "2", "10"])
        );
        assert_eq!(
            h.cmd(&["SORT", "l", "BY", "nosort", "DESC"]),
            arr(&["10", "2", "1", "3"])
        );
        assert_eq!(h.cmd(&["SORT", "l", "BY", "nosort", "GET", "w_*"]), {
            format!("*4\r\n{}{}{}$-1\r\n", bulk("10"), bulk("30"), bulk("20"))
        });
    }

    #[test]
    fn store_writes_a_list_and_sort_ro_refuses_it() {
        let mut h = setup();
        assert_eq!(h.cmd(&["SORT", "l", "STORE", "dst"]), ":4\r\n");
        assert_eq!(
            h.cmd(&["LRANGE", "dst", "0", "-1"]),
            arr(&["1", "2", "3", "10"])
        );
        // Missing GETs are stored as empty strings.
        assert_eq!(
            h.cmd(&["SORT", "l", "GET", "w_*", "STORE", "dst"]),
            ":4\r\n"
        );
        assert_eq!(
            h.cmd(&["LRANGE", "dst", "0", "-1"]),
            arr(&["30", "20", "10", ""])
        );
        // A set stored with a constant BY is sorted ALPHA, for a stable result.
        h.cmd(&["SADD", "set", "b", "c", "a"]);
        assert_eq!(
            h.cmd(&["SORT", "set", "BY", "nosort", "STORE", "dst"]),
            ":3\r\n"
        );
        assert_eq!(h.cmd(&["LRANGE", "dst", "0", "-1"]), arr(&["a", "b", "c"]));
        // An empty result deletes the destination.
        assert_eq!(h.cmd(&["SORT", "nokey", "STORE", "dst"]), ":0\r\n");
        assert_eq!(h.cmd(&["EXISTS", "dst"]), ":0\r\n");
        assert_eq!(
            h.cmd(&["SORT_RO", "l", "STORE", "dst"]),
            "-ERR syntax error\r\n"
        );
        assert_eq!(
            h.cmd(&["SORT_RO", "l", "DESC"]),
            arr(&["10", "3", "2", "1"])
        );
        // Sorted sets: by score with a constant BY, else by the members.
        h.cmd(&["ZADD", "z", "1", "30", "2", "20", "3", "10"]);
        assert_eq!(
            h.cmd(&["SORT", "z", "BY", "nosort"]),
            arr(&["30", "20", "10"])
        );
        assert_eq!(h.cmd(&["SORT", "z"]), arr(&["10", "20", "30"]));
    }
}
