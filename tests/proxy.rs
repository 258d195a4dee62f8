//! `examples/proxy` over real sockets, in front of the echo, HTTP and kv examples:
//! bytes through the proxy are identical for 100 concurrent clients, half-close,
//! upstreams down, a client that never reads, SIGTERM, and real clients (wrk,
//! redis-benchmark) with zero errors.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use common::interop::{
    assert_bad_command_line, assert_help_prints_usage, have, run_bounded, run_bounded_for, Example,
};
use common::{connect, Rng, IO_TIMEOUT};

fn echo() -> Example {
    Example::start("echo", &["--listen", "127.0.0.1:0"], "tcp")
}

fn proxy(upstreams: &[String], extra: &[&str]) -> Example {
    let mut args = vec!["--listen".to_owned(), "127.0.0.1:0".to_owned()];
    for u in upstreams {
        args.push("--upstream".to_owned());
        args.push(u.clone());
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Example::start("proxy", &args, "tcp")
}

/// A port nothing listens on, held so no other test takes it.
fn dead_port() -> (socket2::Socket, String) {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    s.bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    let addr = s.local_addr().unwrap().as_socket().unwrap().to_string();
    (s, addr)
}

/// Sends `data` through `stream` while reading the echo back on another thread;
/// the echo must be identical.
fn round_trip(stream: TcpStream, data: Vec<u8>) {
    let mut reader = stream.try_clone().unwrap();
    let len = data.len();
    let back = thread::spawn(move || {
        let mut got = vec![0u8; len];
        reader.read_exact(&mut got).map(|()| got)
    });
    let mut writer = stream;
    writer.write_all(&data).unwrap();
    let got = back.join().unwrap().expect("the whole echo");
    assert!(got == data, "echo differs from what was sent ({len} bytes)");
}

#[test]
fn a_hundred_concurrent_clients_get_their_bytes_back_identical() {
    let upstream = echo();
    let p = proxy(&[upstream.addr.to_string()], &[]);
    let mut rng = Rng::new(0x9e37_79b9);
    let sizes: Vec<usize> = (0..100).map(|_| rng.range(1, 3 * 1024 * 1024)).collect();
    let clients: Vec<_> = sizes
        .into_iter()
        .enumerate()
        .map(|(i, size)| {
            let addr = p.addr;
            thread::spawn(move || {
                let data = Rng::new(i as u64 + 1).bytes(size);
                round_trip(connect(addr), data);
            })
        })
        .collect();
    for c in clients {
        c.join().expect("a client's bytes came back identical");
    }
}

#[test]
fn a_request_then_shutdown_write_still_gets_the_whole_response() {
    let upstream = echo();
    let p = proxy(&[upstream.addr.to_string()], &[]);
    // Immediately, before the upstream can have connected, and after a pause.
    for pause in [Duration::ZERO, Duration::from_millis(50)] {
        let mut s = connect(p.addr);
        thread::sleep(pause);
        let data = vec![7u8; 1024 * 1024];
        let writer = {
            let mut w = s.try_clone().unwrap();
            let data = data.clone();
            thread::spawn(move || {
                w.write_all(&data).unwrap();
                w.shutdown(Shutdown::Write).unwrap();
            })
        };
        let mut back = Vec::new();
        s.read_to_end(&mut back).expect("EOF after the whole echo");
        writer.join().unwrap();
        assert_eq!(back.len(), data.len());
        assert!(back == data);
    }
}

#[test]
fn a_down_upstream_is_skipped_and_all_down_closes_at_once() {
    let a = echo();
    let (_hold, dead) = dead_port();
    let c = echo();
    let p = proxy(
        &[a.addr.to_string(), dead.clone(), c.addr.to_string()],
        &["--down-time", "60"],
    );
    for i in 0..30u8 {
        round_trip(connect(p.addr), vec![i; 1000]);
    }

    let (_hold2, dead2) = dead_port();
    let p = proxy(&[dead, dead2], &[]);
    for _ in 0..3 {
        let started = Instant::now();
        let mut s = connect(p.addr);
        s.write_all(b"anyone?").unwrap();
        let mut buf = [0u8; 16];
        match s.read(&mut buf) {
            Ok(0) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
            other => panic!("expected the client to be closed, got {other:?}"),
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }
}

#[test]
fn a_client_that_never_reads_keeps_proxy_memory_bounded() {
    let upstream = echo();
    let p = proxy(&[upstream.addr.to_string()], &["--send-buffer", "65536"]);
    let rss_before = rss_kib(p.pid());
    let mut s = connect(p.addr);
    s.set_write_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    // Write until the whole chain (proxy, echo, kernel buffers) stops taking bytes.
    let chunk = vec![1u8; 64 * 1024];
    let mut sent = 0usize;
    let deadline = Instant::now() + IO_TIMEOUT;
    loop {
        assert!(
            Instant::now() < deadline,
            "writes never blocked: {sent} bytes taken"
        );
        match s.write(&chunk) {
            Ok(n) => sent += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
            Err(e) => panic!("{e}"),
        }
    }
    let grown = rss_kib(p.pid()).saturating_sub(rss_before);
    eprintln!("non-reader: {sent} bytes taken before writes blocked; proxy RSS grew {grown} KiB");
    assert!(
        grown < 8 * 1024,
        "proxy RSS grew {grown} KiB for one non-reader"
    );
    assert!(
        sent < 64 * 1024 * 1024,
        "{sent} bytes taken: nothing pushed back"
    );
}

fn rss_kib(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .expect("VmRSS")
}

#[test]
fn sigterm_stops_accepting_and_lets_relays_finish() {
    let upstream = echo();
    let mut p = proxy(&[upstream.addr.to_string()], &["--shutdown-timeout", "10"]);
    let mut s = connect(p.addr);
    round_trip(s.try_clone().unwrap(), vec![1; 1000]);
    p.sigterm();
    // New clients are refused once the listener is gone…
    let deadline = Instant::now() + IO_TIMEOUT;
    while TcpStream::connect(p.addr).is_ok() {
        assert!(Instant::now() < deadline, "still accepting after SIGTERM");
        thread::sleep(Duration::from_millis(10));
    }
    // …while the open pair still relays, then ends when the client ends it.
    round_trip(s.try_clone().unwrap(), vec![2; 100_000]);
    s.shutdown(Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    p.assert_exits_zero_after_sigterm();
}

#[test]
fn wrk_and_redis_benchmark_through_the_proxy_have_no_errors() {
    let http = Example::start("http", &["--listen", "127.0.0.1:0"], "http");
    let p = proxy(&[http.addr.to_string()], &[]);
    if have(&[("wrk", "wrk")]) {
        let out = run_bounded(
            Command::new("wrk").args([
                "-t1",
                "-c32",
                "-d2s",
                "--timeout",
                "5s",
                &format!("http://{}/", p.addr),
            ]),
            "wrk",
        );
        let report = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{report}");
        assert!(!report.contains("Socket errors"), "{report}");
        assert!(!report.contains("Non-2xx"), "{report}");
        assert!(report.contains(" requests in "), "{report}");
    }
    let kv = Example::start("kv", &["--listen", "127.0.0.1:0"], "redis");
    let p = proxy(&[kv.addr.to_string()], &[]);
    if have(&[("redis-benchmark", "redis-tools")]) {
        let out = run_bounded_for(
            Command::new("timeout").args([
                "60",
                "redis-benchmark",
                "-h",
                "127.0.0.1",
                "-p",
                &p.addr.port().to_string(),
                "-q",
                "-n",
                "20000",
                "-c",
                "20",
                "-t",
                "set,get,lpush,lpop",
            ]),
            "redis-benchmark",
            Duration::from_secs(70),
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{text}");
        let results = text
            .split(['\r', '\n'])
            .filter(|l| l.contains("requests per second"))
            .count();
        assert_eq!(results, 4, "{text}");
        assert!(!text.to_lowercase().contains("error"), "{text}");
    }
}

#[test]
fn help_and_bad_command_lines() {
    assert_help_prints_usage("proxy");
    assert_bad_command_line("proxy", &[]);
    assert_bad_command_line("proxy", &["--upstream", "nowhere"]);
    assert_bad_command_line(
        "proxy",
        &["--upstream", "127.0.0.1:1", "--balance", "random"],
    );
    assert_bad_command_line("proxy", &["--upstream", "127.0.0.1:1", "--threads", "2"]);
}
