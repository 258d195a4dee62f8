//! The read side: readiness edges, reads into the shared scratch buffer, and
//! handing input to the session.
//!
//! Reads follow mio's edge-triggered contract: once readiness is reported the
//! connection stays `ReadSide::Readable` until a read proves the socket empty, and
//! anything that stops reading early (the per-wake-up budget, backpressure, the
//! input cap) leaves it set so reading resumes without waiting for an edge that
//! would never come.

use std::io;

use super::{CloseReason, Conn, Drive, Io, State, Transport};

/// What one read found.
pub(super) enum ReadResult {
    /// This many bytes, at the front of the scratch buffer.
    Data(usize),
    /// The peer's FIN.
    Eof,
    /// Nothing now (`WouldBlock`).
    Empty,
}

/// One readiness edge, as the poller reports it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Readiness {
    pub(crate) readable: bool,
    pub(crate) read_closed: bool,
    pub(crate) writable: bool,
}

/// The read side of a connection's socket, as its edges and reads have shown it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum ReadSide {
    /// No read is due: nothing was reported, or a read found the socket empty.
    Drained = 0,
    /// Readiness was reported and no read has since found the socket empty.
    Readable = READABLE,
    /// The peer's FIN (or an error) was reported, and a read found the socket
    /// empty since (a later edge makes it readable again).
    PeerClosed = PEER_CLOSED,
    /// The peer's FIN (or an error) was reported: from then on a short read no
    /// longer proves the socket drained (that edge has fired already), so reads go
    /// on until one returns 0.
    PeerClosedReadable = PEER_CLOSED | READABLE,
    /// A read returned 0: the peer's FIN has been consumed. Nothing more to read.
    Eof = 4,
}

/// The discriminants of the four states before `Eof` are two facts as bits, so
/// an edge is an OR (as the booleans it replaces were) and never a branch.
const READABLE: u8 = 1;
const PEER_CLOSED: u8 = 2;

impl ReadSide {
    /// The state before `Eof` with these two facts.
    fn from_bits(bits: u8) -> ReadSide {
        match bits & (PEER_CLOSED | READABLE) {
            0 => ReadSide::Drained,
            READABLE => ReadSide::Readable,
            PEER_CLOSED => ReadSide::PeerClosed,
            _ => ReadSide::PeerClosedReadable,
        }
    }

    /// Whether a read is due.
    pub(crate) fn is_readable(self) -> bool {
        self as u8 & READABLE != 0
    }

    /// An edge: readable (data, FIN or an error to read), the read side closed
    /// (FIN or error: sticky). Nothing changes once the FIN is consumed.
    pub(super) fn on_edge(&mut self, readable: bool, read_closed: bool) {
        if *self != ReadSide::Eof {
            let edge = u8::from(readable) | u8::from(read_closed) << 1;
            *self = ReadSide::from_bits(*self as u8 | edge);
        }
    }

    /// A read returned `WouldBlock`: the socket is empty now.
    pub(super) fn empty(&mut self) {
        if *self != ReadSide::Eof {
            *self = ReadSide::from_bits(*self as u8 & !READABLE);
        }
    }

    /// A read returned less than it asked for. On a Linux stream socket that
    /// means the receive queue was empty at that moment, and any byte that arrives
    /// later raises a new edge: the read that would only return `WouldBlock` may
    /// be skipped (as tokio does). Not once FIN or an error was reported: that
    /// edge has already fired, so reads go on until 0. (TCP urgent data can also
    /// cut a read short; evloop's protocols do not use it, and a peer that sends
    /// it only stalls its own connection.)
    pub(super) fn short_read(&mut self) {
        if *self == ReadSide::Readable {
            *self = ReadSide::Drained;
        }
    }
}

impl<T: Transport> Conn<T> {
    /// Record an edge: readable (data, FIN or an error to read), the read side
    /// closed (FIN or error: sticky), writable (room in the send buffer).
    pub(crate) fn on_readiness(&mut self, edge: Readiness) {
        self.read.on_edge(edge.readable, edge.read_closed);
        if edge.writable {
            self.write_blocked = false;
        }
    }

    /// One `read` into the shared scratch buffer, with its bookkeeping.
    /// One read (see [`Conn::read_plain`]), and the TLS handshake's end if it
    /// brought it: output the session wrote meanwhile may go now.
    pub(super) fn read_some(&mut self, io: &mut Io<'_>) -> io::Result<ReadResult> {
        if !self.stream.handshaking() {
            return self.read_plain(io);
        }
        let result = self.read_plain(io);
        if !self.stream.handshaking() {
            io.stats.tls_handshakes += 1;
            // Writes refused during the handshake left the flag set with no
            // WRITABLE edge to come.
            self.write_blocked = false;
        } else if matches!(result, Ok(ReadResult::Eof)) {
            log::debug!("conn {}: closed during the TLS handshake", self.id);
            io.stats.tls_handshake_errors += 1;
        }
        result
    }

    pub(super) fn read_plain(&mut self, io: &mut Io<'_>) -> io::Result<ReadResult> {
        loop {
            io.stats.reads += 1;
            let n = match self.stream.read(io.scratch) {
                Ok(0) => {
                    self.read = ReadSide::Eof;
                    return Ok(ReadResult::Eof);
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.read.empty();
                    return Ok(ReadResult::Empty);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            io.stats.bytes_in += n as u64;
            self.last_active = io.now;
            if n < io.scratch.len() {
                self.read.short_read();
            }
            return Ok(ReadResult::Data(n));
        }
    }

    /// Read and discard until EOF or `WouldBlock`, at most `read_budget` bytes per
    /// wake-up. There is no byte cap: the linger deadline bounds a peer that keeps
    /// sending, and closing earlier would RST replies it has not read yet.
    pub(super) fn drain(&mut self, io: &mut Io<'_>) -> io::Result<Drive> {
        let mut budget = io.limits.read_budget;
        loop {
            if budget == 0 {
                return Ok(Drive::Again);
            }
            io.stats.reads += 1;
            match self.stream.read(io.scratch) {
                Ok(0) => {
                    self.read = ReadSide::Eof;
                    return Ok(Drive::Close(CloseReason::Done));
                }
                Ok(n) => {
                    io.stats.bytes_in += n as u64;
                    budget = budget.saturating_sub(n);
                    if n < io.scratch.len() {
                        self.read.short_read(); // see ReadSide::short_read
                        if !self.read.is_readable() {
                            return Ok(Drive::Wait);
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.read.empty();
                    return Ok(Drive::Wait);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // The peer reset after our FIN: nothing is lost, it has all we sent
                // or has given up on it.
                Err(_) => return Ok(Drive::Close(CloseReason::Done)),
            }
        }
    }

    /// Whether input left behind a finished stream may still go to the session.
    /// `Closing` qualifies: on shutdown, complete requests already received are
    /// answered (a session's own `Close` clears the input instead).
    pub(super) fn accepts_requests(&self) -> bool {
        matches!(
            self.state,
            State::Open | State::PeerClosedRead { .. } | State::Closing { .. }
        )
    }

    /// Hand `io.scratch[..n]` (fresh bytes) to the session, together with any
    /// partial request kept from before.
    pub(super) fn feed_scratch(&mut self, io: &mut Io<'_>, n: usize) -> io::Result<Option<Drive>> {
        if self.input.is_empty() {
            self.mark = io.now;
            // The session reads the scratch buffer while io lends the rest.
            let scratch = std::mem::take(&mut io.scratch);
            let step = self.call_session(io, |s, ctx, out| s.on_input(ctx, &scratch[..n], out));
            io.scratch = scratch;
            let consumed = step.consumed.min(n);
            if consumed < n {
                self.input.extend_from_slice(&io.scratch[consumed..n]);
            }
            Ok(self.apply(step.next))
        } else {
            let mut input = std::mem::take(&mut self.input);
            input.extend_from_slice(&io.scratch[..n]);
            Ok(self.feed(io, input))
        }
    }

    /// Hand `input` (everything unconsumed) to the session; keep what it leaves.
    pub(super) fn feed(&mut self, io: &mut Io<'_>, mut input: Vec<u8>) -> Option<Drive> {
        let step = self.call_session(io, |s, ctx, out| s.on_input(ctx, &input, out));
        let consumed = step.consumed.min(input.len());
        if consumed == input.len() {
            self.input = Vec::new();
        } else {
            if consumed > 0 {
                // The leftover is the start of a new partial request.
                input.drain(..consumed);
                self.mark = io.now;
            }
            self.input = input;
        }
        self.apply(step.next)
    }
}
