//! The protocol-independent half of a load-generating client.
//!
//! Every TCP mode works the same way: once connected, keep `--pipeline` requests
//! in flight, timestamp each as it is appended to the output buffer, match replies
//! to requests in order, record each reply's latency or count it as an error, and
//! refill the window. With `--rate` the window is only a cap: requests leave on
//! a fixed schedule (see [`Pace`]) whether or not replies have come back, and each
//! latency counts from when its request was *meant* to leave, so a server that
//! stalls cannot hide the stall by slowing the generator down (coordinated
//! omission). Only two things differ between protocols — how a request is
//! written and how a reply is recognised and checked — so that is the [`Protocol`]
//! trait, and [`Client`] is the one [`Session`] that drives any of them. [`Control`]
//! is what all threads share (when to stop, how many requests are left, live
//! counters for the progress line); [`Results`] is what one reactor thread
//! accumulates without locks and hands back when it is done.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use evloop::{Next, Session, Step};
use hdrhistogram::Histogram;

/// State shared by every session on every thread. Counters are relaxed atomics:
/// they are bumped once per batch of replies, not per byte.
pub struct Control {
    /// When the run started (connections are opened right after).
    pub start: Instant,
    stop: AtomicBool,
    stopped_at: OnceLock<Instant>,
    /// `--requests`: tickets not yet handed out, and the total.
    tickets: Option<(AtomicU64, u64)>,
    /// Requests finished (verified, failed or lost), for `--requests`.
    finished: AtomicU64,
    /// Sessions (TCP connections) still alive; the run stops when none is.
    live: AtomicUsize,
    /// For the progress line only; the report uses [`Results`].
    pub progress_requests: AtomicU64,
    /// For the progress line only.
    pub progress_errors: AtomicU64,
}

impl Control {
    /// A run of `requests` in total (or unbounded) over `sessions` TCP sessions.
    pub fn new(requests: Option<u64>, sessions: usize) -> Control {
        Control {
            start: Instant::now(),
            stop: AtomicBool::new(false),
            stopped_at: OnceLock::new(),
            tickets: requests.map(|n| (AtomicU64::new(n), n)),
            finished: AtomicU64::new(0),
            live: AtomicUsize::new(sessions),
            progress_requests: AtomicU64::new(0),
            progress_errors: AtomicU64::new(0),
        }
    }

    /// Whether the run is over: nothing is sent and nothing counted after this.
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// End the run now (the first call fixes the measured duration).
    pub fn request_stop(&self) {
        let _ = self.stopped_at.set(Instant::now());
        self.stop.store(true, Ordering::Release);
    }

    /// When the run ended (now, if it has not).
    pub fn stopped_at(&self) -> Instant {
        self.stopped_at.get().copied().unwrap_or_else(Instant::now)
    }

    /// May one more request be sent?
    pub fn take_ticket(&self) -> bool {
        if self.stopped() {
            return false;
        }
        match &self.tickets {
            None => true,
            Some((left, _)) => left
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok(),
        }
    }

    /// `ok` requests verified and `failed` failed (or were lost) just now.
    pub fn finished(&self, ok: u64, failed: u64) {
        if ok > 0 {
            self.progress_requests.fetch_add(ok, Ordering::Relaxed);
        }
        if failed > 0 {
            self.progress_errors.fetch_add(failed, Ordering::Relaxed);
        }
        self.count_finished(ok + failed);
    }

    /// `n` UDP datagrams were given up on: finished, but neither verified nor
    /// errors (loss is reported on its own).
    pub fn lost(&self, n: u64) {
        self.count_finished(n);
    }

    fn count_finished(&self, n: u64) {
        if let Some((_, total)) = &self.tickets {
            if self.finished.fetch_add(n, Ordering::Relaxed) + n >= *total {
                self.request_stop();
            }
        }
    }

    /// A TCP session was added (the next connection of a chain,
    /// `--new-connection-per-request`).
    pub fn session_started(&self) {
        self.live.fetch_add(1, Ordering::Relaxed);
    }

    /// A TCP session ended (closed, failed to connect, or never started).
    pub fn session_ended(&self) {
        if self.live.fetch_sub(1, Ordering::Relaxed) == 1 {
            self.request_stop();
        }
    }
}

/// UDP-only counters (see `udp.rs`).
#[derive(Debug, Default, Clone, Copy)]
pub struct UdpCounts {
    /// Datagrams sent.
    pub sent: u64,
    /// Distinct valid replies, on time or late (loss = sent − received).
    pub received: u64,
}

/// What one reactor thread measured. Owned by the thread (`Rc<RefCell<_>>` in its
/// sessions); merged across threads at the end.
pub struct Results {
    /// Latency of every verified reply, in nanoseconds: from the request's
    /// intended send time under `--rate`, else from when it was written.
    pub latency: Histogram<u64>,
    /// Under `--rate`: latency from when each request was actually written (what
    /// a closed-loop tool would report); the gap to `latency` is time spent
    /// waiting to be sent behind a stalled connection.
    pub service: Histogram<u64>,
    /// Requests written (TCP modes).
    pub sent: u64,
    /// Under `--rate`: requests that were due by the end of the run but had not
    /// been answered (in flight, or waiting to be sent).
    pub outstanding: u64,
    /// Replies that arrived complete and verified before the stop.
    pub requests: u64,
    /// Requests that failed: a wrong reply, or lost with their connection.
    pub errors: u64,
    /// Connections that could not be opened.
    pub connect_errors: u64,
    /// Reply bytes received.
    pub bytes: u64,
    /// Errors by kind, for the report.
    pub kinds: BTreeMap<String, u64>,
    /// UDP mode only.
    pub udp: UdpCounts,
}

impl Results {
    pub fn new() -> Results {
        Results {
            latency: latency_histogram(),
            service: latency_histogram(),
            sent: 0,
            outstanding: 0,
            requests: 0,
            errors: 0,
            connect_errors: 0,
            bytes: 0,
            kinds: BTreeMap::new(),
            udp: UdpCounts::default(),
        }
    }

    /// Count `n` errors of `kind`.
    pub fn error(&mut self, kind: &str, n: u64) {
        self.errors += n;
        self.note(kind, n);
    }

    /// Remember `n` occurrences of `kind` for the report.
    pub fn note(&mut self, kind: &str, n: u64) {
        match self.kinds.get_mut(kind) {
            Some(count) => *count += n,
            None => {
                self.kinds.insert(kind.to_string(), n);
            }
        }
    }

    /// A verified reply to a request sent at `sent`.
    pub fn record(&mut self, sent: Instant, now: Instant) {
        record_into(&mut self.latency, sent, now);
        self.requests += 1;
    }

    /// A verified reply, under `--rate`, to a request meant to leave at
    /// `intended` and written at `sent`.
    pub fn record_paced(&mut self, intended: Instant, sent: Instant, now: Instant) {
        record_into(&mut self.service, sent, now);
        self.record(intended, now);
    }

    /// Add another thread's results to these.
    pub fn merge(&mut self, other: Results) {
        merge_histogram(&mut self.latency, &other.latency);
        merge_histogram(&mut self.service, &other.service);
        self.sent += other.sent;
        self.outstanding += other.outstanding;
        self.requests += other.requests;
        self.errors += other.errors;
        self.connect_errors += other.connect_errors;
        self.bytes += other.bytes;
        for (kind, n) in other.kinds {
            self.note(&kind, n);
        }
        self.udp.sent += other.udp.sent;
        self.udp.received += other.udp.received;
    }
}

/// 1 ns to 1 hour at 3 significant digits; larger values saturate.
fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid histogram bounds")
}

fn record_into(histogram: &mut Histogram<u64>, from: Instant, to: Instant) {
    let nanos = to.saturating_duration_since(from).as_nanos();
    histogram.saturating_record(u64::try_from(nanos).unwrap_or(u64::MAX));
}

fn merge_histogram(into: &mut Histogram<u64>, from: &Histogram<u64>) {
    // Same bounds on both sides, so adding cannot fail; saturate if it did.
    if into.add(from).is_err() {
        for v in from.iter_recorded() {
            into.saturating_record_n(v.value_iterated_to(), v.count_at_value());
        }
    }
}

/// What a session shares: the run's [`Control`] and its thread's [`Results`].
#[derive(Clone)]
pub struct Ctx {
    pub control: std::sync::Arc<Control>,
    pub results: Rc<RefCell<Results>>,
}

/// What a protocol made of the front of the input.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// These bytes were taken (and checked); the reply is not complete yet. `0`
    /// means the protocol needs more input before it can take anything.
    Partial(usize),
    /// The reply is complete after these bytes; `Err` says what was wrong with it
    /// (the connection goes on: the framing is intact).
    Done(usize, Result<(), &'static str>),
    /// The input cannot be a reply: the connection cannot go on.
    Broken(&'static str),
}

/// One request/reply protocol, as seen from the client.
pub trait Protocol {
    /// Append one request to `out`.
    fn write_request(&mut self, out: &mut Vec<u8>);
    /// Look at `input`, which starts where the last call stopped, for the reply
    /// to the oldest request in flight.
    fn parse(&mut self, input: &[u8]) -> Parsed;
}

/// Open-loop pacing: one connection's share of `--rate`. Request `k` of the
/// connection is meant to leave at `first + k * interval`; the schedule never
/// waits for replies, and a request that cannot leave on time (the window is
/// full) leaves as soon as it can, still timed from its slot.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// Time between this connection's requests (connections / rate).
    pub interval: Duration,
    /// Delay of the first slot after connecting, so that connections are spread
    /// over one interval instead of firing together.
    pub phase: Duration,
}

/// The session timer that wakes a paced client for its next slot.
const PACE_TIMER: u64 = 1;

/// A TCP session that keeps `pipeline` requests of protocol `P` in flight
/// (closed loop), or sends them on a schedule with `pipeline` as the cap on those
/// in flight (open loop, [`Pace`]).
pub struct Client<P> {
    proto: P,
    ctx: Ctx,
    pipeline: usize,
    /// Each request in flight, oldest first: when it was meant to leave and when
    /// it was written (the same instant unless paced).
    inflight: VecDeque<(Instant, Instant)>,
    pace: Option<Pace>,
    /// Paced: the slot of the next request not yet written (set on connect).
    next_slot: Option<Instant>,
    /// Replies that arrived after the end of the run (not counted as requests).
    answered_late: u64,
    /// `--new-connection-per-request`: after its reply, open the next
    /// connection and close this one.
    again: Option<Rc<Again>>,
    /// When this connection was started, if its first request is timed from
    /// there (connect and handshake included).
    born: Option<Instant>,
}

/// Where the next connection of a chain goes (`--new-connection-per-request`).
pub struct Again {
    pub target: std::net::SocketAddr,
    #[cfg(feature = "tls")]
    pub tls: Option<crate::tls::ClientTls>,
}

impl Again {
    /// Open a connection for `session`, with TLS if the run uses it.
    pub fn connect(&self, ctx: &mut evloop::Ctx<'_>, session: Box<dyn Session>) {
        #[cfg(feature = "tls")]
        if let Some((config, name)) = &self.tls {
            ctx.connect_tls(
                self.target,
                std::sync::Arc::clone(config),
                name.clone(),
                session,
            );
            return;
        }
        ctx.connect(self.target, session);
    }
}

impl<P: Protocol> Client<P> {
    pub fn new(proto: P, ctx: Ctx, pipeline: usize, pace: Option<Pace>) -> Client<P> {
        Client {
            proto,
            ctx,
            pipeline: pipeline.max(1),
            inflight: VecDeque::with_capacity(pipeline.min(1024)),
            pace,
            next_slot: None,
            answered_late: 0,
            again: None,
            born: None,
        }
    }

    /// One request per connection: after each reply the next connection is
    /// opened (`again`) and this one closed; requests are timed from the
    /// connection's start.
    pub fn one_per_connection(mut self, again: Rc<Again>) -> Client<P> {
        self.again = Some(again);
        self.pipeline = 1;
        self.born = Some(Instant::now());
        self
    }

    /// Send requests: closed loop, until the window is full (or no tickets are
    /// left); paced, every request whose slot has come, then arm the timer for
    /// the next slot.
    fn fill(&mut self, ctx: &mut evloop::Ctx<'_>, out: &mut Vec<u8>) {
        if self.inflight.len() >= self.pipeline {
            return; // a reply will make room and call again
        }
        let now = Instant::now();
        let sent_before = self.inflight.len();
        match (self.pace, self.next_slot.as_mut()) {
            (Some(pace), Some(slot)) => {
                while self.inflight.len() < self.pipeline
                    && *slot <= now
                    && self.ctx.control.take_ticket()
                {
                    self.proto.write_request(out);
                    self.inflight.push_back((*slot, now));
                    *slot += pace.interval;
                }
                if self.inflight.len() < self.pipeline && *slot > now {
                    ctx.set_timer(*slot - now, PACE_TIMER);
                }
            }
            // Paced, but not connected yet: the schedule starts on connect.
            (Some(_), None) => return,
            (None, _) => {
                while self.inflight.len() < self.pipeline && self.ctx.control.take_ticket() {
                    self.proto.write_request(out);
                    let start = self.born.take().unwrap_or(now);
                    self.inflight.push_back((start, start));
                }
            }
        }
        let sent = (self.inflight.len() - sent_before) as u64;
        if sent > 0 {
            if let Ok(mut results) = self.ctx.results.try_borrow_mut() {
                results.sent += sent;
            }
        }
    }
}

impl<P> Client<P> {
    /// Paced: how many requests were due by `end` and not answered.
    fn outstanding_at(&self, end: Instant) -> u64 {
        let (Some(pace), Some(slot)) = (self.pace, self.next_slot) else {
            return 0;
        };
        let waiting = if slot <= end {
            let behind = end.saturating_duration_since(slot).as_nanos();
            (behind / pace.interval.as_nanos().max(1)) as u64 + 1
        } else {
            0
        };
        self.answered_late + self.inflight.len() as u64 + waiting
    }
}

impl<P: Protocol + Clone + 'static> Client<P> {
    /// The chain's next connection, if this one was the last of its request.
    fn next_connection(&mut self, ctx: &mut evloop::Ctx<'_>) -> bool {
        let Some(again) = &self.again else {
            return false;
        };
        let next = Client::new(self.proto.clone(), self.ctx.clone(), 1, None)
            .one_per_connection(Rc::clone(again));
        self.ctx.control.session_started();
        again.connect(ctx, Box::new(next));
        true
    }
}

impl<P: Protocol + Clone + 'static> Session for Client<P> {
    fn on_connected(&mut self, ctx: &mut evloop::Ctx<'_>, out: &mut Vec<u8>) -> Next {
        if let Some(pace) = self.pace {
            self.next_slot = Some(Instant::now() + pace.phase);
        }
        self.fill(ctx, out);
        Next::Read
    }

    fn on_timer(&mut self, ctx: &mut evloop::Ctx<'_>, _token: u64, out: &mut Vec<u8>) -> Next {
        if !self.ctx.control.stopped() {
            self.fill(ctx, out);
        }
        Next::Read
    }

    fn on_connect_failed(&mut self, _ctx: &mut evloop::Ctx<'_>, error: &io::Error) {
        if self.ctx.control.stopped() {
            return; // interrupted by the end of the run
        }
        if let Ok(mut results) = self.ctx.results.try_borrow_mut() {
            results.connect_errors += 1;
            results.note(&format!("connect: {error}"), 1);
        }
    }

    fn on_input(&mut self, ctx: &mut evloop::Ctx<'_>, input: &[u8], out: &mut Vec<u8>) -> Step {
        let stopped = self.ctx.control.stopped();
        let Ok(mut results) = self.ctx.results.try_borrow_mut() else {
            return Step::read(0);
        };
        let (mut ok, mut failed) = (0, 0);
        let mut consumed = 0;
        let mut broken = None;
        while consumed < input.len() {
            let Some(&(intended, sent)) = self.inflight.front() else {
                broken = Some("bytes received with no request in flight");
                break;
            };
            match self.proto.parse(&input[consumed..]) {
                Parsed::Partial(0) => break,
                Parsed::Partial(n) => consumed += n,
                Parsed::Done(n, verdict) => {
                    consumed += n;
                    self.inflight.pop_front();
                    if stopped {
                        self.answered_late += 1;
                        continue;
                    }
                    match verdict {
                        Ok(()) if self.pace.is_some() => {
                            results.record_paced(intended, sent, Instant::now());
                            ok += 1;
                        }
                        Ok(()) => {
                            results.record(sent, Instant::now());
                            ok += 1;
                        }
                        Err(kind) => {
                            results.error(kind, 1);
                            failed += 1;
                        }
                    }
                }
                Parsed::Broken(kind) => {
                    broken = Some(kind);
                    break;
                }
            }
        }
        results.bytes += consumed as u64;
        if let Some(kind) = broken {
            // The reply in front is the bad one; the rest are lost with the
            // connection (counted when the session is dropped).
            if !stopped {
                results.error(kind, 1);
                failed += 1;
            }
            self.inflight.pop_front();
            drop(results);
            self.ctx.control.finished(ok, failed);
            return Step {
                consumed,
                next: Next::Abort,
            };
        }
        drop(results);
        if ok + failed > 0 {
            self.ctx.control.finished(ok, failed);
        }
        if self.again.is_some() && self.inflight.is_empty() && ok + failed > 0 {
            if !stopped {
                self.next_connection(ctx);
            }
            return Step {
                consumed,
                next: Next::Close,
            };
        }
        if !stopped {
            self.fill(ctx, out);
        }
        Step::read(consumed)
    }
}

impl<P> Drop for Client<P> {
    fn drop(&mut self) {
        let lost = self.inflight.len() as u64;
        if self.ctx.control.stopped() {
            let outstanding = self.outstanding_at(self.ctx.control.stopped_at());
            if let Ok(mut results) = self.ctx.results.try_borrow_mut() {
                results.outstanding += outstanding;
            }
        } else if lost > 0 {
            if let Ok(mut results) = self.ctx.results.try_borrow_mut() {
                results.error("connection closed with requests in flight", lost);
            }
            self.ctx.control.finished(0, lost);
        }
        self.ctx.control.session_ended();
    }
}

/// A small xorshift64* generator: fast, seedable, good enough to pick keys.
#[derive(Clone)]
pub struct XorShift(u64);

impl XorShift {
    pub fn new(seed: u64) -> XorShift {
        // Any non-zero state works; mix the seed so nearby seeds diverge.
        XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}
