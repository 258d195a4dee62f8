//! loadgen: a load generator for the example servers, and for any server that
//! speaks the same protocol, built on the reactor's outbound connections.
//!
//! ```text
//! cargo run --release --example echo &
//! cargo run --release --example loadgen -- tcp-echo --connections 50 --duration 5
//! ```
//!
//! This file is the program: the command line, one reactor per `--threads` with the
//! connections split among them, the main thread as the clock (it ends the run
//! after `--duration`, draws the progress line, and stops the reactors once a
//! session has ended the run), and the merged report. The client plumbing is in
//! `client.rs`, the protocols in `protocols.rs` and `udp.rs`, the output in
//! `report.rs`.

#[path = "../common/mod.rs"]
mod common;

mod client;
mod protocols;
mod report;
#[cfg(feature = "tls")]
mod tls;
mod udp;

use std::cell::RefCell;
use std::io::{IsTerminal, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::exit;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use evloop::{Config, Handle, Reactor};

use client::{Client, Control, Ctx, Results};
use common::CliArg;
use protocols::Command;

const NAME: &str = "loadgen";
const HELP: &str = "\
loadgen: load generator for the evloop example servers (and any server speaking
the same protocol); verifies every reply

USAGE: loadgen MODE [OPTIONS]

MODES:
  tcp-echo   messages of --size bytes, each echoed byte checked (default target
             127.0.0.1:7007)
  udp-echo   datagrams of --size bytes (at least 12: socket id and sequence
             number); replies matched by sequence number, loss reported
             (default target 127.0.0.1:7007)
  http       keep-alive GET --path; status 200 and Content-Length checked
             (default target 127.0.0.1:8080)
  resp       Redis protocol --command with random keys; reply type checked
             (default target 127.0.0.1:6380)

OPTIONS:
  --mode MODE            the mode, instead of the first argument
  --target ADDR          server address, HOST:PORT (default per mode, above)
  --connections N        connections (udp-echo: sockets) (default 50)
  --duration SECS        run this long (default 10, unless --requests is given)
  --requests N           stop after N requests in all (with --duration: whichever
                         comes first)
  --size BYTES           message size; resp: the SET value size and the expected
                         GET bulk size (default 64)
  --pipeline N           requests in flight per connection (default 1); with
                         --rate, the most that may be in flight
  --rate R               open loop: send R requests/s in all, spread evenly
                         over the connections, whether or not replies come
                         back (tcp-echo, http, resp); latency is measured from
                         each request's scheduled send time
  --threads N            reactor threads, connections split among them (default 1)
  --path PATH            http: the path to GET (default /)
  --command CMD          resp: ping, set or get (default ping)
  --keyspace N           resp: keys are drawn from N keys (default 10000)
  --new-connection-per-request
                         tcp-echo, http, resp: one request per connection, then
                         the next connection (latency includes the connect and
                         any TLS handshake); not with --pipeline or --rate
  --tls                  http, resp: TLS (TLS 1.3 or 1.2, rustls)
  --ca FILE              with --tls: trust the CA certificates in FILE (PEM)
  --insecure             with --tls: accept any certificate (throwaway ones)
  --server-name NAME     with --tls: the name to ask for and check (default:
                         the --target host)
  --json                 print one JSON object instead of the table
  -h, --help             print this help

Latency is measured per request, from being written to the output buffer to its
reply being parsed. With --rate it is measured from the time the request was
scheduled to leave: a request held back because its connection already has
--pipeline requests unanswered (a stalled server) counts the wait, so stalls show
in the percentiles instead of being hidden by a generator that slows down with
the server (coordinated omission). The report then also gives the latency from
the actual send, the requested, sent and achieved rates, and how many requests
were due but unanswered when the run ended. Schedules run on the event loop's
timers (millisecond resolution): at low rates a request may leave up to about
1 ms after its slot, and that delay is part of its latency. Requests completed after the run ends are not counted. A live
progress line is drawn on stderr when it is a terminal. Exit status: 0 if any
request succeeded, 1 if none did, 2 for a bad command line.
";

/// How long a UDP run keeps listening for replies after it stops sending.
const UDP_GRACE: Duration = Duration::from_millis(250);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    TcpEcho,
    UdpEcho,
    Http,
    Resp,
}

impl Mode {
    fn parse(name: &str) -> Option<Mode> {
        match name {
            "tcp-echo" => Some(Mode::TcpEcho),
            "udp-echo" => Some(Mode::UdpEcho),
            "http" => Some(Mode::Http),
            "resp" => Some(Mode::Resp),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Mode::TcpEcho => "tcp-echo",
            Mode::UdpEcho => "udp-echo",
            Mode::Http => "http",
            Mode::Resp => "resp",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Mode::TcpEcho | Mode::UdpEcho => 7007,
            Mode::Http => 8080,
            Mode::Resp => 6380,
        }
    }
}

/// The command line, validated.
struct Options {
    mode: Mode,
    target: SocketAddr,
    /// The target as given (the HTTP `Host` header, the report).
    target_text: String,
    connections: usize,
    duration: Option<Duration>,
    requests: Option<u64>,
    size: usize,
    pipeline: usize,
    threads: usize,
    /// `--rate`: requests per second in all (open loop).
    rate: Option<f64>,
    json: bool,
    path: String,
    command: Command,
    keyspace: u64,
    new_connection: bool,
    /// `--tls`: the client config and the server name.
    #[cfg(feature = "tls")]
    tls: Option<tls::ClientTls>,
}

fn parse_options() -> Options {
    let mut mode = None;
    let mut target: Option<String> = None;
    let mut connections = 50usize;
    let mut duration = None;
    let mut requests = None;
    let mut size = 64usize;
    let mut pipeline = 1usize;
    let mut threads = 1usize;
    let mut rate: Option<f64> = None;
    let mut json = false;
    let mut path: Option<String> = None;
    let mut command: Option<Command> = None;
    let mut keyspace: Option<u64> = None;
    let mut new_connection = false;
    let (mut use_tls, mut insecure) = (false, false);
    let mut ca: Option<std::path::PathBuf> = None;
    let mut server_name: Option<String> = None;
    let set_mode = |mode: &mut Option<Mode>, name: &str| {
        let Some(m) = Mode::parse(name) else {
            common::usage_error(NAME, format_args!("unknown mode {name:?}"));
        };
        if mode.is_some_and(|old| old != m) {
            common::usage_error(NAME, "more than one mode given");
        }
        *mode = Some(m);
    };
    common::parse_command_line(NAME, HELP, |arg, parser| {
        let flag = match arg {
            CliArg::Value(v) => {
                set_mode(&mut mode, &v.to_string_lossy());
                return true;
            }
            CliArg::Long(flag) => flag,
            CliArg::Short(_) => return false,
        };
        match flag.as_str() {
            "new-connection-per-request" => new_connection = true,
            "tls" => use_tls = true,
            "insecure" => insecure = true,
            "ca" => ca = Some(common::value(NAME, "--ca", parser)),
            "server-name" => server_name = Some(common::value(NAME, "--server-name", parser)),
            "mode" => set_mode(&mut mode, &common::value::<String>(NAME, "--mode", parser)),
            "target" => target = Some(common::value(NAME, "--target", parser)),
            "connections" => {
                connections = positive(
                    common::value(NAME, "--connections", parser),
                    "--connections",
                )
            }
            "duration" => {
                duration = Some(
                    common::timeout_secs(NAME, "--duration", parser).unwrap_or_else(|| {
                        common::usage_error(NAME, "--duration must be more than 0")
                    }),
                )
            }
            "requests" => {
                requests = Some(positive(
                    common::value(NAME, "--requests", parser),
                    "--requests",
                ))
            }
            "size" => size = common::value(NAME, "--size", parser),
            "pipeline" => {
                pipeline = positive(common::value(NAME, "--pipeline", parser), "--pipeline")
            }
            "threads" => threads = positive(common::value(NAME, "--threads", parser), "--threads"),
            "rate" => {
                let r: f64 = common::value(NAME, "--rate", parser);
                if !(r.is_finite() && r > 0.0 && r <= 1e9) {
                    common::usage_error(NAME, "--rate must be a number of requests/s above 0");
                }
                rate = Some(r)
            }
            "json" => json = true,
            "path" => path = Some(common::value(NAME, "--path", parser)),
            "command" => {
                let name: String = common::value(NAME, "--command", parser);
                command = Some(Command::parse(&name).unwrap_or_else(|| {
                    common::usage_error(
                        NAME,
                        format_args!("invalid value {name:?} for --command: ping, set or get"),
                    )
                }));
            }
            "keyspace" => {
                keyspace = Some(positive(
                    common::value(NAME, "--keyspace", parser),
                    "--keyspace",
                ))
            }
            _ => return false,
        }
        true
    });
    let Some(mode) = mode else {
        common::usage_error(NAME, "no mode given: tcp-echo, udp-echo, http or resp");
    };
    if path.is_some() && mode != Mode::Http {
        common::usage_error(NAME, "--path applies to http mode only");
    }
    if (command.is_some() || keyspace.is_some()) && mode != Mode::Resp {
        common::usage_error(NAME, "--command and --keyspace apply to resp mode only");
    }
    if rate.is_some() && mode == Mode::UdpEcho {
        common::usage_error(NAME, "--rate applies to tcp-echo, http and resp");
    }
    let path = path.unwrap_or_else(|| "/".to_string());
    if !path.starts_with('/') || path.bytes().any(|b| b <= b' ' || b == 0x7f) {
        common::usage_error(
            NAME,
            format_args!("invalid --path {path:?}: must start with / and have no spaces"),
        );
    }
    match mode {
        Mode::TcpEcho if size == 0 => common::usage_error(NAME, "--size must be at least 1"),
        Mode::UdpEcho if !(udp::HEADER..=65_507).contains(&size) => common::usage_error(
            NAME,
            format_args!("--size for udp-echo must be {}..=65507", udp::HEADER),
        ),
        _ if size > 512 * 1024 * 1024 => common::usage_error(NAME, "--size too large"),
        _ => {}
    }
    let target_text = target.unwrap_or_else(|| format!("127.0.0.1:{}", mode.default_port()));
    let target = match target_text.to_socket_addrs().map(|mut a| a.next()) {
        Ok(Some(addr)) => addr,
        Ok(None) => common::usage_error(NAME, format_args!("--target {target_text:?}: no address")),
        Err(e) => common::usage_error(NAME, format_args!("invalid --target {target_text:?}: {e}")),
    };
    if duration.is_none() && requests.is_none() {
        duration = Some(Duration::from_secs(10));
    }
    if new_connection && (mode == Mode::UdpEcho || pipeline > 1 || rate.is_some()) {
        common::usage_error(
            NAME,
            "--new-connection-per-request: tcp-echo, http or resp, without --pipeline or --rate",
        );
    }
    if !use_tls && (insecure || ca.is_some() || server_name.is_some()) {
        common::usage_error(NAME, "--ca, --insecure and --server-name need --tls");
    }
    if use_tls && !matches!(mode, Mode::Http | Mode::Resp) {
        common::usage_error(NAME, "--tls applies to http and resp");
    }
    if use_tls && insecure == ca.is_some() {
        common::usage_error(NAME, "--tls needs one of --ca FILE or --insecure");
    }
    #[cfg(feature = "tls")]
    let tls = use_tls.then(|| {
        let name = server_name.unwrap_or_else(|| tls::host_of(&target_text).to_string());
        let alpn: &[&[u8]] = if mode == Mode::Http {
            &[b"http/1.1"]
        } else {
            &[]
        };
        tls::client_tls(ca.as_deref(), alpn, &name).unwrap_or_else(|e| common::fatal(NAME, e))
    });
    #[cfg(not(feature = "tls"))]
    if use_tls {
        common::usage_error(NAME, "--tls: built without the tls feature");
    }
    Options {
        mode,
        target,
        target_text,
        connections,
        duration,
        requests,
        size,
        pipeline,
        threads: threads.min(connections),
        rate,
        json,
        path,
        command: command.unwrap_or(Command::Ping),
        keyspace: keyspace.unwrap_or(10_000),
        new_connection,
        #[cfg(feature = "tls")]
        tls,
    }
}

/// A count that must be at least 1.
fn positive<T: PartialOrd + From<u8>>(n: T, flag: &str) -> T {
    if n < T::from(1) {
        common::usage_error(NAME, format_args!("{flag} must be at least 1"));
    }
    n
}

fn main() {
    let opts = Arc::new(parse_options());
    let control = Arc::new(Control::new(
        opts.requests,
        if opts.mode == Mode::UdpEcho {
            // UDP sockets do not end before the run does.
            usize::MAX
        } else {
            opts.connections
        },
    ));

    let (handles_tx, handles_rx) = mpsc::channel();
    let mut workers = Vec::new();
    for t in 0..opts.threads {
        // Connections split as evenly as possible; ids are global.
        let share =
            opts.connections / opts.threads + usize::from(t < opts.connections % opts.threads);
        let first = (opts.connections / opts.threads) * t + t.min(opts.connections % opts.threads);
        let (opts, control, handles_tx) =
            (Arc::clone(&opts), Arc::clone(&control), handles_tx.clone());
        let worker = std::thread::Builder::new()
            .name(format!("loadgen-{t}"))
            .spawn(move || worker(&opts, control, first, share, handles_tx));
        match worker {
            Ok(w) => workers.push(w),
            Err(e) => common::fatal(NAME, format_args!("cannot start a thread: {e}")),
        }
    }
    drop(handles_tx);
    let handles: Vec<Handle> = handles_rx.iter().collect();

    let progress = std::io::stderr().is_terminal();
    let mut next_progress = control.start + Duration::from_secs(1);
    let mut last_count = 0;
    let deadline = opts.duration.map(|d| control.start + d);
    while !control.stopped() {
        let now = Instant::now();
        if deadline.is_some_and(|d| now >= d) {
            control.request_stop();
            break;
        }
        if progress && now >= next_progress {
            next_progress += Duration::from_secs(1);
            last_count = draw_progress(&control, now, last_count);
        }
        let mut wait = Duration::from_millis(5);
        if let Some(d) = deadline {
            wait = wait.min(d.saturating_duration_since(now));
        }
        std::thread::sleep(wait);
    }
    if opts.mode == Mode::UdpEcho {
        // Late replies still count as received (not lost), though not as requests.
        std::thread::sleep(UDP_GRACE);
    }
    for handle in &handles {
        handle.shutdown();
    }
    let mut total = Results::new();
    for worker in workers {
        match worker.join() {
            Ok(results) => total.merge(results),
            Err(_) => common::fatal(NAME, "a worker thread panicked"),
        }
    }
    if progress {
        eprint!("\r\x1b[2K");
    }
    let elapsed = control
        .stopped_at()
        .saturating_duration_since(control.start);
    let info = report::RunInfo {
        mode: opts.mode.name(),
        target: opts.target_text.clone(),
        connections: opts.connections,
        pipeline: opts.pipeline,
        threads: opts.threads,
        size: opts.size,
        detail: match opts.mode {
            Mode::Http => Some(format!("GET {}", opts.path)),
            Mode::Resp => Some(opts.command.name().to_string()),
            _ => None,
        },
        udp: opts.mode == Mode::UdpEcho,
        rate: opts.rate,
    };
    let text = if opts.json {
        report::json(&info, &total, elapsed) + "\n"
    } else {
        report::table(&info, &total, elapsed)
    };
    let mut stdout = std::io::stdout();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
    exit(if total.requests > 0 { 0 } else { 1 })
}

/// Draw the progress line: elapsed time, requests so far, the last second's rate,
/// errors so far. Returns the request count it drew.
fn draw_progress(control: &Control, now: Instant, last_count: u64) -> u64 {
    let secs = now.saturating_duration_since(control.start).as_secs_f64();
    let requests = control.progress_requests.load(Ordering::Relaxed);
    let errors = control.progress_errors.load(Ordering::Relaxed);
    eprint!(
        "\r\x1b[2K{secs:5.0} s  {:>14} requests  {:>12} req/s  {} errors",
        report::group(requests),
        report::group(requests.saturating_sub(last_count)),
        report::group(errors)
    );
    let _ = std::io::stderr().flush();
    requests
}

/// One reactor thread: open this thread's share of connections (ids `first..`),
/// run until the main thread stops the reactor, hand back what was measured.
fn worker(
    opts: &Options,
    control: Arc<Control>,
    first: usize,
    share: usize,
    handles: mpsc::Sender<Handle>,
) -> Results {
    let config = Config {
        max_connections: share.max(1),
        // A server that stops answering for this long loses the connection.
        idle_timeout: Some(Duration::from_secs(10)),
        request_timeout: None,
        connect_timeout: Duration::from_secs(5),
        shutdown_timeout: Duration::from_secs(1),
        linger_timeout: Duration::from_millis(500),
        max_input: (1 << 20usize).max(opts.size.saturating_mul(2) + (64 << 10)),
        // Requests leave on a schedule: send them on time, not up to 1 ms late.
        precise_timers: opts.rate.is_some(),
        ..Config::default()
    };
    let mut reactor = common::reactor(NAME, config);
    let handle = reactor.handle();
    if handles.send(handle).is_err() {
        return Results::new();
    }
    drop(handles);
    let results = Rc::new(RefCell::new(Results::new()));
    let ctx = Ctx {
        control: Arc::clone(&control),
        results: Rc::clone(&results),
    };
    open_all(&mut reactor, opts, &ctx, first, share);
    if let Err(e) = reactor.run() {
        common::fatal(NAME, format_args!("event loop failed: {e}"));
    }
    drop(reactor); // drops the sessions, which report into `results`
    drop(ctx);
    match Rc::try_unwrap(results) {
        Ok(cell) => cell.into_inner(),
        Err(shared) => shared.replace(Results::new()),
    }
}

/// Open connection (or socket) ids `first..first + share` on `reactor`.
fn open_all(reactor: &mut Reactor, opts: &Options, ctx: &Ctx, first: usize, share: usize) {
    let pattern = protocols::pattern(opts.size);
    let http_request = protocols::Http::request(&opts.path, &opts.target_text);
    let value: Rc<[u8]> = vec![b'x'; opts.size].into();
    let again = opts.new_connection.then(|| {
        Rc::new(client::Again {
            target: opts.target,
            #[cfg(feature = "tls")]
            tls: opts.tls.clone(),
        })
    });

    for id in first..first + share {
        let pace = opts.rate.map(|rate| client::Pace {
            interval: Duration::from_secs_f64(opts.connections as f64 / rate),
            phase: Duration::from_secs_f64(id as f64 / rate),
        });
        let session: Box<dyn evloop::Session> = match opts.mode {
            Mode::UdpEcho => {
                open_udp(reactor, opts, ctx, id, &pattern);
                continue;
            }
            Mode::TcpEcho => Box::new(chain_of(
                &again,
                Client::new(
                    protocols::Echo::new(Rc::clone(&pattern), opts.size, id as u64),
                    ctx.clone(),
                    opts.pipeline,
                    pace,
                ),
            )),
            Mode::Http => Box::new(chain_of(
                &again,
                Client::new(
                    protocols::Http::new(Rc::clone(&http_request)),
                    ctx.clone(),
                    opts.pipeline,
                    pace,
                ),
            )),
            Mode::Resp => Box::new(chain_of(
                &again,
                Client::new(
                    protocols::Resp::new(
                        opts.command,
                        opts.keyspace,
                        Rc::clone(&value),
                        id as u64 + 1,
                    ),
                    ctx.clone(),
                    opts.pipeline,
                    pace,
                ),
            )),
        };
        #[cfg(feature = "tls")]
        let connected = match &opts.tls {
            Some((config, name)) => {
                reactor.connect_tls(opts.target, Arc::clone(config), name.clone(), session)
            }
            None => reactor.connect(opts.target, session),
        };
        #[cfg(not(feature = "tls"))]
        let connected = reactor.connect(opts.target, session);
        // On failure the session is dropped, which ends it.
        if let Err(e) = connected {
            let mut results = ctx.results.borrow_mut();
            results.connect_errors += 1;
            results.note(&format!("connect: {e}"), 1);
        }
    }
}

/// `client`, made the first of a chain of one-request connections if the run
/// asks for that.
fn chain_of<P: client::Protocol>(
    again: &Option<Rc<client::Again>>,
    client: Client<P>,
) -> Client<P> {
    match again {
        Some(again) => client.one_per_connection(Rc::clone(again)),
        None => client,
    }
}

fn open_udp(reactor: &mut Reactor, opts: &Options, ctx: &Ctx, id: usize, pattern: &Rc<[u8]>) {
    let local: SocketAddr = if opts.target.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let client = udp::UdpClient::new(
        ctx.clone(),
        opts.target,
        id as u32,
        opts.size,
        opts.pipeline,
        Rc::clone(pattern),
    );
    let added = evloop::net::bind_udp(local, Default::default())
        .and_then(|socket| reactor.add_udp_socket(socket, client));
    if let Err(e) = added {
        let mut results = ctx.results.borrow_mut();
        results.connect_errors += 1;
        results.note(&format!("UDP socket: {e}"), 1);
    }
}
