//! A server in a child process, for the tests that need a process of its own: a
//! lower descriptor limit (`ulimit -n`), or CPU time and memory measured for the
//! server alone (`/proc/<pid>/stat`, `/proc/<pid>/status`).
//!
//! The child is the test binary itself, re-run with one `#[ignore]`d test selected
//! and an environment variable that tells it to act: it builds a [`Server`] in
//! process, prints `PORT <tcp> <udp>`, then answers `stats` lines on stdin with a
//! `STATS ...` line (the [`Stats`] `Debug` text) and stops when stdin closes,
//! printing a last `STATS` line. Every wait on it is bounded.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use evloop::Stats;

use super::{Server, IO_TIMEOUT};

/// The environment variable that turns the selected ignored test into a child server.
pub const CHILD_ENV: &str = "EVLOOP_CHILD_SERVER";

/// The child side: if this process was started by [`ChildServer::spawn`] (the
/// variable is set), build the server with `start`, serve the protocol described
/// in the module documentation, and return `true`; otherwise return `false` at once
/// (the ignored test was run by hand).
pub fn serve_as_child(start: impl FnOnce() -> Server) -> bool {
    if std::env::var_os(CHILD_ENV).is_none() {
        return false;
    }
    let server = start();
    let mut out = std::io::stdout();
    let udp = server.udp.map_or(0, |a| a.port());
    // A line of its own: the harness prints `test name ... ` before our output.
    writeln!(out, "\nPORT {} {udp}", server.tcp.map_or(0, |a| a.port())).unwrap();
    out.flush().unwrap();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line.trim() == "stats" {
            writeln!(out, "STATS {:?}", server.stats()).unwrap();
            out.flush().unwrap();
        }
    }
    let stats = server.stop();
    writeln!(out, "STATS {stats:?}").unwrap();
    out.flush().unwrap();
    true
}

/// A server running in a child copy of this test binary; killed if dropped early.
pub struct ChildServer {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    pub tcp: SocketAddr,
    pub udp: SocketAddr,
}

impl ChildServer {
    /// Runs this test binary's ignored test `test_name` (which must call
    /// [`serve_as_child`]) as a child, under `ulimit -n nofile` if given, and waits
    /// (bounded) for its ports.
    pub fn spawn(test_name: &str, nofile: Option<u32>) -> ChildServer {
        let exe = std::env::current_exe().unwrap();
        let limit = nofile.map_or(String::new(), |n| format!("ulimit -n {n} && "));
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "{limit}exec \"$0\" \"$1\" --exact --ignored --nocapture --test-threads=1"
            ))
            .arg(&exe)
            .arg(test_name)
            .env(CHILD_ENV, "1")
            .env("RUST_LOG", "error")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn child server");
        let stdout = child.stdout.take().unwrap();
        let stdin = child.stdin.take();
        // Lines through a channel, so that every wait on the child is time-boxed.
        let (tx, lines) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = ChildServer {
            child,
            stdin,
            lines,
            tcp: ([127, 0, 0, 1], 0).into(),
            udp: ([127, 0, 0, 1], 0).into(),
        };
        let ports = server.line_after("PORT ");
        let mut ports = ports.split(' ').map(|p| p.parse::<u16>().expect("port"));
        server.tcp.set_port(ports.next().unwrap());
        server.udp.set_port(ports.next().unwrap());
        server
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The rest of the next line holding `marker`, after it (bounded wait).
    fn line_after(&self, marker: &str) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(IO_TIMEOUT)
                .unwrap_or_else(|_| panic!("child server never printed {marker:?}"));
            if let Some(at) = line.find(marker) {
                return line[at + marker.len()..].trim().to_string();
            }
        }
    }

    /// The child's counters now.
    pub fn stats(&mut self) -> Stats {
        let stdin = self.stdin.as_mut().expect("child still running");
        stdin.write_all(b"stats\n").unwrap();
        stdin.flush().unwrap();
        parse_stats(&self.line_after("STATS "))
    }

    /// Polls the child's counters until `pred` holds (bounded by IO_TIMEOUT).
    pub fn wait_for(&mut self, what: &str, pred: impl Fn(&Stats) -> bool) -> Stats {
        let deadline = std::time::Instant::now() + IO_TIMEOUT;
        loop {
            let stats = self.stats();
            if pred(&stats) {
                return stats;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {what}: {stats:?}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Closes the child's stdin (it shuts its server down gracefully), waits
    /// (bounded) for it to exit 0, and returns its final counters.
    pub fn stop(mut self) -> Stats {
        drop(self.stdin.take());
        let stats = parse_stats(&self.line_after("STATS "));
        let status = self.wait(IO_TIMEOUT);
        assert!(status.success(), "child server failed: {status}");
        stats
    }

    fn wait(&mut self, timeout: Duration) -> ExitStatus {
        super::interop::wait_bounded(&mut self.child, "child server", timeout)
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A [`Stats`] from its `Debug` text (`Stats { accepted: 1, closed: 0, ... }`).
fn parse_stats(text: &str) -> Stats {
    let field = |name: &str| -> u64 {
        let key = format!("{name}: ");
        let at = text
            .find(&key)
            .unwrap_or_else(|| panic!("no {name} in {text:?}"));
        text[at + key.len()..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect::<String>()
            .parse()
            .unwrap()
    };
    Stats {
        accepted: field("accepted"),
        closed: field("closed"),
        active: field("active"),
        io_errors: field("io_errors"),
        timeouts: field("timeouts"),
        bytes_in: field("bytes_in"),
        bytes_out: field("bytes_out"),
        reads: field("reads"),
        writes: field("writes"),
        polls: field("polls"),
        accept_errors: field("accept_errors"),
        backpressure_pauses: field("backpressure_pauses"),
        output_buffered: field("output_buffered"),
        output_buffered_peak: field("output_buffered_peak"),
        udp_in: field("udp_in"),
        udp_out: field("udp_out"),
        udp_dropped: field("udp_dropped"),
        // Counters added later read as 0 here until listed above.
        ..Stats::default()
    }
}

/// CPU seconds (user + system) the process `pid` has used so far.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0 // USER_HZ is 100 on Linux
}

/// A `/proc/<pid>/status` field in KiB, such as `VmRSS` (resident now) or `VmHWM`
/// (the resident peak).
pub fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"));
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// The kernel's drop count (`/proc/net/udp`, last column) for the IPv4 UDP socket
/// bound to `addr`: datagrams that arrived at a full receive buffer.
pub fn udp_socket_drops(addr: SocketAddr) -> u64 {
    let SocketAddr::V4(v4) = addr else {
        panic!("IPv4 only")
    };
    let ip = u32::from_le_bytes(v4.ip().octets());
    let local = format!("{ip:08X}:{:04X}", v4.port());
    let table = std::fs::read_to_string("/proc/net/udp").unwrap();
    let line = table
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(local.as_str()))
        .unwrap_or_else(|| panic!("no UDP socket {local} in /proc/net/udp"));
    line.split_whitespace().last().unwrap().parse().unwrap()
}

/// Open 250 connections to `child` (started under `ulimit -n 64`, so far past its
/// descriptors: the kernel completes them into the backlog, the server can accept
/// only ~50) and assert that over a one-second window the server does not spin
/// on accept errors. The connections close when this returns.
pub fn storm_past_the_descriptor_limit(child: &ChildServer) {
    let storm: Vec<std::net::TcpStream> = (0..250).map(|_| super::connect(child.tcp)).collect();
    let cpu_before = cpu_seconds(child.pid());
    std::thread::sleep(Duration::from_secs(1)); // a measuring window, not a sync
    let cpu_used = cpu_seconds(child.pid()) - cpu_before;
    assert!(
        cpu_used < 0.3,
        "server used {cpu_used:.2} s of CPU in 1 s while out of descriptors: spinning"
    );
    drop(storm);
}
