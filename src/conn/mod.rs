//! One connection's state machine (TCP, Unix-domain or TLS, or the simulator's
//! in-memory socket: whatever the `Transport` is).
//!
//! A [`Conn`] owns the socket, the protocol [`Session`], and the only two buffers a
//! connection ever needs: unconsumed input (a partial request) and unsent output
//! (the tail a `write` could not take). Both are empty `Vec`s — no allocation — while
//! the connection is idle; fresh bytes are read into the hub's shared scratch
//! buffer and replies are written into the hub's shared output buffer, so a
//! request that arrives whole and is answered at once never allocates per connection.
//!
//! States (see [`State`], each carrying what is true only in it):
//! `Connecting` → `Open` → (`PeerClosedRead { held }` | `Closing { by_shutdown }` →
//! `Draining`) → `Closed`; `set_state` is the one place a state changes, traced at
//! `RUST_LOG=evloop=trace`. Every session callback that may write goes through
//! `call_session` (`output.rs`), which picks the buffer and settles what was
//! written. The concerns each have a module: `read` (edges, reads, handing input
//! to the session), `output` (the unsent tail, files, pushes), `relay` (linked
//! pairs, splice), `timers` (deadlines, session timers, wakes); `tests` takes each
//! transition over the simulator's in-memory socket.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::TcpStream;

use crate::ctx::{ConnId, Ctx, Links, OutputLimit};
use crate::service::{Next, Session};
use crate::splice::Pipe;

mod output;
mod read;
mod relay;
mod timers;

use crate::stats::Stats;
use output::Chunk;
pub(crate) use read::Readiness;
use read::{ReadResult, ReadSide};

/// How long a closing connection may make no progress when no idle timeout is
/// configured.
const STALLED_CLOSE_TIMEOUT: Duration = Duration::from_secs(60);

/// Most bytes one `splice` moves from a socket into a pipe (the pipe's capacity,
/// 64 KiB by default, is the real bound).
const SPLICE_MAX: usize = 1 << 20;

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// An outbound connection whose non-blocking `connect` is in progress.
    Connecting,
    /// Reading requests and writing replies.
    Open,
    /// The peer sent FIN. Replies owed for what was received are flushed, then the
    /// connection closes — unless the session `held` it (its unconsumed input
    /// too): then it closes when the session says so, or on timeout (a proxy
    /// waiting for its upstream).
    PeerClosedRead { held: bool },
    /// We are closing: no more reads are handed to the session; the output is
    /// flushed, then writing is shut down. `by_shutdown`: the reactor shuts down
    /// and the session did not ask, so its wakes and timers still reach it (it
    /// may still owe replies, held until a log was synced, say).
    Closing { by_shutdown: bool },
    /// Writing is shut down (our FIN is sent). Input is read and discarded until the
    /// peer's FIN or the linger deadline: closing a socket with unread input makes
    /// the kernel send RST, which can destroy replies the peer has not read yet.
    Draining,
    /// Closed; the slab slot is freed after the current event batch.
    Closed,
}

/// What a session asked for about its output (see [`Next::Stream`] and
/// [`Next::Pause`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    /// Hand it input as it comes.
    Free,
    /// Nothing until the pending output drains below the low-water mark, then
    /// `produce` more.
    Stream,
    /// Nothing until the pending output drains, then offer the unconsumed input
    /// again.
    Pause,
}

/// Why a connection was closed, for the counters and debug logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CloseReason {
    /// Orderly: FIN exchanged or the session asked for it.
    Done,
    /// The session asked to abort, or broke a limit.
    Aborted,
    /// A read or write failed (reset by peer, broken pipe).
    IoError,
    /// The idle, request or linger deadline passed.
    Timeout,
    /// The server is shutting down and its deadline passed.
    Shutdown,
    /// An outbound connection could not be established.
    ConnectFailed,
    /// Pushed output passed the connection's output limit.
    OutputLimit,
}

/// What the reactor must do after driving a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Drive {
    /// Nothing more until the next readiness event or deadline.
    Wait,
    /// The socket still has input that the per-wake-up budget did not allow to be
    /// read (or output to stream): drive it again after the other ready sources.
    Again,
    /// Close the connection and free its slot.
    Close(CloseReason),
}

/// What a connection's state machine needs of its socket. The reactor's
/// connections are TCP or Unix-domain stream sockets (`stream::Stream`); [`crate::sim`] drives the same state
/// machine over an in-memory socket, so its decisions can be tested without a
/// descriptor.
pub(crate) trait Transport: Read + Write {
    /// `shutdown(SHUT_WR)`: send FIN after what was written.
    fn shutdown_write(&mut self) -> io::Result<()>;
    /// `SO_ERROR`: how a non-blocking connect ended, if it failed.
    fn take_error(&self) -> io::Result<Option<io::Error>>;
    /// The peer's address; `NotConnected` while a connect is in progress.
    fn peer_addr(&self) -> io::Result<SocketAddr>;
    /// The kernel socket, for `splice(2)` and `sendfile(2)`; `None` for a socket
    /// that has none.
    fn socket(&self) -> Option<&TcpStream>;
    /// A write after which more follows at once (`MSG_MORE`: the kernel may hold a
    /// partial segment back for it).
    fn write_more(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write(buf)
    }
    /// Bytes the transport itself holds for the socket (a TLS layer's encrypted
    /// records): they count as pending output, and `flush` writes them (a full
    /// socket: `WouldBlock`). A transport with such a buffer refuses writes while
    /// it is not empty, so it stays bounded.
    fn has_buffered_output(&self) -> bool {
        false
    }
    /// A handshake (TLS) runs: nothing the session wrote can be sent yet, and the
    /// handshake timeout applies.
    fn handshaking(&self) -> bool {
        false
    }
    /// The connection closes in order without having shut down writing (the
    /// peer finished first): a TLS layer sends `close_notify`, so the peer can
    /// tell the end from a truncation. Best effort; the socket closes next.
    fn close_in_order(&mut self) {}
}

/// Limits the reactor applies to every connection.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    pub(crate) high_water: usize,
    pub(crate) low_water: usize,
    pub(crate) max_input: usize,
    pub(crate) read_budget: usize,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) request_timeout: Option<Duration>,
    pub(crate) linger_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) handshake_timeout: Duration,
    pub(crate) push_limit: OutputLimit,
}

impl Limits {
    pub(crate) fn from_config(config: &crate::Config) -> Limits {
        Limits {
            high_water: config.high_water,
            low_water: config.low_water,
            max_input: config.max_input.max(1),
            read_budget: config.read_budget.max(1),
            idle_timeout: config.idle_timeout,
            request_timeout: config.request_timeout,
            linger_timeout: config.linger_timeout,
            connect_timeout: config.connect_timeout,
            handshake_timeout: config.handshake_timeout,
            push_limit: config.push_output_limit,
        }
    }
}

/// What the reactor lends a connection while it is being driven.
pub(crate) struct Io<'a> {
    pub(crate) scratch: &'a mut [u8],
    /// Shared output buffer; empty whenever no connection is being driven.
    pub(crate) out: &'a mut Vec<u8>,
    pub(crate) stats: &'a mut Stats,
    pub(crate) limits: &'a Limits,
    pub(crate) now: Instant,
    pub(crate) links: &'a mut Links,
}

/// One TCP connection (accepted or outbound) and its session.
pub(crate) struct Conn<T: Transport = crate::stream::Stream> {
    stream: T,
    session: Box<dyn Session>,
    state: State,
    /// Received bytes the session has not consumed yet.
    input: Vec<u8>,
    /// Output the socket has not taken yet; `output[sent..]` is unsent.
    output: Vec<u8>,
    sent: usize,
    /// What edges and reads have shown of the read side.
    read: ReadSide,
    /// The last write was short or would block: the send buffer is full, so no
    /// write is attempted until a WRITABLE edge says there is room again.
    write_blocked: bool,
    /// Reading stopped because unsent output passed the high-water mark.
    backpressured: bool,
    /// Whether the session waits for the pending output to drain, and what it
    /// wants then.
    flow: Flow,
    /// The reactor's `ready` list holds this connection.
    pub(crate) in_ready_list: bool,
    /// Last time bytes moved in either direction.
    last_active: Instant,
    /// When the current partial request began (input non-empty) or draining began.
    mark: Instant,
    /// Earliest deadline this connection has in the reactor's timer heap.
    pub(crate) armed: Option<Instant>,
    /// Slab key and generation (which tells this connection apart from earlier
    /// ones that used the same slot).
    pub(crate) id: ConnId,
    /// Another session called `Ctx::wake` on this one.
    woken: bool,
    /// The reactor has taken this connection out of service (its slot is freed
    /// after the batch). `State::Closed` alone does not say this: the connection
    /// reaches it by itself when both FINs are exchanged, and the reactor must
    /// still release it then.
    released: bool,
    /// Session timers and push-limit state: allocated only for the connections that
    /// use them, so an idle connection stays small.
    extra: Option<Box<Extra>>,
}

/// The rarely used part of a connection's state.
#[derive(Debug, Default)]
struct Extra {
    /// The session's timers: (due, token).
    timers: Vec<(Instant, u64)>,
    /// This connection's own limit for pushed output, if the session set one.
    push_limit: Option<OutputLimit>,
    /// Since when unsent output has been over the soft push limit.
    soft_since: Option<Instant>,
    /// The connection this one is linked to: bytes read here are written there.
    link: Option<ConnId>,
    /// We shut down writing here because the linked peer sent FIN.
    fin_sent: bool,
    /// Bytes received here and relayed to the linked peer.
    relayed: u64,
    /// Zero-copy path for bulk relaying from this side (see `splice.rs`).
    pipe: Option<Pipe>,
    /// The session waits on other connections: no idle or request timeout.
    waiting: bool,
    /// Output behind a file: everything after `Conn::output` (see [`Chunk`]).
    queue: VecDeque<Chunk>,
    /// Bytes `queue` holds, the files' remaining lengths included.
    queued_bytes: u64,
}

impl<T: Transport> Conn<T> {
    pub(crate) fn new(stream: T, session: Box<dyn Session>, id: ConnId, now: Instant) -> Conn<T> {
        Conn {
            stream,
            session,
            state: State::Open,
            input: Vec::new(),
            output: Vec::new(),
            sent: 0,
            read: ReadSide::Drained,
            write_blocked: false,
            backpressured: false,
            flow: Flow::Free,
            in_ready_list: false,
            last_active: now,
            mark: now,
            armed: None,
            id,
            woken: false,
            released: false,
            extra: None,
        }
    }

    /// An outbound connection whose `connect` was started; the session hears
    /// [`Session::on_connected`] or [`Session::on_connect_failed`].
    pub(crate) fn connecting(
        stream: T,
        session: Box<dyn Session>,
        id: ConnId,
        now: Instant,
    ) -> Conn<T> {
        let mut conn = Conn::new(stream, session, id, now);
        conn.set_state(State::Connecting);
        // Nothing may be written before the connection is established; the
        // WRITABLE edge that reports completion clears this.
        conn.write_blocked = true;
        conn
    }

    /// Tell the session its connection failed (the reactor closes it after this).
    pub(crate) fn fail_connect(&mut self, error: &io::Error, links: &mut Links, now: Instant) {
        if self.state == State::Connecting {
            log::debug!("connect failed: {error}");
            let mut ctx = Ctx::new(self.id, now, links);
            self.session.on_connect_failed(&mut ctx, error);
        }
    }

    /// The session waits for the pending output to drain (a stream or a pause).
    fn waits_for_drain(&self) -> bool {
        self.flow != Flow::Free
    }

    /// Where the connection is in its life.
    pub(crate) fn state(&self) -> State {
        self.state
    }

    /// The one place the state changes, so every transition can be traced
    /// (`RUST_LOG=evloop=trace`).
    fn set_state(&mut self, to: State) {
        if self.state != to {
            log::trace!("conn {}: {:?} -> {:?}", self.id, self.state, to);
            self.state = to;
        }
    }

    /// The reactor is closing this connection (its slot is freed after the batch).
    pub(crate) fn mark_closed(&mut self) {
        self.set_state(State::Closed);
        self.released = true;
    }

    /// Whether [`mark_closed`](Self::mark_closed) was called.
    pub(crate) fn is_released(&self) -> bool {
        self.released
    }

    /// The accepted connection is registered: let the session greet the peer.
    pub(crate) fn open(&mut self, io: &mut Io<'_>) -> Drive {
        let next = self.call_session(io, |s, ctx, out| s.on_open(ctx, out));
        if io.out.is_empty() && next == Next::Read && self.pending_output() == 0 {
            return Drive::Wait;
        }
        let early = self.apply(next);
        let result = self.flush_shared(io).and_then(|()| self.settle(io));
        if !io.out.is_empty() {
            self.keep_unsent(io.out, 0);
        }
        match (early, result) {
            (Some(drive), _) => drive,
            (None, Err(e)) => self.io_failed(&e, io.stats),
            (None, Ok(again)) if again || self.waits_for_drain() => Drive::Again,
            (None, Ok(_)) => self.finish_state(),
        }
    }

    /// An orderly close (not an error, a timeout or an abort) is about to drop
    /// the socket.
    pub(crate) fn close_in_order(&mut self) {
        self.stream.close_in_order();
    }

    /// The connection is closed: the session's last call.
    pub(crate) fn closed(&mut self, links: &mut Links, now: Instant) {
        let relayed = self.extra.as_ref().map_or(0, |e| e.relayed);
        let mut ctx = Ctx::new(self.id, now, links).with_relayed(relayed);
        self.session.on_closed(&mut ctx);
    }

    /// Whether pushes are taken (not closing or closed).
    pub(crate) fn open_for_pushes(&self) -> bool {
        matches!(self.state, State::Open | State::PeerClosedRead { .. })
    }

    fn extra(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Box::default)
    }

    /// Drop the rarely used state once it holds nothing.
    fn trim_extra(&mut self) {
        if self.extra.as_ref().is_some_and(|e| {
            e.timers.is_empty()
                && e.push_limit.is_none()
                && e.soft_since.is_none()
                && e.link.is_none()
                && e.pipe.is_none()
                && !e.waiting
                && e.queue.is_empty()
        }) {
            self.extra = None;
        }
    }

    pub(crate) fn is_connecting(&self) -> bool {
        self.state == State::Connecting
    }

    /// A handshake (TLS) is still running.
    pub(crate) fn handshaking(&self) -> bool {
        self.stream.handshaking()
    }

    /// Begin a graceful close on server shutdown: stop handing input to the
    /// session, finish the replies owed, then shut down writing and drain. Even a
    /// connection that owes nothing goes this way rather than closing at once:
    /// bytes may have arrived that we have not read, and closing over unread input
    /// makes the kernel send RST, which can destroy replies still in flight.
    ///
    /// Complete requests already received but waiting behind a stream are still
    /// answered when the stream ends: only reading stops.
    pub(crate) fn begin_shutdown(&mut self) {
        if matches!(self.state, State::Open | State::PeerClosedRead { .. }) {
            self.set_state(State::Closing { by_shutdown: true });
            if !self.waits_for_drain() {
                self.input = Vec::new();
            }
        }
    }

    /// Do everything this connection can do now: flush, stream, read and hand input
    /// to the session, flush again.
    pub(crate) fn drive(&mut self, io: &mut Io<'_>) -> Drive {
        debug_assert!(io.out.is_empty());
        let result = self.drive_inner(io);
        // Anything the session wrote that did not get flushed stays with us.
        if !io.out.is_empty() {
            self.keep_unsent(io.out, 0);
        }
        match result {
            Ok(drive) => drive,
            Err(e) => self.io_failed(&e, io.stats),
        }
    }

    /// A read or write failed: count it (a failed TLS handshake apart) and close.
    fn io_failed(&self, e: &io::Error, stats: &mut Stats) -> Drive {
        if self.stream.handshaking() {
            log::debug!("conn {}: TLS handshake failed: {e}", self.id);
            stats.tls_handshake_errors += 1;
        } else {
            log::debug!("conn {}: connection error: {e}", self.id);
            stats.io_errors += 1;
        }
        Drive::Close(CloseReason::IoError)
    }

    fn drive_inner(&mut self, io: &mut Io<'_>) -> io::Result<Drive> {
        if self.state == State::Connecting {
            if let Some(drive) = self.finish_connect(io) {
                return Ok(drive);
            }
        }
        if self.takes_callbacks() {
            if let Some(drive) = self.run_callbacks(io) {
                return Ok(drive);
            }
        }
        // Output first: a WRITABLE event may have made room, and room may let a
        // paused reader or a stream continue.
        if self.pending_output() > 0 {
            self.flush(io)?;
        }
        let mut budget = io.limits.read_budget;
        let mut again = false;
        loop {
            if self.waits_for_drain() && self.pending_output() + io.out.len() >= io.limits.low_water
            {
                // Send what the stream produced so far: if the socket takes it all,
                // no WRITABLE edge will come to ask for the next piece.
                self.flush_shared(io)?;
            }
            if self.waits_for_drain() && self.pending_output() + io.out.len() < io.limits.low_water
            {
                if budget == 0 {
                    again = true;
                    break;
                }
                let before = io.out.len() + self.pending_output();
                let input_before = self.input.len();
                let next = if self.flow == Flow::Stream {
                    self.call_session(io, |s, ctx, out| s.produce(ctx, out))
                } else {
                    Next::Read // a pause is over
                };
                if next != Next::Stream {
                    self.flow = Flow::Free;
                    if let Some(drive) = self.apply(next) {
                        return Ok(drive);
                    }
                    // The stream ended or the pause is over: requests that waited
                    // behind it go now.
                    if !self.waits_for_drain() && !self.input.is_empty() && self.accepts_requests()
                    {
                        let input = std::mem::take(&mut self.input);
                        if let Some(drive) = self.feed(io, input) {
                            return Ok(drive);
                        }
                    }
                }
                let produced = (io.out.len() + self.pending_output()).saturating_sub(before);
                if produced == 0 && self.waits_for_drain() && self.input.len() >= input_before {
                    log::warn!("session paused or streamed without producing output; aborting");
                    return Ok(Drive::Close(CloseReason::Aborted));
                }
                budget = budget.saturating_sub(produced);
                self.flush_shared(io)?;
                continue;
            }
            if self.backpressured && self.pending_output() + io.out.len() < io.limits.low_water {
                self.backpressured = false;
            }
            if !self.read.is_readable() {
                break;
            }
            match self.state {
                State::Open if !self.backpressured && !self.waits_for_drain() => {}
                State::Draining => return self.drain(io),
                _ => break,
            }
            if self.input.len() >= io.limits.max_input {
                break; // checked after the final flush below
            }
            if budget == 0 {
                again = true;
                break;
            }
            let n = match self.read_some(io)? {
                ReadResult::Data(n) => n,
                ReadResult::Eof => return self.on_peer_fin(io),
                ReadResult::Empty => break,
            };
            budget = budget.saturating_sub(n);
            if let Some(drive) = self.feed_scratch(io, n)? {
                return Ok(drive);
            }
            if self.pending_output() + io.out.len() > io.limits.high_water {
                self.backpressured = true;
                io.stats.backpressure_pauses += 1;
                self.flush_shared(io)?;
            }
        }
        self.flush_shared(io)?;
        // The flush may have made room that no WRITABLE edge will report.
        again |= self.waits_for_drain() && self.pending_output() < io.limits.low_water;
        if self.backpressured && self.pending_output() < io.limits.low_water {
            self.backpressured = false;
            again |= self.read.is_readable();
        }
        if self.state == State::Open
            && self.input.len() >= io.limits.max_input
            && self.pending_output() == 0
            && !self.waits_for_drain()
        {
            // The session keeps more than the cap without consuming it, and no
            // output is left whose draining could change that: close gracefully.
            log::debug!(
                "{} bytes of input not consumed (cap {}); closing",
                self.input.len(),
                io.limits.max_input
            );
            self.apply(Next::Close);
        }
        again |= self.settle(io)?;
        Ok(if self.state == State::Closed {
            Drive::Close(CloseReason::Done)
        } else if again {
            Drive::Again
        } else {
            self.finish_state()
        })
    }

    /// Tell the session about a wake and its due timers.
    fn run_callbacks(&mut self, io: &mut Io<'_>) -> Option<Drive> {
        if std::mem::take(&mut self.woken) {
            let next = self.call_session(io, |s, ctx, out| s.on_wake(ctx, out));
            if let Some(drive) = self.apply(next) {
                return Some(drive);
            }
        }
        while let Some(token) = self.take_due_timer(io.now) {
            let next = self.call_session(io, |s, ctx, out| s.on_timer(ctx, token, out));
            if let Some(drive) = self.apply(next) {
                return Some(drive);
            }
            if !self.takes_callbacks() {
                break;
            }
        }
        None
    }

    /// Wakes and timers reach the session: while it is open, and while a
    /// shutdown it did not ask for closes it.
    fn takes_callbacks(&self) -> bool {
        match self.state {
            State::Open | State::PeerClosedRead { .. } => true,
            State::Closing { by_shutdown } => by_shutdown,
            _ => false,
        }
    }

    /// Complete a non-blocking connect the way mio documents it: after a WRITABLE
    /// (or error) event, `take_error` reports a failure; otherwise `peer_addr`
    /// succeeds once connected and fails with `NotConnected` while still in
    /// progress (a spurious wake-up). `Some` means stop driving and do that.
    fn finish_connect(&mut self, io: &mut Io<'_>) -> Option<Drive> {
        if self.write_blocked {
            return Some(Drive::Wait); // no WRITABLE edge yet
        }
        let failure = match self.stream.take_error() {
            Ok(Some(e)) | Err(e) => Some(e),
            Ok(None) => match self.stream.peer_addr() {
                Ok(_) => None,
                Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                    self.write_blocked = true;
                    return Some(Drive::Wait);
                }
                Err(e) => Some(e),
            },
        };
        if let Some(e) = failure {
            io.stats.connect_errors += 1;
            self.fail_connect(&e, io.links, io.now);
            return Some(Drive::Close(CloseReason::ConnectFailed));
        }
        io.stats.connected += 1;
        self.set_state(State::Open);
        self.last_active = io.now;
        let next = self.call_session(io, |s, ctx, out| s.on_connected(ctx, out));
        self.apply(next)
    }

    /// After output is flushed: move `Closing` on to `Draining`, and close a
    /// `PeerClosedRead` connection that owes nothing more.
    /// Returns `true` if draining stopped at the read budget.
    fn settle(&mut self, io: &mut Io<'_>) -> io::Result<bool> {
        if self.pending_output() > 0 || self.waits_for_drain() {
            return Ok(false);
        }
        if matches!(self.state, State::Closing { .. }) {
            match self.stream.shutdown_write() {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotConnected => {}
                Err(e) => return Err(e),
            }
            self.set_state(State::Draining);
            self.mark = io.now;
            self.input = Vec::new();
            if self.read == ReadSide::Eof {
                // Both FINs are exchanged: nothing left to drain.
                self.set_state(State::Closed);
            } else if self.read.is_readable() {
                // Discard what is already there; the next edge handles the rest.
                match self.drain(io)? {
                    Drive::Close(_) => self.set_state(State::Closed),
                    Drive::Again => return Ok(true),
                    Drive::Wait => {}
                }
            }
        }
        Ok(false)
    }

    fn finish_state(&self) -> Drive {
        match self.state {
            State::PeerClosedRead { held: false }
                if self.pending_output() == 0 && !self.waits_for_drain() =>
            {
                Drive::Close(CloseReason::Done)
            }
            State::Closed => Drive::Close(CloseReason::Done),
            _ => Drive::Wait,
        }
    }

    /// Act on a session's decision. `Some` means stop driving and do that.
    fn apply(&mut self, next: Next) -> Option<Drive> {
        match next {
            Next::Read => None,
            Next::Stream => {
                self.flow = Flow::Stream;
                None
            }
            Next::Pause => {
                self.flow = Flow::Pause;
                None
            }
            Next::Close => {
                if self.state != State::Draining {
                    // The session is done: no more callbacks, even on shutdown.
                    self.set_state(State::Closing { by_shutdown: false });
                }
                self.input = Vec::new();
                None
            }
            Next::Abort => Some(Drive::Close(CloseReason::Aborted)),
        }
    }

    fn on_peer_fin(&mut self, io: &mut Io<'_>) -> io::Result<Drive> {
        if self.state == State::Open {
            let input = std::mem::take(&mut self.input);
            let next = self.call_session(io, |s, ctx, out| s.on_peer_closed(ctx, &input, out));
            // `Read`: keep the connection, and the input, until the session
            // decides (a proxy waiting for its upstream).
            let held = next == Next::Read;
            self.set_state(State::PeerClosedRead { held });
            match next {
                Next::Read => self.input = input,
                Next::Stream => self.flow = Flow::Stream,
                // Offer the rest to `on_input` once the output drains, then close.
                Next::Pause => {
                    self.input = input;
                    self.flow = Flow::Pause;
                }
                Next::Close => {}
                Next::Abort => return Ok(Drive::Close(CloseReason::Aborted)),
            }
        }
        self.flush_shared(io)?;
        if matches!(self.state, State::Closing { .. }) {
            self.settle(io)?;
        }
        if self.state == State::Draining {
            // We had already sent FIN, and now the peer's FIN is here: done.
            return Ok(Drive::Close(CloseReason::Done));
        }
        Ok(self.finish_state())
    }
}

#[cfg(test)]
mod size_tests {
    use super::*;

    /// What an idle connection costs in the slab (besides the kernel's socket and
    /// the boxed session): keep it from creeping up unnoticed. (152 bytes before
    /// sessions got a `Ctx`; its id, wake flag and the boxed timer/limit state
    /// added 16; 168 before the socket could be a Unix one: the TCP/Unix
    /// discriminant of `stream::Stream` adds 8 — in debug builds, where mio's
    /// sockets also carry a selector id, that is what this test measures.)
    #[test]
    fn an_idle_connection_stays_small() {
        let size = std::mem::size_of::<Conn>();
        assert!(size <= 176, "Conn is {size} bytes");
    }
}

#[cfg(test)]
mod tests;
