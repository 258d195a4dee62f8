//! UDP echo as a load: one [`DatagramService`] per client socket.
//!
//! UDP differs from the TCP modes in the two ways that matter here: replies can be
//! lost, and nothing orders them. So every datagram carries the socket's id and a
//! sequence number (`id: u32 LE`, `seq: u64 LE`, then pattern bytes up to `--size`),
//! replies are matched by sequence number rather than by order, and a datagram not
//! answered within [`LOSS_TIMEOUT`] is given up on a tick and replaced, so the
//! in-flight window stays full. A reply that arrives after that is *late*; one for
//! a sequence number already answered is a *duplicate*; anything else that does
//! not match what was sent is *corrupt*. All three are errors. Loss is reported
//! at the end as datagrams sent minus distinct replies received.

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use evloop::{DatagramService, Datagrams};

use crate::client::Ctx;
use crate::protocols::pattern_offset;

/// Bytes of the id + sequence number header; `--size` must be at least this.
pub const HEADER: usize = 12;
/// A datagram unanswered this long is given up on (and replaced).
pub const LOSS_TIMEOUT: Duration = Duration::from_millis(200);
/// How often lost datagrams are looked for.
const TICK: Duration = Duration::from_millis(20);

/// One UDP client socket keeping `pipeline` datagrams in flight to `target`.
pub struct UdpClient {
    ctx: Ctx,
    target: SocketAddr,
    id: u32,
    size: usize,
    pipeline: usize,
    pattern: Rc<[u8]>,
    next_seq: u64,
    /// Datagrams in flight, in sequence (and so in sending-time) order.
    window: VecDeque<(u64, Instant)>,
    /// Given up on, not (yet) answered: a reply for one of these is late.
    expired: HashSet<u64>,
    buf: Vec<u8>,
}

impl UdpClient {
    pub fn new(
        ctx: Ctx,
        target: SocketAddr,
        id: u32,
        size: usize,
        pipeline: usize,
        pattern: Rc<[u8]>,
    ) -> UdpClient {
        UdpClient {
            ctx,
            target,
            id,
            size: size.max(HEADER),
            pipeline: pipeline.max(1),
            pattern,
            next_seq: 0,
            window: VecDeque::new(),
            expired: HashSet::new(),
            buf: Vec::new(),
        }
    }

    fn fill(&mut self, out: &mut Datagrams) {
        if self.window.len() >= self.pipeline {
            return;
        }
        let now = Instant::now();
        let mut sent = 0;
        while self.window.len() < self.pipeline && self.ctx.control.take_ticket() {
            let seq = self.next_seq;
            self.next_seq += 1;
            self.buf.clear();
            self.buf.extend_from_slice(&self.id.to_le_bytes());
            self.buf.extend_from_slice(&seq.to_le_bytes());
            let at = pattern_offset(u64::from(self.id), seq);
            self.buf
                .extend_from_slice(&self.pattern[at..at + self.size - HEADER]);
            out.send(&self.buf, self.target);
            self.window.push_back((seq, now));
            sent += 1;
        }
        if sent > 0 {
            if let Ok(mut results) = self.ctx.results.try_borrow_mut() {
                results.udp.sent += sent;
            }
        }
    }

    /// The sequence number a reply is for, and whether its payload matches;
    /// `Err` if it cannot be matched to any datagram this socket sent.
    fn check(
        &self,
        data: &[u8],
        from: SocketAddr,
    ) -> Result<(u64, Result<(), &'static str>), &'static str> {
        if from != self.target {
            return Err("UDP reply from an unexpected address");
        }
        if data.len() < HEADER {
            return Err("UDP reply shorter than the header");
        }
        let id = u32::from_le_bytes([data[0], data[1], data[2], data[3]]);
        let mut seq = [0; 8];
        seq.copy_from_slice(&data[4..HEADER]);
        let seq = u64::from_le_bytes(seq);
        if id != self.id || seq >= self.next_seq {
            return Err("UDP reply with a sequence number never sent");
        }
        let at = pattern_offset(u64::from(self.id), seq);
        let payload = if data.len() != self.size {
            Err("UDP reply of the wrong size")
        } else if data[HEADER..] != self.pattern[at..at + self.size - HEADER] {
            Err("UDP reply payload differs from the datagram sent")
        } else {
            Ok(())
        };
        Ok((seq, payload))
    }
}

impl DatagramService for UdpClient {
    fn on_start(&mut self, out: &mut Datagrams) {
        self.fill(out);
    }

    fn on_datagram(&mut self, data: &[u8], from: SocketAddr, out: &mut Datagrams) {
        let now = Instant::now();
        let stopped = self.ctx.control.stopped();
        let Ok(mut results) = self.ctx.results.try_borrow_mut() else {
            return;
        };
        let (mut ok, mut failed) = (0, 0);
        match self.check(data, from) {
            // Not a reply to any request: an error, but no request finished.
            Err(kind) => {
                if !stopped {
                    results.error(kind, 1);
                    self.ctx
                        .control
                        .progress_errors
                        .fetch_add(1, Ordering::Relaxed);
                }
            }
            Ok((seq, verdict)) => {
                if let Ok(i) = self.window.binary_search_by_key(&seq, |&(s, _)| s) {
                    let (_, sent) = self.window.remove(i).unwrap_or((seq, now));
                    results.udp.received += 1;
                    results.bytes += data.len() as u64;
                    if !stopped {
                        match verdict {
                            Ok(()) => {
                                results.record(sent, now);
                                ok = 1;
                            }
                            Err(kind) => {
                                results.error(kind, 1);
                                failed = 1;
                            }
                        }
                    }
                } else if self.expired.remove(&seq) {
                    // Counted as received (it was not lost), and as an error.
                    results.udp.received += 1;
                    if !stopped {
                        results.error("late UDP reply (after the loss timeout)", 1);
                        self.ctx
                            .control
                            .progress_errors
                            .fetch_add(1, Ordering::Relaxed);
                    }
                } else if !stopped {
                    results.error("duplicate UDP reply", 1);
                    self.ctx
                        .control
                        .progress_errors
                        .fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        drop(results);
        if ok + failed > 0 {
            self.ctx.control.finished(ok, failed);
        }
        if !stopped {
            self.fill(out);
        }
    }

    fn tick_interval(&self) -> Option<Duration> {
        Some(TICK)
    }

    fn on_tick(&mut self, now: Instant, out: &mut Datagrams) {
        if self.ctx.control.stopped() {
            return;
        }
        let mut lost = 0;
        while let Some(&(seq, sent)) = self.window.front() {
            if now.saturating_duration_since(sent) < LOSS_TIMEOUT {
                break;
            }
            self.window.pop_front();
            self.expired.insert(seq);
            lost += 1;
        }
        if lost > 0 {
            // Not errors: loss is reported on its own, as sent − received.
            self.ctx.control.lost(lost);
            self.fill(out);
        }
    }
}
