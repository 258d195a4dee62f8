//! HTTP/1.1 server session (sans-I/O).
//!
//! This is the protocol half of the HTTP example server: an [`HttpService`] opens one
//! [`HttpSession`] per connection, and the session turns request bytes into response
//! bytes. It answers every complete request in its input in order (pipelining), so one
//! read batch becomes one write; it keeps connections alive per HTTP/1.0 and 1.1
//! rules; it reads `Content-Length` and chunked bodies incrementally, within limits;
//! and it serves static files with validators, conditional requests and byte ranges,
//! their bodies queued with [`Ctx::send_file`] for the reactor's `sendfile` path.
//!
//! What each request gets is the application's choice: a [`Handler`] routes it (see
//! [`handler`]); [`Demo`] is the example server's. The pieces, each in its own module:
//! `request` validates a head that `httparse` parsed (framing, persistence, limits),
//! [`chunked`] decodes chunked bodies, `response` writes responses from precomputed
//! bytes, `files` finds files under the root without escaping it and keeps them open
//! in a bounded cache, `conditional` decides 200/206/304/412/416 from the request's
//! preconditions and ranges, and `date` formats the cached `Date` header.
//!
//! A refusal of a well-framed request (404, 405) is answered after its body has been
//! read and keeps the connection open, so requests pipelined behind it are answered
//! too. A request whose framing cannot be trusted (400, 413, 431, 501, 505: a
//! malformed head or chunk, smuggling signs, oversize) is answered with `Connection:
//! close`, and the session closes ([`Next::Close`]): where the next request would
//! start is unknown.

pub mod access_log;
pub mod chunked;
mod conditional;
mod date;
mod files;
pub mod handler;
mod request;
mod response;

pub use handler::{Demo, FixedResponse, Handler, Refusal, Reply, Request, Route};

use std::cell::{OnceCell, RefCell};
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use chunked::{ChunkError, ChunkedDecoder};
use conditional::{Outcome, Validators};
use evloop::service::{Ctx, FileRange, Next, Session, Step, StreamService};
use files::{FileCache, Found};
use request::{Framing, Head, Parsed};
use response::{
    write_error, write_file_head, write_head, write_refusal, write_unsatisfiable, Canned, Conn,
    FileHead, Status, BAD_REQUEST, CONTENT_TOO_LARGE, CONTINUE, METHOD_NOT_ALLOWED, NOT_FOUND,
    NOT_MODIFIED, OK, PARTIAL_CONTENT, PRECONDITION_FAILED, SERVICE_UNAVAILABLE,
};

/// Output a session appends (or queues from files) in one [`Session::on_input`] call
/// before it pauses to let the reactor flush (via [`Next::Pause`]): pipelined
/// requests for files could otherwise turn a bounded input into unbounded output.
const OUTPUT_BUDGET: usize = 256 * 1024;

/// File bodies up to this size are copied into the response right behind the head
/// (one `pread`, and pipelined responses share a `write`); larger ones are left to
/// the reactor's `sendfile` path, so their bytes never enter user space.
const COPY_MAX: u64 = 16 * 1024;

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
    /// Most static files held open at once, cached or being sent (at least 1);
    /// beyond it a request for another file gets 503. Default 1,024.
    pub max_open_files: usize,
    /// How long a file lookup is trusted: a file replaced or removed under its name
    /// is noticed within this time (one changed in place, at once). Default 1 s.
    pub file_cache_valid: Duration,
}

impl Default for HttpConfig {
    fn default() -> HttpConfig {
        HttpConfig {
            root: None,
            max_body: 8 * 1024 * 1024,
            max_header_bytes: 16 * 1024,
            max_open_files: 1024,
            file_cache_valid: Duration::from_secs(1),
        }
    }
}

/// State shared by all sessions of one service.
struct Shared {
    config: HttpConfig,
    clock: fn() -> SystemTime,
    canned: RefCell<Canned>,
    handler: Box<dyn Handler>,
    files: RefCell<FileCache>,
    /// Once this flag is set, every response is sent with `Connection: close`
    /// and ends its connection (see [`HttpService::close_connections_when`]).
    drain: OnceCell<Arc<AtomicBool>>,
    /// The access log's pending lines, if requests are logged (see
    /// [`HttpService::log_requests_to`]).
    log: OnceCell<RefCell<access_log::Lines>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The HTTP/1.1 service: opens an [`HttpSession`] per connection, answers requests as
/// its [`Handler`] routes them, and refreshes the cached `Date` header once a second.
///
/// Clones share everything (one handler, one cached `Date`): serve one service
/// on several listeners by cloning it.
#[derive(Debug, Clone)]
pub struct HttpService {
    shared: Rc<Shared>,
}

impl HttpService {
    /// A service with `config`, answering as `handler` routes. Fails if
    /// `config.root` cannot be canonicalized (it does not exist, say) or is not a
    /// directory.
    pub fn new(config: HttpConfig, handler: impl Handler + 'static) -> io::Result<HttpService> {
        HttpService::with_clock(config, handler, SystemTime::now)
    }

    /// Like [`HttpService::new`], with the wall clock that dates responses replaced by
    /// `clock` (tests use a fixed one to compare responses byte for byte).
    pub fn with_clock(
        mut config: HttpConfig,
        handler: impl Handler + 'static,
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
        let canned = Canned::new(date::unix_seconds(clock()), handler.fixed_responses());
        let files = FileCache::new(config.max_open_files, config.file_cache_valid);
        Ok(HttpService {
            shared: Rc::new(Shared {
                config,
                clock,
                canned: RefCell::new(canned),
                handler: Box::new(handler),
                files: RefCell::new(files),
                drain: OnceCell::new(),
                log: OnceCell::new(),
            }),
        })
    }

    /// Once `flag` is set (from any thread), each connection's next response goes
    /// out with `Connection: close` and the connection closes after it: how a
    /// server that is draining (stopped accepting, or about to) lets keep-alive
    /// clients finish the request in flight and reconnect elsewhere, instead of
    /// having their idle connections closed under a request they are sending.
    /// Only the first flag given counts.
    pub fn close_connections_when(&self, flag: Arc<AtomicBool>) {
        let _ = self.shared.drain.set(flag);
    }

    /// Log every response from now on, one Common Log Format line each, through
    /// `sink` (see [`access_log`]): the client's address (the one a PROXY
    /// protocol header gave, if any; `unix:` for a Unix-domain client), the
    /// request line, the status and the body bytes. Only the first sink given
    /// counts. Sessions opened before the call are not logged.
    pub fn log_requests_to(&self, sink: access_log::AccessLogSink) {
        let now = date::unix_seconds((self.shared.clock)());
        let _ = self
            .shared
            .log
            .set(RefCell::new(access_log::Lines::new(sink, now)));
    }

    /// A session for a connection from `peer` (`None`: a Unix-domain client).
    fn session_from(&self, peer: Option<SocketAddr>) -> HttpSession {
        let mut session = self.session();
        if self.shared.log.get().is_some() {
            session.log = Some(Box::new(RequestLog {
                peer,
                line: Vec::new(),
            }));
        }
        session
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
            queued: 0,
            log: None,
        }
    }
}

impl StreamService for HttpService {
    fn open(&mut self, peer: SocketAddr) -> Box<dyn Session> {
        Box::new(self.session_from(Some(peer)))
    }

    fn open_unix(&mut self) -> Box<dyn Session> {
        Box::new(self.session_from(None))
    }

    /// A request head up to `max_header_bytes` (a body is consumed as it comes),
    /// with room for the next request's start behind it.
    fn max_unconsumed(&self) -> usize {
        self.shared.config.max_header_bytes.saturating_mul(2)
    }

    fn tick_interval(&self) -> Option<Duration> {
        Some(Duration::from_secs(1))
    }

    fn on_tick(&mut self, _now: Instant) {
        let second = date::unix_seconds((self.shared.clock)());
        self.shared.canned.borrow_mut().refresh(second);
        if let Some(lines) = self.shared.log.get() {
            lines.borrow_mut().tick(second);
        }
    }
}

/// What a request asks for once its head is understood.
#[derive(Debug)]
enum Action {
    /// The handler's fixed response with this index.
    Fixed(usize),
    /// Read the body, then ask the handler ([`Route::Body`]).
    Body(u32),
    /// A static file, and what to answer about it.
    File(Box<FileAnswer>),
    /// Refuse a well-framed request (read its body first), keeping the connection.
    Refuse(Status, Option<&'static str>),
}

/// A static file request, decided.
#[derive(Debug)]
struct FileAnswer {
    found: Found,
    len: u64,
    validators: Validators,
    outcome: Outcome,
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
    /// The body being received for [`Route::Body`] (bounded by `max_body`).
    body: Vec<u8>,
    /// That request's Content-Type, copied out of the input.
    content_type: Vec<u8>,
    /// File bytes queued in the current `on_input` call (they count against
    /// [`OUTPUT_BUDGET`] like bytes written).
    queued: u64,
    /// What the access log needs to know about this connection, if requests are
    /// logged.
    log: Option<Box<RequestLog>>,
}

/// A logged connection's client and current request line.
#[derive(Debug)]
struct RequestLog {
    peer: Option<SocketAddr>,
    line: Vec<u8>,
}

/// The longest request line kept for the access log: one byte more than it
/// prints, so it can tell a cut line.
const LOGGED_LINE_MAX: usize = access_log::MAX_LINE + 1;

/// How one request step ended.
enum Flow {
    /// Go on with the next request at this offset.
    Continue(usize),
    /// Return this step to the reactor.
    Return(Step),
}

impl HttpSession {
    fn run(&mut self, ctx: &mut Ctx<'_>, input: &[u8], out: &mut Vec<u8>, at_eof: bool) -> Step {
        let shared = Rc::clone(&self.shared);
        let canned = shared.canned.borrow();
        let start_len = out.len();
        let scanned = std::mem::take(&mut self.head_scanned);
        self.queued = 0;
        let mut pos = 0;
        loop {
            let flow = match &mut self.state {
                State::Closed => return close(input),
                State::Body(_) => self.read_body(ctx, &canned, input, pos, out),
                State::Head => {
                    let rest = &input[pos..];
                    if rest.is_empty() {
                        return Step::read(pos);
                    }
                    let written = (out.len() - start_len) as u64 + self.queued;
                    if !at_eof && written >= OUTPUT_BUDGET as u64 {
                        // The rest waits until the client has read most of this.
                        return Step {
                            consumed: pos,
                            next: Next::Pause,
                        };
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
                            self.note_request_line(rest);
                            self.reject(&canned, out, status, false);
                            return close(input);
                        }
                        Parsed::Head(head) => {
                            self.start_request(ctx, &shared, &canned, input, pos, head, out)
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
    #[allow(clippy::too_many_arguments)]
    fn start_request(
        &mut self,
        ctx: &mut Ctx<'_>,
        shared: &Shared,
        canned: &Canned,
        input: &[u8],
        pos: usize,
        head: Head<'_>,
        out: &mut Vec<u8>,
    ) -> Flow {
        let head_only = head.method == "HEAD";
        self.note_request_line(&input[pos..pos + head.len]);
        // Draining: this response is the connection's last.
        let conn = match shared.drain.get() {
            Some(flag) if flag.load(Ordering::Relaxed) => Conn::Close,
            _ => head.conn,
        };
        let action = match route(shared, &head, ctx.now()) {
            Ok(action) => action,
            Err(status) => {
                self.reject(canned, out, status, head_only);
                return Flow::Return(close(input));
            }
        };
        let body_start = pos + head.len;
        let has_body = head.has_body();
        if let (Action::Refuse(status, allow), true) = (&action, has_body && head.expect_continue) {
            // The client holds the body back until it hears 100 Continue; refused, it
            // may send the body anyway or the next request, so where the next request
            // starts is unknown: answer and close.
            let start = out.len();
            write_refusal(out, canned.date(), *status, *allow, head_only, Conn::Close);
            self.log_response(out, start, self.queued);
            self.state = State::Closed;
            return Flow::Return(close(input));
        }
        if has_body && head.expect_continue {
            out.extend_from_slice(CONTINUE);
        }
        if let Action::Body(_) = action {
            self.content_type.clear();
            self.content_type
                .extend_from_slice(head.content_type.unwrap_or_default());
        }
        let body = match head.framing {
            Framing::Length(n) => {
                let available = (input.len() - body_start) as u64;
                if n <= available {
                    // The whole body is here: answer straight from the input.
                    let body_end = body_start + n as usize;
                    let body = &input[body_start..body_end];
                    let answer = (action, head_only, conn);
                    return self.respond(ctx, canned, answer, body, body_end, out);
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
            conn,
            body,
        });
        Flow::Continue(body_start)
    }

    /// Takes body bytes from `input[pos..]` into the session; answers once the body is
    /// complete.
    fn read_body(
        &mut self,
        ctx: &mut Ctx<'_>,
        canned: &Canned,
        input: &[u8],
        mut pos: usize,
        out: &mut Vec<u8>,
    ) -> Flow {
        let State::Body(pending) = &mut self.state else {
            return Flow::Continue(pos);
        };
        let keep = matches!(pending.action, Action::Body(_));
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
        let answer = (pending.action, pending.head_only, pending.conn);
        let flow = self.respond(ctx, canned, answer, &body, pos, out);
        self.body = body;
        self.body.clear();
        if self.body.capacity() > KEEP_BODY_CAPACITY {
            self.body = Vec::new();
        }
        flow
    }

    /// Answers a request (`action`, whether it is `HEAD`, how the connection goes
    /// on) whose body (if any) is complete and ends at `end`.
    fn respond(
        &mut self,
        ctx: &mut Ctx<'_>,
        canned: &Canned,
        (action, head_only, conn): (Action, bool, Conn),
        body: &[u8],
        end: usize,
        out: &mut Vec<u8>,
    ) -> Flow {
        self.state = State::Head;
        let date = canned.date();
        let (start, queued_before) = (out.len(), self.queued);
        match action {
            Action::Fixed(index) => match canned.fixed(index, head_only, conn) {
                Some(response) => out.extend_from_slice(response),
                None => write_refusal(out, date, NOT_FOUND, None, head_only, conn),
            },
            Action::Body(route) => {
                match self.shared.handler.on_body(route, &self.content_type, body) {
                    Reply::Ok { content_type, body } => {
                        write_head(out, date, OK, Some(content_type), body.len() as u64, conn);
                        if !head_only {
                            out.extend_from_slice(&body);
                        }
                    }
                    Reply::Refuse(refusal) => {
                        let (status, allow) = refusal_status(refusal);
                        write_refusal(out, date, status, allow, head_only, conn);
                    }
                }
            }
            Action::Refuse(status, allow) => {
                write_refusal(out, date, status, allow, head_only, conn)
            }
            Action::File(answer) => {
                if self
                    .answer_file(ctx, date, *answer, head_only, conn, out)
                    .is_err()
                {
                    // The file shrank since it was measured: the response is broken.
                    log::debug!("static file shorter than its fstat said; closing");
                    self.state = State::Closed;
                    return Flow::Return(Step {
                        consumed: end,
                        next: Next::Abort,
                    });
                }
            }
        }
        self.log_response(out, start, queued_before);
        if conn == Conn::Close {
            self.state = State::Closed;
            return Flow::Return(Step {
                consumed: end,
                next: Next::Close,
            });
        }
        Flow::Continue(end)
    }

    /// Writes the answer to a file request; the body is copied in if small, else
    /// queued for the reactor to send. `Err` if the file is shorter than measured.
    fn answer_file(
        &mut self,
        ctx: &mut Ctx<'_>,
        date: &[u8; date::DATE_LEN],
        answer: FileAnswer,
        head_only: bool,
        conn: Conn,
        out: &mut Vec<u8>,
    ) -> io::Result<()> {
        let FileAnswer {
            found,
            len,
            validators,
            outcome,
        } = answer;
        let (status, start, count) = match outcome {
            Outcome::Full => (OK, 0, len),
            Outcome::Partial { start, end } => (PARTIAL_CONTENT, start, end - start + 1),
            Outcome::NotModified => (NOT_MODIFIED, 0, 0),
            Outcome::PreconditionFailed => {
                write_refusal(out, date, PRECONDITION_FAILED, None, head_only, conn);
                return Ok(());
            }
            Outcome::Unsatisfiable => {
                write_unsatisfiable(out, date, len, head_only, conn);
                return Ok(());
            }
        };
        let not_modified = outcome == Outcome::NotModified;
        let head = FileHead {
            status,
            content_type: found.content_type,
            content_length: (!not_modified).then_some(count),
            last_modified: &validators.last_modified,
            etag: validators.etag(),
            range: match outcome {
                Outcome::Partial { start, end } => Some((start, end, len)),
                _ => None,
            },
        };
        write_file_head(out, date, head, conn);
        if head_only || not_modified || count == 0 {
            return Ok(());
        }
        if count <= COPY_MAX {
            use std::os::unix::fs::FileExt;
            let at = out.len();
            out.resize(at + count as usize, 0);
            if let Err(e) = found.file.read_exact_at(&mut out[at..], start) {
                out.truncate(at);
                return Err(e);
            }
        } else {
            self.queued += count;
            ctx.send_file(out, FileRange::new(found.file, start, count));
        }
        Ok(())
    }

    fn reject(&mut self, canned: &Canned, out: &mut Vec<u8>, status: Status, head_only: bool) {
        let start = out.len();
        write_error(out, canned.date(), status, head_only);
        self.log_response(out, start, self.queued);
        self.state = State::Closed;
    }

    /// Keep the request line at the front of `head` for the access log.
    fn note_request_line(&mut self, head: &[u8]) {
        let Some(log) = &mut self.log else {
            return;
        };
        let head = &head[..head.len().min(LOGGED_LINE_MAX)];
        let end = head.iter().position(|&b| b == b'\r' || b == b'\n');
        log.line.clear();
        log.line
            .extend_from_slice(&head[..end.unwrap_or(head.len())]);
    }

    /// Log the response written at `out[start..]` (with the file bytes queued
    /// since `queued_before`), if requests are logged.
    fn log_response(&mut self, out: &[u8], start: usize, queued_before: u64) {
        let (Some(lines), Some(log)) = (self.shared.log.get(), self.log.as_mut()) else {
            return;
        };
        let response = out.get(start..).unwrap_or_default();
        // Every response starts "HTTP/1.1 NNN ".
        let status = response
            .get(9..12)
            .and_then(|code| std::str::from_utf8(code).ok())
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        let head = response
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(response.len(), |at| at + 4);
        let bytes = (response.len() - head) as u64 + self.queued.saturating_sub(queued_before);
        lines.borrow_mut().push(&access_log::Entry {
            peer: log.peer,
            request: &log.line,
            status,
            bytes,
        });
        log.line.clear();
    }
}

/// Where a request goes, as the handler says; `Err` is a refusal that closes the
/// connection.
fn route(shared: &Shared, head: &Head<'_>, now: Instant) -> Result<Action, Status> {
    match shared.handler.route(&Request { head }) {
        Route::Fixed(index) => Ok(Action::Fixed(index)),
        Route::Body(route) => Ok(Action::Body(route)),
        Route::Refuse(refusal) => {
            let (status, allow) = refusal_status(refusal);
            Ok(Action::Refuse(status, allow))
        }
        Route::File => {
            let Some(root) = &shared.config.root else {
                return Ok(Action::Refuse(NOT_FOUND, None));
            };
            if !matches!(head.method, "GET" | "HEAD") {
                return match files::lookup(root, head.path) {
                    Ok(_) => Ok(Action::Refuse(METHOD_NOT_ALLOWED, Some("GET, HEAD"))),
                    Err(files::Refusal::BadPath) => Err(BAD_REQUEST),
                    Err(_) => Ok(Action::Refuse(NOT_FOUND, None)),
                };
            }
            let found = match shared.files.borrow_mut().get(root, head.path, now) {
                Ok(found) => found,
                Err(files::Refusal::NotFound) => return Ok(Action::Refuse(NOT_FOUND, None)),
                Err(files::Refusal::Busy) => return Ok(Action::Refuse(SERVICE_UNAVAILABLE, None)),
                Err(files::Refusal::BadPath) => return Err(BAD_REQUEST),
            };
            // The cache trusts the name for a while; the file's own metadata is read
            // every time, so a file changed in place is answered as it is now.
            let Ok(meta) = found.file.metadata() else {
                return Ok(Action::Refuse(NOT_FOUND, None));
            };
            let len = meta.len();
            let validators =
                Validators::new(len, meta.modified().unwrap_or(SystemTime::UNIX_EPOCH));
            let outcome =
                conditional::evaluate(&head.conditions, &validators, len, head.method == "GET");
            Ok(Action::File(Box::new(FileAnswer {
                found,
                len,
                validators,
                outcome,
            })))
        }
    }
}

fn refusal_status(refusal: Refusal) -> (Status, Option<&'static str>) {
    match refusal {
        Refusal::NotFound => (NOT_FOUND, None),
        Refusal::MethodNotAllowed { allow } => (METHOD_NOT_ALLOWED, Some(allow)),
        Refusal::Unavailable => (response::SERVICE_UNAVAILABLE, None),
    }
}

fn close(input: &[u8]) -> Step {
    Step {
        consumed: input.len(),
        next: Next::Close,
    }
}

impl Session for HttpSession {
    fn on_input(&mut self, ctx: &mut Ctx<'_>, input: &[u8], out: &mut Vec<u8>) -> Step {
        self.run(ctx, input, out, false)
    }

    /// Answers the complete requests still in `input` (those that need no streaming),
    /// then refuses a truncated request or body with 400.
    fn on_peer_closed(&mut self, ctx: &mut Ctx<'_>, input: &[u8], out: &mut Vec<u8>) -> Next {
        let step = self.run(ctx, input, out, true);
        if step.next != Next::Read {
            return Next::Close;
        }
        let rest = input.get(step.consumed..).unwrap_or_default();
        let truncated = match self.state {
            State::Body(_) => true,
            State::Head => rest.iter().any(|&b| b != b'\r' && b != b'\n'),
            _ => false,
        };
        if truncated {
            if matches!(self.state, State::Head) {
                self.note_request_line(rest);
            }
            let shared = Rc::clone(&self.shared);
            let canned = shared.canned.borrow();
            self.reject(&canned, out, BAD_REQUEST, false);
        }
        Next::Close
    }
}

#[cfg(test)]
mod tests;
