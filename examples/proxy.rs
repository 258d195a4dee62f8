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

mod common;

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use evloop::{Config, ConnId, Ctx, Next, Session, Step, StreamService};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Balance {
    RoundRobin,
    LeastConn,
}

struct Upstream {
    addr: SocketAddr,
    /// Connections to it now (least-conn).
    active: usize,
    /// Skipped until then after a failure.
    down_until: Option<Instant>,
}

#[derive(Debug, Default)]
struct Counters {
    clients: u64,
    relayed_pairs: u64,
    client_to_upstream: u64,
    upstream_to_client: u64,
    upstream_failures: u64,
    refused_all_down: u64,
}

struct Pool {
    upstreams: Vec<Upstream>,
    balance: Balance,
    next: usize,
    retries: usize,
    down_time: Duration,
    counters: Counters,
}

impl Pool {
    /// The upstream for a new attempt at `now`, skipping those in `tried` and
    /// those marked down.
    fn pick(&mut self, now: Instant, tried: &[usize]) -> Option<usize> {
        let n = self.upstreams.len();
        let usable = |i: usize, u: &Upstream| {
            !tried.contains(&i) && u.down_until.is_none_or(|until| until <= now)
        };
        let pick = match self.balance {
            Balance::RoundRobin => (0..n)
                .map(|k| (self.next + k) % n)
                .find(|&i| usable(i, &self.upstreams[i])),
            Balance::LeastConn => (0..n)
                .map(|k| (self.next + k) % n)
                .filter(|&i| usable(i, &self.upstreams[i]))
                .min_by_key(|&i| self.upstreams[i].active),
        }?;
        self.next = (pick + 1) % n;
        self.upstreams[pick].active += 1;
        Some(pick)
    }
}

struct Proxy {
    pool: Rc<RefCell<Pool>>,
}

impl StreamService for Proxy {
    fn open(&mut self, _peer: SocketAddr) -> Box<dyn Session> {
        self.pool.borrow_mut().counters.clients += 1;
        Box::new(Client {
            pool: Rc::clone(&self.pool),
            tried: Vec::new(),
            failed: Rc::default(),
        })
    }
}

/// The client side of a pair. Until the upstream is connected it holds what the
/// client sends (and a FIN), then the reactor relays.
struct Client {
    pool: Rc<RefCell<Pool>>,
    /// Upstreams tried for this client, in order.
    tried: Vec<usize>,
    /// Set by the upstream session when its connect fails.
    failed: Rc<Cell<bool>>,
}

impl Client {
    /// Connect to the next upstream, or give up (`Close`).
    fn attempt(&mut self, ctx: &mut Ctx<'_>) -> Next {
        let mut pool = self.pool.borrow_mut();
        if self.tried.len() > pool.retries {
            log::warn!(
                "client {}: no upstream after {} tries",
                ctx.id(),
                self.tried.len()
            );
            return Next::Close;
        }
        let Some(index) = pool.pick(ctx.now(), &self.tried) else {
            pool.counters.refused_all_down += 1;
            log::warn!("client {}: every upstream is down", ctx.id());
            return Next::Close;
        };
        self.tried.push(index);
        let addr = pool.upstreams[index].addr;
        drop(pool);
        ctx.connect(
            addr,
            Box::new(UpstreamSide {
                client: ctx.id(),
                index,
                pool: Rc::clone(&self.pool),
                failed: Rc::clone(&self.failed),
            }),
        );
        Next::Read
    }
}

impl Session for Client {
    fn on_open(&mut self, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Next {
        self.attempt(ctx)
    }

    fn on_input(&mut self, _ctx: &mut Ctx<'_>, _input: &[u8], _out: &mut Vec<u8>) -> Step {
        // Not linked yet: keep the bytes (the reactor's input cap bounds them);
        // they are relayed first once the upstream is connected.
        Step::read(0)
    }

    fn on_peer_closed(&mut self, _ctx: &mut Ctx<'_>, _input: &[u8], _out: &mut Vec<u8>) -> Next {
        Next::Read // a request, then FIN: still relayed, and the answer returned
    }

    fn on_wake(&mut self, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Next {
        if self.failed.replace(false) {
            self.attempt(ctx)
        } else {
            Next::Read
        }
    }

    fn on_closed(&mut self, ctx: &mut Ctx<'_>) {
        self.pool.borrow_mut().counters.client_to_upstream += ctx.relayed();
    }
}

/// The upstream side of a pair.
struct UpstreamSide {
    client: ConnId,
    index: usize,
    pool: Rc<RefCell<Pool>>,
    failed: Rc<Cell<bool>>,
}

impl Session for UpstreamSide {
    fn on_connected(&mut self, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Next {
        let mut pool = self.pool.borrow_mut();
        pool.upstreams[self.index].down_until = None;
        if ctx.link(self.client).is_err() {
            return Next::Close; // the client left while we connected
        }
        pool.counters.relayed_pairs += 1;
        Next::Read
    }

    fn on_connect_failed(&mut self, ctx: &mut Ctx<'_>, error: &std::io::Error) {
        let mut pool = self.pool.borrow_mut();
        pool.counters.upstream_failures += 1;
        let down_time = pool.down_time;
        let upstream = &mut pool.upstreams[self.index];
        log::warn!(
            "upstream {}: {error}; marked down for {down_time:?}",
            upstream.addr
        );
        upstream.down_until = Some(ctx.now() + down_time);
        drop(pool);
        self.failed.set(true);
        let _ = ctx.wake(self.client); // it tries the next one, or closes
    }

    fn on_input(&mut self, _ctx: &mut Ctx<'_>, input: &[u8], _out: &mut Vec<u8>) -> Step {
        // Only before the link, if the client left in between: nothing to relay to.
        Step {
            consumed: input.len(),
            next: Next::Close,
        }
    }

    fn on_closed(&mut self, ctx: &mut Ctx<'_>) {
        let mut pool = self.pool.borrow_mut();
        pool.upstreams[self.index].active -= 1;
        pool.counters.upstream_to_client += ctx.relayed();
    }
}

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
