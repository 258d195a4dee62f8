//! The example servers as child processes, for the interop tests: finding an
//! example binary, checking for a client program (or skipping), running a command with a bound,
//! starting an example and reading its `listening on` line, SIGTERM, and the
//! `--help` and bad-command-line checks every example must pass.
//!
//! The example binaries are found next to the test binary: tests run from
//! `target/<profile>/deps`, examples live in `target/<profile>/examples`, and a plain
//! `cargo test` builds the examples before running any test.

#![allow(dead_code)] // each test file uses a different subset

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::IO_TIMEOUT;

/// How long a client program or an exiting server gets before the test fails.
pub const EXIT_TIMEOUT: Duration = Duration::from_secs(15);

/// `target/<profile>/examples/<name>`, checked to exist.
pub fn example(name: &str) -> PathBuf {
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

/// Set (to anything but `0`) by `.ci/run`: a missing client program fails the test
/// instead of skipping it, so CI runs every interop test.
pub const REQUIRE_TOOLS_VAR: &str = "EVLOOP_REQUIRE_TOOLS";

/// Whether every program in `programs` (each `(program, Debian package)`) can be run.
///
/// When one cannot, this prints one line, `skipped: PROGRAM not installed (package
/// PACKAGE)`, and returns `false`: the calling test returns early and passes, so
/// `cargo test` works on a machine with only Rust. With `EVLOOP_REQUIRE_TOOLS` set
/// (as `.ci/run` does) it fails the test instead.
#[must_use]
pub fn have(programs: &[(&str, &str)]) -> bool {
    for &(program, package) in programs {
        let found = Command::new(program)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if let Err(e) = found {
            let required = std::env::var_os(REQUIRE_TOOLS_VAR).is_some_and(|v| v != "0");
            assert!(
                !required,
                "`{program}` cannot be run ({e}) and {REQUIRE_TOOLS_VAR} is set: install the \
                 `{package}` package (e.g. `apt-get install {package}`; .ci/run installs it)"
            );
            // Straight to stderr: the test harness captures `println!` of passing tests.
            let _ = writeln!(
                std::io::stderr(),
                "skipped: {program} not installed (package {package})"
            );
            return false;
        }
    }
    true
}

/// Waits for `child` to exit, at most `timeout`; kills it and fails if it does not.
pub fn wait_bounded(child: &mut Child, what: &str, timeout: Duration) -> ExitStatus {
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

/// Runs `cmd` to completion (at most [`EXIT_TIMEOUT`]), collecting its output.
pub fn run_bounded(cmd: &mut Command, what: &str) -> Output {
    run_bounded_for(cmd, what, EXIT_TIMEOUT)
}

/// Runs `cmd` to completion (at most `timeout`), collecting its output.
pub fn run_bounded_for(cmd: &mut Command, what: &str, timeout: Duration) -> Output {
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

/// A running example server, killed when dropped.
pub struct Example {
    pub name: String,
    pub child: Child,
    /// The whole `listening on ...` line it printed first.
    pub line: String,
    /// The URL with the requested scheme from that line.
    pub url: String,
    /// The address in that URL.
    pub addr: SocketAddr,
}

impl Example {
    /// Starts `examples/<name>` with `args` and waits (bounded) for its `listening on`
    /// line; `scheme` picks the URL to return from that line (`http`, `tcp`, `redis`).
    pub fn start(name: &str, args: &[&str], scheme: &str) -> Example {
        let mut cmd = Command::new(example(name));
        cmd.args(args);
        Example::start_command(name, cmd, Some(scheme))
    }

    /// Like [`Example::start`], for a server started by `cmd` (a wrapper such as
    /// `systemd-socket-activate` that runs the example). With `scheme` `None`
    /// (a server on Unix sockets only) `url` is empty and `addr` unspecified.
    pub fn start_command(name: &str, mut cmd: Command, scheme: Option<&str>) -> Example {
        let mut child = cmd
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
            name: name.to_string(),
            child,
            line: String::new(),
            url: String::new(),
            addr: ([0, 0, 0, 0], 0).into(),
        };
        let line = rx
            .recv_timeout(IO_TIMEOUT)
            .unwrap_or_else(|_| panic!("example {name} printed no `listening on` line"));
        let Some(scheme) = scheme else {
            assert!(line.starts_with("listening on "), "{name}: {line:?}");
            example.line = line;
            return example;
        };
        let prefix = format!("{scheme}://");
        let url = line
            .strip_prefix("listening on ")
            .and_then(|rest| rest.split(' ').find(|u| u.starts_with(&prefix)))
            .unwrap_or_else(|| panic!("unexpected first line from {name}: {line:?}"));
        example.addr = url[prefix.len()..]
            .parse()
            .unwrap_or_else(|_| panic!("no address in the URL from {name}: {line:?}"));
        example.url = url.to_string();
        example.line = line;
        example
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM (with `kill -TERM`), checking that `kill` succeeded.
    pub fn sigterm(&self) {
        let status = run_bounded(
            Command::new("kill").args(["-TERM", &self.pid().to_string()]),
            "kill",
        )
        .status;
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits (bounded) for the server to exit after [`Example::sigterm`]; fails
    /// unless it exits 0.
    pub fn assert_exits_zero_after_sigterm(&mut self) {
        let what = format!("{} after SIGTERM", self.name);
        let status = wait_bounded(&mut self.child, &what, EXIT_TIMEOUT);
        assert!(
            status.success(),
            "{} exited with {status} after SIGTERM",
            self.name
        );
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `examples/<name> --help` exits 0 and its usage on stdout mentions `--listen`.
pub fn assert_help_prints_usage(name: &str) {
    let out = run_bounded(Command::new(example(name)).arg("--help"), name);
    assert!(out.status.success(), "{name} --help: {}", out.status);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("--listen"), "{name} --help: {text}");
}

/// `examples/<name> args...` (with `RUST_LOG=info`) exits non-zero (not by a signal),
/// prints nothing on stdout and exactly one line, `<name>: error: ...`, on stderr.
pub fn assert_bad_command_line(name: &str, args: &[&str]) {
    let out = run_bounded(
        Command::new(example(name))
            .args(args)
            .env("RUST_LOG", "warn"),
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

/// A listener on a free 127.0.0.1 port, held to make that port taken, and its
/// address as a string for `--listen`.
pub fn taken_port() -> (TcpListener, String) {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    (taken, addr)
}

/// A free loopback port: bound, read, released (for a program that binds it
/// itself, such as a proxy started with its port on the command line).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
