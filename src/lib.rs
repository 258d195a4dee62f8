//! evloop: a single-threaded event-loop network server on `mio` readiness polling.
//!
//! A [`Reactor`] owns one `mio::Poll` and does every socket syscall of the server:
//! it accepts TCP connections into a slab, drives each one's state machine from
//! readiness events, and answers UDP datagrams. Protocols are sans-I/O
//! [`Session`]s (see [`service`]): bytes in, bytes out, and a decision.
//!
//! # A server in forty lines
//!
//! A line protocol that answers every line in upper case: a [`Session`] per
//! connection, a [`StreamService`] that opens them, a reactor on port 0 in its own
//! thread, one client round trip, and a graceful stop through a [`Handle`].
//!
//! ```
//! use std::io::{BufRead, BufReader, Write};
//! use std::net::{SocketAddr, TcpStream};
//! use evloop::{net, Config, Ctx, Next, Reactor, Session, Step, StreamService};
//!
//! /// Answers each complete line in upper case; leaves a partial line for later.
//! struct Upper;
//!
//! impl Session for Upper {
//!     fn on_input(&mut self, _ctx: &mut Ctx<'_>, input: &[u8], out: &mut Vec<u8>) -> Step {
//!         let mut consumed = 0;
//!         while let Some(end) = input[consumed..].iter().position(|&b| b == b'\n') {
//!             let line = &input[consumed..consumed + end + 1];
//!             out.extend(line.iter().map(u8::to_ascii_uppercase));
//!             consumed += end + 1;
//!         }
//!         if input.len() - consumed > 4096 {
//!             return Step { consumed: input.len(), next: Next::Close }; // line too long
//!         }
//!         Step::read(consumed)
//!     }
//! }
//!
//! struct UpperService;
//!
//! impl StreamService for UpperService {
//!     fn open(&mut self, _peer: SocketAddr) -> Box<dyn Session> {
//!         Box::new(Upper)
//!     }
//! }
//!
//! # fn main() -> std::io::Result<()> {
//! let (tx, rx) = std::sync::mpsc::channel();
//! let server = std::thread::spawn(move || -> std::io::Result<()> {
//!     let mut reactor = Reactor::new(Config::default())?;
//!     let listener = net::bind_tcp(([127, 0, 0, 1], 0).into(), Default::default())?;
//!     let addr = reactor.add_tcp_listener(listener, UpperService)?;
//!     tx.send((addr, reactor.handle())).unwrap();
//!     reactor.run() // until the handle asks it to stop
//! });
//! let (addr, handle) = rx.recv().unwrap();
//!
//! let mut client = TcpStream::connect(addr)?;
//! client.write_all(b"hello, evloop\n")?;
//! let mut reply = String::new();
//! BufReader::new(&client).read_line(&mut reply)?;
//! assert_eq!(reply, "HELLO, EVLOOP\n");
//!
//! handle.shutdown(); // stop accepting, deliver what is owed, return from run()
//! server.join().unwrap()?;
//! # Ok(())
//! # }
//! ```
//!
//! # Features and the crates beside this one
//!
//! This crate is the core: [`Reactor`], [`service`], [`net`], [`sim`] and
//! [`proto::echo`], on mio, slab, log, socket2, signal-hook(-mio), quinn-udp and
//! rustix. One feature, off by default: `tls` (the `tls` module, on rustls with
//! the ring provider). The protocols are crates of their own in the same
//! workspace: `evloop-http` (an HTTP/1.1 server whose routes the application
//! supplies as a handler), `evloop-kv` (a Redis-protocol key-value server) and
//! `evloop-proxy-protocol` (the PROXY protocol in front of any service).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod conn;
mod ctx;
mod hub;
pub mod net;
pub mod proto;
mod reactor;
mod sendfile;
pub mod service;
pub mod sim;
mod splice;
mod stats;
mod stream;
mod timer;
#[cfg(feature = "tls")]
pub mod tls;
mod udp;

pub use reactor::{Config, Handle, Reactor};
pub use service::{
    ConnId, Ctx, DatagramService, Datagrams, Detached, FileRange, Next, OutputLimit, PushError,
    Session, Step, StreamService,
};
pub use stats::Stats;
