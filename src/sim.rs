//! The reactor's connection state machine without a reactor: a [`Session`] driven
//! over an in-memory socket.
//!
//! A [`SimConn`] runs the very code the reactor runs for each TCP connection
//! (`src/conn.rs`: edge-triggered reads, the unsent tail, backpressure, pauses and
//! streams, half-close, draining) on a [`SimConn`]-owned socket whose every
//! behaviour the test chooses: how bytes arrive (one `read` per chunk delivered,
//! then `WouldBlock`), when the peer's FIN comes, how much the send buffer takes
//! before a write blocks, and when the peer reads. Like quinn's in-memory `Pair`,
//! it makes the connection's decisions testable byte by byte, without descriptors
//! or timing — and it is what the fuzz harness drives sessions through.
//!
//! A simulated connection is alone: pushes and wakes to other connections answer
//! [`PushError::Closed`](crate::PushError::Closed). Its own timers, wakes, pushes
//! to itself and output limits work as in the reactor, on the simulated clock.
//!
//! ```
//! use evloop::sim::SimConn;
//! use evloop::proto::echo::Echo;
//!
//! let mut conn = SimConn::new(Box::new(Echo));
//! conn.receive(b"hello");
//! assert_eq!(conn.take_sent(), b"hello");
//! conn.receive_fin();
//! assert!(conn.is_closed());
//! ```

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::TcpStream;

use crate::conn::{CloseReason, Conn, Drive, Io, Limits, Readiness, Transport};
use crate::ctx::{view_bytes, ConnId, Effect, Links, SlotView};
use crate::reactor::Config;
use crate::service::Session;
use crate::stats::Stats;

/// Most drives one call makes while the connection asks to be driven again
/// (`Drive::Again`): a session that never stops is reported, not looped on.
const MAX_AGAIN: usize = 100_000;

/// The in-memory socket under a [`SimConn`].
#[derive(Debug)]
struct SimSocket {
    /// Chunks the peer sent and we have not read: one `read` returns at most one.
    inbound: VecDeque<Vec<u8>>,
    /// The peer sent FIN after `inbound`.
    fin: bool,
    /// A read error to report once `inbound` is empty (a reset).
    reset: bool,
    /// Bytes we wrote that the peer has not read.
    sent: Vec<u8>,
    /// Send-buffer room: how many more bytes a write takes before it blocks.
    room: usize,
    /// We shut down writing (our FIN).
    write_shut: bool,
}

impl Read for SimSocket {
    /// Like a kernel socket: everything that has arrived, up to `buf`'s size (so a
    /// short read proves the queue empty, the rule `conn.rs` relies on).
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.inbound.is_empty() {
            if self.reset {
                return Err(io::ErrorKind::ConnectionReset.into());
            }
            return if self.fin {
                Ok(0)
            } else {
                Err(io::ErrorKind::WouldBlock.into())
            };
        }
        let mut n = 0;
        while n < buf.len() {
            let Some(chunk) = self.inbound.front_mut() else {
                break;
            };
            let take = chunk.len().min(buf.len() - n);
            buf[n..n + take].copy_from_slice(&chunk[..take]);
            chunk.drain(..take);
            n += take;
            if chunk.is_empty() {
                self.inbound.pop_front();
            }
        }
        Ok(n)
    }
}

impl Write for SimSocket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.write_shut {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        if self.room == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(self.room);
        self.sent.extend_from_slice(&buf[..n]);
        self.room -= n;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Transport for SimSocket {
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.write_shut = true;
        Ok(())
    }

    fn take_error(&self) -> io::Result<Option<io::Error>> {
        Ok(None)
    }

    fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    fn socket(&self) -> Option<&TcpStream> {
        None // no descriptor: relays copy, never splice
    }
}

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

/// A [`Session`] on the reactor's connection state machine over an in-memory
/// socket; see the [module docs](self).
pub struct SimConn {
    conn: Conn<SimSocket>,
    env: Env,
    closed: Option<Closed>,
}

/// What the reactor lends a connection, owned here.
struct Env {
    limits: Limits,
    stats: Stats,
    links: Links,
    scratch: Vec<u8>,
    out: Vec<u8>,
    now: Instant,
}

impl Env {
    fn io(&mut self) -> Io<'_> {
        Io {
            scratch: &mut self.scratch,
            out: &mut self.out,
            stats: &mut self.stats,
            limits: &self.limits,
            now: self.now,
            links: &mut self.links,
        }
    }
}

impl std::fmt::Debug for SimConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimConn")
            .field("state", &self.conn.state())
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl SimConn {
    /// An accepted connection with the reactor's default [`Config`], a send buffer
    /// that takes everything, and a 64 KiB read buffer; `on_open` has run.
    pub fn new(session: Box<dyn Session>) -> SimConn {
        SimConn::with_config(session, &Config::default())
    }

    /// As [`SimConn::new`], with the limits of `config` (high- and low-water
    /// marks, input cap, read budget, timeouts, push output limit).
    pub fn with_config(session: Box<dyn Session>, config: &Config) -> SimConn {
        let now = Instant::now();
        let socket = SimSocket {
            inbound: VecDeque::new(),
            fin: false,
            reset: false,
            sent: Vec::new(),
            room: usize::MAX,
            write_shut: false,
        };
        let id = ConnId::new(0, 1);
        let mut links = Links::default();
        links.set(
            0,
            SlotView {
                generation: 1,
                open: true,
                pending: 0,
                hard_limit: view_bytes(config.push_output_limit.hard),
            },
        );
        let mut sim = SimConn {
            conn: Conn::new(socket, session, id, now),
            env: Env {
                limits: Limits::from_config(config),
                stats: Stats::default(),
                links,
                scratch: vec![0; crate::hub::SCRATCH_SIZE],
                out: Vec::new(),
                now,
            },
            closed: None,
        };
        let drive = sim.conn.open(&mut sim.env.io());
        sim.settle(drive);
        sim
    }

    /// The peer sends `bytes`; the connection gets a readable edge and runs.
    pub fn receive(&mut self, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.conn.transport_mut().inbound.push_back(bytes.to_vec());
        }
        self.edge(Readiness {
            readable: true,
            ..Readiness::default()
        });
    }

    /// The peer sends FIN (after everything it sent before).
    pub fn receive_fin(&mut self) {
        self.conn.transport_mut().fin = true;
        self.edge(Readiness {
            readable: true,
            read_closed: true,
            ..Readiness::default()
        });
    }

    /// The peer resets the connection: reads fail once what it sent is read.
    pub fn receive_reset(&mut self) {
        self.conn.transport_mut().reset = true;
        self.edge(Readiness {
            readable: true,
            read_closed: true,
            writable: true,
        });
    }

    /// Set how many more bytes the send buffer takes before a write blocks.
    /// Raising it gives the connection a writable edge.
    pub fn set_send_room(&mut self, room: usize) {
        let grew = room > self.conn.transport_mut().room;
        self.conn.transport_mut().room = room;
        if grew {
            self.edge(Readiness {
                writable: true,
                ..Readiness::default()
            });
        }
    }

    /// The peer reads everything sent so far. The send buffer's room is unchanged;
    /// use [`SimConn::set_send_room`] to model the room the read frees.
    pub fn take_sent(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.conn.transport_mut().sent)
    }

    /// Move the clock on by `by`: due session timers fire, passed deadlines close
    /// the connection.
    pub fn advance(&mut self, by: Duration) {
        self.env.now += by;
        if self.closed.is_some() {
            return;
        }
        if self.conn.has_callbacks_due(self.env.now) {
            self.run();
        }
        if self.closed.is_none()
            && self
                .conn
                .deadline(&self.env.limits)
                .is_some_and(|at| at <= self.env.now)
        {
            self.close(CloseReason::Timeout);
        }
    }

    /// Unsent output the connection holds (what the send buffer did not take).
    pub fn pending_output(&self) -> usize {
        self.conn.pending_output()
    }

    /// Whether the connection is closed, and so the session has heard `on_closed`.
    pub fn is_closed(&self) -> bool {
        self.closed.is_some()
    }

    /// How the connection ended, once it has.
    pub fn closed(&self) -> Option<Closed> {
        self.closed
    }

    /// Whether we have sent FIN (shut down writing).
    pub fn fin_sent(&mut self) -> bool {
        self.conn.transport_mut().write_shut
    }

    /// Bytes sent by the peer that the connection has not read (backpressure, a
    /// pause, or the input cap stopped it).
    pub fn unread(&mut self) -> usize {
        self.conn.transport_mut().inbound.iter().map(Vec::len).sum()
    }

    /// Reads the connection made so far.
    pub fn reads(&self) -> u64 {
        self.env.stats.reads
    }

    /// Writes the connection made so far.
    pub fn writes(&self) -> u64 {
        self.env.stats.writes
    }

    fn edge(&mut self, edge: Readiness) {
        if self.closed.is_some() {
            return;
        }
        self.conn.on_readiness(edge);
        self.run();
    }

    /// Drive until the connection waits for the next edge (or closes), applying
    /// what the session asked of its context in between, as the reactor does.
    fn run(&mut self) {
        for _ in 0..MAX_AGAIN {
            if self.closed.is_some() {
                return;
            }
            let drive = self.conn.drive(&mut self.env.io());
            let again = self.settle(drive);
            if !again && !self.conn.has_callbacks_due(self.env.now) {
                return;
            }
        }
        panic!("the connection asked to be driven again {MAX_AGAIN} times in a row");
    }

    /// Apply effects and the drive's outcome; `true` if it asked to run again.
    fn settle(&mut self, drive: Drive) -> bool {
        self.apply_effects();
        if let Some(view) = self.env.links.slots.get_mut(0) {
            view.pending = view_bytes(self.conn.pending_output());
            view.open = view.open && self.conn.open_for_pushes();
        }
        match drive {
            Drive::Wait => false,
            Drive::Again => true,
            Drive::Close(reason) => {
                self.close(reason);
                false
            }
        }
    }

    fn apply_effects(&mut self) {
        let effects = std::mem::take(&mut self.env.links.effects);
        let me = self.conn.id;
        // Pushes to itself are delivered together at the end, as the reactor does.
        let mut pushes = Vec::new();
        for effect in effects {
            match effect {
                Effect::Push { to, start, end } if to == me => pushes.push((start, end)),
                Effect::OverLimit(to) if to == me => self.close(CloseReason::OutputLimit),
                Effect::Kill(to) if to == me => self.close(CloseReason::Aborted),
                Effect::Waiting { on, waiting } if on == me => self.conn.set_waiting(waiting),
                Effect::Wake(to) if to == me => self.conn.wake(),
                Effect::SetTimer { on, at, token } if on == me => self.conn.set_timer(at, token),
                Effect::CancelTimer { on, token } if on == me => self.conn.cancel_timer(token),
                Effect::SetOutputLimit { on, limit } if on == me => self.conn.set_push_limit(limit),
                // Alone: connects, links and effects on others reach nobody.
                _ => {}
            }
        }
        if !pushes.is_empty() && self.closed.is_none() {
            let bytes = std::mem::take(&mut self.env.links.bytes);
            let env = &mut self.env;
            match self.conn.push_ranges(
                &bytes,
                &pushes,
                &mut env.out,
                &env.limits,
                &mut env.stats,
                env.now,
            ) {
                Ok(true) => {}
                Ok(false) => self.close(CloseReason::OutputLimit),
                Err(_) => self.close(CloseReason::IoError),
            }
        }
        self.env.links.bytes.clear();
    }

    fn close(&mut self, reason: CloseReason) {
        if self.closed.is_some() {
            return;
        }
        self.closed = Some(match reason {
            CloseReason::Done | CloseReason::Shutdown | CloseReason::ConnectFailed => Closed::Done,
            CloseReason::Aborted => Closed::Aborted,
            CloseReason::IoError => Closed::IoError,
            CloseReason::Timeout => Closed::Timeout,
            CloseReason::OutputLimit => Closed::OutputLimit,
        });
        self.conn.mark_closed();
        if let Some(view) = self.env.links.slots.get_mut(0) {
            view.open = false;
        }
        self.conn.closed(&mut self.env.links, self.env.now);
        self.env.links.effects.clear();
        self.env.links.bytes.clear();
    }
}
