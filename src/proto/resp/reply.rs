//! RESP2 reply encoding: the few shapes Redis answers with, written straight into the
//! session's output buffer.
//!
//! Replies are the hot path's other half: every command ends here. They are written
//! with `extend_from_slice` and `itoa` into the caller's `Vec<u8>` (never through
//! `format!`), so answering a command allocates nothing once the buffer has grown.
//! Doubles are formatted like Redis 7 (shortest round-trip, integers without `.0`,
//! `inf`/`-inf`).

use std::io::Write as _;

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

/// The null bulk string, `$-1`.
pub fn nil(out: &mut Vec<u8>) {
    out.extend_from_slice(b"$-1\r\n");
}

/// The null array, `*-1`.
pub fn nil_array(out: &mut Vec<u8>) {
    out.extend_from_slice(b"*-1\r\n");
}

/// An array header for `n` elements that follow.
pub fn array(out: &mut Vec<u8>, n: usize) {
    out.push(b'*');
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// A double as a bulk string, formatted as Redis 7 does.
pub fn double(out: &mut Vec<u8>, d: f64) {
    let mut buf = [0u8; 40];
    let n = format_double(&mut buf, d);
    bulk(out, &buf[..n]);
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
    fn errors_stay_on_one_line() {
        let mut out = Vec::new();
        error(&mut out, b"ERR a\r\nb");
        assert_eq!(out, b"-ERR a  b\r\n");
    }
}
