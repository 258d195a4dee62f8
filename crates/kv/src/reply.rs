//! Reply encoding, RESP2 and RESP3: the shapes Redis answers with, written straight
//! into the session's output buffer.
//!
//! A handler writes through a [`Reply`]: the output buffer plus the protocol the
//! client chose with `HELLO`. The shapes both protocols share (simple strings,
//! errors, integers, bulk strings, arrays) are plain functions on the buffer; the
//! shapes RESP3 adds (null, map, set, double, boolean, verbatim string, push) are
//! decided here and nowhere else, so a handler says "a map of n pairs" once and
//! each client gets its protocol's bytes (`%n` or `*2n`).
//!
//! Replies are the hot path's other half: every command ends here. They are written
//! with `extend_from_slice` and `itoa` into the caller's `Vec<u8>` (never through
//! `format!`), so answering a command allocates nothing once the buffer has grown.
//! Doubles are formatted like Redis 7 (shortest round-trip, integers without `.0`,
//! `inf`/`-inf`).

use std::io::Write as _;
use std::ops::{Deref, DerefMut};

/// The output buffer of one client, with the protocol it speaks.
///
/// It dereferences to the buffer, so the shapes common to RESP2 and RESP3 (and
/// pre-encoded bytes) are written with the functions below that take
/// `&mut Vec<u8>`; the shapes that differ take the `Reply`.
#[derive(Debug)]
pub struct Reply<'a> {
    buf: &'a mut Vec<u8>,
    resp3: bool,
}

impl<'a> Reply<'a> {
    /// Replies into `buf`, in RESP3 if `resp3`, else RESP2.
    pub fn new(buf: &'a mut Vec<u8>, resp3: bool) -> Reply<'a> {
        Reply { buf, resp3 }
    }

    /// Whether the client speaks RESP3.
    pub fn resp3(&self) -> bool {
        self.resp3
    }

    /// The client switched protocol (HELLO, RESET): what follows in this
    /// buffer is in the new one.
    pub fn set_resp3(&mut self, resp3: bool) {
        self.resp3 = resp3;
    }
}

impl Deref for Reply<'_> {
    type Target = Vec<u8>;

    fn deref(&self) -> &Vec<u8> {
        self.buf
    }
}

impl DerefMut for Reply<'_> {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        self.buf
    }
}

/// `+OK`.
pub fn ok(out: &mut Vec<u8>) {
    out.extend_from_slice(b"+OK\r\n");
}

/// A simple string, `+s`.
pub fn simple(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'+');
    out.extend_from_slice(s);
    out.extend_from_slice(b"\r\n");
}

/// An error; `msg` includes its code (`ERR ...`, `WRONGTYPE ...`). CR and LF are
/// mapped to spaces, as Redis does, so the reply stays one line.
pub fn error(out: &mut Vec<u8>, msg: &[u8]) {
    out.push(b'-');
    out.extend(
        msg.iter()
            .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
    );
    out.extend_from_slice(b"\r\n");
}

/// A `<COMMAND> HELP` reply as Redis writes it: the heading, the subcommands'
/// `lines`, and HELP's own entry.
pub fn help(out: &mut Vec<u8>, command: &[u8], lines: &[&[u8]]) {
    array(out, lines.len() + 3);
    let mut head = command.to_vec();
    head.extend_from_slice(b" <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    simple(out, &head);
    for line in lines {
        simple(out, line);
    }
    simple(out, b"HELP");
    simple(out, b"    Print this help.");
}

/// An integer, `:n`.
pub fn int(out: &mut Vec<u8>, n: i64) {
    out.push(b':');
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// A bulk string.
pub fn bulk(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'$');
    out.extend_from_slice(itoa::Buffer::new().format(s.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(s);
    out.extend_from_slice(b"\r\n");
}

/// An integer sent as a bulk string (TIME, HELLO's fields, SCAN's cursor).
pub fn bulk_int(out: &mut Vec<u8>, n: i64) {
    bulk(out, itoa::Buffer::new().format(n).as_bytes());
}

/// Null: RESP2's null bulk string `$-1`, RESP3's `_` (Redis's `addReplyNull`).
pub fn nil(out: &mut Reply<'_>) {
    let bytes: &[u8] = if out.resp3 { b"_\r\n" } else { b"$-1\r\n" };
    out.extend_from_slice(bytes);
}

/// Null where RESP2 has the null array `*-1`; `_` in RESP3
/// (`addReplyNullArray`).
pub fn nil_array(out: &mut Reply<'_>) {
    let bytes: &[u8] = if out.resp3 { b"_\r\n" } else { b"*-1\r\n" };
    out.extend_from_slice(bytes);
}

fn header(out: &mut Vec<u8>, kind: u8, n: usize) {
    out.push(kind);
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// A map of `n` key-value pairs that follow: `%n`, or in RESP2 an array of `2n`.
pub fn map(out: &mut Reply<'_>, n: usize) {
    if out.resp3 {
        header(out, b'%', n)
    } else {
        header(out, b'*', 2 * n)
    }
}

/// A set of `n` elements that follow: `~n`, or in RESP2 an array.
pub fn set(out: &mut Reply<'_>, n: usize) {
    let kind = if out.resp3 { b'~' } else { b'*' };
    header(out, kind, n)
}

/// A push (out-of-band message) of `n` elements: `>n`, or in RESP2 an array.
pub fn push(out: &mut Reply<'_>, n: usize) {
    let kind = if out.resp3 { b'>' } else { b'*' };
    header(out, kind, n)
}

/// The header of `n` pairs (member and score, field and value): flattened
/// (`*2n`) in RESP2, and in RESP3 unless `nested`, when each pair is an array of
/// its own (`*n`, and [`pair`] before each), as Redis 7 answers `ZPOPMIN key
/// count`.
pub fn pairs(out: &mut Reply<'_>, n: usize, nested: bool) {
    let len = if nested && out.resp3 { n } else { 2 * n };
    array(out, len);
}

/// Before each pair of a [`pairs`] reply: RESP3's nested pair header.
pub fn pair(out: &mut Reply<'_>, nested: bool) {
    if nested && out.resp3 {
        array(out, 2);
    }
}

/// The header of `n` members, with their scores when `withscores` (then RESP3
/// nests each pair, as Redis 7 answers `ZRANGE ... WITHSCORES`); call
/// [`scored_item`] before each member.
pub fn scored(out: &mut Reply<'_>, n: usize, withscores: bool) {
    if withscores {
        pairs(out, n, true)
    } else {
        array(out, n)
    }
}

/// Before each member of a [`scored`] reply.
pub fn scored_item(out: &mut Reply<'_>, withscores: bool) {
    pair(out, withscores)
}

/// A boolean: `#t`/`#f`, or in RESP2 the integer 1/0. No Redis 7.0 command
/// answers one; Lua scripts' replies will (kept here so every RESP3 shape is
/// decided in this module).
#[allow(dead_code)]
pub fn boolean(out: &mut Reply<'_>, b: bool) {
    if out.resp3 {
        out.extend_from_slice(if b { b"#t\r\n" } else { b"#f\r\n" });
    } else {
        int(out, b as i64);
    }
}

/// A verbatim text string (INFO, CLIENT LIST): `=len txt:...`, or in RESP2 a bulk
/// string.
pub fn verbatim(out: &mut Reply<'_>, s: &[u8]) {
    if !out.resp3 {
        return bulk(out, s);
    }
    header(out, b'=', s.len() + 4);
    out.extend_from_slice(b"txt:");
    out.extend_from_slice(s);
    out.extend_from_slice(b"\r\n");
}

/// An array header for `n` elements that follow.
pub fn array(out: &mut Vec<u8>, n: usize) {
    out.push(b'*');
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// A double, formatted as Redis 7.0's `addReplyDouble` does: `inf`/`-inf`,
/// otherwise C's `%.17g` (`0.1` is `0.10000000000000001`); a bulk string in RESP2,
/// `,` in RESP3.
pub fn double(out: &mut Reply<'_>, d: f64) {
    if d.is_infinite() {
        let s: &[u8] = if d > 0.0 { b"inf" } else { b"-inf" };
        return if out.resp3 {
            line(out, b',', s)
        } else {
            bulk(out, s)
        };
    }
    let s = format_g17(d);
    if out.resp3 {
        line(out, b',', s.as_bytes())
    } else {
        bulk(out, s.as_bytes())
    }
}

fn line(out: &mut Vec<u8>, kind: u8, s: &[u8]) {
    out.push(kind);
    out.extend_from_slice(s);
    out.extend_from_slice(b"\r\n");
}

/// C's `printf("%.17g", d)` for a finite `d`: 17 significant digits, fixed
/// notation for exponents -4..17, trailing zeros dropped.
fn format_g17(d: f64) -> String {
    if d == 0.0 {
        return if d.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    // Rust rounds `{:.16e}` exactly, as printf does.
    let sci = format!("{d:.16e}");
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mant) = match mant.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mant),
    };
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let trim = |s: String| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if !(-4..17).contains(&exp) {
        let m = trim(format!("{}.{}", &digits[..1], &digits[1..]));
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{m}e{esign}{:02}", exp.unsigned_abs());
    }
    let fixed = if exp >= 0 {
        let int_len = exp as usize + 1;
        format!("{}.{}", &digits[..int_len], &digits[int_len..])
    } else {
        format!("0.{}{}", "0".repeat((-exp - 1) as usize), digits)
    };
    format!("{sign}{}", trim(fixed))
}

/// Format `d` into `buf` like Redis 7's `fpconv_dtoa`-based reply: `inf`, `-inf`,
/// integers without a fraction, otherwise the shortest string that reads back as
/// the same double, with an exponent (`1e-10`, `1.5e+20`) for very small or large
/// magnitudes. Returns the length written.
pub fn format_double(buf: &mut [u8; 40], d: f64) -> usize {
    let mut cur = std::io::Cursor::new(&mut buf[..]);
    // 40 bytes hold every case below, so the writes cannot fail; ignore the result.
    let _ = if d.is_infinite() {
        cur.write_all(if d > 0.0 { b"inf" } else { b"-inf" })
    } else if d.is_nan() {
        cur.write_all(b"nan")
    } else if d == d.trunc() && d.abs() < 1e17 {
        cur.write_all(itoa::Buffer::new().format(d as i64).as_bytes())
    } else if d.abs() >= 1e-4 && d.abs() < 1e17 {
        write!(cur, "{d}")
    } else {
        // Rust writes `1.5e20` / `1e-10`; Redis writes `1.5e+20` / `1e-10`.
        let mut tmp = [0u8; 40];
        let mut c2 = std::io::Cursor::new(&mut tmp[..]);
        let _ = write!(c2, "{d:e}");
        let len = c2.position() as usize;
        let s = &tmp[..len];
        match s.iter().position(|&b| b == b'e') {
            Some(e) if s.get(e + 1) != Some(&b'-') => cur
                .write_all(&s[..=e])
                .and_then(|_| cur.write_all(b"+"))
                .and_then(|_| cur.write_all(&s[e + 1..])),
            _ => cur.write_all(s),
        }
    };
    cur.position() as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(d: f64) -> String {
        let mut b = [0u8; 40];
        let n = format_double(&mut b, d);
        String::from_utf8(b[..n].to_vec()).unwrap()
    }

    #[test]
    fn doubles_like_redis() {
        assert_eq!(fmt(1.0), "1");
        assert_eq!(fmt(-3.0), "-3");
        assert_eq!(fmt(1.5), "1.5");
        assert_eq!(fmt(0.1), "0.1");
        assert_eq!(fmt(f64::INFINITY), "inf");
        assert_eq!(fmt(f64::NEG_INFINITY), "-inf");
        assert_eq!(fmt(1e-10), "1e-10");
        assert_eq!(fmt(1.5e20), "1.5e+20");
        assert_eq!(fmt(-1.7976931348623157e308), "-1.7976931348623157e+308");
        assert_eq!(fmt(f64::MIN_POSITIVE), "2.2250738585072014e-308");
    }

    #[test]
    fn double_replies_like_redis_7_0() {
        let g = |d: f64| {
            let mut out = Vec::new();
            double(&mut Reply::new(&mut out, false), d);
            String::from_utf8(out).unwrap()
        };
        let cases = [
            (1.0, "1"),
            (-3.0, "-3"),
            (1.5, "1.5"),
            (0.1, "0.10000000000000001"),
            (0.3081530916076866, "0.30815309160768661"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (1e-10, "1e-10"),
            (1.5e20, "1.5e+20"),
            (1e16, "10000000000000000"),
            (1e17, "1e+17"),
            (0.0001, "0.0001"),
            (0.00001, "1.0000000000000001e-05"),
            (-1.7976931348623157e308, "-1.7976931348623157e+308"),
            (123456789.125, "123456789.125"),
        ];
        for (d, want) in cases {
            assert_eq!(g(d), format!("${}\r\n{want}\r\n", want.len()), "{d}");
        }
    }

    /// Every shape RESP3 adds, in both protocols: RESP2 spells each with the
    /// shapes it has.
    #[test]
    fn each_shape_in_resp2_and_resp3() {
        let both = |write: fn(&mut Reply<'_>)| {
            let (mut two, mut three) = (Vec::new(), Vec::new());
            write(&mut Reply::new(&mut two, false));
            write(&mut Reply::new(&mut three, true));
            (
                String::from_utf8(two).unwrap(),
                String::from_utf8(three).unwrap(),
            )
        };
        let s = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(both(nil), s("$-1\r\n", "_\r\n"));
        assert_eq!(both(nil_array), s("*-1\r\n", "_\r\n"));
        assert_eq!(both(|o| map(o, 2)), s("*4\r\n", "%2\r\n"));
        assert_eq!(both(|o| set(o, 3)), s("*3\r\n", "~3\r\n"));
        assert_eq!(both(|o| push(o, 3)), s("*3\r\n", ">3\r\n"));
        assert_eq!(both(|o| boolean(o, true)), s(":1\r\n", "#t\r\n"));
        assert_eq!(both(|o| boolean(o, false)), s(":0\r\n", "#f\r\n"));
        assert_eq!(both(|o| double(o, 1.5)), s("$3\r\n1.5\r\n", ",1.5\r\n"));
        assert_eq!(
            both(|o| double(o, f64::NEG_INFINITY)),
            s("$4\r\n-inf\r\n", ",-inf\r\n")
        );
        assert_eq!(
            both(|o| verbatim(o, b"a:1")),
            s("$3\r\na:1\r\n", "=7\r\ntxt:a:1\r\n")
        );
        // Pairs: flat in RESP2; nested in RESP3 when asked.
        fn pairs_of(o: &mut Reply<'_>, nested: bool) {
            pairs(o, 2, nested);
            for m in ["a", "b"] {
                pair(o, nested);
                bulk(o, m.as_bytes());
                int(o, 1);
            }
        }
        assert_eq!(
            both(|o| pairs_of(o, true)),
            s(
                "*4\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n:1\r\n",
                "*2\r\n*2\r\n$1\r\na\r\n:1\r\n*2\r\n$1\r\nb\r\n:1\r\n"
            )
        );
        assert_eq!(
            both(|o| pairs_of(o, false)),
            s(
                "*4\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n:1\r\n",
                "*4\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n:1\r\n"
            )
        );
        // HELLO switches the protocol of what follows in the same buffer.
        let mut buf = Vec::new();
        let mut out = Reply::new(&mut buf, false);
        nil(&mut out);
        out.set_resp3(true);
        nil(&mut out);
        assert_eq!(buf, b"$-1\r\n_\r\n");
    }

    #[test]
    fn errors_stay_on_one_line() {
        let mut out = Vec::new();
        error(&mut out, b"ERR a\r\nb");
        assert_eq!(out, b"-ERR a  b\r\n");
    }
}
