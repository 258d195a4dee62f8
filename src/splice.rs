//! Zero-copy relaying: `splice(2)` through a pipe, socket to socket, so bulk bytes
//! between linked connections never enter user space (HAProxy's `splice-auto`).
//!
//! Linux only; elsewhere [`Pipe::new`] fails and the relay keeps copying through
//! the reactor's scratch buffer. The pipe is created for a direction of a relay
//! only once a read has filled the whole scratch buffer (a bulk transfer: for
//! small request/response traffic one `read` and one `write` cost less than two
//! splices) and lives as long as the connection.

#[cfg(target_os = "linux")]
mod imp {
    use std::io;
    use std::os::fd::{AsFd, OwnedFd};

    use rustix::pipe::{pipe_with, splice, PipeFlags, SpliceFlags};

    /// One pipe and how many bytes it holds.
    #[derive(Debug)]
    pub(crate) struct Pipe {
        read: OwnedFd,
        write: OwnedFd,
        len: usize,
    }

    impl Pipe {
        pub(crate) fn new() -> io::Result<Pipe> {
            let (read, write) = pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK)?;
            Ok(Pipe {
                read,
                write,
                len: 0,
            })
        }

        /// Bytes in the pipe, not yet spliced out.
        pub(crate) fn len(&self) -> usize {
            self.len
        }

        /// Splice up to `max` bytes from the socket `from` into the pipe.
        /// `Ok(None)`: nothing to read now; `Ok(Some(0))`: the peer's FIN.
        pub(crate) fn fill(&mut self, from: impl AsFd, max: usize) -> io::Result<Option<usize>> {
            let flags = SpliceFlags::NONBLOCK | SpliceFlags::MOVE;
            loop {
                return match splice(&from, None, &self.write, None, max, flags) {
                    Ok(n) => {
                        self.len += n;
                        Ok(Some(n))
                    }
                    Err(rustix::io::Errno::AGAIN) => Ok(None),
                    Err(rustix::io::Errno::INTR) => continue,
                    Err(e) => Err(e.into()),
                };
            }
        }

        /// Splice what the pipe holds into the socket `to`; the bytes moved (0 if
        /// the socket's send buffer is full).
        pub(crate) fn drain(&mut self, to: impl AsFd) -> io::Result<usize> {
            if self.len == 0 {
                return Ok(0);
            }
            let flags = SpliceFlags::NONBLOCK | SpliceFlags::MOVE;
            loop {
                return match splice(&self.read, None, &to, None, self.len, flags) {
                    Ok(n) => {
                        self.len -= n;
                        Ok(n)
                    }
                    Err(rustix::io::Errno::AGAIN) => Ok(0),
                    Err(rustix::io::Errno::INTR) => continue,
                    Err(e) => Err(e.into()),
                };
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use std::io;

    /// No zero-copy path on this platform.
    #[derive(Debug)]
    pub(crate) enum Pipe {}

    impl Pipe {
        pub(crate) fn new() -> io::Result<Pipe> {
            Err(io::ErrorKind::Unsupported.into())
        }

        pub(crate) fn len(&self) -> usize {
            match *self {}
        }

        pub(crate) fn fill<T>(&mut self, _: T, _: usize) -> io::Result<Option<usize>> {
            match *self {}
        }

        pub(crate) fn drain<T>(&mut self, _: T) -> io::Result<usize> {
            match *self {}
        }
    }
}

pub(crate) use imp::Pipe;

/// A pipe for a bulk relay, or `None` (logged) if one cannot be had: out of
/// descriptors, or not on Linux. The relay then goes on copying.
pub(crate) fn bulk_pipe() -> Option<Pipe> {
    match Pipe::new() {
        Ok(pipe) => Some(pipe),
        Err(e) => {
            log::debug!("no pipe for zero-copy relaying ({e}); copying");
            None
        }
    }
}
