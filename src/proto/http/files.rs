//! Static files under a root directory, looked up safely and streamed in pieces.
//!
//! Serving files is where an HTTP server most easily hands out more than it meant to:
//! `..` segments, their percent-encoded spellings, encoded slashes, NUL bytes and
//! symlinks pointing outside the root. [`lookup`] turns a request path into an open
//! file only if every one of those checks passes, and the final check is the one that
//! cannot be fooled by spelling: the canonical path must lie under the canonical root.
//! [`FileBody`] then hands the file out in bounded pieces, so a large file is never
//! read into memory whole and a slow client only ever costs one piece of buffer.
//!
//! File reads are ordinary blocking reads on the reactor thread: regular files do not
//! support readiness, and page-cache hits cost about as much as a memcpy.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::response::OCTET_STREAM;

/// Largest piece of a file appended to the output at once.
pub(crate) const PIECE: u64 = 64 * 1024;

/// Why a path does not name a servable file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Not a file under the root (missing, a traversal attempt, a symlink leaving the
    /// root, a special file): 404, revealing nothing about which.
    NotFound,
    /// The path is not valid percent-encoding or contains NUL: 400.
    BadPath,
}

/// An open file and what the response needs to say about it.
#[derive(Debug)]
pub(crate) struct Found {
    pub(crate) body: FileBody,
    pub(crate) content_type: &'static [u8],
}

/// Finds the file that `path` (the request target without its query) names under
/// `root`, which must be canonical.
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
    let file = File::open(&resolved).map_err(|_| Refusal::NotFound)?;
    let meta = file.metadata().map_err(|_| Refusal::NotFound)?;
    if !meta.is_file() {
        return Err(Refusal::NotFound);
    }
    Ok(Found {
        body: FileBody {
            file,
            remaining: meta.len(),
        },
        content_type: content_type(&resolved),
    })
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
        _ => OCTET_STREAM,
    }
}

/// The not-yet-sent part of a file being served.
#[derive(Debug)]
pub(crate) struct FileBody {
    file: File,
    remaining: u64,
}

impl FileBody {
    /// Bytes still to send.
    pub(crate) fn remaining(&self) -> u64 {
        self.remaining
    }

    /// Appends the next piece (at most [`PIECE`] bytes) to `out`. A file that shrank
    /// since it was opened is an error: the `Content-Length` already sent would lie.
    pub(crate) fn fill(&mut self, out: &mut Vec<u8>) -> io::Result<()> {
        let want = self.remaining.min(PIECE);
        let got = (&mut self.file).take(want).read_to_end(out)? as u64;
        if got < want {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.remaining -= got;
        Ok(())
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
