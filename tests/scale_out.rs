//! Scale-out behind the proxies people already run, with the shipped recipes
//! (`deploy/haproxy/haproxy.cfg`, `deploy/twemproxy/nutcracker.yml`, used as they
//! are; only the proxies' own listening ports are moved to free ones): three
//! instances on 127.0.0.2, 127.0.0.3 and 127.0.0.4 (all loopback).
//!
//! - `wrk` through HAProxy: no errors, every instance serves;
//! - one instance drained with SIGTERM mid-run: no failed request (the health
//!   check sees 503 first, then the instance closes gracefully);
//! - one instance killed with SIGKILL mid-run: errors bounded by the requests in
//!   flight, and HAProxy marks it down;
//! - `redis-benchmark -t set,get` through nutcracker: no errors, keys on all
//!   three instances; `redis-cli` round trips.
//!
//! These take about 20 seconds and bind fixed ports on 127.0.0.2-4 (the
//! recipes' addresses), so they are `#[ignore]`d; `.ci/run` runs them.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::interop::{free_port, have, run_bounded, run_bounded_for, Example};
use common::IO_TIMEOUT;

const HAPROXY: (&str, &str) = ("haproxy", "haproxy");
const WRK: (&str, &str) = ("wrk", "wrk");
const NUTCRACKER: (&str, &str) = ("nutcracker", "nutcracker");
const REDIS_CLI: (&str, &str) = ("redis-cli", "redis-tools");
const REDIS_BENCHMARK: (&str, &str) = ("redis-benchmark", "redis-tools");

fn recipe(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(path)
}

/// A proxy process, killed when dropped.
struct Proxy(Child);

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn get(addr: &str, path: &str) -> String {
    request(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    )
}

/// Send `request`, read the response until the server closes; empty if the
/// server is not there (yet).
fn request(addr: &str, request: &str) -> String {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return String::new();
    };
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    if s.write_all(request.as_bytes()).is_err() {
        return String::new();
    }
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    reply
}

/// A chunked body's content (HAProxy's stats page is sent chunked).
fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// HAProxy's per-server CSV stats: (backend, server) -> (status, 2xx responses).
fn haproxy_servers(stats: &str) -> Vec<(String, String, String, u64)> {
    // HTTP/1.0: the CSV comes unchunked.
    let csv = request(stats, "GET /stats;csv HTTP/1.0\r\n\r\n");
    let body = dechunk(csv.split_once("\r\n\r\n").map_or("", |(_, body)| body));
    let mut lines = body.lines();
    let Some(header) = lines.next() else {
        return Vec::new();
    };
    let names: Vec<&str> = header.trim_start_matches("# ").split(',').collect();
    let col = |name: &str| names.iter().position(|n| *n == name).unwrap();
    let (px, sv, status, ok) = (col("pxname"), col("svname"), col("status"), col("hrsp_2xx"));
    lines
        .map(|line| line.split(',').collect::<Vec<_>>())
        .filter(|f| f.len() > ok && f[sv] != "FRONTEND" && f[sv] != "BACKEND")
        .map(|f| {
            let hits = f[ok].parse().unwrap_or(0);
            (
                f[px].to_owned(),
                f[sv].to_owned(),
                f[status].to_owned(),
                hits,
            )
        })
        .collect()
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + IO_TIMEOUT;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What a `wrk --latency` run reports: requests, errors (non-2xx plus socket
/// errors), requests/s, p99.
struct WrkRun {
    requests: u64,
    errors: u64,
    output: String,
}

fn wrk(url: &str, secs: u32, connections: u32) -> WrkRun {
    let out = run_bounded_for(
        Command::new("wrk").args([
            "-t1",
            &format!("-c{connections}"),
            &format!("-d{secs}s"),
            "--latency",
            url,
        ]),
        "wrk",
        Duration::from_secs(u64::from(secs) + 20),
    );
    let output = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "wrk: {output}");
    let number_after = |prefix: &str| -> u64 {
        output
            .lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .map_or(0, |rest| {
                rest.trim()
                    .split([' ', ','])
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap()
            })
    };
    let requests = output
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no request count in {output}"));
    let mut errors = number_after("Non-2xx or 3xx responses:");
    if let Some(line) = output
        .lines()
        .find(|l| l.trim().starts_with("Socket errors:"))
    {
        errors += line
            .split(',')
            .filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok())
            .sum::<u64>();
    }
    WrkRun {
        requests,
        errors,
        output,
    }
}

fn http_instance(ip: &str) -> Example {
    Example::start(
        "http",
        &[
            "--listen",
            &format!("{ip}:8080"),
            "--proxy-protocol",
            "127.0.0.0/8",
            "--drain-delay",
            "2",
        ],
        "http",
    )
}

#[test]
#[ignore = "about 15 s; fixed ports on 127.0.0.2-4: run by .ci/run"]
fn haproxy_spreads_load_survives_a_drain_and_marks_a_killed_instance_down() {
    if !have(&[HAPROXY, WRK]) {
        return;
    }
    let mut instances: Vec<Option<Example>> = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
        .iter()
        .map(|ip| Some(http_instance(ip)))
        .collect();
    let (http, tcp, stats) = (
        format!("127.0.0.1:{}", free_port()),
        format!("127.0.0.1:{}", free_port()),
        format!("127.0.0.1:{}", free_port()),
    );
    let _haproxy = Proxy(
        Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(recipe("haproxy/haproxy.cfg"))
            .env("EVLOOP_HAPROXY_HTTP", &http)
            .env("EVLOOP_HAPROXY_TCP", &tcp)
            .env("EVLOOP_HAPROXY_STATS", &stats)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("haproxy"),
    );
    wait_until("HAProxy to see all six servers up", || {
        let servers = haproxy_servers(&stats);
        servers.len() == 6 && servers.iter().all(|s| s.2 == "UP")
    });
    // Both sections serve, each instance sees a PROXY header first.
    assert!(get(&http, "/json").ends_with(r#"{"message":"Hello, World!"}"#));
    assert!(get(&tcp, "/json").ends_with(r#"{"message":"Hello, World!"}"#));

    // 1. Load over all three.
    let run = wrk(&format!("http://{http}/json"), 2, 16);
    assert_eq!(run.errors, 0, "{}", run.output);
    let servers = haproxy_servers(&stats);
    for (px, sv, _, hits) in &servers {
        if px == "evloop_http" {
            assert!(
                *hits > run.requests / 10,
                "{sv} served {hits} of {}",
                run.requests
            );
        }
    }

    // 2. SIGTERM one mid-run: it fails its checks, serves on, closes gracefully.
    let drained = instances[1].take().unwrap();
    let terminator = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(800));
        let mut drained = drained;
        drained.sigterm();
        drained.assert_exits_zero_after_sigterm();
    });
    let run = wrk(&format!("http://{http}/json"), 5, 16);
    terminator.join().unwrap();
    assert_eq!(run.errors, 0, "drain: {}", run.output);
    eprintln!("drain: {} requests, 0 errors", run.requests);

    // 3. SIGKILL another mid-run: at most the requests in flight fail (HAProxy
    // retries most of them elsewhere), and it is marked down.
    let mut killed = instances[2].take().unwrap();
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(800));
        killed.child.kill().unwrap();
        killed.child.wait().unwrap();
    });
    let run = wrk(&format!("http://{http}/json"), 3, 16);
    killer.join().unwrap();
    assert!(
        run.errors <= 16,
        "kill: {} errors: {}",
        run.errors,
        run.output
    );
    eprintln!("kill: {} requests, {} errors", run.requests, run.errors);
    wait_until("HAProxy to mark the killed instance down", || {
        haproxy_servers(&stats).iter().any(|(px, sv, status, _)| {
            px == "evloop_http" && sv == "http3" && status.starts_with("DOWN")
        })
    });
}

#[test]
#[ignore = "about 5 s; fixed ports on 127.0.0.2-4: run by .ci/run"]
fn twemproxy_shards_keys_over_three_kv_instances() {
    if !have(&[NUTCRACKER, REDIS_CLI, REDIS_BENCHMARK]) {
        return;
    }
    let instances: Vec<Example> = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
        .iter()
        .map(|ip| Example::start("kv", &["--listen", &format!("{ip}:6380")], "redis"))
        .collect();
    // The recipe as shipped, with only the proxy's own port moved.
    let shipped = std::fs::read_to_string(recipe("twemproxy/nutcracker.yml")).unwrap();
    assert!(shipped.contains("listen: 127.0.0.1:22121\n"));
    let port = free_port();
    let config = shipped.replace(
        "listen: 127.0.0.1:22121",
        &format!("listen: 127.0.0.1:{port}"),
    );
    let tmp = common::TempDir::new("twemproxy");
    let path = tmp.0.join("nutcracker.yml");
    std::fs::write(&path, config).unwrap();
    let stats_port = free_port().to_string();
    let _nutcracker = Proxy(
        Command::new("nutcracker")
            .arg("-c")
            .arg(&path)
            .args(["-s", &stats_port, "-a", "127.0.0.1"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nutcracker"),
    );
    let port = port.to_string();
    let cli = |args: &[&str]| -> String {
        let out = run_bounded(
            Command::new("redis-cli")
                .args(["-h", "127.0.0.1", "-p", &port])
                .args(args),
            "redis-cli",
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    wait_until("nutcracker to answer", || {
        cli(&["SET", "greeting", "hello"]) == "OK\n"
    });
    assert_eq!(cli(&["GET", "greeting"]), "hello\n");
    assert_eq!(cli(&["INCR", "counter"]), "1\n");
    assert_eq!(cli(&["DEL", "greeting"]), "1\n");

    let out = run_bounded_for(
        Command::new("redis-benchmark")
            .args(["-h", "127.0.0.1", "-p", &port])
            .args("-q -t set,get -n 20000 -r 10000 -c 20".split(' ')),
        "redis-benchmark",
        Duration::from_secs(60),
    );
    let report = String::from_utf8_lossy(&out.stdout);
    let errors = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{report}{errors}");
    assert!(
        report.contains("SET: ") && report.contains("GET: "),
        "{report}"
    );
    assert!(
        !report.contains("ERR") && !errors.contains("ERR"),
        "{report}{errors}"
    );
    // Every instance holds a share of the keys.
    let mut total = 0;
    for instance in &instances {
        let out = run_bounded(
            Command::new("redis-cli").args([
                "-h",
                &instance.addr.ip().to_string(),
                "-p",
                "6380",
                "DBSIZE",
            ]),
            "redis-cli",
        );
        let keys: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        assert!(keys > 1000, "{} holds {keys} keys", instance.addr);
        total += keys;
    }
    eprintln!("{total} keys over three instances");
}
