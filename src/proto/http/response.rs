//! Writing responses: fixed byte strings, appended.
//!
//! The hot path of an HTTP benchmark is "append a `Hello, World!` response", so this
//! module keeps it to one `extend_from_slice`: the complete responses of the fixed
//! routes (every combination of route, GET/HEAD and connection handling) are rebuilt
//! by [`Canned::refresh`] when the cached `Date` changes, once a second. Other
//! responses (echo, files, rejections) are assembled from static pieces, the cached
//! date and a hand-rolled integer formatter — no `format!`, no allocation beyond
//! growing `out`.

use super::date::{imf_fixdate, DATE_LEN};

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
    /// An extra header block (ending in CRLF), e.g. `Allow` for 405.
    pub(crate) extra: &'static [u8],
}

macro_rules! status {
    ($name:ident, $code:literal, $reason:literal) => {
        status!($name, $code, $reason, "");
    };
    ($name:ident, $code:literal, $reason:literal, $extra:literal) => {
        pub(crate) const $name: Status = Status {
            line: concat!("HTTP/1.1 ", $code, " ", $reason, "\r\n").as_bytes(),
            body: concat!($reason, "\n").as_bytes(),
            extra: $extra.as_bytes(),
        };
    };
}

status!(OK, "200", "OK");
status!(BAD_REQUEST, "400", "Bad Request");
status!(NOT_FOUND, "404", "Not Found");
status!(
    METHOD_NOT_ALLOWED_GET,
    "405",
    "Method Not Allowed",
    "Allow: GET, HEAD\r\n"
);
status!(
    METHOD_NOT_ALLOWED_POST,
    "405",
    "Method Not Allowed",
    "Allow: POST\r\n"
);
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
pub(crate) const APPLICATION_JSON: &[u8] = b"application/json";
pub(crate) const OCTET_STREAM: &[u8] = b"application/octet-stream";
pub(crate) const HELLO: &[u8] = b"Hello, World!";
pub(crate) const JSON_HELLO: &[u8] = br#"{"message":"Hello, World!"}"#;

/// The fixed routes, whose whole responses are precomputed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fixed {
    /// `Hello, World!` as text/plain.
    Plaintext,
    /// `{"message":"Hello, World!"}` as application/json.
    Json,
}

impl Fixed {
    fn index(self) -> usize {
        match self {
            Fixed::Plaintext => 0,
            Fixed::Json => 1,
        }
    }

    fn content(self) -> (&'static [u8], &'static [u8]) {
        match self {
            Fixed::Plaintext => (TEXT_PLAIN, HELLO),
            Fixed::Json => (APPLICATION_JSON, JSON_HELLO),
        }
    }
}

const CANNED: usize = 2 * 2 * 3;

/// The cached `Date` value and the complete fixed-route responses that contain it.
#[derive(Debug)]
pub(crate) struct Canned {
    second: u64,
    date: [u8; DATE_LEN],
    responses: [Vec<u8>; CANNED],
}

impl Canned {
    /// Responses dated `second` (seconds since the Unix epoch).
    pub(crate) fn new(second: u64) -> Canned {
        let mut canned = Canned {
            second,
            date: imf_fixdate(second),
            responses: Default::default(),
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
        for fixed in [Fixed::Plaintext, Fixed::Json] {
            for head_only in [false, true] {
                for conn in [Conn::KeepAlive, Conn::KeepAlive10, Conn::Close] {
                    let (content_type, body) = fixed.content();
                    let mut buf = std::mem::take(&mut self.responses[slot(fixed, head_only, conn)]);
                    buf.clear();
                    write_head(
                        &mut buf,
                        &self.date,
                        OK,
                        Some(content_type),
                        body.len() as u64,
                        conn,
                    );
                    if !head_only {
                        buf.extend_from_slice(body);
                    }
                    self.responses[slot(fixed, head_only, conn)] = buf;
                }
            }
        }
    }

    /// The cached `Date` header value.
    pub(crate) fn date(&self) -> &[u8; DATE_LEN] {
        &self.date
    }

    /// The complete response for a fixed route.
    pub(crate) fn fixed(&self, fixed: Fixed, head_only: bool, conn: Conn) -> &[u8] {
        &self.responses[slot(fixed, head_only, conn)]
    }
}

fn slot(fixed: Fixed, head_only: bool, conn: Conn) -> usize {
    fixed.index() * 6 + usize::from(head_only) * 3 + conn.index()
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
    out.extend_from_slice(status.extra);
    out.extend_from_slice(conn.header());
    out.extend_from_slice(b"\r\n");
}

/// Appends an error response (text body unless `head_only`) with `Connection: close`.
pub(crate) fn write_error(
    out: &mut Vec<u8>,
    date: &[u8; DATE_LEN],
    status: Status,
    head_only: bool,
) {
    write_head(
        out,
        date,
        status,
        Some(TEXT_PLAIN),
        status.body.len() as u64,
        Conn::Close,
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

    #[test]
    fn canned_plaintext() {
        let canned = Canned::new(784_111_777);
        assert_eq!(
            canned.fixed(Fixed::Plaintext, false, Conn::KeepAlive),
            &b"HTTP/1.1 200 OK\r\nServer: evloop\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
               Content-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!"[..]
        );
        assert_eq!(
            canned.fixed(Fixed::Json, true, Conn::KeepAlive10),
            &b"HTTP/1.1 200 OK\r\nServer: evloop\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
               Content-Type: application/json\r\nContent-Length: 27\r\n\
               Connection: keep-alive\r\n\r\n"[..]
        );
    }

    #[test]
    fn refresh_redates() {
        let mut canned = Canned::new(0);
        canned.refresh(784_111_777);
        assert_eq!(canned.date(), b"Sun, 06 Nov 1994 08:49:37 GMT");
        let r = canned.fixed(Fixed::Plaintext, false, Conn::Close);
        assert!(r.windows(29).any(|w| w == b"Sun, 06 Nov 1994 08:49:37 GMT"));
        assert!(r.windows(19).any(|w| w == b"Connection: close\r\n"));
    }
}
