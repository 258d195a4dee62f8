//! The seam between the reactor and protocols.
//!
//! Protocol code in evloop is *sans-I/O*: it never sees a socket. The reactor reads
//! bytes, hands them to a [`Session`] together with an output buffer, writes whatever
//! the session appended, and does what the returned [`Next`] asks. That keeps every
//! protocol testable byte by byte with plain slices, and keeps every syscall below
//! the seam — in the reactor (poll, accept, register) and the transports under
//! the connections (`stream.rs`, `tls.rs`, `udp.rs`, `splice.rs`, `sendfile.rs`)
//! — where it can be counted, and where the simulator (`sim`) replaces it.
//!
//! A [`StreamService`] is bound to one or more TCP or Unix-domain listeners and opens one
//! [`Session`] per accepted connection. State shared by all sessions of a service
//! (a key-value store, a cached `Date` header) lives in the service and is handed to
//! sessions as an `Rc`: the reactor is single-threaded, so no locks are needed.
//! A [`DatagramService`] answers UDP datagrams one at a time.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

pub use crate::ctx::{ConnId, Ctx, Detached, FileRange, OutputLimit, PushError};

/// What a session wants the reactor to do after it handled some input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Keep the connection open and keep reading.
    Read,
    /// The session has more output than it wrote now (a file being streamed, say).
    /// The reactor calls [`Session::produce`] each time the pending output falls
    /// below the low-water mark, until `produce` returns something else; then the
    /// input left unconsumed meanwhile is offered to [`Session::on_input`] again.
    Stream,
    /// The session has written enough for now and left the rest of its input
    /// unconsumed (a pipeline whose replies reached the session's output batch).
    /// Nothing more is read or handed to the session until the pending output has
    /// drained below the low-water mark; then the unconsumed input is offered to
    /// [`Session::on_input`] again. Returned from [`Session::on_wake`] or
    /// [`Session::on_timer`], it hands back the input that waited meanwhile (a
    /// client that was blocked on another connection). Returned from
    /// [`Session::on_peer_closed`], the remaining input goes to `on_input` the same
    /// way before the connection closes.
    Pause,
    /// Stop reading; send everything already written to `out`, then close the
    /// connection gracefully (FIN after the last byte).
    Close,
    /// Close at once, dropping any unsent output.
    Abort,
}

/// The result of [`Session::on_input`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// How many bytes from the front of `input` the session is done with. The rest is
    /// kept by the reactor and offered again, with any new bytes appended, next time.
    pub consumed: usize,
    /// What to do next.
    pub next: Next,
}

impl Step {
    /// Consumed `consumed` bytes; keep reading.
    pub fn read(consumed: usize) -> Step {
        Step {
            consumed,
            next: Next::Read,
        }
    }
}

/// One connection's protocol state machine.
///
/// The reactor guarantees: `input` always starts at the first byte not yet consumed
/// and is offered again whenever new bytes arrive; output appended to `out` is sent in
/// order; no method but [`Session::on_closed`] is called after one of them returned
/// [`Next::Close`] or [`Next::Abort`].
///
/// Every method gets a [`Ctx`]: the connection's id, the time, and the requests that
/// reach other connections (push, wake) and timers.
pub trait Session {
    /// An accepted connection is open: append a greeting to `out`, note
    /// [`Ctx::id`] wherever other connections should find this one. Not called for
    /// outbound connections (they hear [`Session::on_connected`]).
    fn on_open(&mut self, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Next {
        let _ = (ctx, out);
        Next::Read
    }

    /// New bytes arrived. `input` is everything received and not yet consumed.
    /// Append replies to `out` (never clear it: it may hold earlier unsent output).
    ///
    /// A session must bound what it leaves unconsumed (a maximum request size) and
    /// reject larger requests itself; the reactor's own input cap only stops reading
    /// from the peer until the session consumes something.
    ///
    /// A session should also bound the output of one call (the HTTP and RESP
    /// sessions stop after about 64–256 KiB): leave the remaining requests
    /// unconsumed and return [`Next::Pause`]. The reactor sends what was produced
    /// and offers the remaining input again once the output has drained below the
    /// low-water mark — so a pipeline of large replies to a client that does not
    /// read cannot grow the server's memory.
    fn on_input(&mut self, ctx: &mut Ctx<'_>, input: &[u8], out: &mut Vec<u8>) -> Step;

    /// Called after [`Next::Stream`] whenever the pending output dropped below the
    /// low-water mark. Append more output and say whether more is to come.
    fn produce(&mut self, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Next {
        let _ = (ctx, out);
        Next::Read
    }

    /// An outbound connection opened with
    /// [`Reactor::connect`](crate::Reactor::connect) is established: append the
    /// first request(s) to `out`. Not called for accepted connections.
    fn on_connected(&mut self, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Next {
        let _ = (ctx, out);
        Next::Read
    }

    /// An outbound connection could not be established (refused, unreachable,
    /// timed out after [`Config::connect_timeout`](crate::Config::connect_timeout)).
    /// No other method is called afterwards.
    fn on_connect_failed(&mut self, ctx: &mut Ctx<'_>, error: &std::io::Error) {
        let _ = (ctx, error);
    }

    /// The peer shut down its sending half (FIN). `input` holds the bytes received
    /// but not consumed (an incomplete request). Whatever is appended to `out` is
    /// sent, and then, as the returned [`Next`] says: `Close` (the default) closes
    /// the connection after that flush; `Stream` finishes a stream first; `Read`
    /// keeps the connection and its unconsumed input until the session acts from
    /// another callback (it is woken, a timer fires, or it is linked — a proxy
    /// whose upstream is still connecting) or a timeout closes it; `Abort` closes at
    /// once.
    fn on_peer_closed(&mut self, ctx: &mut Ctx<'_>, input: &[u8], out: &mut Vec<u8>) -> Next {
        let _ = (ctx, input, out);
        Next::Close
    }

    /// Another connection called [`Ctx::wake`] on this one. Append output to `out`
    /// (a blocked client's reply, say).
    fn on_wake(&mut self, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Next {
        let _ = (ctx, out);
        Next::Read
    }

    /// A timer set with [`Ctx::set_timer`] is due.
    fn on_timer(&mut self, ctx: &mut Ctx<'_>, token: u64, out: &mut Vec<u8>) -> Next {
        let _ = (ctx, token, out);
        Next::Read
    }

    /// The connection is closed, for whatever reason (the session asked, the peer
    /// left, an error, a timeout, an output limit, shutdown). Nothing more can be
    /// written to it, but the session may still push to others (a chat's leave
    /// notice) and must forget what it registered elsewhere. Called once, last.
    fn on_closed(&mut self, ctx: &mut Ctx<'_>) {
        let _ = ctx;
    }
}

/// A protocol served on TCP listeners: a factory of sessions plus shared state.
pub trait StreamService {
    /// A connection from `peer` was accepted.
    fn open(&mut self, peer: SocketAddr) -> Box<dyn Session>;

    /// A connection on a Unix-domain listener was accepted. Its peer has no
    /// address (clients do not bind their end), so by default the session is
    /// opened as [`StreamService::open`] opens one from the unspecified address
    /// `0.0.0.0:0`; a service that tells the two apart overrides this.
    fn open_unix(&mut self) -> Box<dyn Session> {
        self.open(SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// The most input a session of this service may leave unconsumed while it
    /// waits for the rest of a request (its largest request head, line or query
    /// buffer). The reactor raises its own input cap
    /// ([`Config::max_input`](crate::Config::max_input)) to at least this when the
    /// service is added, so the session's limit — and its error reply — comes
    /// first, and no application has to patch the reactor's configuration to fit
    /// its protocol.
    fn max_unconsumed(&self) -> usize {
        0
    }

    /// If `Some`, the reactor calls [`StreamService::on_tick`] at this interval
    /// (housekeeping: refresh a cached `Date` header, expire keys).
    fn tick_interval(&self) -> Option<Duration> {
        None
    }

    /// Periodic housekeeping; see [`StreamService::tick_interval`].
    fn on_tick(&mut self, now: Instant) {
        let _ = now;
    }

    /// Periodic housekeeping that may reach connections: what the reactor
    /// calls at each tick. `ctx` belongs to no connection ([`Ctx::id`] is
    /// detached); its pushes and wakes reach the connections named, as a
    /// session's do (a key-value store's expiry cycle tells subscribers which
    /// keys expired). By default it calls [`StreamService::on_tick`].
    fn on_tick_with(&mut self, now: Instant, ctx: &mut Ctx<'_>) {
        let _ = ctx;
        self.on_tick(now);
    }

    /// Called once per loop iteration, after every ready connection has been
    /// driven and due timers have fired, and before the pushes planned in the
    /// iteration are delivered and the reactor polls again (Redis's
    /// `beforeSleep`). Work batched per iteration goes here: a log written and
    /// synced once for all the writes of every session in the iteration (group
    /// commit).
    ///
    /// A session that must not release its replies before that work is done
    /// holds them and wakes itself ([`Ctx::wake`] with [`Ctx::id`]); wakes are
    /// never delivered before this call. Return `true` when connections may be
    /// waiting for what this call did: the reactor then drives the connections
    /// already queued (those wakes among them) at once, before it polls, so the
    /// held replies leave in this iteration; `false` leaves them for the next.
    /// Keep it short — it runs on the loop thread between every two polls.
    fn before_poll(&mut self, now: Instant) -> bool {
        let _ = now;
        false
    }

    /// True while the service has work left for its next
    /// [`StreamService::before_poll`] (a file rewritten a slice per iteration):
    /// the reactor then polls without waiting, so the next call comes as soon as
    /// the ready events are handled, instead of at the next event or timer.
    fn busy(&self) -> bool {
        false
    }
}

/// Replies produced for one datagram, each with its destination. The reactor
/// reuses one `Datagrams` for every datagram (it gathers the replies to one batch
/// of received datagrams, to send them in one call), so queuing a reply does not
/// allocate once the buffer has grown.
#[derive(Debug, Default)]
pub struct Datagrams {
    bytes: Vec<u8>,
    items: Vec<(usize, usize, SocketAddr)>,
}

impl Datagrams {
    /// Queue `payload` to be sent to `to`.
    pub fn send(&mut self, payload: &[u8], to: SocketAddr) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(payload);
        self.items.push((start, payload.len(), to));
    }

    /// The replies queued so far, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], SocketAddr)> {
        self.items
            .iter()
            .map(|&(start, len, to)| (&self.bytes[start..start + len], to))
    }

    /// The queued payloads' bytes, back to back, and each one's (start, length,
    /// destination).
    pub(crate) fn parts(&self) -> (&[u8], &[(usize, usize, SocketAddr)]) {
        (&self.bytes, &self.items)
    }

    /// Forget every queued reply, keeping the allocation.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.items.clear();
    }
}

/// A protocol served on a UDP socket — a server answering datagrams, or a client
/// that sends first (from [`DatagramService::on_start`]) and on a timer.
pub trait DatagramService {
    /// One datagram arrived from `from`; queue any replies in `out`.
    fn on_datagram(&mut self, data: &[u8], from: SocketAddr, out: &mut Datagrams);

    /// The socket was just added to the reactor: queue any first datagrams (a
    /// client's initial requests).
    fn on_start(&mut self, out: &mut Datagrams) {
        let _ = out;
    }

    /// If `Some`, the reactor calls [`DatagramService::on_tick`] at this interval.
    fn tick_interval(&self) -> Option<Duration> {
        None
    }

    /// Periodic work (a client re-sending what was lost, say); queue datagrams in
    /// `out`.
    fn on_tick(&mut self, now: Instant, out: &mut Datagrams) {
        let _ = (now, out);
    }
}
