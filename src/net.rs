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
}

impl Default for ListenOptions {
    fn default() -> Self {
        ListenOptions {
            backlog: 1024,
            reuse_port: false,
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
