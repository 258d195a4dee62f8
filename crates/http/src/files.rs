//! Static files under a root directory, looked up safely, kept open in a bounded
//! cache, and sent by the reactor with `sendfile(2)`.
//!
//! Serving files is where an HTTP server most easily hands out more than it meant to:
//! `..` segments, their percent-encoded spellings, encoded slashes, NUL bytes and
//! symlinks pointing outside the root. [`lookup`] turns a request path into an open
//! file only if every one of those checks passes, and the final check is the one that
//! cannot be fooled by spelling: the canonical path must lie under the canonical root.
//!
//! [`FileCache`] keeps what [`lookup`] found, open, like nginx's `open_file_cache`:
//! a request for a cached path costs one `fstat` (so a file changed in place is seen
//! at once) instead of canonicalizing and opening again, and an entry older than
//! its validity time (`HttpConfig::file_cache_valid`) is looked up afresh, so a file replaced or removed under
//! its name is noticed within that time. The cache also bounds the descriptors files
//! take: a file being sent holds its descriptor until the response is out, entries
//! nobody is sending are closed first when room is needed, and when every open file
//! is in use a request is refused with 503 rather than growing past the bound.
//!
//! File reads (for small files copied into the response) are ordinary blocking reads
//! on the reactor thread: regular files do not support readiness, and page-cache
//! hits cost about as much as a memcpy.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::rc::{Rc, Weak};
use std::time::{Duration, Instant};

use super::response::OCTET_STREAM;

/// Why a path does not name a servable file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Not a file under the root (missing, a traversal attempt, a symlink leaving the
    /// root, a special file): 404, revealing nothing about which.
    NotFound,
    /// The path is not valid percent-encoding or contains NUL: 400.
    BadPath,
    /// No descriptor can be had now (the open-file bound, or the process's): 503.
    Busy,
}

/// An open file and what the response needs to say about it.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub(crate) file: Rc<File>,
    pub(crate) content_type: &'static [u8],
}

/// Finds the file that `path` (the request target without its query) names under
/// `root`, which must be canonical, and opens it.
pub(crate) fn lookup(root: &Path, path: &[u8]) -> Result<Found, Refusal> {
    let decoded = percent_decode(path)?;
    let mut candidate = root.to_path_buf();
    for segment in decoded.split(|&b| b == b'/') {
        match segment {
            b"" | b"." => {}
            b".." => return Err(Refusal::NotFound),
            name => candidate.push(OsStr::from_bytes(name)),
        }
    }
    let mut resolved = confine(root, &candidate)?;
    if resolved.is_dir() {
        resolved = confine(root, &resolved.join("index.html"))?;
    }
    let file = File::open(&resolved).map_err(|e| match e.raw_os_error() {
        // EMFILE, ENFILE: out of descriptors, not a missing file.
        Some(24 | 23) => Refusal::Busy,
        _ => Refusal::NotFound,
    })?;
    let meta = file.metadata().map_err(|_| Refusal::NotFound)?;
    if !meta.is_file() {
        return Err(Refusal::NotFound);
    }
    Ok(Found {
        file: Rc::new(file),
        content_type: content_type(&resolved),
    })
}

/// Open files by request path; see the module documentation.
#[derive(Debug)]
pub(crate) struct FileCache {
    entries: HashMap<Vec<u8>, Entry>,
    /// Files dropped from `entries` while a response was still sending them: they
    /// count against the bound until the response is done.
    evicted: Vec<Weak<File>>,
    max_open: usize,
    valid_for: Duration,
}

#[derive(Debug)]
struct Entry {
    found: Found,
    looked_up: Instant,
    used: Instant,
}

impl FileCache {
    /// A cache holding at most `max_open` descriptors (at least 1), trusting a
    /// lookup for `valid_for`.
    pub(crate) fn new(max_open: usize, valid_for: Duration) -> FileCache {
        FileCache {
            entries: HashMap::new(),
            evicted: Vec::new(),
            max_open: max_open.max(1),
            valid_for,
        }
    }

    /// Descriptors held: cached files and files still being sent.
    pub(crate) fn open_files(&mut self) -> usize {
        self.evicted.retain(|w| w.strong_count() > 0);
        self.entries.len() + self.evicted.len()
    }

    /// The file `path` names under `root`, from the cache if its lookup is recent.
    pub(crate) fn get(&mut self, root: &Path, path: &[u8], now: Instant) -> Result<Found, Refusal> {
        if let Some(entry) = self.entries.get_mut(path) {
            if now.saturating_duration_since(entry.looked_up) < self.valid_for {
                entry.used = now;
                return Ok(entry.found.clone());
            }
        }
        // A stale entry goes first: its descriptor may be the room we need.
        if let Some(stale) = self.entries.remove(path) {
            self.retire(stale);
        }
        if self.open_files() >= self.max_open && !self.make_room() {
            return Err(Refusal::Busy);
        }
        let found = lookup(root, path)?;
        self.entries.insert(
            path.to_vec(),
            Entry {
                found: found.clone(),
                looked_up: now,
                used: now,
            },
        );
        Ok(found)
    }

    /// Drop an entry, remembering its file if a response still sends it.
    fn retire(&mut self, entry: Entry) {
        let weak = Rc::downgrade(&entry.found.file);
        drop(entry);
        if weak.strong_count() > 0 {
            self.evicted.push(weak);
        }
    }

    /// Close the least recently used file nobody is sending; `false` if every open
    /// file is in use.
    fn make_room(&mut self) -> bool {
        let idle = self
            .entries
            .iter()
            .filter(|(_, e)| Rc::strong_count(&e.found.file) == 1)
            .min_by_key(|(_, e)| e.used)
            .map(|(path, _)| path.clone());
        match idle {
            Some(path) => {
                self.entries.remove(&path);
                true
            }
            None => false,
        }
    }
}

/// The canonical form of `path`, if it exists and lies under `root`.
fn confine(root: &Path, path: &Path) -> Result<PathBuf, Refusal> {
    let canonical = path.canonicalize().map_err(|_| Refusal::NotFound)?;
    if canonical.starts_with(root) {
        Ok(canonical)
    } else {
        Err(Refusal::NotFound)
    }
}

/// Decodes `%XX` escapes. An escaped `/` is refused (it would let a segment such as
/// `..%2f..` hide a traversal), as is NUL in any spelling.
fn percent_decode(path: &[u8]) -> Result<Vec<u8>, Refusal> {
    let mut out = Vec::with_capacity(path.len());
    let mut i = 0;
    while i < path.len() {
        let b = path[i];
        if b == b'%' {
            let hi = path.get(i + 1).and_then(|&h| hex(h));
            let lo = path.get(i + 2).and_then(|&l| hex(l));
            let (Some(hi), Some(lo)) = (hi, lo) else {
                return Err(Refusal::BadPath);
            };
            let decoded = hi << 4 | lo;
            match decoded {
                0 => return Err(Refusal::BadPath),
                b'/' | b'\\' => return Err(Refusal::NotFound),
                _ => out.push(decoded),
            }
            i += 3;
        } else {
            if b == 0 {
                return Err(Refusal::BadPath);
            }
            out.push(b);
            i += 1;
        }
    }
    Ok(out)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The `Content-Type` for a file, from its extension.
pub(crate) fn content_type(path: &Path) -> &'static [u8] {
    let Some(ext) = path.extension().and_then(OsStr::to_str) else {
        return OCTET_STREAM;
    };
    match ext.to_ascii_lowercase().as_str() {
        "html" | "htm" => b"text/html; charset=utf-8",
        "css" => b"text/css; charset=utf-8",
        "js" | "mjs" => b"text/javascript; charset=utf-8",
        "json" => b"application/json",
        "txt" => b"text/plain; charset=utf-8",
        "png" => b"image/png",
        "jpg" | "jpeg" => b"image/jpeg",
        "gif" => b"image/gif",
        "svg" => b"image/svg+xml",
        "wasm" => b"application/wasm",
        "pdf" => b"application/pdf",
        "ico" => b"image/x-icon",
        "xml" => b"application/xml",
        "csv" => b"text/csv; charset=utf-8",
        "md" => b"text/markdown; charset=utf-8",
        "webp" => b"image/webp",
        "avif" => b"image/avif",
        "woff" => b"font/woff",
        "woff2" => b"font/woff2",
        "ttf" => b"font/ttf",
        "otf" => b"font/otf",
        "mp4" => b"video/mp4",
        "webm" => b"video/webm",
        "mp3" => b"audio/mpeg",
        "ogg" => b"audio/ogg",
        "zip" => b"application/zip",
        _ => OCTET_STREAM,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding() {
        assert_eq!(percent_decode(b"/a%20b%41").unwrap(), b"/a bA");
        assert_eq!(percent_decode(b"/%2e%2E").unwrap(), b"/..");
        assert_eq!(percent_decode(b"/a%2fb"), Err(Refusal::NotFound));
        assert_eq!(percent_decode(b"/a%5Cb"), Err(Refusal::NotFound));
        assert_eq!(percent_decode(b"/a%00"), Err(Refusal::BadPath));
        assert_eq!(percent_decode(b"/a%4"), Err(Refusal::BadPath));
        assert_eq!(percent_decode(b"/a%zz"), Err(Refusal::BadPath));
    }

    #[test]
    fn content_types() {
        assert_eq!(
            content_type(Path::new("a/b.HTML")),
            b"text/html; charset=utf-8"
        );
        assert_eq!(content_type(Path::new("x.wasm")), b"application/wasm");
        assert_eq!(content_type(Path::new("x.tar.gz")), OCTET_STREAM);
        assert_eq!(content_type(Path::new("noext")), OCTET_STREAM);
    }
}
