//! The PROXY protocol (v1 text and v2 binary, as HAProxy's `send-proxy` and
//! `send-proxy-v2` write it) in front of any [`StreamService`].
//!
//! Behind a load balancer every connection comes from the balancer; the PROXY
//! protocol has the balancer send the real client's address first, in a header
//! before the client's bytes. [`ProxyProtocol`] wraps a service: each connection's
//! session first reads that header — and only once the header is complete and
//! valid does it open the wrapped service's session, from the address the header
//! names, and hand it the bytes after the header. The wrapped session never sees
//! a byte of the header, nor any byte from a connection that did not send one.
//!
//! Since anyone who can reach the port could claim any address, only connections
//! from [trusted networks](ProxyConfig::trusted) (the balancers) are served; any
//! other is closed at once. A header that is malformed, too long, cut short by the
//! peer's FIN, or not complete within [`ProxyConfig::header_timeout`] closes the
//! connection too. Each outcome is counted in [`ProxyCounters`]. A `LOCAL`
//! header (the balancer's own health check) or an `UNKNOWN`/unspecified address
//! keeps the connection's own peer address.
//!
//! Framing is done here: a v1 header is one line of at most 107 bytes ending in
//! CRLF; a v2 header is 16 bytes and the length they announce. Only a complete
//! header is handed to the [`ppp`] crate, which validates and decodes it — so a
//! header that arrives in pieces is never mistaken for a malformed one.

use std::cell::RefCell;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use evloop::service::{Ctx, Next, Session, Step, StreamService};

/// The first 12 bytes of every v2 header.
const V2_SIGNATURE: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";
/// The fixed part of a v2 header: signature, version/command, family, length.
const V2_FIXED: usize = 16;
/// Longest v2 header accepted (addresses and TLVs). HAProxy's are well under
/// this; a longer one is refused rather than buffered.
const V2_MAX: usize = 4096;
/// Longest v1 header, CRLF included (the protocol's own limit).
const V1_MAX: usize = 107;
/// The session timer of the header deadline (no wrapped session exists yet to
/// use timer tokens of its own).
const HEADER_TIMER: u64 = u64::MAX;

/// An IP network such as `10.0.0.0/8` or `::1/128`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    /// Whether `ip` is in this network (an IPv4-mapped IPv6 address counts as
    /// the IPv4 address it maps).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Network {
    type Err = String;

    /// `ADDR/PREFIX`, or a bare address (a network of one).
    fn from_str(s: &str) -> Result<Network, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|e| format!("{s:?} is not a network: {e}"))?;
        let addr = addr.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(p) if p <= max => p,
                _ => return Err(format!("{s:?}: the prefix length must be 0 to {max}")),
            },
        };
        Ok(Network { addr, prefix })
    }
}

impl std::fmt::Display for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// What became of connections that had to send a PROXY header; shared by every
/// clone of a [`ProxyConfig`] (and so by every reactor thread using it).
#[derive(Debug, Default)]
pub struct ProxyCounters {
    /// Headers read and accepted: the wrapped service served the connection.
    pub accepted: AtomicU64,
    /// Connections closed at once because their source is not trusted.
    pub untrusted: AtomicU64,
    /// Connections closed because their header was malformed, too long, or cut
    /// short by the peer's FIN.
    pub malformed: AtomicU64,
    /// Connections closed because their header was not complete in time.
    pub timeouts: AtomicU64,
}

impl ProxyCounters {
    /// `(accepted, untrusted, malformed, timeouts)` now.
    pub fn snapshot(&self) -> (u64, u64, u64, u64) {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        (
            get(&self.accepted),
            get(&self.untrusted),
            get(&self.malformed),
            get(&self.timeouts),
        )
    }
}

fn count(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Who may send PROXY headers, and how long a header may take.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// Networks whose connections must start with a PROXY header (the load
    /// balancers). A TCP connection from anywhere else is closed unserved.
    pub trusted: Vec<Network>,
    /// Whether connections on Unix-domain listeners are trusted (who may connect
    /// is then up to the socket file's permissions). Default `true`.
    pub trust_unix: bool,
    /// How long after the connection opens its header must be complete.
    /// Default 5 s.
    pub header_timeout: Duration,
    /// The counters, shared by clones.
    pub counters: Arc<ProxyCounters>,
}

impl ProxyConfig {
    /// Trust `trusted` (and Unix-domain peers), with the default timeout.
    pub fn new(trusted: Vec<Network>) -> ProxyConfig {
        ProxyConfig {
            trusted,
            trust_unix: true,
            header_timeout: Duration::from_secs(5),
            counters: Arc::default(),
        }
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|net| net.contains(ip))
    }
}

/// Where a connection came from, before any header.
#[derive(Debug, Clone, Copy)]
enum Origin {
    Tcp(SocketAddr),
    Unix,
}

/// A [`StreamService`] whose connections must each start with a PROXY header from
/// a trusted source; see the [module documentation](self).
pub struct ProxyProtocol<S> {
    inner: Rc<RefCell<S>>,
    config: Rc<ProxyConfig>,
}

impl<S: StreamService> ProxyProtocol<S> {
    /// Wrap `inner`.
    pub fn new(inner: S, config: ProxyConfig) -> ProxyProtocol<S> {
        ProxyProtocol {
            inner: Rc::new(RefCell::new(inner)),
            config: Rc::new(config),
        }
    }

    fn session(&self, origin: Origin) -> Box<dyn Session>
    where
        S: 'static,
    {
        let trusted = match origin {
            Origin::Tcp(addr) => self.config.trusts(addr.ip()),
            Origin::Unix => self.config.trust_unix,
        };
        Box::new(ProxySession {
            phase: Phase::Header { origin, trusted },
            service: Rc::clone(&self.inner) as Rc<RefCell<dyn StreamService>>,
            config: Rc::clone(&self.config),
        })
    }
}

impl<S: StreamService + 'static> StreamService for ProxyProtocol<S> {
    fn open(&mut self, peer: SocketAddr) -> Box<dyn Session> {
        self.session(Origin::Tcp(peer))
    }

    fn open_unix(&mut self) -> Box<dyn Session> {
        self.session(Origin::Unix)
    }

    fn max_unconsumed(&self) -> usize {
        self.inner.borrow().max_unconsumed().max(V2_MAX)
    }

    fn tick_interval(&self) -> Option<Duration> {
        self.inner.borrow().tick_interval()
    }

    fn on_tick(&mut self, now: Instant) {
        self.inner.borrow_mut().on_tick(now);
    }

    /// The wrapped service's per-iteration work (a log written once for every
    /// session's writes) runs as without the wrapper.
    fn before_poll(&mut self, now: Instant) -> bool {
        self.inner.borrow_mut().before_poll(now)
    }

    fn busy(&self) -> bool {
        self.inner.borrow().busy()
    }
}

enum Phase {
    /// Waiting for the header.
    Header { origin: Origin, trusted: bool },
    /// The wrapped service's session, from the header's address.
    Serving(Box<dyn Session>),
    /// Refused; only `on_closed` remains.
    Done,
}

struct ProxySession {
    phase: Phase,
    service: Rc<RefCell<dyn StreamService>>,
    config: Rc<ProxyConfig>,
}

/// What the bytes so far say about the header.
#[derive(Debug, PartialEq, Eq)]
enum Framed {
    /// Not enough bytes yet to tell.
    Incomplete,
    /// The header is the first this many bytes.
    Complete(usize),
    /// Not a PROXY header, or one longer than allowed.
    Invalid,
}

fn frame(input: &[u8]) -> Framed {
    let n = input.len().min(V2_SIGNATURE.len());
    if input[..n] == V2_SIGNATURE[..n] {
        if input.len() < V2_FIXED {
            return Framed::Incomplete;
        }
        let total = V2_FIXED + usize::from(u16::from_be_bytes([input[14], input[15]]));
        return match total {
            t if t > V2_MAX => Framed::Invalid,
            t if input.len() < t => Framed::Incomplete,
            t => Framed::Complete(t),
        };
    }
    const V1_PREFIX: &[u8] = b"PROXY ";
    let n = input.len().min(V1_PREFIX.len());
    if input[..n] != V1_PREFIX[..n] {
        return Framed::Invalid;
    }
    let window = &input[..input.len().min(V1_MAX)];
    match window.windows(2).position(|w| w == b"\r\n") {
        Some(end) => Framed::Complete(end + 2),
        None if input.len() >= V1_MAX => Framed::Invalid,
        None => Framed::Incomplete,
    }
}

/// The client address a complete header names: `Ok(None)` keeps the
/// connection's own (a `LOCAL` command, an `UNKNOWN` or non-IP address).
fn decode(header: &[u8]) -> Result<Option<SocketAddr>, String> {
    if header.starts_with(V2_SIGNATURE) {
        use ppp::v2::{Addresses, Command, Header};
        let header = Header::try_from(header).map_err(|e| e.to_string())?;
        if header.command == Command::Local {
            return Ok(None);
        }
        return Ok(match header.addresses {
            Addresses::IPv4(a) => Some(SocketAddr::from((a.source_address, a.source_port))),
            Addresses::IPv6(a) => Some(SocketAddr::from((a.source_address, a.source_port))),
            Addresses::Unix(_) | Addresses::Unspecified => None,
        });
    }
    use ppp::v1::{Addresses, Header};
    let header = Header::try_from(header).map_err(|e| e.to_string())?;
    Ok(match header.addresses {
        Addresses::Tcp4(a) => Some(SocketAddr::from((a.source_address, a.source_port))),
        Addresses::Tcp6(a) => Some(SocketAddr::from((a.source_address, a.source_port))),
        Addresses::Unknown => None,
    })
}

impl ProxySession {
    fn refuse(&mut self, counter: &AtomicU64, why: std::fmt::Arguments<'_>) {
        count(counter);
        log::debug!("PROXY protocol: {why}; closing");
        self.phase = Phase::Done;
    }

    fn inner(&mut self) -> Option<&mut Box<dyn Session>> {
        match &mut self.phase {
            Phase::Serving(session) => Some(session),
            _ => None,
        }
    }
}

impl Session for ProxySession {
    fn on_open(&mut self, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Next {
        let Phase::Header { origin, trusted } = self.phase else {
            return Next::Abort;
        };
        if !trusted {
            let config = Rc::clone(&self.config);
            self.refuse(
                &config.counters.untrusted,
                format_args!("{origin:?} is not a trusted source"),
            );
            return Next::Abort;
        }
        ctx.set_timer(self.config.header_timeout, HEADER_TIMER);
        Next::Read
    }

    fn on_input(&mut self, ctx: &mut Ctx<'_>, input: &[u8], out: &mut Vec<u8>) -> Step {
        let origin = match &mut self.phase {
            Phase::Serving(session) => return session.on_input(ctx, input, out),
            Phase::Done => {
                return Step {
                    consumed: input.len(),
                    next: Next::Abort,
                }
            }
            Phase::Header { origin, .. } => *origin,
        };
        let config = Rc::clone(&self.config);
        let len = match frame(input) {
            Framed::Incomplete => return Step::read(0),
            Framed::Invalid => {
                self.refuse(
                    &config.counters.malformed,
                    format_args!("no valid header from {origin:?}"),
                );
                return Step {
                    consumed: input.len(),
                    next: Next::Close,
                };
            }
            Framed::Complete(len) => len,
        };
        let client = match decode(&input[..len]) {
            Ok(client) => client,
            Err(e) => {
                self.refuse(
                    &config.counters.malformed,
                    format_args!("bad header from {origin:?}: {e}"),
                );
                return Step {
                    consumed: input.len(),
                    next: Next::Close,
                };
            }
        };
        count(&config.counters.accepted);
        ctx.cancel_timer(HEADER_TIMER);
        let mut session = {
            let mut service = self.service.borrow_mut();
            match (client, origin) {
                (Some(addr), _) | (None, Origin::Tcp(addr)) => service.open(addr),
                (None, Origin::Unix) => service.open_unix(),
            }
        };
        let next = session.on_open(ctx, out);
        self.phase = Phase::Serving(session);
        if next != Next::Read {
            return Step {
                consumed: len,
                next,
            };
        }
        let session = self.inner().expect("just opened");
        let step = session.on_input(ctx, &input[len..], out);
        Step {
            consumed: len + step.consumed,
            next: step.next,
        }
    }

    fn produce(&mut self, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Next {
        self.inner().map_or(Next::Read, |s| s.produce(ctx, out))
    }

    fn on_peer_closed(&mut self, ctx: &mut Ctx<'_>, input: &[u8], out: &mut Vec<u8>) -> Next {
        if let Phase::Header { origin, .. } = self.phase {
            let config = Rc::clone(&self.config);
            self.refuse(
                &config.counters.malformed,
                format_args!("{origin:?} closed before a complete header"),
            );
            return Next::Close;
        }
        self.inner()
            .map_or(Next::Close, |s| s.on_peer_closed(ctx, input, out))
    }

    fn on_wake(&mut self, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Next {
        self.inner().map_or(Next::Read, |s| s.on_wake(ctx, out))
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, token: u64, out: &mut Vec<u8>) -> Next {
        if let Phase::Header { origin, .. } = self.phase {
            if token == HEADER_TIMER {
                let config = Rc::clone(&self.config);
                self.refuse(
                    &config.counters.timeouts,
                    format_args!("no complete header from {origin:?} in time"),
                );
                return Next::Abort;
            }
        }
        self.inner()
            .map_or(Next::Read, |s| s.on_timer(ctx, token, out))
    }

    fn on_closed(&mut self, ctx: &mut Ctx<'_>) {
        if let Some(session) = self.inner() {
            session.on_closed(ctx);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A service with per-iteration work (as the kv server's append-only file).
    #[derive(Default)]
    struct Batching {
        polls: Rc<std::cell::Cell<u32>>,
    }

    impl StreamService for Batching {
        fn open(&mut self, _peer: SocketAddr) -> Box<dyn Session> {
            unreachable!("no connection in this test")
        }
        fn before_poll(&mut self, _now: Instant) -> bool {
            self.polls.set(self.polls.get() + 1);
            true
        }
        fn busy(&self) -> bool {
            self.polls.get() < 2
        }
    }

    #[test]
    fn the_wrapped_services_per_iteration_work_still_runs() {
        let inner = Batching::default();
        let polls = Rc::clone(&inner.polls);
        let mut wrapped = ProxyProtocol::new(inner, ProxyConfig::new(Vec::new()));
        assert!(wrapped.busy());
        assert!(wrapped.before_poll(Instant::now()), "released what it held");
        wrapped.before_poll(Instant::now());
        assert_eq!(polls.get(), 2);
        assert!(!wrapped.busy());
    }

    #[test]
    fn networks_parse_and_match() {
        let net: Network = "10.1.0.0/16".parse().unwrap();
        assert!(net.contains("10.1.200.3".parse().unwrap()));
        assert!(!net.contains("10.2.0.1".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.0.9".parse().unwrap()));
        let one: Network = "::1".parse().unwrap();
        assert!(one.contains("::1".parse().unwrap()));
        assert!(!one.contains("127.0.0.1".parse().unwrap()));
        let all: Network = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("203.0.113.7".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<Network>().is_err());
        assert!("example.com/8".parse::<Network>().is_err());
    }

    #[test]
    fn headers_are_framed_at_every_split() {
        let v1 = b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\nGET /";
        let v1_len = v1.len() - 5;
        for cut in 0..v1_len {
            assert_eq!(frame(&v1[..cut]), Framed::Incomplete, "v1 cut at {cut}");
        }
        assert_eq!(frame(v1), Framed::Complete(v1_len));
        assert_eq!(
            decode(&v1[..v1_len]).unwrap(),
            Some("192.0.2.1:56324".parse().unwrap())
        );
        let v2 = ppp::v2::Builder::with_addresses(
            ppp::v2::Version::Two | ppp::v2::Command::Proxy,
            ppp::v2::Protocol::Stream,
            (
                "[2001:db8::1]:40000".parse::<SocketAddr>().unwrap(),
                "[2001:db8::2]:6379".parse::<SocketAddr>().unwrap(),
            ),
        )
        .build()
        .unwrap();
        for cut in 0..v2.len() {
            assert_eq!(frame(&v2[..cut]), Framed::Incomplete, "v2 cut at {cut}");
        }
        assert_eq!(frame(&v2), Framed::Complete(v2.len()));
        assert_eq!(
            decode(&v2).unwrap(),
            Some("[2001:db8::1]:40000".parse().unwrap())
        );
        assert_eq!(frame(b"GET / HTTP/1.1\r\n"), Framed::Invalid);
        assert_eq!(frame(b"PROXY TCP4 1.2.3.4"), Framed::Incomplete);
        assert_eq!(frame(&[b'P'; 200]), Framed::Invalid);
        let long = [b"PROXY ".as_slice(), &[b'x'; 120]].concat();
        assert_eq!(frame(&long), Framed::Invalid);
        assert!(decode(b"PROXY TCP4 1.2.3 4.5.6.7 1 2\r\n").is_err());
        assert_eq!(decode(b"PROXY UNKNOWN\r\n").unwrap(), None);
    }
}
