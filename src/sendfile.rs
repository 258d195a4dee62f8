//! The kernel's file-to-socket path: `sendfile(2)`, and `send(2)` with `MSG_MORE`
//! so a response head written just before a file leaves in the same segment as the
//! file's first bytes instead of in a small one of its own.
//!
//! Linux only; elsewhere both report `Unsupported` / fall back to a plain write,
//! and the connection copies the file through user space (see `conn/output.rs`).

use std::fs::File;
use std::io;

use mio::net::TcpStream;

/// Most bytes one `sendfile` call is asked for (Linux moves at most 0x7ffff000).
pub(crate) const SENDFILE_MAX: u64 = 0x7fff_f000;

#[cfg(target_os = "linux")]
mod imp {
    use super::*;
    use rustix::net::SendFlags;

    /// `sendfile(socket, file, &mut offset, count)`: the bytes moved.
    pub(crate) fn send_file(
        socket: &TcpStream,
        file: &File,
        offset: &mut u64,
        count: usize,
    ) -> io::Result<usize> {
        Ok(rustix::fs::sendfile(socket, file, Some(offset), count)?)
    }

    /// `send(socket, buf, MSG_MORE)`: more data follows at once.
    pub(crate) fn send_more(socket: &TcpStream, buf: &[u8]) -> io::Result<usize> {
        Ok(rustix::net::send(socket, buf, SendFlags::MORE)?)
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use super::*;
    use std::io::Write;

    pub(crate) fn send_file(
        _socket: &TcpStream,
        _file: &File,
        _offset: &mut u64,
        _count: usize,
    ) -> io::Result<usize> {
        Err(io::ErrorKind::Unsupported.into())
    }

    pub(crate) fn send_more(mut socket: &TcpStream, buf: &[u8]) -> io::Result<usize> {
        socket.write(buf)
    }
}

pub(crate) use imp::{send_file, send_more};
