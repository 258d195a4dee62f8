//! The reactor and the echo service over real sockets on 127.0.0.1, port 0.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, UdpSocket};
use std::time::Duration;

use common::{connect, Rng, Server, IO_TIMEOUT};
use evloop::proto::echo::Echo;
use evloop::{Config, Reactor};

fn bind_echo(reactor: &mut Reactor, addr: &str) -> (Option<SocketAddr>, Option<SocketAddr>) {
    let addr: SocketAddr = addr.parse().unwrap();
    let tcp = evloop::net::bind_tcp(addr, Default::default()).unwrap();
    let port = tcp.local_addr().unwrap().port();
    let udp = evloop::net::bind_udp(SocketAddr::new(addr.ip(), port), Default::default()).unwrap();
    let t = reactor.add_tcp_listener(tcp, Echo).unwrap();
    let u = reactor.add_udp_socket(udp, Echo).unwrap();
    (Some(t), Some(u))
}

fn echo_server(config: Config) -> Server {
    Server::start(config, |r| bind_echo(r, "127.0.0.1:0"))
}

/// Send `payload` in random-sized chunks from one thread while reading the echo on
/// this one; return what came back.
fn round_trip(addr: SocketAddr, payload: Vec<u8>, seed: u64) -> Vec<u8> {
    let stream = connect(addr);
    let mut writer = stream.try_clone().unwrap();
    let len = payload.len();
    let sender = std::thread::spawn(move || {
        let mut rng = Rng::new(seed);
        let mut at = 0;
        while at < payload.len() {
            let n = rng.range(1, 64 * 1024).min(payload.len() - at);
            writer.write_all(&payload[at..at + n]).unwrap();
            at += n;
        }
        writer.shutdown(Shutdown::Write).unwrap();
    });
    let mut back = Vec::with_capacity(len);
    let mut reader = stream;
    reader.read_to_end(&mut back).expect("read echo");
    sender.join().unwrap();
    back
}

#[test]
fn many_concurrent_clients_get_every_byte_back_in_order() {
    let server = echo_server(Config::default());
    let addr = server.tcp();
    let clients: Vec<_> = (0..100u64)
        .map(|i| {
            std::thread::spawn(move || {
                let mut rng = Rng::new(1000 + i);
                let len = rng.range(0, 2 * 1024 * 1024);
                let payload = rng.bytes(len);
                let back = round_trip(addr, payload.clone(), i);
                assert_eq!(back.len(), payload.len(), "client {i}: length");
                assert!(back == payload, "client {i}: bytes differ");
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    let stats = server.wait_for("all closed", |s| s.active == 0);
    assert_eq!(stats.accepted, 100);
    assert_eq!(stats.bytes_in, stats.bytes_out);
    assert_eq!(stats.io_errors, 0);
}

#[test]
fn half_close_gets_all_data_then_eof() {
    let server = echo_server(Config::default());
    let payload = Rng::new(7).bytes(1024 * 1024);
    let back = round_trip(server.tcp(), payload.clone(), 7);
    assert!(back == payload);
}

/// Both UDP paths: batched (`recvmmsg`/`sendmmsg`/GSO where the kernel has them)
/// and one call per datagram.
fn udp_configs() -> [Config; 2] {
    [
        Config::default(),
        Config {
            udp_batching: false,
            ..Config::default()
        },
    ]
}

#[test]
fn udp_datagrams_of_every_size_echo_exactly() {
    for config in udp_configs() {
        udp_sizes(config);
    }
}

fn udp_sizes(config: Config) {
    let server = echo_server(config);
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    sock.connect(server.udp()).unwrap();
    let mut buf = vec![0u8; 70_000];
    for size in [0usize, 1, 1472, 9000, 65_507] {
        let payload = Rng::new(size as u64).bytes(size);
        sock.send(&payload).unwrap();
        let n = sock.recv(&mut buf).expect("udp echo");
        assert_eq!(n, size);
        assert!(buf[..n] == payload[..], "datagram of {size} bytes differs");
    }
    let stats = server.stats();
    assert_eq!(stats.udp_dropped, 0);
}

/// Bursts from several clients at once: every reply comes back to its sender, in
/// order, byte for byte, whichever path (and however the kernel batched them). The
/// bursts stay well within the sockets' receive buffers, so nothing may be lost.
#[test]
fn udp_bursts_from_many_clients_come_back_in_order() {
    for config in udp_configs() {
        let batching = config.udp_batching;
        let server = echo_server(config);
        let clients: Vec<UdpSocket> = (0..4)
            .map(|_| {
                let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
                sock.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
                sock.connect(server.udp()).unwrap();
                sock
            })
            .collect();
        let payload = |c: usize, i: usize, len: usize| {
            let mut p = Rng::new((c * 1000 + i) as u64).bytes(len);
            p[..4.min(len)].copy_from_slice(&(i as u32).to_be_bytes()[..4.min(len)]);
            p
        };
        let mut sent = 0;
        // One client's burst of equal sizes (a GSO run on the batched path), then
        // rounds of mixed sizes from all of them, interleaved.
        let rounds: Vec<Vec<(usize, usize)>> = std::iter::once(vec![(0, 1000); 20])
            .chain((0..4).map(|r| {
                (0..10)
                    .flat_map(|i| (0..4).map(move |c| (c, 1 + (i * 97 + c * 13 + r * 7) % 1400)))
                    .collect()
            }))
            .collect();
        for (r, round) in rounds.iter().enumerate() {
            for (i, &(c, len)) in round.iter().enumerate() {
                clients[c].send(&payload(c, r * 100 + i, len)).unwrap();
            }
            sent += round.len() as u64;
            let mut buf = vec![0u8; 4096];
            for (i, &(c, len)) in round.iter().enumerate() {
                let n = clients[c].recv(&mut buf).unwrap_or_else(|e| {
                    panic!(
                        "round {r}, datagram {i} (batching {batching}): {e}; {:?}",
                        server.stats()
                    )
                });
                assert!(
                    buf[..n] == payload(c, r * 100 + i, len)[..],
                    "round {r}, datagram {i} (batching {batching}) differs or is out of order"
                );
            }
        }
        let stats = server.stop();
        assert_eq!(
            (stats.udp_in, stats.udp_out, stats.udp_dropped),
            (sent, sent, 0)
        );
    }
}

#[test]
fn ipv6_tcp_and_udp() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("skipping: no IPv6 loopback on this machine");
        return;
    }
    let server = Server::start(Config::default(), |r| bind_echo(r, "[::1]:0"));
    assert!(server.tcp().is_ipv6());
    let back = round_trip(server.tcp(), b"over IPv6".to_vec(), 1);
    assert_eq!(back, b"over IPv6");
    let sock = UdpSocket::bind("[::1]:0").unwrap();
    sock.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    sock.send_to(b"v6 datagram", server.udp()).unwrap();
    let mut buf = [0u8; 64];
    let (n, from) = sock.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"v6 datagram");
    assert_eq!(from, server.udp());
}

#[test]
fn a_client_that_never_reads_cannot_grow_server_memory() {
    let config = Config::default();
    let cap = config.high_water + 64 * 1024; // one read's worth of echo above the mark
    let server = echo_server(config);
    let mut stream = connect(server.tcp());
    stream
        .set_write_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let chunk = vec![0x5au8; 1024 * 1024];
    let mut written = 0usize;
    // Try to push 128 MiB without reading. Once the server stops reading and the
    // socket buffers fill, a write blocks: that is the signal we wait for.
    let blocked = loop {
        if written >= 128 * 1024 * 1024 {
            break false;
        }
        match stream.write(&chunk) {
            Ok(n) => written += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                break true
            }
            Err(e) => panic!("write failed: {e}"),
        }
    };
    assert!(blocked, "128 MiB went in without the server pushing back");
    let stats = server.wait_for("backpressure", |s| s.backpressure_pauses > 0);
    assert!(
        stats.output_buffered_peak <= cap as u64,
        "server buffered {} bytes for one client (cap {cap})",
        stats.output_buffered_peak
    );
    // Reading resumes the flow: every byte written comes back.
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.shutdown(Shutdown::Write).unwrap();
    let mut back = Vec::new();
    stream.read_to_end(&mut back).unwrap();
    assert_eq!(back.len(), written);
    assert!(back.iter().all(|&b| b == 0x5a));
    let stats = server.wait_for("closed", |s| s.active == 0);
    assert!(stats.output_buffered_peak <= cap as u64);
    assert_eq!(stats.output_buffered, 0);
}

#[test]
fn idle_timeout_closes_idle_connection() {
    let server = echo_server(Config {
        idle_timeout: Some(Duration::from_millis(200)),
        ..Config::default()
    });
    let mut stream = connect(server.tcp());
    stream.write_all(b"x").unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(stream.read(&mut buf).unwrap(), 1);
    // Then silence: the server must close (EOF), well before IO_TIMEOUT.
    assert_eq!(stream.read(&mut buf).unwrap(), 0);
    let stats = server.wait_for("timeout counted", |s| s.timeouts == 1);
    assert_eq!(stats.active, 0);
}

#[test]
fn max_connections_holds_extra_clients_back_until_one_leaves() {
    let server = echo_server(Config {
        max_connections: 2,
        ..Config::default()
    });
    let mut first = connect(server.tcp());
    let mut second = connect(server.tcp());
    for s in [&mut first, &mut second] {
        s.write_all(b"a").unwrap();
        let mut b = [0u8; 1];
        s.read_exact(&mut b).unwrap();
    }
    // The third connects (the kernel's backlog completes the handshake) but is not
    // served while two are open.
    let mut third = connect(server.tcp());
    third.write_all(b"c").unwrap();
    third
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut b = [0u8; 1];
    let err = third.read_exact(&mut b).unwrap_err();
    assert!(matches!(
        err.kind(),
        ErrorKind::WouldBlock | ErrorKind::TimedOut
    ));
    assert_eq!(server.stats().accepted, 2);
    drop(first);
    third.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    third.read_exact(&mut b).unwrap();
    assert_eq!(&b, b"c");
    assert_eq!(server.stats().accepted, 3);
}

#[test]
fn shutdown_delivers_replies_in_flight() {
    let mut server = echo_server(Config::default());
    let stream = connect(server.tcp());
    // Fill the pipe without reading: the server holds echo output it owes us.
    let mut writer = stream.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        let chunk = vec![0xa5u8; 64 * 1024];
        let mut sent = 0usize;
        while sent < 16 * 1024 * 1024 {
            match writer.write(&chunk) {
                Ok(n) => sent += n,
                Err(_) => break, // the server shut down and stopped reading
            }
        }
        sent
    });
    server.wait_for("backpressure", |s| s.backpressure_pauses > 0);
    server.handle.shutdown();
    let mut back = Vec::new();
    let mut reader = stream;
    reader
        .read_to_end(&mut back)
        .expect("read until the server's FIN");
    let stats = server.join();
    sender.join().unwrap();
    assert!(back.iter().all(|&b| b == 0xa5));
    // Everything the server read before it stopped, it echoed completely.
    assert_eq!(back.len() as u64, stats.bytes_out);
    assert!(stats.bytes_out > 0);
    assert_eq!(stats.active, 0);
}

#[test]
fn slots_reused_by_short_connections_never_cross_data() {
    let server = echo_server(Config::default());
    let addr = server.tcp();
    let workers: Vec<_> = (0..8u64)
        .map(|w| {
            std::thread::spawn(move || {
                for i in 0..150u64 {
                    let id = format!("worker {w} connection {i} ");
                    let mut s = connect(addr);
                    s.write_all(id.as_bytes()).unwrap();
                    s.shutdown(Shutdown::Write).unwrap();
                    let mut back = String::new();
                    s.read_to_string(&mut back).unwrap();
                    assert_eq!(back, id);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let stats = server.wait_for("all closed", |s| s.active == 0);
    assert_eq!(stats.accepted, 8 * 150);
}

/// Runs only as the child of `descriptor_exhaustion_does_not_spin_and_service_resumes`
/// (under `ulimit -n 64`): an echo server in its own process (see `common::child`).
#[test]
#[ignore = "run by descriptor_exhaustion_does_not_spin_and_service_resumes"]
fn rlimit_child() {
    common::child::serve_as_child(|| echo_server(Config::default()));
}

#[test]
fn descriptor_exhaustion_does_not_spin_and_service_resumes() {
    use common::child::ChildServer;
    let child = ChildServer::spawn("rlimit_child", Some(64));
    let addr = child.tcp;

    common::child::storm_past_the_descriptor_limit(&child);

    // Descriptors free up: a new client is served.
    let back = round_trip(addr, b"after the storm".to_vec(), 3);
    assert_eq!(back, b"after the storm");

    let stats = child.stop();
    assert!(
        stats.accept_errors > 0,
        "the storm never hit the descriptor limit: {stats:?}"
    );
}

#[test]
fn zero_budgets_and_marks_are_clamped_instead_of_stalling() {
    let server = echo_server(Config {
        accept_budget: 0,
        udp_budget: 0,
        high_water: 0,
        low_water: 0,
        ..Config::default()
    });
    let payload = Rng::new(11).bytes(300 * 1024);
    assert!(round_trip(server.tcp(), payload.clone(), 11) == payload);
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    sock.send_to(b"still served", server.udp()).unwrap();
    let mut buf = [0u8; 32];
    let n = sock.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"still served");
}
