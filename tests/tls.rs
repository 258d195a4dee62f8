//! TLS over real sockets on 127.0.0.1, port 0: the HTTP service behind
//! `Reactor::add_tls_listener` with throwaway certificates (rcgen), and blocking
//! rustls clients. Handshakes, keep-alive and pipelining, large responses through
//! backpressure, `close_notify` before FIN, every bad handshake (garbage, plain
//! HTTP, a truncated ClientHello with and without FIN, no shared cipher suite, a
//! missing client certificate), the handshake timeout, and certificate reload.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::http_client::Client;
use common::tls::{connect_tls, handshake, pki, Pki, TlsClient};
use common::{Server, TempDir};
use evloop::tls::{rustls, ClientAuth};
use evloop::Config;
use evloop_http::{Demo, HttpConfig, HttpService};

const HELLO: &[u8] = b"Hello, World!";

/// The HTTP demo service over TLS with `server`'s config.
fn https_server(config: Config, http: HttpConfig, tls: Arc<rustls::ServerConfig>) -> Server {
    Server::start(config, move |r| {
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let l = evloop::net::bind_tcp(addr, Default::default()).unwrap();
        let service = HttpService::new(http, Demo).unwrap();
        (Some(r.add_tls_listener(l, tls, service).unwrap()), None)
    })
}

fn default_https(pki: &Pki) -> Server {
    https_server(
        Config::default(),
        HttpConfig::default(),
        pki.server_config(&[b"http/1.1"], &ClientAuth::None),
    )
}

fn client(server: &Server, pki: &Pki) -> Client<TlsClient> {
    Client::new(connect_tls(server.tcp(), pki.client_config()))
}

#[test]
fn https_keep_alive_and_pipelining_on_one_handshake() {
    let pki = pki("tls-basic");
    let server = default_https(&pki);
    let mut c = client(&server, &pki);
    for _ in 0..3 {
        c.get("/").check(200, "text/plain", HELLO);
    }
    assert_eq!(c.stream.conn.alpn_protocol(), Some(&b"http/1.1"[..]));
    let mut burst = Vec::new();
    for _ in 0..200 {
        burst.extend_from_slice(b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n");
    }
    c.send(&burst);
    for _ in 0..200 {
        c.response(false).check(200, "text/plain", HELLO);
    }
    let stats = server.wait_for("one handshake", |s| s.tls_handshakes == 1);
    assert_eq!(stats.tls_handshake_errors, 0);
    assert_eq!(stats.accepted, 1);
}

#[test]
fn a_returning_client_resumes_its_session() {
    let pki = pki("tls-resume");
    let server = default_https(&pki);
    // One client config: its session cache carries the ticket over.
    let config = pki.client_config();
    let mut first = Client::new(connect_tls(server.tcp(), Arc::clone(&config)));
    first.get("/").check(200, "text/plain", HELLO);
    assert_eq!(
        first.stream.conn.handshake_kind(),
        Some(rustls::HandshakeKind::Full)
    );
    let mut again = Client::new(connect_tls(server.tcp(), config));
    again.get("/").check(200, "text/plain", HELLO);
    assert_eq!(
        again.stream.conn.handshake_kind(),
        Some(rustls::HandshakeKind::Resumed)
    );
}

#[test]
fn large_bodies_pass_through_backpressure_both_ways() {
    let pki = pki("tls-bulk");
    // Small marks so backpressure engages many times.
    let config = Config {
        high_water: 32 * 1024,
        low_water: 8 * 1024,
        ..Config::default()
    };
    let server = https_server(
        config,
        HttpConfig::default(),
        pki.server_config(&[], &ClientAuth::None),
    );
    let mut c = client(&server, &pki);
    let mut rng = common::Rng::new(7);
    for size in [1, 16 * 1024 - 1, 16 * 1024 + 5, 3 * 1024 * 1024] {
        let body = rng.bytes(size);
        let mut req = format!("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {size}\r\n\r\n")
            .into_bytes();
        req.extend_from_slice(&body);
        c.send(&req);
        let r = c.response(false);
        assert_eq!(r.status, 200);
        assert!(r.body == body, "echo of {size} bytes differs");
    }
    // A static file goes through rustls too (no sendfile under TLS).
    let root = TempDir::new("tls-files");
    let file = rng.bytes(5 * 1024 * 1024 + 3);
    root.write("big.bin", &file);
    drop(c);
    drop(server);
    let server = https_server(
        Config {
            high_water: 32 * 1024,
            low_water: 8 * 1024,
            ..Config::default()
        },
        HttpConfig {
            root: Some(root.0.clone()),
            ..HttpConfig::default()
        },
        pki.server_config(&[], &ClientAuth::None),
    );
    let mut c = client(&server, &pki);
    // The client reads nothing for a while: the server must stop, not buffer.
    c.send(b"GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n");
    let stalled = server.wait_for("backpressure", |s| {
        s.backpressure_pauses > 0 || s.bytes_out > 0
    });
    std::thread::sleep(Duration::from_millis(100));
    let buffered = server.stats().output_buffered;
    assert!(
        buffered < 2 * 1024 * 1024,
        "{buffered} bytes buffered for a client that does not read ({stalled:?})"
    );
    let r = c.response(false);
    assert_eq!(r.status, 200);
    assert!(r.body == file, "the file arrived altered");
    c.get("/").check(200, "text/plain", HELLO);
}

#[test]
fn close_sends_close_notify_before_fin() {
    let pki = pki("tls-close");
    let server = default_https(&pki);
    let mut c = client(&server, &pki);
    c.send(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    c.response(false).check(200, "text/plain", HELLO);
    // rustls's stream returns Ok(0) only after close_notify; a bare FIN is an
    // UnexpectedEof error.
    let mut rest = [0u8; 64];
    match c.stream.read(&mut rest) {
        Ok(0) => {}
        other => panic!("expected close_notify then EOF, got {other:?}"),
    }
    server.wait_for("closed", |s| s.closed == 1 && s.active == 0);
}

#[test]
fn a_client_close_notify_ends_the_connection_cleanly() {
    let pki = pki("tls-client-close");
    let server = default_https(&pki);
    let mut c = client(&server, &pki);
    c.get("/").check(200, "text/plain", HELLO);
    c.stream.conn.send_close_notify();
    c.stream.flush().unwrap();
    let mut rest = [0u8; 64];
    assert_eq!(c.stream.read(&mut rest).unwrap(), 0);
    let stats = server.wait_for("closed", |s| s.closed == 1);
    assert_eq!(stats.io_errors, 0);
}

/// Send `bytes` raw to a TLS port; the server must close within `within`, and
/// the connection must be counted as a failed handshake. Returns what came back.
fn bad_handshake(server: &Server, bytes: &[u8], fin: bool, within: Duration) -> Vec<u8> {
    let before = server.stats();
    let mut sock = common::connect(server.tcp());
    sock.write_all(bytes).unwrap();
    if fin {
        sock.shutdown(std::net::Shutdown::Write).unwrap();
    }
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match sock.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => panic!("no close after {:?}: {e}", started.elapsed()),
        }
    }
    assert!(
        started.elapsed() < within,
        "closed only after {:?}",
        started.elapsed()
    );
    server.wait_for("a counted failure", |s| {
        s.tls_handshake_errors + s.tls_handshake_timeouts
            > before.tls_handshake_errors + before.tls_handshake_timeouts
            && s.closed > before.closed
    });
    got
}

/// The first bytes a real client sends: its ClientHello.
fn client_hello(pki: &Pki) -> Vec<u8> {
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut conn = rustls::ClientConnection::new(pki.client_config(), name).unwrap();
    let mut hello = Vec::new();
    conn.write_tls(&mut hello).unwrap();
    hello
}

#[test]
fn bad_handshakes_are_closed_promptly_and_counted_while_others_are_served() {
    let pki = pki("tls-bad");
    let server = https_server(
        Config {
            handshake_timeout: Duration::from_millis(300),
            ..Config::default()
        },
        HttpConfig::default(),
        pki.server_config(&[b"http/1.1"], &ClientAuth::None),
    );
    // A good client holds a connection open across all of them.
    let mut good = client(&server, &pki);
    good.get("/").check(200, "text/plain", HELLO);
    let prompt = Duration::from_secs(5);

    // Garbage: an alert comes back, then the close.
    let reply = bad_handshake(&server, &[0x55; 64], false, prompt);
    assert!(reply.is_empty() || reply[0] == 0x15, "{reply:?}");
    // A plain-HTTP request on the TLS port.
    bad_handshake(&server, b"GET / HTTP/1.1\r\nHost: t\r\n\r\n", false, prompt);
    // A truncated ClientHello, then FIN.
    let hello = client_hello(&pki);
    bad_handshake(&server, &hello[..hello.len() / 2], true, prompt);
    // A truncated ClientHello, then silence: the handshake timeout ends it.
    let before = server.stats().tls_handshake_timeouts;
    bad_handshake(&server, &hello[..hello.len() / 2], false, prompt);
    assert_eq!(server.stats().tls_handshake_timeouts, before + 1);
    // Nothing at all (a port scanner): the handshake timeout too.
    bad_handshake(&server, &[], false, prompt);

    // No cipher suite in common: a TLS 1.2 client offering only RSA suites to
    // an ECDSA certificate.
    let mut provider = rustls::crypto::ring::default_provider();
    provider.cipher_suites =
        vec![rustls::crypto::ring::cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256];
    let rsa_only = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap()
        .with_root_certificates(evloop::tls::root_store(&pki.ca).unwrap())
        .with_no_client_auth();
    let before = server.stats().tls_handshake_errors;
    let mut c = connect_tls(server.tcp(), Arc::new(rsa_only));
    let err = handshake(&mut c).expect_err("no shared suite must fail");
    assert!(
        err.to_string().contains("HandshakeFailure") || err.kind() == ErrorKind::InvalidData,
        "{err}"
    );
    server.wait_for("counted", |s| s.tls_handshake_errors > before);

    // A client that does not trust the server's CA aborts; the server counts it.
    let other = common::tls::pki("tls-other-ca");
    let before = server.stats().tls_handshake_errors;
    let mut c = connect_tls(server.tcp(), other.client_config());
    handshake(&mut c).expect_err("an unknown CA must fail on the client");
    drop(c);
    server.wait_for("counted", |s| s.tls_handshake_errors > before);

    // The good connection was never disturbed.
    good.get("/json")
        .check(200, "application/json", br#"{"message":"Hello, World!"}"#);
    let stats = server.stats();
    assert_eq!(stats.io_errors, 0, "{stats:?}");
    assert_eq!(stats.tls_handshakes, 1, "{stats:?}");
}

#[test]
fn client_certificates_required_or_optional() {
    let pki = pki("tls-mtls");
    let required = https_server(
        Config::default(),
        HttpConfig::default(),
        pki.server_config(&[], &ClientAuth::Required(pki.ca.clone())),
    );
    // Without a certificate: refused (TLS 1.3 reports it on the first read).
    let mut c = client(&required, &pki);
    c.stream
        .write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 256];
    assert!(
        c.stream.read(&mut buf).is_err(),
        "served without a client certificate"
    );
    required.wait_for("refused", |s| s.tls_handshake_errors == 1);
    // With one from the CA: served.
    let mut c = Client::new(connect_tls(required.tcp(), pki.client_config_with_cert()));
    c.get("/").check(200, "text/plain", HELLO);

    let optional = https_server(
        Config::default(),
        HttpConfig::default(),
        pki.server_config(&[], &ClientAuth::Optional(pki.ca.clone())),
    );
    client(&optional, &pki)
        .get("/")
        .check(200, "text/plain", HELLO);
    Client::new(connect_tls(optional.tcp(), pki.client_config_with_cert()))
        .get("/")
        .check(200, "text/plain", HELLO);
}

#[test]
fn a_reloaded_certificate_serves_new_handshakes_and_old_connections_stay() {
    let first = pki("tls-reload-1");
    let second = pki("tls-reload-2");
    // The server's files start as the first PKI's and are then overwritten.
    let dir = TempDir::new("tls-reload-files");
    let cert = dir.write("cert.pem", &std::fs::read(&first.cert).unwrap());
    let key = dir.write("key.pem", &std::fs::read(&first.key).unwrap());
    let files = Arc::new(evloop::tls::CertificateFiles::load(&cert, &key).unwrap());
    let config = evloop::tls::server_config(Arc::clone(&files), &[], &ClientAuth::None).unwrap();
    let server = https_server(Config::default(), HttpConfig::default(), config);
    let mut old = client(&server, &first);
    old.get("/").check(200, "text/plain", HELLO);

    // A broken file is refused and the certificate in use stays.
    std::fs::write(&key, b"not a key").unwrap();
    assert!(files.reload().is_err());
    client(&server, &first)
        .get("/")
        .check(200, "text/plain", HELLO);

    std::fs::write(&cert, std::fs::read(&second.cert).unwrap()).unwrap();
    std::fs::write(&key, std::fs::read(&second.key).unwrap()).unwrap();
    files.reload().unwrap();
    client(&server, &second)
        .get("/")
        .check(200, "text/plain", HELLO);
    let mut stale = connect_tls(server.tcp(), first.client_config());
    assert!(
        handshake(&mut stale).is_err(),
        "the old certificate is still served"
    );
    old.get("/json")
        .check(200, "application/json", br#"{"message":"Hello, World!"}"#);
}
