//! The three TCP request/reply protocols loadgen speaks, each as a [`Protocol`]:
//! how to write one request and how to recognise and check one reply.
//!
//! They are deliberately strict — a load generator that counts wrong replies as
//! throughput measures nothing — but never panic on what a server sends: a wrong
//! reply whose length is still known is an error and the connection goes on; input
//! that cannot be framed at all ends the connection.

use std::rc::Rc;

use crate::client::{Parsed, Protocol, XorShift};

/// Echo messages repeat this pattern period, shifted per message, so a reply that
/// is reordered, duplicated or truncated does not match.
const PERIOD: usize = 251;

/// `len` bytes of the pattern that echo messages are cut from (period [`PERIOD`]).
pub fn pattern(len: usize) -> Rc<[u8]> {
    (0..len + PERIOD).map(|i| (i % PERIOD) as u8).collect()
}

/// Where in the pattern message `seq` of connection `id` starts.
pub fn pattern_offset(id: u64, seq: u64) -> usize {
    (seq.wrapping_mul(97).wrapping_add(id) % PERIOD as u64) as usize
}

/// TCP echo: messages of `size` bytes, each checked byte for byte.
#[derive(Clone)]
pub struct Echo {
    pattern: Rc<[u8]>,
    size: usize,
    id: u64,
    sent: u64,
    received: u64,
    /// Bytes of the current reply already checked, and whether any differed.
    pos: usize,
    corrupt: bool,
}

impl Echo {
    pub fn new(pattern: Rc<[u8]>, size: usize, id: u64) -> Echo {
        Echo {
            pattern,
            size: size.max(1),
            id,
            sent: 0,
            received: 0,
            pos: 0,
            corrupt: false,
        }
    }
}

impl Protocol for Echo {
    fn write_request(&mut self, out: &mut Vec<u8>) {
        let at = pattern_offset(self.id, self.sent);
        out.extend_from_slice(&self.pattern[at..at + self.size]);
        self.sent += 1;
    }

    fn parse(&mut self, input: &[u8]) -> Parsed {
        let at = pattern_offset(self.id, self.received);
        let want = &self.pattern[at + self.pos..at + self.size];
        let n = input.len().min(want.len());
        if input[..n] != want[..n] {
            self.corrupt = true;
        }
        self.pos += n;
        if self.pos < self.size {
            return Parsed::Partial(n);
        }
        self.pos = 0;
        self.received += 1;
        let verdict = if std::mem::take(&mut self.corrupt) {
            Err("echoed bytes differ from the message sent")
        } else {
            Ok(())
        };
        Parsed::Done(n, verdict)
    }
}

/// Largest response head (or RESP line) accepted before the input is called broken.
const MAX_HEAD: usize = 64 * 1024;

/// HTTP/1.1 GET with keep-alive: status 200 and a body of exactly Content-Length.
#[derive(Clone)]
pub struct Http {
    request: Rc<[u8]>,
    /// Body bytes still to come for the current response, and its verdict.
    body: Option<(usize, Result<(), &'static str>)>,
}

impl Http {
    /// The request every connection sends (built once per run).
    pub fn request(path: &str, host: &str) -> Rc<[u8]> {
        format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: evloop-loadgen\r\n\r\n")
            .into_bytes()
            .into()
    }

    pub fn new(request: Rc<[u8]>) -> Http {
        Http {
            request,
            body: None,
        }
    }
}

impl Protocol for Http {
    fn write_request(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.request);
    }

    fn parse(&mut self, input: &[u8]) -> Parsed {
        if let Some((remaining, verdict)) = self.body {
            let n = remaining.min(input.len());
            if n == remaining {
                self.body = None;
                return Parsed::Done(n, verdict);
            }
            self.body = Some((remaining - n, verdict));
            return Parsed::Partial(n);
        }
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut headers);
        let head = match response.parse(input) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) if input.len() > MAX_HEAD => {
                return Parsed::Broken("HTTP response head too large")
            }
            Ok(httparse::Status::Partial) => return Parsed::Partial(0),
            Err(_) => return Parsed::Broken("malformed HTTP response"),
        };
        let status = response.code.unwrap_or(0);
        if (100..200).contains(&status) {
            return Parsed::Broken("interim (1xx) HTTP response");
        }
        let mut length = None;
        for h in response.headers.iter() {
            if h.name.eq_ignore_ascii_case("transfer-encoding") {
                return Parsed::Broken("HTTP response not framed by Content-Length");
            }
            if h.name.eq_ignore_ascii_case("content-length") {
                let parsed = std::str::from_utf8(h.value)
                    .ok()
                    .and_then(|v| v.trim().parse::<usize>().ok());
                match (parsed, length) {
                    (None, _) => return Parsed::Broken("invalid Content-Length"),
                    (Some(a), Some(b)) if a != b => {
                        return Parsed::Broken("conflicting Content-Length headers")
                    }
                    (Some(a), _) => length = Some(a),
                }
            }
        }
        let length = match length {
            Some(n) => n,
            None if status == 204 || status == 304 => 0,
            None => return Parsed::Broken("HTTP response without Content-Length"),
        };
        let verdict = if status == 200 {
            Ok(())
        } else {
            Err("HTTP status other than 200")
        };
        if length == 0 {
            return Parsed::Done(head, verdict);
        }
        self.body = Some((length, verdict));
        Parsed::Partial(head)
    }
}

/// Which RESP command to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Ping,
    Set,
    Get,
}

impl Command {
    pub fn parse(name: &str) -> Option<Command> {
        match name.to_ascii_lowercase().as_str() {
            "ping" => Some(Command::Ping),
            "set" => Some(Command::Set),
            "get" => Some(Command::Get),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Command::Ping => "ping",
            Command::Set => "set",
            Command::Get => "get",
        }
    }
}

/// Keys are `key:` and 12 digits, like redis-benchmark's.
const KEY_DIGITS: usize = 12;

/// RESP2 PING / SET / GET with random keys; checks each reply's type (and a GET
/// bulk's length).
#[derive(Clone)]
pub struct Resp {
    command: Command,
    keyspace: u64,
    value: Rc<[u8]>,
    rng: XorShift,
    /// Largest reply accepted before the input is called broken.
    max_reply: usize,
}

impl Resp {
    pub fn new(command: Command, keyspace: u64, value: Rc<[u8]>, seed: u64) -> Resp {
        let max_reply = value.len() + MAX_HEAD;
        Resp {
            command,
            keyspace: keyspace.max(1),
            value,
            rng: XorShift::new(seed),
            max_reply,
        }
    }

    fn write_key(&mut self, out: &mut Vec<u8>) {
        let mut n = self.rng.next_u64() % self.keyspace;
        out.extend_from_slice(b"$16\r\nkey:");
        let start = out.len();
        out.resize(start + KEY_DIGITS, b'0');
        for digit in out[start..].iter_mut().rev() {
            *digit = b'0' + (n % 10) as u8;
            n /= 10;
        }
        out.extend_from_slice(b"\r\n");
    }
}

impl Protocol for Resp {
    fn write_request(&mut self, out: &mut Vec<u8>) {
        match self.command {
            Command::Ping => out.extend_from_slice(b"*1\r\n$4\r\nPING\r\n"),
            Command::Set => {
                out.extend_from_slice(b"*3\r\n$3\r\nSET\r\n");
                self.write_key(out);
                out.push(b'$');
                out.extend_from_slice(itoa::Buffer::new().format(self.value.len()).as_bytes());
                out.extend_from_slice(b"\r\n");
                out.extend_from_slice(&self.value);
                out.extend_from_slice(b"\r\n");
            }
            Command::Get => {
                out.extend_from_slice(b"*2\r\n$3\r\nGET\r\n");
                self.write_key(out);
            }
        }
    }

    fn parse(&mut self, input: &[u8]) -> Parsed {
        let len = match frame_len(input, self.max_reply, 0) {
            Ok(Some(len)) => len,
            Ok(None) if input.len() > self.max_reply => {
                return Parsed::Broken("RESP reply too large")
            }
            Ok(None) => return Parsed::Partial(0),
            Err(why) => return Parsed::Broken(why),
        };
        let frame = &input[..len];
        let verdict = match (self.command, frame[0]) {
            (_, b'-') => Err("RESP error reply"),
            (Command::Ping, _) if frame == b"+PONG\r\n" => Ok(()),
            (Command::Set, _) if frame == b"+OK\r\n" => Ok(()),
            (Command::Get, b'$') if frame == b"$-1\r\n" => Ok(()),
            (Command::Get, b'$') => {
                // `$<n>\r\n<n bytes>\r\n`: the header line is what precedes the body.
                if len - header_len(frame) - 2 == self.value.len() {
                    Ok(())
                } else {
                    Err("GET reply of the wrong length")
                }
            }
            _ => Err("unexpected RESP reply"),
        };
        Parsed::Done(len, verdict)
    }
}

/// The length of a bulk header line (`$12\r\n`) at the front of a complete frame.
fn header_len(frame: &[u8]) -> usize {
    frame
        .windows(2)
        .position(|w| w == b"\r\n")
        .map_or(frame.len(), |i| i + 2)
}

/// The length of the complete RESP2 value at the front of `input`: `Ok(None)` if it
/// is not complete yet, `Err` if it cannot be RESP. Values larger than `max` and
/// arrays nested deeper than a few levels are refused.
fn frame_len(input: &[u8], max: usize, depth: usize) -> Result<Option<usize>, &'static str> {
    let Some(&kind) = input.first() else {
        return Ok(None);
    };
    let Some(lf) = input.iter().take(MAX_HEAD).position(|&b| b == b'\n') else {
        return if input.len() >= MAX_HEAD {
            Err("RESP line too long")
        } else {
            Ok(None)
        };
    };
    if lf == 0 || input[lf - 1] != b'\r' {
        return Err("RESP line not ended by CRLF");
    }
    let line = lf + 1;
    let number = || -> Result<i64, &'static str> {
        std::str::from_utf8(&input[1..lf - 1])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or("invalid RESP length")
    };
    match kind {
        b'+' | b'-' | b':' => Ok(Some(line)),
        b'$' => {
            let n = number()?;
            if n < 0 {
                return Ok(Some(line));
            }
            let n = usize::try_from(n).map_err(|_| "invalid RESP length")?;
            if n > max {
                return Err("RESP bulk string too large");
            }
            let total = line + n + 2;
            if input.len() < total {
                return Ok(None);
            }
            if &input[total - 2..total] != b"\r\n" {
                return Err("RESP bulk string not ended by CRLF");
            }
            Ok(Some(total))
        }
        b'*' => {
            let n = number()?;
            if n < 0 {
                return Ok(Some(line));
            }
            if depth >= 8 || n as u64 > max as u64 {
                return Err("RESP array too deep or too large");
            }
            let mut at = line;
            for _ in 0..n {
                match frame_len(&input[at..], max, depth + 1)? {
                    Some(len) => at += len,
                    None => return Ok(None),
                }
                if at > max {
                    return Err("RESP reply too large");
                }
            }
            Ok(Some(at))
        }
        _ => Err("not a RESP reply"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resp_frames() {
        assert_eq!(frame_len(b"+OK\r\n", 100, 0), Ok(Some(5)));
        assert_eq!(frame_len(b"+OK\r", 100, 0), Ok(None));
        assert_eq!(frame_len(b"$3\r\nabc\r\n+", 100, 0), Ok(Some(9)));
        assert_eq!(frame_len(b"$3\r\nab", 100, 0), Ok(None));
        assert_eq!(frame_len(b"$-1\r\n", 100, 0), Ok(Some(5)));
        assert_eq!(frame_len(b"*2\r\n:1\r\n$1\r\nx\r\n", 100, 0), Ok(Some(15)));
        assert!(frame_len(b"?\r\n", 100, 0).is_err());
        assert!(frame_len(b"$3\r\nabcde", 100, 0).is_err());
    }
}
