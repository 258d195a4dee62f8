//! Helpers shared by the integration tests: an in-process server on port 0 with a
//! handle to stop it and read its counters, a TCP client connection with bounded
//! I/O, a self-removing temp directory, and a deterministic PRNG. The example
//! programs as child processes are in [`interop`]; a server in a child copy of the
//! test binary (own descriptor limit, own CPU and memory figures) in [`child`]; an
//! HTTP client that parses `Content-Length` responses in [`http_client`]; a RESP
//! client in [`resp_client`].

#![allow(dead_code)] // each test file uses a different subset

pub mod child;
pub mod http_client;
pub mod interop;
pub mod resp_client;
#[cfg(feature = "tls")]
pub mod tls;

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use evloop::{Config, Handle, Reactor, Stats};

/// Every blocking socket operation in the tests gives up after this long, so a
/// bug shows up as a failed test, never as a hung one.
pub const IO_TIMEOUT: Duration = Duration::from_secs(20);

/// A TCP connection to `addr` whose connect, reads and writes give up after
/// [`IO_TIMEOUT`], with Nagle off.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT).expect("connect");
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

/// A unique directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let unique = format!(
            "evloop-{name}-{}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        );
        let path = std::env::temp_dir().join(unique);
        std::fs::create_dir(&path).unwrap();
        TempDir(path)
    }

    /// Writes `content` to `rel` under the directory, creating parent directories.
    pub fn write(&self, rel: &str, content: &[u8]) -> PathBuf {
        let path = self.0.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A reactor running on its own thread.
pub struct Server {
    pub handle: Handle,
    pub tcp: Option<SocketAddr>,
    pub udp: Option<SocketAddr>,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl Server {
    /// Build a reactor with `config` on a new thread (sessions are not `Send`, so the
    /// reactor lives and dies there), let `setup` add sources (it returns the TCP and
    /// UDP addresses it bound), and run it.
    pub fn start(
        config: Config,
        setup: impl FnOnce(&mut Reactor) -> (Option<SocketAddr>, Option<SocketAddr>) + Send + 'static,
    ) -> Server {
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let mut reactor = Reactor::new(config)?;
            let (tcp, udp) = setup(&mut reactor);
            tx.send((reactor.handle(), tcp, udp))
                .expect("test thread alive");
            reactor.run()
        });
        let (handle, tcp, udp) = rx.recv_timeout(IO_TIMEOUT).expect("server started");
        Server {
            handle,
            tcp,
            udp,
            thread: Some(thread),
        }
    }

    pub fn tcp(&self) -> SocketAddr {
        self.tcp.expect("server has a TCP listener")
    }

    pub fn udp(&self) -> SocketAddr {
        self.udp.expect("server has a UDP socket")
    }

    pub fn stats(&self) -> Stats {
        self.handle.stats()
    }

    /// Ask the reactor to stop and wait (bounded) for `run` to return.
    pub fn stop(mut self) -> Stats {
        self.handle.shutdown();
        self.join()
    }

    /// Wait (bounded) for `run` to return; its counters at the end.
    pub fn join(&mut self) -> Stats {
        let thread = self.thread.take().expect("joined once");
        let deadline = Instant::now() + IO_TIMEOUT;
        while !thread.is_finished() {
            assert!(Instant::now() < deadline, "reactor did not stop in time");
            std::thread::sleep(Duration::from_millis(5));
        }
        thread
            .join()
            .expect("reactor thread panicked")
            .expect("run");
        self.handle.stats()
    }

    /// Poll the published counters until `pred` holds (bounded by IO_TIMEOUT).
    pub fn wait_for(&self, what: &str, pred: impl Fn(&Stats) -> bool) -> Stats {
        let deadline = Instant::now() + IO_TIMEOUT;
        loop {
            let stats = self.stats();
            if pred(&stats) {
                return stats;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {stats:?}"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.handle.shutdown();
        }
    }
}

/// xorshift64*: deterministic, dependency-free test randomness.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}
