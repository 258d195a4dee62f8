//! The RESP2 request parser: bytes in, one command's arguments out.
//!
//! Redis clients send commands in two shapes: *multibulk* (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`,
//! what every client library and redis-benchmark sends) and *inline* (`PING\r\n`, what a
//! person types into telnet). This module turns either into a list of arguments and
//! knows nothing about what the arguments mean; the command layer (`command.rs`) does.
//! Keeping the two apart is the mini-redis shape, and it lets the parser be tested
//! byte by byte against hostile input on its own.
//!
//! The parser is zero-copy: an argument is a range into the caller's input, kept in a
//! reused [`Args`], so parsing a command allocates nothing once the session has warmed
//! up. Inline arguments written with quotes and escapes are the one exception; they are
//! decoded into a scratch buffer inside [`Args`], again reused.
//!
//! Limits follow Redis (`networking.c`): a count or length line without `\r` longer than
//! the inline limit, a multibulk count above the element limit, a negative or too large
//! bulk length are protocol errors with Redis's exact messages. Nothing is ever
//! allocated from a length the peer claims: a `*2147483647` header reserves nothing, and
//! a `$536870912` bulk only makes the parser wait for that many bytes to arrive.
//!
//! Incomplete commands: the caller offers the same unconsumed bytes again with new
//! bytes appended (the reactor's contract). The parser remembers how far it got inside
//! the current command (arguments already found, the offset of the next header, a bulk
//! length already read, how far a line was searched for its terminator), so a command
//! arriving in many small reads is scanned once in total, not once per read; waiting
//! for the rest of a large bulk is an O(1) length check per call.

use std::fmt;

/// Limits the parser enforces, as Redis does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest bulk string accepted (Redis `proto-max-bulk-len`, 512 MiB).
    pub max_bulk: usize,
    /// Longest inline command, and longest count/length line (Redis: 64 KiB).
    pub max_inline: usize,
    /// Most elements in one multibulk request (Redis: 1024 * 1024).
    pub max_multibulk: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk: 512 * 1024 * 1024,
            max_inline: 64 * 1024,
            max_multibulk: 1024 * 1024,
        }
    }
}

/// A request the parser refuses. Redis replies with the error and closes the
/// connection; so does the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolError {
    /// `*N` where N is not a number or larger than the element limit.
    InvalidMultibulkLength,
    /// `$N` where N is not a number, negative, or larger than the bulk limit.
    InvalidBulkLength,
    /// An element of a multibulk request did not start with `$`; holds the byte seen.
    ExpectedDollar(u8),
    /// The `*N` line has no `\r` within the inline limit.
    TooBigMbulkCount,
    /// A `$N` line has no `\r` within the inline limit.
    TooBigBulkCount,
    /// An inline command has no `\n` within the inline limit.
    TooBigInline,
    /// An inline command has a quote that is not closed (or is followed by a non-space).
    UnbalancedQuotes,
}

impl ProtocolError {
    /// Append the error reply, exactly as Redis words it (`-ERR Protocol error: ...`).
    pub fn write_reply(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"-ERR Protocol error: ");
        match *self {
            ProtocolError::InvalidMultibulkLength => {
                out.extend_from_slice(b"invalid multibulk length")
            }
            ProtocolError::InvalidBulkLength => out.extend_from_slice(b"invalid bulk length"),
            ProtocolError::ExpectedDollar(b) => {
                out.extend_from_slice(b"expected '$', got '");
                // Redis maps CR/LF in error strings to spaces so the reply stays one line.
                out.push(if b == b'\r' || b == b'\n' { b' ' } else { b });
                out.push(b'\'');
            }
            ProtocolError::TooBigMbulkCount => out.extend_from_slice(b"too big mbulk count string"),
            ProtocolError::TooBigBulkCount => out.extend_from_slice(b"too big bulk count string"),
            ProtocolError::TooBigInline => out.extend_from_slice(b"too big inline request"),
            ProtocolError::UnbalancedQuotes => {
                out.extend_from_slice(b"unbalanced quotes in request")
            }
        }
        out.extend_from_slice(b"\r\n");
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut v = Vec::new();
        self.write_reply(&mut v);
        let text = String::from_utf8_lossy(&v);
        f.write_str(text.trim_start_matches("-ERR ").trim_end())
    }
}

impl std::error::Error for ProtocolError {}

/// What [`Parser::parse`] found at the front of its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// A complete command of `len` bytes; its arguments are in the [`Args`].
    Command {
        /// Bytes the command occupies at the front of the input.
        len: usize,
    },
    /// `len` bytes that hold no command (an empty inline line, `*0`, `*-1`): skip them.
    Empty {
        /// Bytes to skip.
        len: usize,
    },
    /// The input ends inside a command. Call again with the same bytes plus more.
    Incomplete,
    /// The peer broke the protocol: reply with the error and close.
    Error(ProtocolError),
}

/// The arguments of the last command parsed: ranges into the input (or into an
/// internal scratch buffer for inline arguments that needed unescaping).
///
/// Reused from command to command so that parsing does not allocate.
#[derive(Debug, Default)]
pub struct Args {
    ranges: Vec<(usize, usize)>,
    scratch: Vec<u8>,
    in_scratch: bool,
}

impl Args {
    /// An empty argument list.
    pub fn new() -> Args {
        Args::default()
    }

    /// The arguments as byte slices. `input` must be the slice the last
    /// [`Parser::parse`] that returned [`Frame::Command`] was given.
    pub fn argv<'a>(&'a self, input: &'a [u8]) -> Argv<'a> {
        Argv {
            buf: if self.in_scratch {
                &self.scratch
            } else {
                input
            },
            ranges: &self.ranges,
        }
    }

    /// Drop buffers that one huge command grew, so an idle session stays small.
    pub fn shrink(&mut self) {
        if self.ranges.capacity() > 64 {
            self.ranges = Vec::new();
        }
        if self.scratch.capacity() > 4096 {
            self.scratch = Vec::new();
        }
    }

    fn reset(&mut self) {
        self.ranges.clear();
        self.scratch.clear();
        self.in_scratch = false;
    }
}

/// A borrowed view of one command's arguments; `argv.get(0)` is the command name.
#[derive(Debug, Clone, Copy)]
pub struct Argv<'a> {
    buf: &'a [u8],
    ranges: &'a [(usize, usize)],
}

impl<'a> Argv<'a> {
    /// Arguments held elsewhere (a queued transaction): `ranges` index `buf`.
    pub(crate) fn new(buf: &'a [u8], ranges: &'a [(usize, usize)]) -> Argv<'a> {
        Argv { buf, ranges }
    }

    /// Number of arguments, the command name included.
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    /// True if there are no arguments (never the case for a parsed command).
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Argument `i`; an empty slice if `i` is out of range (callers check arity first).
    pub fn get(&self, i: usize) -> &'a [u8] {
        match self.ranges.get(i) {
            Some(&(start, end)) => self.buf.get(start..end).unwrap_or(&[]),
            None => &[],
        }
    }

    /// Iterate over the arguments from index `from`.
    pub fn iter_from(&self, from: usize) -> impl Iterator<Item = &'a [u8]> + 'a {
        let buf = self.buf;
        self.ranges
            .get(from..)
            .unwrap_or(&[])
            .iter()
            .map(move |&(s, e)| buf.get(s..e).unwrap_or(&[]))
    }
}

/// Progress inside the command at the front of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the first byte of a command.
    Start,
    /// Inside the `*N` line; `scanned` bytes are known to hold no `\r`.
    Header { scanned: usize },
    /// Inside a multibulk request: `remaining` elements to go, the next unparsed
    /// byte at `pos`, and the length of the element whose header was read, if any.
    /// `scanned`: bytes from `pos` known to hold no `\r` (a header line in progress).
    Multibulk {
        remaining: usize,
        pos: usize,
        bulk: Option<usize>,
        scanned: usize,
    },
    /// Inside an inline command; `scanned` bytes are known to hold no `\n`.
    Inline { scanned: usize },
}

/// The RESP2 request parser. One per connection; it holds the progress of an
/// incomplete command between calls.
#[derive(Debug)]
pub struct Parser {
    limits: Limits,
    state: State,
}

impl Parser {
    /// A parser enforcing `limits`.
    pub fn new(limits: Limits) -> Parser {
        Parser {
            limits,
            state: State::Start,
        }
    }

    /// Change the largest bulk string accepted (CONFIG SET proto-max-bulk-len); a
    /// bulk whose length line was already read keeps the limit it was read under.
    pub fn set_max_bulk(&mut self, max_bulk: usize) {
        self.limits.max_bulk = max_bulk;
    }

    /// True if the parser is in the middle of a command (it has remembered progress).
    pub fn is_mid_command(&self) -> bool {
        self.state != State::Start
    }

    /// Parse the command at the front of `input`, putting its arguments in `args`.
    ///
    /// After [`Frame::Incomplete`], the next call must be given the same bytes with
    /// more appended (the parser resumes where it stopped). After any other result,
    /// the next call starts at a new command: pass the input after `len` bytes.
    pub fn parse(&mut self, input: &[u8], args: &mut Args) -> Frame {
        if input.is_empty() {
            return Frame::Incomplete;
        }
        match self.state {
            State::Start => {
                args.reset();
                if input[0] == b'*' {
                    self.parse_multibulk_header(input, 1, args)
                } else {
                    self.parse_inline(input, 0, args)
                }
            }
            State::Multibulk {
                remaining,
                pos,
                bulk,
                scanned,
            } => self.parse_elements(input, remaining, pos, bulk, scanned, args),
            State::Header { scanned } => self.parse_multibulk_header(input, scanned, args),
            State::Inline { scanned } => self.parse_inline(input, scanned, args),
        }
    }

    fn parse_multibulk_header(&mut self, input: &[u8], scanned: usize, args: &mut Args) -> Frame {
        let Some(cr) = find(input, scanned.max(1), b'\r') else {
            if input.len() > self.limits.max_inline {
                return self.fail(ProtocolError::TooBigMbulkCount);
            }
            // Resume the search where it stopped next time.
            self.state = State::Header {
                scanned: input.len(),
            };
            return Frame::Incomplete;
        };
        if cr + 1 >= input.len() {
            self.state = State::Header { scanned: cr };
            return Frame::Incomplete;
        }
        let count = match parse_i64(&input[1..cr]) {
            Some(n) if n <= self.limits.max_multibulk as i64 => n,
            _ => return self.fail(ProtocolError::InvalidMultibulkLength),
        };
        let pos = cr + 2;
        if count <= 0 {
            self.state = State::Start;
            return Frame::Empty { len: pos };
        }
        self.parse_elements(input, count as usize, pos, None, 0, args)
    }

    fn parse_elements(
        &mut self,
        input: &[u8],
        mut remaining: usize,
        mut pos: usize,
        mut bulk: Option<usize>,
        mut scanned: usize,
        args: &mut Args,
    ) -> Frame {
        while remaining > 0 {
            let len = match bulk {
                Some(len) => len,
                None => {
                    let from = pos + scanned;
                    let Some(cr) = find(input, from, b'\r') else {
                        if input.len() - pos > self.limits.max_inline {
                            return self.fail(ProtocolError::TooBigBulkCount);
                        }
                        scanned = input.len() - pos;
                        break;
                    };
                    if cr + 1 >= input.len() {
                        scanned = cr - pos;
                        break;
                    }
                    scanned = 0;
                    if input[pos] != b'$' {
                        return self.fail(ProtocolError::ExpectedDollar(input[pos]));
                    }
                    let len = match parse_i64(&input[pos + 1..cr]) {
                        Some(n) if n >= 0 && n as u64 <= self.limits.max_bulk as u64 => n as usize,
                        _ => return self.fail(ProtocolError::InvalidBulkLength),
                    };
                    pos = cr + 2;
                    bulk = Some(len);
                    len
                }
            };
            // `len + 2` cannot overflow: len is at most max_bulk.
            if input.len() - pos < len.saturating_add(2) {
                break;
            }
            // Like Redis, the two bytes after the payload are skipped, not checked.
            args.ranges.push((pos, pos + len));
            pos += len + 2;
            bulk = None;
            remaining -= 1;
        }
        if remaining == 0 {
            self.state = State::Start;
            Frame::Command { len: pos }
        } else {
            self.state = State::Multibulk {
                remaining,
                pos,
                bulk,
                scanned,
            };
            Frame::Incomplete
        }
    }

    fn parse_inline(&mut self, input: &[u8], scanned: usize, args: &mut Args) -> Frame {
        let Some(nl) = find(input, scanned, b'\n') else {
            if input.len() > self.limits.max_inline {
                return self.fail(ProtocolError::TooBigInline);
            }
            self.state = State::Inline {
                scanned: input.len(),
            };
            return Frame::Incomplete;
        };
        self.state = State::Start;
        let mut end = nl;
        if end > 0 && input[end - 1] == b'\r' {
            end -= 1;
        }
        if split_inline(&input[..end], args).is_err() {
            return self.fail(ProtocolError::UnbalancedQuotes);
        }
        if args.ranges.is_empty() {
            Frame::Empty { len: nl + 1 }
        } else {
            Frame::Command { len: nl + 1 }
        }
    }

    fn fail(&mut self, e: ProtocolError) -> Frame {
        self.state = State::Start;
        Frame::Error(e)
    }
}

fn find(input: &[u8], from: usize, byte: u8) -> Option<usize> {
    input
        .get(from..)?
        .iter()
        .position(|&b| b == byte)
        .map(|i| i + from)
}

/// Redis's `string2ll`: optional `-`, digits, no leading zeros (except `0` itself),
/// no `+`, no spaces, no overflow.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.first()? {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    let first = *digits.first()?;
    if first == b'0' {
        return if digits.len() == 1 && !neg {
            Some(0)
        } else {
            None
        };
    }
    // Accumulate negatively so i64::MIN parses.
    let mut v: i64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_sub((b - b'0') as i64)?;
    }
    if neg {
        Some(v)
    } else {
        v.checked_neg()
    }
}

fn is_space(b: u8) -> bool {
    // C isspace() in the "C" locale.
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn ends_token(b: u8) -> bool {
    // What sdssplitargs treats as the end of an unquoted argument.
    matches!(b, b' ' | b'\n' | b'\r' | b'\t' | 0)
}

/// Split an inline command line the way Redis's `sdssplitargs` does. Lines without
/// quotes (nearly all) become ranges into `line`; a line with quotes is decoded into
/// the scratch buffer. Empty arguments are dropped, as Redis drops them.
fn split_inline(line: &[u8], args: &mut Args) -> Result<(), ()> {
    if !line.iter().any(|&b| b == b'"' || b == b'\'') {
        let mut i = 0;
        while i < line.len() {
            while i < line.len() && is_space(line[i]) {
                i += 1;
            }
            if i >= line.len() {
                break;
            }
            let start = i;
            while i < line.len() && !ends_token(line[i]) {
                i += 1;
            }
            if i > start {
                args.ranges.push((start, i));
            }
            if i < line.len() {
                i += 1;
            }
        }
        return Ok(());
    }
    args.in_scratch = true;
    let buf = &mut args.scratch;
    let mut p = 0;
    loop {
        while p < line.len() && is_space(line[p]) {
            p += 1;
        }
        if p >= line.len() {
            return Ok(());
        }
        let start = buf.len();
        let (mut inq, mut insq) = (false, false);
        loop {
            let c = line.get(p).copied();
            if inq {
                match c {
                    None => return Err(()),
                    Some(b'\\')
                        if line.get(p + 1) == Some(&b'x')
                            && hex(line.get(p + 2)).is_some()
                            && hex(line.get(p + 3)).is_some() =>
                    {
                        let hi = hex(line.get(p + 2)).unwrap_or(0);
                        let lo = hex(line.get(p + 3)).unwrap_or(0);
                        buf.push(hi * 16 + lo);
                        p += 3;
                    }
                    Some(b'\\') if p + 1 < line.len() => {
                        p += 1;
                        buf.push(match line[p] {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 0x08,
                            b'a' => 0x07,
                            other => other,
                        });
                    }
                    Some(b'"') => {
                        // The closing quote must be followed by a space or the end.
                        if let Some(&n) = line.get(p + 1) {
                            if !is_space(n) {
                                return Err(());
                            }
                        }
                        p += 1;
                        break;
                    }
                    Some(other) => buf.push(other),
                }
            } else if insq {
                match c {
                    None => return Err(()),
                    Some(b'\\') if line.get(p + 1) == Some(&b'\'') => {
                        p += 1;
                        buf.push(b'\'');
                    }
                    Some(b'\'') => {
                        if let Some(&n) = line.get(p + 1) {
                            if !is_space(n) {
                                return Err(());
                            }
                        }
                        p += 1;
                        break;
                    }
                    Some(other) => buf.push(other),
                }
            } else {
                match c {
                    None => break,
                    Some(b) if ends_token(b) => {
                        p += 1;
                        break;
                    }
                    Some(b'"') => inq = true,
                    Some(b'\'') => insq = true,
                    Some(other) => buf.push(other),
                }
            }
            p += 1;
        }
        if buf.len() > start {
            args.ranges.push((start, buf.len()));
        }
    }
}

fn hex(b: Option<&u8>) -> Option<u8> {
    match *b? {
        c @ b'0'..=b'9' => Some(c - b'0'),
        c @ b'a'..=b'f' => Some(c - b'a' + 10),
        c @ b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feed `input` like the reactor does (all of it at once) and collect every
    /// command, or the error.
    fn parse_all(input: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, ProtocolError> {
        let mut p = Parser::new(Limits::default());
        let mut args = Args::new();
        let mut pos = 0;
        let mut cmds = Vec::new();
        loop {
            match p.parse(&input[pos..], &mut args) {
                Frame::Command { len } => {
                    let argv = args.argv(&input[pos..]);
                    cmds.push(argv.iter_from(0).map(|a| a.to_vec()).collect());
                    pos += len;
                }
                Frame::Empty { len } => pos += len,
                Frame::Incomplete => return Ok(cmds),
                Frame::Error(e) => return Err(e),
            }
        }
    }

    /// Feed `input` in two pieces split at `at`, keeping unconsumed bytes like the
    /// reactor, and collect every command.
    fn parse_split(input: &[u8], cuts: &[usize]) -> Result<Vec<Vec<Vec<u8>>>, ProtocolError> {
        let mut p = Parser::new(Limits::default());
        let mut args = Args::new();
        let mut buf: Vec<u8> = Vec::new();
        let mut cmds = Vec::new();
        let mut last = 0;
        let mut pieces: Vec<&[u8]> = Vec::new();
        for &c in cuts {
            pieces.push(&input[last..c]);
            last = c;
        }
        pieces.push(&input[last..]);
        for piece in pieces {
            buf.extend_from_slice(piece);
            let mut pos = 0;
            loop {
                match p.parse(&buf[pos..], &mut args) {
                    Frame::Command { len } => {
                        let argv = args.argv(&buf[pos..]);
                        cmds.push(argv.iter_from(0).map(|a| a.to_vec()).collect());
                        pos += len;
                    }
                    Frame::Empty { len } => pos += len,
                    Frame::Incomplete => break,
                    Frame::Error(e) => return Err(e),
                }
            }
            buf.drain(..pos);
        }
        Ok(cmds)
    }

    fn v(args: &[&str]) -> Vec<Vec<u8>> {
        args.iter().map(|a| a.as_bytes().to_vec()).collect()
    }

    const PIPELINE: &[u8] = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nva\r\nu\r\n\
PING\r\n\r\n*1\r\n$4\r\nPING\r\n*0\r\n*-1\r\nset  a   \"b c\\x41\\n\" 'd\\'e'\nECHO x\r\n\
*2\r\n$4\r\nECHO\r\n$0\r\n\r\n";

    fn pipeline_expected() -> Vec<Vec<Vec<u8>>> {
        vec![
            v(&["SET", "key", "va\r\nu"]),
            v(&["PING"]),
            v(&["PING"]),
            v(&["set", "a", "b cA\n", "d'e"]),
            v(&["ECHO", "x"]),
            v(&["ECHO", ""]),
        ]
    }

    #[test]
    fn pipeline_parses() {
        assert_eq!(parse_all(PIPELINE).unwrap(), pipeline_expected());
    }

    #[test]
    fn every_split_parses_the_same() {
        let want = pipeline_expected();
        for at in 0..=PIPELINE.len() {
            assert_eq!(parse_split(PIPELINE, &[at]).unwrap(), want, "split at {at}");
        }
        for a in 0..=PIPELINE.len() {
            for b in a..=PIPELINE.len() {
                assert_eq!(parse_split(PIPELINE, &[a, b]).unwrap(), want, "{a} {b}");
            }
        }
        // One byte at a time.
        let cuts: Vec<usize> = (1..PIPELINE.len()).collect();
        assert_eq!(parse_split(PIPELINE, &cuts).unwrap(), want);
    }

    #[test]
    fn hostile_headers() {
        use ProtocolError::*;
        let cases: &[(&[u8], ProtocolError)] = &[
            (b"*2147483647\r\n", InvalidMultibulkLength),
            (b"*1048577\r\n", InvalidMultibulkLength),
            (b"*abc\r\n", InvalidMultibulkLength),
            (b"*+1\r\n", InvalidMultibulkLength),
            (b"*01\r\n", InvalidMultibulkLength),
            (b"*\r\n", InvalidMultibulkLength),
            (b"*99999999999999999999\r\n", InvalidMultibulkLength),
            (b"*1\r\n$2147483647\r\n", InvalidBulkLength),
            (b"*1\r\n$536870913\r\n", InvalidBulkLength),
            (b"*1\r\n$-1\r\n", InvalidBulkLength),
            (b"*1\r\n$x\r\n", InvalidBulkLength),
            (b"*1\r\n$\r\n", InvalidBulkLength),
            (
                b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n",
                ExpectedDollar(b'f'),
            ),
            (b"*1\n$4\r\nPING\r\n", InvalidMultibulkLength),
            (b"echo \"abc\r\n", UnbalancedQuotes),
            (b"echo \"a\"b\r\n", UnbalancedQuotes),
            (b"echo 'a\r\n", UnbalancedQuotes),
        ];
        for (input, want) in cases {
            assert_eq!(
                parse_all(input),
                Err(*want),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn negative_and_zero_multibulk_are_ignored() {
        assert_eq!(
            parse_all(b"*-10\r\n*0\r\nPING\r\n").unwrap(),
            vec![v(&["PING"])]
        );
    }

    #[test]
    fn long_lines_without_terminator() {
        let mb = vec![b'1'; 1024 * 1024];
        let mut count = b"*".to_vec();
        count.extend_from_slice(&mb);
        assert_eq!(parse_all(&count), Err(ProtocolError::TooBigMbulkCount));
        let mut bulk = b"*1\r\n$".to_vec();
        bulk.extend_from_slice(&mb);
        assert_eq!(parse_all(&bulk), Err(ProtocolError::TooBigBulkCount));
        assert_eq!(parse_all(&mb), Err(ProtocolError::TooBigInline));
        // Exactly at the limit: still waiting.
        assert_eq!(
            parse_all(&mb[..64 * 1024]).unwrap(),
            Vec::<Vec<Vec<u8>>>::new()
        );
        // Fed one chunk at a time the same limit applies.
        let cuts: Vec<usize> = (1..64).map(|i| i * 1024 * 16).collect();
        assert_eq!(
            parse_split(&count, &cuts),
            Err(ProtocolError::TooBigMbulkCount)
        );
        assert_eq!(
            parse_split(&bulk, &cuts),
            Err(ProtocolError::TooBigBulkCount)
        );
        assert_eq!(parse_split(&mb, &cuts), Err(ProtocolError::TooBigInline));
    }

    #[test]
    fn huge_claims_allocate_nothing() {
        let mut p = Parser::new(Limits::default());
        let mut args = Args::new();
        assert_eq!(p.parse(b"*1048576\r\n", &mut args), Frame::Incomplete);
        assert!(args.ranges.capacity() < 16);
        let mut p = Parser::new(Limits::default());
        assert_eq!(
            p.parse(b"*1\r\n$536870912\r\nab", &mut args),
            Frame::Incomplete
        );
        assert!(args.ranges.capacity() < 16);
        assert!(p.is_mid_command());
    }

    #[test]
    fn big_bulk_resumes_without_rescanning() {
        let mut p = Parser::new(Limits::default());
        let mut args = Args::new();
        let mut buf = b"*2\r\n$3\r\nSET\r\n$100000\r\n".to_vec();
        assert_eq!(p.parse(&buf, &mut args), Frame::Incomplete);
        for _ in 0..100 {
            buf.extend_from_slice(&[b'x'; 1000]);
            assert_eq!(p.parse(&buf, &mut args), Frame::Incomplete);
        }
        buf.extend_from_slice(b"\r\n");
        assert_eq!(p.parse(&buf, &mut args), Frame::Command { len: buf.len() });
        let argv = args.argv(&buf);
        assert_eq!(argv.len(), 2);
        assert_eq!(argv.get(1).len(), 100_000);
    }

    #[test]
    fn parse_i64_is_string2ll() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-0"), None);
        assert_eq!(parse_i64(b"123"), Some(123));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        assert_eq!(parse_i64(b"012"), None);
        assert_eq!(parse_i64(b" 1"), None);
        assert_eq!(parse_i64(b"1 "), None);
        assert_eq!(parse_i64(b"+1"), None);
        assert_eq!(parse_i64(b"-"), None);
        assert_eq!(parse_i64(b""), None);
    }
}
