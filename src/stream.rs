//! The kinds of stream socket the reactor serves: TCP and Unix-domain.
//!
//! The connection state machine (`conn/`) is written against the `Transport`
//! trait; this module is the one place that knows a connection may be a TCP socket
//! or a Unix-domain stream socket, and that a listener may be either. Both are byte
//! streams with the same read/write/shutdown/`WouldBlock` behaviour under epoll, so
//! everything above this seam — sessions, backpressure, half-close, timeouts,
//! pushes, links — is the same for both. What differs is said here: a Unix peer has
//! no address and no Nagle algorithm to switch off, and only TCP sockets are
//! spliced (relays between Unix sockets copy through the scratch buffer).

use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr};

use mio::event::Source;
use mio::net::{TcpListener, TcpStream};
#[cfg(unix)]
use mio::net::{UnixListener, UnixStream};
use mio::{Interest, Registry, Token};

use crate::conn::Transport;

/// An accepted or outbound connection's socket.
#[derive(Debug)]
pub(crate) enum Stream {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(UnixStream),
    /// TCP with TLS on top (boxed: rustls's state is large, and most
    /// connections are plain).
    #[cfg(feature = "tls")]
    Tls(Box<crate::tls::TlsStream>),
}

/// Where an accepted connection came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Peer {
    Tcp(SocketAddr),
    /// A Unix-domain peer: clients do not bind, so there is no address to tell.
    #[cfg(unix)]
    Unix,
}

/// A listening socket.
#[derive(Debug)]
pub(crate) enum ListenSocket {
    Tcp(TcpListener),
    #[cfg(unix)]
    Unix(UnixListener),
}

impl ListenSocket {
    /// Take one queued connection. TCP connections get `TCP_NODELAY`: replies are
    /// written whole, so Nagle's algorithm could only delay them.
    pub(crate) fn accept(&self) -> io::Result<(Stream, Peer)> {
        match self {
            ListenSocket::Tcp(l) => {
                let (stream, peer) = l.accept()?;
                if let Err(e) = stream.set_nodelay(true) {
                    log::debug!("TCP_NODELAY on {peer}: {e}");
                }
                Ok((Stream::Tcp(stream), Peer::Tcp(peer)))
            }
            #[cfg(unix)]
            ListenSocket::Unix(l) => {
                let (stream, _) = l.accept()?;
                Ok((Stream::Unix(stream), Peer::Unix))
            }
        }
    }
}

impl Stream {
    /// The server side of TLS on this accepted TCP connection.
    #[cfg(feature = "tls")]
    pub(crate) fn with_tls(
        self,
        config: &std::sync::Arc<rustls::ServerConfig>,
    ) -> io::Result<Stream> {
        match self {
            Stream::Tcp(tcp) => Ok(Stream::Tls(Box::new(crate::tls::TlsStream::server(
                tcp, config,
            )?))),
            other => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("TLS over {other:?}"),
            )),
        }
    }
}

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Peer::Tcp(addr) => write!(f, "{addr}"),
            #[cfg(unix)]
            Peer::Unix => f.write_str("a unix socket"),
        }
    }
}

/// `$body` for whichever socket a `Stream` or `ListenSocket` holds.
macro_rules! each {
    (Stream, $value:expr, $s:ident => $body:expr) => {
        match $value {
            Stream::Tcp($s) => $body,
            #[cfg(unix)]
            Stream::Unix($s) => $body,
            #[cfg(feature = "tls")]
            Stream::Tls($s) => $body,
        }
    };
    ($ty:ident, $value:expr, $s:ident => $body:expr) => {
        match $value {
            $ty::Tcp($s) => $body,
            #[cfg(unix)]
            $ty::Unix($s) => $body,
        }
    };
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        each!(Stream, self, s => s.read(buf))
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        each!(Stream, self, s => s.write(buf))
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        each!(Stream, self, s => s.write_vectored(bufs))
    }

    fn flush(&mut self) -> io::Result<()> {
        each!(Stream, self, s => s.flush())
    }
}

impl Transport for Stream {
    fn shutdown_write(&mut self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.shutdown(Shutdown::Write),
            #[cfg(unix)]
            Stream::Unix(s) => s.shutdown(Shutdown::Write),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.shutdown_write(),
        }
    }

    fn take_error(&self) -> io::Result<Option<io::Error>> {
        each!(Stream, self, s => s.take_error())
    }

    fn peer_addr(&self) -> io::Result<SocketAddr> {
        match self {
            Stream::Tcp(s) => s.peer_addr(),
            #[cfg(unix)]
            Stream::Unix(_) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "a unix socket peer has no IP address",
            )),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.peer_addr(),
        }
    }

    fn socket(&self) -> Option<&TcpStream> {
        match self {
            Stream::Tcp(s) => Some(s),
            // Bytes must pass through rustls: no splice, no sendfile.
            #[cfg(unix)]
            Stream::Unix(_) => None,
            #[cfg(feature = "tls")]
            Stream::Tls(_) => None,
        }
    }

    fn write_more(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => crate::sendfile::send_more(s, buf),
            #[cfg(unix)]
            Stream::Unix(s) => s.write(buf),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn has_buffered_output(&self) -> bool {
        match self {
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.has_buffered_output(),
            _ => false,
        }
    }

    fn close_in_order(&mut self) {
        #[cfg(feature = "tls")]
        if let Stream::Tls(s) = self {
            s.close_notify();
        }
    }

    fn handshaking(&self) -> bool {
        match self {
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.handshaking(),
            _ => false,
        }
    }
}

/// Both enums register with the poller as the socket they hold.
macro_rules! source_by_variant {
    ($ty:ident) => {
        impl Source for $ty {
            fn register(
                &mut self,
                registry: &Registry,
                token: Token,
                interests: Interest,
            ) -> io::Result<()> {
                each!($ty, self, s => s.register(registry, token, interests))
            }

            fn reregister(
                &mut self,
                registry: &Registry,
                token: Token,
                interests: Interest,
            ) -> io::Result<()> {
                each!($ty, self, s => s.reregister(registry, token, interests))
            }

            fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
                each!($ty, self, s => s.deregister(registry))
            }
        }
    };
}

source_by_variant!(Stream);
source_by_variant!(ListenSocket);
