//! `examples/kv` as a program, driven by the real Redis clients: `redis-cli` and
//! `redis-benchmark`; signals and command-line errors.
//!
//! The example binary is found next to this test binary: tests run from
//! `target/<profile>/deps`, examples live in `target/<profile>/examples`, and a plain
//! `cargo test` builds the examples before running any test. (`cargo test --test
//! kv_interop` alone does not: build them first with `cargo build --examples`.)
//!
//! The tests that need `redis-cli` and `redis-benchmark` (package `redis-tools`)
//! print `skipped: redis-cli not installed` and pass when they are missing, unless
//! `EVLOOP_REQUIRE_TOOLS=1` is set, as `.ci/run` sets it: then they fail.

mod common;

use std::io::{Read, Write};
use std::process::Command;
use std::time::Duration;

use common::connect;
use common::interop::{
    assert_bad_command_line, assert_help_prints_usage, have, run_bounded, run_bounded_for,
    taken_port, Example,
};

const REDIS_CLI: (&str, &str) = ("redis-cli", "redis-tools");
const REDIS_BENCHMARK: (&str, &str) = ("redis-benchmark", "redis-tools");

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

/// A running `examples/kv`, killed when dropped.
struct Kv(Example);

impl Kv {
    /// Starts `examples/kv --listen 127.0.0.1:0` and waits (bounded) for its
    /// `listening on redis://IP:PORT` line.
    fn start() -> Kv {
        let kv = Example::start("kv", &["--listen", "127.0.0.1:0"], "redis");
        assert_eq!(
            kv.line,
            format!("listening on {}", kv.url),
            "unexpected first line from kv"
        );
        Kv(kv)
    }

    fn port(&self) -> String {
        self.0.addr.port().to_string()
    }

    /// `redis-cli -p PORT args...`: its stdout, after checking it succeeded.
    fn cli(&self, args: &[&str]) -> String {
        let out = run_bounded(
            Command::new("redis-cli")
                .args(["-h", "127.0.0.1", "-p", &self.port()])
                .args(args),
            "redis-cli",
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
        let out = run_bounded_for(
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
    if !have(&[REDIS_CLI, REDIS_BENCHMARK]) {
        return;
    }
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

/// `redis-cli args...` in the background, its stdout lines coming through a
/// channel (so every wait on it is bounded).
fn cli_in_background(
    kv: &Kv,
    args: &[&str],
) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    let mut child = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &kv.port()])
        .args(args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn redis-cli");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// Poll until `done` holds, bounded.
fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what} never happened"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn redis_cli_subscribe_publish_and_blpop() {
    if !have(&[REDIS_CLI]) {
        return;
    }
    let kv = Kv::start();
    let (mut subscriber, lines) = cli_in_background(&kv, &["SUBSCRIBE", "news"]);
    until("the subscription", || {
        kv.cli(&["PUBSUB", "NUMSUB", "news"]).trim() == "news\n1"
    });
    assert_eq!(kv.cli(&["PUBLISH", "news", "hello there"]).trim(), "1");
    let got: Vec<String> = (0..6)
        .map(|_| {
            lines
                .recv_timeout(Duration::from_secs(20))
                .expect("subscriber output")
        })
        .collect();
    assert_eq!(
        got,
        ["subscribe", "news", "1", "message", "news", "hello there"],
        "redis-cli's view of the subscription"
    );
    let _ = subscriber.kill();
    let _ = subscriber.wait();

    let (mut waiter, lines) = cli_in_background(&kv, &["BLPOP", "jobs", "20"]);
    let info_blocked = || {
        kv.cli(&["INFO", "clients"])
            .lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix("blocked_clients:")
                    .map(str::to_string)
            })
            .unwrap_or_default()
    };
    until("BLPOP blocking", || info_blocked() == "1");
    assert_eq!(kv.cli(&["RPUSH", "jobs", "job-1"]).trim(), "1");
    let status =
        common::interop::wait_bounded(&mut waiter, "redis-cli BLPOP", Duration::from_secs(20));
    assert!(status.success());
    let got: Vec<String> = (0..2)
        .map(|_| {
            lines
                .recv_timeout(Duration::from_secs(20))
                .expect("BLPOP output")
        })
        .collect();
    assert_eq!(got, ["jobs", "job-1"]);
    assert_eq!(kv.cli(&["LLEN", "jobs"]).trim(), "0");
}

#[test]
fn redis_benchmark_selected_tests_complete_without_errors() {
    if !have(&[REDIS_CLI, REDIS_BENCHMARK]) {
        return;
    }
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
    if !have(&[REDIS_CLI, REDIS_BENCHMARK]) {
        return;
    }
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
    let mut conn = connect(kv.0.addr);
    conn.write_all(b"PING\r\n").unwrap();
    let mut buf = [0u8; 64];
    let n = conn.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"+PONG\r\n");
    kv.0.sigterm();
    // The idle client is closed (EOF, not a reset), and the server exits 0.
    assert_eq!(conn.read(&mut buf).expect("EOF after SIGTERM"), 0);
    kv.0.assert_exits_zero_after_sigterm();
}

#[test]
fn help_prints_usage_and_exits_zero() {
    assert_help_prints_usage("kv");
}

#[test]
fn bad_command_lines_fail_with_one_line_on_stderr() {
    // A port that is taken: hold a listener on it for the duration.
    let (taken, taken_addr) = taken_port();
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
        assert_bad_command_line("kv", &args);
    }
    drop(taken);
}
