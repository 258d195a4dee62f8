//! Protocol sessions (sans-I/O): each turns input bytes into output bytes and a
//! [`Next`](crate::Next) decision, and never touches a socket.

pub mod echo;
pub mod http;
pub mod resp;
