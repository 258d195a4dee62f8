//! From bytes to a request head the session can act on.
//!
//! `httparse` does the byte-level parsing (request line, header syntax). This module
//! adds what `httparse` leaves to its caller and what decides how many bytes belong to
//! a request — the part where request smuggling lives: body framing from
//! `Content-Length` / `Transfer-Encoding` with every ambiguous combination refused,
//! connection persistence, header size limits, and telling an unsupported HTTP version
//! (505) from garbage (400). It borrows from the input and allocates nothing.

use std::mem::MaybeUninit;

use super::conditional::Conditions;
use super::response::{
    Conn, Status, BAD_REQUEST, CONTENT_TOO_LARGE, HEADER_FIELDS_TOO_LARGE, NOT_IMPLEMENTED,
    VERSION_NOT_SUPPORTED,
};

/// Most header fields a request may have; more is answered with 431. The head is
/// limited by its size in bytes (`HttpConfig::max_header_bytes`); this cap only sizes
/// the parser's table and sits far above what clients send (browsers send 10–30), as
/// nginx accepts any number of fields within its size limits.
pub(crate) const MAX_HEADERS: usize = 512;

/// How the body of a request is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// `Content-Length: n` (absent means 0).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A parsed and validated request head, borrowing from the input.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Head<'a> {
    /// Length of the head in bytes (the body starts here).
    pub(crate) len: usize,
    pub(crate) method: &'a str,
    /// The target's path, without query or fragment.
    pub(crate) path: &'a [u8],
    /// The target's query (after `?`, without the fragment), if any.
    pub(crate) query: Option<&'a [u8]>,
    pub(crate) conn: Conn,
    pub(crate) framing: Framing,
    pub(crate) content_type: Option<&'a [u8]>,
    /// `Expect: 100-continue` from an HTTP/1.1 client.
    pub(crate) expect_continue: bool,
    /// The conditional and range fields (for static files).
    pub(crate) conditions: Conditions<'a>,
}

impl Head<'_> {
    /// Whether a body follows the head.
    pub(crate) fn has_body(&self) -> bool {
        self.framing != Framing::Length(0)
    }
}

/// The outcome of looking for a request head at the front of the input.
#[derive(Debug)]
pub(crate) enum Parsed<'a> {
    /// No complete head yet; wait for more bytes.
    Partial,
    /// A head; see [`Head`].
    Head(Head<'a>),
    /// A request to be refused with this status (then close).
    Reject(Status),
}

/// Parses the head at the front of `input`, refusing heads longer than
/// `max_header_bytes` and bodies declared longer than `max_body`.
///
/// Only the first `max_header_bytes` bytes are looked at, so the outcome for a given
/// prefix never changes when more bytes arrive — the property that makes the session
/// answer identically however its input is split.
pub(crate) fn parse(input: &[u8], max_header_bytes: usize, max_body: u64) -> Parsed<'_> {
    let window = &input[..input.len().min(max_header_bytes)];
    let mut headers = [MaybeUninit::<httparse::Header<'_>>::uninit(); MAX_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    match req.parse_with_uninit_headers(window, &mut headers) {
        Ok(httparse::Status::Complete(len)) => {
            let (Some(method), Some(target), Some(version)) = (req.method, req.path, req.version)
            else {
                return Parsed::Reject(BAD_REQUEST);
            };
            analyse(len, method, target, version, req.headers, max_body)
        }
        Ok(httparse::Status::Partial) if input.len() >= max_header_bytes => {
            Parsed::Reject(HEADER_FIELDS_TOO_LARGE)
        }
        Ok(httparse::Status::Partial) => Parsed::Partial,
        Err(httparse::Error::TooManyHeaders) => Parsed::Reject(HEADER_FIELDS_TOO_LARGE),
        Err(httparse::Error::Version) => classify_version(window, input.len() >= max_header_bytes),
        Err(_) => Parsed::Reject(BAD_REQUEST),
    }
}

/// `httparse` only knows HTTP/1.0 and 1.1. A well-formed request line naming another
/// version (`HTTP/2.0`, `HTTP/1.2`, `HTTP/3`) deserves 505; anything else is 400. That
/// needs the whole request line, so wait for it (within the header limit).
fn classify_version(window: &[u8], window_full: bool) -> Parsed<'_> {
    let start = window
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(window.len());
    let rest = &window[start..];
    let Some(end) = rest.iter().position(|&b| b == b'\n') else {
        return if window_full {
            Parsed::Reject(BAD_REQUEST)
        } else {
            Parsed::Partial
        };
    };
    let line = &rest[..end];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let version = line.rsplit(|&b| b == b' ').next().unwrap_or(b"");
    let has_three_parts = line.split(|&b| b == b' ').count() == 3;
    if has_three_parts && is_http_version(version) {
        Parsed::Reject(VERSION_NOT_SUPPORTED)
    } else {
        Parsed::Reject(BAD_REQUEST)
    }
}

/// `HTTP/` DIGIT+ [ `.` DIGIT+ ]
fn is_http_version(v: &[u8]) -> bool {
    let Some(number) = v.strip_prefix(b"HTTP/") else {
        return false;
    };
    let mut parts = number.splitn(2, |&b| b == b'.');
    let all_digits = |p: &[u8]| !p.is_empty() && p.iter().all(u8::is_ascii_digit);
    parts.next().is_some_and(all_digits) && parts.next().is_none_or(all_digits)
}

fn analyse<'a>(
    len: usize,
    method: &'a str,
    target: &'a str,
    version: u8,
    headers: &[httparse::Header<'a>],
    max_body: u64,
) -> Parsed<'a> {
    let mut content_length: Option<u64> = None;
    let mut transfer_encoding = TransferEncoding::Absent;
    let mut close = false;
    let mut keep_alive = false;
    let mut content_type = None;
    let mut expect_continue = false;
    let mut hosts = 0usize;
    let mut conditions = Conditions::default();

    for header in headers {
        let name = header.name.as_bytes();
        let value = trim(header.value);
        // Most requests carry only a few fields; the first letter rules out most
        // comparisons.
        match name.first().map(u8::to_ascii_lowercase) {
            Some(b'c' | b't' | b'e' | b'h') => {}
            Some(b'i') if name.len() >= 7 => {
                let slot = match name.len() {
                    8 if name.eq_ignore_ascii_case(b"if-match") => &mut conditions.if_match,
                    8 if name.eq_ignore_ascii_case(b"if-range") => &mut conditions.if_range,
                    13 if name.eq_ignore_ascii_case(b"if-none-match") => {
                        &mut conditions.if_none_match
                    }
                    17 if name.eq_ignore_ascii_case(b"if-modified-since") => {
                        &mut conditions.if_modified_since
                    }
                    19 if name.eq_ignore_ascii_case(b"if-unmodified-since") => {
                        &mut conditions.if_unmodified_since
                    }
                    _ => continue,
                };
                *slot = Some(value);
                continue;
            }
            Some(b'r') if name.eq_ignore_ascii_case(b"range") => {
                // Two Range fields are not a range we can serve: ignore both.
                conditions.range = match conditions.range {
                    None => Some(value),
                    Some(_) => Some(b""),
                };
                continue;
            }
            _ => continue,
        }
        if name.eq_ignore_ascii_case(b"content-length") {
            for item in value.split(|&b| b == b',') {
                let Some(n) = parse_length(trim(item)) else {
                    return Parsed::Reject(BAD_REQUEST);
                };
                if content_length.is_some_and(|seen| seen != n) {
                    return Parsed::Reject(BAD_REQUEST);
                }
                content_length = Some(n);
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            for coding in value.split(|&b| b == b',').map(trim) {
                if coding.is_empty() {
                    continue;
                }
                transfer_encoding = transfer_encoding.then(coding);
            }
            if transfer_encoding == TransferEncoding::Absent {
                // A Transfer-Encoding field without any coding in it.
                return Parsed::Reject(BAD_REQUEST);
            }
        } else if name.eq_ignore_ascii_case(b"connection") {
            for option in value.split(|&b| b == b',').map(trim) {
                close |= option.eq_ignore_ascii_case(b"close");
                keep_alive |= option.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if name.eq_ignore_ascii_case(b"content-type") {
            content_type = Some(value);
        } else if name.eq_ignore_ascii_case(b"expect") {
            expect_continue = value.eq_ignore_ascii_case(b"100-continue");
        } else if name.eq_ignore_ascii_case(b"host") {
            hosts += 1;
        }
    }
    // RFC 9112 §3.2: an HTTP/1.1 request without Host, or any request with more than
    // one, gets 400.
    if hosts > 1 || (version == 1 && hosts == 0) {
        return Parsed::Reject(BAD_REQUEST);
    }

    let framing = match (transfer_encoding, content_length) {
        (TransferEncoding::Absent, length) => Framing::Length(length.unwrap_or(0)),
        _ if version == 0 => return Parsed::Reject(BAD_REQUEST),
        (_, Some(_)) => return Parsed::Reject(BAD_REQUEST),
        (TransferEncoding::Chunked, None) => Framing::Chunked,
        (TransferEncoding::Unsupported, None) => return Parsed::Reject(NOT_IMPLEMENTED),
    };
    if let Framing::Length(n) = framing {
        if n > max_body {
            return Parsed::Reject(CONTENT_TOO_LARGE);
        }
    }

    let conn = match version {
        1 if close => Conn::Close,
        1 => Conn::KeepAlive,
        _ if keep_alive && !close => Conn::KeepAlive10,
        _ => Conn::Close,
    };
    let path = target.as_bytes();
    let path = strip_authority(path);
    let path_end = path
        .iter()
        .position(|&b| b == b'?' || b == b'#')
        .unwrap_or(path.len());
    let query = match path.get(path_end) {
        Some(b'?') => {
            let rest = &path[path_end + 1..];
            let end = rest.iter().position(|&b| b == b'#').unwrap_or(rest.len());
            Some(&rest[..end])
        }
        _ => None,
    };
    Parsed::Head(Head {
        len,
        method,
        path: &path[..path_end],
        query,
        conn,
        framing,
        content_type,
        expect_continue: expect_continue && version == 1,
        conditions,
    })
}

/// What the `Transfer-Encoding` fields seen so far amount to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TransferEncoding {
    Absent,
    /// Exactly one coding, `chunked`.
    Chunked,
    /// Anything else: another coding, or `chunked` combined with anything (we decode
    /// no other coding, and `chunked` twice is invalid).
    Unsupported,
}

impl TransferEncoding {
    fn then(self, coding: &[u8]) -> TransferEncoding {
        match self {
            TransferEncoding::Absent if coding.eq_ignore_ascii_case(b"chunked") => {
                TransferEncoding::Chunked
            }
            _ => TransferEncoding::Unsupported,
        }
    }
}

/// A Content-Length value: ASCII digits only, no sign, no overflow.
fn parse_length(v: &[u8]) -> Option<u64> {
    if v.is_empty() {
        return None;
    }
    v.iter().try_fold(0u64, |n, &b| {
        if b.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

/// An absolute-form target (`http://host/path`) routed by its path.
fn strip_authority(target: &[u8]) -> &[u8] {
    let after_scheme = if starts_with_ignore_case(target, b"http://") {
        &target[7..]
    } else if starts_with_ignore_case(target, b"https://") {
        &target[8..]
    } else {
        return target;
    };
    match after_scheme.iter().position(|&b| b == b'/') {
        Some(slash) => &after_scheme[slash..],
        None => b"/",
    }
}

fn starts_with_ignore_case(s: &[u8], prefix: &[u8]) -> bool {
    s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix)
}

fn trim(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |i| i + 1);
    &v[start..end.max(start)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(input: &[u8]) -> Head<'_> {
        match parse(input, 16 * 1024, 1000) {
            Parsed::Head(h) => h,
            other => panic!("{other:?}"),
        }
    }

    fn reject(input: &[u8]) -> Status {
        match parse(input, 16 * 1024, 1000) {
            Parsed::Reject(s) => s,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn basic_head() {
        let h =
            head(b"POST /echo?x=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Type: a/b\r\n\r\nhello");
        assert_eq!(h.len, 74);
        assert_eq!(h.query, Some(&b"x=1"[..]));
        assert_eq!(h.method, "POST");
        assert_eq!(h.path, b"/echo");
        assert_eq!(h.framing, Framing::Length(5));
        assert_eq!(h.content_type, Some(&b"a/b"[..]));
        assert_eq!(h.conn, Conn::KeepAlive);
    }

    #[test]
    fn connection_handling() {
        assert_eq!(
            head(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Close\r\n\r\n").conn,
            Conn::Close
        );
        assert_eq!(head(b"GET / HTTP/1.0\r\n\r\n").conn, Conn::Close);
        let h = head(b"GET / HTTP/1.0\r\nConnection: foo, Keep-Alive\r\n\r\n");
        assert_eq!(h.conn, Conn::KeepAlive10);
    }

    #[test]
    fn framing_rules() {
        assert_eq!(
            head(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\nContent-Length: 7\r\n\r\n")
                .framing,
            Framing::Length(7)
        );
        assert_eq!(
            head(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 7, 7\r\n\r\n").framing,
            Framing::Length(7)
        );
        assert_eq!(
            head(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n").framing,
            Framing::Chunked
        );
        for (input, status) in [
            (
                &b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\nContent-Length: 8\r\n\r\n"[..],
                BAD_REQUEST,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +7\r\n\r\n",
                BAD_REQUEST,
            ),
            (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \r\n\r\n", BAD_REQUEST),
            (
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
                BAD_REQUEST,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n",
                CONTENT_TOO_LARGE,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
                BAD_REQUEST,
            ),
            (
                b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
                BAD_REQUEST,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
                NOT_IMPLEMENTED,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
                NOT_IMPLEMENTED,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
                NOT_IMPLEMENTED,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
                NOT_IMPLEMENTED,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ,\r\n\r\n",
                BAD_REQUEST,
            ),
        ] {
            assert_eq!(reject(input), status, "{}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn versions() {
        assert!(matches!(parse(b"GET / HTTP/2.0", 100, 0), Parsed::Partial));
        assert_eq!(reject(b"GET / HTTP/2.0\r\n"), VERSION_NOT_SUPPORTED);
        assert_eq!(
            reject(b"\r\nPRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
            VERSION_NOT_SUPPORTED
        );
        assert_eq!(reject(b"GET / HTTP/1.2\r\n\r\n"), VERSION_NOT_SUPPORTED);
        assert_eq!(reject(b"GET / HTTP/3\r\n\r\n"), VERSION_NOT_SUPPORTED);
        assert_eq!(reject(b"GET / HTTP/1.x\r\n\r\n"), BAD_REQUEST);
        assert_eq!(reject(b"GET / FTP/1.0\r\n\r\n"), BAD_REQUEST);
        assert_eq!(reject(b"GET / HTTP/1.10\r\n\r\n"), BAD_REQUEST);
        assert!(matches!(
            parse(b"GET / HTTP/9", 12, 0),
            Parsed::Reject(BAD_REQUEST)
        ));
    }

    #[test]
    fn header_limits() {
        assert!(matches!(
            parse(b"GET / HTTP/1.1\r\nHost: x\r\nA: b\r\n", 32, 0),
            Parsed::Partial
        ));
        assert!(matches!(
            parse(b"GET / HTTP/1.1\r\nHost: x\r\nA: b\r\n\r", 32, 0),
            Parsed::Reject(HEADER_FIELDS_TOO_LARGE)
        ));
        assert!(matches!(
            parse(b"GET / HTTP/1.1\r\nHost: x\r\nA: b\r\n\r\n", 33, 0),
            Parsed::Head(_)
        ));
        let mut many = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
        for _ in 0..=MAX_HEADERS {
            many.extend_from_slice(b"X: y\r\n");
        }
        many.extend_from_slice(b"\r\n");
        assert_eq!(reject(&many), HEADER_FIELDS_TOO_LARGE);
    }

    #[test]
    fn targets() {
        assert_eq!(
            head(b"GET http://example.com/json?q HTTP/1.1\r\nHost: x\r\n\r\n").path,
            b"/json"
        );
        assert_eq!(
            head(b"GET http://example.com HTTP/1.1\r\nHost: x\r\n\r\n").path,
            b"/"
        );
        assert_eq!(head(b"GET /a#frag HTTP/1.1\r\nHost: x\r\n\r\n").path, b"/a");
    }
}
