//! `examples/chat` over real sockets: joining, names, broadcast order per sender,
//! overlong lines, bytes that are not UTF-8, and a member that stops reading among
//! a hundred senders — cut off while everyone else receives everything.

mod common;

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::interop::{assert_bad_command_line, assert_help_prints_usage, Example};
use common::{connect, IO_TIMEOUT};

/// A chat member: a line reader over one connection.
struct Member {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Member {
    fn join(addr: SocketAddr) -> Member {
        let stream = connect(addr);
        let writer = stream.try_clone().unwrap();
        let mut member = Member {
            reader: BufReader::new(stream),
            writer,
        };
        let welcome = member.line();
        assert!(
            welcome.starts_with("* welcome to evloop chat, guest"),
            "{welcome}"
        );
        member
    }

    /// The next line, without its newline (fails the test after IO_TIMEOUT).
    fn line(&mut self) -> String {
        let mut line = String::new();
        let n = self.reader.read_line(&mut line).expect("a line from chat");
        assert!(n > 0, "chat closed the connection");
        line.truncate(line.trim_end_matches('\n').len());
        line
    }

    fn say(&mut self, text: &str) {
        self.writer.write_all(text.as_bytes()).unwrap();
        self.writer.write_all(b"\n").unwrap();
    }

    /// The next line that is not a join/leave notice.
    fn message(&mut self) -> String {
        loop {
            let line = self.line();
            if !(line.ends_with(" joined") || line.ends_with(" left")) {
                return line;
            }
        }
    }
}

fn start(args: &[&str]) -> Example {
    let mut all = vec!["--listen", "127.0.0.1:0"];
    all.extend_from_slice(args);
    Example::start("chat", &all, "tcp")
}

#[test]
fn three_members_chat_with_names_and_notices() {
    let server = start(&[]);
    let mut a = Member::join(server.addr);
    let mut b = Member::join(server.addr);
    assert!(a.line().ends_with(" joined"));
    let mut c = Member::join(server.addr);
    assert!(a.line().ends_with(" joined"));
    assert!(b.line().ends_with(" joined"));

    a.say("/nick alice");
    assert_eq!(a.line(), "* guest1 is now known as alice");
    assert_eq!(b.line(), "* guest1 is now known as alice");
    assert_eq!(c.line(), "* guest1 is now known as alice");
    b.say("/nick alice");
    assert_eq!(b.line(), "! alice is taken");
    b.say("/nick bad name");
    assert!(b.line().starts_with("! a name is"));
    b.say("/nick bob");
    assert_eq!(b.line(), "* guest2 is now known as bob");

    // A line goes to everyone else, not back to its sender.
    a.say("hello, room");
    assert_eq!(b.message(), "alice: hello, room");
    assert_eq!(c.message(), "* guest2 is now known as bob");
    assert_eq!(c.message(), "alice: hello, room");
    c.say("/who");
    assert_eq!(c.line(), "* members: alice, bob, guest3");
    c.say("/frobnicate");
    assert_eq!(c.line(), "! unknown command /frobnicate");

    // Order per sender: 200 lines from each of two senders arrive in order.
    for i in 0..200 {
        a.say(&format!("a{i}"));
        b.say(&format!("b{i}"));
    }
    let (mut next_a, mut next_b) = (0, 0);
    while next_a < 200 || next_b < 200 {
        let line = c.message();
        if let Some(n) = line.strip_prefix("alice: a") {
            assert_eq!(n.parse::<usize>().unwrap(), next_a, "{line}");
            next_a += 1;
        } else if let Some(n) = line.strip_prefix("bob: b") {
            assert_eq!(n.parse::<usize>().unwrap(), next_b, "{line}");
            next_b += 1;
        } else {
            panic!("unexpected line {line:?}");
        }
    }

    // /quit says goodbye and closes; the others hear that the member left.
    c.say("/quit");
    assert_eq!(c.message(), "* bye");
    let mut rest = String::new();
    assert_eq!(c.reader.read_to_string(&mut rest).unwrap(), 0);
    // a and b still have each other's 200 lines to read first.
    let mut seen = 0;
    loop {
        let line = a.line();
        if line == "* guest3 left" {
            break;
        }
        seen += 1;
        assert!(seen <= 250, "no leave notice: {line}");
    }
}

#[test]
fn overlong_lines_and_bytes_that_are_not_utf8() {
    let server = start(&["--max-line", "100"]);
    let mut a = Member::join(server.addr);
    let mut b = Member::join(server.addr);
    assert!(a.line().ends_with(" joined"));

    // Overlong: refused with an error line, whether it arrives whole or in pieces;
    // the next line is fine.
    a.say(&"x".repeat(101));
    assert_eq!(a.line(), "! line too long (max 100 bytes): dropped");
    a.writer.write_all(&[b'y'; 150]).unwrap();
    assert_eq!(a.line(), "! line too long (max 100 bytes): dropped");
    a.writer.write_all(&[b'y'; 150]).unwrap();
    a.say("");
    a.say(&"z".repeat(100));
    assert_eq!(b.message(), format!("guest1: {}", "z".repeat(100)));

    // Not UTF-8: replaced, never a crash.
    a.writer.write_all(b"\xff\xfe hi\r\n").unwrap();
    assert_eq!(b.message(), "guest1: \u{fffd}\u{fffd} hi");
    // A last line without a newline, then FIN: still delivered.
    a.writer.write_all(b"bye for now").unwrap();
    a.writer.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(b.message(), "guest1: bye for now");
    assert_eq!(b.line(), "* guest1 left");
}

#[test]
fn a_member_that_stops_reading_is_cut_off_and_the_others_get_everything() {
    const SENDERS: usize = 100;
    const LINES: usize = 20;
    let server = start(&["--max-output", "131072", "--send-buffer", "4096"]);

    // The non-reader keeps a small receive buffer, so the kernel cannot absorb
    // what the server must refuse to buffer.
    let stalled = {
        let socket =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        socket.connect(&server.addr.into()).unwrap();
        TcpStream::from(socket)
    };

    // Every sender is a member too, so each reads in its own thread and counts
    // the lines it got (a member that did not read would be cut off as well). The
    // observer also checks the order of everything sent.
    let payload = "p".repeat(200);
    let seen: Arc<Vec<AtomicUsize>> =
        Arc::new((0..=SENDERS).map(|_| AtomicUsize::new(0)).collect());
    let mut readers = Vec::new();
    let mut writers = Vec::new();
    for i in 0..SENDERS {
        let mut member = Member::join(server.addr);
        member.say(&format!("/nick s{i}"));
        writers.push(member.writer.try_clone().unwrap());
        let seen = Arc::clone(&seen);
        readers.push(thread::spawn(move || read_messages(member, &seen[i], None)));
    }
    let observer = Member::join(server.addr);
    let order = Arc::clone(&seen);
    let checker = thread::spawn(move || read_messages(observer, &order[SENDERS], Some(SENDERS)));

    // Send in rounds (one line from every sender), pacing on the readers so that no
    // reading member falls far behind: only the non-reader may pile up output.
    let deadline = Instant::now() + Duration::from_secs(60);
    for line in 0..LINES {
        for (sender, w) in writers.iter_mut().enumerate() {
            w.write_all(format!("{sender} {line} {payload}\n").as_bytes())
                .unwrap();
        }
        let want = line * (SENDERS - 1);
        while seen[..SENDERS]
            .iter()
            .any(|n| n.load(Ordering::Relaxed) < want)
        {
            assert!(Instant::now() < deadline, "readers stalled in round {line}");
            thread::sleep(Duration::from_millis(1));
        }
    }
    let got = checker
        .join()
        .expect("the observer got every line in order");
    assert_eq!(got, SENDERS * LINES);
    for r in readers {
        assert_eq!(
            r.join().unwrap(),
            (SENDERS - 1) * LINES,
            "a sender missed lines"
        );
    }

    // The non-reader was disconnected: reading it now ends in EOF or a reset after
    // at most what the limit and the kernel buffers held.
    let mut stalled = stalled;
    stalled.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    let mut total = 0usize;
    let mut buf = [0u8; 64 * 1024];
    loop {
        match stalled.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => total += n,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => panic!("the non-reader was not cut off ({e}) after {total} bytes"),
        }
    }
    let sent_to_each = SENDERS * LINES * (payload.len() + 12);
    assert!(
        total < sent_to_each / 2,
        "the non-reader received {total} of {sent_to_each} bytes: it was not cut off"
    );
}

/// Reads until every message line the member should see has arrived, counting
/// them in `count`; with `Some(senders)`, also checks each sender's order. Returns
/// the number of message lines.
fn read_messages(mut member: Member, count: &AtomicUsize, senders: Option<usize>) -> usize {
    const LINES: usize = 20;
    let total = senders.map_or(99, |s| s) * LINES;
    let mut next = vec![0usize; senders.unwrap_or(0)];
    let mut got = 0;
    while got < total {
        let line = member.line();
        let Some((_, text)) = line.split_once(": ") else {
            continue; // a notice
        };
        let mut parts = text.split(' ');
        let sender: usize = parts.next().unwrap().parse().unwrap();
        let n: usize = parts.next().unwrap().parse().unwrap();
        if let Some(slot) = next.get_mut(sender) {
            assert_eq!(n, *slot, "sender {sender} out of order");
            *slot += 1;
        }
        got += 1;
        count.store(got, Ordering::Relaxed);
    }
    got
}

#[test]
fn help_and_bad_command_lines() {
    assert_help_prints_usage("chat");
    assert_bad_command_line("chat", &["--max-line", "0"]);
    assert_bad_command_line("chat", &["--max-output", "lots"]);
    assert_bad_command_line("chat", &["--threads", "2"]);
}
