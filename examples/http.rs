//! HTTP/1.1 server: `/`, `/plaintext`, `/json`, `POST /echo`, and static files.
//!
//! ```text
//! cargo run --release --example http -- --listen 127.0.0.1:8080 --root ./public
//! curl -i http://127.0.0.1:8080/json
//! wrk -t1 -c50 -d10s http://127.0.0.1:8080/
//! ```

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use evloop::net::{bind_tcp, ListenOptions};
use evloop::proto::http::{HttpConfig, HttpService};
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
    let mut listen: SocketAddr = ([127, 0, 0, 1], 8080).into();
    let mut http = HttpConfig::default();
    let mut config = Config {
        request_timeout: Some(Duration::from_secs(10)),
        idle_timeout: Some(Duration::from_secs(60)),
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
            Long("root") => http.root = Some(common::value::<PathBuf>(NAME, "--root", &mut parser)),
            Long("max-body") => http.max_body = common::value(NAME, "--max-body", &mut parser),
            Long("max-header") => {
                http.max_header_bytes = common::value(NAME, "--max-header", &mut parser)
            }
            Long("header-timeout") => {
                config.request_timeout = common::timeout_secs(NAME, "--header-timeout", &mut parser)
            }
            Long("keepalive-timeout") => {
                config.idle_timeout = common::timeout_secs(NAME, "--keepalive-timeout", &mut parser)
            }
            Long("max-connections") => {
                config.max_connections = common::value(NAME, "--max-connections", &mut parser)
            }
            Short('h') | Long("help") => {
                print!("{HELP}");
                return;
            }
            other => common::unexpected(NAME, other),
        }
    }
    // A request head must fit in the reactor's input cap with room to spare.
    config.max_input = config
        .max_input
        .max(http.max_header_bytes.saturating_mul(2));
    common::init_logging();
    let service = match HttpService::new(http) {
        Ok(s) => s,
        Err(e) => common::fatal(NAME, format_args!("--root: {e}")),
    };
    let listener = match bind_tcp(listen, ListenOptions::default()) {
        Ok(l) => l,
        Err(e) => common::fatal(NAME, format_args!("cannot bind {listen}: {e}")),
    };
    let mut reactor = match Reactor::new(config) {
        Ok(r) => r,
        Err(e) => common::fatal(NAME, format_args!("cannot create event loop: {e}")),
    };
    let addr = match reactor.add_tcp_listener(listener, service) {
        Ok(a) => a,
        Err(e) => common::fatal(NAME, e),
    };
    common::serve(NAME, reactor, &[format!("http://{addr}")])
}
