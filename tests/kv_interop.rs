//! `examples/kv` as a program, driven by the real Redis clients: `redis-cli` and
//! `redis-benchmark`; signals and command-line errors.
//!
//! The example binary is found next to this test binary: tests run from
//! `target/<profile>/deps`, examples live in `target/<profile>/examples`, and a plain
//! `cargo test` builds the examples before running any test. (`cargo test --test
//! kv_interop` alone does not: build them first with `cargo build --examples`.)
//!
//! `redis-cli` and `redis-benchmark` must be installed (package `redis-tools`, which
//! `.ci/run` installs); if they are missing the tests fail and name the package,
//! rather than skipping silently.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::IO_TIMEOUT;

/// How long a client program or an exiting server gets before the test fails.
const EXIT_TIMEOUT: Duration = Duration::from_secs(15);

/// `redis-benchmark` runs under `timeout 120`; the test waits a little longer.
const BENCH_TIMEOUT: Duration = Duration::from_secs(130);

/// The tests a plain `redis-benchmark -q` (7.0) runs, all of which must pass.
const PLAIN_BENCHMARK_TESTS: &[&str] = &[
    "PING_INLINE",
    "PING_MBULK",
    "SET",
    "GET",
    "INCR",
    "LPUSH",
    "RPUSH",
    "LPOP",
    "RPOP",
    "SADD",
    "HSET",
    "SPOP",
    "ZADD",
    "ZPOPMIN",
    "LPUSH (needed to benchmark LRANGE)",
    "LRANGE_100 (first 100 elements)",
    "LRANGE_300 (first 300 elements)",
    "LRANGE_500 (first 500 elements)",
    "LRANGE_600 (first 600 elements)",
    "MSET (10 keys)",
];

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
fn require(program: &str) {
    match Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(_) => {}
        Err(e) => panic!(
            "`{program}` cannot be run ({e}): install the `redis-tools` package \
             (e.g. `apt-get install redis-tools`; .ci/run installs it)"
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

/// Runs `cmd` to completion (at most `timeout`), collecting its output.
fn run_bounded(cmd: &mut Command, what: &str, timeout: Duration) -> Output {
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
    let status = wait_bounded(&mut child, what, timeout);
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// A running `examples/kv`, killed when dropped.
struct Kv {
    child: Child,
    addr: SocketAddr,
}

impl Kv {
    /// Starts `examples/kv --listen 127.0.0.1:0` and waits (bounded) for its
    /// `listening on redis://IP:PORT` line.
    fn start() -> Kv {
        let mut child = Command::new(example("kv"))
            .args(["--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start examples/kv: {e}"));
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
        let mut kv = Kv {
            child,
            addr: ([0, 0, 0, 0], 0).into(),
        };
        let line = rx
            .recv_timeout(IO_TIMEOUT)
            .expect("examples/kv printed no `listening on` line");
        kv.addr = line
            .strip_prefix("listening on redis://")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line from kv: {line:?}"));
        kv
    }

    fn port(&self) -> String {
        self.addr.port().to_string()
    }

    /// `redis-cli -p PORT args...`: its stdout, after checking it succeeded.
    fn cli(&self, args: &[&str]) -> String {
        require("redis-cli");
        let out = run_bounded(
            Command::new("redis-cli")
                .args(["-h", "127.0.0.1", "-p", &self.port()])
                .args(args),
            "redis-cli",
            EXIT_TIMEOUT,
        );
        assert!(
            out.status.success(),
            "redis-cli {args:?}: {} {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `timeout 120 redis-benchmark -p PORT args...`: the result lines (progress
    /// lines, which end in `\r`, are dropped).
    fn benchmark(&self, args: &[&str]) -> Vec<String> {
        require("redis-benchmark");
        let out = run_bounded(
            Command::new("timeout")
                .args([
                    "120",
                    "redis-benchmark",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &self.port(),
                ])
                .args(args),
            "redis-benchmark",
            BENCH_TIMEOUT,
        );
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "redis-benchmark {args:?} exited with {}: {text}",
            out.status
        );
        text.split(['\r', '\n'])
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.contains("rps="))
            .map(String::from)
            .collect()
    }
}

impl Drop for Kv {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A line redis-benchmark prints when something went wrong.
fn is_error_line(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    lower.contains("error") || lower.contains("err ") || lower.contains("warn")
}

/// The line of `test` (`NAME: N requests per second, ...`), if there is one.
fn result_line<'a>(lines: &'a [String], test: &str) -> Option<&'a String> {
    let prefix = format!("{test}: ");
    lines
        .iter()
        .find(|l| l.starts_with(&prefix) && l.contains("requests per second"))
}

#[test]
fn redis_cli_set_get_info() {
    let kv = Kv::start();
    assert_eq!(kv.cli(&["SET", "greeting", "hello world"]).trim(), "OK");
    assert_eq!(kv.cli(&["GET", "greeting"]).trim(), "hello world");
    assert_eq!(kv.cli(&["GET", "missing"]).trim(), "");
    assert_eq!(kv.cli(&["DBSIZE"]).trim(), "1");
    let info = kv.cli(&["INFO"]);
    assert!(info.contains("# Server"), "INFO: {info}");
    assert!(info.contains("connected_clients"), "INFO: {info}");
    let errors = kv.cli(&["NOSUCHCMD"]);
    assert!(errors.contains("unknown command"), "{errors}");
}

#[test]
fn redis_benchmark_selected_tests_complete_without_errors() {
    let kv = Kv::start();
    let tests = "ping,set,get,incr,lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange,mset";
    let lines = kv.benchmark(&["-q", "-n", "20000", "-t", tests]);
    let errors: Vec<&String> = lines.iter().filter(|l| is_error_line(l)).collect();
    assert!(errors.is_empty(), "redis-benchmark errors: {errors:#?}");
    for test in PLAIN_BENCHMARK_TESTS {
        assert!(
            result_line(&lines, test).is_some(),
            "no `requests per second` line for {test}: {lines:#?}"
        );
    }
}

#[test]
fn redis_benchmark_plain_runs_every_default_test() {
    let kv = Kv::start();
    let lines = kv.benchmark(&["-q", "-n", "2000"]);
    // Tests a newer redis-benchmark may add (XADD, say) can fail here; only the
    // 7.0 defaults are required. The README lists what is not supported.
    for line in lines.iter().filter(|l| is_error_line(l)) {
        eprintln!("redis-benchmark: {line}");
    }
    for test in PLAIN_BENCHMARK_TESTS {
        let line = result_line(&lines, test)
            .unwrap_or_else(|| panic!("no `requests per second` line for {test}: {lines:#?}"));
        assert!(!is_error_line(line), "{line}");
    }
    // The server survived it.
    assert_eq!(kv.cli(&["PING"]).trim(), "PONG");
}

#[test]
fn sigterm_exits_zero() {
    let mut kv = Kv::start();
    let mut conn = TcpStream::connect_timeout(&kv.addr, IO_TIMEOUT).unwrap();
    conn.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    conn.write_all(b"PING\r\n").unwrap();
    let mut buf = [0u8; 64];
    let n = conn.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"+PONG\r\n");
    let kill = run_bounded(
        Command::new("kill").args(["-TERM", &kv.child.id().to_string()]),
        "kill",
        EXIT_TIMEOUT,
    );
    assert!(kill.status.success(), "kill -TERM failed");
    // The idle client is closed (EOF, not a reset), and the server exits 0.
    assert_eq!(conn.read(&mut buf).expect("EOF after SIGTERM"), 0);
    let status = wait_bounded(&mut kv.child, "kv after SIGTERM", EXIT_TIMEOUT);
    assert!(status.success(), "kv exited with {status} after SIGTERM");
}

#[test]
fn help_prints_usage_and_exits_zero() {
    let out = run_bounded(
        Command::new(example("kv")).arg("--help"),
        "kv --help",
        EXIT_TIMEOUT,
    );
    assert!(out.status.success(), "kv --help: {}", out.status);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("--listen"), "kv --help: {text}");
}

#[test]
fn bad_command_lines_fail_with_one_line_on_stderr() {
    // A port that is taken: hold a listener on it for the duration.
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_addr = taken.local_addr().unwrap().to_string();
    let cases: Vec<Vec<&str>> = vec![
        vec!["--bogus"],
        vec!["--listen", "nonsense"],
        vec!["--listen"],
        vec!["--listen", &taken_addr],
        vec!["--max-bulk", "-5"],
        vec!["--idle-timeout", "soon"],
        vec!["stray"],
    ];
    for args in cases {
        let out = run_bounded(
            Command::new(example("kv"))
                .args(&args)
                .env("RUST_LOG", "info"),
            "kv",
            EXIT_TIMEOUT,
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && out.status.code().is_some(),
            "kv {args:?}: exit {}, stderr {stderr}",
            out.status
        );
        assert!(
            out.stdout.is_empty(),
            "kv {args:?}: stdout {:?}",
            String::from_utf8_lossy(&out.stdout)
        );
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "kv {args:?}: stderr {stderr:?}");
        assert!(
            lines[0].starts_with("kv: error: "),
            "kv {args:?}: {stderr:?}"
        );
    }
    drop(taken);
}
