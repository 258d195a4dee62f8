//! Protocol sessions (sans-I/O): each turns input bytes into output bytes and a
//! [`Next`](crate::Next) decision, and never touches a socket.

pub mod echo;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "resp")]
pub mod resp;
