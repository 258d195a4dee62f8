//! Redis-protocol (RESP2 and RESP3) key-value server: point redis-cli, redis-benchmark or any
//! Redis client at it.
//!
//! ```text
//! cargo run --release --example kv -- --listen 127.0.0.1:6380
//! redis-cli -p 6380 set greeting hello
//! redis-benchmark -p 6380 -q -t set,get -P 16
//! ```

mod common;

use evloop::Config;
use evloop_kv::{aof, AofConfig, Fsync, KvConfig, KvService};

const NAME: &str = "kv";
const HELP: &str = "\
kv: Redis-protocol (RESP2 and RESP3) in-memory key-value server

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

PERSISTENCE (Redis's names and defaults):
  --appendonly yes|no      record every write in the append-only file and load
                           it on start (default no)
  --appendfsync always|everysec|no
                           always: no reply to a write before it is on disk;
                           everysec: sync once a second; no: the kernel decides
                           (default everysec)
  --dir DIR                directory of the file (default .)
  --appendfilename NAME    the file's name (default appendonly.aof)
  --auto-aof-rewrite-percentage N
                           rewrite when the file grew N% past its size after the
                           last rewrite; 0 = never (default 100)
  --auto-aof-rewrite-min-size SIZE
                           but not below SIZE bytes (64mb, 1gb, ...; default 64mb)
  --aof-load-truncated yes|no
                           load a file cut off inside its last command, truncating
                           it (default yes); no = refuse to start

SECURITY:
  --requirepass PASSWORD   clients must AUTH with PASSWORD first
  --protected-mode yes|no  with no password, refuse clients that are not on the
                           loopback interface (default yes)

TLS (Redis's names):
  --tls-port PORT          also serve TLS on this port of --listen's address
  --tls-cert-file FILE     the certificate chain, PEM, leaf first (SIGHUP
                           reloads it and the key for new handshakes)
  --tls-key-file FILE      its private key, PEM
  --tls-ca-cert-file FILE  CA certificates client certificates must chain to
  --tls-auth-clients yes|no|optional
                           ask clients for a certificate: yes = required, no
                           = not asked, optional = checked if sent (default
                           yes with --tls-ca-cert-file)
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
    let mut aof_config = AofConfig::default();
    let mut requirepass = None;
    let mut tls_port: Option<u16> = None;
    #[cfg(feature = "tls")]
    let mut tls = common::tls::TlsArgs::default();
    let mut protected_mode = true;
    let mut args = common::parse_args(NAME, HELP, defaults, |flag, parser| {
        match flag {
            "appendonly" => aof_config.enabled = yes_no(flag, parser),
            "appendfsync" => {
                let v: String = common::value(NAME, "--appendfsync", parser);
                aof_config.fsync = Fsync::parse(&v).unwrap_or_else(|| {
                    common::usage_error(
                        NAME,
                        format_args!("--appendfsync: {v:?} is not always, everysec or no"),
                    )
                });
            }
            "dir" => aof_config.dir = common::value::<String>(NAME, "--dir", parser).into(),
            "appendfilename" => {
                let v: String = common::value(NAME, "--appendfilename", parser);
                if v.is_empty() || v.contains('/') {
                    common::usage_error(NAME, "--appendfilename: a file name, without '/'");
                }
                aof_config.filename = v;
            }
            "auto-aof-rewrite-percentage" => {
                aof_config.auto_rewrite_percentage =
                    common::value(NAME, "--auto-aof-rewrite-percentage", parser)
            }
            "auto-aof-rewrite-min-size" => {
                let v: String = common::value(NAME, "--auto-aof-rewrite-min-size", parser);
                aof_config.auto_rewrite_min_size = aof::parse_size(&v).unwrap_or_else(|| {
                    common::usage_error(NAME, format_args!("--auto-aof-rewrite-min-size: {v:?}"))
                });
            }
            "aof-load-truncated" => aof_config.load_truncated = yes_no(flag, parser),
            "requirepass" => {
                requirepass = Some(common::value::<String>(NAME, "--requirepass", parser))
            }
            "protected-mode" => protected_mode = yes_no(flag, parser),
            "max-bulk" => kv.max_bulk = common::value(NAME, "--max-bulk", parser),
            "max-query" => kv.max_query = common::value(NAME, "--max-query", parser),
            "max-inline" => kv.max_inline = common::value(NAME, "--max-inline", parser),
            "max-multibulk" => kv.max_multibulk = common::value(NAME, "--max-multibulk", parser),
            "request-timeout" => {
                request_timeout = common::timeout_secs(NAME, "--request-timeout", parser)
            }
            "tls-port" => tls_port = Some(common::value::<u16>(NAME, "--tls-port", parser)),
            #[cfg(feature = "tls")]
            "tls-cert-file" => tls.cert = Some(common::value(NAME, "--tls-cert-file", parser)),
            #[cfg(feature = "tls")]
            "tls-key-file" => tls.key = Some(common::value(NAME, "--tls-key-file", parser)),
            #[cfg(feature = "tls")]
            "tls-ca-cert-file" => tls.ca = Some(common::value(NAME, "--tls-ca-cert-file", parser)),
            #[cfg(feature = "tls")]
            "tls-auth-clients" => {
                tls.auth_clients = Some(common::value(NAME, "--tls-auth-clients", parser))
            }
            _ => return false,
        }
        true
    });
    args.tls_listen = tls_port.map(|port| std::net::SocketAddr::new(args.listen.ip(), port));
    #[cfg(feature = "tls")]
    {
        if tls.cert.is_some() && args.tls_listen.is_none() {
            common::usage_error(NAME, "--tls-cert-file needs --tls-port");
        }
        tls.apply(
            NAME,
            [
                "--tls-cert-file",
                "--tls-key-file",
                "--tls-ca-cert-file",
                "--tls-auth-clients",
            ],
            &[],
            &mut args,
        );
    }
    #[cfg(not(feature = "tls"))]
    if args.tls_listen.is_some() {
        common::usage_error(NAME, "--tls-port: built without the tls feature");
    }
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
    service.set_requirepass(requirepass.map(String::into_bytes));
    service.set_protected_mode(protected_mode);
    if aof_config.enabled {
        let path = aof_config.path();
        match service.enable_aof(aof_config) {
            Ok(report) => log::info!(
                "append-only file {}: {} commands replayed, {} keys{}",
                path.display(),
                report.commands,
                service.dbsize(),
                match report.truncated_from {
                    Some(size) => format!(", truncated from {size} to {} bytes", report.bytes),
                    None => String::new(),
                }
            ),
            Err(e) => common::fatal(NAME, e),
        }
    }
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
    common::serve_then(NAME, &args, reactor, &urls, bound, || service.flush_aof())
}

/// A `yes`/`no` flag value, as Redis's configuration spells booleans.
fn yes_no(flag: &str, parser: &mut lexopt::Parser) -> bool {
    let v: String = common::value(NAME, flag, parser);
    match v.to_ascii_lowercase().as_str() {
        "yes" => true,
        "no" => false,
        _ => common::usage_error(NAME, format_args!("--{flag}: {v:?} is not yes or no")),
    }
}
