//! The connection state machine without sockets: `evloop::sim::SimConn` drives the
//! reactor's own `Conn` over an in-memory socket, so edge-triggered reads,
//! backpressure, pauses, half-close, draining and timers are checked byte by byte.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use evloop::proto::echo::Echo;
use evloop::sim::{Closed, SimConn};
use evloop::{Config, Ctx, FileRange, Next, Session, Step};

/// Answers each line `N\n` with N bytes of `x`; pauses once one call has written
/// `batch` bytes (0: never). Records what it heard.
struct Amplifier {
    batch: usize,
    log: Rc<RefCell<Vec<String>>>,
}

impl Session for Amplifier {
    fn on_open(&mut self, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Next {
        ctx.set_timer(Duration::from_secs(5), 7);
        Next::Read
    }

    fn on_input(&mut self, _ctx: &mut Ctx<'_>, input: &[u8], out: &mut Vec<u8>) -> Step {
        let start = out.len();
        let mut pos = 0;
        while let Some(end) = input[pos..].iter().position(|&b| b == b'\n') {
            let line = std::str::from_utf8(&input[pos..pos + end]).unwrap();
            pos += end + 1;
            if line == "close" {
                return Step {
                    consumed: pos,
                    next: Next::Close,
                };
            }
            let n: usize = line.parse().unwrap();
            out.resize(out.len() + n, b'x');
            if self.batch > 0 && out.len() - start >= self.batch && pos < input.len() {
                return Step {
                    consumed: pos,
                    next: Next::Pause,
                };
            }
        }
        Step::read(pos)
    }

    fn on_timer(&mut self, _ctx: &mut Ctx<'_>, token: u64, out: &mut Vec<u8>) -> Next {
        self.log.borrow_mut().push(format!("timer {token}"));
        out.extend_from_slice(b"tick\n");
        Next::Read
    }

    fn on_closed(&mut self, _ctx: &mut Ctx<'_>) {
        self.log.borrow_mut().push("closed".into());
    }
}

fn amplifier(batch: usize) -> (SimConn, Rc<RefCell<Vec<String>>>) {
    let log = Rc::new(RefCell::new(Vec::new()));
    let session = Amplifier {
        batch,
        log: Rc::clone(&log),
    };
    (SimConn::new(Box::new(session)), log)
}

#[test]
fn a_short_read_ends_the_drain_without_a_wasted_read() {
    let mut conn = SimConn::new(Box::new(Echo));
    conn.receive(b"ping");
    assert_eq!(conn.take_sent(), b"ping");
    // One read: it returned less than the buffer, which on a Linux stream socket
    // proves the queue empty, so the read that would only say WouldBlock is skipped.
    assert_eq!(conn.reads(), 1);
    assert_eq!(conn.writes(), 1);
}

#[test]
fn fin_after_a_request_flushes_the_reply_then_closes() {
    let mut conn = SimConn::new(Box::new(Echo));
    conn.set_send_room(0);
    conn.receive(b"last words");
    conn.receive_fin();
    assert!(!conn.is_closed(), "the reply is still owed");
    assert_eq!(conn.pending_output(), 10);
    conn.set_send_room(usize::MAX);
    assert_eq!(conn.take_sent(), b"last words");
    assert_eq!(conn.closed(), Some(Closed::Done));
}

#[test]
fn backpressure_stops_reading_above_high_water_and_resumes_below_low_water() {
    let (mut conn, _) = amplifier(0);
    conn.set_send_room(0); // a client that does not read
    for _ in 0..50 {
        conn.receive(b"100000\n");
    }
    let config = Config::default();
    assert!(
        conn.pending_output() <= config.high_water + 100_000,
        "{} bytes pending",
        conn.pending_output()
    );
    assert!(conn.unread() > 40 * 7, "reading stopped");
    // The client reads: everything is answered, in order, and nothing is held.
    let mut got = 0;
    while got < 50 * 100_000 {
        conn.set_send_room(64 * 1024);
        let sent = conn.take_sent();
        assert!(!sent.is_empty(), "no progress at {got}");
        got += sent.len();
        conn.set_send_room(0);
    }
    assert_eq!(got, 50 * 100_000);
    assert_eq!(conn.unread(), 0);
    assert_eq!(conn.pending_output(), 0);
}

#[test]
fn a_pause_holds_the_rest_of_a_pipeline_until_the_output_drains() {
    let (mut conn, _) = amplifier(64 * 1024);
    conn.set_send_room(0);
    // Ten 40,000-byte answers pipelined in one read: the session pauses after two.
    conn.receive(&b"40000\n".repeat(10));
    assert_eq!(conn.pending_output(), 80_000);
    conn.set_send_room(usize::MAX);
    assert_eq!(conn.take_sent().len(), 400_000);
    assert_eq!(conn.pending_output(), 0);
}

#[test]
fn a_session_close_sends_fin_and_drains_until_the_peers_fin() {
    let (mut conn, log) = amplifier(0);
    conn.receive(b"3\nclose\n");
    assert_eq!(conn.take_sent(), b"xxx");
    assert!(conn.fin_sent());
    assert!(
        !conn.is_closed(),
        "draining: unread input would turn close into RST"
    );
    conn.receive(b"ignored after close\n");
    assert_eq!(conn.take_sent(), b"");
    conn.receive_fin();
    assert_eq!(conn.closed(), Some(Closed::Done));
    assert_eq!(log.borrow().last().map(String::as_str), Some("closed"));
}

#[test]
fn timers_fire_on_the_simulated_clock_and_not_after_close() {
    let (mut conn, log) = amplifier(0);
    conn.advance(Duration::from_secs(4));
    assert!(log.borrow().is_empty());
    conn.advance(Duration::from_secs(1));
    assert_eq!(*log.borrow(), ["timer 7"]);
    assert_eq!(conn.take_sent(), b"tick\n");
    conn.receive_reset();
    assert_eq!(conn.closed(), Some(Closed::IoError));
    conn.advance(Duration::from_secs(60));
    assert_eq!(*log.borrow(), ["timer 7", "closed"]);
}

#[test]
fn the_idle_timeout_closes_a_silent_connection() {
    let config = Config {
        idle_timeout: Some(Duration::from_secs(10)),
        ..Config::default()
    };
    let mut conn = SimConn::with_config(Box::new(Echo), &config);
    conn.advance(Duration::from_secs(9));
    assert!(!conn.is_closed());
    conn.receive(b"still here");
    conn.advance(Duration::from_secs(9));
    assert!(!conn.is_closed(), "activity moved the deadline");
    conn.advance(Duration::from_secs(2));
    assert_eq!(conn.closed(), Some(Closed::Timeout));
}

/// Streams without writing anything: the reactor must not spin on it.
struct EmptyStream;

impl Session for EmptyStream {
    fn on_input(&mut self, _ctx: &mut Ctx<'_>, input: &[u8], _out: &mut Vec<u8>) -> Step {
        Step {
            consumed: input.len(),
            next: Next::Stream,
        }
    }

    fn produce(&mut self, _ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Next {
        Next::Stream
    }
}

#[test]
fn a_stream_that_produces_nothing_is_aborted() {
    let mut conn = SimConn::new(Box::new(EmptyStream));
    conn.receive(b"go");
    assert_eq!(conn.closed(), Some(Closed::Aborted));
}

/// Pushes to itself: three per input, delivered after the callback's own output.
struct SelfPusher;

impl Session for SelfPusher {
    fn on_input(&mut self, ctx: &mut Ctx<'_>, input: &[u8], out: &mut Vec<u8>) -> Step {
        out.extend_from_slice(b"[reply]");
        let me = ctx.id();
        for part in [&b"one,"[..], b"two,", b"three;"] {
            ctx.push(me, part).unwrap();
        }
        Step::read(input.len())
    }
}

#[test]
fn pushes_keep_their_order_through_short_writes() {
    let mut conn = SimConn::new(Box::new(SelfPusher));
    conn.set_send_room(10); // the reply and part of the pushes fit
    conn.receive(b"x");
    conn.receive(b"y");
    let mut got = conn.take_sent();
    conn.set_send_room(usize::MAX);
    got.extend(conn.take_sent());
    assert_eq!(got, b"[reply]one,two,three;[reply]one,two,three;");
    assert_eq!(conn.pending_output(), 0);
}

/// For each input line, a head, a queued file range (the line's length in bytes of
/// the file, from the start), then a tail; a timer writes `tick` when it fires.
struct FileSender {
    file: Rc<std::fs::File>,
}

impl Session for FileSender {
    fn on_input(&mut self, ctx: &mut Ctx<'_>, input: &[u8], out: &mut Vec<u8>) -> Step {
        let mut pos = 0;
        while let Some(end) = input[pos..].iter().position(|&b| b == b'\n') {
            let n: u64 = std::str::from_utf8(&input[pos..pos + end])
                .unwrap()
                .parse()
                .unwrap();
            pos += end + 1;
            out.extend_from_slice(b"<head>");
            ctx.send_file(out, FileRange::new(Rc::clone(&self.file), 0, n));
            out.extend_from_slice(b"<tail>");
            ctx.set_timer(Duration::from_secs(1), 1);
        }
        Step::read(pos)
    }

    fn on_timer(&mut self, _ctx: &mut Ctx<'_>, _token: u64, out: &mut Vec<u8>) -> Next {
        out.extend_from_slice(b"tick");
        Next::Read
    }
}

/// A file under the temp dir with `len` patterned bytes, removed on drop.
struct TempFile(std::path::PathBuf);

impl TempFile {
    fn new(name: &str, len: usize) -> (TempFile, Vec<u8>) {
        let path = std::env::temp_dir().join(format!("evloop-sim-{name}-{}", std::process::id()));
        let content: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &content).unwrap();
        (TempFile(path), content)
    }

    fn open(&self) -> Rc<std::fs::File> {
        Rc::new(std::fs::File::open(&self.0).unwrap())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn file_sender(file: &TempFile) -> SimConn {
    SimConn::new(Box::new(FileSender { file: file.open() }))
}

#[test]
fn queued_files_keep_their_place_in_the_output_through_short_writes() {
    let (tmp, content) = TempFile::new("order", 300_000);
    let mut conn = file_sender(&tmp);
    conn.set_send_room(0);
    conn.receive(b"300000\n1000\n");
    assert_eq!(conn.pending_output(), 2 * 12 + 301_000);
    // A timer firing while files are queued writes behind them.
    conn.advance(Duration::from_secs(2));
    let mut sent = Vec::new();
    for _ in 0..1000 {
        conn.set_send_room(7_000);
        let got = conn.take_sent();
        if got.is_empty() {
            break;
        }
        sent.extend_from_slice(&got);
    }
    let want = [
        &b"<head>"[..],
        &content,
        b"<tail><head>",
        &content[..1000],
        b"<tail>tick",
    ]
    .concat();
    assert_eq!(sent.len(), want.len());
    assert!(sent == want, "bytes out of order");
    assert_eq!(conn.pending_output(), 0);
    assert!(!conn.is_closed());
}

#[test]
fn a_file_that_shrinks_before_it_is_sent_closes_the_connection() {
    let (tmp, _) = TempFile::new("shrink", 200_000);
    let mut conn = file_sender(&tmp);
    conn.set_send_room(0);
    conn.receive(b"200000\n");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&tmp.0)
        .unwrap()
        .set_len(70_000)
        .unwrap();
    conn.set_send_room(usize::MAX);
    let sent = conn.take_sent();
    assert!(sent.len() < 200_000, "sent {} bytes", sent.len());
    assert_eq!(conn.closed(), Some(Closed::IoError));
}

#[test]
fn a_queued_file_holds_the_fin_until_it_is_sent() {
    let (tmp, content) = TempFile::new("fin", 100_000);
    let mut conn = file_sender(&tmp);
    conn.set_send_room(0);
    conn.receive(b"100000\n");
    conn.receive_fin();
    assert!(!conn.is_closed(), "the file is still owed");
    conn.set_send_room(usize::MAX);
    let sent = conn.take_sent();
    assert_eq!(sent, [&b"<head>"[..], &content, b"<tail>"].concat());
    assert_eq!(conn.closed(), Some(Closed::Done));
}
