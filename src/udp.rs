//! A UDP socket bound to a [`DatagramService`].
//!
//! Datagrams are received until `WouldBlock` (or the per-wake-up budget). On Linux
//! they come in batches: one `recvmmsg` fills up to 32 buffers of 64 KiB (each holds
//! the largest datagram IPv4 can carry, 65,507 bytes), and with UDP GRO one buffer
//! may hold several datagrams of one sender, split again here by their segment
//! size — `quinn-udp` makes these calls. The service still sees one datagram at a
//! time; the replies to a whole batch are gathered and leave together: runs of
//! equal-sized replies to one destination as one GSO send, the rest in one
//! `sendmmsg`. Elsewhere, or with `Config::udp_batching` off, each datagram costs one
//! `recv_from` and each reply one `send_to`, through the reactor's shared scratch
//! buffer.
//!
//! A reply that meets a full send buffer waits in a queue bounded in bytes. When the
//! queue is full the reply is dropped and counted: UDP promises no delivery, and an
//! unbounded queue would let a flood grow the server's memory without limit.

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
    /// The batched path, if enabled and available.
    batch: Option<batch::Batch>,
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
        batching: bool,
    ) -> Self {
        let batch = if batching {
            batch::Batch::new(&socket)
        } else {
            None
        };
        UdpEndpoint {
            batch,
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
        if self.batch.is_some() {
            return self.drive_batched(budget, stats);
        }
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

    /// [`UdpEndpoint::drive`] in batches.
    fn drive_batched(&mut self, budget: usize, stats: &mut Stats) -> bool {
        let mut received = 0;
        while self.readable {
            if received >= budget {
                return true;
            }
            let Some(batch) = self.batch.as_mut() else {
                return false;
            };
            let got = match batch.recv(&self.socket) {
                Ok(got) => got,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.readable = false;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    log::debug!("udp recvmmsg: {e}");
                    received += 1; // an error consumed; do not spin on a stream of them
                    continue;
                }
            };
            if got < batch::BATCH {
                // Fewer than asked for: the queue was empty at that moment, and
                // any datagram arriving later raises a new edge.
                self.readable = false;
            }
            self.replies.clear();
            for i in 0..got {
                let (from, segments) = batch.received(i);
                for datagram in segments {
                    received += 1;
                    stats.udp_in += 1;
                    self.service.on_datagram(datagram, from, &mut self.replies);
                }
            }
            self.send_replies(stats);
        }
        false
    }

    /// Send what the service queued in `self.replies`, queueing what meets a full
    /// send buffer (bounded; the rest is dropped and counted).
    fn send_replies(&mut self, stats: &mut Stats) {
        if let Some(batch) = &mut self.batch {
            if self.queue.is_empty() && !self.write_blocked {
                let (bytes, items) = self.replies.parts();
                let sent = batch.send(&self.socket, bytes, items, stats);
                self.write_blocked |= sent.blocked;
                for &(start, len, to) in &items[sent.done..] {
                    let payload = &bytes[start..start + len];
                    Self::enqueue(
                        &mut self.queue,
                        &mut self.queued_bytes,
                        self.queue_limit,
                        payload,
                        to,
                        stats,
                    );
                }
                return;
            }
        }
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
            Self::enqueue(
                &mut self.queue,
                &mut self.queued_bytes,
                self.queue_limit,
                payload,
                to,
                stats,
            );
        }
    }

    /// Queue a reply for when the socket has room, or drop and count it if the
    /// queue is full. Each entry is charged its bookkeeping too, so that even empty
    /// replies cannot grow the queue without bound.
    fn enqueue(
        queue: &mut VecDeque<(Vec<u8>, SocketAddr)>,
        queued_bytes: &mut usize,
        limit: usize,
        payload: &[u8],
        to: SocketAddr,
        stats: &mut Stats,
    ) {
        let cost = payload.len() + QUEUE_ENTRY_OVERHEAD;
        if *queued_bytes + cost > limit {
            stats.udp_dropped += 1;
        } else {
            *queued_bytes += cost;
            queue.push_back((payload.to_vec(), to));
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

/// The batched path: `recvmmsg` (with GRO) through `quinn-udp`, `sendmmsg` through
/// `rustix`, GSO sends through `quinn-udp`. Linux only; elsewhere `Batch::new`
/// declines and the endpoint keeps the one-call-per-datagram path.
#[cfg(target_os = "linux")]
mod batch {
    use std::io::{self, IoSlice, IoSliceMut};
    use std::net::SocketAddr;

    use mio::net::UdpSocket;
    use quinn_udp::{RecvMeta, Transmit, UdpSockRef, UdpSocketState};
    use rustix::net::{sendmmsg, MMsgHdr, SendAncillaryBuffer, SendFlags, SocketAddrAny};

    use crate::stats::Stats;

    /// Datagrams (or GRO batches) one receive call asks for.
    pub(super) const BATCH: usize = quinn_udp::BATCH_SIZE;
    /// One receive buffer: room for the largest datagram, or a GRO batch.
    const SLOT: usize = 64 * 1024;
    /// Most messages one `sendmmsg` is given.
    const SEND_BATCH: usize = 64;

    pub(super) struct Batch {
        state: UdpSocketState,
        /// `BATCH` receive buffers of `SLOT` bytes (allocated zeroed, so only the
        /// pages datagrams touch become resident).
        bufs: Vec<u8>,
        meta: Vec<RecvMeta>,
    }

    /// How far a batch of replies got.
    pub(super) struct Sent {
        /// Replies sent or dropped for an error of their own.
        pub(super) done: usize,
        /// The send buffer is full: the rest waits for a WRITABLE edge.
        pub(super) blocked: bool,
    }

    impl Batch {
        pub(super) fn new(socket: &UdpSocket) -> Option<Batch> {
            let state = UdpSocketState::new(UdpSockRef::from(socket));
            if state.is_ok() {
                // The ECN bits quinn-udp asks the kernel for are of no use here,
                // and each costs a control message per datagram (measured: about
                // 0.1 µs of kernel time per datagram when batches are small).
                let _ = rustix::net::sockopt::set_ip_recvtos(socket, false);
                let _ = rustix::net::sockopt::set_ipv6_recvtclass(socket, false);
            }
            match state {
                Ok(state) => Some(Batch {
                    state,
                    bufs: vec![0; BATCH * SLOT],
                    meta: vec![RecvMeta::default(); BATCH],
                }),
                Err(e) => {
                    log::debug!("udp: no batched path ({e}); one datagram per call");
                    None
                }
            }
        }

        /// One `recvmmsg`: how many buffers it filled.
        pub(super) fn recv(&mut self, socket: &UdpSocket) -> io::Result<usize> {
            let mut chunks = self.bufs.chunks_mut(SLOT);
            let mut slices: [IoSliceMut<'_>; BATCH] =
                std::array::from_fn(|_| IoSliceMut::new(chunks.next().unwrap_or_default()));
            self.state
                .recv(UdpSockRef::from(socket), &mut slices, &mut self.meta)
        }

        /// The sender of buffer `i` and the datagrams in it (more than one if GRO
        /// coalesced them).
        pub(super) fn received(&self, i: usize) -> (SocketAddr, impl Iterator<Item = &[u8]>) {
            let meta = &self.meta[i];
            let data = &self.bufs[i * SLOT..i * SLOT + meta.len.min(SLOT)];
            let stride = if meta.stride == 0 {
                data.len().max(1)
            } else {
                meta.stride
            };
            // An empty datagram is still one datagram.
            let count = if data.is_empty() {
                1
            } else {
                data.len().div_ceil(stride)
            };
            let segments = (0..count).map(move |k| {
                &data[(k * stride).min(data.len())..((k + 1) * stride).min(data.len())]
            });
            (meta.addr, segments)
        }

        /// Send `items` (start, length, destination in `bytes`) in order: runs of
        /// equal-sized replies to one destination with one GSO send where the
        /// kernel has GSO, the rest with `sendmmsg`.
        pub(super) fn send(
            &mut self,
            socket: &UdpSocket,
            bytes: &[u8],
            items: &[(usize, usize, SocketAddr)],
            stats: &mut Stats,
        ) -> Sent {
            let max_gso = self.state.max_gso_segments();
            let mut i = 0;
            while i < items.len() {
                let run = gso_run(items, i, max_gso);
                let result = if run >= 2 {
                    self.send_gso(socket, bytes, &items[i..i + run])
                } else {
                    // Singles up to the next GSO run, in one sendmmsg.
                    let mut end = i + 1;
                    while end < items.len()
                        && end - i < SEND_BATCH
                        && gso_run(items, end, max_gso) < 2
                    {
                        end += 1;
                    }
                    send_many(socket, bytes, &items[i..end])
                };
                match result {
                    Ok(n) => {
                        stats.udp_out += n as u64;
                        i += n;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        return Sent {
                            done: i,
                            blocked: true,
                        };
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        // This reply (or run) failed on its own (an ICMP error for
                        // its destination, a size the path refuses): drop it.
                        let n = if run >= 2 { run } else { 1 };
                        log::debug!("udp send to {}: {e}", items[i].2);
                        stats.udp_dropped += n as u64;
                        i += n;
                    }
                }
            }
            Sent {
                done: items.len(),
                blocked: false,
            }
        }

        /// One GSO send of `run` (contiguous in `bytes`, equal sizes but the last).
        fn send_gso(
            &self,
            socket: &UdpSocket,
            bytes: &[u8],
            run: &[(usize, usize, SocketAddr)],
        ) -> io::Result<usize> {
            let (start, size, to) = run[0];
            let (last_start, last_len, _) = run[run.len() - 1];
            let transmit = Transmit {
                destination: to,
                ecn: None,
                contents: &bytes[start..last_start + last_len],
                segment_size: Some(size),
                src_ip: None,
            };
            self.state.try_send(UdpSockRef::from(socket), &transmit)?;
            Ok(run.len())
        }
    }

    /// How many replies from `i` on can go as one GSO send: the same destination,
    /// the same non-zero size (the last may be shorter), back to back in the buffer.
    pub(super) fn gso_run(items: &[(usize, usize, SocketAddr)], i: usize, max: usize) -> usize {
        let (start, size, to) = items[i];
        if max < 2 || size == 0 {
            return 1;
        }
        let mut n = 1;
        let mut next = start + size;
        while i + n < items.len() && n < max {
            let (s, len, dest) = items[i + n];
            if dest != to || s != next || len > size || len == 0 {
                break;
            }
            n += 1;
            next += len;
            if len < size {
                break; // a shorter segment can only be the last
            }
        }
        n
    }

    /// One `sendmmsg` of `items`: how many were sent (at least one, or an error
    /// for the first).
    fn send_many(
        socket: &UdpSocket,
        bytes: &[u8],
        items: &[(usize, usize, SocketAddr)],
    ) -> io::Result<usize> {
        let addrs: Vec<SocketAddrAny> = items
            .iter()
            .map(|&(_, _, to)| SocketAddrAny::from(to))
            .collect();
        let iovs: Vec<[IoSlice<'_>; 1]> = items
            .iter()
            .map(|&(start, len, _)| [IoSlice::new(&bytes[start..start + len])])
            .collect();
        let mut controls: Vec<SendAncillaryBuffer<'_, '_, '_>> = items
            .iter()
            .map(|_| SendAncillaryBuffer::default())
            .collect();
        let mut msgs: Vec<MMsgHdr<'_>> = addrs
            .iter()
            .zip(&iovs)
            .zip(controls.iter_mut())
            .map(|((addr, iov), control)| MMsgHdr::new_with_addr(addr, iov, control))
            .collect();
        Ok(sendmmsg(socket, &mut msgs, SendFlags::empty())?)
    }
}

#[cfg(not(target_os = "linux"))]
mod batch {
    use std::io;
    use std::net::SocketAddr;

    use mio::net::UdpSocket;

    use crate::stats::Stats;

    pub(super) const BATCH: usize = 1;

    /// No batched path on this system.
    pub(super) enum Batch {}

    pub(super) struct Sent {
        pub(super) done: usize,
        pub(super) blocked: bool,
    }

    impl Batch {
        pub(super) fn new(_: &UdpSocket) -> Option<Batch> {
            None
        }

        pub(super) fn recv(&mut self, _: &UdpSocket) -> io::Result<usize> {
            match *self {}
        }

        pub(super) fn received(&self, _: usize) -> (SocketAddr, std::iter::Empty<&[u8]>) {
            match *self {}
        }

        pub(super) fn send(
            &mut self,
            _: &UdpSocket,
            _: &[u8],
            _: &[(usize, usize, SocketAddr)],
            _: &mut Stats,
        ) -> Sent {
            match *self {}
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::net::SocketAddr;

    fn items(spec: &[(usize, u16)]) -> Vec<(usize, usize, SocketAddr)> {
        let mut at = 0;
        spec.iter()
            .map(|&(len, port)| {
                let item = (at, len, SocketAddr::from(([127, 0, 0, 1], port)));
                at += len;
                item
            })
            .collect()
    }

    #[test]
    fn gso_runs_are_one_destination_and_one_size_but_the_last() {
        let run = |spec: &[(usize, u16)], i, max| super::batch::gso_run(&items(spec), i, max);
        assert_eq!(run(&[(10, 1), (10, 1), (10, 1)], 0, 64), 3);
        assert_eq!(run(&[(10, 1), (10, 1), (4, 1), (10, 1)], 0, 64), 3);
        assert_eq!(run(&[(10, 1), (12, 1)], 0, 64), 1);
        assert_eq!(run(&[(10, 1), (10, 2), (10, 1)], 0, 64), 1);
        assert_eq!(run(&[(10, 1), (10, 1), (10, 1)], 0, 2), 2);
        assert_eq!(run(&[(10, 1), (10, 1)], 0, 1), 1, "no GSO on this kernel");
        assert_eq!(run(&[(0, 1), (0, 1)], 0, 64), 1, "empty datagrams go alone");
        assert_eq!(run(&[(10, 1), (0, 1)], 0, 64), 1);
    }
}
