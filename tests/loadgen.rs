//! The load generator example (`examples/loadgen/`) run as a child process against
//! in-process servers: the library's echo, HTTP and key-value services, where every
//! request must succeed; servers that answer wrongly (a flipped echo byte, HTTP
//! 500, RESP `-ERR`), where loadgen must count errors; and a port nobody listens
//! on, where it must report connect errors and exit non-zero; and a server that
//! stalls once on purpose, where the open-loop mode (`--rate`) must show the
//! stall in its percentiles.

mod common;

use std::net::SocketAddr;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::interop::{assert_bad_command_line, example, run_bounded_for};
use common::Server;
use evloop::proto::echo::Echo;
use evloop::{Config, Ctx, DatagramService, Datagrams, Session, Step, StreamService};
use evloop_http::{Demo, HttpConfig, HttpService};
use evloop_kv::{KvConfig, KvService};

/// Every loadgen run must finish within this.
const RUN_TIMEOUT: Duration = Duration::from_secs(10);

/// `loadgen args... --json`: its exit status and the JSON object it printed.
fn loadgen(args: &[&str]) -> (Output, String) {
    let mut cmd = Command::new(example("loadgen"));
    cmd.args(args).arg("--json");
    let out = run_bounded_for(&mut cmd, "loadgen", RUN_TIMEOUT);
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        stdout.starts_with('{') && stdout.ends_with('}') && stdout.lines().count() == 1,
        "loadgen {args:?}: not one JSON object: {stdout:?}; stderr {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out, stdout)
}

/// A top-level number in loadgen's JSON output.
fn field(json: &str, name: &str) -> f64 {
    let key = format!("\"{name}\":");
    let start = json
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in {json}"))
        + key.len();
    let rest = &json[start..];
    let end = rest
        .find(|c: char| c != '.' && c != '-' && !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end]
        .parse()
        .unwrap_or_else(|_| panic!("{name} is not a number in {json}"))
}

/// `requests` of `2000` all verified, no errors, a positive rate, exit 0.
fn assert_clean_run(mode: &str, target: SocketAddr, extra: &[&str]) -> String {
    let target = target.to_string();
    let mut args = vec![mode, "--target", &target, "--requests", "2000"];
    args.extend_from_slice(extra);
    let (out, json) = loadgen(&args);
    assert!(out.status.success(), "{args:?}: {} {json}", out.status);
    assert_eq!(field(&json, "requests"), 2000.0, "{args:?}: {json}");
    assert_eq!(field(&json, "errors"), 0.0, "{args:?}: {json}");
    assert_eq!(field(&json, "connect_errors"), 0.0, "{args:?}: {json}");
    assert!(field(&json, "rps") > 0.0, "{args:?}: {json}");
    assert!(field(&json, "p50") > 0.0, "{args:?}: {json}");
    json
}

/// Runs against a server that answers wrongly: loadgen must count errors.
fn assert_errors_reported(mode: &str, target: SocketAddr, extra: &[&str]) -> String {
    let target = target.to_string();
    let mut args = vec![mode, "--target", &target, "--requests", "500"];
    args.extend_from_slice(extra);
    let (out, json) = loadgen(&args);
    assert!(
        out.status.code().is_some(),
        "{args:?}: killed: {}",
        out.status
    );
    assert!(field(&json, "errors") > 0.0, "{args:?}: {json}");
    json
}

fn echo_server() -> Server {
    Server::start(Config::default(), |r| {
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let l = evloop::net::bind_tcp(any, Default::default()).unwrap();
        let tcp = r.add_tcp_listener(l, Echo).unwrap();
        let u = evloop::net::bind_udp(any, Default::default()).unwrap();
        let udp = r.add_udp_socket(u, Echo).unwrap();
        (Some(tcp), Some(udp))
    })
}

fn tcp_server<S: StreamService + 'static>(service: impl FnOnce() -> S + Send + 'static) -> Server {
    Server::start(Config::default(), move |r| {
        let l = evloop::net::bind_tcp("127.0.0.1:0".parse().unwrap(), Default::default()).unwrap();
        (Some(r.add_tcp_listener(l, service()).unwrap()), None)
    })
}

#[test]
fn tcp_and_udp_echo_every_request_verified() {
    let server = echo_server();
    assert_clean_run("tcp-echo", server.tcp(), &["--connections", "10"]);
    assert_clean_run(
        "tcp-echo",
        server.tcp(),
        &[
            "--connections",
            "4",
            "--pipeline",
            "8",
            "--threads",
            "2",
            "--size",
            "5000",
        ],
    );
    let json = assert_clean_run(
        "udp-echo",
        server.udp(),
        &["--connections", "10", "--pipeline", "4"],
    );
    assert_eq!(field(&json, "loss"), 0.0, "{json}");
    assert_eq!(field(&json, "sent"), 2000.0, "{json}");
}

#[test]
fn http_every_response_verified() {
    let server = tcp_server(|| HttpService::new(HttpConfig::default(), Demo).unwrap());
    assert_clean_run("http", server.tcp(), &["--connections", "10"]);
    assert_clean_run(
        "http",
        server.tcp(),
        &["--connections", "4", "--pipeline", "16", "--path", "/json"],
    );
}

#[test]
fn resp_every_reply_verified() {
    let server = tcp_server(|| KvService::new(KvConfig::default()));
    assert_clean_run("resp", server.tcp(), &["--connections", "10"]);
    // Small keyspace: the GETs find the values the SETs stored (checked for length).
    let small = [
        "--keyspace",
        "50",
        "--size",
        "100",
        "--pipeline",
        "8",
        "--connections",
        "5",
    ];
    assert_clean_run(
        "resp",
        server.tcp(),
        &[&["--command", "set"][..], &small].concat(),
    );
    assert_clean_run(
        "resp",
        server.tcp(),
        &[&["--command", "get"][..], &small].concat(),
    );
}

#[test]
fn a_duration_run_stops_on_time() {
    let server = echo_server();
    let target = server.tcp().to_string();
    let started = Instant::now();
    let (out, json) = loadgen(&[
        "tcp-echo",
        "--target",
        &target,
        "--duration",
        "1",
        "--connections",
        "5",
    ]);
    assert!(out.status.success(), "{json}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "took {:?}",
        started.elapsed()
    );
    let secs = field(&json, "duration_s");
    assert!((0.9..2.0).contains(&secs), "{json}");
    assert!(field(&json, "requests") > 0.0, "{json}");
    assert_eq!(field(&json, "errors"), 0.0, "{json}");
}

/// Echoes with the first byte of every read flipped.
struct FlippingEcho;

impl Session for FlippingEcho {
    fn on_input(&mut self, _ctx: &mut Ctx<'_>, input: &[u8], out: &mut Vec<u8>) -> Step {
        let start = out.len();
        out.extend_from_slice(input);
        if let Some(b) = out.get_mut(start) {
            *b ^= 0x20;
        }
        Step::read(input.len())
    }
}

struct FlippingEchoService;

impl StreamService for FlippingEchoService {
    fn open(&mut self, _peer: SocketAddr) -> Box<dyn Session> {
        Box::new(FlippingEcho)
    }
}

impl DatagramService for FlippingEchoService {
    fn on_datagram(&mut self, data: &[u8], from: SocketAddr, out: &mut Datagrams) {
        let mut reply = data.to_vec();
        if let Some(b) = reply.last_mut() {
            *b ^= 0x20;
        }
        out.send(&reply, from);
    }
}

/// Answers every request head with a well-framed 500.
struct Http500;

impl Session for Http500 {
    fn on_input(&mut self, _ctx: &mut Ctx<'_>, input: &[u8], out: &mut Vec<u8>) -> Step {
        let mut consumed = 0;
        while let Some(end) = input[consumed..].windows(4).position(|w| w == b"\r\n\r\n") {
            consumed += end + 4;
            out.extend_from_slice(
                b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\noops!",
            );
        }
        Step::read(consumed)
    }
}

/// Answers every PING with `-ERR`.
struct RespError;

impl Session for RespError {
    fn on_input(&mut self, _ctx: &mut Ctx<'_>, input: &[u8], out: &mut Vec<u8>) -> Step {
        let mut consumed = 0;
        while let Some(end) = input[consumed..].windows(6).position(|w| w == b"PING\r\n") {
            consumed += end + 6;
            out.extend_from_slice(b"-ERR not today\r\n");
        }
        Step::read(consumed)
    }
}

/// A service opening sessions of type `S`.
struct Sessions<S>(fn() -> S);

impl<S: Session + 'static> StreamService for Sessions<S> {
    fn open(&mut self, _peer: SocketAddr) -> Box<dyn Session> {
        Box::new((self.0)())
    }
}

#[test]
fn wrong_replies_are_counted_as_errors() {
    let echo = Server::start(Config::default(), |r| {
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let l = evloop::net::bind_tcp(any, Default::default()).unwrap();
        let tcp = r.add_tcp_listener(l, FlippingEchoService).unwrap();
        let u = evloop::net::bind_udp(any, Default::default()).unwrap();
        let udp = r.add_udp_socket(u, FlippingEchoService).unwrap();
        (Some(tcp), Some(udp))
    });
    let json = assert_errors_reported("tcp-echo", echo.tcp(), &["--connections", "5"]);
    assert!(json.contains("echoed bytes differ"), "{json}");
    let json = assert_errors_reported("udp-echo", echo.udp(), &["--connections", "5"]);
    assert!(json.contains("payload differs"), "{json}");

    let http = tcp_server(|| Sessions(|| Http500));
    let json = assert_errors_reported(
        "http",
        http.tcp(),
        &["--connections", "5", "--pipeline", "4"],
    );
    assert_eq!(field(&json, "requests"), 0.0, "{json}");
    assert!(json.contains("status other than 200"), "{json}");

    let resp = tcp_server(|| Sessions(|| RespError));
    let json = assert_errors_reported(
        "resp",
        resp.tcp(),
        &["--connections", "5", "--pipeline", "4"],
    );
    assert_eq!(field(&json, "requests"), 0.0, "{json}");
    assert!(json.contains("RESP error reply"), "{json}");
}

/// Echoes, but once it has echoed `after` bytes in all, blocks its event loop for
/// `stall` — a server stopped by a long command or a GC pause.
struct StallingEcho {
    echoed: Arc<AtomicUsize>,
    stalled: Arc<AtomicBool>,
    after: usize,
    stall: Duration,
}

impl Session for StallingEcho {
    fn on_input(&mut self, _ctx: &mut Ctx<'_>, input: &[u8], out: &mut Vec<u8>) -> Step {
        let total = self.echoed.fetch_add(input.len(), Ordering::Relaxed) + input.len();
        if total >= self.after && !self.stalled.swap(true, Ordering::Relaxed) {
            std::thread::sleep(self.stall); // the stall under test
        }
        out.extend_from_slice(input);
        Step::read(input.len())
    }
}

struct StallingEchoService {
    echoed: Arc<AtomicUsize>,
    stalled: Arc<AtomicBool>,
}

impl StreamService for StallingEchoService {
    fn open(&mut self, _peer: SocketAddr) -> Box<dyn Session> {
        Box::new(StallingEcho {
            echoed: Arc::clone(&self.echoed),
            stalled: Arc::clone(&self.stalled),
            after: 300 * 64,
            stall: Duration::from_millis(300),
        })
    }
}

/// `name`'s `p99` inside the JSON object `object` of loadgen's output.
fn nested_p99(json: &str, object: &str) -> f64 {
    let key = format!("\"{object}\":");
    let at = json
        .find(&key)
        .unwrap_or_else(|| panic!("no {object} in {json}"));
    field(&json[at + key.len()..], "p99")
}

#[test]
fn the_open_loop_mode_shows_a_stall_that_the_closed_loop_mode_hides() {
    let run = |extra: &[&str]| {
        let server = tcp_server(|| StallingEchoService {
            echoed: Arc::default(),
            stalled: Arc::default(),
        });
        let target = server.tcp().to_string();
        let mut args = vec!["tcp-echo", "--target", &target, "--connections", "4"];
        args.extend_from_slice(&["--duration", "1.5"]);
        args.extend_from_slice(extra);
        let (out, json) = loadgen(&args);
        assert!(out.status.success(), "{args:?}: {json}");
        assert_eq!(field(&json, "errors"), 0.0, "{json}");
        json
    };
    // 1,000 requests/s for 1.5 s, and a 300 ms stall after the first 300: about
    // a fifth of the requests were due during the stall and wait for it, from
    // their scheduled time — the percentiles must show it.
    let json = run(&["--rate", "1000"]);
    assert_eq!(field(&json, "requested_rps"), 1000.0, "{json}");
    let achieved = field(&json, "rps");
    assert!((850.0..1100.0).contains(&achieved), "rate not kept: {json}");
    let scheduled_p99 = field(&json, "p99");
    assert!(scheduled_p99 >= 150_000.0, "stall hidden: {json}");
    // Measured from the actual send, only the few requests in flight when the
    // server stopped saw it: that is the view the open-loop mode corrects.
    let sent_p99 = nested_p99(&json, "service_latency_us");
    assert!(sent_p99 < scheduled_p99 / 2.0, "{json}");

    // Closed loop: the generator waits with the server, sends little during the
    // stall, and its p99 stays low — the coordinated omission `--rate` avoids.
    let json = run(&[]);
    assert!(field(&json, "p99") < scheduled_p99 / 2.0, "{json}");
    assert!(!json.contains("requested_rps"), "{json}");
}

#[test]
fn a_refused_target_reports_connect_errors_and_fails() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let target = format!("127.0.0.1:{port}");
    let (out, json) = loadgen(&[
        "tcp-echo",
        "--target",
        &target,
        "--connections",
        "7",
        "--duration",
        "5",
    ]);
    assert_eq!(out.status.code(), Some(1), "{json}");
    assert_eq!(field(&json, "connect_errors"), 7.0, "{json}");
    assert_eq!(field(&json, "requests"), 0.0, "{json}");
    // Every connection failed, so the run ended at once rather than after 5 s.
    assert!(field(&json, "duration_s") < 2.0, "{json}");
}

#[test]
fn bad_command_lines_are_rejected_and_help_is_printed() {
    for args in [
        &[][..],
        &["bogus-mode"],
        &["tcp-echo", "--connections", "many"],
        &["tcp-echo", "--pipeline", "0"],
        &["tcp-echo", "--no-such-flag"],
        &["udp-echo", "--size", "4"],
        &["tcp-echo", "--path", "/x"],
        &["resp", "--command", "del"],
        &["http", "--rate", "0"],
        &["http", "--rate", "fast"],
        &["udp-echo", "--rate", "100"],
    ] {
        assert_bad_command_line("loadgen", args);
    }
    let out = run_bounded_for(
        Command::new(example("loadgen")).arg("--help"),
        "loadgen --help",
        RUN_TIMEOUT,
    );
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--target",
        "--connections",
        "--pipeline",
        "--rate",
        "--json",
        "udp-echo",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help: {help}");
    }
}
