//! Redis-protocol (RESP2) key-value server: point redis-cli, redis-benchmark or any
//! Redis client at it.
//!
//! ```text
//! cargo run --release --example kv -- --listen 127.0.0.1:6380
//! redis-cli -p 6380 set greeting hello
//! redis-benchmark -p 6380 -q -t set,get -P 16
//! ```

mod common;

use evloop::proto::resp::{KvConfig, KvService};
use evloop::Config;

const NAME: &str = "kv";
const HELP: &str = "\
kv: Redis-protocol (RESP2) in-memory key-value server

USAGE: kv [OPTIONS]

OPTIONS:
  --listen ADDR            address to bind (default 127.0.0.1:6380; port 0 = any)
  --max-bulk BYTES         largest bulk string in a request (default 536870912)
  --max-query BYTES        largest unprocessed input per client (default 1073741824)
  --max-inline BYTES       longest inline command, and longest *N or $N line
                           (default 65536)
  --max-multibulk N        most arguments in one command (default 1048576)
  --max-connections N      clients served at once (default 10000)
  --idle-timeout SECS      close clients idle this long, 0 = never (default 0)
  --request-timeout SECS   close a client whose partial command is not complete
                           this long after its first byte, 0 = never (default 0)
  -h, --help               print this help

Prints `listening on redis://IP:PORT`, then serves until SIGINT/SIGTERM.
Logging: RUST_LOG=debug (default info).
";

fn main() {
    let mut kv = KvConfig::default();
    let defaults = common::ServerArgs::new(
        ([127, 0, 0, 1], 6380).into(),
        // Like Redis: no idle timeout unless asked for.
        Config {
            idle_timeout: None,
            request_timeout: None,
            ..Config::default()
        },
    );
    let mut request_timeout = None;
    let args = common::parse_args(NAME, HELP, defaults, |flag, parser| {
        match flag {
            "max-bulk" => kv.max_bulk = common::value(NAME, "--max-bulk", parser),
            "max-query" => kv.max_query = common::value(NAME, "--max-query", parser),
            "max-inline" => kv.max_inline = common::value(NAME, "--max-inline", parser),
            "max-multibulk" => kv.max_multibulk = common::value(NAME, "--max-multibulk", parser),
            "request-timeout" => {
                request_timeout = common::timeout_secs(NAME, "--request-timeout", parser)
            }
            _ => return false,
        }
        true
    });
    let mut config = args.config.clone();
    config.request_timeout = request_timeout;
    if args.threads > 1 {
        // Shared nothing would split the keyspace: a key set through one reactor
        // would be missing from the others.
        common::usage_error(
            NAME,
            "--threads: the store is one keyspace, served by one reactor",
        );
    }
    common::init_logging();
    let mut reactor = common::reactor(NAME, config);
    let service = KvService::new(kv);
    let ops = args.ops.clone();
    // INFO reactor: the same counters as the HTTP example's /metrics.
    service.add_info_section("Reactor", move |out| ops.info_lines(out));
    let (mut sockets, bound) = common::bind_one(NAME, &args);
    if let Some(addr) = sockets.tcp_addr() {
        service.set_local_addr(addr); // CLIENT LIST's laddr
    }
    let urls = common::listen_streams(NAME, &mut reactor, &mut sockets, "redis", || {
        service.clone()
    });
    common::serve_then(NAME, &args, reactor, &urls, bound, || {})
}
