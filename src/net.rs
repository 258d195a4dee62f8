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
}
