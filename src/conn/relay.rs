//! Linked connections: the bytes each side receives are written to the other,
//! through the scratch buffer or, for bulk transfers between kernel sockets,
//! through a pipe with `splice(2)`.

use std::io;
use std::time::Instant;

use super::read::{ReadResult, ReadSide};
use super::{Conn, Flow, Io, Transport, SPLICE_MAX};
use crate::ctx::ConnId;
use crate::splice::Pipe;
use crate::stats::Stats;

impl<T: Transport> Conn<T> {
    /// The connection this one relays to and from, if it is linked.
    pub(crate) fn link(&self) -> Option<ConnId> {
        self.extra.as_ref()?.link
    }

    /// Relay between this connection and `peer` from now on: the session hears
    /// nothing more but `on_closed`.
    pub(crate) fn set_link(&mut self, peer: ConnId) {
        self.extra().link = Some(peer);
        self.flow = Flow::Free;
        self.backpressured = false;
    }

    /// Forget the link (the peer is gone).
    pub(crate) fn unlink(&mut self) {
        if let Some(extra) = &mut self.extra {
            extra.link = None;
        }
    }

    /// Move bytes from this connection to `dst` (its linked peer): what this side
    /// received before the link, then reads until the socket is empty, `dst`'s
    /// unsent output passes the high-water mark, or the read budget is spent. Bytes
    /// go from the shared scratch buffer straight to `dst`'s socket; only what the
    /// socket does not take is kept. Once this side has sent FIN and `dst` has sent
    /// everything, `dst`'s writing half is shut down. Returns `true` if the budget
    /// ran out with more to read.
    pub(crate) fn relay_to(&mut self, dst: &mut Conn<T>, io: &mut Io<'_>) -> io::Result<bool> {
        if dst.pending_output() > 0 {
            dst.flush(io)?;
        }
        if !self.input.is_empty() {
            let input = std::mem::take(&mut self.input);
            self.extra().relayed += input.len() as u64;
            dst.send_or_keep(&input, io)?;
        }
        // Bytes already in our pipe go before anything read now.
        let mut pipe_empty = self.drain_pipe(dst, io)?;
        let mut budget = io.limits.read_budget;
        let mut more = false;
        while self.read.is_readable() && pipe_empty {
            if dst.pending_output() >= io.limits.high_water {
                if !self.backpressured {
                    self.backpressured = true;
                    io.stats.backpressure_pauses += 1;
                }
                break; // resumed when `dst` drains: its WRITABLE edge drives the pair
            }
            self.backpressured = false;
            if budget == 0 {
                more = true;
                break;
            }
            if self.pipe().is_some() {
                if dst.pending_output() > 0 || dst.write_blocked {
                    break; // what is queued in user space goes first
                }
                let Some(n) = self.splice_in(io)? else {
                    break;
                };
                budget = budget.saturating_sub(n);
                pipe_empty = self.drain_pipe(dst, io)?;
                continue;
            }
            let n = match self.read_some(io)? {
                ReadResult::Data(n) => n,
                ReadResult::Eof | ReadResult::Empty => break,
            };
            budget = budget.saturating_sub(n);
            self.extra().relayed += n as u64;
            let (scratch, rest) = (&*io.scratch, &mut *io.stats);
            dst.send_or_keep_with(&scratch[..n], rest, io.now)?;
            if n == io.scratch.len() && self.stream.socket().is_some() {
                // A full buffer: a bulk transfer. Go on without copying, if a
                // pipe can be had.
                if let Some(pipe) = crate::splice::bulk_pipe() {
                    self.extra().pipe = Some(pipe);
                    io.stats.relay_pipes += 1;
                }
            }
        }
        if self.read == ReadSide::Eof && dst.pending_output() == 0 && pipe_empty && !dst.fin_sent()
        {
            match dst.stream.shutdown_write() {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotConnected => {}
                Err(e) => return Err(e),
            }
            dst.extra().fin_sent = true;
        }
        Ok(more)
    }

    pub(super) fn pipe(&mut self) -> Option<&mut Pipe> {
        self.extra.as_mut()?.pipe.as_mut()
    }

    /// Splice what the socket has into our pipe. `None`: nothing now, or FIN.
    pub(super) fn splice_in(&mut self, io: &mut Io<'_>) -> io::Result<Option<usize>> {
        let Some(extra) = self.extra.as_mut() else {
            return Ok(None);
        };
        let Some(pipe) = extra.pipe.as_mut() else {
            return Ok(None);
        };
        let Some(socket) = self.stream.socket() else {
            return Ok(None);
        };
        io.stats.reads += 1;
        match pipe.fill(socket, SPLICE_MAX)? {
            None => {
                self.read.empty();
                Ok(None)
            }
            Some(0) => {
                self.read = ReadSide::Eof;
                Ok(None)
            }
            Some(n) => {
                extra.relayed += n as u64;
                io.stats.bytes_in += n as u64;
                self.last_active = io.now;
                Ok(Some(n))
            }
        }
    }

    /// Splice our pipe's bytes into `dst`. Returns whether the pipe is now empty;
    /// if not, `dst`'s send buffer is full and its WRITABLE edge resumes the pair.
    pub(super) fn drain_pipe(&mut self, dst: &mut Conn<T>, io: &mut Io<'_>) -> io::Result<bool> {
        let Some(pipe) = self.pipe() else {
            return Ok(true);
        };
        if pipe.len() == 0 {
            return Ok(true);
        }
        if dst.write_blocked || dst.pending_output() > 0 {
            return Ok(false);
        }
        let Some(socket) = dst.stream.socket() else {
            return Ok(false);
        };
        io.stats.writes += 1;
        let moved = pipe.drain(socket)?;
        io.stats.bytes_out += moved as u64;
        if moved > 0 {
            dst.last_active = io.now;
        }
        if pipe.len() > 0 {
            dst.write_blocked = true;
            return Ok(false);
        }
        Ok(true)
    }

    /// Both directions are finished: each side sent FIN and its peer has written
    /// everything and shut down writing.
    pub(crate) fn relay_done(&self, peer: &Conn<T>) -> bool {
        self.read == ReadSide::Eof
            && peer.read == ReadSide::Eof
            && self.fin_sent()
            && peer.fin_sent()
    }

    pub(super) fn fin_sent(&self) -> bool {
        self.extra.as_ref().is_some_and(|e| e.fin_sent)
    }

    /// Write `bytes` now if nothing is queued before them, keep what the socket
    /// does not take.
    pub(super) fn send_or_keep(&mut self, bytes: &[u8], io: &mut Io<'_>) -> io::Result<()> {
        self.send_or_keep_with(bytes, io.stats, io.now)
    }

    pub(super) fn send_or_keep_with(
        &mut self,
        bytes: &[u8],
        stats: &mut Stats,
        now: Instant,
    ) -> io::Result<()> {
        if self.pending_output() > 0 || self.write_blocked {
            self.append_output(bytes);
            return Ok(());
        }
        let written = self.write(bytes, stats)?;
        if written > 0 {
            self.last_active = now;
        }
        if written < bytes.len() {
            if self.output.is_empty() {
                self.sent = 0;
            }
            self.output.extend_from_slice(&bytes[written..]);
        }
        Ok(())
    }

    /// Write our own unsent tail (relay path).
    pub(crate) fn flush_tail(&mut self, io: &mut Io<'_>) -> io::Result<()> {
        if self.pending_output() > 0 {
            self.flush(io)?;
        }
        Ok(())
    }
}
