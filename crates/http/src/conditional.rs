//! Validators, conditional requests and byte ranges for static files (RFC 9110
//! §8.8, §13 and §14).
//!
//! A file response carries two validators: `Last-Modified` (the file's mtime, to the
//! second) and a strong `ETag` made of its mtime in nanoseconds and its length, as
//! nginx builds one from mtime and size. [`evaluate`] applies the preconditions in
//! the order §13.2.2 gives — `If-Match`, `If-Unmodified-Since`, `If-None-Match`,
//! `If-Modified-Since`, then `Range` guarded by `If-Range` — and says what to
//! answer. One range is served as 206; several are answered with the whole file
//! (200), which §14.2 allows and nginx does too when it does not build multipart
//! bodies; a range that cannot be satisfied is 416.

use std::time::{SystemTime, UNIX_EPOCH};

use super::date::{imf_fixdate, DATE_LEN};

/// Longest ETag this module writes: `"` + 16 + `-` + 16 hex digits + `"`.
pub(crate) const ETAG_MAX: usize = 35;

/// What the response says about the file's version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Validators {
    /// Modification time in whole seconds since the epoch.
    pub(crate) modified: u64,
    pub(crate) last_modified: [u8; DATE_LEN],
    etag: [u8; ETAG_MAX],
    etag_len: usize,
}

impl Validators {
    /// The validators of a file with this length and modification time.
    pub(crate) fn new(len: u64, mtime: SystemTime) -> Validators {
        let since = mtime.duration_since(UNIX_EPOCH).unwrap_or_default();
        let modified = since.as_secs();
        let nanos = since.as_nanos() as u64;
        let mut etag = [0u8; ETAG_MAX];
        let mut n = 0;
        let mut push = |b: u8| {
            etag[n] = b;
            n += 1;
        };
        push(b'"');
        push_hex(&mut push, nanos);
        push(b'-');
        push_hex(&mut push, len);
        push(b'"');
        Validators {
            modified,
            last_modified: imf_fixdate(modified),
            etag,
            etag_len: n,
        }
    }

    /// The `ETag` field value, quotes included.
    pub(crate) fn etag(&self) -> &[u8] {
        &self.etag[..self.etag_len]
    }
}

fn push_hex(push: &mut impl FnMut(u8), n: u64) {
    let digits = if n == 0 {
        1
    } else {
        16 - n.leading_zeros() as usize / 4
    };
    for i in (0..digits).rev() {
        push(b"0123456789abcdef"[(n >> (4 * i)) as usize & 15]);
    }
}

/// The request fields that make a request conditional or partial.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Conditions<'a> {
    pub(crate) if_match: Option<&'a [u8]>,
    pub(crate) if_none_match: Option<&'a [u8]>,
    pub(crate) if_modified_since: Option<&'a [u8]>,
    pub(crate) if_unmodified_since: Option<&'a [u8]>,
    pub(crate) if_range: Option<&'a [u8]>,
    pub(crate) range: Option<&'a [u8]>,
}

/// What to answer a request for a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// 200 with the whole file.
    Full,
    /// 206 with bytes `start..=end`.
    Partial { start: u64, end: u64 },
    /// 304: the client's copy is current.
    NotModified,
    /// 412: a precondition the client set does not hold.
    PreconditionFailed,
    /// 416: the range lies outside the file.
    Unsatisfiable,
}

/// Decides the answer to a `GET` (or, with `get` false, `HEAD`) of a file of `len`
/// bytes with validators `v`.
pub(crate) fn evaluate(c: &Conditions<'_>, v: &Validators, len: u64, get: bool) -> Outcome {
    if let Some(field) = c.if_match {
        if !matches_any(field, v.etag(), true) {
            return Outcome::PreconditionFailed;
        }
    } else if let Some(since) = c.if_unmodified_since.and_then(parse_date) {
        if v.modified > since {
            return Outcome::PreconditionFailed;
        }
    }
    if let Some(field) = c.if_none_match {
        if matches_any(field, v.etag(), false) {
            return Outcome::NotModified; // GET and HEAD are the only methods here
        }
    } else if let Some(since) = c.if_modified_since.and_then(parse_date) {
        if v.modified <= since {
            return Outcome::NotModified;
        }
    }
    let Some(range) = c.range.filter(|_| get) else {
        return Outcome::Full;
    };
    if let Some(if_range) = c.if_range {
        if !if_range_holds(trim(if_range), v) {
            return Outcome::Full;
        }
    }
    match parse_range(range, len) {
        RangeSpec::One(start, end) => Outcome::Partial { start, end },
        RangeSpec::Unsatisfiable => Outcome::Unsatisfiable,
        RangeSpec::Ignore => Outcome::Full,
    }
}

/// `If-Range`: an entity tag must match strongly (a weak tag never does); a date
/// must equal `Last-Modified` exactly.
fn if_range_holds(value: &[u8], v: &Validators) -> bool {
    if value.starts_with(b"\"") || value.starts_with(b"W/") {
        value == v.etag()
    } else {
        parse_date(value) == Some(v.modified)
    }
}

/// Whether the list of entity tags in `field` (or `*`) matches `etag`: strongly
/// (`If-Match`: weak tags never match) or weakly (`If-None-Match`: the `W/` prefix
/// is ignored).
fn matches_any(field: &[u8], etag: &[u8], strong: bool) -> bool {
    let field = trim(field);
    if field == b"*" {
        return true;
    }
    field.split(|&b| b == b',').map(trim).any(|tag| {
        let (weak, opaque) = match tag.strip_prefix(b"W/") {
            Some(rest) => (true, rest),
            None => (false, tag),
        };
        opaque == etag && !(strong && weak)
    })
}

/// An HTTP-date in any of the three formats, as seconds since the epoch.
fn parse_date(value: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(trim(value)).ok()?;
    let time = httpdate::parse_http_date(text).ok()?;
    Some(time.duration_since(UNIX_EPOCH).ok()?.as_secs())
}

/// What a `Range` field asks of a file of some length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RangeSpec {
    /// Bytes `start..=end`, clamped to the file.
    One(u64, u64),
    /// Nothing of the file: 416.
    Unsatisfiable,
    /// Not a byte range we serve (another unit, bad syntax, several ranges):
    /// answer with the whole file.
    Ignore,
}

fn parse_range(field: &[u8], len: u64) -> RangeSpec {
    let field = trim(field);
    let Some(set) = field
        .get(..6)
        .filter(|unit| unit.eq_ignore_ascii_case(b"bytes="))
        .map(|_| &field[6..])
    else {
        return RangeSpec::Ignore;
    };
    let specs: Vec<&[u8]> = set
        .split(|&b| b == b',')
        .map(trim)
        .filter(|s| !s.is_empty())
        .collect();
    let [spec] = specs[..] else {
        return RangeSpec::Ignore;
    };
    let Some(dash) = spec.iter().position(|&b| b == b'-') else {
        return RangeSpec::Ignore;
    };
    let (first, last) = (&spec[..dash], &spec[dash + 1..]);
    match (number(first), number(last)) {
        // `-n`: the last n bytes.
        (None, Some(n)) if first.is_empty() => {
            if n == 0 || len == 0 {
                RangeSpec::Unsatisfiable
            } else {
                RangeSpec::One(len.saturating_sub(n), len - 1)
            }
        }
        // `a-`: from a to the end.
        (Some(a), None) if last.is_empty() => {
            if a >= len {
                RangeSpec::Unsatisfiable
            } else {
                RangeSpec::One(a, len - 1)
            }
        }
        (Some(a), Some(b)) if a <= b => {
            if a >= len {
                RangeSpec::Unsatisfiable
            } else {
                RangeSpec::One(a, b.min(len - 1))
            }
        }
        _ => RangeSpec::Ignore,
    }
}

/// ASCII digits as a number; `None` if empty, not digits, or too large.
fn number(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

fn trim(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &v[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn validators() -> Validators {
        // Sun, 06 Nov 1994 08:49:37 GMT, plus 5 ns.
        Validators::new(1000, UNIX_EPOCH + Duration::new(784_111_777, 5))
    }

    fn outcome(c: Conditions<'_>) -> Outcome {
        evaluate(&c, &validators(), 1000, true)
    }

    #[test]
    fn validators_look_like_nginx() {
        let v = validators();
        assert_eq!(&v.last_modified, b"Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(
            v.etag(),
            format!("\"{:x}-3e8\"", 784_111_777_000_000_005u64).as_bytes()
        );
        let zero = Validators::new(0, UNIX_EPOCH);
        assert_eq!(zero.etag(), b"\"0-0\"");
        let big = Validators::new(u64::MAX, UNIX_EPOCH + Duration::from_secs(1 << 33));
        assert!(big.etag().len() <= ETAG_MAX);
    }

    #[test]
    fn ranges() {
        let r = |s: &str| parse_range(s.as_bytes(), 1000);
        assert_eq!(r("bytes=0-99"), RangeSpec::One(0, 99));
        assert_eq!(r("bytes=900-"), RangeSpec::One(900, 999));
        assert_eq!(r("bytes=-100"), RangeSpec::One(900, 999));
        assert_eq!(r("bytes=-5000"), RangeSpec::One(0, 999));
        assert_eq!(r("bytes=990-5000"), RangeSpec::One(990, 999));
        assert_eq!(r("Bytes = 1-1"), RangeSpec::Ignore);
        assert_eq!(r("BYTES=1-1"), RangeSpec::One(1, 1));
        assert_eq!(r("bytes=1000-"), RangeSpec::Unsatisfiable);
        assert_eq!(r("bytes=1000-2000"), RangeSpec::Unsatisfiable);
        assert_eq!(r("bytes=-0"), RangeSpec::Unsatisfiable);
        assert_eq!(r("bytes=5-4"), RangeSpec::Ignore);
        assert_eq!(r("bytes=0-1,5-6"), RangeSpec::Ignore);
        assert_eq!(r("bytes=x-1"), RangeSpec::Ignore);
        assert_eq!(r("items=0-1"), RangeSpec::Ignore);
        assert_eq!(r("bytes=99999999999999999999-"), RangeSpec::Ignore);
        assert_eq!(parse_range(b"bytes=0-", 0), RangeSpec::Unsatisfiable);
        assert_eq!(parse_range(b"bytes=-1", 0), RangeSpec::Unsatisfiable);
    }

    #[test]
    fn preconditions_in_rfc_order() {
        let v = validators();
        let etag = std::str::from_utf8(v.etag()).unwrap().to_string();
        let weak = format!("W/{etag}");
        let lm = "Sun, 06 Nov 1994 08:49:37 GMT";
        let earlier = "Sun, 06 Nov 1994 08:49:36 GMT";
        let none = Conditions::default();
        assert_eq!(outcome(none), Outcome::Full);
        let c = |f: fn(&mut Conditions<'static>, &'static [u8]), value: &str| {
            let value: &'static [u8] = Box::leak(value.as_bytes().to_vec().into_boxed_slice());
            let mut c = Conditions::default();
            f(&mut c, value);
            outcome(c)
        };
        let inm = |c: &mut Conditions<'static>, v| c.if_none_match = Some(v);
        let ims = |c: &mut Conditions<'static>, v| c.if_modified_since = Some(v);
        let im = |c: &mut Conditions<'static>, v| c.if_match = Some(v);
        let ius = |c: &mut Conditions<'static>, v| c.if_unmodified_since = Some(v);
        assert_eq!(c(inm, &etag), Outcome::NotModified);
        assert_eq!(c(inm, &weak), Outcome::NotModified);
        assert_eq!(c(inm, &format!("\"x\", {etag}")), Outcome::NotModified);
        assert_eq!(c(inm, "*"), Outcome::NotModified);
        assert_eq!(c(inm, "\"other\""), Outcome::Full);
        assert_eq!(c(ims, lm), Outcome::NotModified);
        assert_eq!(
            c(ims, "Sunday, 06-Nov-94 08:49:37 GMT"),
            Outcome::NotModified
        );
        assert_eq!(c(ims, "Sun Nov  6 08:49:37 1994"), Outcome::NotModified);
        assert_eq!(c(ims, earlier), Outcome::Full);
        assert_eq!(c(ims, "garbage"), Outcome::Full);
        assert_eq!(c(im, &etag), Outcome::Full);
        assert_eq!(c(im, &weak), Outcome::PreconditionFailed);
        assert_eq!(c(im, "\"other\""), Outcome::PreconditionFailed);
        assert_eq!(c(ius, lm), Outcome::Full);
        assert_eq!(c(ius, earlier), Outcome::PreconditionFailed);

        // If-None-Match wins over If-Modified-Since.
        let both = Conditions {
            if_none_match: Some(b"\"other\""),
            if_modified_since: Some(lm.as_bytes()),
            ..Conditions::default()
        };
        assert_eq!(outcome(both), Outcome::Full);
    }

    #[test]
    fn if_range_guards_the_range() {
        let v = validators();
        let range = Some(&b"bytes=0-9"[..]);
        let with = |if_range: &[u8]| {
            evaluate(
                &Conditions {
                    range,
                    if_range: Some(if_range),
                    ..Conditions::default()
                },
                &v,
                1000,
                true,
            )
        };
        let partial = Outcome::Partial { start: 0, end: 9 };
        assert_eq!(with(v.etag()), partial);
        assert_eq!(
            with(format!("W/{}", std::str::from_utf8(v.etag()).unwrap()).as_bytes()),
            Outcome::Full
        );
        assert_eq!(with(b"\"stale\""), Outcome::Full);
        assert_eq!(with(b"Sun, 06 Nov 1994 08:49:37 GMT"), partial);
        assert_eq!(with(b"Sun, 06 Nov 1994 08:49:38 GMT"), Outcome::Full);
        // HEAD ignores Range.
        let head = Conditions {
            range,
            ..Conditions::default()
        };
        assert_eq!(evaluate(&head, &v, 1000, false), Outcome::Full);
    }
}
