//! Split-invariance harness shared by the fuzz targets (`fuzz_targets/*.rs`) and by
//! the property tests in the main crate (`tests/split_invariance.rs` includes this
//! file with `#[path]`, so it must depend on nothing but `evloop` and std).
//!
//! Each check feeds the same bytes to a fresh session (or decoder) twice — all at
//! once, then in pieces — through a small model of the reactor, and asserts that both
//! runs give the same output bytes and the same final decision, and that every call
//! stays within the configured limits (unconsumed input, output per call). The split
//! run is then repeated through the reactor's real connection state machine
//! (`evloop::sim::SimConn`), once with a client that reads everything at once and
//! once with one that reads nothing until all input is sent: both must give the
//! model's bytes and decision, and the stalled one must hold no more unsent output
//! than the high-water mark plus one call's output. Any difference or overrun is a
//! panic, which is what libFuzzer and proptest report.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use evloop::sim::{Closed, SimConn};
use evloop::{Config, Detached, Next, Session};
use evloop_http::chunked::{ChunkError, ChunkedDecoder};
use evloop_http::{Demo, HttpConfig, HttpService};
use evloop_kv::frame::{Args, Frame, Limits, Parser};
use evloop_kv::{KvConfig, KvService, OUTPUT_BATCH};

/// The HTTP session's output budget per `on_input` call (`OUTPUT_BUDGET` in
/// `crates/http/src/lib.rs`, private there): it stops starting new requests past it.
pub const HTTP_OUTPUT_BUDGET: usize = 256 * 1024;

/// Small HTTP limits, so the fuzzer reaches them with short inputs.
pub fn http_config() -> HttpConfig {
    HttpConfig {
        root: None,
        max_body: 4096,
        max_header_bytes: 1024,
        ..HttpConfig::default()
    }
}

/// Small key-value limits, so the fuzzer reaches them with short inputs (and so no
/// SETRANGE offset can make the store allocate more than `max_bulk`).
pub fn kv_config() -> KvConfig {
    KvConfig {
        max_bulk: 4096,
        max_inline: 1024,
        max_multibulk: 64,
        max_query: 8192,
    }
}

/// Chunked decoder limits: total body size and trailer section size.
pub const CHUNKED_LIMIT: u64 = 1000;
/// See [`CHUNKED_LIMIT`].
pub const CHUNKED_TRAILER_LIMIT: usize = 256;

fn http_clock() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(784_111_777)
}

fn kv_clock() -> u64 {
    1_700_000_000_000
}

/// Splits a fuzz input into a cut schedule and the data. The first byte: its low 4
/// bits say how many cut bytes follow (0–15); each gives a piece length of 1–256, and
/// the lengths are used in turn, cyclically, until the data is used up (no cut bytes:
/// the split run is fed byte by byte). If its top bit is set, bits 4–6 give `k` and
/// the data is repeated `2^k` times (up to 128): a short input then makes a pipeline
/// long enough to cross the sessions' output budgets and pause (capped at
/// [`MAX_REPEATED`] bytes, so byte-by-byte runs stay fast).
pub fn split_case(raw: &[u8]) -> (Vec<usize>, Vec<u8>) {
    let Some((&first, rest)) = raw.split_first() else {
        return (vec![1], Vec::new());
    };
    let n = usize::from(first & 0x0f).min(rest.len());
    let (cuts, data) = rest.split_at(n);
    let mut cuts: Vec<usize> = cuts.iter().map(|&c| usize::from(c) + 1).collect();
    if cuts.is_empty() {
        cuts.push(1);
    }
    let repeat = if first & 0x80 != 0 {
        1 << ((first >> 4) & 7)
    } else {
        1
    };
    let repeat = repeat.min((MAX_REPEATED / data.len().max(1)).max(1));
    (cuts, data.repeat(repeat))
}

/// Most bytes [`split_case`] makes by repeating the data.
pub const MAX_REPEATED: usize = 128 * 1024;

/// `data` cut into pieces of the lengths in `cuts`, taken cyclically (an empty `cuts`
/// means one piece).
pub fn pieces<'a>(data: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    if cuts.is_empty() || data.is_empty() {
        return vec![data];
    }
    let mut out = Vec::new();
    let mut rest = data;
    let mut i = 0;
    while !rest.is_empty() {
        let n = cuts[i % cuts.len()].clamp(1, rest.len());
        let (piece, tail) = rest.split_at(n);
        out.push(piece);
        rest = tail;
        i += 1;
    }
    out
}

/// How a simulated connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The session asked to close (`Close` or `Abort`).
    Closed(Next),
    /// Input ran out with the connection open; `on_peer_closed` was called.
    PeerClosed,
}

/// What a session must stay within on every call.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Most bytes an `on_input` that answers `Read` may leave unconsumed.
    pub max_unconsumed: usize,
    /// Most output one `on_input` call may append: `base`, plus `per_byte` for each
    /// byte fed so far (a store built from earlier commands can be read back many
    /// times over, as with Redis's MGET).
    pub base: usize,
    /// See `base`.
    pub per_byte: usize,
}

/// Calls that may not be exceeded in one run (a session that never stops streaming
/// or never consumes would otherwise hang the fuzzer).
const MAX_CALLS: usize = 1_000_000;

/// Models the reactor: `pieces` arrive one by one; each time, the unconsumed input is
/// offered to the session; a stream is produced to its end before anything else, and
/// the remaining input is offered again after it. When the input runs out with the
/// connection open, `on_peer_closed` gets what is left.
pub fn drive(s: &mut dyn Session, pieces: &[&[u8]], bounds: &Bounds) -> (Vec<u8>, End) {
    let mut input = Vec::new();
    let mut out = Vec::new();
    let mut fed = 0;
    let mut calls = 0;
    for piece in pieces.iter().filter(|p| !p.is_empty()) {
        input.extend_from_slice(piece);
        fed += piece.len();
        if let Some(next) = pump(s, &mut input, &mut out, fed, bounds, &mut calls) {
            return (out, End::Closed(next));
        }
    }
    s.on_peer_closed(&mut Detached::new().ctx(Instant::now()), &input, &mut out);
    (out, End::PeerClosed)
}

/// How the client of a [`drive_conn`] run reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    /// Reads everything as soon as it is sent.
    Eager,
    /// Reads nothing until all its input is sent (backpressure, pauses).
    Stalled,
}

/// Drives `session` through the reactor's connection state machine: `pieces`
/// arrive one by one, then the client's FIN. Returns the bytes the client got and
/// how the connection ended, in the model's terms: a FIN sent before the client's
/// is the session's `Close`, an abort is `Abort`.
pub fn drive_conn(
    session: Box<dyn Session>,
    pieces: &[&[u8]],
    client: Client,
    bounds: &Bounds,
) -> (Vec<u8>, End) {
    let config = Config::default();
    let mut conn = SimConn::with_config(session, &config);
    let mut got = Vec::new();
    if client == Client::Stalled {
        conn.set_send_room(0);
    }
    let mut fed = 0;
    for piece in pieces.iter().filter(|p| !p.is_empty()) {
        if conn.is_closed() || conn.fin_sent() {
            break;
        }
        conn.receive(piece);
        fed += piece.len();
        let cap = config.high_water + bounds.base + bounds.per_byte * fed;
        assert!(
            conn.pending_output() <= cap,
            "{} bytes unsent > {cap}",
            conn.pending_output()
        );
        got.extend(conn.take_sent());
    }
    if client == Client::Stalled {
        conn.set_send_room(usize::MAX);
        got.extend(conn.take_sent());
    }
    assert_eq!(
        conn.unread(),
        0,
        "input left unread after the output drained"
    );
    let end = if conn.closed() == Some(Closed::Aborted) {
        End::Closed(Next::Abort)
    } else if conn.fin_sent() {
        End::Closed(Next::Close)
    } else {
        End::PeerClosed
    };
    if !conn.is_closed() {
        conn.receive_fin();
        got.extend(conn.take_sent());
    }
    assert!(
        conn.closed().is_some(),
        "the connection stayed open after the client's FIN"
    );
    (got, end)
}

/// The model's result for `pieces` must be what the real connection gives, with
/// either client.
fn assert_conn_agrees(
    model: &(Vec<u8>, End),
    session: &mut dyn FnMut() -> Box<dyn Session>,
    pieces: &[&[u8]],
    bounds: &Bounds,
    cuts: &[usize],
) {
    for client in [Client::Eager, Client::Stalled] {
        let real = drive_conn(session(), pieces, client, bounds);
        assert_same(model, &real, cuts);
    }
}

/// Offers `input` until the session wants more bytes (`None`) or closes.
fn pump(
    s: &mut dyn Session,
    input: &mut Vec<u8>,
    out: &mut Vec<u8>,
    fed: usize,
    bounds: &Bounds,
    calls: &mut usize,
) -> Option<Next> {
    let max_out = bounds.base + bounds.per_byte * fed;
    loop {
        *calls += 1;
        assert!(*calls < MAX_CALLS, "session makes no progress");
        let before = out.len();
        let step = s.on_input(&mut Detached::new().ctx(Instant::now()), input, out);
        assert!(step.consumed <= input.len(), "consumed more than offered");
        let grew = out.len() - before;
        assert!(
            grew <= max_out,
            "one on_input wrote {grew} bytes > {max_out}"
        );
        input.drain(..step.consumed);
        match step.next {
            Next::Read => {
                assert!(
                    input.len() <= bounds.max_unconsumed,
                    "{} bytes left unconsumed > {}",
                    input.len(),
                    bounds.max_unconsumed
                );
                return None;
            }
            Next::Pause => continue, // no socket to drain: offer the rest again
            Next::Stream => loop {
                *calls += 1;
                assert!(*calls < MAX_CALLS, "stream never ends");
                let before = out.len();
                let next = s.produce(&mut Detached::new().ctx(Instant::now()), out);
                let grew = out.len() - before;
                assert!(
                    grew <= max_out,
                    "one produce wrote {grew} bytes > {max_out}"
                );
                match next {
                    Next::Stream => continue,
                    Next::Read if input.is_empty() => return None,
                    Next::Read => break,
                    other => return Some(other),
                }
            },
            other => return Some(other),
        }
    }
}

/// Feeds `data` to fresh HTTP sessions whole and cut by `cuts`; both runs must agree
/// and stay within the limits. Returns the whole run's output and decision.
pub fn check_http(data: &[u8], cuts: &[usize]) -> (Vec<u8>, End) {
    let config = http_config();
    let bounds = Bounds {
        max_unconsumed: config.max_header_bytes,
        // The budget, then one more response: an echo of the largest body with a
        // Content-Type as long as the largest head, a 100 Continue and a status line.
        base: HTTP_OUTPUT_BUDGET + config.max_body + config.max_header_bytes + 1024,
        per_byte: 0,
    };
    let svc = HttpService::with_clock(config, Demo, http_clock).expect("root-less config");
    let pieces = pieces(data, cuts);
    let whole = drive(&mut svc.session(), &[data], &bounds);
    let split = drive(&mut svc.session(), &pieces, &bounds);
    assert_same(&whole, &split, cuts);
    assert_conn_agrees(
        &split,
        &mut || Box::new(svc.session()),
        &pieces,
        &bounds,
        cuts,
    );
    whole
}

/// Commands whose replies depend on hash iteration order or on the store's random
/// generator, both seeded per store: two fresh stores may answer them differently.
const ORDER_DEPENDENT: &[&[u8]] = &[b"keys", b"hgetall", b"hkeys", b"hvals", b"dump"];
/// Commands after which two fresh stores may even differ in content or length.
/// Blocking commands are here too: the model (a detached session, which never
/// blocks) answers them at once, a real connection waits; CLIENT's LIST and INFO
/// report how much input waits unconsumed, which depends on the split; and INFO's
/// `cpu` section is the process's CPU time.
const RANDOM: &[&[u8]] = &[
    b"spop",
    b"scan",
    b"blpop",
    b"brpop",
    b"blmove",
    b"brpoplpush",
    b"blmpop",
    b"bzpopmin",
    b"bzpopmax",
    b"bzmpop",
    b"client",
    b"info",
];

/// How strictly two key-value runs of the same input can be compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    /// Byte for byte.
    Bytes,
    /// Same length (a reply lists the same items in another order).
    Length,
    /// Only the decision and that neither run panicked.
    Decision,
}

/// Which [`Compare`] applies to `data`: parses it as the session would (whole) and
/// looks at the command names.
pub fn kv_compare(data: &[u8], config: &KvConfig) -> Compare {
    let mut parser = Parser::new(Limits {
        max_bulk: config.max_bulk,
        max_inline: config.max_inline,
        max_multibulk: config.max_multibulk,
    });
    let mut args = Args::new();
    let mut pos = 0;
    let mut compare = Compare::Bytes;
    while pos < data.len() {
        let rest = &data[pos..];
        match parser.parse(rest, &mut args) {
            Frame::Command { len } => {
                let name = args.argv(rest).get(0).to_ascii_lowercase();
                if RANDOM.contains(&name.as_slice()) {
                    return Compare::Decision;
                }
                if ORDER_DEPENDENT.contains(&name.as_slice()) {
                    compare = Compare::Length;
                }
                pos += len;
            }
            Frame::Empty { len } => pos += len,
            Frame::Incomplete | Frame::Error(_) => break,
        }
    }
    compare
}

/// Feeds `data` to sessions of two fresh key-value services (the store is shared
/// state), whole and cut by `cuts`; both runs must agree (see [`Compare`]) and stay
/// within the limits. Returns the whole run's output and decision.
pub fn check_kv(data: &[u8], cuts: &[usize]) -> (Vec<u8>, End) {
    let config = kv_config();
    let bounds = Bounds {
        max_unconsumed: config.max_query,
        // The batch, then one more reply: fixed-size ones (INFO, COMMAND) fit in
        // 64 KiB; others read back the store, which a byte of input can grow by at
        // most one bulk (SETRANGE's zero fill).
        base: OUTPUT_BATCH + 64 * 1024,
        per_byte: config.max_bulk + 64,
    };
    let run = |pieces: &[&[u8]]| {
        let mut svc = KvService::with_clock(config, kv_clock);
        let mut session = svc.session();
        drive(&mut session, pieces, &bounds)
    };
    let pieces = pieces(data, cuts);
    let whole = run(&[data]);
    let split = run(&pieces);
    match kv_compare(data, &config) {
        Compare::Bytes => {
            assert_same(&whole, &split, cuts);
            assert_conn_agrees(
                &split,
                &mut || Box::new(KvService::with_clock(config, kv_clock).session()),
                &pieces,
                &bounds,
                cuts,
            );
        }
        Compare::Length => {
            assert_eq!(whole.1, split.1, "decision differs (cuts {cuts:?})");
            assert_eq!(
                whole.0.len(),
                split.0.len(),
                "length differs (cuts {cuts:?})"
            );
        }
        Compare::Decision => assert_eq!(whole.1, split.1, "decision differs (cuts {cuts:?})"),
    }
    whole
}

fn assert_same(whole: &(Vec<u8>, End), split: &(Vec<u8>, End), cuts: &[usize]) {
    if whole.0 != split.0 {
        let at = whole
            .0
            .iter()
            .zip(&split.0)
            .position(|(a, b)| a != b)
            .unwrap_or(whole.0.len().min(split.0.len()));
        let show = |v: &[u8]| String::from_utf8_lossy(&v[at..(at + 80).min(v.len())]).into_owned();
        panic!(
            "output differs (cuts {cuts:?}): lengths {} (whole) vs {} (split), first \
             difference at {at}: {:?} vs {:?}",
            whole.0.len(),
            split.0.len(),
            show(&whole.0),
            show(&split.0),
        );
    }
    assert_eq!(whole.1, split.1, "decision differs (cuts {cuts:?})");
}

/// What decoding gave: the body bytes decoded, and the end — `Ok(Some(n))` when the
/// body ended after `n` bytes, `Ok(None)` when the input ran out first.
pub type Chunked = (Vec<u8>, Result<Option<usize>, ChunkError>);

/// Decodes `pieces` (arriving one by one) like the HTTP session does: feed the
/// unconsumed bytes, and again while the decoder makes progress.
pub fn decode_chunked(pieces: &[&[u8]], limit: u64, trailer_limit: usize) -> Chunked {
    let mut dec = ChunkedDecoder::new(limit, trailer_limit);
    let mut input: Vec<u8> = Vec::new();
    let mut body = Vec::new();
    let mut used = 0;
    for piece in pieces {
        input.extend_from_slice(piece);
        loop {
            let d = match dec.feed(&input) {
                Ok(d) => d,
                Err(e) => return (body, Err(e)),
            };
            assert!(d.consumed <= input.len(), "consumed more than offered");
            assert!(
                d.consumed > 0 || input.is_empty() || d.done,
                "no progress on {} bytes",
                input.len()
            );
            assert!(d.data.len() <= d.consumed, "more data than consumed");
            body.extend_from_slice(d.data);
            assert!(dec.total() <= limit, "declared total over the limit");
            assert!(body.len() as u64 <= dec.total(), "more data than declared");
            let (consumed, done) = (d.consumed, d.done);
            used += consumed;
            input.drain(..consumed);
            if done {
                assert!(dec.is_done());
                return (body, Ok(Some(used)));
            }
            if consumed == 0 {
                break;
            }
        }
    }
    (body, Ok(None))
}

/// Decodes `data` whole and cut by `cuts`; both must agree and stay within the limit.
pub fn check_chunked(data: &[u8], cuts: &[usize]) -> Chunked {
    let whole = decode_chunked(&[data], CHUNKED_LIMIT, CHUNKED_TRAILER_LIMIT);
    let split = decode_chunked(&pieces(data, cuts), CHUNKED_LIMIT, CHUNKED_TRAILER_LIMIT);
    assert_eq!(whole, split, "chunked decoding differs (cuts {cuts:?})");
    assert!(whole.0.len() as u64 <= CHUNKED_LIMIT);
    whole
}
