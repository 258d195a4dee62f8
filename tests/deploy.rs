//! The example servers as they are deployed: on Unix-domain sockets (`--unix`),
//! started by systemd with their listening sockets passed (socket activation,
//! through `systemd-socket-activate`), with real clients (`curl --unix-socket`,
//! `redis-cli -s`) where they are installed and a plain `std` client everywhere.

mod common;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::interop::{assert_bad_command_line, example, free_port, have, run_bounded, Example};
use common::{TempDir, IO_TIMEOUT};

const CURL: (&str, &str) = ("curl", "curl");
const REDIS_CLI: (&str, &str) = ("redis-cli", "redis-tools");
const SOCKET_ACTIVATE: (&str, &str) = ("systemd-socket-activate", "systemd");

fn unix_connect(path: &Path) -> UnixStream {
    let stream = UnixStream::connect(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    stream
}

/// One HTTP/1.0-style exchange: send `request`, read until the server closes.
fn exchange(mut stream: impl Read + Write, request: &[u8]) -> String {
    stream.write_all(request).unwrap();
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).unwrap();
    String::from_utf8(reply).unwrap()
}

const GET_JSON: &[u8] = b"GET /json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

fn tool_output(cmd: &mut Command, what: &str) -> String {
    let out = run_bounded(cmd, what);
    assert!(
        out.status.success(),
        "{what} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn http_on_a_unix_socket_with_permissions_and_cleanup() {
    let tmp = TempDir::new("unix-http");
    let path = tmp.0.join("http.sock");
    let path_str = path.to_str().unwrap();
    let mut server = Example::start_command(
        "http",
        {
            let mut cmd = Command::new(example("http"));
            cmd.args(["--unix", path_str, "--unix-perm", "600"]);
            cmd
        },
        None,
    );
    assert_eq!(server.line, format!("listening on unix:{path_str}"));
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "socket file mode {mode:o}");

    let reply = exchange(unix_connect(&path), GET_JSON);
    assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
    assert!(reply.ends_with(r#"{"message":"Hello, World!"}"#), "{reply}");

    if have(&[CURL]) {
        let body = tool_output(
            Command::new("curl").args([
                "--silent",
                "--show-error",
                "--max-time",
                "10",
                "--unix-socket",
                path_str,
                "http://localhost/json",
                "http://localhost/",
            ]),
            "curl --unix-socket",
        );
        assert_eq!(body, r#"{"message":"Hello, World!"}Hello, World!"#);
    }

    // A second server must not take the path from the live one.
    assert_bad_command_line("http", &["--unix", path_str]);
    let reply = exchange(unix_connect(&path), GET_JSON);
    assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");

    server.sigterm();
    server.assert_exits_zero_after_sigterm();
    assert!(!path.exists(), "the socket file outlived the server");
}

#[test]
fn a_stale_socket_file_is_replaced() {
    let tmp = TempDir::new("unix-stale");
    let path = tmp.0.join("echo.sock");
    // What a server killed with SIGKILL leaves: a socket file nobody listens on.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let path_str = path.to_str().unwrap();
    let mut server = Example::start(
        "echo",
        &["--listen", "127.0.0.1:0", "--unix", path_str],
        "tcp",
    );
    assert!(
        server.line.contains(&format!(" unix:{path_str} ")),
        "{}",
        server.line
    );
    let mut client = unix_connect(&path);
    client.write_all(b"over a unix socket\n").unwrap();
    let mut echoed = [0u8; 19];
    client.read_exact(&mut echoed).unwrap();
    assert_eq!(&echoed, b"over a unix socket\n");
    // TCP is served beside it.
    let mut tcp = common::connect(server.addr);
    tcp.write_all(b"tcp\n").unwrap();
    let mut echoed = [0u8; 4];
    tcp.read_exact(&mut echoed).unwrap();
    assert_eq!(&echoed, b"tcp\n");
    drop((client, tcp));
    server.sigterm();
    server.assert_exits_zero_after_sigterm();
    // A regular file at the path is never removed.
    let file = tmp.0.join("data");
    std::fs::write(&file, b"keep me").unwrap();
    assert_bad_command_line("echo", &["--unix", file.to_str().unwrap()]);
    assert_eq!(std::fs::read(&file).unwrap(), b"keep me");
    assert_bad_command_line("http", &["--unix", path_str, "--unix-perm", "9"]);
}

#[test]
fn kv_on_tcp_and_a_unix_socket_shares_one_store() {
    let tmp = TempDir::new("unix-kv");
    let path = tmp.0.join("kv.sock");
    let path_str = path.to_str().unwrap();
    let server = Example::start(
        "kv",
        &["--listen", "127.0.0.1:0", "--unix", path_str],
        "redis",
    );
    let mut unix = unix_connect(&path);
    unix.write_all(b"SET greeting hello\r\n").unwrap();
    let mut ok = [0u8; 5];
    unix.read_exact(&mut ok).unwrap();
    assert_eq!(&ok, b"+OK\r\n");
    let mut tcp = common::connect(server.addr);
    tcp.write_all(b"GET greeting\r\n").unwrap();
    let mut value = [0u8; 11];
    tcp.read_exact(&mut value).unwrap();
    assert_eq!(&value, b"$5\r\nhello\r\n");
    if have(&[REDIS_CLI]) {
        let got = tool_output(
            Command::new("redis-cli").args(["-s", path_str, "GET", "greeting"]),
            "redis-cli -s",
        );
        assert_eq!(got, "hello\n");
        let pong = tool_output(
            Command::new("redis-cli").args(["-s", path_str, "PING"]),
            "redis-cli -s",
        );
        assert_eq!(pong, "PONG\n");
    }
}

/// Connect to `port`, retrying (bounded) while whoever listens is starting up.
fn connect_retrying(port: u16) -> std::net::TcpStream {
    let deadline = Instant::now() + IO_TIMEOUT;
    loop {
        match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Ok(stream) => {
                stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
                return stream;
            }
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("connect to port {port}: {e}"),
        }
    }
}

#[test]
fn socket_activation_serves_the_passed_tcp_and_unix_sockets() {
    if !have(&[SOCKET_ACTIVATE]) {
        return;
    }
    let tmp = TempDir::new("activate");
    let path = tmp.0.join("http.sock");
    let path_str = path.to_str().unwrap();
    let port = free_port();
    let mut cmd = Command::new("systemd-socket-activate");
    cmd.args([
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--listen",
        path_str,
        "--fdname=web:local",
    ])
    .arg(example("http"))
    // Ignored: the passed sockets are served instead.
    .args(["--listen", "127.0.0.1:1"]);
    let child = std::thread::spawn(move || Example::start_command("http", cmd, Some("http")));
    // systemd-socket-activate starts the server on the first connection, which
    // waits in the passed socket's backlog and is then served by the server.
    let first = connect_retrying(port);
    let mut server = child.join().unwrap();
    assert_eq!(
        server.line,
        format!("listening on http://127.0.0.1:{port} unix:{path_str}")
    );
    let reply = exchange(first, GET_JSON);
    assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
    let reply = exchange(unix_connect(&path), GET_JSON);
    assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
    server.sigterm();
    server.assert_exits_zero_after_sigterm();
    // The socket file belongs to whoever created it (systemd): left alone.
    assert!(path.exists());
}

#[test]
fn sockets_meant_for_another_process_are_not_taken() {
    // LISTEN_PID names some other process: sd_listen_fds(3) says the descriptors
    // are not ours, so the server binds --listen as usual.
    let mut cmd = Command::new(example("http"));
    cmd.args(["--listen", "127.0.0.1:0"])
        .env("LISTEN_FDS", "1")
        .env("LISTEN_PID", "1");
    let server = Example::start_command("http", cmd, Some("http"));
    let reply = exchange(common::connect(server.addr), GET_JSON);
    assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
}

/// The `KEY=value` lines of a systemd unit file, in order.
fn unit_entries(unit: &str, key: &str) -> Vec<String> {
    let prefix = format!("{key}=");
    unit.lines()
        .filter_map(|line| line.trim().strip_prefix(&prefix).map(str::to_owned))
        .collect()
}

/// The shipped units (`deploy/systemd/evloop-NAME.{socket,service}`), run as
/// systemd would run them — their sockets (moved to a free port and a scratch
/// directory), their descriptor name and their `ExecStart` arguments — through
/// `systemd-socket-activate`; and `systemd-analyze verify` accepts them.
fn shipped_units_serve(name: &str, scheme: &'static str, request: &[u8], expect: &str) {
    if !have(&[SOCKET_ACTIVATE, ("systemd-analyze", "systemd")]) {
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/systemd");
    let socket_unit = std::fs::read_to_string(dir.join(format!("evloop-{name}.socket"))).unwrap();
    let service_unit = std::fs::read_to_string(dir.join(format!("evloop-{name}.service"))).unwrap();
    let tmp = TempDir::new("units");
    let port = free_port();
    let mut cmd = Command::new("systemd-socket-activate");
    let mut unix_path = None;
    for listen in unit_entries(&socket_unit, "ListenStream") {
        let listen = if listen.starts_with('/') {
            let path = tmp.0.join("unit.sock");
            unix_path = Some(path.clone());
            path.to_str().unwrap().to_owned()
        } else {
            assert!(listen.starts_with("127.0.0.1:"), "{listen}");
            format!("127.0.0.1:{port}")
        };
        cmd.arg("--listen").arg(listen);
    }
    let names = unit_entries(&socket_unit, "FileDescriptorName");
    cmd.arg(format!("--fdname={}", names.join(":")));
    let exec = unit_entries(&service_unit, "ExecStart");
    let mut words = exec[0].split_whitespace();
    let binary = words.next().unwrap();
    assert_eq!(binary, format!("/usr/local/bin/evloop-{name}"));
    let root = tmp.0.join("root");
    std::fs::create_dir(&root).unwrap();
    cmd.arg(example(name));
    for word in words {
        // The service's document root is the scratch directory here.
        match word {
            "/srv/evloop-http" => cmd.arg(&root),
            _ => cmd.arg(word),
        };
    }
    let child = std::thread::spawn(move || Example::start_command("unit", cmd, Some(scheme)));
    let first = connect_retrying(port);
    let mut server = child.join().unwrap();
    assert!(
        server
            .line
            .starts_with(&format!("listening on {scheme}://127.0.0.1:{port}")),
        "{}",
        server.line
    );
    let reply = exchange(first, request);
    assert!(reply.contains(expect), "{reply:?}");
    let reply = exchange(unix_connect(unix_path.as_ref().unwrap()), request);
    assert!(reply.contains(expect), "{reply:?}");
    server.sigterm();
    server.assert_exits_zero_after_sigterm();

    // The units as written pass systemd's own checks (with the binary where it is).
    let exe = example(name);
    let service = service_unit.replace(binary, exe.to_str().unwrap());
    std::fs::write(tmp.0.join(format!("evloop-{name}.service")), service).unwrap();
    std::fs::write(tmp.0.join(format!("evloop-{name}.socket")), &socket_unit).unwrap();
    let out = run_bounded(
        Command::new("systemd-analyze")
            .arg("verify")
            .arg(tmp.0.join(format!("evloop-{name}.socket")))
            .arg(tmp.0.join(format!("evloop-{name}.service"))),
        "systemd-analyze verify",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !stderr.contains(&format!("evloop-{name}")),
        "systemd-analyze verify: {}\n{stderr}",
        out.status
    );
}

#[test]
fn shipped_http_units_serve() {
    shipped_units_serve("http", "http", GET_JSON, r#"{"message":"Hello, World!"}"#);
}

#[test]
fn shipped_kv_units_serve() {
    // An inline PING, then QUIT so the server closes and the exchange ends.
    shipped_units_serve("kv", "redis", b"PING\r\nQUIT\r\n", "+PONG\r\n+OK\r\n");
}

/// A v2 header (written out by hand, independently of the server's parser) for a
/// TCP over IPv4 connection from `src` to `dst`.
fn proxy_v2(src: std::net::SocketAddrV4, dst: std::net::SocketAddrV4) -> Vec<u8> {
    let mut h = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    h.push(0x21); // version 2, PROXY
    h.push(0x11); // AF_INET, STREAM
    h.extend_from_slice(&12u16.to_be_bytes());
    h.extend_from_slice(&src.ip().octets());
    h.extend_from_slice(&dst.ip().octets());
    h.extend_from_slice(&src.port().to_be_bytes());
    h.extend_from_slice(&dst.port().to_be_bytes());
    h
}

/// Send `bytes` on a fresh connection (then FIN if `fin`) and read all the server
/// sends until it closes.
fn send_and_read_all(addr: std::net::SocketAddr, bytes: &[u8], fin: bool) -> Vec<u8> {
    let mut stream = common::connect(addr);
    stream.write_all(bytes).unwrap();
    if fin {
        stream.shutdown(std::net::Shutdown::Write).unwrap();
    }
    let mut reply = Vec::new();
    // A reset is also a refusal; what matters is that nothing was answered.
    let _ = stream.read_to_end(&mut reply);
    reply
}

/// The `addr=` CLIENT LIST shows for a client that sent `header`.
fn client_addr_after(addr: std::net::SocketAddr, header: &[u8]) -> String {
    let mut request = header.to_vec();
    request.extend_from_slice(b"CLIENT INFO\r\nQUIT\r\n");
    let reply = String::from_utf8(send_and_read_all(addr, &request, false)).unwrap();
    let field = reply
        .split(' ')
        .find_map(|f| f.strip_prefix("addr="))
        .unwrap_or_else(|| panic!("no addr= in {reply:?}"));
    field.to_owned()
}

#[test]
fn proxy_protocol_gives_kv_the_real_client_address() {
    let server = Example::start(
        "kv",
        &[
            "--listen",
            "127.0.0.1:0",
            "--proxy-protocol",
            "127.0.0.0/8,::1",
            // The clients the proxy speaks for are not on loopback: without a
            // password, protected mode would refuse them, as Redis does.
            "--protected-mode",
            "no",
        ],
        "redis",
    );
    let v1 = b"PROXY TCP4 203.0.113.7 127.0.0.1 51000 6380\r\n";
    assert_eq!(client_addr_after(server.addr, v1), "203.0.113.7:51000");
    let v1_6 = b"PROXY TCP6 2001:db8::7 ::1 51001 6380\r\n";
    assert_eq!(client_addr_after(server.addr, v1_6), "[2001:db8::7]:51001");
    let v2 = proxy_v2(
        "198.51.100.4:40000".parse().unwrap(),
        "127.0.0.1:6380".parse().unwrap(),
    );
    assert_eq!(client_addr_after(server.addr, &v2), "198.51.100.4:40000");
    // A header that arrives a byte at a time is still one header.
    let mut stream = common::connect(server.addr);
    for &b in v2.iter() {
        stream.write_all(&[b]).unwrap();
        std::thread::sleep(Duration::from_millis(1));
    }
    stream.write_all(b"PING\r\n").unwrap();
    let mut pong = [0u8; 7];
    stream.read_exact(&mut pong).unwrap();
    assert_eq!(&pong, b"+PONG\r\n");
    // LOCAL (a balancer's own health check) keeps the connection's address.
    let mut local = v2[..12].to_vec();
    local.extend_from_slice(&[0x20, 0x00, 0, 0]);
    assert!(client_addr_after(server.addr, &local).starts_with("127.0.0.1:"));
}

#[test]
fn proxy_protocol_refuses_untrusted_malformed_truncated_and_late_headers() {
    let server = Example::start(
        "http",
        &[
            "--listen",
            "127.0.0.1:0",
            "--proxy-protocol",
            "127.0.0.1/32",
            "--proxy-timeout",
            "0.3",
        ],
        "http",
    );
    let request = b"GET /json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let mut good = b"PROXY TCP4 192.0.2.1 127.0.0.1 1234 80\r\n".to_vec();
    good.extend_from_slice(request);
    let reply = String::from_utf8(send_and_read_all(server.addr, &good, false)).unwrap();
    assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
    // No header: the request is never parsed, nothing is answered.
    assert_eq!(send_and_read_all(server.addr, request, false), b"");
    // A garbled header.
    let mut bad = b"PROXY TCP4 192.0.2.1 nonsense 1234 80\r\n".to_vec();
    bad.extend_from_slice(request);
    assert_eq!(send_and_read_all(server.addr, &bad, false), b"");
    // Cut short by FIN.
    assert_eq!(
        send_and_read_all(server.addr, b"PROXY TCP4 192.0.2.1 ", true),
        b""
    );
    // Not complete within --proxy-timeout: closed without a byte.
    let started = Instant::now();
    let mut slow = common::connect(server.addr);
    slow.write_all(b"PROXY TCP4 ").unwrap();
    let mut rest = Vec::new();
    let _ = slow.read_to_end(&mut rest);
    assert!(rest.is_empty());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // Every refusal was counted: no header, garbled and truncated as malformed.
    let mut metrics_request = b"PROXY TCP4 192.0.2.1 127.0.0.1 1234 80\r\n".to_vec();
    metrics_request
        .extend_from_slice(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let metrics =
        String::from_utf8(send_and_read_all(server.addr, &metrics_request, false)).unwrap();
    for line in [
        "evloop_proxy_headers_accepted_total 2",
        "evloop_proxy_malformed_closes_total 3",
        "evloop_proxy_timeout_closes_total 1",
        "evloop_proxy_untrusted_closes_total 0",
    ] {
        assert!(
            metrics.contains(&format!("\n{line}\n")),
            "{line} in {metrics}"
        );
    }

    // From a source outside the trusted networks (127.0.0.2 is loopback too),
    // even a valid header is refused.
    let untrusted = Example::start(
        "http",
        &["--listen", "127.0.0.2:0", "--proxy-protocol", "10.0.0.0/8"],
        "http",
    );
    assert_eq!(send_and_read_all(untrusted.addr, &good, false), b"");
}

fn get(addr: std::net::SocketAddr, path: &str) -> String {
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    exchange(common::connect(addr), request.as_bytes())
}

#[test]
fn health_and_metrics_and_the_drain_before_shutdown() {
    let mut server = Example::start(
        "http",
        &[
            "--listen",
            "127.0.0.1:0",
            "--threads",
            "2",
            "--drain-delay",
            "1",
        ],
        "http",
    );
    let health = get(server.addr, "/health");
    assert!(
        health.starts_with("HTTP/1.1 200 OK\r\n") && health.ends_with("\r\nok\n"),
        "{health}"
    );
    for _ in 0..4 {
        get(server.addr, "/json");
    }
    let metrics = get(server.addr, "/metrics");
    assert!(
        metrics.contains("Content-Type: text/plain; version=0.0.4\r\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("# TYPE evloop_connections_accepted_total counter\n"),
        "{metrics}"
    );
    // Per thread, and the connections so far (published once per loop iteration,
    // so this one may not be counted yet) are all there.
    let accepted: u64 = metrics
        .lines()
        .filter_map(|l| l.strip_prefix("evloop_connections_accepted_total{thread=\""))
        .map(|rest| rest.split(' ').nth(1).unwrap().parse::<u64>().unwrap())
        .sum();
    assert!(
        metrics.contains("evloop_connections_accepted_total{thread=\"1\"} "),
        "{metrics}"
    );
    assert!(accepted >= 5, "{accepted} accepted in {metrics}");
    assert!(metrics.contains("\nevloop_draining 0\n"), "{metrics}");
    let refused = exchange(
        common::connect(server.addr),
        b"POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    assert!(refused.starts_with("HTTP/1.1 405 "), "{refused}");

    // SIGTERM: health checks fail at once, requests are still served...
    server.sigterm();
    let deadline = Instant::now() + IO_TIMEOUT;
    loop {
        let health = get(server.addr, "/health");
        if health.starts_with("HTTP/1.1 503 Service Unavailable\r\n") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still healthy after SIGTERM: {health}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let json = get(server.addr, "/json");
    assert!(json.starts_with("HTTP/1.1 200 OK\r\n"), "{json}");
    assert!(get(server.addr, "/metrics").contains("\nevloop_draining 1\n"));
    // ...until the delay has passed: then the graceful shutdown, exit 0.
    server.assert_exits_zero_after_sigterm();
}

#[test]
fn kv_info_has_the_reactor_counters() {
    let server = Example::start(
        "kv",
        &[
            "--listen",
            "127.0.0.1:0",
            "--proxy-protocol",
            "127.0.0.1",
            "--protected-mode",
            "no",
        ],
        "redis",
    );
    let info = |section: &str| {
        let request = format!("PROXY TCP4 192.0.2.1 127.0.0.1 1 2\r\nINFO {section}\r\nQUIT\r\n");
        String::from_utf8(send_and_read_all(server.addr, request.as_bytes(), false)).unwrap()
    };
    let reactor = info("reactor");
    assert!(reactor.contains("# Reactor\r\n"), "{reactor}");
    for field in [
        "connections_accepted:",
        "bytes_in:",
        "accept_errors:",
        "backpressure_pauses:",
        "proxy_headers_accepted:",
        "draining:0\r\n",
    ] {
        assert!(reactor.contains(field), "{field} in {reactor}");
    }
    assert!(!reactor.contains("# Server"), "{reactor}");
    assert!(info("").contains("# Reactor\r\n"));
}

#[test]
fn the_access_log_has_a_line_per_response_and_survives_rotation() {
    let dir = TempDir::new("access-log");
    let log = dir.write("access.log", b"");
    let log_arg = log.to_str().unwrap().to_string();
    let mut server = Example::start(
        "http",
        &[
            "--listen",
            "127.0.0.1:0",
            "--proxy-protocol",
            "127.0.0.1",
            "--access-log",
            &log_arg,
        ],
        "http",
    );
    let via_proxy = |request: &str| {
        let bytes = format!("PROXY TCP4 192.0.2.1 127.0.0.1 1 2\r\n{request}");
        String::from_utf8(send_and_read_all(server.addr, bytes.as_bytes(), false)).unwrap()
    };
    let close = "Host: x\r\nConnection: close\r\n\r\n";
    assert!(via_proxy(&format!("GET /json HTTP/1.1\r\n{close}")).starts_with("HTTP/1.1 200"));
    assert!(via_proxy(&format!("HEAD /json HTTP/1.1\r\n{close}")).starts_with("HTTP/1.1 200"));
    assert!(
        via_proxy(&format!("GET /nope?a=\"b\" HTTP/1.1\r\n{close}")).starts_with("HTTP/1.1 404")
    );
    assert!(via_proxy("BAD\x01 REQUEST\r\n\r\n").starts_with("HTTP/1.1 400"));
    let metrics = via_proxy(&format!("GET /metrics HTTP/1.1\r\n{close}"));
    assert!(
        metrics.contains("\nevloop_access_log_dropped_lines_total 0\n"),
        "{metrics}"
    );

    // Rotation: the file is moved away; the writer starts a new one under the
    // name (within about a second), and later lines go there.
    let rotated = log.with_file_name("access.log.1");
    let deadline = Instant::now() + IO_TIMEOUT;
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("/metrics")
    {
        assert!(Instant::now() < deadline, "lines never written");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::fs::rename(&log, &rotated).unwrap();
    while !log.exists() {
        assert!(Instant::now() < deadline, "not reopened after rotation");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(via_proxy(&format!("GET /after HTTP/1.1\r\n{close}")).starts_with("HTTP/1.1 404"));
    // SIGTERM: the last lines are written before the process exits.
    server.sigterm();
    server.assert_exits_zero_after_sigterm();

    let before = std::fs::read_to_string(&rotated).unwrap();
    let lines: Vec<&str> = before.lines().collect();
    assert_eq!(lines.len(), 5, "{before}");
    let stamp = |line: &str| {
        let (open, close) = (line.find('[').unwrap(), line.find(']').unwrap());
        line[..open].to_string() + &line[close..]
    };
    assert_eq!(
        stamp(lines[0]),
        "192.0.2.1 - - ] \"GET /json HTTP/1.1\" 200 27"
    );
    assert_eq!(
        stamp(lines[1]),
        "192.0.2.1 - - ] \"HEAD /json HTTP/1.1\" 200 -"
    );
    assert_eq!(
        stamp(lines[2]),
        "192.0.2.1 - - ] \"GET /nope?a=\\x22b\\x22 HTTP/1.1\" 404 10"
    );
    assert!(
        stamp(lines[3]).starts_with("192.0.2.1 - - ] \"BAD\\x01 REQUEST\" 400 "),
        "{}",
        lines[3]
    );
    assert!(stamp(lines[4]).starts_with("192.0.2.1 - - ] \"GET /metrics HTTP/1.1\" 200 "));
    // [03/Dec/2026:11:15:57 +0000]
    let time = &lines[0][lines[0].find('[').unwrap()..=lines[0].find(']').unwrap()];
    assert_eq!(time.len(), 28, "{time}");
    assert!(time.ends_with(" +0000]"), "{time}");
    let after = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        stamp(after.trim_end()),
        "192.0.2.1 - - ] \"GET /after HTTP/1.1\" 404 10"
    );
}

#[test]
fn an_access_log_that_cannot_be_opened_is_a_clear_error() {
    let out = run_bounded(
        Command::new(example("http")).args([
            "--listen",
            "127.0.0.1:0",
            "--access-log",
            "/nonexistent-dir/access.log",
        ]),
        "http --access-log",
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--access-log /nonexistent-dir/access.log"),
        "{stderr}"
    );
}
