//! Writing responses: fixed byte strings, appended.
//!
//! The hot path of an HTTP benchmark is "append a `Hello, World!` response", so this
//! module keeps it to one `extend_from_slice`: the complete fixed responses of the
//! handler (every combination of response, GET/HEAD and connection handling) are rebuilt
//! by [`Canned::refresh`] when the cached `Date` changes, once a second. Other
//! responses (bodies, files, refusals) are assembled from static pieces, the cached
//! date and a hand-rolled integer formatter — no `format!`, no allocation beyond
//! growing `out`.

use super::date::{imf_fixdate, DATE_LEN};
use super::handler::FixedResponse;

/// How the connection continues after a response, and what the response says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Conn {
    /// HTTP/1.1 persistent connection: nothing to say.
    KeepAlive,
    /// HTTP/1.0 client that asked for keep-alive: confirm with `Connection: keep-alive`.
    KeepAlive10,
    /// Close after this response: `Connection: close`.
    Close,
}

impl Conn {
    fn header(self) -> &'static [u8] {
        match self {
            Conn::KeepAlive => b"",
            Conn::KeepAlive10 => b"Connection: keep-alive\r\n",
            Conn::Close => b"Connection: close\r\n",
        }
    }

    fn index(self) -> usize {
        match self {
            Conn::KeepAlive => 0,
            Conn::KeepAlive10 => 1,
            Conn::Close => 2,
        }
    }
}

/// A response status: its status line and the short text body used when it is an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Status {
    pub(crate) line: &'static [u8],
    pub(crate) body: &'static [u8],
}

macro_rules! status {
    ($name:ident, $code:literal, $reason:literal) => {
        pub(crate) const $name: Status = Status {
            line: concat!("HTTP/1.1 ", $code, " ", $reason, "\r\n").as_bytes(),
            body: concat!($reason, "\n").as_bytes(),
        };
    };
}

status!(OK, "200", "OK");
status!(PARTIAL_CONTENT, "206", "Partial Content");
status!(NOT_MODIFIED, "304", "Not Modified");
status!(PRECONDITION_FAILED, "412", "Precondition Failed");
status!(RANGE_NOT_SATISFIABLE, "416", "Range Not Satisfiable");
status!(SERVICE_UNAVAILABLE, "503", "Service Unavailable");
status!(BAD_REQUEST, "400", "Bad Request");
status!(NOT_FOUND, "404", "Not Found");
status!(METHOD_NOT_ALLOWED, "405", "Method Not Allowed");
status!(CONTENT_TOO_LARGE, "413", "Content Too Large");
status!(
    HEADER_FIELDS_TOO_LARGE,
    "431",
    "Request Header Fields Too Large"
);
status!(NOT_IMPLEMENTED, "501", "Not Implemented");
status!(VERSION_NOT_SUPPORTED, "505", "HTTP Version Not Supported");

/// Sent before reading a body the client held back with `Expect: 100-continue`.
pub(crate) const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

pub(crate) const TEXT_PLAIN: &[u8] = b"text/plain";
pub(crate) const OCTET_STREAM: &[u8] = b"application/octet-stream";

/// Variants of each fixed response: GET or HEAD, times the three [`Conn`]s.
const VARIANTS: usize = 2 * 3;

/// The cached `Date` value and the complete fixed responses that contain it.
#[derive(Debug)]
pub(crate) struct Canned {
    second: u64,
    date: [u8; DATE_LEN],
    fixed: Vec<FixedResponse>,
    /// `VARIANTS` rendered responses per fixed response, in `slot` order.
    responses: Vec<Vec<u8>>,
}

impl Canned {
    /// The responses in `fixed`, dated `second` (seconds since the Unix epoch).
    pub(crate) fn new(second: u64, fixed: Vec<FixedResponse>) -> Canned {
        let mut canned = Canned {
            second,
            date: imf_fixdate(second),
            responses: vec![Vec::new(); fixed.len() * VARIANTS],
            fixed,
        };
        canned.rebuild();
        canned
    }

    /// Re-dates everything if `second` differs from the cached one.
    pub(crate) fn refresh(&mut self, second: u64) {
        if second != self.second {
            self.second = second;
            self.date = imf_fixdate(second);
            self.rebuild();
        }
    }

    fn rebuild(&mut self) {
        for (index, fixed) in self.fixed.iter().enumerate() {
            for head_only in [false, true] {
                for conn in [Conn::KeepAlive, Conn::KeepAlive10, Conn::Close] {
                    let buf = &mut self.responses[slot(index, head_only, conn)];
                    buf.clear();
                    write_head(
                        buf,
                        &self.date,
                        OK,
                        Some(fixed.content_type),
                        fixed.body.len() as u64,
                        conn,
                    );
                    if !head_only {
                        buf.extend_from_slice(&fixed.body);
                    }
                }
            }
        }
    }

    /// The cached `Date` header value.
    pub(crate) fn date(&self) -> &[u8; DATE_LEN] {
        &self.date
    }

    /// The complete fixed response number `index`, if there is one.
    pub(crate) fn fixed(&self, index: usize, head_only: bool, conn: Conn) -> Option<&[u8]> {
        if index >= self.fixed.len() {
            return None;
        }
        Some(&self.responses[slot(index, head_only, conn)])
    }
}

fn slot(index: usize, head_only: bool, conn: Conn) -> usize {
    index * VARIANTS + usize::from(head_only) * 3 + conn.index()
}

/// Appends a status line and headers up to and including the blank line.
pub(crate) fn write_head(
    out: &mut Vec<u8>,
    date: &[u8; DATE_LEN],
    status: Status,
    content_type: Option<&[u8]>,
    content_length: u64,
    conn: Conn,
) {
    write_head_with(out, date, status, content_type, content_length, conn, None);
}

/// [`write_head`] with an optional `Allow` field.
fn write_head_with(
    out: &mut Vec<u8>,
    date: &[u8; DATE_LEN],
    status: Status,
    content_type: Option<&[u8]>,
    content_length: u64,
    conn: Conn,
    allow: Option<&str>,
) {
    out.extend_from_slice(status.line);
    out.extend_from_slice(b"Server: evloop\r\nDate: ");
    out.extend_from_slice(date);
    if let Some(content_type) = content_type {
        out.extend_from_slice(b"\r\nContent-Type: ");
        out.extend_from_slice(content_type);
    }
    out.extend_from_slice(b"\r\nContent-Length: ");
    push_decimal(out, content_length);
    out.extend_from_slice(b"\r\n");
    if let Some(allow) = allow {
        out.extend_from_slice(b"Allow: ");
        out.extend_from_slice(allow.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(conn.header());
    out.extend_from_slice(b"\r\n");
}

/// How a file response describes its body.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FileHead<'a> {
    pub(crate) status: Status,
    pub(crate) content_type: &'a [u8],
    /// `Content-Length`; `None` for 304, which has no body to measure.
    pub(crate) content_length: Option<u64>,
    pub(crate) last_modified: &'a [u8; DATE_LEN],
    pub(crate) etag: &'a [u8],
    /// `Content-Range: bytes start-end/len` for 206.
    pub(crate) range: Option<(u64, u64, u64)>,
}

/// Appends the head of a file response (200, 206 or 304) with its validators.
pub(crate) fn write_file_head(
    out: &mut Vec<u8>,
    date: &[u8; DATE_LEN],
    head: FileHead<'_>,
    conn: Conn,
) {
    out.extend_from_slice(head.status.line);
    out.extend_from_slice(b"Server: evloop\r\nDate: ");
    out.extend_from_slice(date);
    if let Some(len) = head.content_length {
        out.extend_from_slice(b"\r\nContent-Type: ");
        out.extend_from_slice(head.content_type);
        out.extend_from_slice(b"\r\nContent-Length: ");
        push_decimal(out, len);
    }
    out.extend_from_slice(b"\r\nLast-Modified: ");
    out.extend_from_slice(head.last_modified);
    out.extend_from_slice(b"\r\nETag: ");
    out.extend_from_slice(head.etag);
    out.extend_from_slice(b"\r\nAccept-Ranges: bytes\r\n");
    if let Some((start, end, len)) = head.range {
        out.extend_from_slice(b"Content-Range: bytes ");
        push_decimal(out, start);
        out.push(b'-');
        push_decimal(out, end);
        out.push(b'/');
        push_decimal(out, len);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(conn.header());
    out.extend_from_slice(b"\r\n");
}

/// Appends a 416 refusal: `Content-Range: bytes */len` says how long the file is.
pub(crate) fn write_unsatisfiable(
    out: &mut Vec<u8>,
    date: &[u8; DATE_LEN],
    len: u64,
    head_only: bool,
    conn: Conn,
) {
    let status = RANGE_NOT_SATISFIABLE;
    out.extend_from_slice(status.line);
    out.extend_from_slice(b"Server: evloop\r\nDate: ");
    out.extend_from_slice(date);
    out.extend_from_slice(b"\r\nContent-Type: text/plain\r\nContent-Length: ");
    push_decimal(out, status.body.len() as u64);
    out.extend_from_slice(b"\r\nContent-Range: bytes */");
    push_decimal(out, len);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(conn.header());
    out.extend_from_slice(b"\r\n");
    if !head_only {
        out.extend_from_slice(status.body);
    }
}

/// Appends an error response (text body unless `head_only`) with `Connection: close`:
/// for requests whose framing cannot be trusted, after which the connection closes.
pub(crate) fn write_error(
    out: &mut Vec<u8>,
    date: &[u8; DATE_LEN],
    status: Status,
    head_only: bool,
) {
    write_refusal(out, date, status, None, head_only, Conn::Close);
}

/// Appends a refusal of a well-framed request (text body unless `head_only`),
/// continuing the connection as `conn` says.
pub(crate) fn write_refusal(
    out: &mut Vec<u8>,
    date: &[u8; DATE_LEN],
    status: Status,
    allow: Option<&str>,
    head_only: bool,
    conn: Conn,
) {
    write_head_with(
        out,
        date,
        status,
        Some(TEXT_PLAIN),
        status.body.len() as u64,
        conn,
        allow,
    );
    if !head_only {
        out.extend_from_slice(status.body);
    }
}

/// Appends `n` in decimal.
pub(crate) fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal() {
        for n in [0, 7, 10, 13, 65_536, u64::MAX] {
            let mut out = b"x".to_vec();
            push_decimal(&mut out, n);
            assert_eq!(out, format!("x{n}").as_bytes());
        }
    }

    fn demo() -> Vec<FixedResponse> {
        vec![
            FixedResponse::new(TEXT_PLAIN, b"Hello, World!".to_vec()),
            FixedResponse::new(
                b"application/json",
                br#"{"message":"Hello, World!"}"#.to_vec(),
            ),
        ]
    }

    #[test]
    fn canned_plaintext() {
        let canned = Canned::new(784_111_777, demo());
        assert_eq!(canned.fixed(2, false, Conn::KeepAlive), None);
        assert_eq!(
            canned.fixed(0, false, Conn::KeepAlive).unwrap(),
            &b"HTTP/1.1 200 OK\r\nServer: evloop\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
               Content-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!"[..]
        );
        assert_eq!(
            canned.fixed(1, true, Conn::KeepAlive10).unwrap(),
            &b"HTTP/1.1 200 OK\r\nServer: evloop\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
               Content-Type: application/json\r\nContent-Length: 27\r\n\
               Connection: keep-alive\r\n\r\n"[..]
        );
    }

    #[test]
    fn refresh_redates() {
        let mut canned = Canned::new(0, demo());
        canned.refresh(784_111_777);
        assert_eq!(canned.date(), b"Sun, 06 Nov 1994 08:49:37 GMT");
        let r = canned.fixed(0, false, Conn::Close).unwrap();
        assert!(r.windows(29).any(|w| w == b"Sun, 06 Nov 1994 08:49:37 GMT"));
        assert!(r.windows(19).any(|w| w == b"Connection: close\r\n"));
    }
}
