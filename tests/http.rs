//! The HTTP/1.1 service over real sockets on 127.0.0.1, port 0: keep-alive,
//! pipelining, bodies, HEAD, static files, every rejection and the timeouts.
//!
//! Clients are plain `std::net::TcpStream`s with a small response reader (status
//! line, headers, `Content-Length` body). Every wait is bounded: blocking reads and
//! writes time out after [`common::IO_TIMEOUT`], and the timing tests assert upper bounds.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::http_client::{http_server, text, Client, Response};
use common::{Rng, Server, TempDir};
use evloop::Config;
use evloop_http::HttpConfig;

const HELLO: &[u8] = b"Hello, World!";
const JSON: &[u8] = br#"{"message":"Hello, World!"}"#;

fn default_server() -> Server {
    http_server(Config::default(), HttpConfig::default())
}

fn post(path: &str, body: &[u8], extra: &str) -> Vec<u8> {
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n{extra}\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    req
}

/// `body` in chunked coding, cut into pieces of the given sizes (cycled).
fn chunked(body: &[u8], sizes: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut at = 0;
    for &size in sizes.iter().cycle() {
        if at == body.len() {
            break;
        }
        let n = size.min(body.len() - at);
        out.extend_from_slice(format!("{n:x};ext=1\r\n").as_bytes());
        out.extend_from_slice(&body[at..at + n]);
        out.extend_from_slice(b"\r\n");
        at += n;
    }
    out.extend_from_slice(b"0\r\nX-Trailer: ignored\r\n\r\n");
    out
}

fn post_chunked(body: &[u8], sizes: &[usize]) -> Vec<u8> {
    let mut req = b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    req.extend_from_slice(&chunked(body, sizes));
    req
}

#[test]
fn keep_alive_serves_many_requests_on_one_connection() {
    let server = default_server();
    let mut c = Client::connect(server.tcp());
    for round in 0..3 {
        c.get("/").check(200, "text/plain", HELLO);
        c.get("/plaintext").check(200, "text/plain", HELLO);
        let r = c.get("/json?x=1");
        r.check(200, "application/json", JSON);
        assert_eq!(r.header("Connection"), None);
        let body = format!("round {round}");
        c.send(&post(
            "/echo",
            body.as_bytes(),
            "Content-Type: text/x-test\r\n",
        ));
        c.response(false).check(200, "text/x-test", body.as_bytes());
        c.send(&post("/echo", b"", ""));
        c.response(false)
            .check(200, "application/octet-stream", b"");
    }
    let stats = server.wait_for("one connection", |s| s.accepted == 1);
    assert_eq!(stats.active, 1);
}

#[test]
fn pipelined_requests_in_one_write_are_answered_in_order() {
    let server = default_server();
    let mut c = Client::connect(server.tcp());
    const N: usize = 96;
    let mut batch = Vec::new();
    for i in 0..N {
        match i % 5 {
            0 => batch.extend_from_slice(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"),
            1 => batch.extend_from_slice(b"GET /json HTTP/1.1\r\nHost: t\r\n\r\n"),
            2 => batch.extend_from_slice(&post("/echo", format!("body #{i}").as_bytes(), "")),
            3 => batch.extend_from_slice(b"HEAD /json HTTP/1.1\r\nHost: t\r\n\r\n"),
            _ => batch.extend_from_slice(&post_chunked(format!("chunked #{i}").as_bytes(), &[3])),
        }
    }
    c.send(&batch); // one write holding every request
    for i in 0..N {
        let r = c.response(i % 5 == 3);
        match i % 5 {
            0 => r.check(200, "text/plain", HELLO),
            1 => r.check(200, "application/json", JSON),
            2 => r.check(
                200,
                "application/octet-stream",
                format!("body #{i}").as_bytes(),
            ),
            3 => {
                assert_eq!(r.status, 200);
                assert_eq!(r.content_length(), JSON.len());
            }
            _ => r.check(
                200,
                "application/octet-stream",
                format!("chunked #{i}").as_bytes(),
            ),
        }
    }
    // The connection is still usable and nothing extra was sent.
    c.get("/").check(200, "text/plain", HELLO);
    assert!(c.buf.is_empty());
}

#[test]
fn thousands_of_pipelined_requests_pass_the_output_budget() {
    // More output than the session produces in one go (256 KiB): it pauses and
    // resumes as the client reads.
    let server = default_server();
    let c = Client::connect(server.tcp());
    const N: usize = 8000;
    let mut writer = c.stream.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        let mut batch = Vec::new();
        for i in 0..N {
            if i % 2 == 0 {
                batch.extend_from_slice(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            } else {
                batch.extend_from_slice(b"GET /json HTTP/1.1\r\nHost: x\r\n\r\n");
            }
        }
        writer.write_all(&batch).unwrap();
    });
    let mut c = c;
    for i in 0..N {
        let r = c.response(false);
        if i % 2 == 0 {
            r.check(200, "text/plain", HELLO);
        } else {
            r.check(200, "application/json", JSON);
        }
    }
    sender.join().unwrap();
    c.get("/").check(200, "text/plain", HELLO);
}

/// Sends `request` from another thread while reading the response here, so neither
/// side's buffers can fill up and stall the other.
fn exchange_large(addr: SocketAddr, request: Vec<u8>) -> Response {
    let mut c = Client::connect(addr);
    let mut writer = c.stream.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        let mut rng = Rng::new(request.len() as u64);
        let mut at = 0;
        while at < request.len() {
            let n = rng.range(1, 256 * 1024).min(request.len() - at);
            writer.write_all(&request[at..at + n]).unwrap();
            at += n;
        }
    });
    let r = c.response(false);
    sender.join().unwrap();
    // Still alive after a large body.
    c.get("/json").check(200, "application/json", JSON);
    r
}

#[test]
fn content_length_and_chunked_bodies_are_echoed() {
    let server = default_server();
    let mut c = Client::connect(server.tcp());
    // Small bodies, split across writes at awkward places.
    let req = post("/echo", b"split body", "Content-Type: a/b\r\n");
    for piece in req.chunks(7) {
        c.send(piece);
    }
    c.response(false).check(200, "a/b", b"split body");
    let req = post_chunked(b"chunked, in pieces", &[1, 2, 5]);
    for piece in req.chunks(3) {
        c.send(piece);
    }
    c.response(false)
        .check(200, "application/octet-stream", b"chunked, in pieces");

    // Bodies over 1 MiB (the reactor's default input cap).
    let big = Rng::new(42).bytes(1536 * 1024 + 17);
    let r = exchange_large(server.tcp(), post("/echo", &big, ""));
    r.check(200, "application/octet-stream", &big);
    let r = exchange_large(
        server.tcp(),
        post_chunked(&big, &[1, 100_000, 4096, 70_000]),
    );
    r.check(200, "application/octet-stream", &big);
}

#[test]
fn head_has_content_length_and_no_body() {
    let server = default_server();
    let mut c = Client::connect(server.tcp());
    for (path, len, ct) in [
        ("/", HELLO.len(), "text/plain"),
        ("/plaintext", HELLO.len(), "text/plain"),
        ("/json", JSON.len(), "application/json"),
    ] {
        c.send(format!("HEAD {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
        let r = c.response(true);
        assert_eq!(r.status, 200);
        assert_eq!(r.content_length(), len);
        assert_eq!(r.header("Content-Type"), Some(ct));
        // If the HEAD response had carried a body, this GET would misparse.
        c.get("/json").check(200, "application/json", JSON);
    }
}

#[test]
fn http10_closes_after_the_response_unless_keep_alive() {
    let server = default_server();
    let mut c = Client::connect(server.tcp());
    c.send(b"GET /json HTTP/1.0\r\n\r\n");
    let r = c.response(false);
    r.check(200, "application/json", JSON);
    assert_eq!(r.header("Connection"), Some("close"));
    c.expect_eof();

    let mut c = Client::connect(server.tcp());
    for _ in 0..3 {
        c.send(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        let r = c.response(false);
        r.check(200, "text/plain", HELLO);
        assert_eq!(r.header("Connection"), Some("keep-alive"));
    }
    c.send(b"GET / HTTP/1.0\r\n\r\n");
    c.response(false).check(200, "text/plain", HELLO);
    c.expect_eof();
}

#[test]
fn connection_close_is_honoured_after_the_response() {
    let server = default_server();
    let mut c = Client::connect(server.tcp());
    c.get("/").check(200, "text/plain", HELLO);
    // Requests pipelined after the closing one are not answered.
    c.send(
        b"GET /json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    let r = c.response(false);
    r.check(200, "application/json", JSON);
    assert_eq!(r.header("Connection"), Some("close"));
    c.expect_eof();

    let mut c = Client::connect(server.tcp());
    c.send(&post("/echo", b"last words", "Connection: close\r\n"));
    c.response(false)
        .check(200, "application/octet-stream", b"last words");
    c.expect_eof();
}

fn file_server(root: &Path) -> Server {
    http_server(
        Config::default(),
        HttpConfig {
            root: Some(root.to_path_buf()),
            ..HttpConfig::default()
        },
    )
}

#[test]
fn static_files_are_served_and_confined_to_the_root() {
    let tmp = TempDir::new("static");
    // tmp/secret.txt is outside the root tmp/www: every traversal aims at it.
    tmp.write("secret.txt", b"do not serve me");
    tmp.write("www/hello.txt", b"hello from a file\n");
    tmp.write("www/docs/index.html", b"<h1>docs</h1>");
    tmp.write("www/a b.json", b"{}");
    let big_len = 5 * 1024 * 1024 + 3;
    tmp.write("www/big.bin", &Rng::new(5).bytes(big_len));
    let root = tmp.0.join("www");
    std::os::unix::fs::symlink(tmp.0.join("secret.txt"), root.join("escape.txt")).unwrap();
    std::os::unix::fs::symlink(&tmp.0, root.join("up")).unwrap();
    std::os::unix::fs::symlink(root.join("hello.txt"), root.join("inside.txt")).unwrap();
    let server = file_server(&root);
    let addr = server.tcp();

    let mut c = Client::connect(addr);
    let hello_ct = "text/plain; charset=utf-8";
    c.get("/hello.txt")
        .check(200, hello_ct, b"hello from a file\n");
    c.get("/hello.txt?v=2")
        .check(200, hello_ct, b"hello from a file\n");
    c.get("/%68ello.txt")
        .check(200, hello_ct, b"hello from a file\n");
    c.get("/inside.txt")
        .check(200, hello_ct, b"hello from a file\n");
    c.get("/docs/")
        .check(200, "text/html; charset=utf-8", b"<h1>docs</h1>");
    c.get("/docs")
        .check(200, "text/html; charset=utf-8", b"<h1>docs</h1>");
    c.get("/a%20b.json").check(200, "application/json", b"{}");
    c.send(b"HEAD /big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = c.response(true);
    assert_eq!(r.status, 200);
    assert_eq!(r.content_length(), big_len);
    // The built-in routes win over files.
    c.get("/").check(200, "text/plain", HELLO);

    // Traversal in every spelling, and symlinks leaving the root: never served.
    for path in [
        "/../secret.txt",
        "/../Cargo.toml",
        "/docs/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/.%2e/secret.txt",
        "/%2e%2e%2fsecret.txt",
        "/docs%2f..%2f..%2fsecret.txt",
        "/..%5csecret.txt",
        "/escape.txt",
        "/up/secret.txt",
        "//etc/passwd",
        "/missing.txt",
    ] {
        let mut c = Client::connect(addr);
        let r = c.get(path);
        assert_eq!(r.status, 404, "{path}: {r:?}");
        assert!(!r.body.windows(6).any(|w| w == b"do not"), "{path}");
        // A well-framed request: the connection stays open for the next one.
        assert_eq!(r.header("Connection"), None, "{path}");
        c.get("/").check(200, "text/plain", HELLO);
    }
    for path in ["/%00secret.txt", "/bad%zz"] {
        let mut c = Client::connect(addr);
        let r = c.get(path);
        assert_eq!(r.status, 400, "{path}: {r:?}");
        c.expect_eof();
    }
    // Files are GET/HEAD only.
    let mut c = Client::connect(addr);
    c.send(&post("/hello.txt", b"x", ""));
    let r = c.response(false);
    assert_eq!(r.status, 405);
    assert_eq!(r.header("Allow"), Some("GET, HEAD"));
    c.get("/").check(200, "text/plain", HELLO);
}

#[test]
fn refusals_of_well_framed_requests_keep_the_connection_open() {
    let server = http_server(Config::default(), HttpConfig::default());
    let addr = server.tcp();
    let cases: &[(&str, &[u8], u16, Option<&str>)] = &[
        (
            "unknown path",
            b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n",
            404,
            None,
        ),
        (
            "unknown path, HEAD",
            b"HEAD /nope HTTP/1.1\r\nHost: x\r\n\r\n",
            404,
            None,
        ),
        (
            "POST /",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
            405,
            Some("GET, HEAD"),
        ),
        (
            "DELETE /json",
            b"DELETE /json HTTP/1.1\r\nHost: x\r\n\r\n",
            405,
            Some("GET, HEAD"),
        ),
        (
            "GET /echo",
            b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n",
            405,
            Some("POST"),
        ),
    ];
    let mut c = Client::connect(addr);
    for &(what, request, status, allow) in cases {
        c.send(request);
        let r = c.response(request.starts_with(b"HEAD "));
        assert_eq!(r.status, status, "{what}: {r:?}");
        assert_eq!(r.header("Connection"), None, "{what}");
        assert_eq!(r.header("Allow"), allow, "{what}");
    }
    c.get("/").check(200, "text/plain", HELLO);

    // 64 pipelined requests with a 404 in the middle: every one answered, in order.
    let mut c = Client::connect(addr);
    let mut pipeline = Vec::new();
    for i in 0..64 {
        let path = if i == 32 { "/missing" } else { "/json" };
        pipeline.extend_from_slice(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
    }
    c.send(&pipeline);
    for i in 0..64 {
        let r = c.response(false);
        if i == 32 {
            assert_eq!(r.status, 404, "{r:?}");
        } else {
            r.check(200, "application/json", JSON);
        }
    }

    // A 405 whose body (Content-Length, then chunked) is read and dropped, then a good
    // request on the same connection.
    let mut c = Client::connect(addr);
    c.send(&post("/json", &[b'x'; 100_000], ""));
    let r = c.response(false);
    assert_eq!((r.status, r.header("Allow")), (405, Some("GET, HEAD")));
    let mut req = b"PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    req.extend_from_slice(&chunked(&[b'y'; 5000], &[1000, 3000]));
    c.send(&req);
    assert_eq!(c.response(false).status, 405);
    c.get("/").check(200, "text/plain", HELLO);
}

/// Sends `request` on a fresh connection; expects `status` with `Connection: close`,
/// then EOF.
fn expect_rejection(addr: SocketAddr, what: &str, request: &[u8], status: u16) -> Response {
    let mut c = Client::connect(addr);
    c.send(request);
    let r = c.response(request.starts_with(b"HEAD "));
    assert_eq!(r.status, status, "{what}: {r:?}");
    assert_eq!(r.header("Connection"), Some("close"), "{what}");
    assert_eq!(r.header("Content-Type"), Some("text/plain"), "{what}");
    if !request.starts_with(b"HEAD ") {
        assert_eq!(r.body.len(), r.content_length(), "{what}");
    }
    c.expect_eof();
    r
}

#[test]
fn each_untrusted_request_has_its_status_then_closes() {
    let server = http_server(
        Config::default(),
        HttpConfig {
            max_body: 1000,
            max_header_bytes: 4096,
            ..HttpConfig::default()
        },
    );
    let addr = server.tcp();
    let huge_head = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(8000)
    );
    // Over the parser's field table (512) while within the byte limit.
    let many_headers = format!(
        "GET / HTTP/1.1\r\nHost: x\r\n{}\r\n",
        "X: y\r\n".repeat(600)
    );
    let cases: &[(&str, &[u8], u16)] = &[
        ("malformed header", b"GET / HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n", 400),
        ("malformed request line", b"GET  /\r\n\r\n", 400),
        ("binary garbage", b"\x01\x02\x03 / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        (
            "Content-Length with Transfer-Encoding",
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            400,
        ),
        (
            "differing Content-Length",
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
            400,
        ),
        (
            "non-numeric Content-Length",
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3x\r\n\r\nabc",
            400,
        ),
        (
            "bad chunk size",
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
            400,
        ),
        (
            "chunk without CRLF after data",
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n",
            400,
        ),
        (
            "Transfer-Encoding gzip",
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
            501,
        ),
        (
            "Transfer-Encoding on HTTP/1.0",
            b"POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            400,
        ),
        ("huge head", huge_head.as_bytes(), 431),
        ("too many headers", many_headers.as_bytes(), 431),
        (
            "Content-Length over max_body",
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n",
            413,
        ),
        (
            "chunked body over max_body",
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3e9\r\n",
            413,
        ),
        ("HTTP/2.0", b"GET / HTTP/2.0\r\n\r\n", 505),
        ("HTTP/1.2", b"GET / HTTP/1.2\r\n\r\n", 505),
        ("HTTP/1.1 without Host", b"GET / HTTP/1.1\r\n\r\n", 400),
        ("two Host fields", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    ];
    for &(what, request, status) in cases {
        let r = expect_rejection(addr, what, request, status);
        assert_eq!(r.header("Allow"), None, "{what}");
    }
    // A chunked body that grows past max_body once its data arrives.
    let mut req = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    req.extend_from_slice(&chunked(&[b'x'; 1500], &[400]));
    expect_rejection(addr, "chunked total over max_body", &req, 413);
    // A rejection after good pipelined requests: those are answered first.
    let mut c = Client::connect(addr);
    c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /json HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/7.0\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
    c.response(false).check(200, "text/plain", HELLO);
    c.response(false).check(200, "application/json", JSON);
    assert_eq!(c.response(false).status, 505);
    c.expect_eof();
    // The server is unharmed.
    Client::connect(addr)
        .get("/")
        .check(200, "text/plain", HELLO);
}

#[test]
fn expect_continue_gets_100_before_the_body() {
    let server = default_server();
    let mut c = Client::connect(server.tcp());
    c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    // Read just the interim response before sending the body.
    while !c.buf.windows(4).any(|w| w == b"\r\n\r\n") {
        assert!(c.fill(), "EOF before 100 Continue");
    }
    assert!(
        c.buf.starts_with(b"HTTP/1.1 100 Continue\r\n\r\n"),
        "{:?}",
        text(&c.buf)
    );
    c.send(b"hello");
    c.response(false)
        .check(200, "application/octet-stream", b"hello");
}

/// Reads from `stream` until EOF or reset; when that happened.
fn closed_at(mut stream: TcpStream) -> Instant {
    let mut chunk = [0u8; 1024];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return Instant::now(),
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return Instant::now(),
            Err(e) => panic!("waiting for the server to close: {e}"),
        }
    }
}

#[test]
fn slow_header_dribble_is_closed_while_others_are_served() {
    let server = http_server(
        Config {
            request_timeout: Some(Duration::from_millis(300)),
            ..Config::default()
        },
        HttpConfig::default(),
    );
    let addr = server.tcp();
    let slow = Client::connect(addr);
    let reader = slow.stream.try_clone().unwrap();
    let mut writer = slow.stream;
    let closed = Arc::new(AtomicBool::new(false));
    let watcher = {
        let closed = Arc::clone(&closed);
        std::thread::spawn(move || {
            let at = closed_at(reader);
            closed.store(true, Ordering::SeqCst);
            at
        })
    };
    let started = Instant::now();
    writer
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .unwrap();
    let dribbler = std::thread::spawn(move || {
        // One byte every 100 ms: always active, never complete. Bounded at 5 s.
        while !closed.load(Ordering::SeqCst) && started.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(100)); // the dribble pacing
            if writer.write_all(b"a").is_err() {
                break;
            }
        }
    });
    // Meanwhile another client is served, several times over.
    let mut c = Client::connect(addr);
    for _ in 0..20 {
        c.get("/").check(200, "text/plain", HELLO);
    }
    let closed_at = watcher.join().unwrap();
    dribbler.join().unwrap();
    let took = closed_at - started;
    assert!(
        took >= Duration::from_millis(250),
        "closed after {took:?}, before the 300 ms header timeout"
    );
    assert!(
        took < Duration::from_secs(2),
        "dribbling client not closed in time: {took:?}"
    );
    // The well-behaved connection was not affected.
    c.get("/json").check(200, "application/json", JSON);
}

#[test]
fn idle_keep_alive_connection_is_closed() {
    let server = http_server(
        Config {
            idle_timeout: Some(Duration::from_millis(200)),
            ..Config::default()
        },
        HttpConfig::default(),
    );
    let mut c = Client::connect(server.tcp());
    c.get("/").check(200, "text/plain", HELLO);
    let idle_since = Instant::now();
    c.expect_eof();
    let took = idle_since.elapsed();
    assert!(
        took >= Duration::from_millis(150) && took < Duration::from_secs(2),
        "idle connection closed after {took:?}"
    );
    // A connection that never sends anything is closed too.
    let mut c = Client::connect(server.tcp());
    let start = Instant::now();
    c.expect_eof();
    assert!(start.elapsed() < Duration::from_secs(2));
    server.wait_for("both closed", |s| s.active == 0);
}

#[test]
fn large_file_is_streamed_byte_for_byte() {
    let tmp = TempDir::new("large");
    let big = Rng::new(5).bytes(5 * 1024 * 1024 + 3);
    tmp.write("big.bin", &big);
    tmp.write("small.txt", b"small");
    let server = file_server(&tmp.0);
    let mut c = Client::connect(server.tcp());
    // 5 MiB streamed, byte for byte, then the connection goes on.
    let r = c.get("/big.bin");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Type"), Some("application/octet-stream"));
    assert_eq!(r.content_length(), big.len());
    assert!(r.body == big, "5 MiB file differs");
    c.get("/small.txt")
        .check(200, "text/plain; charset=utf-8", b"small");
    // Two of them pipelined, with a small request between.
    c.send(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\nGET /json HTTP/1.1\r\nHost: x\r\n\r\nGET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(c.response(false).body == big);
    c.response(false).check(200, "application/json", JSON);
    assert!(c.response(false).body == big);
    // Just over one piece, with Connection: close.
    tmp.write("piece.bin", &big[..64 * 1024 + 1]);
    let mut c = Client::connect(server.tcp());
    c.send(b"GET /piece.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let r = c.response(false);
    assert!(r.body == big[..64 * 1024 + 1]);
    c.expect_eof();
}

#[test]
fn files_go_out_with_sendfile_and_carry_validators() {
    let tmp = TempDir::new("sendfile");
    let big = Rng::new(9).bytes(3 * 1024 * 1024 + 17);
    tmp.write("big.bin", &big);
    let server = file_server(&tmp.0);
    let mut c = Client::connect(server.tcp());
    let r = c.get("/big.bin");
    assert!(r.body == big);
    assert_eq!(r.header("Accept-Ranges"), Some("bytes"));
    let etag = r.header("ETag").expect("an ETag").to_string();
    let last_modified = r
        .header("Last-Modified")
        .expect("Last-Modified")
        .to_string();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    let stats = server.wait_for("the file counted", |s| s.file_bytes >= big.len() as u64);
    // The kernel moved the file: far fewer calls than 64 KiB pieces would need.
    assert!(stats.writes < 40, "{} writes for 3 MiB", stats.writes);

    // Revalidation: 304 with the validators and no body, on the same connection.
    c.send(format!("GET /big.bin HTTP/1.1\r\nHost: x\r\nIf-None-Match: {etag}\r\n\r\n").as_bytes());
    let r = c.response(true);
    assert_eq!(r.status, 304);
    assert_eq!(r.header("ETag"), Some(etag.as_str()));
    assert_eq!(r.header("Content-Length"), None);
    c.send(
        format!("GET /big.bin HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: {last_modified}\r\n\r\n")
            .as_bytes(),
    );
    assert_eq!(c.response(true).status, 304);

    // Ranges: a middle slice (sent with sendfile from an offset), a suffix, and an
    // unsatisfiable one; then If-Range with a stale tag gets the whole file.
    c.send(b"GET /big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=1000000-2999999\r\n\r\n");
    let r = c.response(false);
    assert_eq!(r.status, 206);
    assert_eq!(
        r.header("Content-Range"),
        Some(format!("bytes 1000000-2999999/{}", big.len()).as_str())
    );
    assert!(r.body == big[1_000_000..3_000_000]);
    c.send(b"GET /big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=-10\r\n\r\n");
    let r = c.response(false);
    assert_eq!(r.status, 206);
    assert_eq!(r.body, &big[big.len() - 10..]);
    c.send(b"GET /big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=99999999-\r\n\r\n");
    let r = c.response(false);
    assert_eq!(r.status, 416);
    assert_eq!(
        r.header("Content-Range"),
        Some(format!("bytes */{}", big.len()).as_str())
    );
    c.send(b"GET /big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9\r\nIf-Range: \"stale\"\r\n\r\n");
    let r = c.response(false);
    assert_eq!(r.status, 200);
    assert!(r.body == big);
    // HEAD mirrors GET.
    c.send(b"HEAD /big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = c.response(true);
    assert_eq!((r.status, r.content_length()), (200, big.len()));
    assert_eq!(r.header("ETag"), Some(etag.as_str()));
}

#[test]
fn a_file_truncated_while_it_is_sent_ends_the_connection() {
    let tmp = TempDir::new("truncate");
    let path = tmp.write("big.bin", &Rng::new(3).bytes(32 * 1024 * 1024));
    let server = file_server(&tmp.0);
    let mut stream = common::connect(server.tcp());
    stream
        .write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    // Read a little, so the response has started, then cut the file short.
    let mut buf = vec![0u8; 64 * 1024];
    let mut got = stream.read(&mut buf).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(1024 * 1024)
        .unwrap();
    let start = Instant::now();
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => panic!("read failed after {got} bytes: {e}"),
        }
    }
    assert!(got < 32 * 1024 * 1024, "the promised length cannot be sent");
    assert!(start.elapsed() < Duration::from_secs(5));
    server.wait_for("closed", |s| s.active == 0);
}

#[test]
fn open_files_are_bounded_and_shared() {
    let tmp = TempDir::new("bound");
    let a = Rng::new(1).bytes(8 * 1024 * 1024);
    tmp.write("a.bin", &a);
    tmp.write("b.txt", b"bee");
    let server = http_server(
        Config::default(),
        HttpConfig {
            root: Some(tmp.0.clone()),
            max_open_files: 1,
            ..HttpConfig::default()
        },
    );
    // A client that does not read holds a.bin open while its response is sent.
    let mut slow = common::connect(server.tcp());
    slow.write_all(b"GET /a.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    server.wait_for("a.bin being sent", |s| s.file_bytes > 0);
    let mut c = Client::connect(server.tcp());
    c.get("/b.txt")
        .check(503, "text/plain", b"Service Unavailable\n");
    // The same file shares the descriptor: no new one is needed.
    c.send(b"HEAD /a.bin HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(c.response(true).status, 200);
    // Once the slow client has everything, the descriptor is free for b.txt.
    let mut slow = Client::new(slow);
    assert!(slow.response(false).body == a);
    c.get("/b.txt")
        .check(200, "text/plain; charset=utf-8", b"bee");
}

#[test]
fn a_client_that_half_closes_after_its_last_request_is_released() {
    // The request and the client's FIN arrive together: the server answers, sends
    // its own FIN and finds both directions finished inside one drive. The slot
    // and the socket must be released then, not at shutdown.
    let server = default_server();
    let mut s = common::connect(server.tcp());
    s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut reply = Vec::new();
    s.read_to_end(&mut reply).unwrap();
    assert!(
        reply.starts_with(b"HTTP/1.1 200 OK\r\n"),
        "{}",
        text(&reply)
    );
    assert!(reply.ends_with(HELLO), "{}", text(&reply));
    let stats = server.wait_for("connection released", |s| s.active == 0);
    assert_eq!(stats.closed, 1);
}
