//! HTTP/1.1 server: `/`, `/plaintext`, `/json`, `POST /echo`, and static files — the
//! routes of `evloop::proto::http::Demo`, a `Handler` (write your own to serve yours).
//!
//! ```text
//! cargo run --release --example http -- --listen 127.0.0.1:8080 --root ./public
//! curl -i http://127.0.0.1:8080/json
//! wrk -t1 -c50 -d10s http://127.0.0.1:8080/
//! ```

mod common;

use std::path::PathBuf;
use std::time::Duration;

use evloop::proto::http::{Demo, HttpConfig, HttpService};
use evloop::{Config, Reactor};

const NAME: &str = "http";
const HELP: &str = "\
http: HTTP/1.1 server (keep-alive, pipelining, static files)

USAGE: http [OPTIONS]

ROUTES:
  GET|HEAD /, /plaintext   Hello, World! (text/plain)
  GET|HEAD /json           {\"message\":\"Hello, World!\"}
  POST /echo               the request body back
  GET|HEAD /<path>         a file under --root, if given

OPTIONS:
  --listen ADDR              address to bind (default 127.0.0.1:8080; port 0 = any)
  --root DIR                 serve static files under DIR
  --max-body BYTES           largest request body (default 8388608)
  --max-header BYTES         largest request head (default 16384)
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
    if let Err(e) = HttpService::new(http.clone(), Demo) {
        common::fatal(NAME, format_args!("--root: {e}"));
    }
    common::serve_threads(NAME, &args, move |mut sockets| {
        let mut reactor = Reactor::new(config.clone())?;
        let service = HttpService::new(http.clone(), Demo)?;
        let urls = sockets.serve_streams(&mut reactor, "http", || service.clone())?;
        Ok((reactor, urls))
    })
}
