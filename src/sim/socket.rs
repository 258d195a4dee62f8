//! In-memory sockets: each direction of a simulated connection is a [`Channel`]
//! that one end writes and the other reads, with the edges a kernel socket would
//! raise.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::rc::Rc;

use mio::net::TcpStream;

use crate::conn::Transport;

/// One direction of a connection: bytes written and not yet read.
#[derive(Debug)]
pub(crate) struct Channel {
    pub(crate) data: VecDeque<u8>,
    /// How many more bytes a write takes before it blocks (the reader's receive
    /// window plus the writer's send buffer). Writes take from it; a reader that
    /// models a draining peer gives back what it read.
    pub(crate) room: usize,
    /// The writer shut down writing (FIN after `data`).
    pub(crate) fin: bool,
    /// The writer reset the connection: reads fail once `data` is read.
    pub(crate) reset: bool,
    /// The reader is gone: writes fail.
    pub(crate) reader_gone: bool,
    /// A write found no room: the writer waits for a writable edge.
    pub(crate) writer_blocked: bool,
    /// Something for the reader happened (data, FIN, reset) since it last looked.
    pub(crate) readable_edge: bool,
    /// Room appeared for a blocked writer since it last looked.
    pub(crate) writable_edge: bool,
}

impl Channel {
    pub(crate) fn new(room: usize) -> Rc<RefCell<Channel>> {
        Rc::new(RefCell::new(Channel {
            data: VecDeque::new(),
            room,
            fin: false,
            reset: false,
            reader_gone: false,
            writer_blocked: false,
            readable_edge: false,
            writable_edge: false,
        }))
    }

    /// The peer end writes `bytes` whatever the room (a test's client sends
    /// freely: its own send buffer is not modelled).
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.data.extend(bytes);
        self.readable_edge = true;
    }

    /// The reading end takes everything; with `give_back`, the room grows by what
    /// was taken (a peer that reads frees its window).
    pub(crate) fn take_all(&mut self, give_back: bool) -> Vec<u8> {
        let taken: Vec<u8> = self.data.drain(..).collect();
        if give_back && !taken.is_empty() {
            self.room = self.room.saturating_add(taken.len());
            self.wake_writer();
        }
        taken
    }

    /// Set the room; more room wakes a blocked writer.
    pub(crate) fn set_room(&mut self, room: usize) {
        let grew = room > self.room;
        self.room = room;
        if grew {
            self.wake_writer();
        }
    }

    fn wake_writer(&mut self) {
        if self.writer_blocked && self.room > 0 {
            self.writer_blocked = false;
            self.writable_edge = true;
        }
    }
}

/// A simulated connection's socket: reads from `rx`, writes to `tx`.
#[derive(Debug)]
pub(crate) struct SimSocket {
    pub(crate) rx: Rc<RefCell<Channel>>,
    pub(crate) tx: Rc<RefCell<Channel>>,
    pub(crate) peer: SocketAddr,
    /// A connect to an address nobody listens on: `take_error` says refused.
    pub(crate) refused: bool,
}

impl Read for SimSocket {
    /// Like a kernel socket: everything that has arrived, up to `buf`'s size (so
    /// a short read proves the queue empty, the rule `conn` relies on).
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut rx = self.rx.borrow_mut();
        if rx.data.is_empty() {
            if rx.reset {
                return Err(io::ErrorKind::ConnectionReset.into());
            }
            return if rx.fin {
                Ok(0)
            } else {
                Err(io::ErrorKind::WouldBlock.into())
            };
        }
        let n = rx.data.len().min(buf.len());
        for (slot, byte) in buf.iter_mut().zip(rx.data.drain(..n)) {
            *slot = byte;
        }
        Ok(n)
    }
}

impl Write for SimSocket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut tx = self.tx.borrow_mut();
        if tx.fin {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        if tx.reader_gone {
            return Err(io::ErrorKind::ConnectionReset.into());
        }
        if tx.room == 0 {
            tx.writer_blocked = true;
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(tx.room);
        tx.room -= n;
        if n < buf.len() {
            tx.writer_blocked = true;
        }
        tx.push(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Transport for SimSocket {
    fn shutdown_write(&mut self) -> io::Result<()> {
        let mut tx = self.tx.borrow_mut();
        tx.fin = true;
        tx.readable_edge = true;
        Ok(())
    }

    fn take_error(&self) -> io::Result<Option<io::Error>> {
        Ok(self
            .refused
            .then(|| io::ErrorKind::ConnectionRefused.into()))
    }

    fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.peer)
    }

    fn socket(&self) -> Option<&TcpStream> {
        None // no descriptor: relays copy, never splice
    }
}

impl Drop for SimSocket {
    /// The socket closes: the peer reads what was sent, then FIN; its writes fail.
    fn drop(&mut self) {
        let mut tx = self.tx.borrow_mut();
        tx.fin = true;
        tx.readable_edge = true;
        let mut rx = self.rx.borrow_mut();
        rx.reader_gone = true;
        rx.writable_edge = rx.writer_blocked;
    }
}
