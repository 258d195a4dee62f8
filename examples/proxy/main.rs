//! A TCP (layer 4) reverse proxy: the job of HAProxy's `mode tcp` and nginx's
//! `stream` module.
//!
//! ```text
//! cargo run --release --example proxy -- --listen 127.0.0.1:7009 \
//!     --upstream 127.0.0.1:8080 --upstream 127.0.0.1:8081
//! ```
//!
//! Each accepted client gets an upstream chosen by `--balance`; the client's
//! session opens the upstream connection with [`Ctx::connect`], and the upstream's
//! session links the two with [`Ctx::link`] once connected. From then on the
//! reactor relays bytes both ways itself — backpressure across the pair, a FIN on
//! one side becoming `shutdown(Write)` on the other, an error on one side closing
//! both — and the sessions only hear `on_closed`. An upstream that refuses or
//! times out is marked down for `--down-time` (passive health checking) and the
//! client tries the next one, within `--retries`; with every upstream down the
//! client is closed at once.

#[path = "../common/mod.rs"]
mod common;
mod relay;

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use evloop::Config;
use relay::{Balance, Counters, Pool, Proxy, Upstream};

const NAME: &str = "proxy";
const HELP: &str = "\
proxy: TCP (layer 4) reverse proxy

USAGE: proxy --upstream ADDR [--upstream ADDR ...] [OPTIONS]

OPTIONS:
  --listen ADDR            address to bind (default 127.0.0.1:7009; port 0 = any)
  --upstream ADDR          a server to proxy to (repeat for several; required)
  --balance POLICY         round-robin (default) or least-conn
  --connect-timeout SECS   give up on an upstream that has not accepted the
                           connection after this long (default 3)
  --retries N              other upstreams tried after one fails, per client
                           (default 2)
  --down-time SECS         how long a failed upstream is skipped (default 10)
  --idle-timeout SECS      close a pair idle this long, 0 = never (default 300)
  --max-connections N      connections at once, clients and upstreams
                           (default 10000)
  -h, --help               print this help

Prints `listening on tcp://IP:PORT`, then proxies until SIGINT/SIGTERM, when it
stops accepting and lets open relays finish within --shutdown-timeout; the
counters are logged at exit. Logging: RUST_LOG=debug (default info).
";

fn main() {
    let defaults = common::ServerArgs::new(
        ([127, 0, 0, 1], 7009).into(),
        Config {
            idle_timeout: Some(Duration::from_secs(300)),
            request_timeout: None,
            connect_timeout: Duration::from_secs(3),
            ..Config::default()
        },
    );
    let mut upstreams = Vec::new();
    let mut balance = Balance::RoundRobin;
    let mut retries = 2usize;
    let mut down_time = Duration::from_secs(10);
    let mut connect_timeout = None;
    let args = common::parse_args(NAME, HELP, defaults, |flag, parser| {
        match flag {
            "upstream" => upstreams.push(common::value::<SocketAddr>(NAME, "--upstream", parser)),
            "balance" => {
                balance = match common::value::<String>(NAME, "--balance", parser).as_str() {
                    "round-robin" => Balance::RoundRobin,
                    "least-conn" => Balance::LeastConn,
                    other => common::usage_error(
                        NAME,
                        format_args!("--balance: '{other}' is not round-robin or least-conn"),
                    ),
                }
            }
            "connect-timeout" => {
                connect_timeout = common::timeout_secs(NAME, "--connect-timeout", parser)
            }
            "retries" => retries = common::value(NAME, "--retries", parser),
            "down-time" => {
                down_time = common::timeout_secs(NAME, "--down-time", parser).unwrap_or_default()
            }
            _ => return false,
        }
        true
    });
    if upstreams.is_empty() {
        common::usage_error(NAME, "at least one --upstream is required");
    }
    if args.threads > 1 {
        common::usage_error(
            NAME,
            "--threads: one reactor (run several processes instead)",
        );
    }
    let mut config = args.config.clone();
    if let Some(timeout) = connect_timeout {
        config.connect_timeout = timeout;
    }
    common::init_logging();
    let pool = Rc::new(RefCell::new(Pool {
        upstreams: upstreams
            .into_iter()
            .map(|addr| Upstream {
                addr,
                active: 0,
                down_until: None,
            })
            .collect(),
        balance,
        next: 0,
        retries,
        down_time,
        counters: Counters::default(),
    }));
    let mut reactor = common::reactor(NAME, config);
    let (mut sockets, bound) = common::bind_one(NAME, &args);
    let urls = common::listen_streams(NAME, &mut reactor, &mut sockets, "tcp", || Proxy {
        pool: Rc::clone(&pool),
    });
    common::serve_then(NAME, &args, reactor, &urls, bound, || {
        log::info!("proxy counters: {:?}", pool.borrow().counters);
    })
}
