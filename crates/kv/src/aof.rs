//! The append-only file: every write, as the RESP command that redoes it, so a
//! restart replays the file and finds the keyspace it left.
//!
//! The shape is Redis's, without a child process:
//! - **Recording.** After a write command runs, the command layer hands it here
//!   with the effects its handler reported (nothing is read back from the
//!   reply): a command that changed nothing is not recorded, and what is recorded
//!   is what replays to the same state: relative expiries become
//!   absolute `PEXPIREAT`/`SET … PXAT`, `SPOP` becomes the `SREM` of what it
//!   popped, keys deleted by expiry get a `DEL`, a transaction is wrapped in
//!   `MULTI`/`EXEC`, a blocked pop served by another client's push becomes the pop
//!   it did. Records collect in a buffer.
//! - **Writing.** Once per loop iteration (from the service's
//!   [`StreamService::before_poll`](evloop::StreamService::before_poll)) the buffer
//!   goes to the file in one `write`. With `appendfsync always` an `fdatasync`
//!   follows at once, and sessions hold the replies of their writes until it has
//!   returned; the reactor then sends them before it polls again (group commit:
//!   every write of the iteration shares the one sync). With `everysec` a
//!   background thread syncs once a second; if a sync is still running when the
//!   next write is due, the write waits up to two seconds, then goes ahead anyway
//!   (Redis's rule). With `no` the kernel decides. With every policy a reply to
//!   a write leaves only after its record was written (as in Redis, where
//!   replies are sent after `beforeSleep` wrote the buffer), so a crash of the
//!   process alone loses nothing acknowledged.
//! - **Faults.** A failed write keeps the unwritten bytes (the file stays a prefix
//!   of the log) and makes write commands answer `-MISCONF` until a retry
//!   succeeds; reads go on.
//! - **Loading** replays the file through the command table, as a
//!   client would. A command cut off at the end (power loss mid-write) is dropped
//!   and the file truncated to the last complete command; anything else that does
//!   not parse stops the start with the offset.
//! - **Rewriting** (`BGREWRITEAOF`, or automatically past a growth percentage)
//!   writes the keyspace as it was when the rewrite started into a temporary file,
//!   a bounded slice of keys per loop iteration, while new records also collect in
//!   a diff. There is no fork to freeze the keyspace, so a write to a key the
//!   rewrite has not reached yet first dumps that key's old value (copy on write,
//!   per key). Then the diff is appended, the file synced, renamed over the old
//!   one, and the directory synced.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::command::spec::{self, Command};
use super::command::{self, Ctx};
use super::frame::{Args, Argv, Frame, Limits, Parser};
use super::reply::{self, Reply};
use super::store::{Entry, Hasher, KeyName, Store, Value};
use super::{KvService, Shared};

/// When the file is synced to disk (Redis `appendfsync`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fsync {
    /// After every loop iteration's writes, before their replies are sent.
    Always,
    /// Once a second, off the loop thread.
    EverySec,
    /// When the kernel decides.
    No,
}

impl Fsync {
    /// `always`, `everysec` or `no`, as Redis spells them.
    pub fn parse(s: &str) -> Option<Fsync> {
        match s.to_ascii_lowercase().as_str() {
            "always" => Some(Fsync::Always),
            "everysec" => Some(Fsync::EverySec),
            "no" => Some(Fsync::No),
            _ => None,
        }
    }

    /// The Redis name.
    pub fn name(self) -> &'static str {
        match self {
            Fsync::Always => "always",
            Fsync::EverySec => "everysec",
            Fsync::No => "no",
        }
    }
}

/// Settings of the append-only file. The defaults are Redis's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AofConfig {
    /// Record writes and load the file on start (`appendonly`).
    pub enabled: bool,
    /// When the file is synced (`appendfsync`).
    pub fsync: Fsync,
    /// The directory of the file (`dir`).
    pub dir: PathBuf,
    /// The file's name in `dir` (`appendfilename`).
    pub filename: String,
    /// Rewrite once the file has grown this many percent past its size after the
    /// last rewrite or load; 0 turns automatic rewrites off
    /// (`auto-aof-rewrite-percentage`).
    pub auto_rewrite_percentage: u64,
    /// ... but not below this size in bytes (`auto-aof-rewrite-min-size`).
    pub auto_rewrite_min_size: u64,
    /// Load a file whose last command is cut off, truncating it; if false, refuse
    /// to start (`aof-load-truncated`).
    pub load_truncated: bool,
}

impl Default for AofConfig {
    fn default() -> Self {
        AofConfig {
            enabled: false,
            fsync: Fsync::EverySec,
            dir: PathBuf::from("."),
            filename: "appendonly.aof".into(),
            auto_rewrite_percentage: 100,
            auto_rewrite_min_size: 64 * 1024 * 1024,
            load_truncated: true,
        }
    }
}

impl AofConfig {
    /// `dir/appendfilename`.
    pub fn path(&self) -> PathBuf {
        self.dir.join(&self.filename)
    }
}

/// Why the file could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    /// Reading, truncating or opening the file failed.
    Io(PathBuf, io::Error),
    /// The file holds something that is not a complete RESP command at `offset`.
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Byte offset of the command that does not parse.
        offset: u64,
        /// What is wrong there.
        why: String,
    },
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Io(path, e) => write!(f, "append-only file {}: {e}", path.display()),
            LoadError::Corrupt { path, offset, why } => write!(
                f,
                "append-only file {} is corrupt at byte {offset}: {why}; nothing was loaded \
                 (repair or truncate the file at that offset, e.g. with redis-check-aof --fix)",
                path.display()
            ),
        }
    }
}

impl std::error::Error for LoadError {}

/// What loading found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Commands replayed.
    pub commands: u64,
    /// Bytes of the file kept.
    pub bytes: u64,
    /// Set if the file ended inside a command (or an unfinished transaction) and
    /// was truncated: its size before.
    pub truncated_from: Option<u64>,
}

/// How long a loop iteration may spend on the rewrite.
const REWRITE_SLICE: Duration = Duration::from_millis(1);
/// Elements per command in a rewritten collection (Redis: 64).
const ITEMS_PER_COMMAND: usize = 64;
/// How long `everysec` lets a write wait for a running fsync (Redis: 2 s).
const MAX_FSYNC_POSTPONE: Duration = Duration::from_secs(2);
/// How often a failed write is retried.
const RETRY_EVERY: Duration = Duration::from_millis(100);

/// What the background thread is asked to sync.
enum Job {
    /// The log file, up to this logical offset.
    Log(Arc<File>, u64),
    /// A rewrite's temporary file.
    Rewrite(Arc<File>),
}

/// State shared with the background fsync thread (Redis's bio).
#[derive(Default)]
struct BioState {
    /// Log syncs queued or running.
    log_pending: AtomicU64,
    /// The logical offset up to which the log is known synced.
    log_synced: AtomicU64,
    /// A rewrite's temporary file has been synced.
    rewrite_synced: AtomicBool,
    /// The last sync error, if the last sync failed.
    error: Mutex<Option<String>>,
}

struct Bio {
    tx: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
    state: Arc<BioState>,
}

impl Bio {
    fn start() -> io::Result<Bio> {
        let (tx, rx) = mpsc::channel::<Job>();
        let state = Arc::new(BioState::default());
        let st = Arc::clone(&state);
        let thread = std::thread::Builder::new()
            .name("aof-fsync".into())
            .spawn(move || {
                for job in rx {
                    match job {
                        Job::Log(file, upto) => {
                            let result = file.sync_data();
                            let mut error = st.error.lock().unwrap_or_else(|e| e.into_inner());
                            match result {
                                Ok(()) => {
                                    st.log_synced.fetch_max(upto, Ordering::AcqRel);
                                    *error = None;
                                }
                                Err(e) => *error = Some(describe(&e)),
                            }
                            st.log_pending.fetch_sub(1, Ordering::AcqRel);
                        }
                        Job::Rewrite(file) => {
                            if let Err(e) = file.sync_data() {
                                log::warn!("syncing the rewritten append-only file: {e}");
                            }
                            st.rewrite_synced.store(true, Ordering::Release);
                        }
                    }
                }
            })?;
        Ok(Bio {
            tx: Some(tx),
            thread: Some(thread),
            state,
        })
    }

    fn send(&self, job: Job) {
        if let Job::Log(..) = job {
            self.state.log_pending.fetch_add(1, Ordering::AcqRel);
        }
        if let Some(tx) = &self.tx {
            if tx.send(job).is_err() {
                self.state.log_pending.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }

    fn log_busy(&self) -> bool {
        self.state.log_pending.load(Ordering::Acquire) > 0
    }
}

impl Drop for Bio {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// An `io::Error` as Redis's `strerror` text, without Rust's "(os error N)".
fn describe(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(at) => s[..at].to_owned(),
        None => s,
    }
}

/// A rewrite in progress.
struct Rewrite {
    tmp_path: PathBuf,
    tmp: Arc<File>,
    /// Taking the key names, a slice of buckets at a time: the next bucket, and
    /// how many inserts the store had taken and could still take without moving
    /// an entry when the collection began. `None` once every name is taken.
    collect: Option<Collect>,
    /// Key names taken and not yet written (walked from the end).
    keys: Vec<KeyName>,
    /// Keys already written — by the walk, or out of order before a write changed
    /// them — or created since the start: neither the walk nor a write dumps
    /// them (again).
    done: HashSet<KeyName, Hasher>,
    /// Snapshot bytes not yet written to `tmp`.
    out: Vec<u8>,
    /// Every record since the start, appended after the snapshot.
    diff: Vec<u8>,
    written: u64,
    started: Instant,
    /// The snapshot is written and its sync was handed to the background thread.
    syncing: bool,
}

#[derive(Debug, Clone, Copy)]
struct Collect {
    bucket: usize,
    inserted: u64,
    spare: usize,
}

impl Collect {
    fn start(store: &Store) -> Collect {
        Collect {
            bucket: 0,
            inserted: store.inserted(),
            spare: store.spare_slots(),
        }
    }
}

impl Rewrite {
    /// Before a write changes `key`: write the value it had when the rewrite
    /// started, unless the walk has done it or it has been touched already.
    fn preserve(&mut self, store: &Store, key: &[u8], now: u64) {
        if self.syncing || self.done.contains(key) {
            return;
        }
        self.done.insert(KeyName::new(key));
        if let Some(e) = store.peek(key) {
            dump(e, now, &mut self.out);
        }
    }

    /// FLUSHALL: the keys not yet walked need not be written, the flush in the
    /// diff deletes them anyway.
    fn skip_rest(&mut self) {
        self.collect = None;
        self.keys = Vec::new();
    }

    fn write_out(&mut self) -> io::Result<()> {
        if !self.out.is_empty() {
            (&*self.tmp).write_all(&self.out)?;
            self.written += self.out.len() as u64;
            self.out.clear();
        }
        Ok(())
    }

    /// Take key names, then write keys, for about [`REWRITE_SLICE`] and at most
    /// `max_keys` keys. True once every key is written.
    ///
    /// The names are taken by bucket index, a slice per call, so no call walks
    /// the whole table. Entries move only when an insert finds no spare slot: if
    /// the store has taken as many inserts as it had spare slots when the
    /// collection began, an entry may have moved behind it, and the collection
    /// starts over (rare: after a move the table has grown, with room to spare).
    fn step(&mut self, store: &Store, now: u64, max_keys: usize) -> io::Result<bool> {
        let deadline = Instant::now() + REWRITE_SLICE;
        let mut budget = max_keys;
        while let Some(c) = &mut self.collect {
            if store.inserted() - c.inserted >= c.spare as u64 {
                log::debug!("rewrite: the keyspace was rehashed; taking the key names again");
                self.keys.clear();
                *c = Collect::start(store);
            }
            let slice = budget.min(4096);
            store.key_names_in(c.bucket, c.bucket + slice, &mut self.keys);
            c.bucket += slice;
            budget -= slice;
            if c.bucket >= store.buckets() {
                self.collect = None;
            }
            if budget == 0 || Instant::now() >= deadline {
                return Ok(false);
            }
        }
        while budget > 0 {
            let Some(key) = self.keys.pop() else {
                break;
            };
            budget -= 1;
            if let Some(e) = store.peek(&key) {
                if self.done.insert(key) {
                    dump(e, now, &mut self.out);
                }
            }
            if budget.is_multiple_of(64) {
                if self.out.len() >= 256 * 1024 {
                    self.write_out()?;
                }
                if Instant::now() >= deadline {
                    break;
                }
            }
        }
        self.write_out()?;
        Ok(self.collect.is_none() && self.keys.is_empty())
    }
}

/// Append the commands that recreate `e` (nothing for an expired key).
fn dump(e: &Entry, now: u64, out: &mut Vec<u8>) {
    let ttl = e.expire_at();
    if ttl.is_some_and(|at| at <= now) {
        return;
    }
    let key = e.key();
    match &e.value {
        Value::Str(s) => match ttl {
            Some(at) => encode(
                out,
                &[
                    b"SET",
                    key,
                    s,
                    b"PXAT",
                    itoa::Buffer::new().format(at).as_bytes(),
                ],
            ),
            None => encode(out, &[b"SET", key, s]),
        },
        Value::List(l) => {
            let items: Vec<&[u8]> = l.iter().collect();
            chunked(out, b"RPUSH", key, &items);
        }
        Value::Set(s) => {
            let members: Vec<_> = s.iter().collect();
            let items: Vec<&[u8]> = members.iter().map(|m| &**m).collect();
            chunked(out, b"SADD", key, &items);
        }
        Value::Hash(h) => {
            let items: Vec<&[u8]> = h.iter().flat_map(|(f, v)| [f, v]).collect();
            // Field-value pairs: an even number per command.
            for chunk in items.chunks(ITEMS_PER_COMMAND * 2) {
                let mut args: Vec<&[u8]> = vec![b"HSET", key];
                args.extend_from_slice(chunk);
                encode(out, &args);
            }
        }
        Value::ZSet(z) => {
            let scores: Vec<String> = z.iter().map(|(_, s)| format_score(s)).collect();
            let items: Vec<&[u8]> = z
                .iter()
                .zip(&scores)
                .flat_map(|((m, _), s)| [s.as_bytes(), m])
                .collect();
            for chunk in items.chunks(ITEMS_PER_COMMAND * 2) {
                let mut args: Vec<&[u8]> = vec![b"ZADD", key];
                args.extend_from_slice(chunk);
                encode(out, &args);
            }
        }
    }
    if let (Some(at), false) = (ttl, matches!(e.value, Value::Str(_))) {
        encode(
            out,
            &[b"PEXPIREAT", key, itoa::Buffer::new().format(at).as_bytes()],
        );
    }
}

/// A score that parses back to the same `f64` (shortest round trip; `inf`, `-0`).
fn format_score(s: f64) -> String {
    let mut buf = [0u8; 40];
    String::from_utf8_lossy(super::values::zset::score_text(s, &mut buf)).into_owned()
}

fn chunked(out: &mut Vec<u8>, cmd: &[u8], key: &[u8], items: &[&[u8]]) {
    for chunk in items.chunks(ITEMS_PER_COMMAND) {
        let mut args: Vec<&[u8]> = vec![cmd, key];
        args.extend_from_slice(chunk);
        encode(out, &args);
    }
}

/// `args` as a RESP multibulk request.
/// `args` as one RESP command.
pub(crate) fn encode_command(args: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    encode(&mut out, args);
    out
}

pub(crate) fn encode(out: &mut Vec<u8>, args: &[&[u8]]) {
    encode_iter(out, args.len(), args.iter().copied());
}

fn encode_iter<'a>(out: &mut Vec<u8>, n: usize, args: impl Iterator<Item = &'a [u8]>) {
    let mut num = itoa::Buffer::new();
    out.push(b'*');
    out.extend_from_slice(num.format(n).as_bytes());
    out.extend_from_slice(b"\r\n");
    for a in args {
        out.push(b'$');
        out.extend_from_slice(num.format(a.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// The open append-only file and everything about it.
pub(crate) struct Aof {
    pub config: AofConfig,
    path: PathBuf,
    file: Arc<File>,
    /// Records appended and not yet written.
    buf: Vec<u8>,
    /// Logical offsets into the log since start: bytes appended, written, and
    /// known on disk.
    appended: u64,
    written: u64,
    synced: u64,
    /// The file's size now, and after the last load or rewrite.
    current_size: u64,
    base_size: u64,
    /// The last write (or sync) failed with this: writes are refused.
    write_error: Option<String>,
    last_attempt: Option<Instant>,
    bio: Bio,
    last_fsync: Instant,
    postponed_since: Option<Instant>,
    delayed_fsync: u64,
    /// Inside EXEC: the transaction's records, wrapped when it ends.
    multi: Option<Vec<u8>>,
    rewrite: Option<Rewrite>,
    /// A finished rewrite's set of key names, freed a slice per iteration.
    garbage: Option<std::collections::hash_set::IntoIter<KeyName>>,
    rewrites: u64,
    last_rewrite_secs: i64,
    last_rewrite_ok: bool,
}

impl std::fmt::Debug for Aof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Aof")
            .field("path", &self.path)
            .field("appended", &self.appended)
            .field("written", &self.written)
            .field("synced", &self.synced)
            .finish()
    }
}

impl Aof {
    /// Open (or create) the file for appending.
    fn open(config: AofConfig) -> io::Result<Aof> {
        let path = config.path();
        let existed = path.exists();
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        if !existed {
            sync_dir(&path)?;
        }
        let size = file.metadata()?.len();
        Ok(Aof {
            config,
            path,
            file: Arc::new(file),
            buf: Vec::new(),
            appended: 0,
            written: 0,
            synced: 0,
            current_size: size,
            base_size: size,
            write_error: None,
            last_attempt: None,
            bio: Bio::start()?,
            last_fsync: Instant::now(),
            postponed_since: None,
            delayed_fsync: 0,
            multi: None,
            rewrite: None,
            garbage: None,
            rewrites: 0,
            last_rewrite_secs: -1,
            last_rewrite_ok: true,
        })
    }

    /// Bytes recorded so far (a logical offset a session can wait for).
    pub fn appended(&self) -> u64 {
        self.appended
    }

    /// True once everything up to `offset` is as durable as the fsync policy
    /// promises: synced for `always`, written for the others.
    pub fn committed(&self, offset: u64) -> bool {
        match self.config.fsync {
            Fsync::Always => self.synced >= offset,
            _ => self.written >= offset,
        }
    }

    fn record(&mut self, bytes: &[u8]) {
        match &mut self.multi {
            Some(m) => m.extend_from_slice(bytes),
            None => self.push(bytes),
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        self.appended += bytes.len() as u64;
        if let Some(rw) = &mut self.rewrite {
            rw.diff.extend_from_slice(bytes);
        }
    }

    pub(crate) fn record_args(&mut self, args: &[&[u8]]) {
        let mut v = Vec::new();
        encode(&mut v, args);
        self.record(&v);
    }

    fn record_argv(&mut self, argv: &Argv<'_>) {
        let mut v = Vec::with_capacity(64);
        encode_iter(&mut v, argv.len(), argv.iter_from(0));
        self.record(&v);
    }

    /// Write the buffer, then sync as the policy says. `force` writes even while
    /// a background sync runs (shutdown, a closing client's synchronous commit).
    fn flush(&mut self, now: Instant, force: bool) {
        self.poll_bio();
        if self.buf.is_empty() {
            if self.config.fsync == Fsync::Always && self.synced < self.written {
                self.sync_now();
            }
            return;
        }
        if self.write_error.is_some()
            && !force
            && self.last_attempt.is_some_and(|t| now < t + RETRY_EVERY)
        {
            return;
        }
        if self.config.fsync == Fsync::EverySec && !force && self.bio.log_busy() {
            // Redis's rule: a write(2) to a file being fsync'd may block; let it
            // wait up to two seconds, then write anyway.
            let since = *self.postponed_since.get_or_insert(now);
            if now < since + MAX_FSYNC_POSTPONE {
                return;
            }
            self.delayed_fsync += 1;
            log::warn!(
                "asynchronous AOF fsync is taking too long (disk is busy?); writing the \
                 buffer without waiting for it"
            );
        }
        self.postponed_since = None;
        self.last_attempt = Some(now);
        let mut done = 0;
        let result = loop {
            if done == self.buf.len() {
                break Ok(());
            }
            match (&*self.file).write(&self.buf[done..]) {
                Ok(0) => break Err(io::Error::from(io::ErrorKind::WriteZero)),
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        // What was written stays written: the file is a prefix of the log, and a
        // retry appends the rest.
        self.buf.drain(..done);
        self.written += done as u64;
        self.current_size += done as u64;
        if self.buf.capacity() > 4 * 1024 * 1024 && self.buf.len() < 1024 * 1024 {
            self.buf.shrink_to(1024 * 1024);
        }
        match result {
            Ok(()) => {
                if self.write_error.take().is_some() {
                    log::warn!("AOF write error looks solved: writes are accepted again");
                }
                match self.config.fsync {
                    Fsync::Always => self.sync_now(),
                    Fsync::EverySec => self.maybe_background_sync(now),
                    Fsync::No => {}
                }
            }
            Err(e) => {
                let what = describe(&e);
                if self.write_error.as_deref() != Some(&what) {
                    log::warn!(
                        "error writing to the append-only file {}: {what}; writes are refused \
                         until it succeeds",
                        self.path.display()
                    );
                }
                self.write_error = Some(what);
            }
        }
    }

    fn sync_now(&mut self) {
        match self.file.sync_data() {
            Ok(()) => self.synced = self.written,
            Err(e) => {
                let what = describe(&e);
                log::warn!("fsync of the append-only file failed: {what}");
                self.write_error = Some(what);
            }
        }
    }

    fn maybe_background_sync(&mut self, now: Instant) {
        if self.written > self.bio.state.log_synced.load(Ordering::Acquire)
            && now >= self.last_fsync + Duration::from_secs(1)
            && !self.bio.log_busy()
        {
            self.last_fsync = now;
            self.bio
                .send(Job::Log(Arc::clone(&self.file), self.written));
        }
    }

    /// Take what the background thread reports.
    fn poll_bio(&mut self) {
        if self.config.fsync != Fsync::Always {
            self.synced = self
                .synced
                .max(self.bio.state.log_synced.load(Ordering::Acquire));
        }
        let error = self
            .bio
            .state
            .error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(e) = error {
            log::warn!("background fsync of the append-only file failed: {e}");
            self.write_error = Some(e);
        }
    }

    /// Once per loop iteration: write and sync; advance a rewrite. True if
    /// something was written or synced that sessions may be holding replies for.
    pub fn before_poll(&mut self, store: &Store, now: Instant, now_ms: u64) -> bool {
        let (written, synced) = (self.written, self.synced);
        self.flush(now, false);
        if self.config.fsync == Fsync::EverySec {
            self.maybe_background_sync(now);
        }
        if self.rewrite.is_some() {
            if let Err(e) = self.rewrite_step(store, now_ms, usize::MAX) {
                self.abort_rewrite(&format!("{e}"));
            }
        }
        if let Some(garbage) = &mut self.garbage {
            if garbage.by_ref().take(50_000).count() < 50_000 {
                self.garbage = None;
            }
        }
        self.written > written || self.synced > synced
    }

    /// A rewrite (or the freeing after one) has work left for the next
    /// iteration: the loop should not sleep.
    pub fn busy(&self) -> bool {
        self.garbage.is_some()
            || self.rewrite.as_ref().is_some_and(|rw| {
                !rw.syncing || self.bio.state.rewrite_synced.load(Ordering::Acquire)
            })
    }

    /// Housekeeping from the service's timer: a due automatic rewrite.
    pub fn on_tick(&mut self, store: &Store) {
        let pct = self.config.auto_rewrite_percentage;
        if pct == 0 || self.rewrite.is_some() || self.write_error.is_some() {
            return;
        }
        if self.current_size < self.config.auto_rewrite_min_size {
            return;
        }
        let base = self.base_size.max(1);
        let growth = (self.current_size * 100 / base).saturating_sub(100);
        if growth >= pct {
            log::info!(
                "starting automatic append-only file rewrite: {growth}% growth ({} bytes, {} \
                 after the last rewrite)",
                self.current_size,
                self.base_size
            );
            if let Err(e) = self.start_rewrite(store) {
                log::warn!("cannot start the append-only file rewrite: {e}");
                self.last_rewrite_ok = false;
            }
        }
    }

    /// Begin a rewrite (BGREWRITEAOF). Fails if one runs or the file cannot be
    /// created.
    pub fn start_rewrite(&mut self, store: &Store) -> io::Result<()> {
        if self.rewrite.is_some() {
            return Err(io::Error::other("a rewrite is already in progress"));
        }
        let tmp_path = self
            .config
            .dir
            .join(format!("temp-rewriteaof-{}.aof", std::process::id()));
        let tmp = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&tmp_path)?;
        self.bio
            .state
            .rewrite_synced
            .store(false, Ordering::Release);
        self.rewrite = Some(Rewrite {
            tmp_path,
            tmp: Arc::new(tmp),
            collect: Some(Collect::start(store)),
            keys: Vec::with_capacity(store.len()),
            // Sized once: growing a set of millions of keys would rehash it in one
            // step.
            done: HashSet::with_capacity_and_hasher(store.len(), Hasher::default()),
            out: Vec::new(),
            diff: Vec::new(),
            written: 0,
            started: Instant::now(),
            syncing: false,
        });
        Ok(())
    }

    fn rewrite_step(&mut self, store: &Store, now_ms: u64, max_keys: usize) -> io::Result<()> {
        let Some(rw) = &mut self.rewrite else {
            return Ok(());
        };
        if !rw.syncing {
            if rw.step(store, now_ms, max_keys)? {
                // The snapshot is complete: sync it off the loop thread, then append
                // the (short) diff collected meanwhile and sync again on the loop.
                rw.syncing = true;
                // Freeing millions of names at once would stall the loop: a
                // slice per iteration.
                let done = std::mem::take(&mut rw.done);
                self.garbage = Some(done.into_iter());
                self.bio.send(Job::Rewrite(Arc::clone(&rw.tmp)));
            }
            return Ok(());
        }
        if !self.bio.state.rewrite_synced.load(Ordering::Acquire) {
            return Ok(());
        }
        (&*rw.tmp).write_all(&rw.diff)?;
        rw.tmp.sync_data()?;
        let size = rw.written + rw.diff.len() as u64;
        fs::rename(&rw.tmp_path, &self.path)?;
        sync_dir(&self.path)?;
        // The new file already holds every record, the unwritten ones too.
        let rw = self.rewrite.take().expect("rewrite in progress");
        let secs = rw.started.elapsed().as_secs() as i64;
        log::info!(
            "append-only file rewritten: {} -> {size} bytes in {:.1} s",
            self.current_size,
            rw.started.elapsed().as_secs_f64()
        );
        self.file = rw.tmp;
        self.buf.clear();
        self.written = self.appended;
        self.synced = self.appended;
        self.current_size = size;
        self.base_size = size;
        self.rewrites += 1;
        self.last_rewrite_secs = secs;
        self.last_rewrite_ok = true;
        Ok(())
    }

    fn abort_rewrite(&mut self, why: &str) {
        if let Some(rw) = self.rewrite.take() {
            log::warn!("append-only file rewrite failed: {why}");
            let _ = fs::remove_file(&rw.tmp_path);
            self.last_rewrite_ok = false;
        }
    }

    /// Write and sync everything now, on this thread, whatever the policy
    /// (shutdown).
    pub fn commit_now(&mut self) {
        self.flush(Instant::now(), true);
        self.sync_written();
    }

    /// What the policy promises before a reply, now, on this thread: written,
    /// and synced for `always` (a client closing or blocking with replies held).
    pub fn commit_for_reply(&mut self) {
        self.flush(Instant::now(), true);
        if self.config.fsync == Fsync::Always {
            self.sync_written();
        }
    }

    fn sync_written(&mut self) {
        if self.write_error.is_none() && self.synced < self.written {
            self.sync_now();
        }
    }

    /// `-MISCONF …` if writes are refused.
    pub fn misconf(&self) -> Option<String> {
        self.write_error
            .as_ref()
            .map(|e| format!("MISCONF Errors writing to the AOF file: {e}"))
    }

    /// INFO's `# Persistence` lines that depend on the file.
    fn info(&self, s: &mut String) {
        let rw = self.rewrite.as_ref();
        let _ = write!(
            s,
            "aof_enabled:1\r\naof_rewrite_in_progress:{}\r\naof_rewrite_scheduled:0\r\n\
             aof_last_rewrite_time_sec:{}\r\naof_current_rewrite_time_sec:{}\r\n\
             aof_last_bgrewrite_status:{}\r\naof_rewrites:{}\r\naof_last_write_status:{}\r\n\
             aof_current_size:{}\r\naof_base_size:{}\r\naof_pending_rewrite:0\r\n\
             aof_buffer_length:{}\r\naof_pending_bio_fsync:{}\r\naof_delayed_fsync:{}\r\n",
            rw.is_some() as u8,
            self.last_rewrite_secs,
            rw.map_or(-1, |r| r.started.elapsed().as_secs() as i64),
            if self.last_rewrite_ok { "ok" } else { "err" },
            self.rewrites,
            if self.write_error.is_some() {
                "err"
            } else {
                "ok"
            },
            self.current_size,
            self.base_size,
            self.buf.len(),
            self.bio.state.log_pending.load(Ordering::Acquire),
            self.delayed_fsync,
        );
    }
}

impl Drop for Aof {
    /// Shutdown: what is buffered goes to disk, synced, whatever the policy.
    fn drop(&mut self) {
        self.abort_rewrite("shutting down");
        self.commit_now();
        if let Some(e) = &self.write_error {
            log::error!(
                "append-only file {}: {} bytes of records could not be written at exit: {e}",
                self.path.display(),
                self.buf.len()
            );
        }
    }
}

/// Sync the directory holding `path`, so a created or renamed name is durable.
fn sync_dir(path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

// ---------------------------------------------------------------- the command side

/// The keys a write may change: those its key specs mark as written (`RW`, `OW`,
/// `RM`), as Redis finds them. SORT's destination comes from its STORE option.
/// Over-approximated where that is simpler (preserving a key that is not changed
/// costs a little rewrite output, never correctness).
pub(crate) fn for_each_key(cmd: &Command, argv: &Argv<'_>, mut f: impl FnMut(&[u8])) {
    if cmd.name == "sort" {
        if let Some(dst) = command::store_destination(argv) {
            f(dst);
        }
        return;
    }
    let args: Vec<&[u8]> = argv.iter_from(0).collect();
    let written = spec::KEY_RW | spec::KEY_OW | spec::KEY_RM;
    let _ = cmd.keys(&args, |i, flags| {
        if flags & written != 0 {
            f(args[i]);
        }
    });
}

/// Whether `name` may run now: `Err(reply)` while writes are refused (Redis
/// refuses PING too, so a health check notices).
pub(crate) fn check(shared: &Shared, cmd: &Command) -> Result<(), String> {
    if !cmd.has(spec::WRITE) && cmd.name != "ping" {
        return Ok(());
    }
    match shared.aof.borrow().as_ref().and_then(Aof::misconf) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Run `handler` with the log on: preserve what a rewrite still needs, run it,
/// record what it did.
pub(crate) fn run_logged(
    c: &mut Ctx<'_, '_>,
    cmd: &Command,
    handler: command::Handler,
    argv: Argv<'_>,
    out: &mut Reply<'_>,
) {
    let name = cmd.name.as_bytes();
    let write = cmd.has(spec::WRITE);
    let exec = name == b"exec";
    {
        let mut aof = c.shared.aof.borrow_mut();
        let Some(aof) = aof.as_mut() else {
            drop(aof);
            return handler(c, argv, out);
        };
        if write {
            if let Some(rw) = &mut aof.rewrite {
                if name == b"flushdb" || name == b"flushall" {
                    rw.skip_rest();
                } else {
                    for_each_key(cmd, &argv, |k| rw.preserve(&c.store, k, c.now));
                }
            }
        }
        if exec && aof.multi.is_none() {
            aof.multi = Some(Vec::new());
        }
    }
    handler(c, argv, out);
    // Keys the command found expired: their DELs go before the command's record.
    c.drain_expired();
    if c.store.new_log.is_some() {
        c.drain_new();
    }
    let mut guard = c.shared.aof.borrow_mut();
    let Some(aof) = guard.as_mut() else {
        return;
    };
    if write {
        let mut propagated = c.shared.propagated.borrow_mut();
        record_effect(
            aof,
            &c.store,
            c.now,
            name,
            &argv,
            &c.client.effects,
            &mut propagated,
        );
    }
    // Whatever was not recorded (a refused or no-op command) is not kept for the
    // next one.
    c.shared.propagated.borrow_mut().clear();
    if exec {
        if let Some(m) = aof.multi.take() {
            if !m.is_empty() {
                aof.push(b"*1\r\n$5\r\nMULTI\r\n");
                aof.push(&m);
                aof.push(b"*1\r\n$4\r\nEXEC\r\n");
            }
        }
    }
}

/// A `DEL` for every key expiry deleted since the last call.
pub(crate) fn drain_expired(aof: &mut Aof, store: &mut Store) {
    if let Some(log) = &mut store.expired_log {
        for key in log.drain(..) {
            aof.record_args(&[b"DEL", &key]);
        }
    }
}

/// Record what a write command did, as its handler reported it: nothing if it
/// changed nothing; what it asked to propagate instead of itself (SPOP as SREM,
/// HINCRBYFLOAT as HSET); otherwise the command, or for the commands whose
/// effect depends on when it ran (a relative TTL) the resulting state.
fn record_effect(
    aof: &mut Aof,
    store: &Store,
    now: u64,
    name: &[u8],
    argv: &Argv<'_>,
    effects: &command::Effects,
    propagated: &mut Vec<Vec<u8>>,
) {
    if effects.dirty == 0 {
        // Refused, blocked (served later, recorded then), or a no-op.
        return;
    }
    if effects.propagated {
        for c in propagated.drain(..) {
            aof.record(&c);
        }
        return;
    }
    match name {
        b"set" if argv.len() == 3 => aof.record_argv(argv),
        b"set" | b"setex" | b"psetex" => record_string_state(aof, store, now, argv.get(1)),
        b"expire" | b"pexpire" | b"expireat" | b"pexpireat" => {
            record_ttl_state(aof, store, now, argv.get(1))
        }
        // GETEX's effect is on the TTL.
        b"getex" => match store.peek(argv.get(1)).map(Entry::expire_at) {
            Some(None) => aof.record_args(&[b"PERSIST", argv.get(1)]),
            _ => record_ttl_state(aof, store, now, argv.get(1)),
        },
        // Replayed with the deadline it got, whenever the log is read.
        b"restore" => match store.peek(argv.get(1)) {
            Some(e) => {
                let at = e.expire_at().unwrap_or(0);
                aof.record_args(&[
                    b"RESTORE",
                    argv.get(1),
                    itoa::Buffer::new().format(at).as_bytes(),
                    argv.get(3),
                    b"REPLACE",
                    b"ABSTTL",
                ]);
            }
            None => aof.record_args(&[b"DEL", argv.get(1)]),
        },
        _ => aof.record_argv(argv),
    }
}

/// The key's string as it is now: `SET k v [PXAT t]`, or `DEL k` if it is gone.
fn record_string_state(aof: &mut Aof, store: &Store, now: u64, key: &[u8]) {
    match store.peek(key) {
        Some(e) if e.expire_at().is_none_or(|at| at > now) => match (&e.value, e.expire_at()) {
            (Value::Str(v), Some(at)) => aof.record_args(&[
                b"SET",
                key,
                v,
                b"PXAT",
                itoa::Buffer::new().format(at).as_bytes(),
            ]),
            (Value::Str(v), None) => aof.record_args(&[b"SET", key, v]),
            _ => {}
        },
        _ => aof.record_args(&[b"DEL", key]),
    }
}

/// The key's TTL as it is now: `PEXPIREAT k t`, or `DEL k` if it is gone.
fn record_ttl_state(aof: &mut Aof, store: &Store, now: u64, key: &[u8]) {
    match store.peek(key).map(Entry::expire_at) {
        Some(Some(at)) if at > now => {
            aof.record_args(&[b"PEXPIREAT", key, itoa::Buffer::new().format(at).as_bytes()])
        }
        Some(None) => {}
        _ => aof.record_args(&[b"DEL", key]),
    }
}

/// A blocked client was served by another's write: record the equivalent
/// non-blocking command. `keys` are the keys it changes, preserved first for a
/// rewrite (call before the change, with `record: false`, and after it with
/// `record: true`).
pub(crate) fn served(shared: &Shared, store: &mut Store, now: u64, args: &[&[u8]], record: bool) {
    let mut guard = shared.aof.borrow_mut();
    let Some(aof) = guard.as_mut() else {
        return;
    };
    if !record {
        if let Some(rw) = &mut aof.rewrite {
            for k in args.iter().skip(1).take(2) {
                rw.preserve(store, k, now);
            }
        }
        return;
    }
    drain_expired(aof, store);
    aof.record_args(args);
}

/// BGREWRITEAOF.
pub(crate) fn bgrewriteaof(c: &mut Ctx<'_, '_>, _: Argv<'_>, out: &mut Reply<'_>) {
    let mut guard = c.shared.aof.borrow_mut();
    let Some(aof) = guard.as_mut() else {
        return reply::error(
            out,
            b"ERR Background append only file rewriting needs appendonly yes",
        );
    };
    if aof.rewrite.is_some() {
        return reply::error(
            out,
            b"ERR Background append only file rewriting already in progress",
        );
    }
    match aof.start_rewrite(&c.store) {
        Ok(()) => reply::simple(out, b"Background append only file rewriting started"),
        Err(e) => {
            aof.last_rewrite_ok = false;
            let msg = format!(
                "ERR Can't start the append only file rewrite: {}",
                describe(&e)
            );
            reply::error(out, msg.as_bytes());
        }
    }
}

/// INFO's `# Persistence` section.
pub(crate) fn info(shared: &Shared, s: &mut String) {
    s.push_str("loading:0\r\nasync_loading:0\r\n");
    match &*shared.aof.borrow() {
        Some(aof) => aof.info(s),
        None => {
            let _ = write!(
                s,
                "aof_enabled:0\r\naof_rewrite_in_progress:0\r\naof_rewrite_scheduled:0\r\n\
                 aof_last_rewrite_time_sec:-1\r\naof_current_rewrite_time_sec:-1\r\n\
                 aof_last_bgrewrite_status:ok\r\naof_rewrites:0\r\naof_last_write_status:ok\r\n"
            );
        }
    }
}

/// CONFIG GET values of the persistence parameters.
pub(crate) fn config_values(shared: &Shared) -> Vec<(&'static [u8], String)> {
    let guard = shared.aof.borrow();
    let default = AofConfig::default();
    let config = guard.as_ref().map_or(&default, |a| &a.config);
    vec![
        (
            b"appendonly" as &[u8],
            if guard.is_some() { "yes" } else { "no" }.into(),
        ),
        (b"appendfsync", config.fsync.name().into()),
        (b"appendfilename", config.filename.clone()),
        (b"dir", config.dir.display().to_string()),
        (
            b"auto-aof-rewrite-percentage",
            config.auto_rewrite_percentage.to_string(),
        ),
        (
            b"auto-aof-rewrite-min-size",
            config.auto_rewrite_min_size.to_string(),
        ),
        (
            b"aof-load-truncated",
            if config.load_truncated { "yes" } else { "no" }.into(),
        ),
    ]
}

/// CONFIG SET of a persistence parameter: `None` if `name` is not one.
pub(crate) fn config_set(shared: &Shared, name: &[u8], value: &[u8]) -> Option<Result<(), String>> {
    let value = String::from_utf8_lossy(value).into_owned();
    let mut guard = shared.aof.borrow_mut();
    let bad = |name: &str| Err(format!("argument '{value}' is invalid for '{name}'"));
    Some(match name {
        b"appendfsync" => match (Fsync::parse(&value), guard.as_mut()) {
            (None, _) => bad("appendfsync"),
            (Some(f), Some(aof)) => {
                aof.config.fsync = f;
                Ok(())
            }
            (Some(_), None) => {
                Err("the append-only file is off (start with --appendonly yes)".into())
            }
        },
        b"auto-aof-rewrite-percentage" => match (value.parse(), guard.as_mut()) {
            (Ok(v), Some(aof)) => {
                aof.config.auto_rewrite_percentage = v;
                Ok(())
            }
            (Ok(_), None) => Ok(()),
            (Err(_), _) => bad("auto-aof-rewrite-percentage"),
        },
        b"auto-aof-rewrite-min-size" => match (parse_size(&value), guard.as_mut()) {
            (Some(v), Some(aof)) => {
                aof.config.auto_rewrite_min_size = v;
                Ok(())
            }
            (Some(_), None) => Ok(()),
            (None, _) => bad("auto-aof-rewrite-min-size"),
        },
        b"appendonly" => match (value.to_ascii_lowercase().as_str(), guard.is_some()) {
            ("yes", true) | ("no", false) => Ok(()),
            ("yes" | "no", _) => {
                Err("turning the append-only file on or off needs a restart".into())
            }
            _ => bad("appendonly"),
        },
        b"dir" | b"appendfilename" | b"aof-load-truncated" => {
            Err("this parameter is fixed at start".into())
        }
        _ => return None,
    })
}

/// A size as Redis writes them: bytes, or with a unit (`k`, `kb`, `m`, `mb`, `g`,
/// `gb`; the `b` forms are powers of 1024).
pub fn parse_size(s: &str) -> Option<u64> {
    super::clients::memtoull(s.trim()).map(|n| n as u64)
}

// ---------------------------------------------------------------- loading

/// Replay the file at `config.path()` into `svc`'s store, then keep it open for
/// appending. A missing file is an empty one.
pub(crate) fn load_and_open(svc: &KvService, config: AofConfig) -> Result<LoadReport, LoadError> {
    let path = config.path();
    let report = load(svc, &path, config.load_truncated)?;
    let aof = Aof::open(config).map_err(|e| LoadError::Io(path.clone(), e))?;
    let shared = &svc.shared;
    shared.db(0).borrow_mut().expired_log = Some(Vec::new());
    *shared.aof.borrow_mut() = Some(aof);
    shared.aof_on.set(true);
    Ok(report)
}

fn load(svc: &KvService, path: &Path, load_truncated: bool) -> Result<LoadReport, LoadError> {
    let io_err = |e| LoadError::Io(path.to_owned(), e);
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(LoadReport::default()),
        Err(e) => return Err(io_err(e)),
    };
    let total = file.metadata().map_err(io_err)?.len();
    let started = Instant::now();
    let mut last_progress = started;
    if total > 0 {
        log::info!(
            "loading the append-only file {} ({total} bytes)",
            path.display()
        );
    }
    let shared = &*svc.shared;
    let config = shared.config.get();
    let mut parser = Parser::new(Limits {
        max_bulk: config.max_bulk,
        max_inline: config.max_inline,
        max_multibulk: config.max_multibulk,
    });
    let mut args = Args::new();
    let mut client = super::Client::detached();
    let mut detached = evloop::Detached::new();
    let mut reply = Vec::new();
    let mut buf: Vec<u8> = Vec::new();
    let mut base = 0u64; // file offset of buf[0]
    let mut pos = 0usize;
    let mut eof = false;
    let mut report = LoadReport::default();
    // The end of the last command outside a transaction, and the start of the
    // transaction being read.
    let mut good_end = 0u64;
    let mut multi_start: Option<u64> = None;
    let mut errors = 0u64;
    const CHUNK: usize = 1 << 20;
    let corrupt = |offset: u64, why: String| LoadError::Corrupt {
        path: path.to_owned(),
        offset,
        why,
    };
    loop {
        let rest = &buf[pos..];
        if rest.is_empty() {
            if eof {
                break;
            }
            buf.clear();
            base += pos as u64;
            pos = 0;
            eof = fill(&mut file, &mut buf, CHUNK).map_err(io_err)?;
            continue;
        }
        let offset = base + pos as u64;
        if rest[0] != b'*' {
            return Err(corrupt(
                offset,
                format!(
                    "expected a '*' multibulk request, found {:?}",
                    rest[0] as char
                ),
            ));
        }
        match parser.parse(rest, &mut args) {
            Frame::Command { len } => {
                let argv = args.argv(rest);
                let mut net = detached.ctx(Instant::now());
                let mut ctx = Ctx {
                    store: shared.db(0).borrow_mut(),
                    // Replay sees no time passing: nothing expires while loading
                    // (Redis's rule), so a later command finds the keys the original
                    // one found; expiry resumes once loading is done.
                    now: 0,
                    shared,
                    client: &mut client,
                    close: false,
                    net: &mut net,
                    input_left: 0,
                };
                reply.clear();
                let name = argv.get(0).to_ascii_lowercase();
                command::execute(&mut ctx, argv, &mut Reply::new(&mut reply, false));
                if ctx.client.db != 0 {
                    return Err(corrupt(
                        offset,
                        "SELECT of a database other than 0 (the log keeps database 0 only)"
                            .to_string(),
                    ));
                }
                if reply.starts_with(b"-ERR unknown command") {
                    return Err(corrupt(
                        offset,
                        format!("unknown command '{}'", String::from_utf8_lossy(&name)),
                    ));
                }
                if reply.starts_with(b"-") && !reply.starts_with(b"-EXECABORT") {
                    errors += 1;
                    if errors <= 10 {
                        log::warn!(
                            "append-only file command at byte {offset} failed on replay: {}",
                            String::from_utf8_lossy(&reply[1..reply.len().min(200)]).trim_end()
                        );
                    }
                }
                report.commands += 1;
                pos += len;
                match name.as_slice() {
                    b"multi" => multi_start = Some(offset),
                    b"exec" | b"discard" => multi_start = None,
                    _ => {}
                }
                if multi_start.is_none() {
                    good_end = base + pos as u64;
                }
                if last_progress.elapsed() >= Duration::from_secs(1) {
                    last_progress = Instant::now();
                    log::info!(
                        "loading the append-only file: {} of {total} bytes ({:.0}%), {} commands",
                        base + pos as u64,
                        (base + pos as u64) as f64 * 100.0 / total.max(1) as f64,
                        report.commands
                    );
                }
            }
            Frame::Empty { len } => pos += len,
            Frame::Incomplete => {
                if eof {
                    break;
                }
                buf.drain(..pos);
                base += pos as u64;
                pos = 0;
                eof = fill(&mut file, &mut buf, CHUNK).map_err(io_err)?;
            }
            Frame::Error(e) => return Err(corrupt(offset, e.to_string())),
        }
    }
    let end = base + pos as u64;
    let complete = end == total && multi_start.is_none() && !parser.is_mid_command();
    if !complete && good_end < total {
        let why = if multi_start.is_some() {
            "an unfinished MULTI/EXEC transaction"
        } else {
            "a command cut off"
        };
        if !load_truncated {
            return Err(corrupt(
                good_end,
                format!("the file ends with {why} (aof-load-truncated is no)"),
            ));
        }
        log::warn!(
            "the append-only file {} ends with {why} at byte {good_end} of {total}: \
             dropping it and truncating the file to {good_end} bytes",
            path.display()
        );
        let f = OpenOptions::new().write(true).open(path).map_err(io_err)?;
        f.set_len(good_end).map_err(io_err)?;
        f.sync_all().map_err(io_err)?;
        report.truncated_from = Some(total);
    }
    report.bytes = good_end.min(total);
    if total > 0 {
        log::info!(
            "append-only file loaded: {} commands, {} keys, in {:.3} s",
            report.commands,
            shared.db(0).borrow().len(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(report)
}

/// Read up to `chunk` more bytes onto `buf`; true at end of file.
fn fill(file: &mut File, buf: &mut Vec<u8>, chunk: usize) -> io::Result<bool> {
    let len = buf.len();
    buf.resize(len + chunk, 0);
    let n = loop {
        match file.read(&mut buf[len..]) {
            Ok(n) => break n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                buf.truncate(len);
                return Err(e);
            }
        }
    };
    buf.truncate(len + n);
    Ok(n == 0)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use crate::KvConfig;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "evloop-unit-{name}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn config(dir: &Path) -> AofConfig {
        AofConfig {
            enabled: true,
            fsync: Fsync::No,
            dir: dir.to_owned(),
            auto_rewrite_percentage: 0,
            ..AofConfig::default()
        }
    }

    /// Every key with its type, contents (sorted where unordered) and TTL.
    fn canonical(svc: &KvService) -> Vec<String> {
        let store = svc.shared.db(0).borrow();
        let now = clock();
        let mut names = Vec::new();
        store.key_names_in(0, store.buckets(), &mut names);
        let mut keys: Vec<String> = names
            .iter()
            .filter_map(|k| {
                let e = store.peek(k)?;
                if e.expire_at().is_some_and(|at| at <= now) {
                    return None;
                }
                let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
                let body = match &e.value {
                    Value::Str(v) => s(v),
                    Value::List(l) => l.iter().map(s).collect::<Vec<_>>().join(","),
                    Value::Set(set) => {
                        let mut m: Vec<_> = set.iter().map(|b| s(&b)).collect();
                        m.sort();
                        m.join(",")
                    }
                    Value::Hash(h) => {
                        let mut m: Vec<_> = h
                            .iter()
                            .map(|(f, v)| format!("{}={}", s(f), s(v)))
                            .collect();
                        m.sort();
                        m.join(",")
                    }
                    Value::ZSet(z) => z
                        .iter()
                        .map(|(m, sc)| format!("{}:{sc}", s(m)))
                        .collect::<Vec<_>>()
                        .join(","),
                };
                Some(format!(
                    "{} {} {body} {:?}",
                    s(k),
                    e.value.type_name(),
                    e.expire_at()
                ))
            })
            .collect();
        keys.sort();
        keys
    }

    fn random_write(h: &mut Harness, x: &mut u64) {
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        let k = format!("k{}", *x % 400);
        let k2 = format!("k{}", (*x >> 20) % 400);
        let v = format!("v{}", *x % 1000);
        let args: Vec<&str> = match (*x >> 40) % 12 {
            0 => vec!["SET", &k, &v],
            1 => vec!["INCR", &k2],
            2 => vec!["RPUSH", &k, &v, "x"],
            3 => vec!["LPOP", &k],
            4 => vec!["DEL", &k2],
            5 => vec!["RENAME", &k, &k2],
            6 => vec!["MSET", &k, &v, &k2, &v],
            7 => vec!["SADD", &k2, &v],
            8 => vec!["SPOP", &k2],
            9 if *x & (1 << 50) == 0 => vec!["HSET", &k, "f", &v],
            9 => vec!["HINCRBYFLOAT", &k, "n", "0.5"],
            10 => vec!["EXPIRE", &k, "100"],
            _ => vec!["APPEND", &k, &v],
        };
        h.cmd(&args);
    }

    #[test]
    fn a_rewrite_interleaved_with_writes_replays_to_the_same_keyspace() {
        for seed in 1..=8u64 {
            let dir = temp_dir("rewrite");
            let mut h = Harness::new();
            h.svc.enable_aof(config(&dir)).unwrap();
            let mut x = 0x9e37_79b9_7f4a_7c15 ^ seed;
            for _ in 0..2000 {
                random_write(&mut h, &mut x);
            }
            let now_ms = clock();
            {
                let store = h.svc.shared.db(0).borrow();
                let mut aof = h.svc.shared.aof.borrow_mut();
                aof.as_mut().unwrap().start_rewrite(&store).unwrap();
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                for _ in 0..(x % 5) {
                    random_write(&mut h, &mut x);
                }
                if seed % 4 == 3 && x % 97 == 0 {
                    h.cmd(&["FLUSHALL"]);
                }
                let store = h.svc.shared.db(0).borrow();
                let mut guard = h.svc.shared.aof.borrow_mut();
                let aof = guard.as_mut().unwrap();
                aof.flush(Instant::now(), true);
                aof.rewrite_step(&store, now_ms, 7).unwrap();
                if aof.rewrite.is_none() {
                    break;
                }
                assert!(Instant::now() < deadline, "the rewrite did not finish");
            }
            assert_eq!(h.svc.shared.aof.borrow().as_ref().unwrap().rewrites, 1);
            for _ in 0..50 {
                random_write(&mut h, &mut x);
            }
            h.svc.flush_aof();
            let want = canonical(&h.svc);
            let replayed = KvService::with_clock(KvConfig::default(), clock);
            let report = replayed.enable_aof(config(&dir)).unwrap();
            assert_eq!(report.truncated_from, None);
            assert_eq!(canonical(&replayed), want, "seed {seed}");
            drop((h, replayed));
            let _ = fs::remove_dir_all(&dir);
        }
    }

    #[test]
    fn a_rewrite_survives_the_keyspace_growing_while_it_takes_the_names() {
        let dir = temp_dir("rewrite-grow");
        let mut h = Harness::new();
        h.svc.enable_aof(config(&dir)).unwrap();
        for i in 0..200 {
            h.cmd(&["RPUSH", &format!("old{i}"), "a", "b"]);
        }
        let now_ms = clock();
        let step = |h: &mut Harness| {
            let store = h.svc.shared.db(0).borrow();
            let mut guard = h.svc.shared.aof.borrow_mut();
            let aof = guard.as_mut().unwrap();
            aof.flush(Instant::now(), true);
            aof.rewrite_step(&store, now_ms, 7).unwrap();
            aof.rewrite.is_none()
        };
        {
            let store = h.svc.shared.db(0).borrow();
            let mut aof = h.svc.shared.aof.borrow_mut();
            aof.as_mut().unwrap().start_rewrite(&store).unwrap();
        }
        let inserted = h.svc.shared.db(0).borrow().inserted();
        step(&mut h);
        // Enough new keys to grow the table (moving every entry) mid-collection,
        // and writes to old keys on both sides of the collection's position.
        for i in 0..5000 {
            h.cmd(&["SET", &format!("new{i}"), "v"]);
            if i % 50 == 0 {
                h.cmd(&["RPUSH", &format!("old{}", i / 50), "c"]);
                step(&mut h);
            }
        }
        assert_eq!(h.svc.shared.db(0).borrow().inserted(), inserted + 5000);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !step(&mut h) {
            assert!(Instant::now() < deadline, "the rewrite did not finish");
        }
        h.svc.flush_aof();
        let replayed = KvService::with_clock(KvConfig::default(), clock);
        replayed.enable_aof(config(&dir)).unwrap();
        assert_eq!(canonical(&replayed), canonical(&h.svc));
        drop((h, replayed));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn expiry_is_recorded_as_absolute_time_and_deletion() {
        let dir = temp_dir("expiry");
        let mut h = Harness::new();
        h.svc.enable_aof(config(&dir)).unwrap();
        h.cmd(&["SET", "a", "1", "EX", "10"]);
        h.cmd(&["SET", "b", "1"]);
        h.cmd(&["PEXPIRE", "b", "50"]);
        advance(100);
        // b expired: read lazily, which deletes it; then written again.
        assert_eq!(h.cmd(&["APPEND", "b", "x"]), ":1\r\n");
        h.svc.flush_aof();
        let text = String::from_utf8(fs::read(dir.join("appendonly.aof")).unwrap()).unwrap();
        let at = clock() - 100 + 10_000;
        assert!(text.contains(&format!("PXAT\r\n$13\r\n{at}")), "{text:?}");
        assert!(text.contains("PEXPIREAT"), "{text:?}");
        let del = text.find("$3\r\nDEL\r\n$1\r\nb").expect("DEL b");
        assert!(del < text.rfind("APPEND").unwrap(), "{text:?}");
        let replayed = KvService::with_clock(KvConfig::default(), clock);
        replayed.enable_aof(config(&dir)).unwrap();
        assert_eq!(canonical(&replayed), canonical(&h.svc));
        drop((h, replayed));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn hincrbyfloat_is_recorded_as_the_value_it_wrote() {
        let dir = temp_dir("hincrbyfloat");
        let mut h = Harness::new();
        h.svc.enable_aof(config(&dir)).unwrap();
        h.cmd(&["HINCRBYFLOAT", "h", "f", "1.5"]);
        h.cmd(&["HINCRBYFLOAT", "h", "f", "x"]);
        h.cmd(&["HSETNX", "h", "g", "1"]);
        h.svc.flush_aof();
        let text = String::from_utf8(fs::read(dir.join("appendonly.aof")).unwrap()).unwrap();
        assert!(!text.contains("HINCRBYFLOAT"), "{text:?}");
        assert!(
            text.contains("$4\r\nHSET\r\n$1\r\nh\r\n$1\r\nf\r\n$3\r\n1.5\r\n"),
            "{text:?}"
        );
        assert!(text.contains("HSETNX"), "{text:?}");
        let replayed = KvService::with_clock(KvConfig::default(), clock);
        replayed.enable_aof(config(&dir)).unwrap();
        assert_eq!(canonical(&replayed), canonical(&h.svc));
        drop((h, replayed));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn with_the_log_on_only_database_0_is_reachable() {
        let dir = temp_dir("db0-only");
        let mut h = Harness::new();
        h.svc.enable_aof(config(&dir)).unwrap();
        let refused =
            "-ERR only database 0 is available while appendonly is on (the log keeps database 0)\r\n";
        assert_eq!(h.cmd(&["SELECT", "1"]), refused);
        assert_eq!(h.cmd(&["SELECT", "0"]), "+OK\r\n");
        assert_eq!(h.cmd(&["SET", "k", "v"]), "+OK\r\n");
        assert_eq!(h.cmd(&["MOVE", "k", "2"]), refused);
        assert_eq!(h.cmd(&["SWAPDB", "0", "2"]), refused);
        assert_eq!(h.cmd(&["GET", "k"]), "$1\r\nv\r\n");
        h.svc.flush_aof();
        drop(h);
        // A log that selects another database (written elsewhere) is refused whole.
        let path = dir.join("appendonly.aof");
        let mut text = fs::read(&path).unwrap();
        text.extend_from_slice(b"*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n");
        fs::write(&path, &text).unwrap();
        let replayed = KvService::with_clock(KvConfig::default(), clock);
        match replayed.enable_aof(config(&dir)) {
            Err(LoadError::Corrupt { why, .. }) => assert!(why.contains("database"), "{why}"),
            other => panic!("{other:?}"),
        }
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn sizes_parse_as_redis_writes_them() {
        assert_eq!(parse_size("64mb"), Some(64 * 1024 * 1024));
        assert_eq!(parse_size("100"), Some(100));
        assert_eq!(parse_size("1k"), Some(1000));
        assert_eq!(parse_size("1parsec"), None);
    }
}
