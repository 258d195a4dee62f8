//! evloop: a single-threaded event-loop network server on `mio` readiness polling.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod proto;
pub mod service;

pub use service::{DatagramService, Datagrams, Next, Session, Step, StreamService};
