//! Counters the reactor keeps about itself.
//!
//! They answer the questions a benchmark or an operator asks: how many syscalls per
//! request, how many bytes are buffered for slow peers, how many datagrams were
//! dropped. The reactor counts in plain integers on its own thread and publishes a
//! copy into atomics once per loop iteration, so counting costs the hot path no
//! atomic read-modify-write, and another thread (a test, an embedding program) can
//! read a consistent-enough snapshot through a [`Handle`](crate::Handle).

use std::sync::atomic::{AtomicU64, Ordering};

macro_rules! counters {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// A snapshot of the reactor's counters.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct Stats {
            $($(#[$doc])* pub $name: u64,)*
        }

        /// The atomics a [`Stats`] is published into.
        #[derive(Debug, Default)]
        pub(crate) struct SharedStats {
            $($name: AtomicU64,)*
        }

        impl SharedStats {
            pub(crate) fn publish(&self, stats: &Stats) {
                $(self.$name.store(stats.$name, Ordering::Relaxed);)*
            }

            pub(crate) fn snapshot(&self) -> Stats {
                Stats { $($name: self.$name.load(Ordering::Relaxed),)* }
            }
        }
    };
}

counters! {
    /// TCP connections accepted.
    accepted,
    /// Outbound TCP connections established.
    connected,
    /// Outbound TCP connections that failed to connect (refused, timed out...).
    connect_errors,
    /// TCP connections closed, for any reason.
    closed,
    /// TCP connections open now.
    active,
    /// Connections closed because a read or write failed (reset, broken pipe).
    io_errors,
    /// Connections closed by the idle, request or linger timeout.
    timeouts,
    /// Bytes read from TCP connections.
    bytes_in,
    /// Bytes written to TCP connections.
    bytes_out,
    /// `read` syscalls on TCP connections (including ones that found no data).
    reads,
    /// `write` syscalls on TCP connections (including ones that wrote nothing;
    /// `sendfile` calls count here too).
    writes,
    /// Bytes of files sent with [`Ctx::send_file`](crate::Ctx::send_file) (part of
    /// `bytes_out`).
    file_bytes,
    /// `epoll_wait` calls (`Poll::poll`).
    polls,
    /// `accept` calls that failed with something other than `WouldBlock`.
    accept_errors,
    /// Times the reactor stopped reading a connection because its unsent output
    /// passed the high-water mark.
    backpressure_pauses,
    /// Bytes of unsent output buffered for all connections now.
    output_buffered,
    /// The most unsent output ever buffered for a single connection.
    output_buffered_peak,
    /// UDP datagrams received.
    udp_in,
    /// UDP datagrams sent.
    udp_out,
    /// UDP replies dropped: the reply queue was full or `send_to` failed.
    udp_dropped,
    /// Pushes from one connection's session to another connection's output.
    pushes,
    /// Bytes pushed.
    push_bytes,
    /// Connections closed because pushed output passed their output limit.
    output_limit_closes,
    /// Pipes created to relay a bulk transfer between linked connections with
    /// `splice` (zero-copy), one per direction that needed one.
    relay_pipes,
    /// TLS handshakes completed.
    tls_handshakes,
    /// TLS handshakes that failed: garbage or a plain-text request on a TLS
    /// port, no shared protocol version or cipher suite, a rejected
    /// certificate, or the peer closing before the handshake finished.
    tls_handshake_errors,
    /// TLS handshakes cut off by the handshake timeout.
    tls_handshake_timeouts,
}
