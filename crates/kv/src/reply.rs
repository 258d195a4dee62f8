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

/// A double as a bulk string, formatted as Redis 7.0's `addReplyDouble` does:
/// `inf`/`-inf`, otherwise C's `%.17g` (`0.1` is `0.10000000000000001`).
pub fn double(out: &mut Vec<u8>, d: f64) {
    if d.is_infinite() {
        return bulk(out, if d > 0.0 { b"inf" } else { b"-inf" });
    }
    bulk(out, format_g17(d).as_bytes());
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
            double(&mut out, d);
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

    #[test]
    fn errors_stay_on_one_line() {
        let mut out = Vec::new();
        error(&mut out, b"ERR a\r\nb");
        assert_eq!(out, b"-ERR a  b\r\n");
    }
}
