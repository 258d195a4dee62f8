//! The HTTP and key-value examples with TLS, against the tools people use:
//! curl, `openssl s_client`, wrk, redis-cli and redis-benchmark (each skipped
//! with a line on stderr when not installed, mandatory in CI). Certificates are
//! made per test with rcgen. Also: SIGHUP reloads the certificate without
//! dropping connections, and bad TLS flags are clear errors.

mod common;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::http_client::Client;
use common::interop::{assert_bad_command_line, have, run_bounded, Example};
use common::tls::{connect_tls, handshake, pki, Pki};
use common::TempDir;

const CURL: (&str, &str) = ("curl", "curl");
const WRK: (&str, &str) = ("wrk", "wrk");
const OPENSSL: (&str, &str) = ("openssl", "openssl");
const REDIS_CLI: (&str, &str) = ("redis-cli", "redis-tools");
const REDIS_BENCHMARK: (&str, &str) = ("redis-benchmark", "redis-tools");
const H2LOAD: (&str, &str) = ("h2load", "nghttp2-client");

fn path(p: &std::path::Path) -> &str {
    p.to_str().unwrap()
}

/// The HTTP example serving HTTPS on a second port beside plain HTTP.
fn https_example(pki: &Pki, extra: &[&str]) -> Example {
    let mut args = vec![
        "--listen",
        "127.0.0.1:0",
        "--tls-listen",
        "127.0.0.1:0",
        "--tls-cert",
        path(&pki.cert),
        "--tls-key",
        path(&pki.key),
    ];
    args.extend_from_slice(extra);
    Example::start("http", &args, "https")
}

fn curl(pki: &Pki, args: &[&str]) -> Output {
    let out = run_bounded(
        Command::new("curl")
            .args(["--silent", "--show-error", "--max-time", "20", "--cacert"])
            .arg(&pki.ca)
            .args(args),
        "curl",
    );
    assert!(
        out.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn curl_openssl_and_wrk_speak_https_to_the_http_example() {
    if !have(&[CURL, OPENSSL, WRK]) {
        return;
    }
    let pki = pki("tls-interop-http");
    let root = TempDir::new("tls-interop-root");
    let mut rng = common::Rng::new(3);
    let file = rng.bytes(2 * 1024 * 1024 + 1);
    root.write("big.bin", &file);
    let server = https_example(&pki, &["--root", path(&root.0)]);
    let url = server.url.replace("127.0.0.1", "localhost");

    let out = curl(
        &pki,
        &["--write-out", " %{http_version}", &format!("{url}/json")],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        r#"{"message":"Hello, World!"} 1.1"#
    );
    let out = curl(&pki, &["--data-binary", "ping", &format!("{url}/echo")]);
    assert_eq!(out.stdout, b"ping");
    let out = curl(&pki, &[&format!("{url}/big.bin")]);
    assert!(out.stdout == file, "the file arrived altered over HTTPS");
    // The plain port beside it still speaks HTTP.
    let plain = server
        .line
        .split(' ')
        .find(|u| u.starts_with("http://"))
        .expect("a plain URL");
    let out = run_bounded(Command::new("curl").args(["-s", plain]), "curl");
    assert_eq!(out.stdout, b"Hello, World!");

    let addr = server.addr.to_string();
    let out = run_bounded(
        Command::new("openssl")
            .args([
                "s_client", "-connect", &addr, "-alpn", "http/1.1", "-CAfile",
            ])
            .arg(&pki.ca)
            .arg("-verify_return_error"),
        "openssl s_client",
    );
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("TLSv1.3"), "{text}");
    assert!(text.contains("ALPN protocol: http/1.1"), "{text}");

    let out = run_bounded(
        Command::new("wrk").args(["-t1", "-c8", "-d1s", &format!("{}/", server.url)]),
        "wrk",
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        !text.contains("Non-2xx") && !text.contains("Socket errors"),
        "{text}"
    );
    let requests: u64 = text
        .lines()
        .find_map(|l| l.trim().split_once(" requests in "))
        .and_then(|(n, _)| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no request count from wrk: {text}"));
    assert!(requests > 100, "{text}");
}

#[test]
fn h2load_h1_runs_over_https_without_errors() {
    if !have(&[H2LOAD]) {
        return;
    }
    let pki = pki("tls-h2load");
    let server = https_example(&pki, &[]);
    let out = run_bounded(
        Command::new("h2load").args(["--h1", "-n", "2000", "-c", "8", &format!("{}/", server.url)]),
        "h2load",
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed, 0 errored"),
        "{text}"
    );
    assert!(text.contains("TLS Protocol: TLSv1.3"), "{text}");
}

#[test]
fn sighup_reloads_the_certificate_and_keeps_connections() {
    let first = pki("tls-hup-1");
    let second = pki("tls-hup-2");
    let dir = TempDir::new("tls-hup-files");
    let cert = dir.write("cert.pem", &std::fs::read(&first.cert).unwrap());
    let key = dir.write("key.pem", &std::fs::read(&first.key).unwrap());
    let mut server = Example::start(
        "http",
        &[
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            path(&cert),
            "--tls-key",
            path(&key),
        ],
        "https",
    );
    let mut kept = Client::new(connect_tls(server.addr, first.client_config()));
    assert_eq!(kept.get("/").status, 200);

    std::fs::write(&cert, std::fs::read(&second.cert).unwrap()).unwrap();
    std::fs::write(&key, std::fs::read(&second.key).unwrap()).unwrap();
    let hup = run_bounded(
        Command::new("kill").args(["-HUP", &server.pid().to_string()]),
        "kill",
    );
    assert!(hup.status.success(), "kill -HUP failed");
    // The reload happens on another thread: poll (bounded) for a handshake
    // with the second CA.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut c = connect_tls(server.addr, second.client_config());
        if handshake(&mut c).is_ok() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "SIGHUP did not reload the certificate"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        kept.get("/json").status,
        200,
        "the connection from before the reload"
    );
    server.sigterm();
    server.assert_exits_zero_after_sigterm();
}

/// The kv example with a TLS port beside the plain one, client certificates
/// checked against the PKI's CA (`extra`: more flags).
fn kv_tls(pki: &Pki, extra: &[&str]) -> Example {
    let mut args = vec![
        "--listen",
        "127.0.0.1:0",
        "--tls-port",
        "0",
        "--tls-cert-file",
        path(&pki.cert),
        "--tls-key-file",
        path(&pki.key),
        "--tls-ca-cert-file",
        path(&pki.ca),
    ];
    args.extend_from_slice(extra);
    Example::start("kv", &args, "rediss")
}

#[test]
fn redis_cli_and_redis_benchmark_speak_tls_to_the_kv_example() {
    if !have(&[REDIS_CLI, REDIS_BENCHMARK]) {
        return;
    }
    let pki = pki("tls-interop-kv");
    let server = kv_tls(&pki, &["--tls-auth-clients", "optional"]);
    let port = server.addr.port().to_string();
    let cli = |args: &[&str]| {
        let out = run_bounded(
            Command::new("redis-cli")
                .args([
                    "--tls",
                    "--cacert",
                    path(&pki.ca),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &port,
                ])
                .args(args),
            "redis-cli",
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(cli(&["set", "k", "v"]), "OK");
    assert_eq!(
        cli(&[
            "--cert",
            path(&pki.client_cert),
            "--key",
            path(&pki.client_key),
            "get",
            "k"
        ]),
        "v"
    );
    let out = run_bounded(
        Command::new("redis-benchmark")
            .args([
                "--tls",
                "--cacert",
                path(&pki.ca),
                "-h",
                "127.0.0.1",
                "-p",
                &port,
            ])
            .args(["-t", "set,get", "-n", "20000", "-P", "16", "-q"]),
        "redis-benchmark",
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    for test in ["SET", "GET"] {
        assert!(text.contains(&format!("{test}: ")), "{text}");
    }

    // Required client certificates: refused without one.
    let strict = kv_tls(&pki, &[]);
    let port = strict.addr.port().to_string();
    let out = run_bounded(
        Command::new("redis-cli").args(["--tls", "--cacert", path(&pki.ca), "-p", &port, "ping"]),
        "redis-cli",
    );
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("PONG"),
        "served without a client certificate"
    );
    let out = run_bounded(
        Command::new("redis-cli")
            .args(["--tls", "--cacert", path(&pki.ca), "-p", &port])
            .args([
                "--cert",
                path(&pki.client_cert),
                "--key",
                path(&pki.client_key),
                "ping",
            ]),
        "redis-cli",
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "PONG");
}

#[test]
fn bad_tls_flags_are_clear_errors() {
    let pki = pki("tls-flags");
    let (cert, key, ca) = (path(&pki.cert), path(&pki.key), path(&pki.ca));
    assert_bad_command_line("http", &["--tls-cert", cert]);
    assert_bad_command_line("http", &["--tls-key", key]);
    assert_bad_command_line("http", &["--tls-listen", "127.0.0.1:0"]);
    // The key of another certificate, and files that are not PEM.
    assert_bad_command_line(
        "http",
        &["--tls-cert", cert, "--tls-key", path(&pki.client_key)],
    );
    assert_bad_command_line("http", &["--tls-cert", key, "--tls-key", key]);
    assert_bad_command_line("http", &["--tls-cert", cert, "--tls-key", cert]);
    assert_bad_command_line("kv", &["--tls-cert-file", cert, "--tls-key-file", key]);
    assert_bad_command_line(
        "kv",
        &[
            "--tls-port",
            "0",
            "--tls-cert-file",
            cert,
            "--tls-key-file",
            key,
            "--tls-auth-clients",
            "yes",
        ],
    );
    assert_bad_command_line(
        "kv",
        &[
            "--tls-port",
            "0",
            "--tls-cert-file",
            cert,
            "--tls-key-file",
            key,
            "--tls-ca-cert-file",
            ca,
            "--tls-auth-clients",
            "maybe",
        ],
    );
}

/// Runs loadgen with `args` (bounded); its JSON report.
fn loadgen_json(args: &[&str]) -> String {
    let out = run_bounded(
        Command::new(common::interop::example("loadgen"))
            .args(args)
            .arg("--json"),
        "loadgen",
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "loadgen {args:?}: {text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

#[test]
fn loadgen_measures_tls_keep_alive_and_one_handshake_per_request() {
    let pki = pki("tls-loadgen");
    let http = https_example(&pki, &[]);
    let kv = kv_tls(&pki, &["--tls-auth-clients", "no"]);
    let (http_addr, kv_addr) = (http.addr.to_string(), kv.addr.to_string());
    let ca = path(&pki.ca);
    let cases: [&[&str]; 4] = [
        &[
            "http",
            "--target",
            &http_addr,
            "--tls",
            "--ca",
            ca,
            "--server-name",
            "localhost",
        ],
        &[
            "http",
            "--target",
            &http_addr,
            "--tls",
            "--insecure",
            "--new-connection-per-request",
        ],
        &[
            "resp",
            "--target",
            &kv_addr,
            "--tls",
            "--ca",
            ca,
            "--pipeline",
            "8",
        ],
        &[
            "resp",
            "--target",
            &kv_addr,
            "--tls",
            "--insecure",
            "--new-connection-per-request",
        ],
    ];
    for args in cases {
        let mut args = args.to_vec();
        args.extend_from_slice(&["--connections", "4", "--requests", "400"]);
        let report = loadgen_json(&args);
        assert!(
            report.contains(r#""requests":400,"errors":0,"connect_errors":0"#),
            "{args:?}: {report}"
        );
    }
    // A certificate the CA did not sign: every connection fails, and says so.
    let other = common::tls::pki("tls-loadgen-other");
    let out = run_bounded(
        Command::new(common::interop::example("loadgen")).args([
            "http",
            "--target",
            &http_addr,
            "--tls",
            "--ca",
            path(&other.ca),
            "--requests",
            "10",
            "--connections",
            "2",
        ]),
        "loadgen",
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("connection closed") || text.contains("errors"),
        "{text}"
    );
    assert_bad_command_line("loadgen", &["http", "--tls"]);
    assert_bad_command_line("loadgen", &["http", "--ca", ca]);
    assert_bad_command_line("loadgen", &["udp-echo", "--tls", "--insecure"]);
    assert_bad_command_line(
        "loadgen",
        &["http", "--new-connection-per-request", "--pipeline", "2"],
    );
}
