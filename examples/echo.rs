//! RFC 862 echo server on TCP and UDP, same address and port.
//!
//! ```text
//! cargo run --release --example echo -- --listen 127.0.0.1:7007
//! nc 127.0.0.1 7007          # TCP: type a line, get it back
//! nc -u 127.0.0.1 7007       # UDP: each line is a datagram
//! ```

mod common;

use std::io;
use std::net::SocketAddr;

use evloop::net::{bind_tcp, bind_udp, ListenOptions};
use evloop::proto::echo::Echo;
use evloop::{Config, Reactor};
use mio::net::{TcpListener, UdpSocket};

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
    let defaults = common::ServerArgs::new(([127, 0, 0, 1], 7007).into(), Config::default());
    let mut batching = true;
    let mut args = common::parse_args(NAME, HELP, defaults, |flag, _| {
        let known = flag == "no-udp-batching";
        batching &= !known;
        known
    });
    args.config.udp_batching = batching;
    common::init_logging();
    let config = args.config.clone();
    common::serve_threads(NAME, &args, move |listen, options| {
        let (tcp, udp) = bind_pair(listen, options)?;
        let mut reactor = Reactor::new(config.clone())?;
        let tcp = reactor.add_tcp_listener(tcp, Echo)?;
        let udp = reactor.add_udp_socket(udp, Echo)?;
        Ok((
            reactor,
            tcp,
            vec![format!("tcp://{tcp}"), format!("udp://{udp}")],
        ))
    })
}

/// Bind TCP and UDP on the same port. With port 0 the kernel picks the TCP port;
/// if UDP happens to be taken on it, try another.
fn bind_pair(addr: SocketAddr, options: ListenOptions) -> io::Result<(TcpListener, UdpSocket)> {
    let mut attempts = 0;
    loop {
        let tcp = bind_tcp(addr, options)?;
        let port = tcp.local_addr()?.port();
        match bind_udp(SocketAddr::new(addr.ip(), port), options) {
            Ok(udp) => return Ok((tcp, udp)),
            Err(e) if addr.port() == 0 && attempts < 16 => {
                log::debug!("udp port {port} taken ({e}); retrying");
                attempts += 1;
            }
            Err(e) => return Err(e),
        }
    }
}
