//! What every example server shares: command-line errors, binding, the
//! `listening on` line, signals, and logging. Kept out of the library because a
//! library should not decide how a program parses flags or exits.

#![allow(dead_code)] // each example uses a different subset

use std::io::Write;
use std::net::SocketAddr;
use std::process::exit;
use std::time::Duration;

use evloop::Reactor;

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
pub fn serve(name: &str, mut reactor: Reactor, urls: &[String]) -> ! {
    if let Err(e) = reactor.stop_on_signals() {
        fatal(name, format_args!("cannot install signal handlers: {e}"));
    }
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "listening on {}", urls.join(" "));
    let _ = stdout.flush();
    match reactor.run() {
        Ok(()) => exit(0),
        Err(e) => fatal(name, format_args!("event loop failed: {e}")),
    }
}
