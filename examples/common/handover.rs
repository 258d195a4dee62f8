//! Zero-downtime restart: the running server hands its listening sockets to its
//! successor over a Unix socket (`SCM_RIGHTS`), as HAProxy's `-x` does, then
//! drains.
//!
//! Every process started with `--handover PATH` first connects to `PATH`: if a
//! predecessor serves it, the predecessor sends its listening sockets (the very
//! sockets, not copies bound anew: the kernel's accept queues stay as they are,
//! so no connection waiting in them is refused or reset), and the successor
//! serves them instead of binding. Then the successor says `READY`; the
//! predecessor closes its end of `PATH`, answers `BYE`, stops accepting
//! ([`evloop::Handle::stop_accepting`]) and drains: health checks fail, each HTTP
//! keep-alive connection gets `Connection: close` on its next response, and the
//! process exits once its last connection has closed (or `--shutdown-timeout`
//! later, gracefully). The successor then offers its sockets at `PATH` in turn.
//! With no process at `PATH` the server binds as usual and offers them there.
//!
//! Handing over every socket — one per reactor with `SO_REUSEPORT` — matters:
//! closing one of several reuseport listeners would drop the connections in its
//! backlog, which is why a restart that binds new reuseport sockets and closes the
//! old ones loses connections and this does not.
//!
//! The message is one line per descriptor, `GROUP KIND` (`tcp`, `unix`, `udp`),
//! after a `evloop-handover 1` line, with the descriptors attached in that order.

use std::io::{self, BufRead, BufReader, IoSlice, IoSliceMut, Write};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustix::net::{
    recvmsg, sendmsg, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, ReturnFlags,
    SendAncillaryBuffer, SendAncillaryMessage, SendFlags,
};

use super::{fatal, Ops, Sockets};

/// Most descriptors in one hand-over (reactors times kinds of socket).
const MAX_FDS: usize = 64;
const HEADER: &str = "evloop-handover 1";
/// How long either side waits for the other.
const PEER_TIMEOUT: Duration = Duration::from_secs(30);

/// The sockets received from a predecessor, one set per predecessor reactor, and
/// the connection to tell it we are ready.
pub struct Taken {
    pub groups: Vec<Sockets>,
    peer: UnixStream,
}

/// Take the sockets of the process serving `path`, if one does. `None`: nobody
/// is there (no file, or a stale one); anything else going wrong is fatal, since
/// binding instead would fail on the predecessor's addresses anyway.
pub fn take_over(name: &str, path: &Path) -> Option<Taken> {
    let peer = match UnixStream::connect(path) {
        Ok(peer) => peer,
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
            ) =>
        {
            return None
        }
        Err(e) => fatal(name, format_args!("--handover {}: {e}", path.display())),
    };
    receive(&peer)
        .map(|groups| Taken { groups, peer })
        .map(Some)
        .unwrap_or_else(|e| {
            fatal(
                name,
                format_args!("taking the sockets over from {}: {e}", path.display()),
            )
        })
}

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

fn receive(peer: &UnixStream) -> io::Result<Vec<Sockets>> {
    peer.set_read_timeout(Some(PEER_TIMEOUT))?;
    peer.set_write_timeout(Some(PEER_TIMEOUT))?;
    let mut text = vec![0u8; 4096];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let got = recvmsg(
        peer,
        &mut [IoSliceMut::new(&mut text)],
        &mut control,
        RecvFlags::CMSG_CLOEXEC,
    )?;
    let mut fds: Vec<OwnedFd> = Vec::new();
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(received) = message {
            fds.extend(received);
        }
    }
    if got.flags.contains(ReturnFlags::CTRUNC) || got.flags.contains(ReturnFlags::TRUNC) {
        return Err(invalid("the hand-over message was truncated"));
    }
    let text = std::str::from_utf8(&text[..got.bytes]).map_err(|_| invalid("not UTF-8"))?;
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        return Err(invalid(format!("not a hand-over: {text:?}")));
    }
    let kinds: Vec<(usize, &str)> = lines
        .map(|line| {
            let (group, kind) = line.split_once(' ').ok_or_else(|| invalid(line))?;
            Ok((group.parse().map_err(|_| invalid(line))?, kind))
        })
        .collect::<io::Result<_>>()?;
    if kinds.len() != fds.len() {
        return Err(invalid(format!(
            "{} sockets announced, {} received",
            kinds.len(),
            fds.len()
        )));
    }
    let mut groups: Vec<Sockets> = Vec::new();
    for ((group, kind), fd) in kinds.into_iter().zip(fds) {
        if group >= MAX_FDS {
            return Err(invalid(format!("group {group}")));
        }
        while groups.len() <= group {
            groups.push(Sockets::default());
        }
        let set = &mut groups[group];
        match kind {
            "tcp" => set.tcp.push(std::net::TcpListener::from(fd)),
            "tls" => set.tls_tcp.push(std::net::TcpListener::from(fd)),
            "unix" => set.unix.push(UnixListener::from(fd)),
            "udp" => set.udp.push(std::net::UdpSocket::from(fd)),
            other => return Err(invalid(format!("unknown kind {other:?}"))),
        }
    }
    if groups.is_empty() {
        return Err(invalid("no sockets"));
    }
    Ok(groups)
}

impl Taken {
    /// We serve the sockets now: tell the predecessor, and wait (bounded) until it
    /// has stopped offering at the hand-over path, so we can offer there.
    pub fn ready(mut self) -> io::Result<()> {
        self.peer.write_all(b"READY\n")?;
        let mut line = String::new();
        BufReader::new(&self.peer).read_line(&mut line)?;
        if line != "BYE\n" {
            return Err(invalid(format!("predecessor answered {line:?}")));
        }
        Ok(())
    }
}

/// The descriptors to give a successor: duplicates of every socket this process
/// serves, by reactor.
pub struct Offer {
    path: PathBuf,
    groups: Vec<Vec<(&'static str, OwnedFd)>>,
}

impl Offer {
    /// Keep duplicates of `sets`' sockets, to hand over from `path`.
    pub fn new(path: &Path, sets: &[Sockets]) -> io::Result<Offer> {
        let mut groups = Vec::new();
        for set in sets {
            let mut fds = Vec::new();
            for l in &set.tcp {
                fds.push(("tcp", l.as_fd().try_clone_to_owned()?));
            }
            for l in &set.tls_tcp {
                fds.push(("tls", l.as_fd().try_clone_to_owned()?));
            }
            for l in &set.unix {
                fds.push(("unix", l.as_fd().try_clone_to_owned()?));
            }
            for u in &set.udp {
                fds.push(("udp", u.as_fd().try_clone_to_owned()?));
            }
            groups.push(fds);
        }
        Ok(Offer {
            path: path.to_owned(),
            groups,
        })
    }

    /// Where the sockets are offered.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Listen at the hand-over path (a thread) and, when a successor connects and
    /// takes the sockets, make this process stop accepting and drain through
    /// `ops`.
    /// `handed_over` is set once the sockets are the successor's.
    pub fn start(
        self,
        name: &'static str,
        ops: Ops,
        drain_timeout: Duration,
        handed_over: std::sync::Arc<std::sync::atomic::AtomicBool>,
    ) {
        let listener = evloop::net::bind_unix(&self.path, Default::default(), Some(0o600))
            .unwrap_or_else(|e| {
                fatal(
                    name,
                    format_args!("--handover {}: {e}", self.path.display()),
                )
            });
        let listener = UnixListener::from(OwnedFd::from(listener));
        if let Err(e) = listener.set_nonblocking(false) {
            fatal(name, format_args!("--handover: {e}"));
        }
        std::thread::spawn(move || {
            for peer in listener.incoming() {
                let peer = match peer {
                    Ok(peer) => peer,
                    Err(e) => {
                        log::warn!("hand-over: accept: {e}");
                        std::thread::sleep(Duration::from_millis(100));
                        continue;
                    }
                };
                match self.hand_over(&peer) {
                    Ok(()) => {
                        handed_over.store(true, std::sync::atomic::Ordering::Release);
                        drop(listener);
                        let _ = std::fs::remove_file(&self.path);
                        let _ = (&peer).write_all(b"BYE\n");
                        log::info!("sockets handed over: stopped accepting, draining");
                        ops.drain_and_stop(drain_timeout);
                        return;
                    }
                    // The successor died or is not one: keep serving, keep offering.
                    Err(e) => log::warn!("hand-over failed: {e}; still serving"),
                }
            }
        });
    }

    fn hand_over(&self, peer: &UnixStream) -> io::Result<()> {
        peer.set_read_timeout(Some(PEER_TIMEOUT))?;
        peer.set_write_timeout(Some(PEER_TIMEOUT))?;
        let mut text = format!("{HEADER}\n");
        let mut fds: Vec<BorrowedFd<'_>> = Vec::new();
        for (group, set) in self.groups.iter().enumerate() {
            for (kind, fd) in set {
                text.push_str(&format!("{group} {kind}\n"));
                fds.push(fd.as_fd());
            }
        }
        if fds.len() > MAX_FDS {
            return Err(invalid(format!("{} sockets, at most {MAX_FDS}", fds.len())));
        }
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS))];
        let mut control = SendAncillaryBuffer::new(&mut space);
        if !control.push(SendAncillaryMessage::ScmRights(&fds)) {
            return Err(invalid("control buffer too small"));
        }
        let sent = sendmsg(
            peer,
            &[IoSlice::new(text.as_bytes())],
            &mut control,
            SendFlags::empty(),
        )?;
        if sent != text.len() {
            return Err(invalid("short hand-over message"));
        }
        let mut line = String::new();
        BufReader::new(peer).read_line(&mut line)?;
        if line != "READY\n" {
            return Err(invalid(format!("successor answered {line:?}")));
        }
        Ok(())
    }
}

/// Spread the predecessor's socket groups over `threads` reactors: each socket
/// goes to exactly one reactor (a socket nobody serves would strand its queue);
/// reactors beyond the groups share duplicates.
pub fn spread(name: &str, groups: Vec<Sockets>, threads: usize) -> Vec<Sockets> {
    let n = groups.len();
    let mut sets: Vec<Sockets> = (0..threads.min(n)).map(|_| Sockets::default()).collect();
    for (i, mut group) in groups.into_iter().enumerate() {
        let set = &mut sets[i % threads];
        set.tcp.append(&mut group.tcp);
        set.tls_tcp.append(&mut group.tls_tcp);
        set.unix.append(&mut group.unix);
        set.udp.append(&mut group.udp);
    }
    for i in n..threads {
        let copy = sets[i % n]
            .try_clone()
            .unwrap_or_else(|e| fatal(name, format_args!("cannot share a socket: {e}")));
        sets.push(copy);
    }
    sets
}
