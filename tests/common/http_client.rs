//! An in-process HTTP server, and an HTTP/1.1 test client over a plain `TcpStream`: it sends raw bytes and reads
//! responses framed by `Content-Length` (status line, headers, body). A read error
//! (a reset, a timeout) fails the test, and so does EOF inside a response.

#![allow(dead_code)] // each test file uses a different subset

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use evloop::Config;
use evloop_http::{Demo, HttpConfig, HttpService};

use super::Server;

/// An in-process HTTP server with `config` and `http` on 127.0.0.1, port 0.
pub fn http_server(config: Config, http: HttpConfig) -> Server {
    Server::start(config, move |r| {
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let l = evloop::net::bind_tcp(addr, Default::default()).unwrap();
        let service = HttpService::new(http, Demo).unwrap();
        (Some(r.add_tcp_listener(l, service).unwrap()), None)
    })
}

/// One parsed response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The value of header `name` (case-insensitive); panics if it occurs twice.
    pub fn header(&self, name: &str) -> Option<&str> {
        let mut found = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name));
        let first = found.next().map(|(_, v)| v.as_str());
        assert!(found.next().is_none(), "header {name} repeated: {self:?}");
        first
    }

    pub fn content_length(&self) -> usize {
        self.header("Content-Length")
            .unwrap_or_else(|| panic!("no Content-Length: {self:?}"))
            .parse()
            .expect("numeric Content-Length")
    }

    /// Status, the headers every response carries, and the body.
    pub fn check(&self, status: u16, content_type: &str, body: &[u8]) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.header("Server"), Some("evloop"));
        let date = self.header("Date").expect("Date header");
        assert!(date.ends_with(" GMT") && date.len() == 29, "Date: {date}");
        assert_eq!(self.header("Content-Type"), Some(content_type));
        assert_eq!(self.content_length(), body.len());
        assert!(self.body == body, "body differs: {:?}", text(&self.body));
    }
}

/// The first 200 bytes, lossily as text, for panic messages.
pub fn text(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(200)];
    String::from_utf8_lossy(shown).into_owned()
}

/// A client connection with a read buffer, over a plain `TcpStream` or anything
/// else that reads and writes bytes (a TLS stream).
pub struct Client<S = TcpStream> {
    pub stream: S,
    /// Received and not yet parsed.
    pub buf: Vec<u8>,
    /// Bytes received in all.
    pub received: usize,
}

impl Client {
    /// Connects with [`super::connect`]'s bounded I/O.
    pub fn connect(addr: SocketAddr) -> Client {
        Client::new(super::connect(addr))
    }
}

impl<S: Read + Write> Client<S> {
    pub fn new(stream: S) -> Client<S> {
        Client {
            stream,
            buf: Vec::new(),
            received: 0,
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send request");
    }

    /// Reads more bytes into the buffer; false at EOF. A reset or a timeout fails
    /// the test.
    pub fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 64 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                self.received += n;
                true
            }
            Err(e) => panic!(
                "read failed: {e} ({} bytes buffered: {:?})",
                self.buf.len(),
                text(&self.buf)
            ),
        }
    }

    /// Reads one final response (skipping `100 Continue`); `head` for a HEAD
    /// request. EOF before it fails the test.
    pub fn response(&mut self, head: bool) -> Response {
        self.next_response(head).unwrap_or_else(|| {
            panic!(
                "EOF where a response was expected ({} bytes received)",
                self.received
            )
        })
    }

    /// Like [`Client::response`], but `None` at EOF between responses. EOF inside a
    /// response fails the test: a truncated reply.
    pub fn next_response(&mut self, head: bool) -> Option<Response> {
        loop {
            let end = loop {
                if let Some(at) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break at + 4;
                }
                if !self.fill() {
                    assert!(
                        self.buf.is_empty(),
                        "EOF inside a response head: {:?}",
                        text(&self.buf)
                    );
                    return None;
                }
            };
            let head_text = String::from_utf8(self.buf[..end - 4].to_vec()).expect("ASCII head");
            self.buf.drain(..end);
            let mut lines = head_text.split("\r\n");
            let status_line = lines.next().unwrap();
            let mut parts = status_line.splitn(3, ' ');
            assert_eq!(
                parts.next(),
                Some("HTTP/1.1"),
                "status line {status_line:?}"
            );
            let status: u16 = parts
                .next()
                .and_then(|code| code.parse().ok())
                .unwrap_or_else(|| panic!("bad status line: {status_line:?}"));
            let headers = lines
                .map(|l| {
                    let (n, v) = l
                        .split_once(':')
                        .unwrap_or_else(|| panic!("bad header line {l:?} in {head_text:?}"));
                    (n.to_string(), v.trim().to_string())
                })
                .collect();
            let mut response = Response {
                status,
                headers,
                body: Vec::new(),
            };
            if status == 100 {
                continue;
            }
            let len = if head { 0 } else { response.content_length() };
            while self.buf.len() < len {
                assert!(
                    self.fill(),
                    "EOF inside a body of {len} bytes: a truncated reply"
                );
            }
            response.body = self.buf.drain(..len).collect();
            return Some(response);
        }
    }

    /// Sends `GET path` and reads the response.
    pub fn get(&mut self, path: &str) -> Response {
        self.send(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
        self.response(false)
    }

    /// The server closes: nothing more arrives, then EOF (not a reset).
    pub fn expect_eof(&mut self) {
        assert!(
            self.buf.is_empty(),
            "unexpected bytes: {:?}",
            text(&self.buf)
        );
        let mut chunk = [0u8; 4096];
        match self.stream.read(&mut chunk) {
            Ok(0) => {}
            Ok(n) => panic!("expected EOF, got {:?}", text(&chunk[..n])),
            Err(e) => panic!("expected EOF, got error {e}"),
        }
    }
}
