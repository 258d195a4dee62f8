//! Split invariance, as property tests: the HTTP session, the key-value (RESP)
//! session and the chunked-body decoder give the same output and the same decision
//! whether their input arrives in one read or cut at generated points, and stay within
//! their limits. Inputs are generated pipelines of valid-ish requests and commands
//! (with refusals and protocol errors mixed in) and plain arbitrary bytes.
//!
//! The checks are the fuzz targets' (`fuzz/src/lib.rs`, included below), so CI runs
//! the same assertions on every change that `cargo fuzz` runs for minutes.

#[allow(dead_code)]
#[path = "../fuzz/src/lib.rs"]
mod harness;

use harness::{check_chunked, check_http, check_kv, End, CHUNKED_LIMIT, HTTP_OUTPUT_BUDGET};
use proptest::prelude::*;
use proptest::sample::select;

use evloop::Next;
use evloop_http::chunked::ChunkError;
use evloop_kv::OUTPUT_BATCH;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Piece lengths, used cyclically; the byte-by-byte split is checked separately.
fn cuts() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..80, 1..6)
}

fn arbitrary_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..400)
}

// ------------------------------------------------------------------ HTTP

/// How a generated request frames its body.
#[derive(Debug, Clone)]
enum Body {
    None,
    Length(Vec<u8>),
    /// Chunks, with or without extensions and a trailer.
    Chunked(Vec<Vec<u8>>, bool, bool),
    /// A Content-Length larger than the fuzz config's `max_body` (413).
    TooLarge,
    /// Both Content-Length and Transfer-Encoding (400).
    Ambiguous,
}

fn body() -> impl Strategy<Value = Body> {
    let bytes = || prop::collection::vec(any::<u8>(), 0..48);
    prop_oneof![
        1 => Just(Body::None),
        2 => bytes().prop_map(Body::Length),
        3 => (prop::collection::vec(prop::collection::vec(any::<u8>(), 1..40), 0..4), any::<bool>(), any::<bool>())
            .prop_map(|(c, e, t)| Body::Chunked(c, e, t)),
    ]
}

/// A request line and its body: mostly requests the server answers and keeps the
/// connection for, sometimes one it refuses (404, 405, 413, 400, 505).
fn request_line() -> impl Strategy<Value = (&'static str, &'static str, &'static str, Body)> {
    let get = select(&["GET", "GET", "HEAD"][..]);
    let fixed = select(&["/", "/plaintext", "/json?x=1", "http://h/json"][..]);
    let version = select(&["HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.0"][..]);
    let refused = (
        select(&["PUT /", "GET /missing", "GET /echo", "DELETE /json"][..]),
        select(&["HTTP/1.1", "HTTP/2.0"][..]),
    );
    prop_oneof![
        8 => (get, fixed, version.clone(), prop_oneof![3 => Just(Body::None), 1 => body()]),
        6 => (Just("POST"), Just("/echo"), version, body()),
        1 => refused.prop_map(|(line, v)| {
            let (method, path) = line.split_once(' ').unwrap_or(("GET", "/"));
            (method, path, v, Body::None)
        }),
        1 => (Just("POST"), Just("/echo"), Just("HTTP/1.1"), Just(Body::TooLarge)),
        1 => (Just("POST"), Just("/echo"), Just("HTTP/1.1"), Just(Body::Ambiguous)),
    ]
}

fn http_request() -> impl Strategy<Value = Vec<u8>> {
    (
        request_line(),
        select(&["", "", "", "", "", "", "", "Connection: close\r\n"][..]),
        any::<bool>(),
        select(
            &[
                "Host: x\r\n",
                "Host: x\r\nContent-Type: text/x\r\n",
                "Host: example\r\n",
                "",
            ][..],
        ),
        select(&["", "", "\r\n"][..]),
    )
        .prop_map(
            |((method, path, version, body), close, expect, extra, lead)| {
                // HTTP/1.0 keeps the connection only when asked to.
                let conn = match version {
                    "HTTP/1.0" if close.is_empty() => "Connection: keep-alive\r\n",
                    _ => close,
                };
                let mut r = format!("{lead}{method} {path} {version}\r\n{conn}{extra}");
                if expect {
                    r.push_str("Expect: 100-continue\r\n");
                }
                let mut payload = Vec::new();
                match body {
                    Body::None => {}
                    Body::Length(b) => {
                        r.push_str(&format!("Content-Length: {}\r\n", b.len()));
                        payload = b;
                    }
                    Body::Chunked(chunks, ext, trailer) if version == "HTTP/1.1" => {
                        r.push_str("Transfer-Encoding: chunked\r\n");
                        for c in chunks {
                            let e = if ext { ";a=b" } else { "" };
                            payload.extend(format!("{:x}{e}\r\n", c.len()).into_bytes());
                            payload.extend(c);
                            payload.extend(b"\r\n");
                        }
                        payload.extend(b"0\r\n");
                        if trailer {
                            payload.extend(b"X-Sum: 1\r\n");
                        }
                        payload.extend(b"\r\n");
                    }
                    Body::Chunked(chunks, ..) => {
                        // HTTP/1.0 has no chunked coding: send the same bytes with a length.
                        payload = chunks.concat();
                        r.push_str(&format!("Content-Length: {}\r\n", payload.len()));
                    }
                    Body::TooLarge => r.push_str("Content-Length: 99999\r\n"),
                    Body::Ambiguous => {
                        r.push_str("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n");
                        payload.extend(b"0\r\n\r\n");
                    }
                }
                r.push_str("\r\n");
                let mut r = r.into_bytes();
                r.extend(payload);
                r
            },
        )
}

/// A pipeline of requests, sometimes with garbage or a truncated request at the end.
fn http_pipeline() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec(http_request(), 1..10),
        prop::collection::vec(any::<u8>(), 0..12),
        0usize..60,
    )
        .prop_map(|(requests, garbage, truncate)| {
            let mut input = requests.concat();
            if truncate < 10 {
                // Cut the pipeline short: the last request is incomplete.
                input.truncate(input.len().saturating_sub(truncate + 1));
            } else if truncate < 20 {
                input.extend(garbage);
            }
            input
        })
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn http_pipelines_are_split_invariant(input in http_pipeline(), cuts in cuts()) {
        let whole = check_http(&input, &cuts);
        prop_assert_eq!(check_http(&input, &[1]), whole);
    }

    #[test]
    fn http_arbitrary_bytes_are_split_invariant(input in arbitrary_bytes(), cuts in cuts()) {
        check_http(&input, &cuts);
    }
}

proptest! {
    #![proptest_config(config(6))]

    /// Pipelines long enough that the session pauses at its output budget (and the
    /// model reactor resumes it): the answer still does not depend on the cuts.
    #[test]
    fn http_long_pipelines_pause_and_stay_split_invariant(
        requests in prop::collection::vec(
            select(&["GET / ", "HEAD /json ", "GET /plaintext?q ", "HEAD / "][..]),
            1..5,
        ),
        cuts in cuts(),
    ) {
        let one: String = requests.iter().map(|r| format!("{r}HTTP/1.1\r\nHost: x\r\n\r\n")).collect();
        let input = one.repeat(96 * 1024 / one.len() + 1).into_bytes();
        let (out, end) = check_http(&input, &cuts);
        prop_assert!(out.len() > HTTP_OUTPUT_BUDGET, "{} bytes: never paused", out.len());
        prop_assert_eq!(end, End::PeerClosed);
    }
}

/// The generators reach the interesting outcomes (not just the first request's 400).
#[test]
fn http_generated_pipeline_is_answered_in_full() {
    let input = b"GET / HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
3;a=b\r\nabc\r\n0\r\nX-Sum: 1\r\n\r\nGET /json HTTP/1.0\r\n\r\n";
    let (out, end) = check_http(input, &[3, 7]);
    let text = String::from_utf8_lossy(&out);
    assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 3, "{text}");
    assert!(text.contains("\r\n\r\nabcHTTP/1.1"), "{text}");
    assert_eq!(end, End::Closed(Next::Close));
}

// ------------------------------------------------------------------ RESP

const KEYS: &[&str] = &["a", "b", "list", "h"];
const VALUES: &[&str] = &["1", "x", "-3", "hello", "2.5", ""];

/// One command's arguments, from a vocabulary covering each data type, expiry,
/// encodings, DUMP/RESTORE, transactions and databases,
/// errors (wrong types, bad numbers, arity) and QUIT.
fn command() -> impl Strategy<Value = Vec<String>> {
    (
        0usize..50,
        select(KEYS),
        select(KEYS),
        select(VALUES),
        0i64..40,
    )
        .prop_map(|(which, k, k2, v, n)| {
            let n = n.to_string();
            let args: Vec<&str> = match which {
                0 => vec!["SET", k, v],
                1 => vec!["GET", k],
                2 => vec!["INCR", k],
                3 => vec!["APPEND", k, v],
                4 => vec!["DEL", k, k2],
                5 => vec!["EXISTS", k],
                6 => vec!["MGET", k, k2, k],
                7 => vec!["LPUSH", k, v, v],
                8 => vec!["RPUSH", k, v],
                9 => vec!["LRANGE", k, "0", "-1"],
                10 => vec!["LPOP", k],
                11 => vec!["HSET", k, v, v],
                12 => vec!["HGET", k, v],
                13 => vec!["HDEL", k, v],
                14 => vec!["SADD", k, v, k2],
                15 => vec!["SMEMBERS", k],
                16 => vec!["SREM", k, v],
                17 => vec!["ZADD", k, &n, v],
                18 => vec!["ZRANGE", k, "0", "-1", "WITHSCORES"],
                19 => vec!["EXPIRE", k, &n],
                20 => vec!["TTL", k],
                21 => vec!["PING"],
                22 => vec!["ECHO", v],
                23 => vec!["STRLEN", k],
                24 => vec!["GETRANGE", k, "0", &n],
                25 => vec!["SETRANGE", k, &n, v],
                26 => vec!["TYPE", k],
                27 => vec!["INFO", "stats"],
                28 => vec!["DBSIZE"],
                29 => vec!["INCRBY", k, v],
                30 => vec!["HGETALL", k],
                31 => vec!["NOSUCHCOMMAND", k],
                32 => vec!["GET"],
                33 => vec!["PERSIST", k],
                34 => vec!["SETBIT", k, &n, "1"],
                35 => vec!["OBJECT", "ENCODING", k],
                36 => vec!["DUMP", k],
                37 => vec!["RESTORE", k, "0", v, "REPLACE"],
                38 => vec!["PEXPIRE", k, &n],
                39 => vec!["SINTERSTORE", k, k2, k],
                40 => vec!["SMISMEMBER", k, v, k2],
                41 => vec!["ZINCRBY", k, &n, v],
                42 => vec!["LINSERT", k, "BEFORE", v, v],
                43 => vec!["HINCRBYFLOAT", k, v, v],
                44 => vec!["COPY", k, k2, "REPLACE"],
                45 => vec!["SMOVE", k, k2, v],
                46 => vec!["MULTI"],
                47 => vec!["EXEC"],
                48 => vec!["SELECT", &n],
                _ => vec!["QUIT"],
            };
            args.into_iter().map(str::to_owned).collect()
        })
}

/// Encodes a command as multibulk, as an inline line (with quotes where needed), or
/// as a blank line / empty multibulk before it.
fn encode(args: &[String], style: u8) -> Vec<u8> {
    let mut v = Vec::new();
    match style % 4 {
        0 | 1 => {
            v.extend(format!("*{}\r\n", args.len()).into_bytes());
            for a in args {
                v.extend(format!("${}\r\n{a}\r\n", a.len()).into_bytes());
            }
        }
        2 => {
            let words: Vec<String> = args
                .iter()
                .map(|a| {
                    if a.is_empty() {
                        "\"\"".to_owned()
                    } else {
                        a.clone()
                    }
                })
                .collect();
            v.extend(words.join(" ").into_bytes());
            v.extend(b"\r\n");
        }
        _ => {
            v.extend(b"\r\n*0\r\n");
            v.extend(args.join(" ").into_bytes());
            v.extend(b"\n");
        }
    }
    v
}

fn kv_pipeline() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec((command(), any::<u8>()), 1..16),
        prop::collection::vec(any::<u8>(), 0..12),
        0usize..60,
    )
        .prop_map(|(commands, garbage, tail)| {
            let mut input: Vec<u8> = commands
                .iter()
                .flat_map(|(args, style)| encode(args, *style))
                .collect();
            if tail < 10 {
                input.truncate(input.len().saturating_sub(tail + 1));
            } else if tail < 20 {
                input.extend(garbage);
            }
            input
        })
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn kv_pipelines_are_split_invariant(input in kv_pipeline(), cuts in cuts()) {
        let whole = check_kv(&input, &cuts);
        prop_assert_eq!(check_kv(&input, &[1]).1, whole.1);
    }

    #[test]
    fn kv_arbitrary_bytes_are_split_invariant(input in arbitrary_bytes(), cuts in cuts()) {
        check_kv(&input, &cuts);
    }
}

proptest! {
    #![proptest_config(config(6))]

    /// Pipelines whose replies pass the 64 KiB batch: the session stops, streams,
    /// and is offered the rest again, with the same replies however the input is cut.
    #[test]
    fn kv_long_pipelines_batch_and_stay_split_invariant(
        commands in prop::collection::vec(
            // INFO's sections but `cpu` (the process's CPU time differs between
            // two runs of the same input).
            select(&[
                "INFO server clients memory persistence stats replication keyspace",
                "PING",
                "INCR n",
                "RPUSH l a b c",
                "LRANGE l 0 -1",
                "ECHO hello",
            ][..]),
            1..5,
        ),
        cuts in cuts(),
    ) {
        let one: String = commands.iter().map(|c| format!("{c}\r\nINFO server\r\n")).collect();
        let input = one.repeat(24 * 1024 / one.len() + 1).into_bytes();
        let (out, end) = check_kv(&input, &cuts);
        prop_assert!(out.len() > OUTPUT_BATCH, "{} bytes: never batched", out.len());
        prop_assert_eq!(end, End::PeerClosed);
    }
}

#[test]
fn kv_generated_pipeline_is_answered_in_full() {
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut input = encode(&args(&["SET", "a", "1"]), 0);
    input.extend(encode(&args(&["INCR", "a"]), 2));
    input.extend(encode(&args(&["ECHO", ""]), 2));
    input.extend(encode(&args(&["GET", "a"]), 3));
    input.extend(encode(&args(&["QUIT"]), 1));
    input.extend(encode(&args(&["PING"]), 1));
    let (out, end) = check_kv(&input, &[2, 5]);
    assert_eq!(
        String::from_utf8_lossy(&out),
        // Inline `""` is dropped, as Redis drops empty inline arguments.
        "+OK\r\n:2\r\n-ERR wrong number of arguments for 'echo' command\r\n$1\r\n2\r\n+OK\r\n"
    );
    assert_eq!(end, End::Closed(Next::Close));
}

// ------------------------------------------------------------------ chunked

/// A chunked body (sizes in lower or upper case hex, with leading zeros, extensions
/// and trailers at random) followed by bytes that belong to the next request.
fn chunked_body() -> impl Strategy<Value = (Vec<u8>, Vec<u8>, usize)> {
    (
        prop::collection::vec(
            (
                prop::collection::vec(any::<u8>(), 1..300),
                any::<bool>(),
                any::<bool>(),
            ),
            0..6,
        ),
        prop::collection::vec(select(&["X-A: 1", "X-B:", "Sum: a b"][..]), 0..3),
        prop::collection::vec(any::<u8>(), 0..8),
    )
        .prop_map(|(chunks, trailers, leftover)| {
            let mut input = Vec::new();
            let mut body = Vec::new();
            for (c, upper, ext) in chunks {
                let size = if upper {
                    format!("00{:X}", c.len())
                } else {
                    format!("{:x}", c.len())
                };
                input.extend(size.into_bytes());
                if ext {
                    input.extend(b";name=\"v\"; flag");
                }
                input.extend(b"\r\n");
                input.extend(&c);
                input.extend(b"\r\n");
                body.extend(c);
            }
            input.extend(b"0\r\n");
            for t in trailers {
                input.extend(t.as_bytes());
                input.extend(b"\r\n");
            }
            input.extend(b"\r\n");
            let used = input.len();
            input.extend(leftover);
            (input, body, used)
        })
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn chunked_bodies_decode_the_same_however_split(
        (input, body, used) in chunked_body(),
        cuts in cuts(),
    ) {
        let got = check_chunked(&input, &cuts);
        prop_assert_eq!(&check_chunked(&input, &[1]), &got);
        if body.len() as u64 <= CHUNKED_LIMIT {
            prop_assert_eq!(got, (body, Ok(Some(used))));
        } else {
            prop_assert_eq!(got.1, Err(ChunkError::TooLarge));
        }
    }

    #[test]
    fn chunked_arbitrary_bytes_decode_the_same_however_split(
        input in arbitrary_bytes(),
        cuts in cuts(),
    ) {
        let _ = check_chunked(&input, &cuts);
    }
}
