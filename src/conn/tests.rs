//! Each transition of the connection machine, over the simulator's in-memory
//! socket: the connection is driven here the way the hub drives it, one edge at
//! a time, and its state is checked after each.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Instant;

use super::*;
use crate::ctx::{view_bytes, SlotView};
use crate::hub::SCRATCH_SIZE;
use crate::proto::echo::Echo;
use crate::service::Step;
use crate::sim::socket::{Channel, SimSocket};

/// What the hub lends a connection, owned by the test.
struct Env {
    limits: Limits,
    stats: Stats,
    links: Links,
    scratch: Vec<u8>,
    out: Vec<u8>,
    now: Instant,
}

impl Env {
    fn new() -> Env {
        let config = crate::Config::default();
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
        Env {
            limits: Limits::from_config(&config),
            stats: Stats::default(),
            links,
            scratch: vec![0; SCRATCH_SIZE],
            out: Vec::new(),
            now: Instant::now(),
        }
    }

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

/// A connection and the peer's ends of its socket.
struct Case {
    conn: Conn<SimSocket>,
    env: Env,
    to_conn: Rc<RefCell<Channel>>,
    from_conn: Rc<RefCell<Channel>>,
}

impl Case {
    fn accepted(session: Box<dyn Session>) -> Case {
        Case::with(session, false, false)
    }

    fn with(session: Box<dyn Session>, connecting: bool, refused: bool) -> Case {
        let to_conn = Channel::new(usize::MAX);
        let from_conn = Channel::new(usize::MAX);
        let socket = SimSocket {
            rx: Rc::clone(&to_conn),
            tx: Rc::clone(&from_conn),
            peer: SocketAddr::from(([127, 0, 0, 1], 1)),
            refused,
        };
        let mut env = Env::new();
        let id = ConnId::new(0, 1);
        let conn = if connecting {
            Conn::connecting(socket, session, id, env.now)
        } else {
            let mut conn = Conn::new(socket, session, id, env.now);
            assert_eq!(conn.open(&mut env.io()), Drive::Wait);
            conn
        };
        Case {
            conn,
            env,
            to_conn,
            from_conn,
        }
    }

    /// The peer sends `bytes`, then the connection is driven on the edge.
    fn send(&mut self, bytes: &[u8]) -> Drive {
        self.to_conn.borrow_mut().push(bytes);
        self.edge(true, false, false)
    }

    /// The peer's FIN arrives.
    fn fin(&mut self) -> Drive {
        self.to_conn.borrow_mut().fin = true;
        self.edge(true, true, false)
    }

    fn edge(&mut self, readable: bool, read_closed: bool, writable: bool) -> Drive {
        self.conn.on_readiness(Readiness {
            readable,
            read_closed,
            writable,
        });
        self.conn.drive(&mut self.env.io())
    }

    fn sent(&self) -> Vec<u8> {
        self.from_conn.borrow_mut().take_all(false)
    }

    fn fin_sent(&self) -> bool {
        self.from_conn.borrow().fin
    }
}

/// Echoes, closes on "quit", and holds the connection after the peer's FIN when
/// asked to (a proxy waiting for its upstream).
struct Scripted {
    hold_on_fin: bool,
}

impl Session for Scripted {
    fn on_input(&mut self, _ctx: &mut Ctx<'_>, input: &[u8], out: &mut Vec<u8>) -> Step {
        if input.starts_with(b"quit") {
            out.extend_from_slice(b"bye");
            return Step {
                consumed: input.len(),
                next: Next::Close,
            };
        }
        out.extend_from_slice(input);
        Step::read(input.len())
    }

    fn on_peer_closed(&mut self, _ctx: &mut Ctx<'_>, _input: &[u8], _out: &mut Vec<u8>) -> Next {
        if self.hold_on_fin {
            Next::Read
        } else {
            Next::Close
        }
    }

    fn on_wake(&mut self, _ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Next {
        out.extend_from_slice(b"woken");
        Next::Close
    }
}

#[test]
fn open_echoes_and_stays_open() {
    let mut case = Case::accepted(Box::new(Echo));
    assert_eq!(case.conn.state(), State::Open);
    assert_eq!(case.send(b"ping"), Drive::Wait);
    assert_eq!(case.sent(), b"ping");
    assert_eq!(case.conn.state(), State::Open);
}

#[test]
fn open_to_peer_closed_then_closed_once_nothing_is_owed() {
    let mut case = Case::accepted(Box::new(Echo));
    case.from_conn.borrow_mut().room = 2; // the reply does not fit
    case.to_conn.borrow_mut().push(b"last");
    assert_eq!(case.fin(), Drive::Wait, "the reply is owed");
    assert_eq!(case.conn.state(), State::PeerClosedRead { held: false });
    assert_eq!(case.sent(), b"la");
    case.from_conn.borrow_mut().set_room(usize::MAX);
    assert_eq!(
        case.edge(false, false, true),
        Drive::Close(CloseReason::Done)
    );
    assert_eq!(case.sent(), b"st");
}

#[test]
fn peer_closed_and_held_keeps_the_connection_until_the_session_decides() {
    let mut case = Case::accepted(Box::new(Scripted { hold_on_fin: true }));
    case.to_conn.borrow_mut().push(b"partial");
    // The session consumes everything it is given; hold it with a FIN alone.
    assert_eq!(case.edge(true, false, false), Drive::Wait);
    case.sent();
    assert_eq!(case.fin(), Drive::Wait);
    assert_eq!(case.conn.state(), State::PeerClosedRead { held: true });
    // A wake lets the session decide: it closes, after its last words.
    case.conn.wake();
    assert_eq!(
        case.conn.drive(&mut case.env.io()),
        Drive::Close(CloseReason::Done)
    );
    assert_eq!(case.sent(), b"woken");
    assert!(case.fin_sent());
}

#[test]
fn open_to_closing_to_draining_to_closed_when_the_session_closes() {
    let mut case = Case::accepted(Box::new(Scripted { hold_on_fin: false }));
    assert_eq!(case.send(b"quit"), Drive::Wait);
    assert_eq!(case.sent(), b"bye");
    assert!(case.fin_sent(), "FIN after the last byte");
    assert_eq!(case.conn.state(), State::Draining);
    // Input that arrives meanwhile is read and dropped, never answered.
    assert_eq!(case.send(b"ignored"), Drive::Wait);
    assert_eq!(case.sent(), b"");
    assert_eq!(case.fin(), Drive::Close(CloseReason::Done));
}

#[test]
fn closing_waits_for_the_output_before_fin() {
    let mut case = Case::accepted(Box::new(Scripted { hold_on_fin: false }));
    case.from_conn.borrow_mut().room = 1;
    assert_eq!(case.send(b"quit"), Drive::Wait);
    assert_eq!(case.conn.state(), State::Closing { by_shutdown: false });
    assert!(!case.fin_sent());
    case.from_conn.borrow_mut().set_room(usize::MAX);
    assert_eq!(case.edge(false, false, true), Drive::Wait);
    assert_eq!(case.sent(), b"bye");
    assert!(case.fin_sent());
    assert_eq!(case.conn.state(), State::Draining);
}

#[test]
fn shutdown_closes_by_shutdown_and_still_delivers_wakes() {
    let mut case = Case::accepted(Box::new(Scripted { hold_on_fin: false }));
    case.from_conn.borrow_mut().room = 0; // a reply is still owed...
    case.send(b"owed");
    case.conn.begin_shutdown();
    assert_eq!(case.conn.state(), State::Closing { by_shutdown: true });
    // ...and the session may still be woken (a reply held for a log sync).
    case.conn.wake();
    assert!(case.conn.has_callbacks_due(case.env.now));
    case.from_conn.borrow_mut().set_room(usize::MAX);
    assert_eq!(case.edge(false, false, true), Drive::Wait);
    assert_eq!(case.sent(), b"owedwoken");
    assert_eq!(case.conn.state(), State::Draining);
}

#[test]
fn connecting_to_open_on_the_writable_edge() {
    let mut case = Case::with(Box::new(Echo), true, false);
    assert_eq!(case.conn.state(), State::Connecting);
    assert_eq!(
        case.conn.drive(&mut case.env.io()),
        Drive::Wait,
        "no edge yet"
    );
    assert_eq!(case.conn.state(), State::Connecting);
    assert_eq!(case.edge(false, false, true), Drive::Wait);
    assert_eq!(case.conn.state(), State::Open);
    assert_eq!(case.env.stats.connected, 1);
}

#[test]
fn connecting_fails_when_refused() {
    let mut case = Case::with(Box::new(Echo), true, true);
    assert_eq!(
        case.edge(false, false, true),
        Drive::Close(CloseReason::ConnectFailed)
    );
    assert_eq!(case.env.stats.connect_errors, 1);
}

#[test]
fn backpressure_stops_reading_over_high_water_and_resumes_below_low_water() {
    let mut case = Case::accepted(Box::new(Echo));
    case.env.limits.high_water = 1000;
    case.env.limits.low_water = 100;
    case.from_conn.borrow_mut().room = 0;
    case.send(&[7u8; 1500]);
    assert!(case.conn.backpressured);
    case.to_conn.borrow_mut().push(&[8u8; 10]);
    assert_eq!(case.edge(true, false, false), Drive::Wait);
    assert_eq!(
        case.to_conn.borrow().data.len(),
        10,
        "not read while backpressured"
    );
    case.from_conn.borrow_mut().set_room(usize::MAX);
    assert_eq!(case.edge(false, false, true), Drive::Wait);
    assert!(!case.conn.backpressured);
    assert_eq!(
        case.sent().len(),
        1510,
        "resumed: the waiting bytes were read too"
    );
}

#[test]
fn a_read_error_closes_with_an_io_error() {
    let mut case = Case::accepted(Box::new(Echo));
    case.to_conn.borrow_mut().reset = true;
    assert_eq!(
        case.edge(true, true, true),
        Drive::Close(CloseReason::IoError)
    );
    assert_eq!(case.env.stats.io_errors, 1);
}

#[test]
fn the_read_side_follows_edges_and_reads() {
    use super::read::ReadSide;
    let mut side = ReadSide::Drained;
    side.on_edge(true, false);
    assert_eq!(side, ReadSide::Readable);
    side.short_read();
    assert_eq!(
        side,
        ReadSide::Drained,
        "a short read proves the socket empty"
    );
    side.on_edge(true, true);
    assert_eq!(side, ReadSide::PeerClosedReadable);
    side.short_read();
    assert!(side.is_readable(), "after FIN a short read proves nothing");
    side.empty();
    assert_eq!(side, ReadSide::PeerClosed);
    side.on_edge(true, false);
    assert_eq!(side, ReadSide::PeerClosedReadable, "closed is sticky");
    let mut done = ReadSide::Eof;
    done.on_edge(true, true);
    assert_eq!(done, ReadSide::Eof);
    assert!(!done.is_readable());
}

#[test]
fn after_fin_is_reported_a_short_read_goes_on_to_the_fin() {
    let mut case = Case::accepted(Box::new(Echo));
    // Data and FIN reported in one edge: the first read is short, and only the
    // next one (0) consumes the FIN — it must be made without another edge.
    case.to_conn.borrow_mut().push(b"tail");
    case.to_conn.borrow_mut().fin = true;
    assert_eq!(
        case.edge(true, true, false),
        Drive::Close(CloseReason::Done)
    );
    assert_eq!(case.sent(), b"tail");
}
