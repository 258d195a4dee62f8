//! Connections that reach each other, over real sockets: a session's id, pushes
//! to other connections (and to stale ids), wakes, timers (set, moved, cancelled,
//! never fired after close), and the output limit closing a target that does not
//! read.
//!
//! The test service speaks a line protocol: each connection registers under the
//! name it sends first (`name NAME`), then `push NAME TEXT`, `wake NAME`,
//! `timer MS TOKEN`, `cancel TOKEN` act through its `Ctx`; `close` ends the
//! connection from the server's side.

mod common;

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{connect, Server};
use evloop::{Config, ConnId, Ctx, Next, OutputLimit, Session, Step, StreamService};

type Names = Rc<RefCell<HashMap<String, ConnId>>>;

struct Lines {
    names: Names,
    fired: Arc<AtomicUsize>,
}

impl StreamService for Lines {
    fn open(&mut self, _peer: SocketAddr) -> Box<dyn Session> {
        Box::new(LineSession {
            names: Rc::clone(&self.names),
            fired: Arc::clone(&self.fired),
            closing: false,
        })
    }
}

struct LineSession {
    names: Names,
    fired: Arc<AtomicUsize>,
    /// `close` was received.
    closing: bool,
}

impl LineSession {
    fn command(&mut self, ctx: &mut Ctx<'_>, line: &str, out: &mut Vec<u8>) {
        let mut words = line.splitn(3, ' ');
        let (verb, a, b) = (
            words.next().unwrap_or(""),
            words.next().unwrap_or(""),
            words.next().unwrap_or(""),
        );
        let target = |names: &Names| names.borrow().get(a).copied();
        let reply = match verb {
            "name" => {
                self.names.borrow_mut().insert(a.to_owned(), ctx.id());
                format!("id {}", ctx.id())
            }
            "push" => match target(&self.names) {
                Some(id) => match ctx.push(id, format!("{b}\n").as_bytes()) {
                    Ok(()) => "pushed".to_owned(),
                    Err(e) => format!("error {e}"),
                },
                None => "unknown".to_owned(),
            },
            "wake" => match target(&self.names).map(|id| ctx.wake(id)) {
                Some(Ok(())) => "woke".to_owned(),
                Some(Err(e)) => format!("error {e}"),
                None => "unknown".to_owned(),
            },
            "timer" => {
                ctx.set_timer(
                    Duration::from_millis(a.parse().unwrap()),
                    b.parse().unwrap(),
                );
                "set".to_owned()
            }
            "close" => {
                self.closing = true;
                "bye".to_owned()
            }
            "cancel" => {
                ctx.cancel_timer(a.parse().unwrap());
                "cancelled".to_owned()
            }
            "limit" => {
                ctx.set_output_limit(OutputLimit {
                    hard: a.parse().unwrap(),
                    soft: 0,
                    soft_for: Duration::ZERO,
                });
                "limited".to_owned()
            }
            _ => "?".to_owned(),
        };
        out.extend_from_slice(reply.as_bytes());
        out.push(b'\n');
    }
}

impl Session for LineSession {
    fn on_input(&mut self, ctx: &mut Ctx<'_>, input: &[u8], out: &mut Vec<u8>) -> Step {
        let mut at = 0;
        while let Some(end) = input[at..].iter().position(|&b| b == b'\n') {
            let line = String::from_utf8_lossy(&input[at..at + end]).into_owned();
            self.command(ctx, &line, out);
            at += end + 1;
            if self.closing {
                return Step {
                    consumed: at,
                    next: Next::Close,
                };
            }
        }
        Step::read(at)
    }

    fn on_wake(&mut self, _ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Next {
        out.extend_from_slice(b"woken\n");
        Next::Read
    }

    fn on_timer(&mut self, _ctx: &mut Ctx<'_>, token: u64, out: &mut Vec<u8>) -> Next {
        self.fired.fetch_add(1, Ordering::SeqCst);
        out.extend_from_slice(format!("timer {token}\n").as_bytes());
        Next::Read
    }
}

fn server() -> (Server, Arc<AtomicUsize>) {
    let fired = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&fired);
    let server = Server::start(Config::default(), move |r| {
        let l = evloop::net::bind_tcp(([127, 0, 0, 1], 0).into(), Default::default()).unwrap();
        let service = Lines {
            names: Names::default(),
            fired: counter,
        };
        (Some(r.add_tcp_listener(l, service).unwrap()), None)
    });
    (server, fired)
}

struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    fn new(addr: SocketAddr, name: &str) -> Client {
        let stream = connect(addr);
        let mut c = Client {
            writer: stream.try_clone().unwrap(),
            reader: BufReader::new(stream),
        };
        assert!(c.ask(&format!("name {name}")).starts_with("id "));
        c
    }

    fn send(&mut self, line: &str) {
        self.writer
            .write_all(format!("{line}\n").as_bytes())
            .unwrap();
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        assert!(self.reader.read_line(&mut line).unwrap() > 0, "closed");
        line.trim_end().to_owned()
    }

    fn ask(&mut self, line: &str) -> String {
        self.send(line);
        self.line()
    }
}

#[test]
fn pushes_and_wakes_reach_the_target_and_stale_ids_are_errors() {
    let (server, _) = server();
    let mut a = Client::new(server.tcp(), "a");
    let mut b = Client::new(server.tcp(), "b");
    assert_eq!(b.ask("push a hello from b"), "pushed");
    assert_eq!(a.line(), "hello from b");
    assert_eq!(b.ask("wake a"), "woke");
    assert_eq!(a.line(), "woken");
    // A push to oneself comes after the reply of the same call.
    assert_eq!(b.ask("push b to myself"), "pushed");
    assert_eq!(b.line(), "to myself");

    // a leaves; its id is now stale, and a new connection reusing its slot is
    // never reached through the old id.
    drop(a);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match b.ask("push a anyone?").as_str() {
            "error connection closed" => break,
            "pushed" => assert!(Instant::now() < deadline, "a never closed"),
            other => panic!("{other}"),
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut c = Client::new(server.tcp(), "c");
    assert_eq!(b.ask("push a still there?"), "error connection closed");
    assert_eq!(b.ask("wake a"), "error connection closed");
    assert_eq!(b.ask("push c hi c"), "pushed");
    assert_eq!(c.line(), "hi c");
    drop((b, c));
    let stats = server.stop();
    assert_eq!(stats.pushes, 3, "{stats:?}");
}

#[test]
fn timers_fire_once_can_be_moved_and_cancelled_and_die_with_their_connection() {
    let (server, fired) = server();
    let mut a = Client::new(server.tcp(), "a");
    assert_eq!(a.ask("timer 30 1"), "set");
    assert_eq!(a.ask("timer 10 2"), "set");
    assert_eq!(a.ask("cancel 2"), "cancelled");
    assert_eq!(a.ask("timer 5000 3"), "set");
    assert_eq!(a.ask("timer 20 3"), "set"); // moved earlier
    let first = a.line();
    let second = a.line();
    let mut got = [first, second];
    got.sort();
    assert_eq!(got, ["timer 1", "timer 3"]);
    assert_eq!(fired.load(Ordering::SeqCst), 2);

    // A timer of a connection that closed before it was due never fires.
    let mut b = Client::new(server.tcp(), "b");
    assert_eq!(b.ask("timer 100 9"), "set");
    drop(b);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(fired.load(Ordering::SeqCst), 2);
    // The reactor is still fine.
    assert_eq!(a.ask("timer 1 4"), "set");
    assert_eq!(a.line(), "timer 4");
    drop(a);
    server.stop();
}

#[test]
fn a_timer_due_while_its_connection_closes_does_not_stall_the_loop() {
    let (server, fired) = server();
    let mut a = Client::new(server.tcp(), "a");
    // The timer comes due after the server has sent its FIN, while the
    // connection lingers for ours (we never send it): it must neither fire nor
    // keep the loop from serving anyone else.
    assert_eq!(a.ask("timer 20 9"), "set");
    assert_eq!(a.ask("close"), "bye");
    let mut rest = String::new();
    assert_eq!(a.reader.read_line(&mut rest).unwrap(), 0, "FIN after bye");
    std::thread::sleep(Duration::from_millis(60)); // past the timer, not a sync
    let mut b = Client::new(server.tcp(), "b");
    assert_eq!(b.ask("timer 1 2"), "set");
    assert_eq!(b.line(), "timer 2");
    assert_eq!(fired.load(Ordering::SeqCst), 1, "only b's timer fired");
    drop((a, b));
    server.stop();
}

#[test]
fn a_target_that_does_not_read_is_closed_at_its_output_limit() {
    let (server, _) = server();
    // Small kernel buffers on both sides, so the server's own buffer fills.
    let stalled = {
        let socket =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        socket.connect(&server.tcp().into()).unwrap();
        TcpStream::from(socket)
    };
    let mut s = Client {
        writer: stalled.try_clone().unwrap(),
        reader: BufReader::new(stalled),
    };
    assert!(s.ask("name stalled").starts_with("id "));
    assert_eq!(s.ask("limit 100000"), "limited");
    let mut p = Client::new(server.tcp(), "pusher");
    let text = "x".repeat(1000);
    let mut outcome = String::new();
    for _ in 0..5000 {
        outcome = p.ask(&format!("push stalled {text}"));
        if outcome != "pushed" {
            break;
        }
    }
    assert_eq!(outcome, "error connection over its output limit: closed");
    assert_eq!(p.ask("push stalled more"), "error connection closed");
    drop(p);
    let stats = server.stop();
    assert_eq!(stats.output_limit_closes, 1, "{stats:?}");
    assert!(stats.output_buffered_peak <= 100_000, "{stats:?}");
}

/// Links every accepted connection to an outbound one to `upstream`, as a proxy.
struct Linker {
    upstream: SocketAddr,
}

impl StreamService for Linker {
    fn open(&mut self, _peer: SocketAddr) -> Box<dyn Session> {
        Box::new(Front {
            upstream: self.upstream,
        })
    }
}

struct Front {
    upstream: SocketAddr,
}

impl Session for Front {
    fn on_open(&mut self, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Next {
        ctx.connect(self.upstream, Box::new(Back { front: ctx.id() }));
        Next::Read
    }

    fn on_input(&mut self, _ctx: &mut Ctx<'_>, _input: &[u8], _out: &mut Vec<u8>) -> Step {
        Step::read(0) // held until linked
    }

    fn on_peer_closed(&mut self, _: &mut Ctx<'_>, _: &[u8], _: &mut Vec<u8>) -> Next {
        Next::Read
    }
}

struct Back {
    front: ConnId,
}

impl Session for Back {
    fn on_connected(&mut self, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Next {
        match ctx.link(self.front) {
            Ok(()) => Next::Read,
            Err(_) => Next::Close,
        }
    }

    fn on_input(&mut self, _ctx: &mut Ctx<'_>, input: &[u8], _out: &mut Vec<u8>) -> Step {
        Step {
            consumed: input.len(),
            next: Next::Close,
        }
    }
}

#[test]
fn linked_connections_relay_small_and_bulk_transfers_identically() {
    let echo = Server::start(Config::default(), |r| {
        let l = evloop::net::bind_tcp(([127, 0, 0, 1], 0).into(), Default::default()).unwrap();
        (
            Some(r.add_tcp_listener(l, evloop::proto::echo::Echo).unwrap()),
            None,
        )
    });
    let upstream = echo.tcp();
    let relay = Server::start(Config::default(), move |r| {
        let l = evloop::net::bind_tcp(([127, 0, 0, 1], 0).into(), Default::default()).unwrap();
        (
            Some(r.add_tcp_listener(l, Linker { upstream }).unwrap()),
            None,
        )
    });
    // Small: copied. Then 8 MiB in one go, then FIN: a bulk transfer, spliced on
    // Linux; every byte back, in order, then EOF.
    let mut s = connect(relay.tcp());
    s.write_all(b"ping").unwrap();
    let mut small = [0u8; 4];
    std::io::Read::read_exact(&mut s, &mut small).unwrap();
    assert_eq!(&small, b"ping");
    let data: Vec<u8> = (0..8 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let mut w = s.try_clone().unwrap();
    let sent = data.clone();
    let writer = std::thread::spawn(move || {
        w.write_all(&sent).unwrap();
        w.shutdown(std::net::Shutdown::Write).unwrap();
    });
    let mut back = Vec::new();
    std::io::Read::read_to_end(&mut s, &mut back).unwrap();
    writer.join().unwrap();
    assert!(back == data, "{} bytes back of {}", back.len(), data.len());
    drop(s);
    let stats = relay.stop();
    echo.stop();
    if cfg!(target_os = "linux") {
        assert!(stats.relay_pipes >= 1, "{stats:?}");
    }
    assert_eq!(stats.active, 0, "{stats:?}");
}
