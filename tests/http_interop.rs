//! The example servers as programs, driven by real clients: `curl` and `wrk` against
//! `examples/http`, signals, and command-line errors of `examples/http` and
//! `examples/echo`.
//!
//! The example binaries are found next to this test binary: tests run from
//! `target/<profile>/deps`, examples live in `target/<profile>/examples`, and a plain
//! `cargo test` builds the examples before running any test. (`cargo test --test
//! http_interop` alone does not: build them first with `cargo build --examples`.)
//!
//! `curl` and `wrk` must be installed (`.ci/run` installs them); a missing one fails
//! the test with the package to install, rather than skipping silently.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{Rng, IO_TIMEOUT};

/// How long a client program or an exiting server gets before the test fails.
const EXIT_TIMEOUT: Duration = Duration::from_secs(15);

/// `target/<profile>/examples/<name>`, checked to exist.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary in target/<profile>/deps");
    let path = profile_dir.join("examples").join(name);
    assert!(
        path.is_file(),
        "example binary {} not found: run the plain `cargo test` (which builds the examples) \
         or `cargo build --examples` first",
        path.display()
    );
    path
}

/// Fails with the package to install if `program` cannot be run.
fn require(program: &str, package: &str) {
    match Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(_) => {}
        Err(e) => panic!(
            "`{program}` cannot be run ({e}): install the `{package}` package \
             (e.g. `apt-get install {package}`; .ci/run installs it)"
        ),
    }
}

/// Waits for `child` to exit, at most `timeout`; kills it and fails if it does not.
fn wait_bounded(child: &mut Child, what: &str, timeout: Duration) -> ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not exit within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs `cmd` to completion (bounded), collecting its output.
fn run_bounded(cmd: &mut Command, what: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    // Read both pipes on threads, so a chatty child cannot block on a full pipe.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let status = wait_bounded(&mut child, what, EXIT_TIMEOUT);
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// A running example server, killed when dropped.
struct Example {
    child: Child,
    url: String,
    addr: SocketAddr,
}

impl Example {
    /// Starts `examples/<name>` with `args` and waits (bounded) for its `listening on`
    /// line; `scheme` picks the URL to return from that line (`http`, `tcp`).
    fn start(name: &str, args: &[&str], scheme: &str) -> Example {
        let mut child = Command::new(example(name))
            .args(args)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start example {name}: {e}"));
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut example = Example {
            child,
            url: String::new(),
            addr: ([0, 0, 0, 0], 0).into(),
        };
        let line = rx
            .recv_timeout(IO_TIMEOUT)
            .unwrap_or_else(|_| panic!("example {name} printed no `listening on` line"));
        let prefix = format!("{scheme}://");
        let url = line
            .strip_prefix("listening on ")
            .and_then(|rest| rest.split(' ').find(|u| u.starts_with(&prefix)))
            .unwrap_or_else(|| panic!("unexpected first line from {name}: {line:?}"));
        example.addr = url[prefix.len()..].parse().expect("address in the URL");
        example.url = url.to_string();
        example
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn curl(args: &[&str]) -> Output {
    require("curl", "curl");
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

/// A unique directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let unique = format!(
            "evloop-interop-{name}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        );
        let path = std::env::temp_dir().join(unique);
        std::fs::create_dir(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn curl_get_head_and_post() {
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
    require("wrk", "wrk");
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
    let mut conn = TcpStream::connect_timeout(&server.addr, IO_TIMEOUT).unwrap();
    conn.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    conn.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.ends_with(b"Hello, World!") {
        let n = conn.read(&mut buf).expect("response");
        assert!(n > 0, "EOF before the response");
        got.extend_from_slice(&buf[..n]);
    }
    let status = run_bounded(
        Command::new("kill").args(["-TERM", &server.pid().to_string()]),
        "kill",
    )
    .status;
    assert!(status.success(), "kill -TERM failed");
    // The server closes the idle connection (EOF, not a reset)...
    assert_eq!(conn.read(&mut buf).expect("EOF after SIGTERM"), 0);
    drop(conn);
    // ...and exits 0.
    let status = wait_bounded(&mut server.child, "http after SIGTERM", EXIT_TIMEOUT);
    assert!(status.success(), "http exited with {status} after SIGTERM");
}

#[test]
fn help_prints_usage_and_exits_zero() {
    for name in ["http", "echo"] {
        let out = run_bounded(Command::new(example(name)).arg("--help"), name);
        assert!(out.status.success(), "{name} --help: {}", out.status);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("--listen"), "{name} --help: {text}");
    }
}

#[test]
fn bad_command_lines_fail_with_one_line_on_stderr() {
    // A port that is taken: hold a listener on it for the duration.
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_addr = taken.local_addr().unwrap().to_string();
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
        let out = run_bounded(
            Command::new(example(name))
                .args(&args)
                .env("RUST_LOG", "info"),
            name,
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && out.status.code().is_some(),
            "{name} {args:?}: exit {}, stderr {stderr}",
            out.status
        );
        assert!(
            out.stdout.is_empty(),
            "{name} {args:?}: stdout {:?}",
            String::from_utf8_lossy(&out.stdout)
        );
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{name} {args:?}: stderr {stderr:?}");
        assert!(
            lines[0].starts_with(&format!("{name}: error: ")),
            "{name} {args:?}: {stderr:?}"
        );
    }
    drop(taken);
}
