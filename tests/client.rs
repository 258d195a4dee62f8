//! Outbound connections: the reactor as a client, with the same sessions and
//! state machine as accepted connections.

mod common;

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::Server;
use evloop::proto::echo::Echo;
use evloop::{Config, Ctx, DatagramService, Datagrams, Next, Session, Step};

/// What a client session saw.
#[derive(Debug, Default, Clone, PartialEq)]
struct Seen {
    connected: bool,
    failed: Option<io::ErrorKind>,
    received: Vec<u8>,
}

/// Sends `message` once connected; closes once it has all come back.
struct Pinger {
    message: Vec<u8>,
    seen: Arc<Mutex<Seen>>,
}

impl Session for Pinger {
    fn on_connected(&mut self, _ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Next {
        self.seen.lock().unwrap().connected = true;
        out.extend_from_slice(&self.message);
        Next::Read
    }

    fn on_connect_failed(&mut self, _ctx: &mut Ctx<'_>, error: &io::Error) {
        self.seen.lock().unwrap().failed = Some(error.kind());
    }

    fn on_input(&mut self, _ctx: &mut Ctx<'_>, input: &[u8], _out: &mut Vec<u8>) -> Step {
        let mut seen = self.seen.lock().unwrap();
        seen.received.extend_from_slice(input);
        let next = if seen.received.len() >= self.message.len() {
            Next::Close
        } else {
            Next::Read
        };
        Step {
            consumed: input.len(),
            next,
        }
    }
}

/// A `Pinger` (to be built on the reactor's thread: sessions are not `Send`) and
/// what it will see.
fn pinger(message: &[u8]) -> (Pinger, Arc<Mutex<Seen>>) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let session = Pinger {
        message: message.to_vec(),
        seen: Arc::clone(&seen),
    };
    (session, seen)
}

/// Poll `seen` until `done` holds (bounded).
fn wait_until(seen: &Arc<Mutex<Seen>>, done: impl Fn(&Seen) -> bool) -> Seen {
    let deadline = std::time::Instant::now() + common::IO_TIMEOUT;
    loop {
        let now = seen.lock().unwrap().clone();
        if done(&now) {
            return now;
        }
        assert!(std::time::Instant::now() < deadline, "timed out: {now:?}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn a_connection_to_our_own_listener_round_trips() {
    let payload: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
    let (session, seen) = pinger(&payload);
    let server = Server::start(Config::default(), move |r| {
        let l = evloop::net::bind_tcp("127.0.0.1:0".parse().unwrap(), Default::default()).unwrap();
        let addr = r.add_tcp_listener(l, Echo).unwrap();
        r.connect(addr, Box::new(session)).unwrap();
        (Some(addr), None)
    });
    let seen = wait_until(&seen, |s| s.received.len() >= payload.len());
    assert!(seen.connected);
    assert!(seen.received == payload);
    let stats = server.wait_for("both ends closed", |s| s.active == 0);
    assert_eq!(stats.connected, 1);
    assert_eq!(stats.accepted, 1);
}

#[test]
fn a_refused_connect_is_reported_to_the_session() {
    // A socket bound but not listening holds the port, so no other test can take it,
    // and a connect to it is refused.
    let reserved =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    reserved
        .bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    let target = reserved.local_addr().unwrap().as_socket().unwrap();
    let (session, seen) = pinger(b"x");
    let server = Server::start(Config::default(), move |r| {
        r.connect(target, Box::new(session)).unwrap();
        (None, None)
    });
    let seen = wait_until(&seen, |s| s.failed.is_some());
    assert_eq!(seen.failed, Some(io::ErrorKind::ConnectionRefused));
    assert!(!seen.connected);
    // Counters are published at the end of a loop iteration: before the first
    // one ends they still read zero, `active` included.
    let stats = server.wait_for("the failure counted and the slot freed", |s| {
        s.connect_errors >= 1 && s.active == 0
    });
    assert_eq!(stats.connect_errors, 1);
}

#[test]
fn a_connect_that_never_completes_times_out() {
    // A listener with a backlog of 0 that never accepts: once its queue is full
    // the kernel drops further SYNs, so a connect stays pending.
    let listener = evloop::net::bind_tcp(
        "127.0.0.1:0".parse().unwrap(),
        evloop::net::ListenOptions {
            backlog: 0,
            ..Default::default()
        },
    )
    .unwrap();
    let target = listener.local_addr().unwrap();
    let fillers: Vec<_> = (0..4)
        .filter_map(|_| {
            std::net::TcpStream::connect_timeout(&target, Duration::from_millis(200)).ok()
        })
        .collect();
    let (session, seen) = pinger(b"x");
    let server = Server::start(
        Config {
            connect_timeout: Duration::from_millis(300),
            ..Config::default()
        },
        move |r| {
            r.connect(target, Box::new(session)).unwrap();
            (None, None)
        },
    );
    let seen = wait_until(&seen, |s| s.failed.is_some());
    assert_eq!(seen.failed, Some(io::ErrorKind::TimedOut));
    server.wait_for("slot freed", |s| s.active == 0 && s.timeouts == 1);
    drop((fillers, listener));
}

/// A UDP client: sends on start, records replies.
struct UdpPinger {
    target: SocketAddr,
    replies: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl DatagramService for UdpPinger {
    fn on_start(&mut self, out: &mut Datagrams) {
        out.send(b"first", self.target);
    }

    fn on_datagram(&mut self, data: &[u8], _from: SocketAddr, out: &mut Datagrams) {
        let mut replies = self.replies.lock().unwrap();
        replies.push(data.to_vec());
        if replies.len() == 1 {
            out.send(b"second", self.target);
        }
    }
}

#[test]
fn a_udp_client_socket_sends_first_and_gets_replies() {
    let replies = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&replies);
    let _server = Server::start(Config::default(), move |r| {
        let server_sock =
            evloop::net::bind_udp("127.0.0.1:0".parse().unwrap(), Default::default()).unwrap();
        let server_addr = r.add_udp_socket(server_sock, Echo).unwrap();
        let client_sock =
            evloop::net::bind_udp("127.0.0.1:0".parse().unwrap(), Default::default()).unwrap();
        r.add_udp_socket(
            client_sock,
            UdpPinger {
                target: server_addr,
                replies,
            },
        )
        .unwrap();
        (None, Some(server_addr))
    });
    let deadline = std::time::Instant::now() + common::IO_TIMEOUT;
    while seen.lock().unwrap().len() < 2 {
        assert!(std::time::Instant::now() < deadline, "no replies");
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(
        *seen.lock().unwrap(),
        vec![b"first".to_vec(), b"second".to_vec()]
    );
}

/// A session that never consumes anything: only the reactor's input cap can stop it.
struct Hoarder;

impl Session for Hoarder {
    fn on_input(&mut self, _ctx: &mut Ctx<'_>, _input: &[u8], _out: &mut Vec<u8>) -> Step {
        Step::read(0)
    }
}

struct HoarderService;

impl evloop::StreamService for HoarderService {
    fn open(&mut self, _peer: SocketAddr) -> Box<dyn Session> {
        Box::new(Hoarder)
    }
}

#[test]
fn input_over_the_cap_that_the_session_never_consumes_closes_gracefully() {
    use std::io::{Read, Write};
    let server = Server::start(
        Config {
            max_input: 4096,
            ..Config::default()
        },
        |r| {
            let l =
                evloop::net::bind_tcp("127.0.0.1:0".parse().unwrap(), Default::default()).unwrap();
            (Some(r.add_tcp_listener(l, HoarderService).unwrap()), None)
        },
    );
    let mut client = common::connect(server.tcp());
    client.write_all(&[b'x'; 16 * 1024]).unwrap();
    // The server stops at its cap and closes with FIN: a clean EOF, not a reset,
    // and no unbounded buffering.
    let mut buf = [0u8; 64];
    assert_eq!(client.read(&mut buf).expect("EOF, not a reset"), 0);
    drop(client);
    let stats = server.wait_for("closed", |s| s.active == 0);
    assert!(stats.bytes_in < 16 * 1024 + 64 * 1024);
    assert_eq!(stats.io_errors, 0);
}
