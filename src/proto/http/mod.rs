//! HTTP/1.1 server session (sans-I/O).
//!
//! This is the protocol half of the HTTP example server: an [`HttpService`] opens one
//! [`HttpSession`] per connection, and the session turns request bytes into response
//! bytes. It answers every complete request in its input in order (pipelining), so one
//! read batch becomes one write; it keeps connections alive per HTTP/1.0 and 1.1
//! rules; it reads `Content-Length` and chunked bodies incrementally, within limits;
//! and it streams static files under backpressure through [`Next::Stream`].
//!
//! The pieces, each in its own module: `request` validates a head that `httparse`
//! parsed (framing, persistence, limits), [`chunked`] decodes chunked bodies,
//! `response` writes responses from precomputed bytes, `files` finds files under the
//! root without escaping it, and `date` formats the cached `Date` header.
//!
//! Every refusal (400, 404, 405, 413, 431, 501, 505) is answered with a short text body
//! and `Connection: close`, and the session then closes ([`Next::Close`]), as issue 3
//! asks. For malformed requests that is required (the framing of whatever follows is
//! unknown); for 404 and 405 it is a choice, kept for uniformity with the issue.

pub mod chunked;
mod date;
mod files;
mod request;
mod response;

use std::cell::RefCell;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime};

use crate::service::{Next, Session, Step, StreamService};
use chunked::{ChunkError, ChunkedDecoder};
use files::{FileBody, Refusal};
use request::{Framing, Head, Parsed};
use response::{
    write_error, write_head, Canned, Conn, Fixed, Status, BAD_REQUEST, CONTENT_TOO_LARGE, CONTINUE,
    METHOD_NOT_ALLOWED_GET, METHOD_NOT_ALLOWED_POST, NOT_FOUND, OCTET_STREAM, OK,
};

/// Output a session appends in one [`Session::on_input`] call before it pauses to let
/// the reactor flush (via [`Next::Stream`]): pipelined requests for small files could
/// otherwise turn a bounded input into unbounded output.
const OUTPUT_BUDGET: usize = 256 * 1024;

/// Echo bodies up to this size keep their buffer for the next request; larger ones
/// give the memory back, so an idle connection holds no large buffer.
const KEEP_BODY_CAPACITY: usize = 64 * 1024;

/// Settings of an [`HttpService`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// Serve static files under this directory (GET and HEAD of paths that are not
    /// built-in routes). `None` serves only the built-in routes.
    pub root: Option<PathBuf>,
    /// Largest request body accepted, in bytes (413 beyond). Default 8 MiB.
    pub max_body: usize,
    /// Largest request head (request line and headers) accepted, in bytes (431
    /// beyond). Default 16 KiB.
    pub max_header_bytes: usize,
}

impl Default for HttpConfig {
    fn default() -> HttpConfig {
        HttpConfig {
            root: None,
            max_body: 8 * 1024 * 1024,
            max_header_bytes: 16 * 1024,
        }
    }
}

/// State shared by all sessions of one service.
#[derive(Debug)]
struct Shared {
    config: HttpConfig,
    clock: fn() -> SystemTime,
    canned: RefCell<Canned>,
}

/// The HTTP/1.1 service: opens an [`HttpSession`] per connection and refreshes the
/// cached `Date` header once a second.
#[derive(Debug)]
pub struct HttpService {
    shared: Rc<Shared>,
}

impl HttpService {
    /// A service with `config`. Fails if `config.root` cannot be canonicalized (it
    /// does not exist, say) or is not a directory.
    pub fn new(config: HttpConfig) -> io::Result<HttpService> {
        HttpService::with_clock(config, SystemTime::now)
    }

    /// Like [`HttpService::new`], with the wall clock that dates responses replaced by
    /// `clock` (tests use a fixed one to compare responses byte for byte).
    pub fn with_clock(
        mut config: HttpConfig,
        clock: fn() -> SystemTime,
    ) -> io::Result<HttpService> {
        if let Some(root) = &config.root {
            let root = root.canonicalize()?;
            if !root.is_dir() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{} is not a directory", root.display()),
                ));
            }
            config.root = Some(root);
        }
        let canned = Canned::new(date::unix_seconds(clock()));
        Ok(HttpService {
            shared: Rc::new(Shared {
                config,
                clock,
                canned: RefCell::new(canned),
            }),
        })
    }

    /// The configuration in use (with `root` canonicalized).
    pub fn config(&self) -> &HttpConfig {
        &self.shared.config
    }

    /// A session for one connection.
    pub fn session(&self) -> HttpSession {
        HttpSession {
            shared: Rc::clone(&self.shared),
            state: State::Head,
            head_scanned: 0,
            body: Vec::new(),
            content_type: Vec::new(),
        }
    }
}

impl StreamService for HttpService {
    fn open(&mut self, _peer: SocketAddr) -> Box<dyn Session> {
        Box::new(self.session())
    }

    fn tick_interval(&self) -> Option<Duration> {
        Some(Duration::from_secs(1))
    }

    fn on_tick(&mut self, _now: Instant) {
        let second = date::unix_seconds((self.shared.clock)());
        self.shared.canned.borrow_mut().refresh(second);
    }
}

/// What a request asks for once its head is understood.
#[derive(Debug)]
enum Action {
    Fixed(Fixed),
    Echo,
    File(FileBody, &'static [u8]),
}

/// A request whose head has been read and whose body is still arriving.
#[derive(Debug)]
struct Pending {
    action: Action,
    head_only: bool,
    conn: Conn,
    body: BodyReader,
}

#[derive(Debug)]
enum BodyReader {
    Length { remaining: u64 },
    Chunked(ChunkedDecoder),
}

#[derive(Debug)]
enum State {
    /// Between requests, or inside a request head.
    Head,
    /// Reading a request body.
    Body(Pending),
    /// Streaming a file; input waits until it is done.
    Stream { body: FileBody, conn: Conn },
    /// Paused after a large batch of output; `produce` resumes (see OUTPUT_BUDGET).
    Paused,
    /// Closed after a refusal or a `Connection: close` response.
    Closed,
}

/// One HTTP/1.x connection's protocol state; see the module documentation.
#[derive(Debug)]
pub struct HttpSession {
    shared: Rc<Shared>,
    state: State,
    /// Length of the incomplete head `httparse` last saw at the front of the input;
    /// it is parsed again only when the input has grown.
    head_scanned: usize,
    /// The echo body being received (bounded by `max_body`).
    body: Vec<u8>,
    /// The echo request's Content-Type, copied out of the input.
    content_type: Vec<u8>,
}

/// How one request step ended.
enum Flow {
    /// Go on with the next request at this offset.
    Continue(usize),
    /// Return this step to the reactor.
    Return(Step),
}

impl HttpSession {
    fn run(&mut self, input: &[u8], out: &mut Vec<u8>, at_eof: bool) -> Step {
        let shared = Rc::clone(&self.shared);
        let canned = shared.canned.borrow();
        let start_len = out.len();
        let scanned = std::mem::take(&mut self.head_scanned);
        let mut pos = 0;
        loop {
            let flow = match &mut self.state {
                State::Closed => return close(input),
                State::Stream { .. } | State::Paused => {
                    return Step {
                        consumed: pos,
                        next: Next::Stream,
                    }
                }
                State::Body(_) => self.read_body(&canned, input, pos, out),
                State::Head => {
                    let rest = &input[pos..];
                    if rest.is_empty() {
                        return Step::read(pos);
                    }
                    if !at_eof && out.len() - start_len >= OUTPUT_BUDGET {
                        self.state = State::Paused;
                        continue;
                    }
                    let max_header = shared.config.max_header_bytes;
                    if pos == 0 && !at_eof && scanned == rest.len() {
                        // Offered the same incomplete head again: nothing new to parse.
                        self.head_scanned = scanned;
                        return Step::read(pos);
                    }
                    match request::parse(rest, max_header, shared.config.max_body as u64) {
                        Parsed::Partial => {
                            self.head_scanned = rest.len();
                            return Step::read(pos);
                        }
                        Parsed::Reject(status) => {
                            self.reject(&canned, out, status, false);
                            return close(input);
                        }
                        Parsed::Head(head) => {
                            self.start_request(&shared, &canned, input, pos, head, out)
                        }
                    }
                }
            };
            match flow {
                Flow::Continue(next) => pos = next,
                Flow::Return(step) => return step,
            }
        }
    }

    /// A head at `input[pos..]` was parsed: route it, then answer it or start reading
    /// its body.
    fn start_request(
        &mut self,
        shared: &Shared,
        canned: &Canned,
        input: &[u8],
        pos: usize,
        head: Head<'_>,
        out: &mut Vec<u8>,
    ) -> Flow {
        let head_only = head.method == "HEAD";
        let action = match route(shared, &head) {
            Ok(action) => action,
            Err(status) => {
                self.reject(canned, out, status, head_only);
                return Flow::Return(close(input));
            }
        };
        let body_start = pos + head.len;
        let has_body = head.framing != Framing::Length(0);
        if has_body && head.expect_continue {
            out.extend_from_slice(CONTINUE);
        }
        if let Action::Echo = action {
            self.content_type.clear();
            self.content_type
                .extend_from_slice(head.content_type.unwrap_or(OCTET_STREAM));
        }
        let body = match head.framing {
            Framing::Length(n) => {
                let available = (input.len() - body_start) as u64;
                if n <= available {
                    // The whole body is here: answer straight from the input.
                    let body_end = body_start + n as usize;
                    let body = &input[body_start..body_end];
                    return self.respond(canned, action, head_only, head.conn, body, body_end, out);
                }
                BodyReader::Length { remaining: n }
            }
            Framing::Chunked => BodyReader::Chunked(ChunkedDecoder::new(
                shared.config.max_body as u64,
                shared.config.max_header_bytes,
            )),
        };
        self.body.clear();
        self.state = State::Body(Pending {
            action,
            head_only,
            conn: head.conn,
            body,
        });
        Flow::Continue(body_start)
    }

    /// Takes body bytes from `input[pos..]` into the session; answers once the body is
    /// complete.
    fn read_body(
        &mut self,
        canned: &Canned,
        input: &[u8],
        mut pos: usize,
        out: &mut Vec<u8>,
    ) -> Flow {
        let State::Body(pending) = &mut self.state else {
            return Flow::Continue(pos);
        };
        let keep = matches!(pending.action, Action::Echo);
        let complete = match &mut pending.body {
            BodyReader::Length { remaining } => {
                let available = input.len() - pos;
                let n = usize::try_from(*remaining).map_or(available, |r| r.min(available));
                if keep {
                    self.body.extend_from_slice(&input[pos..pos + n]);
                }
                pos += n;
                *remaining -= n as u64;
                *remaining == 0
            }
            BodyReader::Chunked(decoder) => loop {
                match decoder.feed(&input[pos..]) {
                    Ok(decoded) => {
                        pos += decoded.consumed;
                        if keep {
                            self.body.extend_from_slice(decoded.data);
                        }
                        if decoded.done {
                            break true;
                        }
                        if decoded.consumed == 0 {
                            break false;
                        }
                    }
                    Err(error) => {
                        let status = match error {
                            ChunkError::Malformed => BAD_REQUEST,
                            ChunkError::TooLarge => CONTENT_TOO_LARGE,
                        };
                        self.reject(canned, out, status, false);
                        return Flow::Return(close(input));
                    }
                }
            },
        };
        if !complete {
            return Flow::Return(Step::read(pos));
        }
        let State::Body(pending) = std::mem::replace(&mut self.state, State::Head) else {
            return Flow::Continue(pos);
        };
        let body = std::mem::take(&mut self.body);
        let flow = self.respond(
            canned,
            pending.action,
            pending.head_only,
            pending.conn,
            &body,
            pos,
            out,
        );
        self.body = body;
        self.body.clear();
        if self.body.capacity() > KEEP_BODY_CAPACITY {
            self.body = Vec::new();
        }
        flow
    }

    /// Answers a request whose body (if any) is complete and ends at `end`.
    #[allow(clippy::too_many_arguments)]
    fn respond(
        &mut self,
        canned: &Canned,
        action: Action,
        head_only: bool,
        conn: Conn,
        body: &[u8],
        end: usize,
        out: &mut Vec<u8>,
    ) -> Flow {
        self.state = State::Head;
        match action {
            Action::Fixed(fixed) => out.extend_from_slice(canned.fixed(fixed, head_only, conn)),
            Action::Echo => {
                write_head(
                    out,
                    canned.date(),
                    OK,
                    Some(&self.content_type),
                    body.len() as u64,
                    conn,
                );
                out.extend_from_slice(body);
            }
            Action::File(mut file, content_type) => {
                write_head(
                    out,
                    canned.date(),
                    OK,
                    Some(content_type),
                    file.remaining(),
                    conn,
                );
                if !head_only && file.remaining() > 0 {
                    if file.fill(out).is_err() {
                        self.state = State::Closed;
                        return Flow::Return(Step {
                            consumed: end,
                            next: Next::Abort,
                        });
                    }
                    if file.remaining() > 0 {
                        self.state = State::Stream { body: file, conn };
                        return Flow::Return(Step {
                            consumed: end,
                            next: Next::Stream,
                        });
                    }
                }
            }
        }
        if conn == Conn::Close {
            self.state = State::Closed;
            return Flow::Return(Step {
                consumed: end,
                next: Next::Close,
            });
        }
        Flow::Continue(end)
    }

    fn reject(&mut self, canned: &Canned, out: &mut Vec<u8>, status: Status, head_only: bool) {
        write_error(out, canned.date(), status, head_only);
        self.state = State::Closed;
    }
}

/// Where a request goes. Built-in routes win over files under the root.
fn route(shared: &Shared, head: &Head<'_>) -> Result<Action, Status> {
    let get_like = matches!(head.method, "GET" | "HEAD");
    let fixed = match head.path {
        b"/" | b"/plaintext" => Some(Fixed::Plaintext),
        b"/json" => Some(Fixed::Json),
        b"/echo" if head.method == "POST" => return Ok(Action::Echo),
        b"/echo" => return Err(METHOD_NOT_ALLOWED_POST),
        _ => None,
    };
    if let Some(fixed) = fixed {
        return if get_like {
            Ok(Action::Fixed(fixed))
        } else {
            Err(METHOD_NOT_ALLOWED_GET)
        };
    }
    let Some(root) = &shared.config.root else {
        return Err(NOT_FOUND);
    };
    match files::lookup(root, head.path) {
        Ok(found) if get_like => Ok(Action::File(found.body, found.content_type)),
        Ok(_) => Err(METHOD_NOT_ALLOWED_GET),
        Err(Refusal::NotFound) => Err(NOT_FOUND),
        Err(Refusal::BadPath) => Err(BAD_REQUEST),
    }
}

fn close(input: &[u8]) -> Step {
    Step {
        consumed: input.len(),
        next: Next::Close,
    }
}

impl Session for HttpSession {
    fn on_input(&mut self, input: &[u8], out: &mut Vec<u8>) -> Step {
        self.run(input, out, false)
    }

    fn produce(&mut self, out: &mut Vec<u8>) -> Next {
        match std::mem::replace(&mut self.state, State::Head) {
            State::Stream { mut body, conn } => {
                if body.fill(out).is_err() {
                    self.state = State::Closed;
                    return Next::Abort;
                }
                if body.remaining() > 0 {
                    self.state = State::Stream { body, conn };
                    Next::Stream
                } else if conn == Conn::Close {
                    self.state = State::Closed;
                    Next::Close
                } else {
                    Next::Read
                }
            }
            State::Paused => Next::Read,
            State::Closed => {
                self.state = State::Closed;
                Next::Close
            }
            other => {
                self.state = other;
                Next::Read
            }
        }
    }

    /// Answers the complete requests still in `input` (those that need no streaming),
    /// then refuses a truncated request or body with 400.
    fn on_peer_closed(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let step = self.run(input, out, true);
        if step.next != Next::Read {
            // Closing anyway, or a stream started that can no longer be driven
            // (the reactor should finish streams before reporting FIN).
            return;
        }
        let rest = input.get(step.consumed..).unwrap_or_default();
        let truncated = match self.state {
            State::Body(_) => true,
            State::Head => rest.iter().any(|&b| b != b'\r' && b != b'\n'),
            _ => false,
        };
        if truncated {
            let canned = self.shared.canned.borrow();
            write_error(out, canned.date(), BAD_REQUEST, false);
            drop(canned);
            self.state = State::Closed;
        }
    }
}

#[cfg(test)]
mod tests;
