//! HTTP/1.1 server: `/`, `/plaintext`, `/json`, `POST /echo`, and static files — the
//! routes of `evloop::proto::http::Demo`, a `Handler` (write your own to serve yours).
//!
//! ```text
//! cargo run --release --example http -- --listen 127.0.0.1:8080 --root ./public
//! curl -i http://127.0.0.1:8080/json
//! wrk -t1 -c50 -d10s http://127.0.0.1:8080/
//! ```

mod common;

use std::borrow::Cow;
use std::path::PathBuf;
use std::time::Duration;

use evloop::proto::http::{
    Demo, FixedResponse, Handler, HttpConfig, HttpService, Refusal, Reply, Request, Route,
};
use evloop::{Config, Reactor};

const NAME: &str = "http";
const HELP: &str = "\
http: HTTP/1.1 server (keep-alive, pipelining, static files)

USAGE: http [OPTIONS]

ROUTES:
  GET|HEAD /, /plaintext   Hello, World! (text/plain)
  GET|HEAD /json           {\"message\":\"Hello, World!\"}
  POST /echo               the request body back
  GET|HEAD /health         200 while serving; 503 once SIGTERM started the drain
                           (--drain-delay), so a load balancer stops sending
  GET|HEAD /metrics        the reactor counters of every thread, and the PROXY
                           protocol ones, in the Prometheus text format
  GET|HEAD /<path>         a file under --root, if given (Range, If-None-Match,
                           If-Modified-Since, If-Range; large bodies by sendfile)

OPTIONS:
  --listen ADDR              address to bind (default 127.0.0.1:8080; port 0 = any)
  --root DIR                 serve static files under DIR
  --max-body BYTES           largest request body (default 8388608)
  --max-header BYTES         largest request head (default 16384)
  --max-open-files N         static files held open at once, cached or being
                             sent; beyond it a request gets 503 (default 1024)
  --header-timeout SECS      close a connection whose request head is not complete
                             this long after its first byte, 0 = never (default 10)
  --keepalive-timeout SECS   close a connection idle this long, 0 = never (default 60)
  --max-connections N        connections served at once (default 10000)
  -h, --help                 print this help

Prints `listening on http://IP:PORT`, then serves until SIGINT/SIGTERM.
Logging: RUST_LOG=debug (default info).
";

fn main() {
    let mut http = HttpConfig::default();
    let defaults = common::ServerArgs::new(
        ([127, 0, 0, 1], 8080).into(),
        Config {
            request_timeout: Some(Duration::from_secs(10)),
            idle_timeout: Some(Duration::from_secs(60)),
            ..Config::default()
        },
    );
    let (mut header_timeout, mut keepalive_timeout) = (None, None);
    let args = common::parse_args(NAME, HELP, defaults, |flag, parser| {
        match flag {
            "root" => http.root = Some(common::value::<PathBuf>(NAME, "--root", parser)),
            "max-body" => http.max_body = common::value(NAME, "--max-body", parser),
            "max-header" => http.max_header_bytes = common::value(NAME, "--max-header", parser),
            "max-open-files" => {
                http.max_open_files = common::value(NAME, "--max-open-files", parser)
            }
            "header-timeout" => {
                header_timeout = Some(common::timeout_secs(NAME, "--header-timeout", parser))
            }
            "keepalive-timeout" => {
                keepalive_timeout = Some(common::timeout_secs(NAME, "--keepalive-timeout", parser))
            }
            _ => return false,
        }
        true
    });
    let mut config = args.config.clone();
    if let Some(t) = header_timeout {
        config.request_timeout = t;
    }
    if let Some(t) = keepalive_timeout {
        config.idle_timeout = t;
    }
    common::init_logging();
    // Check --root once, up front, for one clear error.
    if let Err(e) = HttpService::new(
        http.clone(),
        Ops {
            ops: args.ops.clone(),
        },
    ) {
        common::fatal(NAME, format_args!("--root: {e}"));
    }
    let ops = args.ops.clone();
    common::serve_threads(NAME, &args, move |mut sockets| {
        let mut reactor = Reactor::new(config.clone())?;
        let service = HttpService::new(http.clone(), Ops { ops: ops.clone() })?;
        // Draining (SIGTERM with --drain-delay, or a hand-over): each keep-alive
        // connection closes after its next response.
        service.close_connections_when(std::sync::Arc::clone(&ops.draining));
        let urls = sockets.serve_streams(&mut reactor, "http", || service.clone())?;
        Ok((reactor, urls))
    })
}

/// The demo routes plus what operators and load balancers ask for: `/health`
/// and `/metrics`.
struct Ops {
    ops: common::Ops,
}

impl Ops {
    /// The first fixed response after the demo's.
    const HEALTHY: usize = 2;
    /// A body route number the demo does not use.
    const METRICS: u32 = 1000;
}

impl Handler for Ops {
    fn fixed_responses(&self) -> Vec<FixedResponse> {
        let mut fixed = Demo.fixed_responses();
        debug_assert_eq!(fixed.len(), Ops::HEALTHY);
        fixed.push(FixedResponse::new(b"text/plain", b"ok\n".to_vec()));
        fixed
    }

    fn route(&self, request: &Request<'_>) -> Route {
        let get_like = matches!(request.method(), "GET" | "HEAD");
        match request.path() {
            b"/health" | b"/metrics" if !get_like => {
                Route::Refuse(Refusal::MethodNotAllowed { allow: "GET, HEAD" })
            }
            b"/health" if self.ops.is_draining() => Route::Refuse(Refusal::Unavailable),
            b"/health" => Route::Fixed(Ops::HEALTHY),
            b"/metrics" => Route::Body(Ops::METRICS),
            _ => Demo.route(request),
        }
    }

    fn on_body<'b>(&self, route: u32, content_type: &'b [u8], body: &'b [u8]) -> Reply<'b> {
        if route == Ops::METRICS {
            return Reply::Ok {
                content_type: b"text/plain; version=0.0.4",
                body: Cow::Owned(self.ops.prometheus().into_bytes()),
            };
        }
        Demo.on_body(route, content_type, body)
    }
}
