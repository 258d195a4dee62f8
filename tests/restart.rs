//! Zero-downtime restarts of the HTTP example (`--handover`): keep-alive clients
//! send requests without pause while the server is replaced by a new process,
//! again and again; not one request may fail, not one connection be reset or
//! refused.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::interop::{example, wait_bounded, Example, EXIT_TIMEOUT};
use common::{TempDir, IO_TIMEOUT};

#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    failed: AtomicU64,
    reconnects: AtomicU64,
}

/// One keep-alive GET and its response; `Ok(true)` if the server said
/// `Connection: close` (the connection is done).
fn one_request(reader: &mut BufReader<TcpStream>) -> std::io::Result<bool> {
    reader
        .get_mut()
        .write_all(b"GET /json HTTP/1.1\r\nHost: x\r\n\r\n")?;
    let mut line = String::new();
    reader.read_line(&mut line)?;
    if !line.starts_with("HTTP/1.1 200 ") {
        return Err(std::io::Error::other(format!("status line {line:?}")));
    }
    let (mut length, mut close) = (None, false);
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(std::io::Error::other("EOF in the head"));
        }
        let lower = line.to_ascii_lowercase();
        if lower == "\r\n" {
            break;
        }
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse::<usize>().ok();
        }
        close |= lower.starts_with("connection:") && lower.contains("close");
    }
    let mut body = vec![0; length.ok_or_else(|| std::io::Error::other("no length"))?];
    reader.read_exact(&mut body)?;
    if body != br#"{"message":"Hello, World!"}"# {
        return Err(std::io::Error::other("wrong body"));
    }
    Ok(close)
}

/// Requests back to back on keep-alive connections until `stop`, reconnecting
/// whenever the server ends a connection with `Connection: close`.
fn client(addr: SocketAddr, stop: Arc<AtomicBool>, tally: Arc<Tally>) {
    let mut conn: Option<BufReader<TcpStream>> = None;
    while !stop.load(Ordering::Relaxed) {
        let reader = match &mut conn {
            Some(reader) => reader,
            None => match TcpStream::connect(addr) {
                Ok(stream) => {
                    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
                    stream.set_nodelay(true).unwrap();
                    tally.reconnects.fetch_add(1, Ordering::Relaxed);
                    conn.insert(BufReader::new(stream))
                }
                Err(e) => {
                    eprintln!("connect failed: {e}");
                    tally.failed.fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                }
            },
        };
        match one_request(reader) {
            Ok(close) => {
                tally.ok.fetch_add(1, Ordering::Relaxed);
                if close {
                    conn = None;
                }
            }
            Err(e) => {
                eprintln!("request failed: {e}");
                tally.failed.fetch_add(1, Ordering::Relaxed);
                conn = None;
            }
        }
    }
}

#[test]
fn twenty_restarts_under_load_fail_no_request() {
    let tmp = TempDir::new("restart");
    let control = tmp.0.join("http.handover");
    let control = control.to_str().unwrap().to_owned();
    let start = || {
        let mut cmd = Command::new(example("http"));
        cmd.args(["--listen", "127.0.0.1:0", "--handover", &control]);
        Example::start_command("http", cmd, Some("http"))
    };
    let mut server = start();
    let addr = server.addr;
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let (stop, tally) = (Arc::clone(&stop), Arc::clone(&tally));
            std::thread::spawn(move || client(addr, stop, tally))
        })
        .collect();
    let wait_for_requests = |n: u64| {
        let deadline = Instant::now() + IO_TIMEOUT;
        let target = tally.ok.load(Ordering::Relaxed) + n;
        while tally.ok.load(Ordering::Relaxed) < target {
            assert!(Instant::now() < deadline, "the load stalled");
            std::thread::sleep(Duration::from_millis(2));
        }
    };
    wait_for_requests(200);
    for restart in 0..20 {
        let successor = start();
        assert_eq!(successor.addr, addr, "restart {restart}: another address");
        // The predecessor drains and exits by itself, with status 0.
        let status = wait_bounded(&mut server.child, "the old server draining", EXIT_TIMEOUT);
        assert!(
            status.success(),
            "restart {restart}: old server exited {status}"
        );
        server = successor;
        wait_for_requests(100);
    }
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let (ok, failed) = (
        tally.ok.load(Ordering::Relaxed),
        tally.failed.load(Ordering::Relaxed),
    );
    let reconnects = tally.reconnects.load(Ordering::Relaxed);
    eprintln!("{ok} requests, {failed} failed, {reconnects} connections over 20 restarts");
    assert_eq!(failed, 0, "{failed} of {} requests failed", ok + failed);
    // The drains moved the clients: every restart closed their connections.
    assert!(reconnects >= 8 * 20, "{reconnects} connections");
    server.sigterm();
    server.assert_exits_zero_after_sigterm();
    assert!(
        !std::path::Path::new(&control).exists(),
        "the hand-over socket outlived the server"
    );
}
