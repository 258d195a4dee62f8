//! RFC 862 echo server on TCP and UDP, same address and port.
//!
//! ```text
//! cargo run --release --example echo -- --listen 127.0.0.1:7007
//! nc 127.0.0.1 7007          # TCP: type a line, get it back
//! nc -u 127.0.0.1 7007       # UDP: each line is a datagram
//! ```

mod common;

use evloop::proto::echo::Echo;
use evloop::{Config, Reactor};

const NAME: &str = "echo";
const HELP: &str = "\
echo: RFC 862 echo server on TCP and UDP (same address and port)

USAGE: echo [OPTIONS]

OPTIONS:
  --listen ADDR          address to bind, IPv4 or [IPv6] (default 127.0.0.1:7007;
                         port 0 picks a free port, printed on start)
  --max-connections N    TCP connections served at once (default 10000)
  --idle-timeout SECS    close TCP connections idle this long, 0 = never (default 60)
  --no-udp-batching      one recv_from and one send_to per datagram instead of
                         recvmmsg/sendmmsg/GSO batches (to measure the difference)
  -h, --help             print this help

Prints `listening on tcp://IP:PORT udp://IP:PORT`, then serves until SIGINT/SIGTERM.
Logging: RUST_LOG=debug (default info).
";

fn main() {
    let mut defaults = common::ServerArgs::new(([127, 0, 0, 1], 7007).into(), Config::default());
    defaults.udp = true;
    let mut batching = true;
    let mut args = common::parse_args(NAME, HELP, defaults, |flag, _| {
        let known = flag == "no-udp-batching";
        batching &= !known;
        known
    });
    args.config.udp_batching = batching;
    common::init_logging();
    let config = args.config.clone();
    common::serve_threads(NAME, &args, move |mut sockets| {
        let mut reactor = Reactor::new(config.clone())?;
        let mut urls = sockets.serve_streams(&mut reactor, "tcp", || Echo)?;
        for udp in sockets.udp.drain(..) {
            let udp = reactor.add_udp_socket(mio::net::UdpSocket::from_std(udp), Echo)?;
            urls.push(format!("udp://{udp}"));
        }
        Ok((reactor, urls))
    })
}
