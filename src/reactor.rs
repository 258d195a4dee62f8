//! The event loop: one `mio::Poll`, one thread; the driver of the [`Hub`] over real
//! sockets.
//!
//! The reactor polls, accepts, registers sockets, serves UDP and signals, and
//! dispatches readiness to the hub, which holds the connections and everything
//! between them (`hub/`). The loop is Redis's `ae.c` in shape: wait for readiness with a timeout equal to
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

use crate::conn::{Limits, Readiness};
use crate::ctx::{ClientTls, OutputLimit};
use crate::hub::{tick_interval, ConnectRequest, Hub};
use crate::service::{DatagramService, Session, StreamService};
use crate::stats::{SharedStats, Stats};
use crate::stream::{ListenSocket, Peer, Stream};
use crate::timer::Timer;
use crate::udp::UdpEndpoint;

const WAKER: Token = Token(usize::MAX);
const SIGNALS: Token = Token(usize::MAX - 1);
/// Listeners and UDP sockets get `ENDPOINT_BASE + index`; connection keys stay below.
const ENDPOINT_BASE: usize = usize::MAX / 2;
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

/// A single-threaded event loop serving TCP listeners and UDP sockets.
pub struct Reactor {
    poll: Poll,
    config: Config,
    /// The connections and everything between them.
    hub: Hub<Stream>,
    endpoints: Vec<Endpoint>,
    /// Tickers of UDP services that asked for them: (endpoint index, interval).
    udp_tickers: Vec<(usize, Duration)>,
    shared: Arc<Shared>,
    signals: Option<signal_hook_mio::v1_0::Signals>,
    /// Endpoints with work left over from the last wake-up (the hub keeps the
    /// connections' list).
    ready: Vec<usize>,
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
        Ok(Reactor {
            poll,
            hub: Hub::new(Limits::from_config(&config)),
            endpoints: Vec::new(),
            udp_tickers: Vec::new(),
            shared: Arc::new(Shared {
                waker,
                stop: AtomicBool::new(false),
                release: AtomicBool::new(false),
                stats: SharedStats::default(),
            }),
            signals: None,
            ready: Vec::new(),
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
        self.hub.stats
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
        let service = self.hub.add_service(service, Instant::now());
        self.endpoints.push(Endpoint::Tcp(Listener {
            socket: listener,
            service,
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
        endpoint.start(&mut self.hub.stats);
        if let Some(interval) = endpoint.tick_interval().map(tick_interval) {
            let tick = Timer::UdpTick(self.udp_tickers.len());
            self.hub.timers.push(Instant::now() + interval, tick);
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
    ) -> Result<crate::ConnId, (io::Error, Box<dyn Session>)> {
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
        let key = self.hub.vacant_key();
        if let Err(e) = self.poll.registry().register(
            &mut stream,
            Token(key),
            Interest::READABLE | Interest::WRITABLE,
        ) {
            return Err((e, session));
        }
        Ok(self.hub.insert_connecting(stream, session, now))
    }

    /// Open the outbound connections sessions asked for ([`Ctx::connect`](crate::Ctx::connect)).
    fn open_connects(&mut self, now: Instant) {
        while self.hub.has_connects() {
            for ConnectRequest { addr, session, tls } in self.hub.take_connects() {
                if let Err((e, session)) = self.start_connect(addr, session, tls) {
                    log::debug!("connect to {addr}: {e}");
                    self.hub.connect_failed(session, &e, now);
                }
            }
        }
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
                        self.hub.len()
                    );
                    self.close_endpoints();
                }
                if self.hub.len() == 0 {
                    break;
                }
            }
            if let Some(deadline) = self.stopping {
                if now >= deadline {
                    self.hub.close_all(now);
                    self.open_connects(now);
                    self.free_dead(now);
                }
                if self.hub.len() == 0 {
                    break;
                }
            }
            let timeout = if self.ready.is_empty() && !self.hub.has_ready() && !self.hub.busy() {
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
            self.hub.stats.polls += 1;
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            let now = Instant::now();
            let ready = std::mem::take(&mut self.ready);
            let ready_conns = self.hub.take_ready();
            for event in events.iter() {
                self.dispatch(event, now);
            }
            for index in ready {
                self.on_endpoint(index, None, now);
            }
            for key in ready_conns {
                self.hub.drive_queued(key, now);
            }
            self.open_connects(now);
            self.fire_timers(now);
            if self.hub.before_poll(now) {
                // Connections waiting for what the services just did (replies held
                // until a log was synced) go now, not after another poll.
                for key in self.hub.take_ready() {
                    self.hub.drive_queued(key, now);
                }
            }
            self.open_connects(now);
            self.free_dead(now);
            self.shared.stats.publish(&self.hub.stats);
        }
        self.shared.stats.publish(&self.hub.stats);
        log::info!("reactor stopped: {:?}", self.hub.stats);
        Ok(())
    }

    fn dispatch(&mut self, event: &mio::event::Event, now: Instant) {
        match event.token() {
            WAKER => {}
            SIGNALS => self.on_signal(now),
            Token(i) if i >= ENDPOINT_BASE => self.on_endpoint(i - ENDPOINT_BASE, Some(event), now),
            Token(key) => {
                let error = event.is_error();
                let edge = Readiness {
                    readable: event.is_readable() || event.is_read_closed() || error,
                    read_closed: event.is_read_closed() || error,
                    writable: event.is_writable() || event.is_write_closed() || error,
                };
                self.hub.on_readiness(key, edge, now);
            }
        }
    }

    /// End the turn: deliver the planned pushes and free the slots of connections
    /// closed during it (dropping the socket closes it, which also removes it from
    /// the epoll set), and resume accepting if the connection limit had paused it.
    fn free_dead(&mut self, now: Instant) {
        if !self.hub.end_turn(now) {
            return;
        }
        if self.hub.len() < self.config.max_connections && self.stopping.is_none() {
            for (i, endpoint) in self.endpoints.iter().enumerate() {
                if let Endpoint::Tcp(l) = endpoint {
                    if l.pending && l.paused_until.is_none() {
                        self.ready.push(i);
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
                let hub = &mut self.hub;
                if udp.drive(&mut hub.scratch, self.config.udp_budget, &mut hub.stats) {
                    self.ready.push(index);
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
            if self.hub.len() >= self.config.max_connections {
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
                    self.hub
                        .timers
                        .push(now + ACCEPT_BACKOFF, Timer::AcceptResume(index));
                    self.hub.stats.accept_errors += 1;
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
                        self.hub.stats.tls_handshake_errors += 1;
                        continue;
                    }
                };
            }
            let key = self.hub.vacant_key();
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
                self.hub.stats.accept_errors += 1;
                if let Some(Endpoint::Tcp(listener)) = self.endpoints.get_mut(index) {
                    listener.paused_until = Some(now + ACCEPT_BACKOFF);
                    self.hub
                        .timers
                        .push(now + ACCEPT_BACKOFF, Timer::AcceptResume(index));
                }
                return;
            }
            let address = match peer {
                Peer::Tcp(addr) => Some(addr),
                #[cfg(unix)]
                Peer::Unix => None,
            };
            // The session greets its peer.
            let id = self.hub.accept(stream, service, address, now);
            log::trace!("accepted {peer} as connection {id}");
            self.open_connects(now);
        }
        // Budget spent with connections possibly still waiting: continue next turn.
        self.ready.push(index);
    }

    /// Fire what is due: the hub's connection and service entries, and the
    /// reactor's own (UDP ticks, the end of an accept back-off).
    fn fire_timers(&mut self, now: Instant) {
        while let Some(fired) = self.hub.fire_next_timer(now) {
            match fired {
                None => self.open_connects(now),
                Some(timer @ Timer::UdpTick(index)) => {
                    let Some(&(endpoint, interval)) = self.udp_tickers.get(index) else {
                        continue;
                    };
                    // A closed endpoint's ticker stops.
                    if let Some(Endpoint::Udp(udp)) = self.endpoints.get_mut(endpoint) {
                        udp.tick(now, &mut self.hub.stats);
                        self.hub.timers.push(now + interval, timer);
                    }
                }
                Some(Timer::AcceptResume(index)) => {
                    if let Some(Endpoint::Tcp(listener)) = self.endpoints.get_mut(index) {
                        if listener.paused_until.is_some_and(|t| t <= now) {
                            listener.paused_until = None;
                            listener.pending = true;
                            self.ready.push(index);
                        }
                    }
                }
                Some(Timer::Conn { .. } | Timer::ServiceTick(_)) => {}
            }
        }
        self.hub.compact_timers();
    }

    fn next_deadline(&self) -> Option<Instant> {
        let next = self.hub.timers.next_deadline();
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
        self.stopping = Some(now + self.config.shutdown_timeout);
        self.shared.stop.store(true, Ordering::Release);
        self.close_endpoints();
        self.hub.begin_shutdown(now);
        log::info!(
            "shutting down: {} connections finishing their replies",
            self.hub.len() - self.hub.closing_this_turn()
        );
        self.open_connects(now);
        self.free_dead(now);
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
                    self.hub.stats.udp_dropped += u.queued() as u64;
                }
                Endpoint::Closed => {}
            }
            *endpoint = Endpoint::Closed;
        }
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
