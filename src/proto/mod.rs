//! The one protocol the core carries: echo, over TCP and UDP, the smallest
//! [`Session`](crate::Session) and [`DatagramService`](crate::DatagramService)
//! (the HTTP and Redis-protocol servers are crates of their own: `evloop-http`,
//! `evloop-kv`).

pub mod echo;
