//! The example servers as programs, driven by real clients: `curl` and `wrk` against
//! `examples/http`, signals, and command-line errors of `examples/http` and
//! `examples/echo`.
//!
//! The example binaries are found next to this test binary: tests run from
//! `target/<profile>/deps`, examples live in `target/<profile>/examples`, and a plain
//! `cargo test` builds the examples before running any test. (`cargo test --test
//! http_interop` alone does not: build them first with `cargo build --examples`.)
//!
//! The tests that need `curl` or `wrk` print `skipped: curl not installed` and pass
//! when the program is missing, unless `EVLOOP_REQUIRE_TOOLS=1` is set, as `.ci/run`
//! sets it (after installing them): then a missing program fails the test.

mod common;

use std::io::{Read, Write};
use std::process::{Command, Output};

use common::interop::{
    assert_bad_command_line, assert_help_prints_usage, have, run_bounded, taken_port, Example,
};
use common::{connect, Rng, TempDir};

const CURL: (&str, &str) = ("curl", "curl");
const WRK: (&str, &str) = ("wrk", "wrk");

fn curl(args: &[&str]) -> Output {
    let out = run_bounded(
        Command::new("curl")
            .args(["--silent", "--show-error", "--max-time", "10"])
            .args(args),
        "curl",
    );
    assert!(
        out.status.success(),
        "curl {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn curl_text(args: &[&str]) -> String {
    String::from_utf8(curl(args).stdout).expect("UTF-8 from curl")
}

#[test]
fn curl_get_head_and_post() {
    if !have(&[CURL]) {
        return;
    }
    let tmp = TempDir::new("curl");
    std::fs::write(tmp.0.join("page.html"), b"<p>static</p>").unwrap();
    let root = tmp.0.to_str().unwrap();
    let server = Example::start("http", &["--listen", "127.0.0.1:0", "--root", root], "http");
    let url = &server.url;

    assert_eq!(curl_text(&[&format!("{url}/")]), "Hello, World!");
    // Two URLs in one curl run share one keep-alive connection.
    assert_eq!(
        curl_text(&[&format!("{url}/plaintext"), &format!("{url}/json")]),
        r#"Hello, World!{"message":"Hello, World!"}"#
    );
    let full = curl_text(&["--include", &format!("{url}/json")]);
    assert!(full.starts_with("HTTP/1.1 200 OK\r\n"), "{full}");
    for header in [
        "Server: evloop\r\n",
        "Content-Type: application/json\r\n",
        "Content-Length: 27\r\n",
        "Date: ",
    ] {
        assert!(full.contains(header), "no {header:?} in {full}");
    }
    assert!(full.ends_with("\r\n\r\n{\"message\":\"Hello, World!\"}"));

    // HEAD: the headers, no body (curl -I would complain about a body).
    let head = curl_text(&["--head", &format!("{url}/")]);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.contains("Content-Length: 13\r\n"), "{head}");
    assert!(head.ends_with("\r\n\r\n"), "{head:?}");

    // A static file.
    assert_eq!(curl_text(&[&format!("{url}/page.html")]), "<p>static</p>");
    let missing = curl_text(&["--write-out", "%{http_code}", &format!("{url}/nope")]);
    assert!(missing.ends_with("404"), "{missing}");

    // POST bodies: small, then 2 MiB of binary (curl sends `Expect: 100-continue`
    // for it), with Content-Length and then chunked.
    let echoed = curl_text(&[
        "--data-binary",
        "some bytes & more",
        "-H",
        "Content-Type: text/x-test",
        "--write-out",
        "|%{content_type}",
        &format!("{url}/echo"),
    ]);
    assert_eq!(echoed, "some bytes & more|text/x-test");
    let body = Rng::new(9).bytes(2 * 1024 * 1024 + 5);
    let body_file = tmp.0.join("body.bin");
    std::fs::write(&body_file, &body).unwrap();
    let at_file = format!("@{}", body_file.display());
    let back = curl(&["--data-binary", &at_file, &format!("{url}/echo")]).stdout;
    assert!(
        back == body,
        "Content-Length body: {} bytes back",
        back.len()
    );
    let back = curl(&[
        "-H",
        "Transfer-Encoding: chunked",
        "--data-binary",
        &at_file,
        &format!("{url}/echo"),
    ])
    .stdout;
    assert!(back == body, "chunked body: {} bytes back", back.len());
    let chunked_small = curl_text(&[
        "-H",
        "Transfer-Encoding: chunked",
        "--data-binary",
        "chunk me",
        &format!("{url}/echo"),
    ]);
    assert_eq!(chunked_small, "chunk me");
}

#[test]
fn wrk_runs_without_errors() {
    if !have(&[WRK, CURL]) {
        return;
    }
    let server = Example::start("http", &["--listen", "127.0.0.1:0"], "http");
    let out = run_bounded(
        Command::new("wrk").args([
            "-t1",
            "-c16",
            "-d2s",
            "--timeout",
            "5s",
            &format!("{}/", server.url),
        ]),
        "wrk",
    );
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "wrk failed ({}): {report}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!report.contains("Non-2xx"), "{report}");
    assert!(!report.contains("Socket errors"), "{report}");
    // "12345 requests in 2.00s, 1.23MB read"
    let requests: u64 = report
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no request count in wrk output: {report}"));
    assert!(requests > 0, "{report}");
    // The server is still fine afterwards.
    assert_eq!(curl_text(&[&format!("{}/json", server.url)]).len(), 27);
}

#[test]
fn sigterm_exits_zero_after_closing_connections() {
    let mut server = Example::start("http", &["--listen", "127.0.0.1:0"], "http");
    // An idle keep-alive connection, after one request.
    let mut conn = connect(server.addr);
    conn.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.ends_with(b"Hello, World!") {
        let n = conn.read(&mut buf).expect("response");
        assert!(n > 0, "EOF before the response");
        got.extend_from_slice(&buf[..n]);
    }
    server.sigterm();
    // The server closes the idle connection (EOF, not a reset)...
    assert_eq!(conn.read(&mut buf).expect("EOF after SIGTERM"), 0);
    drop(conn);
    // ...and exits 0.
    server.assert_exits_zero_after_sigterm();
}

#[test]
fn help_prints_usage_and_exits_zero() {
    for name in ["http", "echo"] {
        assert_help_prints_usage(name);
    }
}

#[test]
fn bad_command_lines_fail_with_one_line_on_stderr() {
    // A port that is taken: hold a listener on it for the duration.
    let (taken, taken_addr) = taken_port();
    let missing_root =
        std::env::temp_dir().join(format!("evloop-interop-no-such-dir-{}", std::process::id()));
    let missing_root = missing_root.to_str().unwrap();
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("http", vec!["--bogus"]),
        ("http", vec!["--listen", "nonsense"]),
        ("http", vec!["--listen"]),
        ("http", vec!["--listen", &taken_addr]),
        ("http", vec!["--max-body", "-5"]),
        ("http", vec!["--header-timeout", "soon"]),
        ("http", vec!["--root", missing_root]),
        ("http", vec!["stray"]),
        ("echo", vec!["--bogus"]),
        ("echo", vec!["--listen", "nonsense"]),
        ("echo", vec!["--listen", &taken_addr]),
        ("echo", vec!["--idle-timeout", "-1"]),
    ];
    for (name, args) in cases {
        assert_bad_command_line(name, &args);
    }
    drop(taken);
}

#[test]
fn threads_serve_one_port_and_all_stop_on_sigterm() {
    let mut server = Example::start(
        "http",
        &["--listen", "127.0.0.1:0", "--threads", "2"],
        "http",
    );
    // The main thread plus one reactor per --threads.
    let tasks = std::fs::read_dir(format!("/proc/{}/task", server.pid()))
        .unwrap()
        .count();
    assert_eq!(tasks, 3, "expected the main thread and 2 reactor threads");
    // Connections from many source ports: SO_REUSEPORT spreads them over both
    // reactors, and every one is served.
    for i in 0..20 {
        let mut conn = connect(server.addr);
        conn.write_all(b"GET /json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut got = Vec::new();
        conn.read_to_end(&mut got).expect("response then EOF");
        assert!(
            got.ends_with(b"{\"message\":\"Hello, World!\"}"),
            "connection {i}: {:?}",
            String::from_utf8_lossy(&got)
        );
    }
    server.sigterm();
    server.assert_exits_zero_after_sigterm();
}
