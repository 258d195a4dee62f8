//! Redis-protocol (RESP2) key-value server: point redis-cli, redis-benchmark or any
//! Redis client at it.
//!
//! ```text
//! cargo run --release --example kv -- --listen 127.0.0.1:6380
//! redis-cli -p 6380 set greeting hello
//! redis-benchmark -p 6380 -q -t set,get -P 16
//! ```

mod common;

use std::net::SocketAddr;

use evloop::net::{bind_tcp, ListenOptions};
use evloop::proto::resp::{KvConfig, KvService};
use evloop::{Config, Reactor};

const NAME: &str = "kv";
const HELP: &str = "\
kv: Redis-protocol (RESP2) in-memory key-value server

USAGE: kv [OPTIONS]

OPTIONS:
  --listen ADDR            address to bind (default 127.0.0.1:6380; port 0 = any)
  --max-bulk BYTES         largest bulk string in a request (default 536870912)
  --max-query BYTES        largest unprocessed input per client (default 1073741824)
  --max-connections N      clients served at once (default 10000)
  --idle-timeout SECS      close clients idle this long, 0 = never (default 0)
  --request-timeout SECS   close a client whose partial command is not complete
                           this long after its first byte, 0 = never (default 0)
  -h, --help               print this help

Prints `listening on redis://IP:PORT`, then serves until SIGINT/SIGTERM.
Logging: RUST_LOG=debug (default info).
";

fn main() {
    let mut listen: SocketAddr = ([127, 0, 0, 1], 6380).into();
    let mut kv = KvConfig::default();
    // Like Redis: no idle timeout unless asked for.
    let mut config = Config {
        idle_timeout: None,
        request_timeout: None,
        ..Config::default()
    };
    let mut parser = lexopt::Parser::from_env();
    loop {
        let arg = match parser.next() {
            Ok(Some(arg)) => arg,
            Ok(None) => break,
            Err(e) => common::usage_error(NAME, e),
        };
        use lexopt::Arg::{Long, Short};
        match arg {
            Long("listen") => listen = common::listen_addr(NAME, &mut parser),
            Long("max-bulk") => kv.max_bulk = common::value(NAME, "--max-bulk", &mut parser),
            Long("max-query") => kv.max_query = common::value(NAME, "--max-query", &mut parser),
            Long("max-connections") => {
                config.max_connections = common::value(NAME, "--max-connections", &mut parser)
            }
            Long("idle-timeout") => {
                config.idle_timeout = common::timeout_secs(NAME, "--idle-timeout", &mut parser)
            }
            Long("request-timeout") => {
                config.request_timeout =
                    common::timeout_secs(NAME, "--request-timeout", &mut parser)
            }
            Short('h') | Long("help") => {
                print!("{HELP}");
                return;
            }
            other => common::unexpected(NAME, other),
        }
    }
    // The session enforces the query-buffer cap with a Redis error reply; the
    // reactor's own cap sits just above it as a backstop.
    config.max_input = kv.max_query.saturating_add(64 * 1024);
    common::init_logging();
    let listener = match bind_tcp(listen, ListenOptions::default()) {
        Ok(l) => l,
        Err(e) => common::fatal(NAME, format_args!("cannot bind {listen}: {e}")),
    };
    let mut reactor = match Reactor::new(config) {
        Ok(r) => r,
        Err(e) => common::fatal(NAME, format_args!("cannot create event loop: {e}")),
    };
    let addr = match reactor.add_tcp_listener(listener, KvService::new(kv)) {
        Ok(a) => a,
        Err(e) => common::fatal(NAME, e),
    };
    common::serve(NAME, reactor, &[format!("redis://{addr}")])
}
