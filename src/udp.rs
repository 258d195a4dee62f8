//! A UDP socket bound to a [`DatagramService`].
//!
//! Datagrams are received until `WouldBlock` (or the per-wake-up budget) into the
//! reactor's shared scratch buffer, which is 64 KiB and so holds the largest
//! datagram IPv4 can carry (65,507 bytes). Replies are sent at once; a reply that
//! meets a full send buffer waits in a queue bounded in bytes, and WRITABLE interest
//! is registered only while that queue is non-empty. When the queue is full the
//! reply is dropped and counted: UDP promises no delivery, and an unbounded queue
//! would let a flood grow the server's memory without limit.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;

use mio::net::UdpSocket;

use crate::service::{DatagramService, Datagrams};
use crate::stats::Stats;

/// What one queued reply costs besides its payload: the entry itself and the
/// allocator's overhead for the payload's buffer.
const QUEUE_ENTRY_OVERHEAD: usize = std::mem::size_of::<(Vec<u8>, SocketAddr)>() + 16;

/// A bound UDP socket, its service and its reply queue.
pub(crate) struct UdpEndpoint {
    pub(crate) socket: UdpSocket,
    service: Box<dyn DatagramService>,
    queue: VecDeque<(Vec<u8>, SocketAddr)>,
    queued_bytes: usize,
    queue_limit: usize,
    /// Readiness reported and not yet drained.
    readable: bool,
    /// The last send would block: wait for a WRITABLE edge before sending again.
    write_blocked: bool,
    replies: Datagrams,
}

impl UdpEndpoint {
    pub(crate) fn new(
        socket: UdpSocket,
        service: Box<dyn DatagramService>,
        queue_limit: usize,
    ) -> Self {
        UdpEndpoint {
            socket,
            service,
            queue: VecDeque::new(),
            queued_bytes: 0,
            queue_limit,
            readable: false,
            write_blocked: false,
            replies: Datagrams::default(),
        }
    }

    /// Record what a readiness event reported.
    pub(crate) fn on_event(&mut self, event: &mio::event::Event) {
        if event.is_readable() || event.is_error() {
            self.readable = true;
        }
        if event.is_writable() || event.is_error() {
            self.write_blocked = false;
        }
    }

    /// Replies waiting in the queue.
    pub(crate) fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Receive and answer up to `budget` datagrams; send queued replies.
    /// Returns `true` if the budget ran out before the socket was drained.
    /// (The socket is registered for both READABLE and WRITABLE once, so no
    /// interest changes are needed when the queue fills or empties.)
    pub(crate) fn drive(&mut self, scratch: &mut [u8], budget: usize, stats: &mut Stats) -> bool {
        self.flush_queue(stats);
        let mut received = 0;
        while self.readable {
            if received == budget {
                return true;
            }
            received += 1;
            let (n, from) = match self.socket.recv_from(scratch) {
                Ok(r) => r,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.readable = false;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // ICMP errors for earlier sends (port unreachable and the like) land
                // here on some systems; they concern one peer, not the socket.
                Err(e) => {
                    log::debug!("udp recv_from: {e}");
                    continue;
                }
            };
            stats.udp_in += 1;
            self.replies.clear();
            self.service
                .on_datagram(&scratch[..n], from, &mut self.replies);
            self.send_replies(stats);
        }
        false
    }

    /// Let a client service send its first datagrams.
    pub(crate) fn start(&mut self, stats: &mut Stats) {
        self.replies.clear();
        self.service.on_start(&mut self.replies);
        self.send_replies(stats);
    }

    /// The service's tick interval, if it wants ticks.
    pub(crate) fn tick_interval(&self) -> Option<std::time::Duration> {
        self.service.tick_interval()
    }

    /// Run the service's periodic work and send what it queued.
    pub(crate) fn tick(&mut self, now: std::time::Instant, stats: &mut Stats) {
        self.replies.clear();
        self.service.on_tick(now, &mut self.replies);
        self.send_replies(stats);
    }

    /// Send what the service queued in `self.replies`, queueing what meets a full
    /// send buffer (bounded; the rest is dropped and counted).
    fn send_replies(&mut self, stats: &mut Stats) {
        for (payload, to) in self.replies.iter() {
            if self.queue.is_empty() && !self.write_blocked {
                match self.socket.send_to(payload, to) {
                    Ok(_) => {
                        stats.udp_out += 1;
                        continue;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        self.write_blocked = true;
                    }
                    Err(e) => {
                        log::debug!("udp send_to {to}: {e}");
                        stats.udp_dropped += 1;
                        continue;
                    }
                }
            }
            // Charge each entry its bookkeeping too, so that even empty replies
            // cannot grow the queue without bound.
            let cost = payload.len() + QUEUE_ENTRY_OVERHEAD;
            if self.queued_bytes + cost > self.queue_limit {
                stats.udp_dropped += 1;
            } else {
                self.queued_bytes += cost;
                self.queue.push_back((payload.to_vec(), to));
            }
        }
    }

    fn flush_queue(&mut self, stats: &mut Stats) {
        while let Some((payload, to)) = self.queue.front() {
            if self.write_blocked {
                return;
            }
            match self.socket.send_to(payload, *to) {
                Ok(_) => stats.udp_out += 1,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.write_blocked = true;
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    log::debug!("udp send_to {to}: {e}");
                    stats.udp_dropped += 1;
                }
            }
            self.queued_bytes -= payload.len() + QUEUE_ENTRY_OVERHEAD;
            self.queue.pop_front();
        }
    }
}
