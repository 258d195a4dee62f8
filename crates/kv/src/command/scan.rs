//! The SCAN family's arguments, shared by SCAN, SSCAN, HSCAN and ZSCAN, and the
//! walk of one collection (SSCAN, HSCAN, ZSCAN) over the cursor scheme of
//! [`cursor`](super::super::cursor).
//!
//! A collection that fits in one `COUNT` is answered whole with cursor 0, as Redis
//! answers its small (listpack, intset) encodings; a larger one is walked over a
//! snapshot of its member names, each checked against the live collection, so a
//! member present for the whole scan is returned exactly once and a removed one
//! is not returned after its removal.

use super::*;

/// The parsed options of a SCAN-family command.
pub(super) struct ScanOptions<'a> {
    pub count: usize,
    pub pattern: Option<&'a [u8]>,
    pub type_filter: Option<&'a [u8]>,
}

impl ScanOptions<'_> {
    /// Whether `name` passes MATCH.
    pub fn matches(&self, name: &[u8]) -> bool {
        self.pattern
            .is_none_or(|p| p == b"*" || glob::matches(p, name, false))
    }
}

/// A cursor argument: an unsigned decimal, as Redis's `strtoul` check takes it.
pub(super) fn parse_cursor(arg: &[u8], out: &mut Reply<'_>) -> Option<u64> {
    let cursor = std::str::from_utf8(arg)
        .ok()
        .and_then(|s| s.parse::<u64>().ok());
    if cursor.is_none() {
        reply::error(out, b"ERR invalid cursor");
    }
    cursor
}

/// Parse `COUNT n`, `MATCH p` (and `TYPE t` where `allow_type`, SCAN only) from
/// argument `first` on; `Err` after the error reply.
pub(super) fn scan_options<'a>(
    a: &Argv<'a>,
    first: usize,
    allow_type: bool,
    out: &mut Reply<'_>,
) -> Result<ScanOptions<'a>, ()> {
    let mut opts = ScanOptions {
        count: 10,
        pattern: None,
        type_filter: None,
    };
    let mut i = first;
    while i < a.len() {
        let opt = a.get(i);
        if i + 1 >= a.len() {
            reply::error(out, SYNTAX);
            return Err(());
        }
        let val = a.get(i + 1);
        if eq(opt, b"count") {
            match parse_i64(val) {
                None => {
                    reply::error(out, NOT_INT);
                    return Err(());
                }
                Some(n) if n < 1 => {
                    reply::error(out, SYNTAX);
                    return Err(());
                }
                Some(n) => opts.count = usize::try_from(n).unwrap_or(usize::MAX),
            }
        } else if eq(opt, b"match") {
            opts.pattern = Some(val);
        } else if allow_type && eq(opt, b"type") {
            opts.type_filter = Some(val);
        } else {
            reply::error(out, SYNTAX);
            return Err(());
        }
        i += 2;
    }
    Ok(opts)
}

/// The member names of a collection, for a snapshot.
fn names(v: &Value) -> Vec<Bytes> {
    match v {
        Value::Set(s) => s.iter().map(|m| Bytes::from(&*m)).collect(),
        Value::Hash(h) => h.fields().map(Bytes::from).collect(),
        Value::ZSet(z) => z.iter().map(|(m, _)| m.into()).collect(),
        Value::Str(_) | Value::List(_) => Vec::new(),
    }
}

/// True for a collection in a compact encoding: answered whole, cursor 0, as
/// Redis answers its listpacks and intsets whatever the COUNT.
fn compact(v: &Value) -> bool {
    match v {
        Value::Hash(h) => h.is_packed(),
        Value::Set(s) => s.is_ints(),
        _ => false,
    }
}

/// Append every member of `v` that passes MATCH (with its value or score);
/// returns how many.
fn emit_all(v: &Value, opts: &ScanOptions<'_>, out: &mut Vec<u8>) -> usize {
    let mut found = 0;
    match v {
        // One pass over the pairs: a lookup per field would be quadratic in a
        // listpack.
        Value::Hash(h) => {
            for (f, val) in h.iter().filter(|(f, _)| opts.matches(f)) {
                reply::bulk(out, f);
                reply::bulk(out, val);
                found += 1;
            }
        }
        _ => {
            for name in names(v) {
                if opts.matches(&name) && emit(v, &name, out) {
                    found += 1;
                }
            }
        }
    }
    found
}

fn size(v: &Value) -> usize {
    match v {
        Value::Set(s) => s.len(),
        Value::Hash(h) => h.len(),
        // A listpack is answered whole, whatever COUNT says, as Redis does.
        Value::ZSet(ZSet::Pack(_)) => 0,
        Value::ZSet(z) => z.len(),
        Value::Str(_) | Value::List(_) => 0,
    }
}

/// Append `name` (and its value or score) if it is still in `v`; true if it was.
fn emit(v: &Value, name: &[u8], out: &mut Vec<u8>) -> bool {
    match v {
        Value::Set(s) if s.contains(name) => reply::bulk(out, name),
        Value::Hash(h) => match h.get(name) {
            Some(val) => {
                reply::bulk(out, name);
                reply::bulk(out, val);
            }
            None => return false,
        },
        Value::ZSet(z) => match z.score(name) {
            Some(score) => {
                reply::bulk(out, name);
                // A bulk string in RESP3 too: SCAN's replies are flat arrays.
                reply::double(&mut Reply::new(out, false), score);
            }
            None => return false,
        },
        _ => return false,
    }
    true
}

/// SSCAN, HSCAN, ZSCAN: `key cursor [MATCH p] [COUNT n]` on a value of type `kind`.
fn scan_collection(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>, kind: &str) {
    let Some(cursor) = parse_cursor(a.get(2), out) else {
        return;
    };
    let key = a.get(1);
    match c.store.get(key, c.now) {
        None => return reply_scan(out, 0, 0, &[], 1),
        Some(e) if e.value.type_name() != kind => return reply::error(out, WRONGTYPE),
        Some(_) => {}
    }
    let Ok(opts) = scan_options(&a, 3, false, out) else {
        return;
    };
    let per_item = if kind == "set" { 1 } else { 2 };
    let mut body = Vec::new();
    let mut found = 0;
    let mut walk = if cursor == 0 {
        let Some(e) = c.store.get(key, c.now) else {
            return reply_scan(out, 0, 0, &[], per_item);
        };
        if compact(&e.value) || size(&e.value) <= opts.count {
            let found = emit_all(&e.value, &opts, &mut body);
            return reply_scan(out, 0, found, &body, per_item);
        }
        let snapshot = names(&e.value);
        c.store.member_scans.start(key, snapshot)
    } else {
        match c.store.member_scans.resume(cursor, key) {
            Some(w) => w,
            None => return reply::error(out, b"ERR invalid cursor"),
        }
    };
    let Some(e) = c.store.get(key, c.now) else {
        return reply_scan(out, 0, 0, &[], per_item);
    };
    for name in walk.batch(opts.count) {
        if opts.matches(name) && emit(&e.value, name, &mut body) {
            found += 1;
        }
    }
    let next = c.store.member_scans.park(walk);
    reply_scan(out, next, found, &body, per_item);
}

/// `[cursor, [items...]]` with `found` items of `per_item` elements already in `body`.
fn reply_scan(out: &mut Reply<'_>, next: u64, found: usize, body: &[u8], per_item: usize) {
    reply::array(out, 2);
    reply::bulk(out, itoa::Buffer::new().format(next).as_bytes());
    reply::array(out, found * per_item);
    out.extend_from_slice(body);
}

pub(super) fn sscan(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    scan_collection(c, a, out, "set")
}

pub(super) fn hscan(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    scan_collection(c, a, out, "hash")
}

pub(super) fn zscan(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    scan_collection(c, a, out, "zset")
}

#[cfg(test)]
mod tests {
    use super::super::super::testutil::Harness;

    /// The cursor and the items of a SCAN-family reply.
    fn parse(reply: &str) -> (String, Vec<String>) {
        let lines: Vec<&str> = reply.split("\r\n").collect();
        assert_eq!(lines[0], "*2", "{reply}");
        let cursor = lines[2].to_string();
        let items = lines[4..]
            .chunks(2)
            .filter(|c| c.len() == 2)
            .map(|c| c[1].to_string())
            .collect();
        (cursor, items)
    }

    #[test]
    fn a_walk_returns_every_member_once_despite_writes_meanwhile() {
        let mut h = Harness::new();
        // A listpack is answered whole; walk the table forms.
        h.cmd(&["CONFIG", "SET", "hash-max-listpack-entries", "0"]);
        h.cmd(&["CONFIG", "SET", "zset-max-listpack-entries", "0"]);
        for i in 0..100 {
            h.cmd(&["SADD", "s", &format!("m{i}")]);
            h.cmd(&["HSET", "h", &format!("f{i}"), &i.to_string()]);
            h.cmd(&["ZADD", "z", &i.to_string(), &format!("z{i}")]);
        }
        for (cmd, key, per) in [("SSCAN", "s", 1), ("HSCAN", "h", 2), ("ZSCAN", "z", 2)] {
            let mut cursor = "0".to_string();
            let mut seen = Vec::new();
            let mut calls = 0;
            loop {
                let (next, items) = parse(&h.cmd(&[cmd, key, &cursor, "COUNT", "7"]));
                assert!(items.len() <= 7 * per, "{cmd}: {} items", items.len());
                seen.extend(items.chunks(per).map(|c| c[0].clone()));
                calls += 1;
                // Members added during the walk need not be returned; they must
                // not disturb it.
                h.cmd(&["SADD", "s", &format!("new{calls}")]);
                h.cmd(&["HSET", "h", &format!("new{calls}"), "x"]);
                if next == "0" {
                    break;
                }
                cursor = next;
                assert!(calls < 100, "{cmd} never finished");
            }
            let old = seen.iter().filter(|m| !m.starts_with("new")).count();
            assert_eq!(old, 100, "{cmd}");
            let mut dedup = seen.clone();
            dedup.sort();
            dedup.dedup();
            assert_eq!(dedup.len(), seen.len(), "{cmd} repeated a member");
        }
    }

    #[test]
    fn small_collections_match_and_answer_in_one_call() {
        let mut h = Harness::new();
        h.cmd(&["HSET", "h", "a1", "x", "b1", "y", "a2", "z"]);
        let (cursor, mut items) = parse(&h.cmd(&["HSCAN", "h", "0", "MATCH", "a*"]));
        assert_eq!(cursor, "0");
        items.sort();
        assert_eq!(items, ["a1", "a2", "x", "z"]);
        h.cmd(&["ZADD", "z", "1.5", "m"]);
        assert_eq!(
            h.cmd(&["ZSCAN", "z", "0"]),
            "*2\r\n$1\r\n0\r\n*2\r\n$1\r\nm\r\n$3\r\n1.5\r\n"
        );
        assert_eq!(h.cmd(&["SSCAN", "nokey", "0"]), "*2\r\n$1\r\n0\r\n*0\r\n");
        assert!(h.cmd(&["SSCAN", "h", "0"]).starts_with("-WRONGTYPE"));
        assert_eq!(h.cmd(&["HSCAN", "h", "12345"]), "-ERR invalid cursor\r\n");
        assert_eq!(
            h.cmd(&["HSCAN", "h", "0", "COUNT", "0"]),
            "-ERR syntax error\r\n"
        );
    }
}
