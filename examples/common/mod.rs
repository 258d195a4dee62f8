//! What every example server shares: command-line errors, binding, the
//! `listening on` line, signals, and logging. Kept out of the library because a
//! library should not decide how a program parses flags or exits.

#![allow(dead_code)] // each example uses a different subset

mod handover;
mod listen;
mod ops;
#[cfg(feature = "tls")]
pub mod tls;

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::exit;
use std::time::Duration;

use evloop::net::ListenOptions;
use evloop::{Config, Reactor, StreamService};

pub use listen::{bind_all, Bound, Sockets};
pub use ops::Ops;

/// What every example server is configured with.
#[derive(Clone)]
pub struct ServerArgs {
    /// `--listen ADDR`.
    pub listen: SocketAddr,
    /// Reactor limits; `--max-connections`, `--idle-timeout` and the flags in
    /// [`LIMITS_HELP`] land here.
    pub config: Config,
    /// `--send-buffer` lands here.
    pub listen_options: ListenOptions,
    /// `--threads N`: reactors, one per thread, sharing the port (SO_REUSEPORT).
    pub threads: usize,
    /// `--listen` was given (with `--unix` and no `--listen`, only the Unix
    /// socket is served).
    pub listen_given: bool,
    /// `--unix PATH`: also (or only) serve on this Unix-domain socket.
    pub unix: Option<PathBuf>,
    /// `--unix-perm MODE`: the socket file's permission bits.
    pub unix_perm: Option<u32>,
    /// Bind UDP beside TCP on the same port (the echo server).
    pub udp: bool,
    /// `--proxy-protocol NETS`: connections must start with a PROXY header from
    /// one of these networks.
    pub proxy: Option<evloop_proxy_protocol::ProxyConfig>,
    /// `--drain-delay SECS`: on SIGTERM, keep serving (with health checks
    /// failing) this long before the graceful shutdown.
    pub drain_delay: Duration,
    /// The reactors' handles and counters, and the draining flag.
    pub ops: Ops,
    /// `--handover PATH`: take the sockets from the process offering them there,
    /// and offer ours there to a successor.
    pub handover: Option<PathBuf>,
    /// A separate TLS listener (HTTP's `--tls-listen`, kv's `--tls-port`).
    pub tls_listen: Option<SocketAddr>,
    /// TLS, if a certificate was given: on `tls_listen`, or on every TCP
    /// listener if there is none.
    #[cfg(feature = "tls")]
    pub tls: Option<std::sync::Arc<evloop::tls::rustls::ServerConfig>>,
}

impl ServerArgs {
    /// Defaults: `listen` and `config` as given, default listen options.
    pub fn new(listen: SocketAddr, config: Config) -> ServerArgs {
        ServerArgs {
            listen,
            config,
            listen_options: ListenOptions::default(),
            threads: 1,
            listen_given: false,
            unix: None,
            unix_perm: None,
            udp: false,
            proxy: None,
            drain_delay: Duration::ZERO,
            ops: Ops::default(),
            handover: None,
            tls_listen: None,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// Whether TCP is served: unless only `--unix` was asked for.
    pub fn tcp_wanted(&self) -> bool {
        self.listen_given || self.unix.is_none()
    }
}

/// The listening flags every server takes, appended to each example's `--help`.
pub const LISTEN_HELP: &str = "
LISTENING (every server):
  --unix PATH              also serve on a Unix-domain socket at PATH; without
                           --listen, serve only there. A socket file left by a
                           process that exited is replaced; one that a process
                           still listens on is an error
  --unix-perm MODE         octal permission bits for the socket file (e.g. 660;
                           default: the umask's)
  --proxy-protocol NETS    every connection starts with a PROXY protocol v1 or v2
                           header (HAProxy's send-proxy[-v2]) naming the real
                           client; NETS (comma-separated, e.g.
                           127.0.0.0/8,::1) are the balancers allowed to send
                           it. Connections from elsewhere, or with a malformed,
                           truncated or late header, are closed and
                           counted. Unix-socket peers are trusted
  --proxy-timeout SECS     how long the PROXY header may take (default 5)
  --handover PATH          zero-downtime restart: take the listening sockets from
                           the server offering them at PATH (a Unix socket), if
                           one does, which then stops accepting and drains; then
                           offer ours there. Start the new process with the same
                           command line to restart
  Started by systemd with sockets passed (socket activation: LISTEN_FDS and
  LISTEN_PID), a server serves those instead and ignores --listen and --unix.
";

/// The reactor limits every server takes, appended to each example's `--help`.
pub const LIMITS_HELP: &str = "
LIMITS (every server):
  --high-water BYTES       stop reading from a client whose unsent replies pass this
                           (default 262144)...
  --low-water BYTES        ...and resume below this (default 65536)
  --max-input BYTES        unconsumed input per connection before reading stops
                           (default 1048576, raised to fit the protocol's own limits)
  --send-buffer BYTES      SO_SNDBUF for accepted sockets; bounds the kernel memory a
                           client that does not read can pin (default: kernel
                           autotuning, up to net.ipv4.tcp_wmem's maximum)
  --shutdown-timeout SECS  on SIGINT/SIGTERM, how long clients get to receive the
                           replies owed (default 10)
  --drain-delay SECS       on SIGINT/SIGTERM, first keep serving this long with
                           health checks failing (HTTP /health answers 503), so
                           a load balancer stops sending before the shutdown;
                           a second signal ends the delay (default 0)
  --threads N              N independent reactors, one per thread, sharing the port
                           through SO_REUSEPORT (shared nothing; default 1)
";

/// Parse the command line. `--listen`, `--max-connections`, `--idle-timeout` and
/// `--help` are handled here; `extra` gets every other long flag and returns
/// `false` if it does not know it. Errors exit with a one-line message.
pub fn parse_args(
    name: &str,
    help: &str,
    mut args: ServerArgs,
    mut extra: impl FnMut(&str, &mut lexopt::Parser) -> bool,
) -> ServerArgs {
    use lexopt::Arg::{Long, Short};
    let mut parser = lexopt::Parser::from_env();
    loop {
        let arg = match parser.next() {
            Ok(Some(arg)) => arg,
            Ok(None) => return args,
            Err(e) => usage_error(name, e),
        };
        match arg {
            Long("listen") => {
                args.listen = listen_addr(name, &mut parser);
                args.listen_given = true;
            }
            Long("proxy-protocol") => {
                let text: String = value(name, "--proxy-protocol", &mut parser);
                let nets = text
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::parse)
                    .collect::<Result<Vec<_>, _>>()
                    .unwrap_or_else(|e| usage_error(name, format_args!("--proxy-protocol: {e}")));
                if nets.is_empty() {
                    usage_error(name, "--proxy-protocol needs at least one network");
                }
                let config = evloop_proxy_protocol::ProxyConfig::new(nets);
                args.ops.proxy = Some(std::sync::Arc::clone(&config.counters));
                args.proxy = Some(config);
            }
            Long("proxy-timeout") => {
                let timeout = timeout_secs(name, "--proxy-timeout", &mut parser);
                match (&mut args.proxy, timeout) {
                    (Some(proxy), Some(t)) => proxy.header_timeout = t,
                    (Some(_), None) => usage_error(name, "--proxy-timeout must be above 0"),
                    (None, _) => usage_error(name, "--proxy-timeout needs --proxy-protocol first"),
                }
            }
            Long("handover") => args.handover = Some(value(name, "--handover", &mut parser)),
            Long("unix") => args.unix = Some(value(name, "--unix", &mut parser)),
            Long("unix-perm") => {
                let text: String = value(name, "--unix-perm", &mut parser);
                match u32::from_str_radix(text.trim_start_matches("0o"), 8) {
                    Ok(mode) if mode <= 0o7777 => args.unix_perm = Some(mode),
                    _ => usage_error(
                        name,
                        format_args!("invalid value {text:?} for --unix-perm: not an octal mode"),
                    ),
                }
            }
            Long("max-connections") => {
                args.config.max_connections = value(name, "--max-connections", &mut parser);
                if args.config.max_connections == 0 {
                    usage_error(name, "--max-connections must be at least 1");
                }
            }
            Long("threads") => {
                args.threads = value(name, "--threads", &mut parser);
                if args.threads == 0 {
                    usage_error(name, "--threads must be at least 1");
                }
            }
            Long("high-water") => args.config.high_water = value(name, "--high-water", &mut parser),
            Long("low-water") => args.config.low_water = value(name, "--low-water", &mut parser),
            Long("max-input") => args.config.max_input = value(name, "--max-input", &mut parser),
            Long("send-buffer") => {
                args.listen_options.send_buffer = Some(value(name, "--send-buffer", &mut parser))
            }
            Long("shutdown-timeout") => {
                args.config.shutdown_timeout =
                    timeout_secs(name, "--shutdown-timeout", &mut parser).unwrap_or(Duration::ZERO)
            }
            Long("drain-delay") => {
                args.drain_delay =
                    timeout_secs(name, "--drain-delay", &mut parser).unwrap_or(Duration::ZERO)
            }
            Long("idle-timeout") => {
                args.config.idle_timeout = timeout_secs(name, "--idle-timeout", &mut parser)
            }
            Short('h') | Long("help") => {
                print!("{help}{LISTEN_HELP}{LIMITS_HELP}");
                exit(0);
            }
            Long(flag) => {
                let flag = flag.to_owned();
                if !extra(&flag, &mut parser) {
                    usage_error(name, format_args!("invalid option '--{flag}'"));
                }
            }
            other => unexpected(name, other),
        }
    }
}

/// One command-line argument, owned so a handler can read the flag's value from
/// the parser while looking at it.
pub enum CliArg {
    /// `--name` (a `--name=value` value is read with [`value`]).
    Long(String),
    /// `-c`.
    Short(char),
    /// A positional argument.
    Value(std::ffi::OsString),
}

/// Parse a command line that is not a server's (no `--listen`): `-h`/`--help`
/// print `help` and exit 0; every other argument goes to `handle`, which reads any
/// value it needs from the parser and returns `false` if it does not know the
/// argument. Errors exit with a one-line message and status 2.
pub fn parse_command_line(
    name: &str,
    help: &str,
    mut handle: impl FnMut(CliArg, &mut lexopt::Parser) -> bool,
) {
    use lexopt::Arg::{Long, Short, Value};
    let mut parser = lexopt::Parser::from_env();
    loop {
        let arg = match parser.next() {
            Ok(Some(arg)) => arg,
            Ok(None) => return,
            Err(e) => usage_error(name, e),
        };
        let (owned, what) = match arg {
            Short('h') | Long("help") => {
                print!("{help}");
                exit(0);
            }
            Long(flag) => (
                CliArg::Long(flag.to_owned()),
                format!("invalid option '--{flag}'"),
            ),
            Short(c) => (CliArg::Short(c), format!("invalid option '-{c}'")),
            Value(v) => {
                let what = format!("unexpected argument {:?}", v.to_string_lossy());
                (CliArg::Value(v), what)
            }
        };
        if !handle(owned, &mut parser) {
            usage_error(name, what);
        }
    }
}

/// A reactor, or exit with a message.
pub fn reactor(name: &str, config: Config) -> Reactor {
    Reactor::new(config)
        .unwrap_or_else(|e| fatal(name, format_args!("cannot create event loop: {e}")))
}

/// A single-reactor server's sockets (see [`bind_all`]), or exit.
pub fn bind_one(name: &str, args: &ServerArgs) -> (Sockets, Bound) {
    let (mut sets, cleanup) = bind_all(name, args);
    (sets.swap_remove(0), cleanup)
}

/// Serve a service from `make` on every stream socket of a single-reactor server
/// (`--listen`, `--unix`, or what systemd passed); its `listening on` URLs, or
/// exit.
pub fn listen_streams<S: StreamService + 'static>(
    name: &str,
    reactor: &mut Reactor,
    sockets: &mut Sockets,
    scheme: &str,
    make: impl FnMut() -> S,
) -> Vec<String> {
    sockets
        .serve_streams(reactor, scheme, make)
        .unwrap_or_else(|e| fatal(name, e))
}

/// Print `NAME: error: MSG` and a hint, and exit with status 2 (bad usage).
pub fn usage_error(name: &str, msg: impl std::fmt::Display) -> ! {
    eprintln!("{name}: error: {msg} (try --help)");
    exit(2)
}

/// Print `NAME: error: MSG` and exit with status 1 (a runtime failure).
pub fn fatal(name: &str, msg: impl std::fmt::Display) -> ! {
    eprintln!("{name}: error: {msg}");
    exit(1)
}

/// The value of a flag, parsed, or a usage error naming the flag.
pub fn value<T: std::str::FromStr>(name: &str, flag: &str, parser: &mut lexopt::Parser) -> T
where
    T::Err: std::fmt::Display,
{
    let raw = match parser.value() {
        Ok(v) => v,
        Err(e) => usage_error(name, e),
    };
    let text = raw.to_string_lossy();
    match text.parse() {
        Ok(v) => v,
        Err(e) => usage_error(name, format_args!("invalid value {text:?} for {flag}: {e}")),
    }
}

/// A `--listen` address such as `127.0.0.1:7007` or `[::1]:0`.
pub fn listen_addr(name: &str, parser: &mut lexopt::Parser) -> SocketAddr {
    value(name, "--listen", parser)
}

/// Seconds as a timeout; 0 means none.
pub fn timeout_secs(name: &str, flag: &str, parser: &mut lexopt::Parser) -> Option<Duration> {
    let secs: f64 = value(name, flag, parser);
    if !(secs >= 0.0 && secs.is_finite() && secs < 1e9) {
        usage_error(name, format_args!("invalid value {secs} for {flag}"));
    }
    (secs > 0.0).then(|| Duration::from_secs_f64(secs))
}

/// Report an unexpected argument as a usage error.
pub fn unexpected(name: &str, arg: lexopt::Arg<'_>) -> ! {
    usage_error(name, arg.unexpected())
}

/// Log through `env_logger`: `RUST_LOG=debug` shows per-connection events.
pub fn init_logging() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format_timestamp_millis()
        .init();
}

/// Print the `listening on` line (flushed, so scripts can read it from a pipe),
/// then serve until SIGINT/SIGTERM and exit.
pub fn serve(name: &'static str, args: &ServerArgs, reactor: Reactor, urls: &[String]) -> ! {
    serve_then(name, args, reactor, urls, Bound::default(), || {})
}

/// Make `reactor` stop on SIGINT/SIGTERM — itself, or, with `--drain-delay`,
/// through [`drain_on_signals`] — and note it in `args.ops`.
fn stop_on_signals(args: &ServerArgs, reactor: &mut Reactor) -> std::io::Result<()> {
    args.ops.register(reactor);
    if args.drain_delay.is_zero() {
        reactor.stop_on_signals()?;
    }
    Ok(())
}

/// With `--drain-delay`: the first SIGINT/SIGTERM sets the draining flag (health
/// checks fail, requests are still served), and the delay later — or at a second
/// signal — every reactor shuts down gracefully.
fn drain_on_signals(name: &str, args: &ServerArgs) {
    use signal_hook::consts::{SIGINT, SIGTERM};
    if args.drain_delay.is_zero() {
        return;
    }
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])
        .unwrap_or_else(|e| fatal(name, format_args!("cannot install signal handlers: {e}")));
    let (ops, delay) = (args.ops.clone(), args.drain_delay);
    std::thread::spawn(move || {
        let mut received = signals.forever();
        if let Some(signal) = received.next() {
            log::info!("signal {signal}: draining for {delay:?}, then shutting down");
            ops.draining
                .store(true, std::sync::atomic::Ordering::Release);
            let later = ops.clone();
            std::thread::spawn(move || {
                std::thread::sleep(delay);
                later.shutdown_all();
            });
        }
        if received.next().is_some() {
            log::info!("second signal: shutting down now");
            ops.shutdown_all();
        }
    });
}

/// [`serve`], running `at_exit` (a final report) after the reactor stopped.
/// `bound` hands the sockets over (see [`bind_all`]) and removes socket files at
/// exit.
pub fn serve_then(
    name: &'static str,
    args: &ServerArgs,
    mut reactor: Reactor,
    urls: &[String],
    mut bound: Bound,
    at_exit: impl FnOnce(),
) -> ! {
    if let Err(e) = stop_on_signals(args, &mut reactor) {
        fatal(name, format_args!("cannot install signal handlers: {e}"));
    }
    drain_on_signals(name, args);
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "listening on {}", urls.join(" "));
    let _ = stdout.flush();
    bound.serving(name, &args.ops, args.config.shutdown_timeout);
    let result = reactor.run();
    drop(reactor); // the sessions and services, with whatever they flush on drop
    at_exit();
    bound.run();
    match result {
        Ok(()) => exit(0),
        Err(e) => fatal(name, format_args!("event loop failed: {e}")),
    }
}

/// What a server's `build` function returns: its reactor and the URLs for the
/// `listening on` line.
pub type Built = (Reactor, Vec<String>);

/// Serve with `args.threads` reactors, each built by `build` on its own thread
/// (sessions are not `Send`, so a reactor lives where it is built) from its set of
/// sockets ([`bind_all`]: each reactor has its own TCP listener on the shared port,
/// bound with `SO_REUSEPORT` when there are several, so the kernel spreads
/// connections and datagrams among them — shared nothing, no locks). One
/// `listening on` line is printed; every reactor stops on SIGINT/SIGTERM, and the
/// process exits 0 once all have finished.
pub fn serve_threads<F>(name: &'static str, args: &ServerArgs, build: F) -> !
where
    F: Fn(Sockets) -> std::io::Result<Built> + Send + Sync + 'static,
{
    serve_threads_then(name, args, build, || {})
}

/// [`serve_threads`], running `at_exit` once every reactor has stopped and been
/// dropped, before the process exits.
pub fn serve_threads_then<F>(
    name: &'static str,
    args: &ServerArgs,
    build: F,
    at_exit: impl FnOnce(),
) -> !
where
    F: Fn(Sockets) -> std::io::Result<Built> + Send + Sync + 'static,
{
    let (sets, mut bound) = bind_all(name, args);
    if sets.len() <= 1 {
        let sockets = sets.into_iter().next().unwrap_or_default();
        let (reactor, urls) =
            build(sockets).unwrap_or_else(|e| fatal(name, format_args!("cannot serve: {e}")));
        serve_then(name, args, reactor, &urls, bound, at_exit);
    }
    let build = std::sync::Arc::new(build);
    let args = std::sync::Arc::new(args.clone());
    let (tx, rx) = std::sync::mpsc::channel::<Result<Vec<String>, String>>();
    let spawn = |sockets: Sockets| {
        let (build, tx) = (std::sync::Arc::clone(&build), tx.clone());
        let args = std::sync::Arc::clone(&args);
        std::thread::spawn(move || -> Result<(), String> {
            let (mut reactor, urls) = match build(sockets) {
                Ok(built) => built,
                Err(e) => {
                    let msg = format!("cannot serve: {e}");
                    let _ = tx.send(Err(msg.clone()));
                    return Err(msg);
                }
            };
            if let Err(e) = stop_on_signals(&args, &mut reactor) {
                let msg = format!("cannot install signal handlers: {e}");
                let _ = tx.send(Err(msg.clone()));
                return Err(msg);
            }
            let _ = tx.send(Ok(urls));
            reactor.run().map_err(|e| format!("event loop failed: {e}"))
        })
    };
    let started = |rx: &std::sync::mpsc::Receiver<_>| match rx.recv() {
        Ok(Ok(started)) => started,
        Ok(Err(msg)) => fatal(name, msg),
        Err(_) => fatal(name, "a reactor thread died while starting"),
    };
    drain_on_signals(name, &args);
    let mut handles = Vec::new();
    let mut urls = Vec::new();
    for (i, sockets) in sets.into_iter().enumerate() {
        handles.push(spawn(sockets));
        let these = started(&rx);
        if i == 0 {
            urls = these;
        }
    }
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "listening on {}", urls.join(" "));
    let _ = stdout.flush();
    bound.serving(name, &args.ops, args.config.shutdown_timeout);
    for handle in handles {
        match handle.join() {
            Ok(Ok(())) => {}
            Ok(Err(msg)) => fatal(name, msg),
            Err(_) => fatal(name, "a reactor thread panicked"),
        }
    }
    at_exit();
    bound.run();
    exit(0)
}
