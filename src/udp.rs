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
use mio::{Interest, Registry, Token};

use crate::service::{DatagramService, Datagrams};
use crate::stats::Stats;

/// A bound UDP socket, its service and its reply queue.
pub(crate) struct UdpEndpoint {
    pub(crate) socket: UdpSocket,
    service: Box<dyn DatagramService>,
    queue: VecDeque<(Vec<u8>, SocketAddr)>,
    queued_bytes: usize,
    queue_limit: usize,
    write_interest: bool,
    /// Readiness reported and not yet drained.
    pub(crate) readable: bool,
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
            write_interest: false,
            readable: false,
            replies: Datagrams::default(),
        }
    }

    /// Receive and answer up to `budget` datagrams; send queued replies.
    /// Returns `true` if the budget ran out before the socket was drained.
    pub(crate) fn drive(
        &mut self,
        scratch: &mut [u8],
        budget: usize,
        stats: &mut Stats,
        registry: &Registry,
        token: Token,
    ) -> io::Result<bool> {
        self.flush_queue(stats);
        let mut more = false;
        let mut received = 0;
        while self.readable {
            if received == budget {
                more = true;
                break;
            }
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
            received += 1;
            stats.udp_in += 1;
            self.replies.clear();
            self.service
                .on_datagram(&scratch[..n], from, &mut self.replies);
            for (payload, to) in self.replies.iter() {
                if self.queue.is_empty() {
                    match self.socket.send_to(payload, to) {
                        Ok(_) => {
                            stats.udp_out += 1;
                            continue;
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(e) => {
                            log::debug!("udp send_to {to}: {e}");
                            stats.udp_dropped += 1;
                            continue;
                        }
                    }
                }
                if self.queued_bytes + payload.len() > self.queue_limit {
                    stats.udp_dropped += 1;
                } else {
                    self.queued_bytes += payload.len();
                    self.queue.push_back((payload.to_vec(), to));
                }
            }
        }
        let want_write = !self.queue.is_empty();
        if want_write != self.write_interest {
            let interest = if want_write {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            registry.reregister(&mut self.socket, token, interest)?;
            self.write_interest = want_write;
        }
        Ok(more)
    }

    fn flush_queue(&mut self, stats: &mut Stats) {
        while let Some((payload, to)) = self.queue.front() {
            match self.socket.send_to(payload, *to) {
                Ok(_) => stats.udp_out += 1,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    log::debug!("udp send_to {to}: {e}");
                    stats.udp_dropped += 1;
                }
            }
            self.queued_bytes -= payload.len();
            self.queue.pop_front();
        }
    }
}
