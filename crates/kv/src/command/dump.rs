//! DUMP and RESTORE, with Redis's payload format: one value in RDB
//! serialisation, then the RDB version (2 bytes, little-endian) and a CRC-64
//! (Redis's Jones polynomial, 8 bytes little-endian) of everything before it.
//!
//! DUMP writes the plain RDB types (`STRING` 0, `LIST` 1, `SET` 2, `HASH` 4,
//! `ZSET_2` 5) with raw strings, which every Redis since 4.0 loads (RDB version
//! 10 is Redis 7.0's): a payload from here can be RESTOREd into redis-server.
//! RESTORE reads the same types and the string encodings Redis writes into them
//! (8/16/32-bit integers, LZF-compressed); Redis's packed types (ziplists,
//! listpacks, intsets, quicklists — what Redis's own DUMP writes for small and
//! list values) are refused with Redis's `Bad data format`. The value is rebuilt
//! by inserting its members, so it takes the encoding the current thresholds
//! give it, as Redis converts a loaded value.
//!
//! A payload is untrusted input: every length is checked against the bytes
//! left, nothing is allocated from a claimed length, a repeated member or a NaN
//! score is refused, and trailing bytes are an error (Redis 7.0 ignores them;
//! its own DUMP never writes any). Decompression is bounded: a string expands to
//! at most `proto-max-bulk-len` bytes (what SET takes), and all of a payload's
//! compressed strings to at most four times that, so a small payload cannot make
//! the server allocate gigabytes (LZF expands up to 88 times).

use super::*;
use crate::encoding::EncodingLimits;
use crate::notify;
use crate::values::hash::Hash;
use crate::values::list::{Fill, List};
use crate::values::set::Set;

/// The RDB version written, and the newest read (Redis 7.0's).
const RDB_VERSION: u16 = 10;

const TYPE_STRING: u8 = 0;
const TYPE_LIST: u8 = 1;
const TYPE_SET: u8 = 2;
const TYPE_HASH: u8 = 4;
const TYPE_ZSET_2: u8 = 5;

const BAD_FORMAT: &[u8] = b"ERR Bad data format";

/// CRC-64 with Redis's parameters (crc64.c: Jones polynomial, reflected, no
/// final xor), one table lookup per byte.
fn crc64(data: &[u8]) -> u64 {
    const TABLE: [u64; 256] = {
        let mut t = [0u64; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u64;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    (c >> 1) ^ 0x95ac_9329_ac4b_c9b5
                } else {
                    c >> 1
                };
                k += 1;
            }
            t[i] = c;
            i += 1;
        }
        t
    };
    data.iter().fold(0u64, |crc, &b| {
        TABLE[((crc ^ b as u64) & 0xff) as usize] ^ (crc >> 8)
    })
}

fn put_len(out: &mut Vec<u8>, n: usize) {
    if n < 1 << 6 {
        out.push(n as u8);
    } else if n < 1 << 14 {
        out.extend_from_slice(&[0x40 | (n >> 8) as u8, n as u8]);
    } else if let Ok(n) = u32::try_from(n) {
        out.push(0x80);
        out.extend_from_slice(&n.to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&(n as u64).to_be_bytes());
    }
}

fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    put_len(out, s.len());
    out.extend_from_slice(s);
}

/// The DUMP payload of `v`.
fn serialize(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    match v {
        Value::Str(s) => {
            out.push(TYPE_STRING);
            put_str(&mut out, s);
        }
        Value::List(l) => {
            out.push(TYPE_LIST);
            put_len(&mut out, l.len());
            l.iter().for_each(|e| put_str(&mut out, e));
        }
        Value::Set(s) => {
            out.push(TYPE_SET);
            put_len(&mut out, s.len());
            s.iter().for_each(|m| put_str(&mut out, &m));
        }
        Value::Hash(h) => {
            out.push(TYPE_HASH);
            put_len(&mut out, h.len());
            for (f, val) in h.iter() {
                put_str(&mut out, f);
                put_str(&mut out, val);
            }
        }
        Value::ZSet(z) => {
            out.push(TYPE_ZSET_2);
            put_len(&mut out, z.len());
            for (m, s) in z.iter() {
                put_str(&mut out, m);
                out.extend_from_slice(&s.to_le_bytes());
            }
        }
    }
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Redis's `verifyDumpPayload`: the body, if the version and checksum are right.
fn verify(payload: &[u8]) -> Option<&[u8]> {
    if payload.len() < 10 {
        return None;
    }
    let (rest, crc) = payload.split_at(payload.len() - 8);
    let version = u16::from_le_bytes([rest[rest.len() - 2], rest[rest.len() - 1]]);
    if version > RDB_VERSION || crc64(rest).to_le_bytes() != crc {
        return None;
    }
    Some(&rest[..rest.len() - 2])
}

/// A reader over an RDB body; every method fails (None) rather than read past
/// the end, or decompress past its budget.
struct Reader<'a> {
    rest: &'a [u8],
    /// Largest string a compressed one may expand to.
    max_string: usize,
    /// Bytes the compressed strings may still expand to, in all.
    expand_budget: usize,
}

impl<'a> Reader<'a> {
    fn new(body: &'a [u8], max_string: usize) -> Reader<'a> {
        Reader {
            rest: body,
            max_string,
            expand_budget: max_string.saturating_mul(4),
        }
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.rest.len() {
            return None;
        }
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Some(head)
    }

    fn byte(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    /// A length, or `Err(encoding)` for a specially encoded string.
    fn len_or_special(&mut self) -> Option<Result<usize, u8>> {
        let b = self.byte()?;
        Some(match b >> 6 {
            0 => Ok((b & 0x3f) as usize),
            1 => Ok((((b & 0x3f) as usize) << 8) | self.byte()? as usize),
            3 => Err(b & 0x3f),
            _ => match b {
                0x80 => Ok(u32::from_be_bytes(self.take(4)?.try_into().ok()?) as usize),
                0x81 => usize::try_from(u64::from_be_bytes(self.take(8)?.try_into().ok()?))
                    .map(Ok)
                    .ok()?,
                _ => return None,
            },
        })
    }

    fn len(&mut self) -> Option<usize> {
        self.len_or_special()?.ok()
    }

    fn string(&mut self) -> Option<Vec<u8>> {
        match self.len_or_special()? {
            Ok(n) => self.take(n).map(<[u8]>::to_vec),
            Err(0) => Some(itoa_bytes(self.byte()? as i8 as i64)),
            Err(1) => Some(itoa_bytes(
                i16::from_le_bytes(self.take(2)?.try_into().ok()?) as i64,
            )),
            Err(2) => Some(itoa_bytes(
                i32::from_le_bytes(self.take(4)?.try_into().ok()?) as i64,
            )),
            Err(3) => {
                let clen = self.len()?;
                let len = self.len()?;
                if len > self.max_string || len > self.expand_budget {
                    return None;
                }
                self.expand_budget -= len;
                lzf_decompress(self.take(clen)?, len)
            }
            Err(_) => None,
        }
    }
}

fn itoa_bytes(v: i64) -> Vec<u8> {
    itoa::Buffer::new().format(v).as_bytes().to_vec()
}

/// LZF decompression (liblzf's format, as Redis writes compressed strings):
/// exactly `len` bytes or None. `len` is checked against what the input can
/// expand to, and the output grows as it is written rather than being reserved
/// from the claimed length.
fn lzf_decompress(input: &[u8], len: usize) -> Option<Vec<u8>> {
    // A back reference expands to at most 9 bytes per input byte (2 bytes, 8
    // out) or 88 (3 bytes, 264 out); a literal to less than one.
    if len > input.len().saturating_mul(88) {
        return None;
    }
    let mut out = Vec::with_capacity(len.min(input.len().saturating_mul(4)));
    let mut i = 0;
    while i < input.len() {
        let ctrl = input[i] as usize;
        i += 1;
        if ctrl < 32 {
            let lit = input.get(i..i + ctrl + 1)?;
            out.extend_from_slice(lit);
            i += ctrl + 1;
        } else {
            let mut n = ctrl >> 5;
            if n == 7 {
                n += *input.get(i)? as usize;
                i += 1;
            }
            let back = ((ctrl & 0x1f) << 8) + *input.get(i)? as usize + 1;
            i += 1;
            let start = out.len().checked_sub(back)?;
            for k in 0..n + 2 {
                let b = out[start + k];
                out.push(b);
            }
        }
        if out.len() > len {
            return None;
        }
    }
    (out.len() == len).then_some(out)
}

/// The value of an RDB body, built under `limits`; None for anything malformed.
fn deserialize(body: &[u8], limits: &EncodingLimits, max_string: usize) -> Option<Value> {
    let mut r = Reader::new(body, max_string);
    let v = match r.byte()? {
        TYPE_STRING => Value::Str(r.string()?.into()),
        TYPE_LIST => {
            let n = r.len()?;
            let fill = Fill::new(limits.list_size);
            let mut l = List::new();
            for _ in 0..n {
                l.push_back(&r.string()?, fill);
            }
            Value::List(l)
        }
        TYPE_SET => {
            let n = r.len()?;
            let mut s = Set::new();
            for _ in 0..n {
                if !s.insert(&r.string()?, limits) {
                    return None;
                }
            }
            Value::Set(s)
        }
        TYPE_HASH => {
            let n = r.len()?;
            let mut h = Hash::new();
            for _ in 0..n {
                let f = r.string()?;
                if !h.insert(&f, &r.string()?, limits) {
                    return None;
                }
            }
            Value::Hash(h)
        }
        TYPE_ZSET_2 => {
            let n = r.len()?;
            let mut items: Vec<(Bytes, f64)> = Vec::new();
            let mut seen: IndexSet<Bytes, Hasher> = IndexSet::default();
            for _ in 0..n {
                let m: Bytes = r.string()?.into();
                let s = f64::from_le_bytes(r.take(8)?.try_into().ok()?);
                if s.is_nan() || !seen.insert(m.clone()) {
                    return None;
                }
                items.push((m, s));
            }
            Value::ZSet(ZSet::from_items(items, limits))
        }
        _ => return None,
    };
    // Nothing may follow the value; an empty collection is not a value.
    (r.rest.is_empty() && !v.is_empty_collection()).then_some(v)
}

/// DUMP key: the payload, or nil for a missing key.
pub(super) fn dump(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    match c.store.get(a.get(1), c.now) {
        Some(e) => reply::bulk(out, &serialize(&e.value)),
        None => reply::nil(out),
    }
}

/// RESTORE key ttl payload \[REPLACE\] \[ABSTTL\] \[IDLETIME s\] \[FREQ f\], with
/// Redis's checks in Redis's order. IDLETIME and FREQ are checked and
/// ignored: keys keep no access time or counter here.
pub(super) fn restore(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq) = (false, false);
    let mut j = 4;
    while j < a.len() {
        let o = a.get(j);
        let more = j + 1 < a.len();
        if eq(o, b"replace") {
            replace = true;
        } else if eq(o, b"absttl") {
            absttl = true;
        } else if eq(o, b"idletime") && more && !freq {
            match parse_i64(a.get(j + 1)) {
                None => return reply::error(out, NOT_INT),
                Some(n) if n < 0 => {
                    return reply::error(out, b"ERR Invalid IDLETIME value, must be >= 0")
                }
                Some(_) => idle = true,
            }
            j += 1;
        } else if eq(o, b"freq") && more && !idle {
            match parse_i64(a.get(j + 1)) {
                None => return reply::error(out, NOT_INT),
                Some(n) if !(0..=255).contains(&n) => {
                    return reply::error(out, b"ERR Invalid FREQ value, must be >= 0 and <= 255")
                }
                Some(_) => freq = true,
            }
            j += 1;
        } else {
            return reply::error(out, SYNTAX);
        }
        j += 1;
    }
    let key = a.get(1);
    if !replace && c.store.exists(key, c.now) {
        return reply::error(out, b"BUSYKEY Target key name already exists.");
    }
    let ttl = match parse_i64(a.get(2)) {
        None => return reply::error(out, NOT_INT),
        Some(t) if t < 0 => return reply::error(out, b"ERR Invalid TTL value, must be >= 0"),
        Some(t) => t as u64,
    };
    let Some(body) = verify(a.get(3)) else {
        return reply::error(out, b"ERR DUMP payload version or checksum are wrong");
    };
    let max_string = c.shared.config.get().max_bulk;
    let Some(value) = deserialize(body, &c.shared.encoding_limits(), max_string) else {
        return reply::error(out, BAD_FORMAT);
    };
    let deleted = replace && c.store.remove(key, c.now).is_some();
    // A relative TTL that overflows a signed millisecond time counts as past, as
    // Redis's wrapping `ttl += mstime()` makes it.
    let at = match (ttl, absttl) {
        (0, _) => 0,
        (t, true) => t,
        (t, false) => c
            .now
            .checked_add(t)
            .filter(|&at| at <= i64::MAX as u64)
            .unwrap_or(1),
    };
    // A deadline already past: the key is not created (an old one is gone,
    // which is reported as a DEL).
    if at == 0 || at > c.now {
        c.store.insert(key, value, at);
        c.modified(key);
        c.notify(notify::GENERIC, "restore", key);
    } else if deleted {
        c.modified(key);
        c.notify(notify::GENERIC, "del", key);
    }
    reply::ok(out);
}

#[cfg(test)]
mod tests {
    use super::super::super::testutil::Harness;
    use super::super::tests::{arr, bulk, SYNTAX};
    use super::*;

    #[test]
    fn crc64_is_redis_s() {
        // crc64.c's own test vector.
        assert_eq!(crc64(b"123456789"), 0xe9c6_d914_c4b8_d9ca);
    }

    /// A RESTORE of `payload` (raw bytes) into `key`.
    fn restore(h: &mut Harness, key: &str, payload: &[u8], extra: &[&str]) -> String {
        let mut args: Vec<&[u8]> = vec![b"RESTORE", key.as_bytes(), b"0", payload];
        args.extend(extra.iter().map(|s| s.as_bytes()));
        h.cmd_bytes(&args)
    }

    fn dumped(h: &mut Harness, key: &str) -> Vec<u8> {
        let r = h.cmd_raw(&["DUMP", key]);
        let start = r.iter().position(|&b| b == b'\n').expect("a bulk reply") + 1;
        r[start..r.len() - 2].to_vec()
    }

    #[test]
    fn every_type_round_trips_and_takes_the_current_encoding() {
        let mut h = Harness::new();
        h.cmd(&["SET", "s", "hello"]);
        h.cmd(&["RPUSH", "l", "a", "b", "c"]);
        h.cmd(&["SADD", "i", "1", "2", "3"]);
        h.cmd(&["SADD", "t", "x", "y"]);
        h.cmd(&["HSET", "h", "f", "v", "g", "w"]);
        h.cmd(&["ZADD", "z", "1.5", "a", "-inf", "b"]);
        for (k, read) in [
            ("s", &["GET"][..]),
            ("l", &["LRANGE", "0", "-1"]),
            ("i", &["SMEMBERS"]),
            ("t", &["SMEMBERS"]),
            ("h", &["HGETALL"]),
            ("z", &["ZRANGE", "0", "-1", "WITHSCORES"]),
        ] {
            let payload = dumped(&mut h, k);
            let copy = format!("{k}2");
            assert_eq!(restore(&mut h, &copy, &payload, &[]), "+OK\r\n", "{k}");
            let q = |key: &str| {
                let mut v = vec![read[0], key];
                v.extend_from_slice(&read[1..]);
                v.into_iter().map(String::from).collect::<Vec<_>>()
            };
            let (a, b) = (q(k), q(&copy));
            let a: Vec<&str> = a.iter().map(String::as_str).collect();
            let b: Vec<&str> = b.iter().map(String::as_str).collect();
            let (x, y) = (h.cmd(&a), h.cmd(&b));
            if k == "t" || k == "h" {
                assert_eq!(x.len(), y.len(), "{k}");
            } else {
                assert_eq!(x, y, "{k}");
            }
        }
        // Loaded under today's thresholds: a hash past them is a table.
        let payload = dumped(&mut h, "h");
        h.cmd(&["CONFIG", "SET", "hash-max-listpack-entries", "1"]);
        restore(&mut h, "h3", &payload, &[]);
        assert_eq!(h.cmd(&["OBJECT", "ENCODING", "h3"]), bulk("hashtable"));
        assert_eq!(h.cmd(&["DUMP", "nosuch"]), "$-1\r\n");
    }

    #[test]
    fn restore_checks_like_redis() {
        let mut h = Harness::new();
        h.cmd(&["SET", "s", "v"]);
        let payload = dumped(&mut h, "s");
        assert_eq!(
            restore(&mut h, "s", &payload, &[]),
            "-BUSYKEY Target key name already exists.\r\n"
        );
        assert_eq!(restore(&mut h, "s", &payload, &["REPLACE"]), "+OK\r\n");
        assert_eq!(
            restore(&mut h, "s", &payload, &["REPLACE", "BOGUS"]),
            SYNTAX
        );
        assert_eq!(
            restore(&mut h, "s", &payload, &["REPLACE", "FREQ", "256"]),
            "-ERR Invalid FREQ value, must be >= 0 and <= 255\r\n"
        );
        assert_eq!(
            restore(&mut h, "s", &payload, &["REPLACE", "IDLETIME", "-1"]),
            "-ERR Invalid IDLETIME value, must be >= 0\r\n"
        );
        assert_eq!(
            restore(
                &mut h,
                "s",
                &payload,
                &["REPLACE", "IDLETIME", "1", "FREQ", "1"]
            ),
            SYNTAX
        );
        assert_eq!(
            h.cmd_bytes(&[b"RESTORE", b"n", b"-1", &payload]),
            "-ERR Invalid TTL value, must be >= 0\r\n"
        );
        let mut bad = payload.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert_eq!(
            restore(&mut h, "n", &bad, &[]),
            "-ERR DUMP payload version or checksum are wrong\r\n"
        );
        assert_eq!(
            restore(&mut h, "n", b"short", &[]),
            "-ERR DUMP payload version or checksum are wrong\r\n"
        );
        // A well-formed envelope around a body that is not a value.
        for body in [
            &[TYPE_LIST, 5, 1, b'a'][..],
            &[9, 0],
            &[TYPE_SET, 2, 1, b'a', 1, b'a'],
            &[TYPE_STRING, 1, b'a', b'x'],
        ] {
            assert_eq!(
                restore(&mut h, "n", &envelope(body), &[]),
                "-ERR Bad data format\r\n",
                "{body:?}"
            );
        }
        assert_eq!(h.cmd(&["EXISTS", "n"]), ":0\r\n");
    }

    #[test]
    fn restore_sets_the_ttl_relative_or_absolute() {
        let mut h = Harness::new();
        h.cmd(&["RPUSH", "l", "a"]);
        let payload = dumped(&mut h, "l");
        assert_eq!(
            h.cmd_bytes(&[b"RESTORE", b"r", b"100000", &payload]),
            "+OK\r\n"
        );
        let pttl: i64 = h.cmd(&["PTTL", "r"])[1..].trim().parse().unwrap();
        assert!((99_000..=100_000).contains(&pttl), "{pttl}");
        // An absolute deadline in the past: OK, and no key.
        assert_eq!(
            h.cmd_bytes(&[b"RESTORE", b"p", b"1", &payload, b"ABSTTL"]),
            "+OK\r\n"
        );
        assert_eq!(h.cmd(&["EXISTS", "p"]), ":0\r\n");
        assert_eq!(h.cmd(&["LRANGE", "r", "0", "-1"]), arr(&["a"]));
    }

    #[test]
    fn strings_redis_encodes_are_read() {
        // Integer encodings and an LZF-compressed string, as Redis writes them.
        let mut h = Harness::new();
        for (body, want) in [
            (&[TYPE_STRING, 0xc0, 0xff][..], "-1"),
            (&[TYPE_STRING, 0xc1, 0x39, 0x30], "12345"),
            (&[TYPE_STRING, 0xc2, 0x00, 0x00, 0x00, 0x80], "-2147483648"),
            // "aaaaaaaaaa": one literal 'a', then a back reference of 9.
            (
                &[TYPE_STRING, 0xc3, 5, 10, 0, b'a', 0xe0, 0, 0],
                "aaaaaaaaaa",
            ),
        ] {
            assert_eq!(
                restore(&mut h, "k", &envelope(body), &["REPLACE"]),
                "+OK\r\n",
                "{want}"
            );
            assert_eq!(h.cmd(&["GET", "k"]), bulk(want));
        }
    }

    #[test]
    fn a_ttl_past_a_signed_millisecond_time_is_already_expired() {
        let mut h = Harness::new();
        h.cmd(&["SET", "s", "v"]);
        let payload = dumped(&mut h, "s");
        let max = i64::MAX.to_string();
        for key in ["s", "new"] {
            assert_eq!(
                h.cmd_bytes(&[
                    b"RESTORE",
                    key.as_bytes(),
                    max.as_bytes(),
                    &payload,
                    b"REPLACE"
                ]),
                "+OK\r\n"
            );
            assert_eq!(h.cmd(&["EXISTS", key]), ":0\r\n", "{key}");
        }
    }

    #[test]
    fn decompression_is_bounded_per_string_and_per_payload() {
        let limits = EncodingLimits::default();
        // "aaaaaaaaaa", compressed: 10 bytes from 5.
        let lzf = [0xc3, 5, 10, 0, b'a', 0xe0, 0, 0];
        let string = |max| deserialize(&[&[TYPE_STRING][..], &lzf].concat(), &limits, max);
        assert!(string(10).is_some());
        assert!(string(9).is_none());
        // A list of n such strings: all of them expand to at most 4 × max.
        let list = |n: u8| {
            let mut b = vec![TYPE_LIST, n];
            for _ in 0..n {
                b.extend_from_slice(&lzf);
            }
            deserialize(&b, &limits, 10)
        };
        assert!(list(4).is_some());
        assert!(list(5).is_none());
        // A claimed length past what the input can expand to is refused first.
        let bomb = [
            TYPE_STRING,
            0xc3,
            5,
            0x80,
            0x7f,
            0xff,
            0xff,
            0xff,
            0,
            b'a',
            0xe0,
            0,
            0,
        ];
        assert!(deserialize(&bomb, &limits, usize::MAX).is_none());
    }

    /// `body` inside a valid envelope (version and checksum right).
    fn envelope(body: &[u8]) -> Vec<u8> {
        let mut p = body.to_vec();
        p.extend_from_slice(&RDB_VERSION.to_le_bytes());
        let crc = crc64(&p);
        p.extend_from_slice(&crc.to_le_bytes());
        p
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 512, ..Default::default() })]

        /// Any body in a valid envelope is a value or `Bad data format`:
        /// never a panic, and never an allocation from a claimed length.
        #[test]
        fn arbitrary_bodies_are_refused_or_loaded(
            t in 0u8..7,
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
        ) {
            let mut b = vec![t];
            b.extend_from_slice(&body);
            let mut h = Harness::new();
            let r = restore(&mut h, "k", &envelope(&b), &[]);
            proptest::prop_assert!(r == "+OK\r\n" || r == "-ERR Bad data format\r\n", "{r}");
            if r == "+OK\r\n" {
                // What loaded dumps back to a payload that loads again.
                let again = dumped(&mut h, "k");
                proptest::prop_assert_eq!(restore(&mut h, "k2", &again, &[]), "+OK\r\n");
            }
        }
    }
}
