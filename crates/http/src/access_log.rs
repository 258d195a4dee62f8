//! The access log: one line per response in the Common Log Format, written by a
//! background thread so the event loop never waits for a disk.
//!
//! ```text
//! 127.0.0.1 - - [03/Dec/2026:11:15:57 +0000] "GET /index.html HTTP/1.1" 200 5120
//! ```
//!
//! A session appends its line to its service's batch (a few dozen bytes of copying
//! per request); the service hands the batch to the writer thread once a second
//! (on its tick) or as soon as it holds [`BATCH_BYTES`]. The hand-over is a bounded
//! channel: if the writer has fallen [`QUEUED_BATCHES`] batches behind (a stalled or
//! full disk), the batch is dropped and its lines counted
//! ([`AccessLog::dropped`]) rather than the loop blocked or memory grown. The
//! writer appends with one `write` per batch and reopens the file when it has
//! been moved or removed (log rotation without a signal), checking once a second.
//! Times are UTC, to the second of the service's tick.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::net::SocketAddr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::date;

/// A batch is handed to the writer once it holds this many bytes.
pub const BATCH_BYTES: usize = 64 * 1024;

/// Batches waiting for the writer, at most; more are dropped and counted.
pub const QUEUED_BATCHES: usize = 64;

/// How often the writer checks whether the file was moved or removed.
const REOPEN_CHECK: Duration = Duration::from_secs(1);

/// Longest request line logged; a longer one is cut and ends with `...`.
pub(crate) const MAX_LINE: usize = 1024;

/// What the writer thread hears.
#[derive(Debug)]
enum Message {
    /// One batch of lines, and how many lines it holds.
    Lines(Vec<u8>, u64),
    /// Write what came before, then stop.
    Finish,
}

/// An open access log: the writer thread and what the services hand it lines
/// through. Dropping it does not stop the writer; [`AccessLog::finish`] waits for it.
#[derive(Debug)]
pub struct AccessLog {
    sink: AccessLogSink,
    writer: Option<JoinHandle<()>>,
    done: Receiver<()>,
}

/// Where services send their lines (see
/// [`HttpService::log_requests_to`](super::HttpService::log_requests_to)); clone
/// one per reactor thread.
#[derive(Debug, Clone)]
pub struct AccessLogSink {
    tx: SyncSender<Message>,
    dropped: Arc<AtomicU64>,
}

impl AccessLog {
    /// Open (create, append to) the log at `path` and start its writer thread.
    /// Fails if the file cannot be opened for appending.
    pub fn open(path: &Path) -> io::Result<AccessLog> {
        let file = open_append(path)?;
        let (tx, rx) = mpsc::sync_channel::<Message>(QUEUED_BATCHES);
        let (done_tx, done) = mpsc::channel();
        let dropped = Arc::new(AtomicU64::new(0));
        let writer = Writer {
            path: path.to_path_buf(),
            file,
            dropped: Arc::clone(&dropped),
            failing: false,
        };
        let handle = std::thread::Builder::new()
            .name("access-log".into())
            .spawn(move || {
                writer.run(rx);
                let _ = done_tx.send(());
            })?;
        Ok(AccessLog {
            sink: AccessLogSink { tx, dropped },
            writer: Some(handle),
            done,
        })
    }

    /// A sender for one service (or reactor thread).
    pub fn sink(&self) -> AccessLogSink {
        self.sink.clone()
    }

    /// Lines dropped so far: their batch found the writer too far behind, or the
    /// write failed.
    pub fn dropped(&self) -> u64 {
        self.sink.dropped()
    }

    /// Wait up to `timeout` for the writer to write every line handed to it so
    /// far, then stop it. Call it once the services are gone (their last lines
    /// are handed over when they are dropped); lines sent after this are
    /// dropped and counted. Returns whether the writer finished in time.
    pub fn finish(mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        // The queue may be full of batches for a slow disk: wait for room.
        let mut message = Message::Finish;
        loop {
            match self.sink.tx.try_send(message) {
                Ok(()) | Err(TrySendError::Disconnected(_)) => break,
                Err(TrySendError::Full(m)) if Instant::now() < deadline => {
                    message = m;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(TrySendError::Full(_)) => return false,
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let finished = self.done.recv_timeout(left).is_ok();
        if finished {
            if let Some(handle) = self.writer.take() {
                let _ = handle.join();
            }
        }
        finished
    }
}

impl AccessLogSink {
    /// Lines dropped so far, by every sink of this log.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// The writer thread's state.
struct Writer {
    path: PathBuf,
    file: File,
    dropped: Arc<AtomicU64>,
    /// The last write failed (logged once until one succeeds).
    failing: bool,
}

impl Writer {
    fn run(mut self, rx: Receiver<Message>) {
        let mut checked = Instant::now();
        loop {
            match rx.recv_timeout(REOPEN_CHECK) {
                Ok(Message::Lines(bytes, lines)) => self.write(&bytes, lines),
                Ok(Message::Finish) | Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {}
            }
            if checked.elapsed() >= REOPEN_CHECK {
                checked = Instant::now();
                self.reopen_if_moved();
            }
        }
        let _ = self.file.sync_data();
    }

    fn write(&mut self, bytes: &[u8], lines: u64) {
        match self.file.write_all(bytes) {
            Ok(()) => self.failing = false,
            Err(e) => {
                self.dropped.fetch_add(lines, Ordering::Relaxed);
                if !std::mem::replace(&mut self.failing, true) {
                    log::error!("access log {}: {e}; lines are dropped", self.path.display());
                }
                self.reopen_if_moved();
            }
        }
    }

    /// Log rotation moves or removes the file: start a new one under the name.
    fn reopen_if_moved(&mut self) {
        let current = self.file.metadata().map(|m| (m.dev(), m.ino()));
        let named = std::fs::metadata(&self.path).map(|m| (m.dev(), m.ino()));
        if let (Ok(current), Ok(named)) = (&current, &named) {
            if current == named {
                return;
            }
        }
        match open_append(&self.path) {
            Ok(file) => {
                log::info!("access log {} reopened", self.path.display());
                self.file = file;
            }
            Err(e) if !self.failing => {
                self.failing = true;
                log::error!("access log {}: cannot reopen: {e}", self.path.display());
            }
            Err(_) => {}
        }
    }
}

/// One service's pending lines (one per reactor thread), with the cached time.
#[derive(Debug)]
pub(crate) struct Lines {
    sink: AccessLogSink,
    buf: Vec<u8>,
    lines: u64,
    /// `[03/Dec/2026:11:15:57 +0000]` for the current second.
    time: [u8; 28],
}

/// What one log line says about a response.
pub(crate) struct Entry<'a> {
    pub(crate) peer: Option<SocketAddr>,
    /// The request line as received (may be empty for a request that never had
    /// a readable one).
    pub(crate) request: &'a [u8],
    pub(crate) status: u16,
    /// Body bytes sent (the head not counted), as in the format's `%b`.
    pub(crate) bytes: u64,
}

impl Lines {
    pub(crate) fn new(sink: AccessLogSink, unix_secs: u64) -> Lines {
        Lines {
            sink,
            buf: Vec::new(),
            lines: 0,
            time: clf_time(unix_secs),
        }
    }

    /// A new second: the time for the lines from now on; hand over what is held.
    pub(crate) fn tick(&mut self, unix_secs: u64) {
        self.time = clf_time(unix_secs);
        self.flush();
    }

    pub(crate) fn push(&mut self, entry: &Entry<'_>) {
        let buf = &mut self.buf;
        // Writing to a Vec cannot fail.
        match entry.peer {
            Some(peer) => {
                let _ = write!(buf, "{}", peer.ip());
            }
            None => buf.extend_from_slice(b"unix:"),
        }
        buf.extend_from_slice(b" - - ");
        buf.extend_from_slice(&self.time);
        buf.extend_from_slice(b" \"");
        if entry.request.is_empty() {
            buf.push(b'-');
        }
        escape_into(buf, entry.request);
        buf.extend_from_slice(b"\" ");
        let _ = write!(buf, "{} ", entry.status);
        if entry.bytes == 0 {
            buf.extend_from_slice(b"-\n");
        } else {
            let _ = writeln!(buf, "{}", entry.bytes);
        }
        self.lines += 1;
        if self.buf.len() >= BATCH_BYTES {
            self.flush();
        }
    }

    /// Hand the held lines to the writer, or drop and count them if it is too far
    /// behind.
    pub(crate) fn flush(&mut self) {
        if self.lines == 0 {
            return;
        }
        let batch = Message::Lines(
            std::mem::take(&mut self.buf),
            std::mem::take(&mut self.lines),
        );
        match self.sink.tx.try_send(batch) {
            Ok(()) => {}
            Err(TrySendError::Full(m) | TrySendError::Disconnected(m)) => {
                let Message::Lines(_, lines) = m else {
                    return;
                };
                let before = self.sink.dropped.fetch_add(lines, Ordering::Relaxed);
                if before == 0 {
                    log::warn!("access log writer is behind: lines are dropped and counted");
                }
            }
        }
    }
}

impl Drop for Lines {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Bytes of a request line as they may appear between the quotes: printable
/// ASCII but `"` and `\` as is, everything else as `\xHH` (as nginx does), cut at
/// [`MAX_LINE`].
fn escape_into(buf: &mut Vec<u8>, line: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in &line[..line.len().min(MAX_LINE)] {
        if (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\' {
            buf.push(b);
        } else {
            buf.extend_from_slice(&[
                b'\\',
                b'x',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 15)],
            ]);
        }
    }
    if line.len() > MAX_LINE {
        buf.extend_from_slice(b"...");
    }
}

/// `[03/Dec/2026:11:15:57 +0000]`, from the `Date` header's formatting.
fn clf_time(unix_secs: u64) -> [u8; 28] {
    // IMF-fixdate: "Thu, 03 Dec 2026 11:15:57 GMT"
    let d = date::imf_fixdate(unix_secs);
    let mut t = *b"[01/Jan/1970:00:00:00 +0000]";
    t[1..3].copy_from_slice(&d[5..7]);
    t[4..7].copy_from_slice(&d[8..11]);
    t[8..12].copy_from_slice(&d[12..16]);
    t[13..21].copy_from_slice(&d[17..25]);
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sink() -> (AccessLogSink, Receiver<Message>) {
        let (tx, rx) = mpsc::sync_channel(2);
        let dropped = Arc::new(AtomicU64::new(0));
        (AccessLogSink { tx, dropped }, rx)
    }

    #[test]
    fn lines_are_in_the_common_log_format() {
        let (sink, rx) = sink();
        // 2026-12-03 11:15:57 UTC
        let mut lines = Lines::new(sink, 1_796_296_557);
        lines.push(&Entry {
            peer: Some("192.0.2.7:5000".parse().unwrap()),
            request: b"GET /a?b=c HTTP/1.1",
            status: 200,
            bytes: 5120,
        });
        lines.push(&Entry {
            peer: Some("[2001:db8::1]:80".parse().unwrap()),
            request: b"GET /\"x\x01 HTTP/1.0",
            status: 404,
            bytes: 0,
        });
        lines.push(&Entry {
            peer: None,
            request: b"",
            status: 400,
            bytes: 11,
        });
        lines.flush();
        let Ok(Message::Lines(bytes, n)) = rx.try_recv() else {
            panic!("no batch");
        };
        assert_eq!(n, 3);
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "192.0.2.7 - - [03/Dec/2026:11:15:57 +0000] \"GET /a?b=c HTTP/1.1\" 200 5120\n\
             2001:db8::1 - - [03/Dec/2026:11:15:57 +0000] \"GET /\\x22x\\x01 HTTP/1.0\" 404 -\n\
             unix: - - [03/Dec/2026:11:15:57 +0000] \"-\" 400 11\n"
        );
    }

    #[test]
    fn a_writer_too_far_behind_costs_lines_not_memory() {
        let (sink, rx) = sink();
        let dropped = Arc::clone(&sink.dropped);
        let mut lines = Lines::new(sink, 0);
        let entry = Entry {
            peer: None,
            request: &[b'a'; 2000],
            status: 200,
            bytes: 1,
        };
        // Nobody reads: two batches fit in the channel, the rest are dropped.
        for _ in 0..200 {
            lines.push(&entry);
            assert!(lines.buf.len() < BATCH_BYTES, "held lines are handed over");
        }
        lines.flush();
        let queued: u64 = rx
            .try_iter()
            .map(|m| match m {
                Message::Lines(_, n) => n,
                Message::Finish => 0,
            })
            .sum();
        assert_eq!(queued + dropped.load(Ordering::Relaxed), 200);
        assert!(dropped.load(Ordering::Relaxed) > 0);
        assert!(queued > 0);
    }

    #[test]
    fn long_request_lines_are_cut() {
        let mut buf = Vec::new();
        escape_into(&mut buf, &[b'x'; MAX_LINE + 10]);
        assert_eq!(buf.len(), MAX_LINE + 3);
        assert!(buf.ends_with(b"x..."));
    }
}
