//! Creating listening sockets with the options a server needs.
//!
//! `mio::net::TcpListener::bind` (like std's) hard-codes a listen backlog of 128,
//! which a connection burst overflows: the kernel then drops SYNs and clients stall
//! for a retransmit timeout. Binding through `socket2` lets us choose the backlog
//! and set `SO_REUSEPORT`, which is how several reactors on several threads share
//! one port without sharing anything else.

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, Socket, Type};

/// How to create a listening socket.
#[derive(Debug, Clone, Copy)]
pub struct ListenOptions {
    /// Completed connections the kernel queues before we accept them (capped by
    /// `net.core.somaxconn`). Default 1024.
    pub backlog: i32,
    /// Set `SO_REUSEPORT`, so that several sockets (one per reactor) can bind the
    /// same address and the kernel spreads connections among them. Default off.
    pub reuse_port: bool,
    /// `SO_SNDBUF` for accepted connections (set on the listener; Linux copies it
    /// to every socket it accepts, so this costs no syscall per connection).
    /// `None` (the default) leaves the kernel's autotuning on, which is fastest
    /// but lets a client that never reads pin up to `net.ipv4.tcp_wmem`'s maximum
    /// (4 MiB by default) of kernel memory per connection; a cap bounds that.
    pub send_buffer: Option<usize>,
}

impl Default for ListenOptions {
    fn default() -> Self {
        ListenOptions {
            backlog: 1024,
            reuse_port: false,
            send_buffer: None,
        }
    }
}

/// A non-blocking TCP listener on `addr` with `SO_REUSEADDR` and the given options.
pub fn bind_tcp(addr: SocketAddr, options: ListenOptions) -> io::Result<mio::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        // Serve exactly the address asked for: `[::]` should not also take IPv4.
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    if options.reuse_port {
        socket.set_reuse_port(true)?;
    }
    if let Some(bytes) = options.send_buffer {
        socket.set_send_buffer_size(bytes)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(options.backlog)?;
    Ok(mio::net::TcpListener::from_std(socket.into()))
}

/// A non-blocking UDP socket on `addr`.
pub fn bind_udp(addr: SocketAddr, options: ListenOptions) -> io::Result<mio::net::UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    if options.reuse_port {
        socket.set_reuse_port(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    Ok(mio::net::UdpSocket::from_std(socket.into()))
}

/// A non-blocking Unix-domain stream listener at `path`, with `options.backlog`
/// (and `options.send_buffer`, if set; `reuse_port` has no meaning here).
///
/// A socket file left at `path` by a process that exited without removing it is
/// removed first — but only after a `connect` to it is refused, so a server still
/// listening there is never robbed of its address (that is `AddrInUse`), and
/// anything at `path` that is not a socket is left alone (`AlreadyExists`). With
/// `mode` (such as `0o660`), the socket file gets those permission bits before the
/// socket listens, so no client outside them can connect in between.
#[cfg(unix)]
pub fn bind_unix(
    path: &std::path::Path,
    options: ListenOptions,
    mode: Option<u32>,
) -> io::Result<mio::net::UnixListener> {
    use std::os::unix::fs::PermissionsExt;

    remove_stale_socket(path)?;
    let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
    if let Some(bytes) = options.send_buffer {
        socket.set_send_buffer_size(bytes)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&socket2::SockAddr::unix(path)?)?;
    if let Some(mode) = mode {
        if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)) {
            let _ = std::fs::remove_file(path);
            return Err(e);
        }
    }
    socket.listen(options.backlog)?;
    Ok(mio::net::UnixListener::from_std(socket.into()))
}

/// Remove a socket file at `path` that nobody listens on any more.
#[cfg(unix)]
fn remove_stale_socket(path: &std::path::Path) -> io::Result<()> {
    use std::os::unix::fs::FileTypeExt;

    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if !meta.file_type().is_socket() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} exists and is not a socket", path.display()),
        ));
    }
    match std::os::unix::net::UnixStream::connect(path) {
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!("another process is listening on {}", path.display()),
        )),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            log::info!("removing stale socket {}", path.display());
            match std::fs::remove_file(path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            }
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_sockets_inherit_the_listeners_send_buffer() {
        let options = ListenOptions {
            send_buffer: Some(64 * 1024),
            ..ListenOptions::default()
        };
        let listener = bind_tcp("127.0.0.1:0".parse().unwrap(), options).unwrap();
        let addr = listener.local_addr().unwrap();
        let _client = std::net::TcpStream::connect(addr).unwrap();
        let listening = socket2::SockRef::from(&listener);
        listening.set_nonblocking(false).unwrap();
        let (accepted, _) = listening.accept().unwrap();
        // Linux doubles the value it is given (room for bookkeeping).
        let size = accepted.send_buffer_size().unwrap();
        assert!(
            (64 * 1024..=128 * 1024).contains(&size),
            "accepted socket's SO_SNDBUF is {size}"
        );
        let default = bind_tcp("127.0.0.1:0".parse().unwrap(), ListenOptions::default()).unwrap();
        let _client2 = std::net::TcpStream::connect(default.local_addr().unwrap()).unwrap();
        let listening = socket2::SockRef::from(&default);
        listening.set_nonblocking(false).unwrap();
        let (autotuned, _) = listening.accept().unwrap();
        assert_ne!(autotuned.send_buffer_size().unwrap(), size);
    }

    #[cfg(unix)]
    #[test]
    fn a_stale_unix_socket_is_replaced_but_a_live_one_is_not() {
        use std::os::unix::fs::PermissionsExt;

        let dir = std::env::temp_dir().join(format!("evloop-net-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("stale.sock");
        let _ = std::fs::remove_file(&path);
        // A socket file whose listener is gone: connecting to it is refused.
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        assert!(path.exists());
        let live = bind_unix(&path, ListenOptions::default(), Some(0o600)).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // Someone listens there now: the second bind must not steal the path.
        let err = bind_unix(&path, ListenOptions::default(), None).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
        std::os::unix::net::UnixStream::connect(&path).expect("the live listener kept its path");
        drop(live);
        // A regular file is never removed.
        let file = dir.join("not-a-socket");
        std::fs::write(&file, b"x").unwrap();
        let err = bind_unix(&file, ListenOptions::default(), None).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists, "{err}");
        assert!(file.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
