//! Where a server listens: TCP (`--listen`), a Unix-domain socket (`--unix`), or
//! the sockets systemd passed (socket activation), one set per reactor thread.
//!
//! Socket activation follows `sd_listen_fds(3)`: the sockets are taken only when
//! `LISTEN_PID` names this process and `LISTEN_FDS` counts them (from descriptor
//! 3 on); `LISTEN_PID`, `LISTEN_FDS` and `LISTEN_FDNAMES` are then removed from
//! the environment, so a child process does not take them too, and every taken
//! descriptor is marked close-on-exec. The `listenfd` crate does the taking: it
//! checks each descriptor's socket type and family before wrapping it (a wrong
//! one is an error, not a misused descriptor), and it is the one place here that
//! needs `unsafe` (adopting a raw descriptor), which this crate's code never
//! writes. It is lenient where `sd_listen_fds` is not (a missing `LISTEN_PID` is
//! accepted), so the PID is checked here first.

use std::io;
use std::net::SocketAddr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use evloop::net::{bind_tcp, bind_udp, bind_unix, ListenOptions};
use evloop::{Reactor, StreamService};

use super::{fatal, handover, ServerArgs};

/// The sockets one reactor serves, bound (or inherited) and not yet registered.
#[derive(Debug, Default)]
pub struct Sockets {
    pub tcp: Vec<std::net::TcpListener>,
    /// TCP listeners that serve TLS (`--tls-listen`, kv's `--tls-port`).
    pub tls_tcp: Vec<std::net::TcpListener>,
    /// The TLS config: for `tls_tcp`, and for `tcp` too if there is no
    /// separate TLS port (`tls_everywhere`).
    #[cfg(feature = "tls")]
    pub tls: Option<std::sync::Arc<evloop::tls::rustls::ServerConfig>>,
    /// Every TCP listener serves TLS (`--tls-cert` without `--tls-listen`).
    pub tls_everywhere: bool,
    pub unix: Vec<std::os::unix::net::UnixListener>,
    pub udp: Vec<std::net::UdpSocket>,
    /// Stream services are wrapped in the PROXY protocol (`--proxy-protocol`).
    pub proxy: Option<evloop_proxy_protocol::ProxyConfig>,
}

impl Sockets {
    /// The same sockets again (duplicated descriptors), for another reactor: every
    /// reactor that registers one accepts from the same queue.
    pub(super) fn try_clone(&self) -> io::Result<Sockets> {
        Ok(Sockets {
            tcp: self
                .tcp
                .iter()
                .map(|s| s.try_clone())
                .collect::<Result<_, _>>()?,
            tls_tcp: self
                .tls_tcp
                .iter()
                .map(|s| s.try_clone())
                .collect::<Result<_, _>>()?,
            #[cfg(feature = "tls")]
            tls: self.tls.clone(),
            tls_everywhere: self.tls_everywhere,
            unix: self
                .unix
                .iter()
                .map(|s| s.try_clone())
                .collect::<Result<_, _>>()?,
            udp: self
                .udp
                .iter()
                .map(|s| s.try_clone())
                .collect::<Result<_, _>>()?,
            proxy: self.proxy.clone(),
        })
    }

    /// The first TCP listener's address (the one clients are told about).
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.tcp.first().and_then(|l| l.local_addr().ok())
    }

    /// Serve a service from `make` on every stream listener (TCP and Unix), and
    /// return their URLs for the `listening on` line: `SCHEME://IP:PORT` and
    /// `unix:PATH`. UDP sockets are left for the caller.
    pub fn serve_streams<S: StreamService + 'static>(
        &mut self,
        reactor: &mut Reactor,
        scheme: &str,
        mut make: impl FnMut() -> S,
    ) -> io::Result<Vec<String>> {
        let mut listeners: Vec<Listening> = Vec::new();
        #[cfg(feature = "tls")]
        if let Some(config) = &self.tls {
            let tls = |l| Listening::Tls(l, std::sync::Arc::clone(config));
            if self.tls_everywhere {
                listeners.extend(self.tcp.drain(..).map(tls));
            }
            listeners.extend(self.tls_tcp.drain(..).map(tls));
        }
        listeners.extend(self.tcp.drain(..).map(Listening::Tcp));
        listeners.extend(self.unix.drain(..).map(Listening::Unix));
        let mut urls = Vec::new();
        for listener in listeners {
            if let Some(config) = &self.proxy {
                let service = evloop_proxy_protocol::ProxyProtocol::new(make(), config.clone());
                urls.push(listener.serve(reactor, scheme, service)?);
                continue;
            }
            urls.push(listener.serve(reactor, scheme, make())?);
        }
        Ok(urls)
    }
}

/// One stream listener of either kind.
enum Listening {
    Tcp(std::net::TcpListener),
    #[cfg(feature = "tls")]
    Tls(
        std::net::TcpListener,
        std::sync::Arc<evloop::tls::rustls::ServerConfig>,
    ),
    Unix(std::os::unix::net::UnixListener),
}

impl Listening {
    /// Serve `service` here; the URL for the `listening on` line.
    fn serve<S: StreamService + 'static>(
        self,
        reactor: &mut Reactor,
        scheme: &str,
        service: S,
    ) -> io::Result<String> {
        Ok(match self {
            Listening::Tcp(l) => {
                let addr = reactor.add_tcp_listener(mio::net::TcpListener::from_std(l), service)?;
                format!("{scheme}://{addr}")
            }
            #[cfg(feature = "tls")]
            Listening::Tls(l, config) => {
                let l = mio::net::TcpListener::from_std(l);
                let addr = reactor.add_tls_listener(l, config, service)?;
                // https, rediss.
                format!("{scheme}s://{addr}")
            }
            Listening::Unix(l) => {
                let addr =
                    reactor.add_unix_listener(mio::net::UnixListener::from_std(l), service)?;
                match addr.as_pathname() {
                    Some(path) => format!("unix:{}", path.display()),
                    None => "unix:(unnamed)".to_owned(),
                }
            }
        })
    }
}

/// The sockets for `args.threads` reactors, or exit with a message: the sockets
/// systemd passed if this process was socket-activated, otherwise `--listen`
/// (TCP, plus UDP on the same port for a server that sets `args.udp`) unless only
/// `--unix` was asked for, and `--unix`. With several threads each gets its own
/// TCP (and UDP) socket bound with `SO_REUSEPORT`, and duplicates of the Unix and
/// inherited ones.
/// With `--handover PATH`, the sockets of a predecessor serving `PATH` are taken
/// instead (see `handover.rs`).
///
/// Also returns what happens around serving: the hand-over, and removing the
/// `--unix` socket file at exit.
pub fn bind_all(name: &str, args: &ServerArgs) -> (Vec<Sockets>, Bound) {
    let mut bound = Bound::default();
    let threads = args.threads.max(1);
    let taken = args
        .handover
        .as_deref()
        .and_then(|path| handover::take_over(name, path));
    let sets = match taken {
        Some(taken) => {
            let mut taken = taken;
            let groups = std::mem::take(&mut taken.groups);
            log::info!(
                "took over {} socket groups from the predecessor",
                groups.len()
            );
            bound.taken = Some(taken);
            handover::spread(name, groups, threads)
        }
        None => bind_sets(name, args, &mut bound),
    };
    if !bound.activated {
        bound.note_unix_files(&sets);
    }
    if let Some(path) = &args.handover {
        let offer = handover::Offer::new(path, &sets)
            .unwrap_or_else(|e| fatal(name, format_args!("--handover: {e}")));
        bound.offer = Some(offer);
    }
    (with_tls(args, with_proxy(args, sets)), bound)
}

/// Every set serves TLS with `args`' config.
#[cfg(feature = "tls")]
fn with_tls(args: &ServerArgs, mut sets: Vec<Sockets>) -> Vec<Sockets> {
    for set in &mut sets {
        set.tls.clone_from(&args.tls);
        set.tls_everywhere = args.tls.is_some() && args.tls_listen.is_none();
    }
    sets
}

#[cfg(not(feature = "tls"))]
fn with_tls(_: &ServerArgs, sets: Vec<Sockets>) -> Vec<Sockets> {
    sets
}

fn bind_sets(name: &str, args: &ServerArgs, bound: &mut Bound) -> Vec<Sockets> {
    let threads = args.threads.max(1);
    if let Some(first) = activated(name) {
        if args.listen_given || args.unix.is_some() {
            log::warn!("socket-activated: --listen and --unix are ignored");
        }
        bound.activated = true;
        return clones(name, first, threads);
    }
    let mut options = args.listen_options;
    options.reuse_port = threads > 1;
    let mut sets: Vec<Sockets> = Vec::with_capacity(threads);
    if args.tcp_wanted() {
        let mut addr = args.listen;
        let mut tls_addr = args.tls_listen;
        for _ in 0..threads {
            let (tcp, udp) = bind_pair(addr, options, args.udp)
                .unwrap_or_else(|e| fatal(name, format_args!("cannot bind {addr}: {e}")));
            if let Ok(bound) = tcp.local_addr() {
                addr = bound; // the others share the port the first one got
            }
            let mut tls_tcp = Vec::new();
            if let Some(at) = tls_addr {
                let (l, _) = bind_pair(at, options, false)
                    .unwrap_or_else(|e| fatal(name, format_args!("cannot bind {at}: {e}")));
                tls_addr = l.local_addr().ok();
                tls_tcp.push(l);
            }
            sets.push(Sockets {
                tcp: vec![tcp],
                tls_tcp,
                udp: udp.into_iter().collect(),
                ..Sockets::default()
            });
        }
    }
    if let Some(path) = &args.unix {
        let listener = bind_unix(path, args.listen_options, args.unix_perm)
            .unwrap_or_else(|e| fatal(name, format_args!("cannot bind {}: {e}", path.display())));
        let listener = std::os::unix::net::UnixListener::from(std::os::fd::OwnedFd::from(listener));
        let unix = Sockets {
            unix: vec![listener],
            ..Sockets::default()
        };
        let unix = clones(name, unix, threads);
        if sets.is_empty() {
            return unix;
        }
        for (set, mut u) in sets.iter_mut().zip(unix) {
            set.unix.append(&mut u.unix);
        }
    }
    sets
}

/// Every set serves with `args`' PROXY protocol settings.
fn with_proxy(args: &ServerArgs, mut sets: Vec<Sockets>) -> Vec<Sockets> {
    for set in &mut sets {
        set.proxy.clone_from(&args.proxy);
    }
    sets
}

fn clones(name: &str, first: Sockets, threads: usize) -> Vec<Sockets> {
    let mut sets = Vec::with_capacity(threads);
    for _ in 1..threads {
        sets.push(
            first
                .try_clone()
                .unwrap_or_else(|e| fatal(name, format_args!("cannot share a socket: {e}"))),
        );
    }
    sets.insert(0, first);
    sets
}

/// Bind TCP (and, if `udp`, UDP on the same port). With port 0 the kernel picks the
/// TCP port; if UDP happens to be taken on it, another is tried.
fn bind_pair(
    addr: SocketAddr,
    options: ListenOptions,
    udp: bool,
) -> io::Result<(std::net::TcpListener, Option<std::net::UdpSocket>)> {
    let std_tcp =
        |l: mio::net::TcpListener| std::net::TcpListener::from(std::os::fd::OwnedFd::from(l));
    let mut attempts = 0;
    loop {
        let tcp = bind_tcp(addr, options)?;
        if !udp {
            return Ok((std_tcp(tcp), None));
        }
        let port = tcp.local_addr()?.port();
        match bind_udp(SocketAddr::new(addr.ip(), port), options) {
            Ok(u) => {
                let u = std::net::UdpSocket::from(std::os::fd::OwnedFd::from(u));
                return Ok((std_tcp(tcp), Some(u)));
            }
            Err(e) if addr.port() == 0 && attempts < 16 => {
                log::debug!("udp port {port} taken ({e}); retrying");
                attempts += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// The environment variables of socket activation.
const LISTEN_VARS: [&str; 3] = ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"];

/// The sockets systemd passed to this process, if any (see the module docs).
fn activated(name: &str) -> Option<Sockets> {
    std::env::var_os("LISTEN_FDS")?;
    let ours = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|pid| pid.trim().parse::<u32>().ok())
        == Some(std::process::id());
    let names: Vec<String> = std::env::var("LISTEN_FDNAMES")
        .map(|names| names.split(':').map(str::to_owned).collect())
        .unwrap_or_default();
    if !ours {
        // Meant for another process (our parent, say): not ours to take.
        for var in LISTEN_VARS {
            std::env::remove_var(var);
        }
        log::warn!("LISTEN_FDS is set but LISTEN_PID is not this process: binding as usual");
        return None;
    }
    // Takes the descriptors, sets FD_CLOEXEC, and removes LISTEN_PID and LISTEN_FDS.
    let mut fds = listenfd::ListenFd::from_env();
    std::env::remove_var("LISTEN_FDNAMES");
    let mut sockets = Sockets::default();
    for i in 0..fds.len() {
        let fd = 3 + i;
        let label = names.get(i).map_or("unnamed", String::as_str);
        let taken = take_socket(&mut fds, i, &mut sockets)
            .unwrap_or_else(|e| fatal(name, format_args!("passed descriptor {fd} ({label}): {e}")));
        log::info!("socket-activated: descriptor {fd} ({label}) is {taken}");
    }
    if sockets.tcp.is_empty() && sockets.unix.is_empty() && sockets.udp.is_empty() {
        fatal(name, "socket-activated with no sockets (LISTEN_FDS=0)");
    }
    Some(sockets)
}

/// Take descriptor `i` as whichever kind of socket it is, non-blocking.
fn take_socket(
    fds: &mut listenfd::ListenFd,
    i: usize,
    sockets: &mut Sockets,
) -> io::Result<String> {
    if let Ok(Some(l)) = fds.take_tcp_listener(i) {
        l.set_nonblocking(true)?;
        let what = format!("tcp {}", l.local_addr()?);
        sockets.tcp.push(l);
        return Ok(what);
    }
    if let Ok(Some(l)) = fds.take_unix_listener(i) {
        l.set_nonblocking(true)?;
        let addr = l.local_addr()?;
        let what = format!("unix {:?}", addr.as_pathname().unwrap_or(Path::new("")));
        sockets.unix.push(l);
        return Ok(what);
    }
    if let Ok(Some(u)) = fds.take_udp_socket(i) {
        u.set_nonblocking(true)?;
        let what = format!("udp {}", u.local_addr()?);
        sockets.udp.push(u);
        return Ok(what);
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        "not a TCP or Unix stream listener or a UDP socket",
    ))
}

/// What happens around serving, beside the sockets: taking them over from a
/// predecessor and offering them to a successor (`--handover`), and removing the
/// `--unix` socket files this process serves when it exits — unless they were
/// handed over (the successor serves them now) or systemd owns them.
#[derive(Default)]
pub struct Bound {
    /// (path, device, inode) of each socket file, to remove only the very file.
    files: Vec<(PathBuf, u64, u64)>,
    activated: bool,
    taken: Option<handover::Taken>,
    offer: Option<handover::Offer>,
    /// The hand-over socket this process offers at, removed at exit.
    control: Option<PathBuf>,
    handed_over: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Bound {
    fn note_unix_files(&mut self, sets: &[Sockets]) {
        let Some(first) = sets.first() else { return };
        for l in &first.unix {
            let Ok(addr) = l.local_addr() else { continue };
            let Some(path) = addr.as_pathname() else {
                continue;
            };
            if let Ok(meta) = std::fs::symlink_metadata(path) {
                self.files.push((path.to_owned(), meta.dev(), meta.ino()));
            }
        }
    }

    /// The reactors serve now: tell the predecessor, if any, and start offering
    /// the sockets to a successor, if `--handover` was given.
    pub fn serving(
        &mut self,
        name: &'static str,
        ops: &super::Ops,
        drain_timeout: std::time::Duration,
    ) {
        if let Some(taken) = self.taken.take() {
            if let Err(e) = taken.ready() {
                log::warn!("the predecessor did not confirm the hand-over: {e}");
            }
        }
        if let Some(offer) = self.offer.take() {
            self.control = Some(offer.path().to_owned());
            let flag = std::sync::Arc::clone(&self.handed_over);
            offer.start(name, ops.clone(), drain_timeout, flag);
        }
    }

    /// Remove the socket files (the server is exiting).
    pub fn run(self) {
        if self.handed_over.load(std::sync::atomic::Ordering::Acquire) {
            return; // the successor serves the files, and offers at the control path
        }
        if let Some(control) = &self.control {
            let _ = std::fs::remove_file(control);
        }
        for (path, dev, ino) in self.files {
            let same = std::fs::symlink_metadata(&path)
                .is_ok_and(|meta| meta.dev() == dev && meta.ino() == ino);
            if same {
                if let Err(e) = std::fs::remove_file(&path) {
                    log::warn!("removing {}: {e}", path.display());
                }
            }
        }
    }
}
