//! The hub without a reactor: many connections over in-memory sockets, on a clock
//! the test moves.
//!
//! [`Sim`] drives the very code the reactor drives — the hub (`src/hub/`: the
//! slab, pushes, links, timers, the close cascade) and each connection's state
//! machine (`src/conn/`) — over sockets whose every behaviour the test chooses:
//! what a client sends and when, its FIN or a reset, how much a peer's window
//! takes before a write blocks, when the peer reads. Like quinn's in-memory
//! `Pair` for `quinn-proto`, it makes what involves several connections — a chat
//! room, a publisher and a thousand subscribers, a client blocked until another
//! pushes, a proxied pair with a slow end — a deterministic test: no
//! descriptors, no threads, no wall-clock waits. Claims about time are exact on
//! its clock ([`Sim::advance`]).
//!
//! Services listen on addresses ([`Sim::listen`]); the test's clients connect
//! ([`Sim::connect`]) and are [`Client`] handles. An outbound connection a
//! session opens ([`Ctx::connect`](crate::Ctx::connect)) reaches the service
//! listening on its address, or a peer the test plays itself
//! ([`Sim::listen_peer`], then [`Sim::accepted`]); nobody listening means
//! refused. TLS is not simulated: a TLS connect is a plain one here.
//!
//! [`SimConn`] is the one-connection case, the session alone (the fuzz and
//! split-invariance harnesses drive sessions through it).
//!
//! ```
//! use evloop::proto::echo::Echo;
//! use evloop::sim::Sim;
//!
//! let mut sim = Sim::new(&evloop::Config::default());
//! let addr = sim.listen(([127, 0, 0, 1], 7).into(), Echo);
//! let alice = sim.connect(addr);
//! sim.send(alice, b"hello");
//! assert_eq!(sim.received(alice), b"hello");
//! sim.send_fin(alice);
//! assert!(sim.fin_received(alice));
//! assert!(sim.closed(alice).is_some());
//! ```

mod conn;
pub(crate) mod socket;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::conn::{CloseReason, Limits, Readiness};
use crate::ctx::ConnId;
use crate::hub::{ConnectRequest, Hub};
use crate::reactor::Config;
use crate::service::StreamService;
use crate::stats::Stats;

pub use conn::SimConn;
use socket::{Channel, SimSocket};

/// Most turns one call runs while work remains (a session that never stops is
/// reported, not looped on).
const MAX_TURNS: usize = 1_000_000;

/// How a simulated connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// Orderly: the session closed, or both sides finished.
    Done,
    /// The session aborted, or broke a limit.
    Aborted,
    /// A read or write failed (the peer reset).
    IoError,
    /// A deadline passed.
    Timeout,
    /// Pushed output passed the output limit.
    OutputLimit,
}

impl From<CloseReason> for Closed {
    fn from(reason: CloseReason) -> Closed {
        match reason {
            CloseReason::Done | CloseReason::Shutdown | CloseReason::ConnectFailed => Closed::Done,
            CloseReason::Aborted => Closed::Aborted,
            CloseReason::IoError => Closed::IoError,
            CloseReason::Timeout => Closed::Timeout,
            CloseReason::OutputLimit => Closed::OutputLimit,
        }
    }
}

/// A peer the test plays: its end of one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Client(usize);

/// The test's end of a connection.
struct Peer {
    /// The hub's connection at the other end.
    conn: ConnId,
    /// What the test sends: the connection reads it.
    to_conn: Rc<RefCell<Channel>>,
    /// What the connection writes: the test reads it.
    from_conn: Rc<RefCell<Channel>>,
}

/// Who listens on an address.
enum Listener {
    Service(usize),
    /// The test answers connections itself ([`Sim::accepted`]).
    Peer(Vec<Client>),
}

/// A connection's socket channels, to find the edges a turn must deliver.
struct Wire {
    id: ConnId,
    rx: Rc<RefCell<Channel>>,
    tx: Rc<RefCell<Channel>>,
}

/// Many connections on the hub over in-memory sockets; see the
/// [module docs](self).
pub struct Sim {
    hub: Hub<SimSocket>,
    now: Instant,
    listeners: BTreeMap<SocketAddr, Listener>,
    /// Per slab key, the live connection's channels.
    wires: BTreeMap<usize, Wire>,
    peers: Vec<Peer>,
    /// How each connection ended.
    closes: BTreeMap<ConnId, Closed>,
    /// The send buffer between two simulated connections (an outbound
    /// connection to a service): what a write takes before it blocks.
    window: usize,
    next_port: u16,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("connections", &self.hub.len())
            .field("peers", &self.peers.len())
            .finish_non_exhaustive()
    }
}

impl Sim {
    /// A simulator with the reactor's limits from `config` (marks, caps, budgets,
    /// timeouts, push limits) and no listeners yet. Connections between two
    /// simulated sessions get a 256 KiB window each way ([`Sim::set_window`]).
    pub fn new(config: &Config) -> Sim {
        let mut hub = Hub::new(Limits::from_config(config));
        hub.record_closes = true;
        Sim {
            hub,
            now: Instant::now(),
            listeners: BTreeMap::new(),
            wires: BTreeMap::new(),
            peers: Vec::new(),
            closes: BTreeMap::new(),
            window: 256 * 1024,
            next_port: 40_000,
        }
    }

    /// Serve `service` on `addr` (any address: nothing is bound). Returns `addr`.
    pub fn listen(
        &mut self,
        addr: SocketAddr,
        service: impl StreamService + 'static,
    ) -> SocketAddr {
        let index = self.hub.add_service(Box::new(service), self.now);
        self.listeners.insert(addr, Listener::Service(index));
        addr
    }

    /// Let the test answer the connections sessions open to `addr` itself: each
    /// becomes a [`Client`] handle, in [`Sim::accepted`].
    pub fn listen_peer(&mut self, addr: SocketAddr) {
        self.listeners.insert(addr, Listener::Peer(Vec::new()));
    }

    /// The connections sessions opened to `addr` (see [`Sim::listen_peer`]), in
    /// order, as the test's ends.
    pub fn accepted(&self, addr: SocketAddr) -> Vec<Client> {
        match self.listeners.get(&addr) {
            Some(Listener::Peer(accepted)) => accepted.clone(),
            _ => Vec::new(),
        }
    }

    /// The window of connections between two simulated sessions opened from now
    /// on, each way.
    pub fn set_window(&mut self, bytes: usize) {
        self.window = bytes;
    }

    /// A client connects to the service on `addr`; its session opens (and may
    /// greet). The client's window is unlimited until [`Sim::set_room`].
    ///
    /// # Panics
    /// If no service listens on `addr` (a test's mistake).
    pub fn connect(&mut self, addr: SocketAddr) -> Client {
        let Some(Listener::Service(service)) = self.listeners.get(&addr) else {
            panic!("no service listens on {addr}");
        };
        let service = *service;
        let (socket, peer) = self.pair(usize::MAX, usize::MAX);
        let from = socket.peer;
        let key = self.hub.vacant_key();
        let (rx, tx) = (Rc::clone(&socket.rx), Rc::clone(&socket.tx));
        let id = self.hub.accept(socket, service, Some(from), self.now);
        self.wires.insert(key, Wire { id, rx, tx });
        let client = self.add_peer(id, peer);
        self.run();
        client
    }

    /// The client sends `bytes`.
    pub fn send(&mut self, client: Client, bytes: &[u8]) {
        self.peer(client).to_conn.borrow_mut().push(bytes);
        self.run();
    }

    /// The client sends FIN, after what it sent before.
    pub fn send_fin(&mut self, client: Client) {
        let mut to = self.peer(client).to_conn.borrow_mut();
        to.fin = true;
        to.readable_edge = true;
        drop(to);
        self.run();
    }

    /// The client resets the connection: reads fail once what it sent is read,
    /// and writes to it fail.
    pub fn reset(&mut self, client: Client) {
        let peer = self.peer(client);
        let mut to = peer.to_conn.borrow_mut();
        to.reset = true;
        to.readable_edge = true;
        drop(to);
        let mut from = peer.from_conn.borrow_mut();
        from.reader_gone = true;
        from.writable_edge = true;
        drop(from);
        self.run();
    }

    /// The client reads everything sent to it so far, which frees that much room
    /// in its window.
    pub fn received(&mut self, client: Client) -> Vec<u8> {
        let bytes = self.peer(client).from_conn.borrow_mut().take_all(true);
        self.run();
        bytes
    }

    /// As [`Sim::received`], as text (lossy).
    pub fn received_text(&mut self, client: Client) -> String {
        String::from_utf8_lossy(&self.received(client)).into_owned()
    }

    /// Bytes sent to the client that it has not read.
    pub fn unread_by(&self, client: Client) -> usize {
        self.peer(client).from_conn.borrow().data.len()
    }

    /// Bytes the client sent that the connection has not read (backpressure, a
    /// pause, or the input cap stopped it).
    pub fn unread_from(&self, client: Client) -> usize {
        self.peer(client).to_conn.borrow().data.len()
    }

    /// How many more bytes the connection may write to the client before a write
    /// blocks: a slow reader is `set_room(c, 0)`; raising it gives a writable edge.
    pub fn set_room(&mut self, client: Client, room: usize) {
        self.peer(client).from_conn.borrow_mut().set_room(room);
        self.run();
    }

    /// Whether the connection has sent FIN (or closed), after what the client
    /// may not have read yet.
    pub fn fin_received(&self, client: Client) -> bool {
        self.peer(client).from_conn.borrow().fin
    }

    /// How the client's connection ended, once it has.
    pub fn closed(&self, client: Client) -> Option<Closed> {
        self.closes.get(&self.peer(client).conn).copied()
    }

    /// Output the client's connection holds unsent (what its window did not take).
    pub fn pending_output(&self, client: Client) -> usize {
        let id = self.peer(client).conn;
        self.hub
            .conns
            .get(id.key())
            .filter(|c| c.id == id)
            .map_or(0, |c| c.pending_output())
    }

    /// Connections open (not closed), the test's peers' and those between
    /// simulated sessions.
    pub fn open_connections(&self) -> usize {
        self.hub
            .conns
            .iter()
            .filter(|(_, c)| !c.is_released())
            .count()
    }

    /// The reactor's counters, for this simulation.
    pub fn stats(&self) -> Stats {
        self.hub.stats
    }

    /// The simulated time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Move the clock on by `by`, stopping at each timer on the way (session
    /// timers, deadlines, service ticks fire at their time, in order).
    pub fn advance(&mut self, by: Duration) {
        let end = self.now + by;
        while let Some(at) = self.hub.timers.next_deadline() {
            if at > end {
                break;
            }
            self.now = self.now.max(at);
            self.run();
        }
        self.now = end;
        self.run();
    }

    /// Run turns of the loop until nothing is left to do at this time.
    pub fn run(&mut self) {
        for _ in 0..MAX_TURNS {
            if !self.turn() {
                return;
            }
        }
        panic!("the simulation still had work after {MAX_TURNS} turns");
    }

    /// One loop iteration, as the reactor's: edges, the ready list, timers,
    /// the services' `before_poll`, pushes delivered, slots freed. Returns
    /// whether there was anything to do.
    fn turn(&mut self) -> bool {
        let now = self.now;
        let edges = self.take_edges();
        let ready = self.hub.take_ready();
        let timer_due = self.hub.timers.next_deadline().is_some_and(|at| at <= now);
        if edges.is_empty()
            && ready.is_empty()
            && !timer_due
            && !self.hub.has_connects()
            && !self.hub.has_pushes()
            && self.hub.closing_this_turn() == 0
            && !self.hub.busy()
        {
            return false;
        }
        for (key, edge) in edges {
            self.hub.on_readiness(key, edge, now);
        }
        for key in ready {
            self.hub.drive_queued(key, now);
        }
        self.open_connects();
        while let Some(fired) = self.hub.fire_next_timer(now) {
            debug_assert!(fired.is_none(), "the simulator sets no timers of its own");
            self.open_connects();
        }
        self.hub.compact_timers();
        if self.hub.before_poll(now) {
            for key in self.hub.take_ready() {
                self.hub.drive_queued(key, now);
            }
        }
        self.open_connects();
        self.hub.end_turn(now);
        for (id, reason) in self.hub.take_closes() {
            self.closes.insert(id, reason.into());
        }
        let conns = &self.hub.conns;
        self.wires
            .retain(|&key, wire| conns.get(key).is_some_and(|c| c.id == wire.id));
        true
    }

    /// The edges the sockets raised since the last turn, per connection.
    fn take_edges(&mut self) -> Vec<(usize, Readiness)> {
        let mut edges = Vec::new();
        for (&key, wire) in &self.wires {
            let mut rx = wire.rx.borrow_mut();
            let mut tx = wire.tx.borrow_mut();
            let readable = std::mem::take(&mut rx.readable_edge);
            let writable = std::mem::take(&mut tx.writable_edge);
            if readable || writable {
                edges.push((
                    key,
                    Readiness {
                        readable,
                        read_closed: readable && (rx.fin || rx.reset),
                        writable,
                    },
                ));
            }
        }
        edges
    }

    /// Open the outbound connections sessions asked for.
    fn open_connects(&mut self) {
        while self.hub.has_connects() {
            for ConnectRequest { addr, session, .. } in self.hub.take_connects() {
                let window = self.window;
                let (socket, far) = self.pair(window, window);
                let mut socket = socket;
                socket.peer = addr;
                // The connect completes (or is refused) at once: a writable edge.
                socket.tx.borrow_mut().writable_edge = true;
                let listener = self.listeners.get(&addr).map(|l| match l {
                    Listener::Service(index) => Some(*index),
                    Listener::Peer(_) => None,
                });
                socket.refused = listener.is_none();
                let key = self.hub.vacant_key();
                let (rx, tx) = (Rc::clone(&socket.rx), Rc::clone(&socket.tx));
                let id = self.hub.insert_connecting(socket, session, self.now);
                self.wires.insert(key, Wire { id, rx, tx });
                match listener {
                    None => drop(far),
                    Some(Some(service)) => {
                        let from = SocketAddr::from(([127, 0, 0, 1], self.port()));
                        let mut far = far.into_socket(from);
                        far.peer = from;
                        let key = self.hub.vacant_key();
                        let (rx, tx) = (Rc::clone(&far.rx), Rc::clone(&far.tx));
                        let id = self.hub.accept(far, service, Some(from), self.now);
                        self.wires.insert(key, Wire { id, rx, tx });
                    }
                    Some(None) => {
                        let client = self.add_peer(id, far);
                        if let Some(Listener::Peer(accepted)) = self.listeners.get_mut(&addr) {
                            accepted.push(client);
                        }
                    }
                }
            }
        }
    }

    /// A connection's socket, and the far end's channels (a test's peer, or the
    /// socket of the accepting session).
    fn pair(&mut self, to_conn_room: usize, from_conn_room: usize) -> (SimSocket, FarEnd) {
        let to_conn = Channel::new(to_conn_room);
        let from_conn = Channel::new(from_conn_room);
        let peer = SocketAddr::from(([127, 0, 0, 1], self.port()));
        let socket = SimSocket {
            rx: Rc::clone(&to_conn),
            tx: Rc::clone(&from_conn),
            peer,
            refused: false,
        };
        (socket, FarEnd { to_conn, from_conn })
    }

    fn port(&mut self) -> u16 {
        self.next_port = self.next_port.checked_add(1).unwrap_or(1024);
        self.next_port
    }

    fn add_peer(&mut self, conn: ConnId, far: FarEnd) -> Client {
        self.peers.push(Peer {
            conn,
            to_conn: far.to_conn,
            from_conn: far.from_conn,
        });
        Client(self.peers.len() - 1)
    }

    fn peer(&self, client: Client) -> &Peer {
        &self.peers[client.0]
    }
}

/// The other end of a connection's channels.
struct FarEnd {
    to_conn: Rc<RefCell<Channel>>,
    from_conn: Rc<RefCell<Channel>>,
}

impl FarEnd {
    /// The far end as a socket of its own (a simulated session accepting).
    fn into_socket(self, peer: SocketAddr) -> SimSocket {
        SimSocket {
            rx: self.from_conn,
            tx: self.to_conn,
            peer,
            refused: false,
        }
    }
}
