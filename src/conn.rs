//! One TCP connection's state machine.
//!
//! A [`Conn`] owns the socket, the protocol [`Session`], and the only two buffers a
//! connection ever needs: unconsumed input (a partial request) and unsent output
//! (the tail a `write` could not take). Both are empty `Vec`s — no allocation — while
//! the connection is idle; fresh bytes are read into the reactor's shared scratch
//! buffer and replies are written into the reactor's shared output buffer, so a
//! request that arrives whole and is answered at once never allocates per connection.
//!
//! States (see [`State`]): `Open` → (`PeerClosedRead` | `Closing` → `Draining`) →
//! `Closed`. Reads follow mio's edge-triggered contract: once readiness is reported
//! the connection keeps a `readable` flag until a read proves the socket empty, and
//! anything that stops reading early (the per-wake-up budget, backpressure, the
//! input cap) leaves the flag set so reading resumes without waiting for an edge
//! that would never come.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::TcpStream;

use crate::ctx::{ConnId, Ctx, FileRange, Links, OutputLimit};
use crate::service::{Next, Session};
use crate::splice::Pipe;
use crate::stats::Stats;

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
    /// connection closes.
    PeerClosedRead,
    /// We are closing (the session asked, or the server is shutting down): no more
    /// reads are handed to the session; the output is flushed, then writing is shut
    /// down.
    Closing,
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

/// What one read found.
enum ReadResult {
    /// This many bytes, at the front of the scratch buffer.
    Data(usize),
    /// The peer's FIN.
    Eof,
    /// Nothing now (`WouldBlock`).
    Empty,
}

/// One readiness edge, as the poller reports it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Readiness {
    pub(crate) readable: bool,
    pub(crate) read_closed: bool,
    pub(crate) writable: bool,
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
    /// Readiness was reported and no read has since found the socket empty.
    pub(crate) readable: bool,
    /// The peer's FIN (or an error) was reported. Sticky: from then on a short read
    /// no longer proves the socket drained, so reads continue until they return 0.
    read_closed: bool,
    /// A read returned 0: the peer's FIN has been consumed.
    eof: bool,
    /// The last write was short or would block: the send buffer is full, so no
    /// write is attempted until a WRITABLE edge says there is room again.
    write_blocked: bool,
    /// Reading stopped because unsent output passed the high-water mark.
    paused: bool,
    /// Whether the session waits for the pending output to drain, and what it
    /// wants then.
    flow: Flow,
    /// After the peer's FIN the session asked to keep the connection (and its
    /// unconsumed input) open: it closes when the session says so, or on timeout.
    held: bool,
    /// The reactor's `ready` list holds this connection.
    pub(crate) queued: bool,
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
    /// Closing because the reactor shuts down, not because the session asked:
    /// its wakes and timers still reach it, since it may still owe replies (held
    /// until a log was synced, say).
    shutting_down: bool,
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
    queued: u64,
}

/// Output queued behind `Conn::output` once a session sends a file: the file, and
/// what the session wrote after it. The first chunk is always a file (bytes
/// before it are `Conn::output`).
#[derive(Debug)]
enum Chunk {
    File(FileRange),
    Bytes(Vec<u8>),
}

/// Which buffer a session callback writes its output to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OutTarget {
    /// The reactor's shared buffer: nothing is pending.
    Shared,
    /// The connection's own unsent tail.
    Own,
    /// The last chunk of the queue behind a file.
    Queue,
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
            readable: false,
            read_closed: false,
            eof: false,
            write_blocked: false,
            paused: false,
            flow: Flow::Free,
            held: false,
            queued: false,
            last_active: now,
            mark: now,
            armed: None,
            id,
            woken: false,
            shutting_down: false,
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
        let mut ctx = Ctx::new(self.id, io.now, io.links);
        let next = self.session.on_open(&mut ctx, io.out);
        if io.out.is_empty() && next == Next::Read {
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
        matches!(self.state, State::Open | State::PeerClosedRead)
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

    /// The hard and soft limit for pushed output.
    pub(crate) fn push_limit(&self, limits: &Limits) -> OutputLimit {
        self.extra
            .as_ref()
            .and_then(|e| e.push_limit)
            .unwrap_or(limits.push_limit)
    }

    pub(crate) fn set_push_limit(&mut self, limit: OutputLimit) {
        self.extra().push_limit = Some(limit);
    }

    /// Deliver the pushes one loop iteration made to this connection (`ranges` of
    /// the reactor's push buffer `bytes`): when nothing
    /// is queued before them and the socket has room, they go out in one `write` —
    /// a single push straight from the push buffer, several gathered in the
    /// reactor's shared output buffer `gather` (empty between drives); only what
    /// the socket does not take is kept. (One contiguous write,
    /// not a `writev` of the pieces: the kernel's per-segment copy of many small
    /// iovecs costs more than gathering them here.) Returns `Ok(false)` if the
    /// connection is now over its soft limit for longer than allowed.
    pub(crate) fn push_ranges(
        &mut self,
        bytes: &[u8],
        ranges: &[(usize, usize)],
        gather: &mut Vec<u8>,
        limits: &Limits,
        stats: &mut Stats,
        now: Instant,
    ) -> io::Result<bool> {
        let slices = ranges.iter().map(|&(start, end)| &bytes[start..end]);
        if let [(start, end)] = *ranges {
            // One push: written straight from the push buffer, no gathering.
            self.send_or_keep_with(&bytes[start..end], stats, now)?;
        } else if self.pending_output() == 0 && !self.write_blocked {
            debug_assert!(gather.is_empty());
            for s in slices {
                gather.extend_from_slice(s);
            }
            let written = match self.write(gather, stats) {
                Ok(n) => n,
                Err(e) => {
                    gather.clear();
                    return Err(e);
                }
            };
            if written > 0 {
                self.last_active = now;
            }
            if written < gather.len() {
                self.keep_unsent(gather, written);
            }
            gather.clear();
        } else {
            for s in slices {
                self.append_output(s);
            }
        }
        Ok(self.within_soft_limit(limits, now))
    }

    /// Whether unsent output is within the soft push limit, or over it for less
    /// than the allowed time (which starts now if it just went over).
    fn within_soft_limit(&mut self, limits: &Limits, now: Instant) -> bool {
        let limit = self.push_limit(limits);
        if limit.soft == 0 || self.pending_output() <= limit.soft {
            if let Some(extra) = &mut self.extra {
                extra.soft_since = None;
            }
            self.trim_extra();
            return true;
        }
        let since = *self.extra().soft_since.get_or_insert(now);
        now.duration_since(since) < limit.soft_for
    }

    pub(crate) fn wake(&mut self) {
        self.woken = true;
    }

    /// See [`Ctx::set_waiting`](crate::Ctx::set_waiting).
    pub(crate) fn set_waiting(&mut self, waiting: bool) {
        if waiting {
            self.extra().waiting = true;
        } else if let Some(extra) = &mut self.extra {
            extra.waiting = false;
            self.trim_extra();
        }
    }

    fn is_waiting(&self) -> bool {
        self.extra.as_ref().is_some_and(|e| e.waiting)
    }

    pub(crate) fn set_timer(&mut self, at: Instant, token: u64) {
        self.cancel_timer(token);
        self.extra().timers.push((at, token));
    }

    pub(crate) fn cancel_timer(&mut self, token: u64) {
        if let Some(extra) = &mut self.extra {
            extra.timers.retain(|&(_, t)| t != token);
        }
        self.trim_extra();
    }

    /// The earliest of the session's timers, while the session can hear them: a
    /// timer that comes due once the connection is closing is never delivered,
    /// so it must not wake the loop either (it would come due, be passed over
    /// and re-armed, over and over, within one turn).
    fn next_timer(&self) -> Option<Instant> {
        if !self.takes_callbacks() {
            return None;
        }
        let timers = &self.extra.as_ref()?.timers;
        timers.iter().map(|&(at, _)| at).min()
    }

    /// Take one session timer that is due at `now`.
    fn take_due_timer(&mut self, now: Instant) -> Option<u64> {
        let timers = &mut self.extra.as_mut()?.timers;
        let i = timers.iter().position(|&(at, _)| at <= now)?;
        let (_, token) = timers.swap_remove(i);
        self.trim_extra();
        Some(token)
    }

    /// The connection this one relays to and from, if it is linked.
    pub(crate) fn link(&self) -> Option<ConnId> {
        self.extra.as_ref()?.link
    }

    /// Relay between this connection and `peer` from now on: the session hears
    /// nothing more but `on_closed`.
    pub(crate) fn set_link(&mut self, peer: ConnId) {
        self.extra().link = Some(peer);
        self.flow = Flow::Free;
        self.paused = false;
    }

    /// Forget the link (the peer is gone).
    pub(crate) fn unlink(&mut self) {
        if let Some(extra) = &mut self.extra {
            extra.link = None;
        }
    }

    /// Move bytes from this connection to `dst` (its linked peer): what this side
    /// received before the link, then reads until the socket is empty, `dst`'s
    /// unsent output passes the high-water mark, or the read budget is spent. Bytes
    /// go from the shared scratch buffer straight to `dst`'s socket; only what the
    /// socket does not take is kept. Once this side has sent FIN and `dst` has sent
    /// everything, `dst`'s writing half is shut down. Returns `true` if the budget
    /// ran out with more to read.
    pub(crate) fn relay_to(&mut self, dst: &mut Conn<T>, io: &mut Io<'_>) -> io::Result<bool> {
        if dst.pending_output() > 0 {
            dst.flush(io)?;
        }
        if !self.input.is_empty() {
            let input = std::mem::take(&mut self.input);
            self.extra().relayed += input.len() as u64;
            dst.send_or_keep(&input, io)?;
        }
        // Bytes already in our pipe go before anything read now.
        let mut pipe_empty = self.drain_pipe(dst, io)?;
        let mut budget = io.limits.read_budget;
        let mut more = false;
        while self.readable && !self.eof && pipe_empty {
            if dst.pending_output() >= io.limits.high_water {
                if !self.paused {
                    self.paused = true;
                    io.stats.backpressure_pauses += 1;
                }
                break; // resumed when `dst` drains: its WRITABLE edge drives the pair
            }
            self.paused = false;
            if budget == 0 {
                more = true;
                break;
            }
            if self.pipe().is_some() {
                if dst.pending_output() > 0 || dst.write_blocked {
                    break; // what is queued in user space goes first
                }
                let Some(n) = self.splice_in(io)? else {
                    break;
                };
                budget = budget.saturating_sub(n);
                pipe_empty = self.drain_pipe(dst, io)?;
                continue;
            }
            let n = match self.read_some(io)? {
                ReadResult::Data(n) => n,
                ReadResult::Eof | ReadResult::Empty => break,
            };
            budget = budget.saturating_sub(n);
            self.extra().relayed += n as u64;
            let (scratch, rest) = (&*io.scratch, &mut *io.stats);
            dst.send_or_keep_with(&scratch[..n], rest, io.now)?;
            if n == io.scratch.len() && self.stream.socket().is_some() {
                // A full buffer: a bulk transfer. Go on without copying, if a
                // pipe can be had.
                if let Some(pipe) = crate::splice::bulk_pipe() {
                    self.extra().pipe = Some(pipe);
                    io.stats.relay_pipes += 1;
                }
            }
        }
        if self.eof && dst.pending_output() == 0 && pipe_empty && !dst.fin_sent() {
            match dst.stream.shutdown_write() {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotConnected => {}
                Err(e) => return Err(e),
            }
            dst.extra().fin_sent = true;
        }
        Ok(more)
    }

    fn pipe(&mut self) -> Option<&mut Pipe> {
        self.extra.as_mut()?.pipe.as_mut()
    }

    /// Splice what the socket has into our pipe. `None`: nothing now, or FIN.
    fn splice_in(&mut self, io: &mut Io<'_>) -> io::Result<Option<usize>> {
        let Some(extra) = self.extra.as_mut() else {
            return Ok(None);
        };
        let Some(pipe) = extra.pipe.as_mut() else {
            return Ok(None);
        };
        let Some(socket) = self.stream.socket() else {
            return Ok(None);
        };
        io.stats.reads += 1;
        match pipe.fill(socket, SPLICE_MAX)? {
            None => {
                self.readable = false;
                Ok(None)
            }
            Some(0) => {
                self.readable = false;
                self.read_closed = true;
                self.eof = true;
                Ok(None)
            }
            Some(n) => {
                extra.relayed += n as u64;
                io.stats.bytes_in += n as u64;
                self.last_active = io.now;
                Ok(Some(n))
            }
        }
    }

    /// Splice our pipe's bytes into `dst`. Returns whether the pipe is now empty;
    /// if not, `dst`'s send buffer is full and its WRITABLE edge resumes the pair.
    fn drain_pipe(&mut self, dst: &mut Conn<T>, io: &mut Io<'_>) -> io::Result<bool> {
        let Some(pipe) = self.pipe() else {
            return Ok(true);
        };
        if pipe.len() == 0 {
            return Ok(true);
        }
        if dst.write_blocked || dst.pending_output() > 0 {
            return Ok(false);
        }
        let Some(socket) = dst.stream.socket() else {
            return Ok(false);
        };
        io.stats.writes += 1;
        let moved = pipe.drain(socket)?;
        io.stats.bytes_out += moved as u64;
        if moved > 0 {
            dst.last_active = io.now;
        }
        if pipe.len() > 0 {
            dst.write_blocked = true;
            return Ok(false);
        }
        Ok(true)
    }

    /// Both directions are finished: each side sent FIN and its peer has written
    /// everything and shut down writing.
    pub(crate) fn relay_done(&self, peer: &Conn<T>) -> bool {
        self.eof && peer.eof && self.fin_sent() && peer.fin_sent()
    }

    fn fin_sent(&self) -> bool {
        self.extra.as_ref().is_some_and(|e| e.fin_sent)
    }

    /// Write `bytes` now if nothing is queued before them, keep what the socket
    /// does not take.
    fn send_or_keep(&mut self, bytes: &[u8], io: &mut Io<'_>) -> io::Result<()> {
        self.send_or_keep_with(bytes, io.stats, io.now)
    }

    fn send_or_keep_with(
        &mut self,
        bytes: &[u8],
        stats: &mut Stats,
        now: Instant,
    ) -> io::Result<()> {
        if self.pending_output() > 0 || self.write_blocked {
            self.append_output(bytes);
            return Ok(());
        }
        let written = self.write(bytes, stats)?;
        if written > 0 {
            self.last_active = now;
        }
        if written < bytes.len() {
            if self.output.is_empty() {
                self.sent = 0;
            }
            self.output.extend_from_slice(&bytes[written..]);
        }
        Ok(())
    }

    /// Write our own unsent tail (relay path).
    pub(crate) fn flush_tail(&mut self, io: &mut Io<'_>) -> io::Result<()> {
        if self.pending_output() > 0 {
            self.flush(io)?;
        }
        Ok(())
    }

    /// When the reactor must look at this connection again if nothing happens:
    /// its close deadline or a session timer, whichever is first.
    pub(crate) fn wake_at(&self, limits: &Limits) -> Option<Instant> {
        match (self.deadline(limits), self.next_timer()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether a session timer is due or a wake is waiting.
    pub(crate) fn has_callbacks_due(&self, now: Instant) -> bool {
        self.woken || self.next_timer().is_some_and(|at| at <= now)
    }

    pub(crate) fn is_connecting(&self) -> bool {
        self.state == State::Connecting
    }

    /// Record an edge: readable (data, FIN or an error to read), the read side
    /// closed (FIN or error: sticky), writable (room in the send buffer).
    pub(crate) fn on_readiness(&mut self, edge: Readiness) {
        self.readable |= edge.readable;
        self.read_closed |= edge.read_closed;
        if edge.writable {
            self.write_blocked = false;
        }
    }

    /// Output owed and not yet sent: unsent bytes and the files queued behind them.
    /// What the transport holds itself (TLS records) counts as one byte: its size
    /// is bounded by the transport, and only whether it is empty matters here.
    pub(crate) fn pending_output(&self) -> usize {
        let queued = self.extra.as_ref().map_or(0, |e| e.queued);
        (self.output.len() - self.sent)
            .saturating_add(usize::try_from(queued).unwrap_or(usize::MAX))
            .saturating_add(usize::from(self.stream.has_buffered_output()))
    }

    /// A handshake (TLS) is still running.
    pub(crate) fn handshaking(&self) -> bool {
        self.stream.handshaking()
    }

    /// Output bytes held in memory (the files being sent are not).
    pub(crate) fn buffered_output(&self) -> usize {
        let queued = self.extra.as_ref().map_or(0, |e| {
            e.queue
                .iter()
                .map(|c| match c {
                    Chunk::Bytes(b) => b.len(),
                    Chunk::File(_) => 0,
                })
                .sum()
        });
        self.output.len() - self.sent + queued
    }

    /// Whether output is queued behind a file.
    fn has_queue(&self) -> bool {
        self.extra.as_ref().is_some_and(|e| !e.queue.is_empty())
    }

    /// Where a session callback's output goes now: behind everything pending.
    fn out_target(&self) -> OutTarget {
        if self.has_queue() {
            OutTarget::Queue
        } else if self.output.is_empty() {
            OutTarget::Shared
        } else {
            OutTarget::Own
        }
    }

    /// The buffer for `target` (see [`Conn::out_target`]).
    fn out_buf<'b>(
        output: &'b mut Vec<u8>,
        extra: &'b mut Option<Box<Extra>>,
        shared: &'b mut Vec<u8>,
        target: OutTarget,
    ) -> &'b mut Vec<u8> {
        match target {
            OutTarget::Shared => shared,
            OutTarget::Own => output,
            OutTarget::Queue => {
                let extra = extra.get_or_insert_with(Box::default);
                if !matches!(extra.queue.back(), Some(Chunk::Bytes(_))) {
                    extra.queue.push_back(Chunk::Bytes(Vec::new()));
                }
                match extra.queue.back_mut() {
                    Some(Chunk::Bytes(bytes)) => bytes,
                    _ => unreachable!("a bytes chunk was just pushed"),
                }
            }
        }
    }

    /// Append bytes behind everything this connection owes.
    fn append_output(&mut self, bytes: &[u8]) {
        if self.has_queue() {
            let mut empty = Vec::new();
            Self::out_buf(
                &mut self.output,
                &mut self.extra,
                &mut empty,
                OutTarget::Queue,
            )
            .extend_from_slice(bytes);
            self.extra().queued += bytes.len() as u64;
        } else {
            self.output.extend_from_slice(bytes);
        }
    }

    /// After a session callback that wrote to `target`: account for what it wrote
    /// behind a file, and queue the files it asked to send, each at its place in
    /// that output.
    fn settle_output(&mut self, io: &mut Io<'_>, target: OutTarget, queue_len_before: usize) {
        if target == OutTarget::Queue {
            let extra = self.extra();
            if let Some(Chunk::Bytes(bytes)) = extra.queue.back() {
                let grown = bytes.len().saturating_sub(queue_len_before);
                extra.queued += grown as u64;
            }
        }
        if io.links.files.is_empty() {
            return;
        }
        let files = std::mem::take(&mut io.links.files);
        let buf = Self::out_buf(&mut self.output, &mut self.extra, io.out, target);
        let base = if target == OutTarget::Queue {
            queue_len_before
        } else {
            0
        };
        // Positions were recorded in this buffer; anything out of order (the
        // session shrank its buffer) is clamped so bytes are never lost or repeated.
        let first = files[0].at.clamp(base, buf.len());
        let tail = buf.split_off(first);
        let mut chunks = Vec::with_capacity(2 * files.len());
        let mut done = first;
        for file in files {
            let at = file.at.clamp(done, first + tail.len());
            if at > done {
                chunks.push(Chunk::Bytes(tail[done - first..at - first].to_vec()));
            }
            done = at;
            chunks.push(Chunk::File(file.range));
        }
        if done < first + tail.len() {
            chunks.push(Chunk::Bytes(tail[done - first..].to_vec()));
        }
        if target == OutTarget::Shared {
            // The bytes before the first file are this connection's to send now.
            self.keep_unsent(io.out, 0);
        }
        let extra = self.extra();
        if target == OutTarget::Queue {
            // The queue's last chunk was the buffer just split: what moved out of
            // it into new chunks is counted again below.
            extra.queued -= (tail.len()) as u64;
            if matches!(extra.queue.back(), Some(Chunk::Bytes(b)) if b.is_empty()) {
                extra.queue.pop_back();
            }
        }
        for chunk in chunks {
            extra.queued += match &chunk {
                Chunk::Bytes(b) => b.len() as u64,
                Chunk::File(f) => f.len,
            };
            extra.queue.push_back(chunk);
        }
    }

    /// When this connection must be closed if nothing happens before.
    pub(crate) fn deadline(&self, limits: &Limits) -> Option<Instant> {
        match self.state {
            State::Closed => None,
            State::Connecting => Some(self.mark + limits.connect_timeout),
            State::Draining => Some(self.mark + limits.linger_timeout),
            // Finishing replies to a peer that has stopped reading them must not
            // hold the slot forever, even with no idle timeout configured.
            State::Closing | State::PeerClosedRead => {
                Some(self.last_active + limits.idle_timeout.unwrap_or(STALLED_CLOSE_TIMEOUT))
            }
            // Waiting on other connections (a subscriber, a blocked client):
            // silence is expected.
            State::Open if self.is_waiting() => None,
            // A TLS handshake that does not finish in time (slowloris on the
            // handshake) ends, whatever the idle timeout.
            State::Open if self.stream.handshaking() => {
                let handshake = self.mark + limits.handshake_timeout;
                Some(match limits.idle_timeout {
                    Some(t) => handshake.min(self.last_active + t),
                    None => handshake,
                })
            }
            // A partial request we are reading (not one we stopped reading because
            // of backpressure or a stream): the request timeout runs from its first
            // byte and is not extended by further dribbles (slowloris); the idle
            // timeout still applies if it is shorter.
            _ if !self.input.is_empty() && !self.paused && !self.waits_for_drain() => {
                let request = limits.request_timeout.map(|t| self.mark + t);
                let idle = limits.idle_timeout.map(|t| self.last_active + t);
                match (request, idle) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            }
            _ => limits.idle_timeout.map(|t| self.last_active + t),
        }
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
        if matches!(self.state, State::Open | State::PeerClosedRead) {
            self.set_state(State::Closing);
            self.shutting_down = true;
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
                    let target = self.out_target();
                    let out = Self::out_buf(&mut self.output, &mut self.extra, io.out, target);
                    let out_before = out.len();
                    let mut ctx = Ctx::new(self.id, io.now, io.links);
                    let next = self.session.produce(&mut ctx, out);
                    self.settle_output(io, target, out_before);
                    next
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
            if self.paused && self.pending_output() + io.out.len() < io.limits.low_water {
                self.paused = false;
            }
            if !self.readable {
                break;
            }
            match self.state {
                State::Open if !self.paused && !self.waits_for_drain() => {}
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
                self.paused = true;
                io.stats.backpressure_pauses += 1;
                self.flush_shared(io)?;
            }
        }
        self.flush_shared(io)?;
        // The flush may have made room that no WRITABLE edge will report.
        again |= self.waits_for_drain() && self.pending_output() < io.limits.low_water;
        if self.paused && self.pending_output() < io.limits.low_water {
            self.paused = false;
            again |= self.readable;
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
            let target = self.out_target();
            let out = Self::out_buf(&mut self.output, &mut self.extra, io.out, target);
            let out_before = out.len();
            let mut ctx = Ctx::new(self.id, io.now, io.links);
            let next = self.session.on_wake(&mut ctx, out);
            self.settle_output(io, target, out_before);
            if let Some(drive) = self.apply(next) {
                return Some(drive);
            }
        }
        while let Some(token) = self.take_due_timer(io.now) {
            let target = self.out_target();
            let out = Self::out_buf(&mut self.output, &mut self.extra, io.out, target);
            let out_before = out.len();
            let mut ctx = Ctx::new(self.id, io.now, io.links);
            let next = self.session.on_timer(&mut ctx, token, out);
            self.settle_output(io, target, out_before);
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
            State::Open | State::PeerClosedRead => true,
            State::Closing => self.shutting_down,
            _ => false,
        }
    }

    /// One `read` into the shared scratch buffer, with its bookkeeping.
    /// One read (see [`Conn::read_plain`]), and the TLS handshake's end if it
    /// brought it: output the session wrote meanwhile may go now.
    fn read_some(&mut self, io: &mut Io<'_>) -> io::Result<ReadResult> {
        if !self.stream.handshaking() {
            return self.read_plain(io);
        }
        let result = self.read_plain(io);
        if !self.stream.handshaking() {
            io.stats.tls_handshakes += 1;
            // Writes refused during the handshake left the flag set with no
            // WRITABLE edge to come.
            self.write_blocked = false;
        } else if matches!(result, Ok(ReadResult::Eof)) {
            log::debug!("conn {}: closed during the TLS handshake", self.id);
            io.stats.tls_handshake_errors += 1;
        }
        result
    }

    fn read_plain(&mut self, io: &mut Io<'_>) -> io::Result<ReadResult> {
        loop {
            io.stats.reads += 1;
            let n = match self.stream.read(io.scratch) {
                Ok(0) => {
                    self.readable = false;
                    self.read_closed = true;
                    self.eof = true;
                    return Ok(ReadResult::Eof);
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.readable = false;
                    return Ok(ReadResult::Empty);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            io.stats.bytes_in += n as u64;
            self.last_active = io.now;
            // On a Linux stream socket a read that returns less than was asked for
            // means the receive queue was empty at that moment, and any byte that
            // arrives later raises a new edge: we may skip the read that would only
            // return WouldBlock (as tokio does). Not once FIN or an error was
            // reported: that edge has already fired, so read on until 0. (TCP
            // urgent data can also cut a read short; evloop's protocols do not use
            // it, and a peer that sends it only stalls its own connection.)
            if n < io.scratch.len() && !self.read_closed {
                self.readable = false;
            }
            return Ok(ReadResult::Data(n));
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
        let target = self.out_target();
        let out = Self::out_buf(&mut self.output, &mut self.extra, io.out, target);
        let out_before = out.len();
        let mut ctx = Ctx::new(self.id, io.now, io.links);
        let next = self.session.on_connected(&mut ctx, out);
        self.settle_output(io, target, out_before);
        self.apply(next)
    }

    /// After output is flushed: move `Closing` on to `Draining`, and close a
    /// `PeerClosedRead` connection that owes nothing more.
    /// Returns `true` if draining stopped at the read budget.
    fn settle(&mut self, io: &mut Io<'_>) -> io::Result<bool> {
        if self.pending_output() > 0 || self.waits_for_drain() {
            return Ok(false);
        }
        if self.state == State::Closing {
            match self.stream.shutdown_write() {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotConnected => {}
                Err(e) => return Err(e),
            }
            self.set_state(State::Draining);
            self.mark = io.now;
            self.input = Vec::new();
            if self.eof {
                // Both FINs are exchanged: nothing left to drain.
                self.set_state(State::Closed);
            } else if self.readable {
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
            State::PeerClosedRead
                if self.pending_output() == 0 && !self.waits_for_drain() && !self.held =>
            {
                Drive::Close(CloseReason::Done)
            }
            State::Closed => Drive::Close(CloseReason::Done),
            _ => Drive::Wait,
        }
    }

    /// Read and discard until EOF or `WouldBlock`, at most `read_budget` bytes per
    /// wake-up. There is no byte cap: the linger deadline bounds a peer that keeps
    /// sending, and closing earlier would RST replies it has not read yet.
    fn drain(&mut self, io: &mut Io<'_>) -> io::Result<Drive> {
        let mut budget = io.limits.read_budget;
        loop {
            if budget == 0 {
                return Ok(Drive::Again);
            }
            io.stats.reads += 1;
            match self.stream.read(io.scratch) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(Drive::Close(CloseReason::Done));
                }
                Ok(n) => {
                    io.stats.bytes_in += n as u64;
                    budget = budget.saturating_sub(n);
                    if n < io.scratch.len() && !self.read_closed {
                        self.readable = false; // short read: see drive_inner
                        return Ok(Drive::Wait);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.readable = false;
                    return Ok(Drive::Wait);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // The peer reset after our FIN: nothing is lost, it has all we sent
                // or has given up on it.
                Err(_) => return Ok(Drive::Close(CloseReason::Done)),
            }
        }
    }

    /// Whether input left behind a finished stream may still go to the session.
    /// `Closing` qualifies: on shutdown, complete requests already received are
    /// answered (a session's own `Close` clears the input instead).
    fn accepts_requests(&self) -> bool {
        matches!(
            self.state,
            State::Open | State::PeerClosedRead | State::Closing
        )
    }

    /// Hand `io.scratch[..n]` (fresh bytes) to the session, together with any
    /// partial request kept from before.
    fn feed_scratch(&mut self, io: &mut Io<'_>, n: usize) -> io::Result<Option<Drive>> {
        if self.input.is_empty() {
            self.mark = io.now;
            let target = self.out_target();
            let out = Self::out_buf(&mut self.output, &mut self.extra, io.out, target);
            let out_before = out.len();
            let mut ctx = Ctx::new(self.id, io.now, io.links);
            let step = self.session.on_input(&mut ctx, &io.scratch[..n], out);
            self.settle_output(io, target, out_before);
            let consumed = step.consumed.min(n);
            if consumed < n {
                self.input.extend_from_slice(&io.scratch[consumed..n]);
            }
            Ok(self.apply(step.next))
        } else {
            let mut input = std::mem::take(&mut self.input);
            input.extend_from_slice(&io.scratch[..n]);
            Ok(self.feed(io, input))
        }
    }

    /// Hand `input` (everything unconsumed) to the session; keep what it leaves.
    fn feed(&mut self, io: &mut Io<'_>, mut input: Vec<u8>) -> Option<Drive> {
        let target = self.out_target();
        let out = Self::out_buf(&mut self.output, &mut self.extra, io.out, target);
        let out_before = out.len();
        let mut ctx = Ctx::new(self.id, io.now, io.links);
        let step = self.session.on_input(&mut ctx, &input, out);
        self.settle_output(io, target, out_before);
        let consumed = step.consumed.min(input.len());
        if consumed == input.len() {
            self.input = Vec::new();
        } else {
            if consumed > 0 {
                // The leftover is the start of a new partial request.
                input.drain(..consumed);
                self.mark = io.now;
            }
            self.input = input;
        }
        self.apply(step.next)
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
                    self.set_state(State::Closing);
                }
                self.shutting_down = false; // the session is done: no more callbacks
                self.input = Vec::new();
                None
            }
            Next::Abort => Some(Drive::Close(CloseReason::Aborted)),
        }
    }

    fn on_peer_fin(&mut self, io: &mut Io<'_>) -> io::Result<Drive> {
        if self.state == State::Open {
            let input = std::mem::take(&mut self.input);
            let target = self.out_target();
            let out = Self::out_buf(&mut self.output, &mut self.extra, io.out, target);
            let out_before = out.len();
            let mut ctx = Ctx::new(self.id, io.now, io.links);
            let next = self.session.on_peer_closed(&mut ctx, &input, out);
            self.settle_output(io, target, out_before);
            self.set_state(State::PeerClosedRead);
            match next {
                // Keep the connection, and the input, until the session decides
                // (a proxy waiting for its upstream).
                Next::Read => {
                    self.input = input;
                    self.held = true;
                }
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
        if self.state == State::Closing {
            self.settle(io)?;
        }
        if self.state == State::Draining {
            // We had already sent FIN, and now the peer's FIN is here: done.
            return Ok(Drive::Close(CloseReason::Done));
        }
        Ok(self.finish_state())
    }

    /// Write the shared output buffer (or our own tail, if one exists).
    fn flush_shared(&mut self, io: &mut Io<'_>) -> io::Result<()> {
        if self.pending_output() > 0 {
            return self.flush(io);
        }
        if io.out.is_empty() {
            return Ok(());
        }
        if self.write_blocked {
            self.keep_unsent(io.out, 0);
            return Ok(());
        }
        let written = self.write(io.out.as_slice(), io.stats)?;
        if written > 0 {
            self.last_active = io.now;
        }
        if written < io.out.len() {
            self.keep_unsent(io.out, written);
        }
        io.out.clear();
        Ok(())
    }

    /// Move the unsent part of the shared buffer into this connection's own tail.
    fn keep_unsent(&mut self, out: &mut Vec<u8>, written: usize) {
        if self.has_queue() {
            self.append_output(&out[written..]);
        } else if self.output.is_empty() {
            // Take the shared buffer's allocation instead of copying into a new one.
            std::mem::swap(&mut self.output, out);
            self.sent = written;
        } else {
            self.output.extend_from_slice(&out[written..]);
        }
        out.clear();
    }

    /// Write our own tail, then what is queued behind it, until the socket is full
    /// or everything is sent.
    fn flush(&mut self, io: &mut Io<'_>) -> io::Result<()> {
        if !self.flush_transport(io.stats)? {
            return Ok(());
        }
        loop {
            if self.write_blocked {
                return Ok(());
            }
            if self.sent < self.output.len() {
                // A file next: the kernel may hold a partial segment for it.
                let more = matches!(
                    self.extra.as_ref().and_then(|e| e.queue.front()),
                    Some(Chunk::File(_))
                );
                let output = std::mem::take(&mut self.output);
                let written = self.write_with(&output[self.sent..], io.stats, more);
                self.output = output;
                let written = written?;
                if written > 0 {
                    self.last_active = io.now;
                }
                self.sent += written;
                if self.sent < self.output.len() {
                    if self.sent > self.output.len() / 2 && self.sent > 64 * 1024 {
                        self.output.drain(..self.sent);
                        self.sent = 0;
                    }
                    return Ok(());
                }
            }
            self.output = Vec::new();
            self.sent = 0;
            let Some(extra) = self.extra.as_mut() else {
                return Ok(());
            };
            match extra.queue.pop_front() {
                None => {
                    self.trim_extra();
                    return Ok(());
                }
                Some(Chunk::Bytes(bytes)) => {
                    extra.queued -= bytes.len() as u64;
                    self.output = bytes;
                }
                Some(Chunk::File(mut range)) => {
                    let before = range.len;
                    let result = self.send_file_part(&mut range, io);
                    let extra = self.extra();
                    extra.queued -= before - range.len;
                    if range.len > 0 {
                        extra.queue.push_front(Chunk::File(range));
                    }
                    result?;
                }
            }
        }
    }

    /// Send as much of `range` as the socket takes now: with `sendfile(2)` if the
    /// transport is a kernel socket, else read into the scratch buffer and written
    /// (what the socket does not take of that becomes our tail, before the rest of
    /// the file). A file shorter than the range is an error.
    fn send_file_part(&mut self, range: &mut FileRange, io: &mut Io<'_>) -> io::Result<()> {
        while range.len > 0 && !self.write_blocked {
            if let Some(socket) = self.stream.socket() {
                let count = range.len.min(crate::sendfile::SENDFILE_MAX) as usize;
                io.stats.writes += 1;
                match crate::sendfile::send_file(socket, &range.file, &mut range.offset, count) {
                    Ok(0) => return Err(file_shrank()),
                    // A short count may mean a full send buffer or the file's end
                    // (it shrank): only the next call tells which. Taking it for a
                    // full buffer could wait forever for a WRITABLE edge that the
                    // kernel raises only after a send found no room.
                    Ok(n) => {
                        range.len -= n as u64;
                        io.stats.bytes_out += n as u64;
                        io.stats.file_bytes += n as u64;
                        self.last_active = io.now;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.write_blocked = true,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) if e.kind() == io::ErrorKind::Unsupported => {
                        return self.copy_file_part(range, io)
                    }
                    Err(e) => return Err(e),
                }
            } else {
                return self.copy_file_part(range, io);
            }
        }
        Ok(())
    }

    /// The copying path of [`Conn::send_file_part`].
    fn copy_file_part(&mut self, range: &mut FileRange, io: &mut Io<'_>) -> io::Result<()> {
        use std::os::unix::fs::FileExt;
        while range.len > 0 && !self.write_blocked {
            let want = range.len.min(io.scratch.len() as u64) as usize;
            let got = match range.file.read_at(&mut io.scratch[..want], range.offset) {
                Ok(0) => return Err(file_shrank()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            range.offset += got as u64;
            range.len -= got as u64;
            io.stats.file_bytes += got as u64;
            let written = self.write_with(&io.scratch[..got], io.stats, range.len > 0)?;
            if written > 0 {
                self.last_active = io.now;
            }
            if written < got {
                debug_assert!(self.output.is_empty());
                self.output.extend_from_slice(&io.scratch[written..got]);
                self.sent = 0;
            }
        }
        Ok(())
    }

    /// Write as much of `buf` as the socket takes now. A short write means the
    /// send buffer is full, so we stop there (and write nothing more until a
    /// WRITABLE edge) instead of making a call that would only return `WouldBlock`.
    /// Write what the transport holds itself (TLS records) first. Returns whether
    /// the socket may take more.
    fn flush_transport(&mut self, stats: &mut Stats) -> io::Result<bool> {
        while self.stream.has_buffered_output() && !self.write_blocked {
            stats.writes += 1;
            match self.stream.flush() {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.write_blocked = true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(!self.write_blocked)
    }

    fn write(&mut self, buf: &[u8], stats: &mut Stats) -> io::Result<usize> {
        self.write_with(buf, stats, false)
    }

    /// [`Conn::write`], with `MSG_MORE` if `more` follows at once.
    fn write_with(&mut self, buf: &[u8], stats: &mut Stats, more: bool) -> io::Result<usize> {
        let mut written = 0;
        while written < buf.len() {
            stats.writes += 1;
            let result = if more {
                self.stream.write_more(&buf[written..])
            } else {
                self.stream.write(&buf[written..])
            };
            match result {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    written += n;
                    stats.bytes_out += n as u64;
                    if written < buf.len() {
                        self.write_blocked = true;
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.write_blocked = true;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        // The transport took everything but could not write all of it (TLS
        // records queued): the socket is full.
        if self.stream.has_buffered_output() {
            self.write_blocked = true;
        }
        Ok(written)
    }
}

/// A queued file turned out shorter than its range.
fn file_shrank() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "file shrank while being sent")
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
