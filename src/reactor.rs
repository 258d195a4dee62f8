//! The event loop: one `mio::Poll`, one thread, every syscall of the server.
//!
//! The loop is Redis's `ae.c` in shape: wait for readiness with a timeout equal to
//! the next deadline, handle each event, fire due timers, repeat. One timer heap
//! (`timer.rs`) holds everything due at a time: connection deadlines, session
//! timers, service and UDP ticks, and the end of an accept back-off, so the
//! `poll` timeout is one peek. Every source has a
//! token: slab keys for connections, a block high in the token space for listeners
//! and UDP sockets, and two fixed tokens for the waker and the signal pipe.
//!
//! Slots of closed connections are freed only after the whole event batch has been
//! handled, so an event later in the same batch can never reach a new connection
//! that reused the slot. Timer entries carry the connection's generation for the
//! same reason across batches.
//!
//! Fairness: each wake-up accepts at most `accept_budget` connections per listener,
//! reads at most `read_budget` bytes per connection and `udp_budget` datagrams per
//! UDP socket. A source that still has work is put on the `ready` list and the next
//! `poll` does not block, so no busy peer starves the others and no edge is lost.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[cfg(unix)]
use mio::net::UnixListener;
use mio::net::{TcpListener, TcpStream, UdpSocket};
use mio::{Events, Interest, Poll, Token, Waker};
use slab::Slab;

use crate::conn::{CloseReason, Conn, Drive, Io, Limits};
use crate::ctx::{view_bytes, ClientTls, ConnId, Ctx, Effect, Links, OutputLimit, SlotView};
use crate::service::{DatagramService, Session, StreamService};
use crate::stats::{SharedStats, Stats};
use crate::stream::{ListenSocket, Peer, Stream};
use crate::timer::{Timer, Timers};
use crate::udp::UdpEndpoint;

const WAKER: Token = Token(usize::MAX);
const SIGNALS: Token = Token(usize::MAX - 1);
/// Listeners and UDP sockets get `ENDPOINT_BASE + index`; connection keys stay below.
const ENDPOINT_BASE: usize = usize::MAX / 2;
/// Shared scratch buffer size: one read, or the largest UDP datagram (65,507 B).
pub(crate) const SCRATCH_SIZE: usize = 64 * 1024;

/// No entry, in the push plan's lists.
const NONE: u32 = u32::MAX;

/// Most capacity the buffer of queued pushes keeps between loop iterations.
const MAX_KEPT_PUSH_BYTES: usize = 4 * 1024 * 1024;
/// How long to stop accepting after an accept error such as EMFILE.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Reactor settings. Every limit the reactor enforces is here, with a default
/// suited to a server on a public network.
#[derive(Debug, Clone)]
pub struct Config {
    /// Connections served at once. At the limit the reactor stops accepting (the
    /// kernel's listen backlog holds new clients) until a connection closes.
    pub max_connections: usize,
    /// Close a connection after this long without any bytes moving. `None`: never.
    pub idle_timeout: Option<Duration>,
    /// Close a connection whose partial request is not complete this long after
    /// its first byte (slowloris). `None`: only the idle timeout applies.
    pub request_timeout: Option<Duration>,
    /// Stop reading from a connection when its unsent output passes this many bytes…
    pub high_water: usize,
    /// …and resume when it falls below this many.
    pub low_water: usize,
    /// Stop reading when this many received bytes wait unconsumed by the session
    /// (close the connection if nothing else can make progress). Raised to what
    /// a service declares in
    /// [`StreamService::max_unconsumed`](crate::StreamService::max_unconsumed).
    pub max_input: usize,
    /// Bytes read from one connection per wake-up before others get their turn.
    pub read_budget: usize,
    /// Connections accepted per listener per wake-up.
    pub accept_budget: usize,
    /// Datagrams received per UDP socket per wake-up.
    pub udp_budget: usize,
    /// Bytes of UDP replies held when the socket's send buffer is full; replies
    /// beyond that are dropped and counted.
    pub udp_queue_bytes: usize,
    /// Receive and send UDP datagrams in batches (`recvmmsg` with GRO, `sendmmsg`
    /// and GSO, on Linux). `false` keeps one `recv_from` and one `send_to` per
    /// datagram, as on other systems.
    pub udp_batching: bool,
    /// After we send FIN, how long to keep reading and discarding the peer's input
    /// before closing (closing with unread input would send RST).
    pub linger_timeout: Duration,
    /// On shutdown, how long connections get to receive the replies they are owed.
    pub shutdown_timeout: Duration,
    /// How long an outbound [`Reactor::connect`] may take before it fails.
    pub connect_timeout: Duration,
    /// Readiness events taken per `poll`.
    pub events_capacity: usize,
    /// How much output pushed by other connections ([`Ctx::push`](crate::Ctx::push))
    /// a connection may hold unsent before it is closed; a session can set its own
    /// with [`Ctx::set_output_limit`](crate::Ctx::set_output_limit).
    pub push_output_limit: OutputLimit,
    /// Fire timers to the microsecond instead of the millisecond. `epoll` sleeps
    /// in whole milliseconds, so by default a timer fires up to about 1 ms late
    /// when the loop is idle. With this on, the loop sleeps only the whole
    /// milliseconds before the next timer and polls without sleeping for the
    /// rest — it spins a CPU for up to a millisecond before each timer. Meant for
    /// load generators that send on a schedule, not for servers.
    pub precise_timers: bool,
    /// How long a TLS handshake may take from accept (or connect) to its end
    /// before the connection is closed: a client that opens connections and
    /// stalls in the handshake (slowloris) holds nothing longer. Also bounded by
    /// `idle_timeout`.
    pub handshake_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_connections: 10_000,
            idle_timeout: Some(Duration::from_secs(60)),
            request_timeout: Some(Duration::from_secs(10)),
            high_water: 256 * 1024,
            low_water: 64 * 1024,
            max_input: 1024 * 1024,
            read_budget: 256 * 1024,
            accept_budget: 64,
            udp_budget: 128,
            udp_queue_bytes: 1024 * 1024,
            udp_batching: true,
            linger_timeout: Duration::from_secs(2),
            shutdown_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
            events_capacity: 1024,
            push_output_limit: OutputLimit::default(),
            precise_timers: false,
            handshake_timeout: Duration::from_secs(10),
        }
    }
}

/// A thread-safe handle to a reactor: stop it, read its counters.
#[derive(Clone)]
pub struct Handle {
    shared: Arc<Shared>,
}

struct Shared {
    waker: Waker,
    stop: AtomicBool,
    /// Close the listeners, keep serving connections ([`Handle::stop_accepting`]).
    release: AtomicBool,
    stats: SharedStats,
}

impl Handle {
    /// Ask the reactor to shut down gracefully (as SIGTERM does): stop accepting,
    /// deliver the replies owed, then return from [`Reactor::run`].
    pub fn shutdown(&self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Err(e) = self.shared.waker.wake() {
            log::error!("waking the reactor failed: {e}");
        }
    }

    /// Stop accepting, and leave the connections be: the reactor closes its
    /// listeners and UDP sockets and goes on serving the connections it has;
    /// [`Reactor::run`] returns once the last of them has closed (or, after a
    /// [`Handle::shutdown`], as a shutdown does). For handing the listening
    /// sockets to a successor process: their queues stay open in it, so no
    /// client is refused, and nothing in flight here is cut off.
    pub fn stop_accepting(&self) {
        self.shared.release.store(true, Ordering::Release);
        if let Err(e) = self.shared.waker.wake() {
            log::error!("waking the reactor failed: {e}");
        }
    }

    /// The counters as of the end of the reactor's last loop iteration.
    pub fn stats(&self) -> Stats {
        self.shared.stats.snapshot()
    }
}

struct Listener {
    socket: ListenSocket,
    service: usize,
    /// Connections may be waiting in the backlog (no `WouldBlock` seen since the
    /// last edge).
    pending: bool,
    /// Accepting paused after an error such as EMFILE, until this instant.
    paused_until: Option<Instant>,
    /// Connections accepted here speak TLS with this config.
    #[cfg(feature = "tls")]
    tls: Option<Arc<rustls::ServerConfig>>,
}

enum Endpoint {
    Tcp(Listener),
    Udp(UdpEndpoint),
    /// Closed on shutdown; the index stays so tokens keep their meaning.
    Closed,
}

/// A tick interval as a service asked for it; a zero interval would make `poll`
/// spin.
fn tick_interval(interval: Duration) -> Duration {
    interval.max(Duration::from_millis(1))
}

/// A single-threaded event loop serving TCP listeners and UDP sockets.
pub struct Reactor {
    poll: Poll,
    config: Config,
    limits: Limits,
    conns: Slab<Conn>,
    endpoints: Vec<Endpoint>,
    /// Stream services, each with the tick interval it asked for.
    services: Vec<(Box<dyn StreamService>, Option<Duration>)>,
    /// Tickers of UDP services that asked for them: (endpoint index, interval).
    udp_tickers: Vec<(usize, Duration)>,
    timers: Timers,
    scratch: Vec<u8>,
    out: Vec<u8>,
    stats: Stats,
    shared: Arc<Shared>,
    signals: Option<signal_hook_mio::v1_0::Signals>,
    /// Sources with work left over from the last wake-up.
    ready: Vec<Token>,
    /// Slots to free once the current event batch is handled.
    dead: Vec<usize>,
    /// What sessions see of other connections, and the effects they queued.
    links: Links,
    /// The pushes of the effects being applied, delivered per target at the end of
    /// the round: (target, start, end, next entry for the same target).
    push_plan: Vec<(ConnId, usize, usize, u32)>,
    /// Per slab key: the first and last entry of `push_plan` for it (`NONE`: none).
    push_lists: Vec<(u32, u32)>,
    /// The ranges of one target's pushes, while they are delivered (kept for its
    /// allocation).
    push_ranges: Vec<(usize, usize)>,
    /// `apply_effects` is running (effects queued meanwhile join its loop).
    applying: bool,
    next_generation: u32,
    /// Set once shutdown begins: the instant by which everything closes.
    stopping: Option<Instant>,
    last_accept_warning: Option<Instant>,
}

impl Reactor {
    /// A reactor with no sources yet.
    pub fn new(config: Config) -> io::Result<Reactor> {
        let poll = Poll::new()?;
        let waker = Waker::new(poll.registry(), WAKER)?;
        // Zero would make a budget spin the loop or a mark never be crossed.
        let mut config = config;
        config.accept_budget = config.accept_budget.max(1);
        config.udp_budget = config.udp_budget.max(1);
        config.high_water = config.high_water.max(1);
        config.low_water = config.low_water.clamp(1, config.high_water);
        let limits = Limits::from_config(&config);
        Ok(Reactor {
            poll,
            limits,
            conns: Slab::new(),
            endpoints: Vec::new(),
            services: Vec::new(),
            udp_tickers: Vec::new(),
            timers: Timers::default(),
            scratch: vec![0; SCRATCH_SIZE],
            out: Vec::new(),
            stats: Stats::default(),
            shared: Arc::new(Shared {
                waker,
                stop: AtomicBool::new(false),
                release: AtomicBool::new(false),
                stats: SharedStats::default(),
            }),
            signals: None,
            ready: Vec::new(),
            dead: Vec::new(),
            links: Links::default(),
            push_plan: Vec::new(),
            push_lists: Vec::new(),
            push_ranges: Vec::new(),
            applying: false,
            next_generation: 0,
            stopping: None,
            last_accept_warning: None,
            config,
        })
    }

    /// A handle that can stop this reactor from another thread.
    pub fn handle(&self) -> Handle {
        Handle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// The counters now.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Serve `service` on `listener`. Returns the bound address (with the real
    /// port if it was bound to port 0).
    pub fn add_tcp_listener(
        &mut self,
        listener: TcpListener,
        service: impl StreamService + 'static,
    ) -> io::Result<SocketAddr> {
        let addr = listener.local_addr()?;
        self.add_listener(ListenSocket::Tcp(listener), Box::new(service))?;
        Ok(addr)
    }

    /// Serve `service` over TLS on `listener`: each accepted connection does a
    /// handshake with `config` (see [`tls::server_config`](crate::tls::server_config)),
    /// then its session reads and writes plaintext as on a plain listener. A
    /// handshake that fails or outlasts [`Config::handshake_timeout`] closes the
    /// connection (counted in [`Stats`]). Returns the bound address.
    #[cfg(feature = "tls")]
    pub fn add_tls_listener(
        &mut self,
        listener: TcpListener,
        config: Arc<rustls::ServerConfig>,
        service: impl StreamService + 'static,
    ) -> io::Result<SocketAddr> {
        let addr = listener.local_addr()?;
        self.add_listener(ListenSocket::Tcp(listener), Box::new(service))?;
        if let Some(Endpoint::Tcp(l)) = self.endpoints.last_mut() {
            l.tls = Some(config);
        }
        Ok(addr)
    }

    /// Serve `service` on the Unix-domain stream `listener` (see
    /// [`net::bind_unix`](crate::net::bind_unix)). Its connections are served like
    /// TCP ones; sessions are opened with
    /// [`StreamService::open_unix`](crate::StreamService::open_unix). Returns the
    /// bound address (the socket's path).
    #[cfg(unix)]
    pub fn add_unix_listener(
        &mut self,
        listener: UnixListener,
        service: impl StreamService + 'static,
    ) -> io::Result<std::os::unix::net::SocketAddr> {
        let addr = listener.local_addr()?;
        self.add_listener(ListenSocket::Unix(listener), Box::new(service))?;
        Ok(addr)
    }

    fn add_listener(
        &mut self,
        mut listener: ListenSocket,
        service: Box<dyn StreamService>,
    ) -> io::Result<()> {
        let token = Token(ENDPOINT_BASE + self.endpoints.len());
        self.poll
            .registry()
            .register(&mut listener, token, Interest::READABLE)?;
        // The session's own limit on unconsumed input comes before the reactor's.
        let wanted = service.max_unconsumed();
        if wanted > self.limits.max_input {
            self.limits.max_input = wanted;
        }
        let interval = service.tick_interval().map(tick_interval);
        if let Some(interval) = interval {
            let tick = Timer::ServiceTick(self.services.len());
            self.timers.push(Instant::now() + interval, tick);
        }
        self.services.push((service, interval));
        self.endpoints.push(Endpoint::Tcp(Listener {
            socket: listener,
            service: self.services.len() - 1,
            pending: false,
            paused_until: None,
            #[cfg(feature = "tls")]
            tls: None,
        }));
        Ok(())
    }

    /// Serve `service` on the UDP `socket`. Returns the bound address.
    pub fn add_udp_socket(
        &mut self,
        mut socket: UdpSocket,
        service: impl DatagramService + 'static,
    ) -> io::Result<SocketAddr> {
        let addr = socket.local_addr()?;
        let token = Token(ENDPOINT_BASE + self.endpoints.len());
        self.poll.registry().register(
            &mut socket,
            token,
            Interest::READABLE | Interest::WRITABLE,
        )?;
        let mut endpoint = UdpEndpoint::new(
            socket,
            Box::new(service),
            self.config.udp_queue_bytes,
            self.config.udp_batching,
        );
        endpoint.start(&mut self.stats);
        if let Some(interval) = endpoint.tick_interval().map(tick_interval) {
            let tick = Timer::UdpTick(self.udp_tickers.len());
            self.timers.push(Instant::now() + interval, tick);
            self.udp_tickers.push((self.endpoints.len(), interval));
        }
        self.endpoints.push(Endpoint::Udp(endpoint));
        Ok(addr)
    }

    /// Open an outbound TCP connection to `addr`, driven by `session` like any
    /// accepted one. The connect is non-blocking: the session hears
    /// [`Session::on_connected`](crate::Session::on_connected) once it is
    /// established, or
    /// [`Session::on_connect_failed`](crate::Session::on_connect_failed) if it is
    /// refused or takes longer than [`Config::connect_timeout`]. An error here
    /// means the socket could not even be created (e.g. out of descriptors).
    pub fn connect(&mut self, addr: SocketAddr, session: Box<dyn Session>) -> io::Result<()> {
        self.start_connect(addr, session, None)
            .map(|_| ())
            .map_err(|(e, _)| e)
    }

    /// [`connect`](Self::connect), then a TLS handshake with `config` for the
    /// server `name` (checked against its certificate). The session hears
    /// `on_connected` once the TCP connection is up and may write at once: what it
    /// writes goes out when the handshake ends, which
    /// [`Config::handshake_timeout`] bounds.
    #[cfg(feature = "tls")]
    pub fn connect_tls(
        &mut self,
        addr: SocketAddr,
        config: Arc<rustls::ClientConfig>,
        name: rustls::pki_types::ServerName<'static>,
        session: Box<dyn Session>,
    ) -> io::Result<()> {
        self.start_connect(addr, session, Some((config, name)))
            .map(|_| ())
            .map_err(|(e, _)| e)
    }

    /// Start a non-blocking connect; on failure the session comes back with the
    /// error, so that it can be told.
    fn start_connect(
        &mut self,
        addr: SocketAddr,
        session: Box<dyn Session>,
        tls: Option<ClientTls>,
    ) -> Result<ConnId, (io::Error, Box<dyn Session>)> {
        let stream = match TcpStream::connect(addr) {
            Ok(stream) => stream,
            Err(e) => return Err((e, session)),
        };
        if let Err(e) = stream.set_nodelay(true) {
            log::debug!("TCP_NODELAY to {addr}: {e}");
        }
        let mut stream = match tls {
            None => Stream::Tcp(stream),
            #[cfg(feature = "tls")]
            Some((config, name)) => match crate::tls::TlsStream::client(stream, config, name) {
                Ok(tls) => Stream::Tls(Box::new(tls)),
                Err(e) => return Err((e, session)),
            },
        };
        let now = Instant::now();
        let key = self.conns.vacant_key();
        if let Err(e) = self.poll.registry().register(
            &mut stream,
            Token(key),
            Interest::READABLE | Interest::WRITABLE,
        ) {
            return Err((e, session));
        }
        let id = self.new_id(key);
        self.conns
            .insert(Conn::connecting(stream, session, id, now));
        self.stats.active += 1;
        self.arm(key);
        Ok(id)
    }

    /// Shut down gracefully on SIGINT or SIGTERM; a second signal during shutdown
    /// closes everything at once.
    pub fn stop_on_signals(&mut self) -> io::Result<()> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let mut signals = signal_hook_mio::v1_0::Signals::new([SIGINT, SIGTERM])?;
        self.poll
            .registry()
            .register(&mut signals, SIGNALS, Interest::READABLE)?;
        self.signals = Some(signals);
        Ok(())
    }

    /// Run until shut down by a [`Handle`] or a signal. Returns after every
    /// connection has been closed.
    pub fn run(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(self.config.events_capacity.max(16));
        loop {
            let now = Instant::now();
            if self.shared.stop.load(Ordering::Acquire) && self.stopping.is_none() {
                self.begin_shutdown(now);
            }
            if self.shared.release.load(Ordering::Acquire) && self.stopping.is_none() {
                if !self.endpoints.iter().all(|e| matches!(e, Endpoint::Closed)) {
                    log::info!(
                        "stopped accepting: {} connections go on until they close",
                        self.conns.len()
                    );
                    self.close_endpoints();
                }
                if self.conns.is_empty() {
                    break;
                }
            }
            if let Some(deadline) = self.stopping {
                if now >= deadline {
                    self.close_all();
                }
                if self.conns.is_empty() {
                    break;
                }
            }
            let timeout = if self.ready.is_empty() && !self.services.iter().any(|(s, _)| s.busy()) {
                self.next_deadline().map(|at| {
                    let wait = at.saturating_duration_since(now);
                    if self.config.precise_timers {
                        // Sleep the whole milliseconds (epoll rounds up), spin the rest.
                        Duration::from_millis(wait.as_millis().try_into().unwrap_or(u64::MAX))
                    } else {
                        wait
                    }
                })
            } else {
                Some(Duration::ZERO)
            };
            self.stats.polls += 1;
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            let now = Instant::now();
            let ready = std::mem::take(&mut self.ready);
            for event in events.iter() {
                self.dispatch(event.token(), Some(event), now);
            }
            for token in ready {
                self.dispatch(token, None, now);
            }
            self.fire_timers(now);
            let mut released = false;
            for (service, _) in &mut self.services {
                released |= service.before_poll(now);
            }
            if released {
                // Connections waiting for what the services just did (replies held
                // until a log was synced) go now, not after another poll.
                for token in std::mem::take(&mut self.ready) {
                    self.dispatch(token, None, now);
                }
            }
            self.deliver_all_pushes(now);
            self.free_dead();
            self.shared.stats.publish(&self.stats);
        }
        self.shared.stats.publish(&self.stats);
        log::info!("reactor stopped: {:?}", self.stats);
        Ok(())
    }

    fn dispatch(&mut self, token: Token, event: Option<&mio::event::Event>, now: Instant) {
        match token {
            WAKER => {}
            SIGNALS => self.on_signal(now),
            Token(i) if i >= ENDPOINT_BASE => self.on_endpoint(i - ENDPOINT_BASE, event, now),
            Token(key) => {
                let Some(conn) = self.conns.get_mut(key) else {
                    return;
                };
                if conn.state() == crate::conn::State::Closed {
                    return;
                }
                match event {
                    Some(event) => conn.on_event(event),
                    None => conn.queued = false, // taken off the ready list
                }
                self.drive_conn(key, now);
            }
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
            self.close(key, CloseReason::Done);
            return;
        };
        if b.id != peer || b.state() == crate::conn::State::Closed {
            self.close(key, CloseReason::Done);
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
                self.close(key, CloseReason::IoError);
            }
            Ok(_) if done => self.close(key, CloseReason::Done),
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
        step: fn(&mut Conn, &mut Io<'_>) -> Drive,
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
                if let Some(conn) = self.conns.get_mut(key) {
                    if !conn.queued {
                        conn.queued = true;
                        self.ready.push(Token(key));
                    }
                }
                self.arm(key);
            }
            Drive::Close(reason) => self.close(key, reason),
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
    fn conn_mut(&mut self, id: ConnId) -> Option<&mut Conn> {
        self.conns
            .get_mut(id.key())
            .filter(|c| c.id == id && c.state() != crate::conn::State::Closed)
    }

    /// Have the connection at `key` driven after the current batch.
    fn queue(&mut self, key: usize) {
        if let Some(conn) = self.conns.get_mut(key) {
            if !conn.queued {
                conn.queued = true;
                self.ready.push(Token(key));
            }
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

    /// Note a push for delivery, linked after the target's earlier pushes. Pushed
    /// bytes stay in `links.bytes` until the target is driven or the loop
    /// iteration ends, whichever is first: so all a target is pushed in one
    /// iteration leaves in one write, ahead of anything its session writes later.
    fn plan_push(&mut self, to: ConnId, start: usize, end: usize) {
        let key = to.key();
        if self.push_lists.len() <= key {
            self.push_lists.resize(key + 1, (NONE, NONE));
        }
        let index = self.push_plan.len() as u32;
        self.push_plan.push((to, start, end, NONE));
        match self.push_lists[key] {
            (NONE, _) => self.push_lists[key] = (index, index),
            (first, last) => {
                self.push_plan[last as usize].3 = index;
                self.push_lists[key] = (first, index);
            }
        }
    }

    /// Deliver every planned push (the end of a loop iteration), then recycle the
    /// push buffer.
    fn deliver_all_pushes(&mut self, now: Instant) {
        let mut i = 0;
        // Closing a connection may plan more pushes (its session's last words).
        while i < self.push_plan.len() {
            let key = self.push_plan[i].0.key();
            if self.push_lists[key].0 == i as u32 {
                self.deliver_pushes_to(key, now);
            }
            i += 1;
        }
        self.push_plan.clear();
        self.links.bytes.clear();
        // Keep the allocation, within reason: a fan-out (a PUBLISH batch to a
        // thousand subscribers) queues megabytes per iteration, and freeing them each
        // time makes the allocator hand the pages back and fault them in again.
        if self.links.bytes.capacity() > MAX_KEPT_PUSH_BYTES {
            self.links.bytes = Vec::new();
        }
    }

    /// Deliver the pushes planned for the connection at `key`, in order, in one
    /// vectored write (or appended to its unsent output), then check its soft
    /// limit.
    fn deliver_pushes_to(&mut self, key: usize, now: Instant) {
        let Some(&(first, _)) = self.push_lists.get(key) else {
            return;
        };
        if first == NONE {
            return;
        }
        self.push_lists[key] = (NONE, NONE);
        let to = self.push_plan[first as usize].0;
        let Some(conn) = self
            .conns
            .get_mut(key)
            .filter(|c| c.id == to && c.open_for_pushes())
        else {
            return; // closed since the pushes were checked
        };
        let ranges = &mut self.push_ranges;
        ranges.clear();
        let mut next = first;
        while next != NONE {
            let (id, start, end, after) = self.push_plan[next as usize];
            if id == to {
                ranges.push((start, end));
            }
            next = after;
        }
        let before = conn.buffered_output();
        let pushed: usize = ranges.iter().map(|&(start, end)| end - start).sum();
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
        self.stats.pushes += self.push_ranges.len() as u64;
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
                self.close(key, CloseReason::OutputLimit);
            }
            Err(e) => {
                log::debug!("connection {to}: push write failed: {e}");
                self.stats.io_errors += 1;
                self.close(key, CloseReason::IoError);
            }
        }
    }

    fn apply_effect(&mut self, effect: Effect, now: Instant) {
        match effect {
            Effect::Connect { addr, session, tls } => {
                if let Err((e, mut session)) = self.start_connect(addr, session, tls) {
                    log::debug!("connect to {addr}: {e}");
                    self.stats.connect_errors += 1;
                    // The connection never existed: its session hears of it under
                    // an id no connection ever has (generation 0).
                    let mut ctx = Ctx::new(ConnId::new(0, 0), now, &mut self.links);
                    session.on_connect_failed(&mut ctx, &e);
                }
            }
            Effect::Link(a, b) => {
                let linkable = |c: &Conn| c.open_for_pushes() && c.link().is_none();
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
            Effect::Push { to, start, end } => self.plan_push(to, start, end),
            Effect::OverLimit(to) => {
                if self.conn_mut(to).is_some() {
                    log::warn!("connection {to} closed: pushed output over its hard limit");
                    self.stats.output_limit_closes += 1;
                    self.close(to.key(), CloseReason::OutputLimit);
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
                    self.close(id.key(), CloseReason::Aborted);
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

    fn close(&mut self, key: usize, reason: CloseReason) {
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        if conn.is_released() {
            return;
        }
        log::debug!("connection {} closed: {reason:?}", conn.id);
        if reason == CloseReason::Done {
            conn.close_in_order();
        }
        conn.mark_closed();
        self.links.slots[key].open = false;
        let now = Instant::now();
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
                self.close(peer.key(), reason);
            }
        }
        self.apply_effects(now);
    }

    /// Free the slots of connections closed during this batch (dropping the socket
    /// closes it, which also removes it from the epoll set), and resume accepting
    /// if the connection limit had paused it.
    fn free_dead(&mut self) {
        if self.dead.is_empty() {
            return;
        }
        for key in self.dead.drain(..) {
            self.conns.remove(key);
        }
        if self.conns.len() < self.config.max_connections && self.stopping.is_none() {
            for (i, endpoint) in self.endpoints.iter().enumerate() {
                if let Endpoint::Tcp(l) = endpoint {
                    if l.pending && l.paused_until.is_none() {
                        self.ready.push(Token(ENDPOINT_BASE + i));
                    }
                }
            }
        }
    }

    fn on_endpoint(&mut self, index: usize, event: Option<&mio::event::Event>, now: Instant) {
        match self.endpoints.get_mut(index) {
            Some(Endpoint::Tcp(listener)) => {
                if event.is_some() {
                    listener.pending = true;
                }
                self.accept(index, now);
            }
            Some(Endpoint::Udp(udp)) => {
                if let Some(event) = event {
                    udp.on_event(event);
                }
                if udp.drive(&mut self.scratch, self.config.udp_budget, &mut self.stats) {
                    self.ready.push(Token(ENDPOINT_BASE + index));
                }
            }
            Some(Endpoint::Closed) | None => {}
        }
    }

    fn accept(&mut self, index: usize, now: Instant) {
        for _ in 0..self.config.accept_budget {
            let Some(Endpoint::Tcp(listener)) = self.endpoints.get_mut(index) else {
                return;
            };
            if !listener.pending || listener.paused_until.is_some() || self.stopping.is_some() {
                return;
            }
            if self.conns.len() >= self.config.max_connections {
                // Leave `pending` set: `free_dead` resumes us when a slot frees.
                return;
            }
            let (mut stream, peer) = match listener.socket.accept() {
                Ok(accepted) => accepted,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    listener.pending = false;
                    return;
                }
                // The client gave up before we got to it, or (Linux) a network error
                // pending on the new connection is reported by accept: retry.
                Err(e) if is_transient_accept_error(&e) => continue,
                // EMFILE, ENFILE, ENOBUFS, ENOMEM: retrying now would fail again and
                // spin. The connection stays in the backlog; try again shortly.
                Err(e) => {
                    listener.paused_until = Some(now + ACCEPT_BACKOFF);
                    self.timers
                        .push(now + ACCEPT_BACKOFF, Timer::AcceptResume(index));
                    self.stats.accept_errors += 1;
                    if self
                        .last_accept_warning
                        .is_none_or(|t| now.duration_since(t) >= Duration::from_secs(1))
                    {
                        log::warn!("accept failed: {e}; pausing accepts for {ACCEPT_BACKOFF:?}");
                        self.last_accept_warning = Some(now);
                    }
                    return;
                }
            };
            let service = listener.service;
            #[cfg(feature = "tls")]
            if let Some(config) = &listener.tls {
                stream = match stream.with_tls(config) {
                    Ok(tls) => tls,
                    Err(e) => {
                        log::warn!("TLS for the connection from {peer}: {e}");
                        self.stats.tls_handshake_errors += 1;
                        continue;
                    }
                };
            }
            let key = self.conns.vacant_key();
            // Both interests, once: with edge-triggered polling a WRITABLE edge only
            // follows a full send buffer, so this costs no wake-ups, and it saves
            // two epoll_ctl calls every time a reply does not fit the socket.
            if let Err(e) = self.poll.registry().register(
                &mut stream,
                Token(key),
                Interest::READABLE | Interest::WRITABLE,
            ) {
                // Out of epoll watches or memory: like EMFILE, back off.
                log::warn!("registering connection from {peer}: {e}");
                self.stats.accept_errors += 1;
                if let Some(Endpoint::Tcp(listener)) = self.endpoints.get_mut(index) {
                    listener.paused_until = Some(now + ACCEPT_BACKOFF);
                    self.timers
                        .push(now + ACCEPT_BACKOFF, Timer::AcceptResume(index));
                }
                return;
            }
            let session = match peer {
                Peer::Tcp(addr) => self.services[service].0.open(addr),
                #[cfg(unix)]
                Peer::Unix => self.services[service].0.open_unix(),
            };
            let id = self.new_id(key);
            self.conns.insert(Conn::new(stream, session, id, now));
            self.stats.accepted += 1;
            self.stats.active += 1;
            log::trace!("accepted {peer} as connection {id}");
            // Let the session greet its peer.
            self.drive_conn_with(key, now, Conn::open);
        }
        // Budget spent with connections possibly still waiting: continue next turn.
        self.ready.push(Token(ENDPOINT_BASE + index));
    }

    fn fire_timers(&mut self, now: Instant) {
        while let Some((at, timer)) = self.timers.pop_due(now) {
            match timer {
                Timer::Conn { key, generation } => self.fire_conn_timer(key, generation, at, now),
                Timer::ServiceTick(index) => {
                    if let Some((service, Some(interval))) = self.services.get_mut(index) {
                        service.on_tick(now);
                        self.timers.push(now + *interval, timer);
                    }
                }
                Timer::UdpTick(index) => {
                    let Some(&(endpoint, interval)) = self.udp_tickers.get(index) else {
                        continue;
                    };
                    // A closed endpoint's ticker stops.
                    if let Some(Endpoint::Udp(udp)) = self.endpoints.get_mut(endpoint) {
                        udp.tick(now, &mut self.stats);
                        self.timers.push(now + interval, timer);
                    }
                }
                Timer::AcceptResume(index) => {
                    if let Some(Endpoint::Tcp(listener)) = self.endpoints.get_mut(index) {
                        if listener.paused_until.is_some_and(|t| t <= now) {
                            listener.paused_until = None;
                            listener.pending = true;
                            self.ready.push(Token(ENDPOINT_BASE + index));
                        }
                    }
                }
            }
        }
        let conns = &self.conns;
        self.timers.compact(conns.len(), |key, generation, at| {
            conns
                .get(key)
                .is_some_and(|c| c.id.generation() == generation && c.armed == Some(at))
        });
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
                self.close(key, CloseReason::Timeout)
            }
            _ if conn.has_callbacks_due(now) => self.drive_conn(key, now),
            _ => self.arm(key),
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let next = self.timers.next_deadline();
        match (next, self.stopping) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn on_signal(&mut self, now: Instant) {
        let Some(signals) = self.signals.as_mut() else {
            return;
        };
        let received: Vec<i32> = signals.pending().collect();
        if received.is_empty() {
            return;
        }
        if self.stopping.is_some() {
            log::warn!("second signal during shutdown: closing all connections now");
            self.stopping = Some(now);
        } else {
            log::info!("signal {received:?}: shutting down");
            self.begin_shutdown(now);
        }
    }

    /// Stop accepting and move every connection to `Closing`: each closes once its
    /// replies are delivered and the peer has seen our FIN, or when the shutdown
    /// deadline passes.
    fn begin_shutdown(&mut self, now: Instant) {
        self.links.stopping = true;
        // Pushes already accepted are owed like any other output.
        self.deliver_all_pushes(now);
        self.stopping = Some(now + self.config.shutdown_timeout);
        self.shared.stop.store(true, Ordering::Release);
        self.close_endpoints();
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
                self.close(key, CloseReason::Shutdown);
                continue;
            }
            if conn.link().is_some() {
                continue; // relays finish on their own, within the shutdown deadline
            }
            conn.begin_shutdown();
            self.drive_conn(key, now);
        }
        log::info!(
            "shutting down: {} connections finishing their replies",
            self.conns.len() - self.dead.len()
        );
        self.free_dead();
    }

    /// Close every listener and UDP socket (their indices stay, so tokens keep
    /// their meaning).
    fn close_endpoints(&mut self) {
        for endpoint in &mut self.endpoints {
            match endpoint {
                Endpoint::Tcp(l) => {
                    let _ = self.poll.registry().deregister(&mut l.socket);
                }
                Endpoint::Udp(u) => {
                    let _ = self.poll.registry().deregister(&mut u.socket);
                    // UDP promises no delivery; count what we give up.
                    self.stats.udp_dropped += u.queued() as u64;
                }
                Endpoint::Closed => {}
            }
            *endpoint = Endpoint::Closed;
        }
    }

    fn close_all(&mut self) {
        let keys: Vec<usize> = self.conns.iter().map(|(key, _)| key).collect();
        for key in keys {
            self.close(key, CloseReason::Shutdown);
        }
        self.free_dead();
    }
}

/// Errors after which `accept` should simply be called again. Linux's accept(2)
/// reports network errors already pending on the new connection (EPROTO, ENETDOWN,
/// EHOSTUNREACH, ...) and says to treat them like EAGAIN; EPERM comes from a
/// firewall rule on that one connection. Resource errors (EMFILE, ENFILE, ENOBUFS,
/// ENOMEM) are *not* transient: retrying at once would spin.
fn is_transient_accept_error(e: &io::Error) -> bool {
    // Linux errno values: EPERM 1, ENONET 64, EPROTO 71, ENOPROTOOPT 92,
    // EOPNOTSUPP 95, ENETDOWN 100, ENETUNREACH 101, ETIMEDOUT 110,
    // EHOSTDOWN 112, EHOSTUNREACH 113.
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    ) || matches!(
        e.raw_os_error(),
        Some(1 | 64 | 71 | 92 | 95 | 100 | 101 | 110 | 112 | 113)
    )
}
