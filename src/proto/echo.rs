//! RFC 862 echo, on TCP and UDP: the smallest protocol that exercises every part
//! of the reactor (streaming input, backpressure when the peer does not read,
//! half-close, datagrams of every size).

use std::net::SocketAddr;

use crate::service::{Ctx, DatagramService, Datagrams, Session, Step, StreamService};

/// Echo over TCP: every byte received is sent back.
#[derive(Debug, Default, Clone, Copy)]
pub struct Echo;

impl Session for Echo {
    fn on_input(&mut self, _ctx: &mut Ctx<'_>, input: &[u8], out: &mut Vec<u8>) -> Step {
        out.extend_from_slice(input);
        Step::read(input.len())
    }
}

impl StreamService for Echo {
    fn open(&mut self, _peer: SocketAddr) -> Box<dyn Session> {
        // `Echo` has no fields, so this box does not allocate.
        Box::new(Echo)
    }
}

impl DatagramService for Echo {
    /// The reply is exactly the request: echo never amplifies.
    fn on_datagram(&mut self, data: &[u8], from: SocketAddr, out: &mut Datagrams) {
        out.send(data, from);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Detached, Next};
    use std::time::Instant;

    #[test]
    fn echoes_bytes_and_consumes_all() {
        let mut out = b"earlier".to_vec();
        let step = Echo.on_input(&mut Detached::new().ctx(Instant::now()), b"hello", &mut out);
        assert_eq!(step.consumed, 5);
        assert_eq!(step.next, Next::Read);
        assert_eq!(out, b"earlierhello");
    }

    #[test]
    fn datagram_reply_goes_to_sender() {
        let from: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let mut out = Datagrams::default();
        Echo.on_datagram(b"ping", from, &mut out);
        let replies: Vec<_> = out.iter().collect();
        assert_eq!(replies, vec![(&b"ping"[..], from)]);
    }
}
