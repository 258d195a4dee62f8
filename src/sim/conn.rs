//! One connection alone: a [`Session`] on the hub over an in-memory socket.

use std::net::SocketAddr;
use std::time::Duration;

use super::{Client, Closed, Sim};
use crate::reactor::Config;
use crate::service::{Session, StreamService};

/// A [`Session`] on the reactor's connection state machine over an in-memory
/// socket, alone: the one-connection case of [`Sim`], for driving a session byte by
/// byte (the fuzz and split-invariance harnesses do). Its own timers, wakes,
/// pushes to itself and output limits work as in the reactor, on the simulated
/// clock; pushes and wakes to other connections answer
/// [`PushError::Closed`](crate::PushError::Closed).
///
/// ```
/// use evloop::sim::SimConn;
/// use evloop::proto::echo::Echo;
///
/// let mut conn = SimConn::new(Box::new(Echo));
/// conn.receive(b"hello");
/// assert_eq!(conn.take_sent(), b"hello");
/// conn.receive_fin();
/// assert!(conn.is_closed());
/// ```
pub struct SimConn {
    sim: Sim,
    client: Client,
}

impl std::fmt::Debug for SimConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimConn")
            .field("closed", &self.closed())
            .finish_non_exhaustive()
    }
}

/// A service that opens one given session.
struct Once(Option<Box<dyn Session>>);

impl StreamService for Once {
    fn open(&mut self, _peer: SocketAddr) -> Box<dyn Session> {
        self.0.take().expect("a SimConn has one connection")
    }
}

impl SimConn {
    /// An accepted connection with the reactor's default [`Config`] and a send
    /// buffer that takes everything; `on_open` has run.
    pub fn new(session: Box<dyn Session>) -> SimConn {
        SimConn::with_config(session, &Config::default())
    }

    /// As [`SimConn::new`], with the limits of `config` (high- and low-water
    /// marks, input cap, read budget, timeouts, push output limit).
    pub fn with_config(session: Box<dyn Session>, config: &Config) -> SimConn {
        let mut sim = Sim::new(config);
        let addr = sim.listen(([127, 0, 0, 1], 1).into(), Once(Some(session)));
        let client = sim.connect(addr);
        SimConn { sim, client }
    }

    /// The peer sends `bytes`; the connection gets a readable edge and runs.
    pub fn receive(&mut self, bytes: &[u8]) {
        self.sim.send(self.client, bytes);
    }

    /// The peer sends FIN (after everything it sent before).
    pub fn receive_fin(&mut self) {
        self.sim.send_fin(self.client);
    }

    /// The peer resets the connection: reads fail once what it sent is read.
    pub fn receive_reset(&mut self) {
        self.sim.reset(self.client);
    }

    /// Set how many more bytes the send buffer takes before a write blocks.
    /// Raising it gives the connection a writable edge.
    pub fn set_send_room(&mut self, room: usize) {
        self.sim.set_room(self.client, room);
    }

    /// The peer reads everything sent so far. The send buffer's room is unchanged;
    /// use [`SimConn::set_send_room`] to model the room the read frees.
    pub fn take_sent(&mut self) -> Vec<u8> {
        let bytes = self
            .sim
            .peer(self.client)
            .from_conn
            .borrow_mut()
            .take_all(false);
        bytes
    }

    /// Move the clock on by `by`: due session timers fire, passed deadlines close
    /// the connection.
    pub fn advance(&mut self, by: Duration) {
        self.sim.advance(by);
    }

    /// Unsent output the connection holds (what the send buffer did not take).
    pub fn pending_output(&self) -> usize {
        self.sim.pending_output(self.client)
    }

    /// Whether the connection is closed, and so the session has heard `on_closed`.
    pub fn is_closed(&self) -> bool {
        self.closed().is_some()
    }

    /// How the connection ended, once it has.
    pub fn closed(&self) -> Option<Closed> {
        self.sim.closed(self.client)
    }

    /// Whether we have sent FIN (shut down writing).
    pub fn fin_sent(&mut self) -> bool {
        self.sim.peer(self.client).from_conn.borrow().fin
    }

    /// Bytes sent by the peer that the connection has not read (backpressure, a
    /// pause, or the input cap stopped it).
    pub fn unread(&mut self) -> usize {
        self.sim.unread_from(self.client)
    }

    /// Reads the connection made so far.
    pub fn reads(&self) -> u64 {
        self.sim.stats().reads
    }

    /// Writes the connection made so far.
    pub fn writes(&self) -> u64 {
        self.sim.stats().writes
    }
}
