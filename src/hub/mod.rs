//! Everything that involves more than one connection, without any I/O of its own.
//!
//! The hub holds the slab of connections and what ties them together: the views
//! sessions see of each other and the effects they queue ([`Links`]), the pushes
//! planned for each target ([`PushPlan`]), links (relays), the one timer heap, the
//! stream services, and the close cascade. It performs no syscall itself: every
//! byte moves through a connection's [`Transport`]. It is generic over that
//! transport, so the same code runs under two drivers — the way `quinn-proto`
//! runs under `quinn` or under its in-memory test pair:
//! - [`Reactor`](crate::Reactor) (`reactor.rs`): `mio::Poll`, accepting, TCP,
//!   Unix and TLS sockets, UDP, signals;
//! - [`sim::Sim`](crate::sim::Sim): in-memory sockets and a clock the test moves,
//!   so that a chat room, a fan-out to a slow subscriber or a proxied pair is a
//!   deterministic unit test.
//!
//! A driver feeds the hub readiness ([`Hub::on_readiness`]), connections it
//! accepted ([`Hub::accept`]) or connected ([`Hub::insert_connecting`]), and the
//! time; each loop iteration ends with [`Hub::end_turn`]. Outbound connects that
//! sessions ask for are the driver's to open: it takes them with
//! [`Hub::take_connects`].
//!
//! Invariants: effects are applied only after the session that queued them has
//! returned (no session re-enters another); a slot is freed only at the end of
//! the turn, so a later event in the same batch never reaches a connection that
//! reused it; timer entries and pushes carry the connection's generation for the
//! same reason across turns.

mod push_plan;

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use slab::Slab;

use crate::conn::{CloseReason, Conn, Drive, Io, Limits, Readiness, Transport};
use crate::ctx::{view_bytes, ClientTls, ConnId, Ctx, Effect, Links, SlotView};
use crate::service::{Session, StreamService};
use crate::stats::Stats;
use crate::timer::{Timer, Timers};

pub(crate) use push_plan::PushPlan;

/// Shared scratch buffer size: one read, or the largest UDP datagram (65,507 B).
pub(crate) const SCRATCH_SIZE: usize = 64 * 1024;

/// Most capacity the buffer of queued pushes keeps between loop iterations.
const MAX_KEPT_PUSH_BYTES: usize = 4 * 1024 * 1024;

/// An outbound connection a session asked for ([`Ctx::connect`]); the driver
/// opens it.
pub(crate) struct ConnectRequest {
    pub(crate) addr: SocketAddr,
    pub(crate) session: Box<dyn Session>,
    pub(crate) tls: Option<ClientTls>,
}

/// A tick interval as a service asked for it; a zero interval would make the loop
/// spin.
pub(crate) fn tick_interval(interval: Duration) -> Duration {
    interval.max(Duration::from_millis(1))
}

/// The connections, their links and pushes, timers and services; see the
/// [module docs](self).
pub(crate) struct Hub<T: Transport> {
    pub(crate) conns: Slab<Conn<T>>,
    pub(crate) limits: Limits,
    /// The one timer heap: the hub's connection and service entries, and the
    /// driver's own (UDP ticks, accept back-offs).
    pub(crate) timers: Timers,
    pub(crate) stats: Stats,
    /// Shared read buffer (also the driver's, for UDP).
    pub(crate) scratch: Vec<u8>,
    /// Shared output buffer; empty whenever no connection is being driven.
    out: Vec<u8>,
    /// Stream services, each with the tick interval it asked for.
    services: Vec<(Box<dyn StreamService>, Option<Duration>)>,
    /// What sessions see of other connections, and the effects they queued.
    links: Links,
    pushes: PushPlan,
    /// `apply_effects` is running (effects queued meanwhile join its loop).
    applying: bool,
    next_generation: u32,
    /// Connections with work left over: driven again on the next turn.
    ready: Vec<usize>,
    /// Slots to free at the end of the turn.
    dead: Vec<usize>,
    /// Outbound connections asked for and not yet taken by the driver.
    connects: Vec<ConnectRequest>,
    /// Keep how each connection ended ([`Hub::take_closes`]): the simulator
    /// reports it; the reactor only counts.
    pub(crate) record_closes: bool,
    closes: Vec<(ConnId, CloseReason)>,
}

impl<T: Transport> Hub<T> {
    pub(crate) fn new(limits: Limits) -> Hub<T> {
        Hub {
            conns: Slab::new(),
            limits,
            timers: Timers::default(),
            stats: Stats::default(),
            scratch: vec![0; SCRATCH_SIZE],
            out: Vec::new(),
            services: Vec::new(),
            links: Links::default(),
            pushes: PushPlan::default(),
            applying: false,
            next_generation: 0,
            ready: Vec::new(),
            dead: Vec::new(),
            connects: Vec::new(),
            record_closes: false,
            closes: Vec::new(),
        }
    }

    /// Add a stream service; returns its index for [`Hub::accept`]. Its own
    /// limit on unconsumed input raises the connections' input cap.
    pub(crate) fn add_service(&mut self, service: Box<dyn StreamService>, now: Instant) -> usize {
        let wanted = service.max_unconsumed();
        if wanted > self.limits.max_input {
            self.limits.max_input = wanted;
        }
        let interval = service.tick_interval().map(tick_interval);
        if let Some(interval) = interval {
            let tick = Timer::ServiceTick(self.services.len());
            self.timers.push(now + interval, tick);
        }
        self.services.push((service, interval));
        self.services.len() - 1
    }

    /// Connections in the slab (closed ones whose slot is not freed yet included).
    pub(crate) fn len(&self) -> usize {
        self.conns.len()
    }

    /// Connections closed this turn whose slots are not freed yet.
    pub(crate) fn closing_this_turn(&self) -> usize {
        self.dead.len()
    }

    /// The slab key the next inserted connection gets (a driver registers its
    /// socket under it first).
    pub(crate) fn vacant_key(&self) -> usize {
        self.conns.vacant_key()
    }

    /// A connection accepted by `service` from `peer` (`None`: a Unix-domain
    /// peer, which has no address): open its session, insert it at
    /// [`vacant_key`](Self::vacant_key), and let the session greet its peer.
    pub(crate) fn accept(
        &mut self,
        stream: T,
        service: usize,
        peer: Option<SocketAddr>,
        now: Instant,
    ) -> ConnId {
        let session = match peer {
            Some(addr) => self.services[service].0.open(addr),
            None => self.services[service].0.open_unix(),
        };
        let key = self.conns.vacant_key();
        let id = self.new_id(key);
        let inserted = self.conns.insert(Conn::new(stream, session, id, now));
        debug_assert_eq!(inserted, key);
        self.stats.accepted += 1;
        self.stats.active += 1;
        self.drive_conn_with(key, now, Conn::open);
        id
    }

    /// An outbound connection whose connect was started: insert it at
    /// [`vacant_key`](Self::vacant_key); its session hears `on_connected` once a
    /// writable edge reports the connect's end.
    pub(crate) fn insert_connecting(
        &mut self,
        stream: T,
        session: Box<dyn Session>,
        now: Instant,
    ) -> ConnId {
        let key = self.conns.vacant_key();
        let id = self.new_id(key);
        self.conns
            .insert(Conn::connecting(stream, session, id, now));
        self.stats.active += 1;
        self.arm(key);
        id
    }

    /// A connect the driver could not even start: the session hears of it under an
    /// id no connection ever has (generation 0).
    pub(crate) fn connect_failed(
        &mut self,
        mut session: Box<dyn Session>,
        e: &io::Error,
        now: Instant,
    ) {
        self.stats.connect_errors += 1;
        let mut ctx = Ctx::new(ConnId::new(0, 0), now, &mut self.links);
        session.on_connect_failed(&mut ctx, e);
        self.apply_effects(now);
    }

    /// The outbound connections sessions asked for since the last call.
    pub(crate) fn take_connects(&mut self) -> Vec<ConnectRequest> {
        std::mem::take(&mut self.connects)
    }

    /// How the connections closed since the last call ended (with
    /// `record_closes` on).
    pub(crate) fn take_closes(&mut self) -> Vec<(ConnId, CloseReason)> {
        std::mem::take(&mut self.closes)
    }

    /// Whether a connect is waiting for the driver.
    pub(crate) fn has_connects(&self) -> bool {
        !self.connects.is_empty()
    }

    /// A readiness edge on the connection at `key`: record it and drive the
    /// connection.
    pub(crate) fn on_readiness(&mut self, key: usize, edge: Readiness, now: Instant) {
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        if conn.state() == crate::conn::State::Closed {
            return;
        }
        conn.on_readiness(edge);
        self.drive_conn(key, now);
    }

    /// Take the list of connections with work left over (to be driven with
    /// [`Hub::drive_queued`] after this turn's events).
    pub(crate) fn take_ready(&mut self) -> Vec<usize> {
        std::mem::take(&mut self.ready)
    }

    /// Whether pushes wait for the end of the turn.
    pub(crate) fn has_pushes(&self) -> bool {
        self.pushes.len() > 0
    }

    /// Whether connections wait to be driven again.
    pub(crate) fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    /// Drive a connection taken off the ready list.
    pub(crate) fn drive_queued(&mut self, key: usize, now: Instant) {
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        if conn.state() == crate::conn::State::Closed {
            return;
        }
        conn.in_ready_list = false;
        self.drive_conn(key, now);
    }

    /// Take one due timer entry: connection deadlines and service ticks are
    /// handled here; the driver's own entries (UDP ticks, accept back-offs) are
    /// returned for it to handle. `None` once nothing more is due.
    pub(crate) fn fire_next_timer(&mut self, now: Instant) -> Option<Option<Timer>> {
        let (at, timer) = self.timers.pop_due(now)?;
        match timer {
            Timer::Conn { key, generation } => {
                self.fire_conn_timer(key, generation, at, now);
                Some(None)
            }
            Timer::ServiceTick(index) => {
                if let Some((service, Some(interval))) = self.services.get_mut(index) {
                    let mut ctx = Ctx::new(ConnId::new(0, 0), now, &mut self.links);
                    service.on_tick_with(now, &mut ctx);
                    self.timers.push(now + *interval, timer);
                }
                self.apply_effects(now);
                Some(None)
            }
            other => Some(Some(other)),
        }
    }

    /// After the due timers fired: drop the heap's stale entries if they
    /// outnumber the live ones.
    pub(crate) fn compact_timers(&mut self) {
        let conns = &self.conns;
        self.timers.compact(conns.len(), |key, generation, at| {
            conns
                .get(key)
                .is_some_and(|c| c.id.generation() == generation && c.armed == Some(at))
        });
    }

    /// The services' per-iteration work ([`StreamService::before_poll`]). Returns
    /// whether connections may be waiting for it (drive the ready list again).
    pub(crate) fn before_poll(&mut self, now: Instant) -> bool {
        let mut released = false;
        for (service, _) in &mut self.services {
            released |= service.before_poll(now);
        }
        released
    }

    /// Whether a service has work left for its next `before_poll`.
    pub(crate) fn busy(&self) -> bool {
        self.services.iter().any(|(s, _)| s.busy())
    }

    /// The end of a loop iteration: deliver the pushes planned in it, free the
    /// slots of the connections closed in it. Returns whether a slot was freed.
    pub(crate) fn end_turn(&mut self, now: Instant) -> bool {
        self.deliver_all_pushes(now);
        if self.dead.is_empty() {
            return false;
        }
        for key in self.dead.drain(..) {
            self.conns.remove(key);
        }
        true
    }

    /// Shutdown begins: pushes already accepted are delivered, outbound connects
    /// in progress fail, and every other connection that is not relaying closes
    /// once its replies are delivered and the peer has seen our FIN.
    pub(crate) fn begin_shutdown(&mut self, now: Instant) {
        self.links.stopping = true;
        self.deliver_all_pushes(now);
        let keys: Vec<usize> = self.conns.iter().map(|(key, _)| key).collect();
        for key in keys {
            let conn = &mut self.conns[key];
            if conn.state() == crate::conn::State::Closed {
                continue;
            }
            if conn.is_connecting() {
                conn.fail_connect(
                    &io::Error::new(io::ErrorKind::Interrupted, "reactor shutting down"),
                    &mut self.links,
                    now,
                );
                self.close(key, CloseReason::Shutdown, now);
                continue;
            }
            if conn.link().is_some() {
                continue; // relays finish on their own, within the shutdown deadline
            }
            conn.begin_shutdown();
            self.drive_conn(key, now);
        }
    }

    /// Close every connection now (the shutdown deadline passed).
    pub(crate) fn close_all(&mut self, now: Instant) {
        let keys: Vec<usize> = self.conns.iter().map(|(key, _)| key).collect();
        for key in keys {
            self.close(key, CloseReason::Shutdown, now);
        }
    }

    fn drive_conn(&mut self, key: usize, now: Instant) {
        // What was pushed to it goes before anything its session writes now.
        self.deliver_pushes_to(key, now);
        match self.conns.get(key).and_then(Conn::link) {
            Some(peer) => self.relay(key, peer, now),
            None => self.drive_conn_with(key, now, Conn::drive),
        }
    }

    /// Move bytes both ways between the linked connections at `key` and `peer`.
    fn relay(&mut self, key: usize, peer: ConnId, now: Instant) {
        self.deliver_pushes_to(peer.key(), now);
        let Some((a, b)) = self.conns.get2_mut(key, peer.key()) else {
            self.close(key, CloseReason::Done, now);
            return;
        };
        if b.id != peer || b.state() == crate::conn::State::Closed {
            self.close(key, CloseReason::Done, now);
            return;
        }
        let before = (a.buffered_output() + b.buffered_output()) as u64;
        let mut io = Io {
            scratch: &mut self.scratch,
            out: &mut self.out,
            stats: &mut self.stats,
            limits: &self.limits,
            now,
            links: &mut self.links,
        };
        let result = a
            .flush_tail(&mut io)
            .and_then(|()| b.flush_tail(&mut io))
            .and_then(|()| Ok(a.relay_to(b, &mut io)? | b.relay_to(a, &mut io)?));
        let (pa, pb) = (a.buffered_output(), b.buffered_output());
        let done = a.relay_done(b);
        let after = (pa + pb) as u64;
        self.stats.output_buffered = self.stats.output_buffered + after - before;
        self.stats.output_buffered_peak = self.stats.output_buffered_peak.max(pa.max(pb) as u64);
        self.links.slots[key].pending = view_bytes(pa);
        self.links.slots[peer.key()].pending = view_bytes(pb);
        match result {
            Err(e) => {
                log::debug!("relay {} <-> {peer}: {e}", self.conns[key].id);
                self.stats.io_errors += 1;
                self.close(key, CloseReason::IoError, now);
            }
            Ok(_) if done => self.close(key, CloseReason::Done, now),
            Ok(more) => {
                if more {
                    self.queue(key);
                }
                self.arm(key);
                self.arm(peer.key());
            }
        }
        self.apply_effects(now);
    }

    /// Run `step` (drive, or open) on the connection at `key`, then act on the
    /// outcome and on the effects its session queued.
    fn drive_conn_with(
        &mut self,
        key: usize,
        now: Instant,
        step: fn(&mut Conn<T>, &mut Io<'_>) -> Drive,
    ) {
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        let before = conn.buffered_output() as u64;
        let mut io = Io {
            scratch: &mut self.scratch,
            out: &mut self.out,
            stats: &mut self.stats,
            limits: &self.limits,
            now,
            links: &mut self.links,
        };
        let drive = step(conn, &mut io);
        let after = conn.buffered_output() as u64;
        self.links.slots[key].pending = view_bytes(conn.pending_output());
        self.links.slots[key].open = conn.open_for_pushes();
        self.stats.output_buffered = self.stats.output_buffered + after - before;
        self.stats.output_buffered_peak = self.stats.output_buffered_peak.max(after);
        if self.out.capacity() > 4 * SCRATCH_SIZE {
            // One large reply grew the shared buffer; do not keep it forever.
            self.out = Vec::new();
        }
        match drive {
            Drive::Wait => self.arm(key),
            Drive::Again => {
                self.queue(key);
                self.arm(key);
            }
            Drive::Close(reason) => self.close(key, reason, now),
        }
        self.apply_effects(now);
    }

    /// A new id for the connection about to be inserted at `key`.
    fn new_id(&mut self, key: usize) -> ConnId {
        // Generation 0 names no connection (a failed connect, a detached session).
        self.next_generation = self.next_generation.wrapping_add(1).max(1);
        self.links.set(
            key,
            SlotView {
                generation: self.next_generation,
                open: true,
                pending: 0,
                hard_limit: view_bytes(self.limits.push_limit.hard),
            },
        );
        ConnId::new(key, self.next_generation)
    }

    /// The live connection `id` names, if any.
    pub(crate) fn conn_mut(&mut self, id: ConnId) -> Option<&mut Conn<T>> {
        self.conns
            .get_mut(id.key())
            .filter(|c| c.id == id && c.state() != crate::conn::State::Closed)
    }

    /// Have the connection at `key` driven after the current batch.
    fn queue(&mut self, key: usize) {
        if let Some(conn) = self.conns.get_mut(key) {
            if !conn.in_ready_list {
                conn.in_ready_list = true;
                self.ready.push(key);
            }
        }
    }

    /// Make sure the timer heap holds this connection's next deadline or timer.
    fn arm(&mut self, key: usize) {
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        if let Some(deadline) = conn.wake_at(&self.limits) {
            if conn.armed.is_none_or(|armed| deadline < armed) {
                let generation = conn.id.generation();
                self.timers.push(deadline, Timer::Conn { key, generation });
                conn.armed = Some(deadline);
            }
        }
    }

    /// Take the connection at `key` out of service: the session hears
    /// `on_closed`, a linked peer closes with it, and the slot is freed at the end
    /// of the turn (dropping the socket closes it).
    pub(crate) fn close(&mut self, key: usize, reason: CloseReason, now: Instant) {
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        if conn.is_released() {
            return;
        }
        log::debug!("connection {} closed: {reason:?}", conn.id);
        if self.record_closes {
            self.closes.push((conn.id, reason));
        }
        if reason == CloseReason::Done {
            conn.close_in_order();
        }
        conn.mark_closed();
        self.links.slots[key].open = false;
        let linked = conn.link();
        conn.unlink();
        conn.closed(&mut self.links, now);
        self.stats.output_buffered -= conn.buffered_output() as u64;
        self.stats.closed += 1;
        self.stats.active -= 1;
        if reason == CloseReason::Timeout {
            self.stats.timeouts += 1;
        }
        self.dead.push(key);
        if let Some(peer) = linked {
            // The pair lives and dies together.
            if let Some(peer_conn) = self.conn_mut(peer) {
                peer_conn.unlink();
                self.close(peer.key(), reason, now);
            }
        }
        self.apply_effects(now);
    }

    /// A connection's entry came due: close it past its deadline, run its due
    /// session timers, or re-arm it for its next deadline.
    fn fire_conn_timer(&mut self, key: usize, generation: u32, at: Instant, now: Instant) {
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        if conn.id.generation() != generation || conn.armed != Some(at) {
            return; // a stale entry: superseded, or the slot was reused
        }
        conn.armed = None;
        match conn.deadline(&self.limits) {
            Some(deadline) if deadline <= now => {
                if conn.handshaking() {
                    log::debug!("conn {}: TLS handshake timed out", conn.id);
                    self.stats.tls_handshake_timeouts += 1;
                }
                if conn.is_connecting() {
                    self.stats.connect_errors += 1;
                    conn.fail_connect(
                        &io::Error::new(io::ErrorKind::TimedOut, "connect timed out"),
                        &mut self.links,
                        now,
                    );
                }
                self.close(key, CloseReason::Timeout, now)
            }
            _ if conn.has_callbacks_due(now) => self.drive_conn(key, now),
            _ => self.arm(key),
        }
    }

    /// Carry out what sessions asked of their contexts: pushes, wakes, timers,
    /// limits. Targets are queued to be driven after this batch, so all the pushes
    /// one connection receives in a loop iteration leave in one write.
    fn apply_effects(&mut self, now: Instant) {
        if self.applying || self.links.effects.is_empty() {
            return;
        }
        self.applying = true;
        while !self.links.effects.is_empty() {
            let effects = std::mem::take(&mut self.links.effects);
            for effect in effects {
                self.apply_effect(effect, now);
            }
        }
        self.applying = false;
    }

    fn apply_effect(&mut self, effect: Effect, now: Instant) {
        match effect {
            Effect::Connect { addr, session, tls } => {
                self.connects.push(ConnectRequest { addr, session, tls });
            }
            Effect::Link(a, b) => {
                let linkable = |c: &Conn<T>| c.open_for_pushes() && c.link().is_none();
                if self.conn_mut(a).is_some_and(|c| linkable(c))
                    && self.conn_mut(b).is_some_and(|c| linkable(c))
                {
                    log::debug!("linked {a} <-> {b}");
                    self.conns[a.key()].set_link(b);
                    self.conns[b.key()].set_link(a);
                    // Input either side already holds, and readiness it already
                    // reported, are relayed now.
                    self.queue(a.key());
                }
            }
            Effect::Push { to, start, end } => self.pushes.add(to, start, end),
            Effect::OverLimit(to) => {
                if self.conn_mut(to).is_some() {
                    log::warn!("connection {to} closed: pushed output over its hard limit");
                    self.stats.output_limit_closes += 1;
                    self.close(to.key(), CloseReason::OutputLimit, now);
                }
            }
            Effect::Waiting { on, waiting } => {
                if let Some(conn) = self.conn_mut(on) {
                    conn.set_waiting(waiting);
                    self.arm(on.key());
                }
            }
            Effect::Kill(id) => {
                if self.conn_mut(id).is_some() {
                    log::debug!("connection {id} killed by another connection");
                    self.close(id.key(), CloseReason::Aborted, now);
                }
            }
            Effect::Wake(id) => {
                if let Some(conn) = self.conn_mut(id) {
                    conn.wake();
                    self.queue(id.key());
                }
            }
            Effect::SetTimer { on, at, token } => {
                if let Some(conn) = self.conn_mut(on) {
                    conn.set_timer(at, token);
                    self.arm(on.key());
                }
            }
            Effect::CancelTimer { on, token } => {
                if let Some(conn) = self.conn_mut(on) {
                    conn.cancel_timer(token);
                }
            }
            Effect::SetOutputLimit { on, limit } => {
                if let Some(conn) = self.conn_mut(on) {
                    conn.set_push_limit(limit);
                }
            }
        }
    }

    /// Deliver every planned push (the end of a loop iteration), then recycle the
    /// push buffer.
    fn deliver_all_pushes(&mut self, now: Instant) {
        let mut i = 0;
        // Closing a connection may plan more pushes (its session's last words).
        while i < self.pushes.len() {
            if let Some(key) = self.pushes.target_starting_at(i) {
                self.deliver_pushes_to(key, now);
            }
            i += 1;
        }
        self.pushes.clear();
        self.links.bytes.clear();
        // Keep the allocation, within reason: a fan-out (a PUBLISH batch to a
        // thousand subscribers) queues megabytes per iteration, and freeing them each
        // time makes the allocator hand the pages back and fault them in again.
        if self.links.bytes.capacity() > MAX_KEPT_PUSH_BYTES {
            self.links.bytes = Vec::new();
        }
    }

    /// Deliver the pushes planned for the connection at `key`, in order, in one
    /// write (or appended to its unsent output), then check its soft limit.
    fn deliver_pushes_to(&mut self, key: usize, now: Instant) {
        let Some((to, ranges)) = self.pushes.take(key) else {
            return;
        };
        let Some(conn) = self
            .conns
            .get_mut(key)
            .filter(|c| c.id == to && c.open_for_pushes())
        else {
            return; // closed since the pushes were checked
        };
        let before = conn.buffered_output();
        let pushed: usize = ranges.iter().map(|&(start, end)| end - start).sum();
        let count = ranges.len() as u64;
        let result = conn.push_ranges(
            &self.links.bytes,
            ranges,
            &mut self.out,
            &self.limits,
            &mut self.stats,
            now,
        );
        if self.out.capacity() > 4 * SCRATCH_SIZE {
            self.out = Vec::new(); // as after a drive: a large gather is not kept
        }
        let buffered = conn.buffered_output();
        self.stats.pushes += count;
        self.stats.push_bytes += pushed as u64;
        self.stats.output_buffered = self.stats.output_buffered + buffered as u64 - before as u64;
        self.stats.output_buffered_peak = self.stats.output_buffered_peak.max(buffered as u64);
        let pending = conn.pending_output();
        self.links.slots[key].pending = view_bytes(pending);
        match result {
            Ok(true) if pending > 0 => self.queue(key),
            Ok(true) => {}
            Ok(false) => {
                log::warn!(
                    "connection {to} closed: {pending} bytes of pushed output unsent, over its \
                     soft limit for too long"
                );
                self.stats.output_limit_closes += 1;
                self.close(key, CloseReason::OutputLimit, now);
            }
            Err(e) => {
                log::debug!("connection {to}: push write failed: {e}");
                self.stats.io_errors += 1;
                self.close(key, CloseReason::IoError, now);
            }
        }
    }
}
