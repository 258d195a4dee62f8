//! What a session can ask of the reactor besides answering its own connection:
//! [`Ctx`] and the types around it.

use std::fs::File;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::service::Session;

/// A connection's identity: its slab slot and a generation that tells it apart from
/// every other connection that used the same slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId {
    /// The slab key; a reactor never holds anywhere near 2^32 connections (each
    /// needs a descriptor).
    key: u32,
    generation: u32,
}

impl ConnId {
    pub(crate) fn new(key: usize, generation: u32) -> ConnId {
        let key = u32::try_from(key).expect("slab keys stay below 2^32");
        ConnId { key, generation }
    }

    pub(crate) fn key(self) -> usize {
        self.key as usize
    }

    pub(crate) fn generation(self) -> u32 {
        self.generation
    }

    /// Whether this id names no connection: a [`Detached`] context's, or a
    /// failed connect's (generation 0, which no connection ever has).
    pub fn is_detached(self) -> bool {
        self.generation == 0
    }

    /// A number that is unique among the connections open at one time (Redis's
    /// `CLIENT ID` is such a number, though never reused).
    pub fn as_u64(self) -> u64 {
        (u64::from(self.generation) << 32) | u64::from(self.key)
    }
}

impl std::fmt::Display for ConnId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}#{}", self.key, self.generation)
    }
}

/// How much pushed output a connection may hold unsent, as Redis's
/// `client-output-buffer-limit`: over `hard` bytes the connection is closed at once;
/// over `soft` bytes continuously for `soft_for`, too. Zero disables a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputLimit {
    /// Close as soon as unsent output would pass this many bytes.
    pub hard: usize,
    /// Close when unsent output stays above this many bytes…
    pub soft: usize,
    /// …for this long.
    pub soft_for: Duration,
}

impl OutputLimit {
    /// No limit: pushes are never refused for size. Memory is then bounded only by
    /// what pushers send; use it only where pushers are trusted and bounded.
    pub const UNLIMITED: OutputLimit = OutputLimit {
        hard: 0,
        soft: 0,
        soft_for: Duration::ZERO,
    };
}

impl Default for OutputLimit {
    /// Redis's default for pub/sub clients: 32 MiB hard, 8 MiB for 60 s.
    fn default() -> OutputLimit {
        OutputLimit {
            hard: 32 * 1024 * 1024,
            soft: 8 * 1024 * 1024,
            soft_for: Duration::from_secs(60),
        }
    }
}

/// Why a push was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushError {
    /// The target is closed, closing, or the id is stale.
    Closed,
    /// The push would have taken the target past its hard output limit: the target
    /// has been closed.
    OverLimit,
}

impl std::fmt::Display for PushError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PushError::Closed => "connection closed",
            PushError::OverLimit => "connection over its output limit: closed",
        })
    }
}

impl std::error::Error for PushError {}

/// What the reactor knows of each slot between drives, so that a push can be
/// checked at once without touching the target connection.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SlotView {
    pub(crate) generation: u32,
    /// Open for pushes (not closing or closed).
    pub(crate) open: bool,
    /// Unsent output, pushes queued in this drive included (saturating: past
    /// 4 GiB every limit has long been passed).
    pub(crate) pending: u32,
    /// The hard push limit, 0 for none (saturating, like `pending`). Kept small:
    /// every connection has a view.
    pub(crate) hard_limit: u32,
}

/// A byte count in a [`SlotView`] field.
pub(crate) fn view_bytes(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A request queued by a session, applied by the reactor after the callback.
/// What an outbound TLS connection needs: the config and the server's name.
#[cfg(feature = "tls")]
pub(crate) type ClientTls = (
    std::sync::Arc<rustls::ClientConfig>,
    rustls::pki_types::ServerName<'static>,
);
/// Without TLS there is no outbound TLS connection.
#[cfg(not(feature = "tls"))]
pub(crate) type ClientTls = std::convert::Infallible;

pub(crate) enum Effect {
    /// Open an outbound connection driven by `session`.
    Connect {
        addr: SocketAddr,
        session: Box<dyn Session>,
        /// With TLS on top (client side).
        tls: Option<ClientTls>,
    },
    /// Relay between two connections from now on.
    Link(ConnId, ConnId),
    /// Append `bytes[start..end]` of the effect buffer to the target's output.
    Push {
        to: ConnId,
        start: usize,
        end: usize,
    },
    /// Close the target: a push would pass its hard limit.
    OverLimit(ConnId),
    Wake(ConnId),
    SetTimer {
        on: ConnId,
        at: Instant,
        token: u64,
    },
    CancelTimer {
        on: ConnId,
        token: u64,
    },
    SetOutputLimit {
        on: ConnId,
        limit: OutputLimit,
    },
    /// Close the target at once (CLIENT KILL).
    Kill(ConnId),
    /// Exempt the connection from its idle and request timeouts, or not.
    Waiting {
        on: ConnId,
        waiting: bool,
    },
}

impl std::fmt::Debug for Effect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Effect::Connect { addr, .. } => write!(f, "Connect({addr})"),
            Effect::Link(a, b) => write!(f, "Link({a}, {b})"),
            Effect::Push { to, start, end } => write!(f, "Push({to}, {start}..{end})"),
            Effect::OverLimit(id) => write!(f, "OverLimit({id})"),
            Effect::Wake(id) => write!(f, "Wake({id})"),
            Effect::SetTimer { on, token, .. } => write!(f, "SetTimer({on}, {token})"),
            Effect::CancelTimer { on, token } => write!(f, "CancelTimer({on}, {token})"),
            Effect::SetOutputLimit { on, .. } => write!(f, "SetOutputLimit({on})"),
            Effect::Kill(id) => write!(f, "Kill({id})"),
            Effect::Waiting { on, waiting } => write!(f, "Waiting({on}, {waiting})"),
        }
    }
}

/// Part of a file to send on a connection, as its output: see [`Ctx::send_file`].
///
/// The file is shared (`Rc`): a server keeps one descriptor per file however many
/// connections are sending it.
#[derive(Debug, Clone)]
pub struct FileRange {
    pub(crate) file: Rc<File>,
    pub(crate) offset: u64,
    pub(crate) len: u64,
}

impl FileRange {
    /// `len` bytes of `file` from `offset`.
    pub fn new(file: Rc<File>, offset: u64, len: u64) -> FileRange {
        FileRange { file, offset, len }
    }

    /// The file.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Where the bytes still to send begin.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// How many bytes are still to send.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing is left to send.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Reads what is left into `out`, as a model reactor (a test) stands in for
    /// the real one. A file that has shrunk below the range is `UnexpectedEof`.
    pub fn read_into(&self, out: &mut Vec<u8>) -> std::io::Result<()> {
        use std::os::unix::fs::FileExt;
        let start = out.len();
        let len = usize::try_from(self.len).map_err(|_| std::io::ErrorKind::OutOfMemory)?;
        out.resize(start + len, 0);
        let result = self.file.read_exact_at(&mut out[start..], self.offset);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }
}

/// A file a session queued in one callback, and where in its output it goes.
#[derive(Debug)]
pub(crate) struct QueuedFile {
    /// The length the callback's output buffer had when the file was queued: the
    /// file's bytes go after the buffer's first `at` bytes.
    pub(crate) at: usize,
    pub(crate) range: FileRange,
}

/// The reactor's side of every [`Ctx`]: the slot views and the queue of effects.
#[derive(Debug, Default)]
pub(crate) struct Links {
    pub(crate) slots: Vec<SlotView>,
    pub(crate) effects: Vec<Effect>,
    /// Bytes of queued pushes.
    pub(crate) bytes: Vec<u8>,
    /// Files the current callback queued on its own connection, in order.
    pub(crate) files: Vec<QueuedFile>,
    /// The reactor is shutting down.
    pub(crate) stopping: bool,
}

impl Links {
    pub(crate) fn view(&mut self, id: ConnId) -> Option<&mut SlotView> {
        self.slots
            .get_mut(id.key())
            .filter(|s| s.open && s.generation == id.generation)
    }

    pub(crate) fn set(&mut self, key: usize, view: SlotView) {
        if self.slots.len() <= key {
            self.slots.resize(key + 1, SlotView::default());
        }
        self.slots[key] = view;
    }
}

/// What a session can ask of the reactor besides answering its own connection.
///
/// Every [`Session`](crate::Session) callback gets a [`Ctx`]: the connection's own
/// [`ConnId`], the current time, and requests that reach beyond the connection —
/// push bytes to another connection, wake another connection's session, set and
/// cancel timers. Requests are *queued*, not carried out on the spot: the hub
/// applies them once the callback has returned, the way it frees closed slots only
/// at the end of a turn. So a session never re-enters another session, and no
/// session does I/O.
///
/// A push is checked when it is made, so the pusher gets an answer it can act on: a
/// stale or closed id is [`PushError::Closed`] (ids carry a generation: an id kept
/// after its connection closed never reaches a connection that reused the slot),
/// and a push that would take the target past its hard output limit closes the target
/// (logged) and answers [`PushError::OverLimit`]. Pushed bytes are written when the
/// target next gets its turn in the loop — all pushes to one target in one loop
/// iteration leave in one `write`.
#[derive(Debug)]
pub struct Ctx<'a> {
    id: ConnId,
    now: Instant,
    links: &'a mut Links,
    relayed: u64,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(id: ConnId, now: Instant, links: &'a mut Links) -> Ctx<'a> {
        Ctx {
            id,
            now,
            links,
            relayed: 0,
        }
    }

    pub(crate) fn with_relayed(mut self, relayed: u64) -> Ctx<'a> {
        self.relayed = relayed;
        self
    }

    /// In [`Session::on_closed`](crate::Session::on_closed) of a linked
    /// connection: the bytes it received that the reactor relayed to its peer
    /// (zero elsewhere).
    pub fn relayed(&self) -> u64 {
        self.relayed
    }

    /// This connection's id: keep it to push to or wake this connection later.
    pub fn id(&self) -> ConnId {
        self.id
    }

    /// The reactor is shutting down: a connection closes once the output it has
    /// been given is sent, so a session must not hold replies back for a later
    /// callback (it still hears wakes and timers meanwhile, but may be closed
    /// first).
    pub fn is_stopping(&self) -> bool {
        self.links.stopping
    }

    /// The time the reactor's current loop iteration began. Sessions take time from
    /// here rather than reading a clock, so tests can drive them with any time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Send `range` of a file as this connection's output, right after the first
    /// `out.len()` bytes of this callback's output buffer `out` (so write a
    /// response head to `out`, then call this; what is written to `out` afterwards
    /// follows the file). The file goes out with `sendfile(2)` where the kernel has
    /// it (its bytes never enter user space) and is copied through a buffer
    /// elsewhere; either way it counts as pending output for backpressure, like
    /// bytes written to `out`. A file that turns out shorter than the range when
    /// its turn comes (truncated meanwhile) aborts the connection: whatever was
    /// promised about its length cannot be kept.
    pub fn send_file(&mut self, out: &[u8], range: FileRange) {
        if range.len > 0 {
            self.links.files.push(QueuedFile {
                at: out.len(),
                range,
            });
        }
    }

    /// Append `bytes` to connection `to`'s output, after anything it already owes.
    /// See [`Ctx`] for the checks and their errors. A push
    /// to this connection itself is allowed and comes after this callback's output.
    pub fn push(&mut self, to: ConnId, bytes: &[u8]) -> Result<(), PushError> {
        let Some(view) = self.links.view(to) else {
            return Err(PushError::Closed);
        };
        let pending = (view.pending as usize).saturating_add(bytes.len());
        if view.hard_limit != 0 && pending > view.hard_limit as usize {
            view.open = false;
            self.links.effects.push(Effect::OverLimit(to));
            return Err(PushError::OverLimit);
        }
        view.pending = view_bytes(pending);
        let start = self.links.bytes.len();
        self.links.bytes.extend_from_slice(bytes);
        self.links.effects.push(Effect::Push {
            to,
            start,
            end: self.links.bytes.len(),
        });
        Ok(())
    }

    /// Whether `id` names a connection that is open (a push to it would be taken,
    /// size permitting).
    pub fn is_open(&mut self, id: ConnId) -> bool {
        self.links.view(id).is_some()
    }

    /// Have connection `id`'s session hear [`Session::on_wake`](crate::Session::on_wake)
    /// when it next gets its turn (several wakes before then are one).
    pub fn wake(&mut self, id: ConnId) -> Result<(), PushError> {
        if self.links.view(id).is_none() {
            return Err(PushError::Closed);
        }
        self.links.effects.push(Effect::Wake(id));
        Ok(())
    }

    /// Have this session hear [`Session::on_timer`](crate::Session::on_timer) with
    /// `token` once `after` has passed — never in the pass that set it, so a
    /// zero delay means "on the loop's next turn". Timers fire when the loop next
    /// looks, which is within about a millisecond unless
    /// [`Config::precise_timers`](crate::Config::precise_timers) is on. Setting a
    /// token that is already set moves it. Timers of a closed connection never
    /// fire.
    pub fn set_timer(&mut self, after: Duration, token: u64) {
        // Strictly after this pass's `now`: a zero-delay timer re-set from
        // `on_timer` would otherwise come due again in the same pass and never
        // let the loop poll.
        let at = self.now + after.max(Duration::from_micros(1));
        self.links.effects.push(Effect::SetTimer {
            on: self.id,
            at,
            token,
        });
    }

    /// Cancel this session's timer `token`, if it is set.
    pub fn cancel_timer(&mut self, token: u64) {
        self.links
            .effects
            .push(Effect::CancelTimer { on: self.id, token });
    }

    /// Open an outbound TCP connection to `addr`, driven by `session` like any
    /// other: it hears [`Session::on_connected`] once established, or
    /// [`Session::on_connect_failed`] (refused, unreachable, out of descriptors,
    /// or `Config::connect_timeout` passed) — where it can tell this session, whose
    /// id it may carry, with [`Ctx::wake`] or [`Ctx::push`]. A proxy's upstream
    /// session calls [`Ctx::link`] from `on_connected`.
    pub fn connect(&mut self, addr: SocketAddr, session: Box<dyn Session>) {
        self.links.effects.push(Effect::Connect {
            addr,
            session,
            tls: None,
        });
    }

    /// [`connect`](Self::connect), then a TLS handshake with `config` for the
    /// server `name` (see [`Reactor::connect_tls`](crate::Reactor::connect_tls)).
    #[cfg(feature = "tls")]
    pub fn connect_tls(
        &mut self,
        addr: SocketAddr,
        config: std::sync::Arc<rustls::ClientConfig>,
        name: rustls::pki_types::ServerName<'static>,
        session: Box<dyn Session>,
    ) {
        self.links.effects.push(Effect::Connect {
            addr,
            session,
            tls: Some((config, name)),
        });
    }

    /// Link this connection with `peer`: from now on the reactor relays the bytes
    /// each receives to the other, both ways, without handing them to either
    /// session — input this connection has not consumed yet goes first. Reading
    /// from one side stops while the other side's unsent output is above the
    /// high-water mark; a FIN on one side becomes `shutdown(Write)` on the other
    /// once everything before it is sent; an error or reset on one side, or a
    /// timeout, closes both. Both sessions then hear only [`Session::on_closed`].
    pub fn link(&mut self, peer: ConnId) -> Result<(), PushError> {
        if self.links.view(peer).is_none() || peer == self.id {
            return Err(PushError::Closed);
        }
        self.links.effects.push(Effect::Link(self.id, peer));
        Ok(())
    }

    /// Limit the output that pushes may leave unsent on this connection (the
    /// reactor's `Config::push_output_limit` otherwise).
    pub fn set_output_limit(&mut self, limit: OutputLimit) {
        let me = self.id;
        self.set_output_limit_of(me, limit);
    }

    /// Limit the output that pushes may leave unsent on connection `id` (a server
    /// whose configuration changed applies it to every subscriber, say). A stale id
    /// is ignored.
    pub fn set_output_limit_of(&mut self, id: ConnId, limit: OutputLimit) {
        let Some(view) = self.links.view(id) else {
            return;
        };
        view.hard_limit = view_bytes(limit.hard);
        self.links
            .effects
            .push(Effect::SetOutputLimit { on: id, limit });
    }

    /// Mark this connection as waiting on other connections (a subscriber, a
    /// client blocked until another pushes): while set, its idle and request
    /// timeouts do not run — silence is expected, and input it sent behind the
    /// command it waits on is not a stalled request. Its own timers still fire.
    pub fn set_waiting(&mut self, waiting: bool) {
        self.links.effects.push(Effect::Waiting {
            on: self.id,
            waiting,
        });
    }

    /// Output connection `id` holds unsent (pushes made in this callback
    /// included), as of the start of this callback; `None` if it is not open.
    pub fn pending_output(&mut self, id: ConnId) -> Option<usize> {
        self.links.view(id).map(|v| v.pending as usize)
    }

    /// Close connection `id` at once, dropping what it has not sent (an operator's
    /// CLIENT KILL). Its session hears [`Session::on_closed`](crate::Session::on_closed).
    pub fn kill(&mut self, id: ConnId) -> Result<(), PushError> {
        let Some(view) = self.links.view(id) else {
            return Err(PushError::Closed);
        };
        view.open = false;
        self.links.effects.push(Effect::Kill(id));
        Ok(())
    }
}

/// A context for driving a session outside a reactor (unit tests, fuzzing, model
/// reactors): the connection is alone, so pushes and wakes answer
/// [`PushError::Closed`], and timers and limits are recorded nowhere.
#[derive(Debug, Default)]
pub struct Detached {
    links: Links,
}

impl Detached {
    /// A new detached context owner.
    pub fn new() -> Detached {
        Detached::default()
    }

    /// A context for a connection at time `now`.
    pub fn ctx(&mut self, now: Instant) -> Ctx<'_> {
        self.links.effects.clear();
        self.links.bytes.clear();
        self.links.files.clear();
        Ctx::new(ConnId::new(0, 0), now, &mut self.links)
    }

    /// The files the last callback queued with [`Ctx::send_file`]: each with the
    /// position in that callback's output buffer where its bytes go.
    pub fn take_files(&mut self) -> Vec<(usize, FileRange)> {
        self.links
            .files
            .drain(..)
            .map(|f| (f.at, f.range))
            .collect()
    }

    /// Stands in for the reactor after a callback that wrote `out`: splices the
    /// files it queued into `out` where they belong.
    pub fn resolve_files(&mut self, out: &mut Vec<u8>) -> std::io::Result<()> {
        let files = self.take_files();
        if files.is_empty() {
            return Ok(());
        }
        let start = files[0].0;
        let tail = out.split_off(start);
        let mut done = start;
        for (at, range) in files {
            out.extend_from_slice(&tail[done - start..at - start]);
            done = at;
            range.read_into(out)?;
        }
        out.extend_from_slice(&tail[done - start..]);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links_with(key: usize, generation: u32, hard: usize) -> Links {
        let mut links = Links::default();
        links.set(
            key,
            SlotView {
                generation,
                open: true,
                pending: 0,
                hard_limit: view_bytes(hard),
            },
        );
        links
    }

    #[test]
    fn stale_ids_are_refused() {
        let mut links = links_with(3, 7, 0);
        let now = Instant::now();
        let mut ctx = Ctx::new(ConnId::new(0, 1), now, &mut links);
        assert_eq!(ctx.push(ConnId::new(3, 6), b"x"), Err(PushError::Closed));
        assert_eq!(ctx.push(ConnId::new(9, 7), b"x"), Err(PushError::Closed));
        assert_eq!(ctx.wake(ConnId::new(3, 8)), Err(PushError::Closed));
        assert_eq!(ctx.push(ConnId::new(3, 7), b"abc"), Ok(()));
        assert_eq!(links.bytes, b"abc");
        assert!(matches!(
            links.effects[..],
            [Effect::Push {
                start: 0,
                end: 3,
                ..
            }]
        ));
    }

    #[test]
    fn the_hard_limit_closes_the_target_and_refuses_later_pushes() {
        let mut links = links_with(1, 1, 10);
        let now = Instant::now();
        let mut ctx = Ctx::new(ConnId::new(0, 1), now, &mut links);
        let target = ConnId::new(1, 1);
        assert_eq!(ctx.push(target, &[0; 6]), Ok(()));
        assert_eq!(ctx.push(target, &[0; 5]), Err(PushError::OverLimit));
        assert_eq!(ctx.push(target, b"x"), Err(PushError::Closed));
        assert!(matches!(links.effects[1], Effect::OverLimit(id) if id == target));
    }

    /// Every connection has a view, idle or not: keep it from creeping up.
    #[test]
    fn a_slot_view_stays_small() {
        assert!(std::mem::size_of::<SlotView>() <= 16);
    }

    #[test]
    fn detached_contexts_reach_nobody() {
        let mut detached = Detached::new();
        let mut ctx = detached.ctx(Instant::now());
        let me = ctx.id();
        assert_eq!(ctx.push(me, b"x"), Err(PushError::Closed));
    }
}
