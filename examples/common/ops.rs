//! What an operator and a load balancer read from a running server: the reactor
//! counters of every reactor thread (Prometheus text for the HTTP example's
//! `/metrics`, `field:value` lines for the key-value example's INFO), the PROXY
//! protocol counters, and whether the server is draining.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use evloop::{Handle, Reactor, Stats};

/// The handles of a server's reactors (one per `--threads` thread), in the order
/// they were built, and the draining flag every thread reads.
#[derive(Clone, Default)]
pub struct Ops {
    reactors: Arc<Mutex<Vec<Handle>>>,
    /// Set when a SIGTERM starts the drain (`--drain-delay`): health checks fail
    /// from then on, while requests are still served.
    pub draining: Arc<AtomicBool>,
    pub proxy: Option<Arc<evloop_proxy_protocol::ProxyCounters>>,
}

/// Whether a counter only grows (`counter`) or goes up and down (`gauge`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
}

/// The reactor counters: name, kind, help, value.
fn fields(s: &Stats) -> [(&'static str, Kind, &'static str, u64); 19] {
    use Kind::{Counter, Gauge};
    [
        (
            "connections_accepted",
            Counter,
            "TCP and Unix connections accepted",
            s.accepted,
        ),
        (
            "connections_closed",
            Counter,
            "connections closed, for any reason",
            s.closed,
        ),
        (
            "connections_active",
            Gauge,
            "connections open now",
            s.active,
        ),
        (
            "connection_io_errors",
            Counter,
            "connections closed by a read or write error (reset)",
            s.io_errors,
        ),
        (
            "connection_timeouts",
            Counter,
            "connections closed by the idle, request or linger timeout",
            s.timeouts,
        ),
        (
            "bytes_in",
            Counter,
            "bytes read from connections",
            s.bytes_in,
        ),
        (
            "bytes_out",
            Counter,
            "bytes written to connections",
            s.bytes_out,
        ),
        (
            "read_calls",
            Counter,
            "read syscalls on connections",
            s.reads,
        ),
        (
            "write_calls",
            Counter,
            "write syscalls on connections",
            s.writes,
        ),
        ("poll_calls", Counter, "epoll_wait calls", s.polls),
        (
            "accept_errors",
            Counter,
            "accept calls that failed (EMFILE, ENFILE, ...)",
            s.accept_errors,
        ),
        (
            "backpressure_pauses",
            Counter,
            "times reading stopped at the output high-water mark",
            s.backpressure_pauses,
        ),
        (
            "output_buffered_bytes",
            Gauge,
            "unsent output buffered for all connections",
            s.output_buffered,
        ),
        (
            "output_buffered_peak_bytes",
            Gauge,
            "most unsent output buffered for one connection",
            s.output_buffered_peak,
        ),
        ("udp_in", Counter, "UDP datagrams received", s.udp_in),
        ("udp_out", Counter, "UDP datagrams sent", s.udp_out),
        ("udp_dropped", Counter, "UDP replies dropped", s.udp_dropped),
        ("pushes", Counter, "pushes between connections", s.pushes),
        (
            "output_limit_closes",
            Counter,
            "connections closed past their output limit",
            s.output_limit_closes,
        ),
    ]
}

impl Ops {
    /// Note a reactor just built (call in its thread, before it runs).
    pub fn register(&self, reactor: &Reactor) {
        self.handles().push(reactor.handle());
    }

    /// Ask every reactor to shut down gracefully.
    pub fn shutdown_all(&self) {
        self.handles().iter().for_each(Handle::shutdown);
    }

    fn handles(&self) -> std::sync::MutexGuard<'_, Vec<Handle>> {
        self.reactors.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Start draining: health checks fail and HTTP connections close after
    /// their next response; every reactor stops accepting and finishes once its
    /// connections have closed, or shuts down gracefully `timeout` from now.
    pub fn drain_and_stop(&self, timeout: std::time::Duration) {
        self.draining.store(true, Ordering::Release);
        self.handles().iter().for_each(Handle::stop_accepting);
        let ops = self.clone();
        std::thread::spawn(move || {
            std::thread::sleep(timeout);
            ops.shutdown_all();
        });
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    fn snapshots(&self) -> Vec<Stats> {
        self.handles().iter().map(Handle::stats).collect()
    }

    /// `(name, value)` of the PROXY protocol counters, if it is on.
    fn proxy_fields(&self) -> Vec<(&'static str, u64)> {
        if let Some(counters) = &self.proxy {
            let (accepted, untrusted, malformed, timeouts) = counters.snapshot();
            return vec![
                ("proxy_headers_accepted", accepted),
                ("proxy_untrusted_closes", untrusted),
                ("proxy_malformed_closes", malformed),
                ("proxy_timeout_closes", timeouts),
            ];
        }
        Vec::new()
    }

    /// Every counter in the Prometheus text exposition format (version 0.0.4):
    /// `evloop_NAME{thread="N"}` per reactor thread.
    pub fn prometheus(&self) -> String {
        let threads = self.snapshots();
        let mut out = String::with_capacity(4096);
        let per_thread: Vec<_> = threads.iter().map(fields).collect();
        if let Some(first) = per_thread.first() {
            for (i, &(name, kind, help, _)) in first.iter().enumerate() {
                let kind = if kind == Kind::Counter {
                    "counter"
                } else {
                    "gauge"
                };
                let total = if kind == "counter" { "_total" } else { "" };
                let _ = writeln!(out, "# HELP evloop_{name}{total} {help}");
                let _ = writeln!(out, "# TYPE evloop_{name}{total} {kind}");
                for (thread, values) in per_thread.iter().enumerate() {
                    let value = values[i].3;
                    let _ = writeln!(out, "evloop_{name}{total}{{thread=\"{thread}\"}} {value}");
                }
            }
        }
        for (name, value) in self.proxy_fields() {
            let _ = writeln!(out, "# TYPE evloop_{name}_total counter");
            let _ = writeln!(out, "evloop_{name}_total {value}");
        }
        let _ = writeln!(
            out,
            "# HELP evloop_draining 1 once SIGTERM started the drain"
        );
        let _ = writeln!(out, "# TYPE evloop_draining gauge");
        let _ = writeln!(out, "evloop_draining {}", u8::from(self.is_draining()));
        out
    }

    /// The same counters as INFO `field:value` lines (summed over threads).
    pub fn info_lines(&self, out: &mut String) {
        let threads = self.snapshots();
        let per_thread: Vec<_> = threads.iter().map(fields).collect();
        if let Some(first) = per_thread.first() {
            for (i, &(name, ..)) in first.iter().enumerate() {
                let sum: u64 = per_thread.iter().map(|values| values[i].3).sum();
                let _ = write!(out, "{name}:{sum}\r\n");
            }
        }
        for (name, value) in self.proxy_fields() {
            let _ = write!(out, "{name}:{value}\r\n");
        }
        let _ = write!(out, "draining:{}\r\n", u8::from(self.is_draining()));
    }
}
