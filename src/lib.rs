//! evloop: a single-threaded event-loop network server on `mio` readiness polling.
//!
//! A [`Reactor`] owns one `mio::Poll` and does every socket syscall of the server:
//! it accepts TCP connections into a slab, drives each one's state machine from
//! readiness events, and answers UDP datagrams. Protocols are sans-I/O
//! [`Session`]s (see [`service`]): bytes in, bytes out, and a decision.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod conn;
pub mod net;
pub mod proto;
mod reactor;
pub mod service;
mod stats;
mod timer;
mod udp;

pub use reactor::{Config, Handle, Reactor};
pub use service::{DatagramService, Datagrams, Next, Session, Step, StreamService};
pub use stats::Stats;
