//! HTTP/1.1 server: `/`, `/plaintext`, `/json`, `POST /echo`, and static files — the
//! routes of `evloop_http::Demo`, a `Handler` (write your own to serve yours).
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

use evloop::{Config, Reactor};
use evloop_http::access_log::{AccessLog, AccessLogSink};
use evloop_http::{
    Demo, FixedResponse, Handler, HttpConfig, HttpService, Refusal, Reply, Request, Route,
};

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
  --tls-cert FILE            serve HTTPS (ALPN http/1.1): the certificate chain,
                             PEM, leaf first; with --tls-key. Without
                             --tls-listen, --listen serves HTTPS. SIGHUP reloads
                             both files for new handshakes
  --tls-key FILE             the certificate's private key, PEM
  --tls-listen ADDR          serve HTTPS here and plain HTTP on --listen
  --access-log PATH          append one Common Log Format line per response to
                             PATH (off by default); written by a background
                             thread, so a slow disk never stalls serving: if it
                             falls far behind, lines are dropped and counted
                             (evloop_access_log_dropped_lines_total in /metrics);
                             a moved or removed file is reopened within a second
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
    let mut access_log_path: Option<PathBuf> = None;
    #[cfg(feature = "tls")]
    let mut tls = common::tls::TlsArgs::default();
    let mut tls_listen = None;
    let mut args = common::parse_args(NAME, HELP, defaults, |flag, parser| {
        match flag {
            #[cfg(feature = "tls")]
            "tls-cert" => tls.cert = Some(common::value(NAME, "--tls-cert", parser)),
            #[cfg(feature = "tls")]
            "tls-key" => tls.key = Some(common::value(NAME, "--tls-key", parser)),
            "tls-listen" => tls_listen = Some(common::value(NAME, "--tls-listen", parser)),
            "root" => http.root = Some(common::value::<PathBuf>(NAME, "--root", parser)),
            "max-body" => http.max_body = common::value(NAME, "--max-body", parser),
            "max-header" => http.max_header_bytes = common::value(NAME, "--max-header", parser),
            "max-open-files" => {
                http.max_open_files = common::value(NAME, "--max-open-files", parser)
            }
            "header-timeout" => {
                header_timeout = Some(common::timeout_secs(NAME, "--header-timeout", parser))
            }
            "access-log" => access_log_path = Some(common::value(NAME, "--access-log", parser)),
            "keepalive-timeout" => {
                keepalive_timeout = Some(common::timeout_secs(NAME, "--keepalive-timeout", parser))
            }
            _ => return false,
        }
        true
    });
    args.tls_listen = tls_listen;
    #[cfg(feature = "tls")]
    tls.apply(
        NAME,
        ["--tls-cert", "--tls-key", "--tls-ca", "--tls-auth-clients"],
        &[b"http/1.1"],
        &mut args,
    );
    #[cfg(not(feature = "tls"))]
    if args.tls_listen.is_some() {
        common::usage_error(NAME, "--tls-listen: built without the tls feature");
    }
    let mut config = args.config.clone();
    if let Some(t) = header_timeout {
        config.request_timeout = t;
    }
    if let Some(t) = keepalive_timeout {
        config.idle_timeout = t;
    }
    common::init_logging();
    // Check --root once, up front, for one clear error.
    let access_log = access_log_path.map(|path| {
        AccessLog::open(&path).unwrap_or_else(|e| {
            common::fatal(NAME, format_args!("--access-log {}: {e}", path.display()))
        })
    });
    let access_sink = access_log.as_ref().map(AccessLog::sink);
    let ops = Ops {
        ops: args.ops.clone(),
        access_log: access_sink.clone(),
    };
    if let Err(e) = HttpService::new(http.clone(), ops.clone()) {
        common::fatal(NAME, format_args!("--root: {e}"));
    }
    let build = move |mut sockets: common::Sockets| {
        let mut reactor = Reactor::new(config.clone())?;
        let service = HttpService::new(http.clone(), ops.clone())?;
        // Draining (SIGTERM with --drain-delay, or a hand-over): each keep-alive
        // connection closes after its next response.
        service.close_connections_when(std::sync::Arc::clone(&ops.ops.draining));
        if let Some(sink) = &access_sink {
            service.log_requests_to(sink.clone());
        }
        let urls = sockets.serve_streams(&mut reactor, "http", || service.clone())?;
        Ok((reactor, urls))
    };
    common::serve_threads_then(NAME, &args, build, move || {
        // Every reactor is gone, and with it the last lines it held: wait for
        // the writer to put them on disk.
        if let Some(log) = access_log {
            if !log.finish(Duration::from_secs(5)) {
                eprintln!("{NAME}: the access log writer did not finish in 5 s; lines may be lost");
            }
        }
    })
}

/// The demo routes plus what operators and load balancers ask for: `/health`
/// and `/metrics`.
#[derive(Clone)]
struct Ops {
    ops: common::Ops,
    access_log: Option<AccessLogSink>,
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
            let mut text = self.ops.prometheus();
            if let Some(log) = &self.access_log {
                text.push_str(
                    "# HELP evloop_access_log_dropped_lines_total access log lines dropped: \
                     the writer was too far behind, or a write failed\n\
                     # TYPE evloop_access_log_dropped_lines_total counter\n",
                );
                text.push_str(&format!(
                    "evloop_access_log_dropped_lines_total {}\n",
                    log.dropped()
                ));
            }
            return Reply::Ok {
                content_type: b"text/plain; version=0.0.4",
                body: Cow::Owned(text.into_bytes()),
            };
        }
        Demo.on_body(route, content_type, body)
    }
}
