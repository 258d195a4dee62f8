//! The output queue: the connection's unsent tail, the files and bytes queued
//! behind a file, the shared output buffer, and pushes from other connections.
//!
//! A reply that the socket takes at once never leaves the hub's shared
//! buffer; only what a write could not take is kept, in the connection's own
//! tail. Once a session sends a file, what it writes after it waits in a queue
//! of chunks behind it.

use std::io;
use std::time::Instant;

use super::{Conn, Extra, Io, Limits, Transport};
use crate::ctx::{Ctx, FileRange, OutputLimit};
use crate::service::Session;
use crate::stats::Stats;

/// Output queued behind `Conn::output` once a session sends a file: the file, and
/// what the session wrote after it. The first chunk is always a file (bytes
/// before it are `Conn::output`).
#[derive(Debug)]
pub(super) enum Chunk {
    File(FileRange),
    Bytes(Vec<u8>),
}

/// Which buffer a session callback writes its output to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OutTarget {
    /// The hub's shared buffer: nothing is pending.
    Shared,
    /// The connection's own unsent tail.
    Own,
    /// The last chunk of the queue behind a file.
    Queue,
}

impl<T: Transport> Conn<T> {
    /// Call the session with the buffer its output goes to now (behind
    /// everything pending) and a context, then settle what it wrote (files it
    /// queued take their place in the output). Every session callback that may
    /// write goes through here.
    pub(super) fn call_session<R>(
        &mut self,
        io: &mut Io<'_>,
        call: impl FnOnce(&mut dyn Session, &mut Ctx<'_>, &mut Vec<u8>) -> R,
    ) -> R {
        let target = self.out_target();
        let out = Self::out_buf(&mut self.output, &mut self.extra, io.out, target);
        let out_before = out.len();
        let mut ctx = Ctx::new(self.id, io.now, io.links);
        let result = call(&mut *self.session, &mut ctx, out);
        self.settle_output(io, target, out_before);
        result
    }

    /// The hard and soft limit for pushed output.
    pub(crate) fn push_limit(&self, limits: &Limits) -> OutputLimit {
        self.extra
            .as_ref()
            .and_then(|e| e.push_limit)
            .unwrap_or(limits.push_limit)
    }

    pub(crate) fn set_push_limit(&mut self, limit: OutputLimit) {
        self.extra().push_limit = Some(limit);
    }

    /// Deliver the pushes one loop iteration made to this connection (`ranges` of
    /// the reactor's push buffer `bytes`): when nothing
    /// is queued before them and the socket has room, they go out in one `write` —
    /// a single push straight from the push buffer, several gathered in the
    /// hub's shared output buffer `gather` (empty between drives); only what
    /// the socket does not take is kept. (One contiguous write,
    /// not a `writev` of the pieces: the kernel's per-segment copy of many small
    /// iovecs costs more than gathering them here.) Returns `Ok(false)` if the
    /// connection is now over its soft limit for longer than allowed.
    pub(crate) fn push_ranges(
        &mut self,
        bytes: &[u8],
        ranges: &[(usize, usize)],
        gather: &mut Vec<u8>,
        limits: &Limits,
        stats: &mut Stats,
        now: Instant,
    ) -> io::Result<bool> {
        let slices = ranges.iter().map(|&(start, end)| &bytes[start..end]);
        if let [(start, end)] = *ranges {
            // One push: written straight from the push buffer, no gathering.
            self.send_or_keep_with(&bytes[start..end], stats, now)?;
        } else if self.pending_output() == 0 && !self.write_blocked {
            debug_assert!(gather.is_empty());
            for s in slices {
                gather.extend_from_slice(s);
            }
            let written = match self.write(gather, stats) {
                Ok(n) => n,
                Err(e) => {
                    gather.clear();
                    return Err(e);
                }
            };
            if written > 0 {
                self.last_active = now;
            }
            if written < gather.len() {
                self.keep_unsent(gather, written);
            }
            gather.clear();
        } else {
            for s in slices {
                self.append_output(s);
            }
        }
        Ok(self.within_soft_limit(limits, now))
    }

    /// Whether unsent output is within the soft push limit, or over it for less
    /// than the allowed time (which starts now if it just went over).
    pub(super) fn within_soft_limit(&mut self, limits: &Limits, now: Instant) -> bool {
        let limit = self.push_limit(limits);
        if limit.soft == 0 || self.pending_output() <= limit.soft {
            if let Some(extra) = &mut self.extra {
                extra.soft_since = None;
            }
            self.trim_extra();
            return true;
        }
        let since = *self.extra().soft_since.get_or_insert(now);
        now.duration_since(since) < limit.soft_for
    }

    /// Output owed and not yet sent: unsent bytes and the files queued behind them.
    /// What the transport holds itself (TLS records) counts as one byte: its size
    /// is bounded by the transport, and only whether it is empty matters here.
    pub(crate) fn pending_output(&self) -> usize {
        let queued = self.extra.as_ref().map_or(0, |e| e.queued_bytes);
        (self.output.len() - self.sent)
            .saturating_add(usize::try_from(queued).unwrap_or(usize::MAX))
            .saturating_add(usize::from(self.stream.has_buffered_output()))
    }

    /// Output bytes held in memory (the files being sent are not).
    pub(crate) fn buffered_output(&self) -> usize {
        let queued = self.extra.as_ref().map_or(0, |e| {
            e.queue
                .iter()
                .map(|c| match c {
                    Chunk::Bytes(b) => b.len(),
                    Chunk::File(_) => 0,
                })
                .sum()
        });
        self.output.len() - self.sent + queued
    }

    /// Whether output is queued behind a file.
    pub(super) fn has_queue(&self) -> bool {
        self.extra.as_ref().is_some_and(|e| !e.queue.is_empty())
    }

    /// Where a session callback's output goes now: behind everything pending.
    pub(super) fn out_target(&self) -> OutTarget {
        if self.has_queue() {
            OutTarget::Queue
        } else if self.output.is_empty() {
            OutTarget::Shared
        } else {
            OutTarget::Own
        }
    }

    /// The buffer for `target` (see [`Conn::out_target`]).
    pub(super) fn out_buf<'b>(
        output: &'b mut Vec<u8>,
        extra: &'b mut Option<Box<Extra>>,
        shared: &'b mut Vec<u8>,
        target: OutTarget,
    ) -> &'b mut Vec<u8> {
        match target {
            OutTarget::Shared => shared,
            OutTarget::Own => output,
            OutTarget::Queue => {
                let extra = extra.get_or_insert_with(Box::default);
                if !matches!(extra.queue.back(), Some(Chunk::Bytes(_))) {
                    extra.queue.push_back(Chunk::Bytes(Vec::new()));
                }
                match extra.queue.back_mut() {
                    Some(Chunk::Bytes(bytes)) => bytes,
                    _ => unreachable!("a bytes chunk was just pushed"),
                }
            }
        }
    }

    /// Append bytes behind everything this connection owes.
    pub(super) fn append_output(&mut self, bytes: &[u8]) {
        if self.has_queue() {
            let mut empty = Vec::new();
            Self::out_buf(
                &mut self.output,
                &mut self.extra,
                &mut empty,
                OutTarget::Queue,
            )
            .extend_from_slice(bytes);
            self.extra().queued_bytes += bytes.len() as u64;
        } else {
            self.output.extend_from_slice(bytes);
        }
    }

    /// After a session callback that wrote to `target`: account for what it wrote
    /// behind a file, and queue the files it asked to send, each at its place in
    /// that output.
    pub(super) fn settle_output(
        &mut self,
        io: &mut Io<'_>,
        target: OutTarget,
        queue_len_before: usize,
    ) {
        if target == OutTarget::Queue {
            let extra = self.extra();
            if let Some(Chunk::Bytes(bytes)) = extra.queue.back() {
                let grown = bytes.len().saturating_sub(queue_len_before);
                extra.queued_bytes += grown as u64;
            }
        }
        if io.links.files.is_empty() {
            return;
        }
        let files = std::mem::take(&mut io.links.files);
        let buf = Self::out_buf(&mut self.output, &mut self.extra, io.out, target);
        let base = if target == OutTarget::Queue {
            queue_len_before
        } else {
            0
        };
        // Positions were recorded in this buffer; anything out of order (the
        // session shrank its buffer) is clamped so bytes are never lost or repeated.
        let first = files[0].at.clamp(base, buf.len());
        let tail = buf.split_off(first);
        let mut chunks = Vec::with_capacity(2 * files.len());
        let mut done = first;
        for file in files {
            let at = file.at.clamp(done, first + tail.len());
            if at > done {
                chunks.push(Chunk::Bytes(tail[done - first..at - first].to_vec()));
            }
            done = at;
            chunks.push(Chunk::File(file.range));
        }
        if done < first + tail.len() {
            chunks.push(Chunk::Bytes(tail[done - first..].to_vec()));
        }
        if target == OutTarget::Shared {
            // The bytes before the first file are this connection's to send now.
            self.keep_unsent(io.out, 0);
        }
        let extra = self.extra();
        if target == OutTarget::Queue {
            // The queue's last chunk was the buffer just split: what moved out of
            // it into new chunks is counted again below.
            extra.queued_bytes -= (tail.len()) as u64;
            if matches!(extra.queue.back(), Some(Chunk::Bytes(b)) if b.is_empty()) {
                extra.queue.pop_back();
            }
        }
        for chunk in chunks {
            extra.queued_bytes += match &chunk {
                Chunk::Bytes(b) => b.len() as u64,
                Chunk::File(f) => f.len,
            };
            extra.queue.push_back(chunk);
        }
    }

    /// Write the shared output buffer (or our own tail, if one exists).
    pub(super) fn flush_shared(&mut self, io: &mut Io<'_>) -> io::Result<()> {
        if self.pending_output() > 0 {
            return self.flush(io);
        }
        if io.out.is_empty() {
            return Ok(());
        }
        if self.write_blocked {
            self.keep_unsent(io.out, 0);
            return Ok(());
        }
        let written = self.write(io.out.as_slice(), io.stats)?;
        if written > 0 {
            self.last_active = io.now;
        }
        if written < io.out.len() {
            self.keep_unsent(io.out, written);
        }
        io.out.clear();
        Ok(())
    }

    /// Move the unsent part of the shared buffer into this connection's own tail.
    pub(super) fn keep_unsent(&mut self, out: &mut Vec<u8>, written: usize) {
        if self.has_queue() {
            self.append_output(&out[written..]);
        } else if self.output.is_empty() {
            // Take the shared buffer's allocation instead of copying into a new one.
            std::mem::swap(&mut self.output, out);
            self.sent = written;
        } else {
            self.output.extend_from_slice(&out[written..]);
        }
        out.clear();
    }

    /// Write our own tail, then what is queued behind it, until the socket is full
    /// or everything is sent.
    pub(super) fn flush(&mut self, io: &mut Io<'_>) -> io::Result<()> {
        if !self.flush_transport(io.stats)? {
            return Ok(());
        }
        loop {
            if self.write_blocked {
                return Ok(());
            }
            if self.sent < self.output.len() {
                // A file next: the kernel may hold a partial segment for it.
                let more = matches!(
                    self.extra.as_ref().and_then(|e| e.queue.front()),
                    Some(Chunk::File(_))
                );
                let output = std::mem::take(&mut self.output);
                let written = self.write_with(&output[self.sent..], io.stats, more);
                self.output = output;
                let written = written?;
                if written > 0 {
                    self.last_active = io.now;
                }
                self.sent += written;
                if self.sent < self.output.len() {
                    if self.sent > self.output.len() / 2 && self.sent > 64 * 1024 {
                        self.output.drain(..self.sent);
                        self.sent = 0;
                    }
                    return Ok(());
                }
            }
            self.output = Vec::new();
            self.sent = 0;
            let Some(extra) = self.extra.as_mut() else {
                return Ok(());
            };
            match extra.queue.pop_front() {
                None => {
                    self.trim_extra();
                    return Ok(());
                }
                Some(Chunk::Bytes(bytes)) => {
                    extra.queued_bytes -= bytes.len() as u64;
                    self.output = bytes;
                }
                Some(Chunk::File(mut range)) => {
                    let before = range.len;
                    let result = self.send_file_part(&mut range, io);
                    let extra = self.extra();
                    extra.queued_bytes -= before - range.len;
                    if range.len > 0 {
                        extra.queue.push_front(Chunk::File(range));
                    }
                    result?;
                }
            }
        }
    }

    /// Send as much of `range` as the socket takes now: with `sendfile(2)` if the
    /// transport is a kernel socket, else read into the scratch buffer and written
    /// (what the socket does not take of that becomes our tail, before the rest of
    /// the file). A file shorter than the range is an error.
    pub(super) fn send_file_part(
        &mut self,
        range: &mut FileRange,
        io: &mut Io<'_>,
    ) -> io::Result<()> {
        while range.len > 0 && !self.write_blocked {
            if let Some(socket) = self.stream.socket() {
                let count = range.len.min(crate::sendfile::SENDFILE_MAX) as usize;
                io.stats.writes += 1;
                match crate::sendfile::send_file(socket, &range.file, &mut range.offset, count) {
                    Ok(0) => return Err(file_shrank()),
                    // A short count may mean a full send buffer or the file's end
                    // (it shrank): only the next call tells which. Taking it for a
                    // full buffer could wait forever for a WRITABLE edge that the
                    // kernel raises only after a send found no room.
                    Ok(n) => {
                        range.len -= n as u64;
                        io.stats.bytes_out += n as u64;
                        io.stats.file_bytes += n as u64;
                        self.last_active = io.now;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.write_blocked = true,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) if e.kind() == io::ErrorKind::Unsupported => {
                        return self.copy_file_part(range, io)
                    }
                    Err(e) => return Err(e),
                }
            } else {
                return self.copy_file_part(range, io);
            }
        }
        Ok(())
    }

    /// The copying path of [`Conn::send_file_part`].
    pub(super) fn copy_file_part(
        &mut self,
        range: &mut FileRange,
        io: &mut Io<'_>,
    ) -> io::Result<()> {
        use std::os::unix::fs::FileExt;
        while range.len > 0 && !self.write_blocked {
            let want = range.len.min(io.scratch.len() as u64) as usize;
            let got = match range.file.read_at(&mut io.scratch[..want], range.offset) {
                Ok(0) => return Err(file_shrank()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            range.offset += got as u64;
            range.len -= got as u64;
            io.stats.file_bytes += got as u64;
            let written = self.write_with(&io.scratch[..got], io.stats, range.len > 0)?;
            if written > 0 {
                self.last_active = io.now;
            }
            if written < got {
                debug_assert!(self.output.is_empty());
                self.output.extend_from_slice(&io.scratch[written..got]);
                self.sent = 0;
            }
        }
        Ok(())
    }

    /// Write as much of `buf` as the socket takes now. A short write means the
    /// send buffer is full, so we stop there (and write nothing more until a
    /// WRITABLE edge) instead of making a call that would only return `WouldBlock`.
    /// Write what the transport holds itself (TLS records) first. Returns whether
    /// the socket may take more.
    pub(super) fn flush_transport(&mut self, stats: &mut Stats) -> io::Result<bool> {
        while self.stream.has_buffered_output() && !self.write_blocked {
            stats.writes += 1;
            match self.stream.flush() {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.write_blocked = true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(!self.write_blocked)
    }

    pub(super) fn write(&mut self, buf: &[u8], stats: &mut Stats) -> io::Result<usize> {
        self.write_with(buf, stats, false)
    }

    /// [`Conn::write`], with `MSG_MORE` if `more` follows at once.
    pub(super) fn write_with(
        &mut self,
        buf: &[u8],
        stats: &mut Stats,
        more: bool,
    ) -> io::Result<usize> {
        let mut written = 0;
        while written < buf.len() {
            stats.writes += 1;
            let result = if more {
                self.stream.write_more(&buf[written..])
            } else {
                self.stream.write(&buf[written..])
            };
            match result {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    written += n;
                    stats.bytes_out += n as u64;
                    if written < buf.len() {
                        self.write_blocked = true;
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.write_blocked = true;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        // The transport took everything but could not write all of it (TLS
        // records queued): the socket is full.
        if self.stream.has_buffered_output() {
            self.write_blocked = true;
        }
        Ok(written)
    }
}

/// A queued file turned out shorter than its range.
fn file_shrank() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "file shrank while being sent")
}
