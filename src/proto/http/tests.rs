//! Session tests, sans-I/O: every input is fed whole, at every split point and byte by
//! byte, through a small model of the reactor, and must give identical output.

use super::*;
use crate::Detached;
use std::fs;
use std::path::Path;
use std::time::UNIX_EPOCH;

const DATE: &str = "Sun, 06 Nov 1994 08:49:37 GMT";

fn fixed_clock() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(784_111_777)
}

fn service_with(config: HttpConfig) -> HttpService {
    HttpService::with_clock(config, Demo, fixed_clock).unwrap()
}

fn service() -> HttpService {
    service_with(HttpConfig::default())
}

/// How a simulated connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The session asked to close (Close or Abort).
    Closed(Next),
    /// Input ran out with the connection open; `on_peer_closed` was called.
    PeerClosed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Reading,
    Streaming,
    Closed(Next),
}

/// Calls `on_input` like the reactor does, dropping what was consumed.
fn offer(s: &mut HttpSession, input: &mut Vec<u8>, out: &mut Vec<u8>) -> Phase {
    let step = s.on_input(&mut Detached::new().ctx(Instant::now()), input, out);
    assert!(step.consumed <= input.len(), "consumed more than offered");
    input.drain(..step.consumed);
    match step.next {
        Next::Read => Phase::Reading,
        Next::Stream => Phase::Streaming,
        // The model has no socket to drain: the pause is over at once.
        Next::Pause if input.is_empty() => Phase::Reading,
        Next::Pause => offer(s, input, out),
        next => Phase::Closed(next),
    }
}

/// One `produce` call; after a finished stream, offers the remaining input again.
fn produce_once(s: &mut HttpSession, input: &mut Vec<u8>, out: &mut Vec<u8>) -> Phase {
    let before = out.len();
    let next = s.produce(&mut Detached::new().ctx(Instant::now()), out);
    assert!(
        out.len() - before <= files::PIECE as usize,
        "piece too large"
    );
    match next {
        Next::Stream => Phase::Streaming,
        Next::Read if input.is_empty() => Phase::Reading,
        Next::Read => offer(s, input, out),
        next => Phase::Closed(next),
    }
}

/// Models the reactor: `chunks` arrive one by one. With `eager`, a stream is produced
/// to its end before the next chunk is read; otherwise new bytes are offered to the
/// session mid-stream and `produce` runs once per chunk.
fn drive(svc: &HttpService, chunks: &[&[u8]], eager: bool) -> (Vec<u8>, End) {
    let mut s = svc.session();
    let mut input = Vec::new();
    let mut out = Vec::new();
    let mut phase = Phase::Reading;
    for chunk in chunks {
        input.extend_from_slice(chunk);
        phase = match phase {
            Phase::Reading => offer(&mut s, &mut input, &mut out),
            Phase::Streaming => {
                let len = input.len();
                assert_eq!(offer(&mut s, &mut input, &mut out), Phase::Streaming);
                assert_eq!(input.len(), len, "input consumed while streaming");
                produce_once(&mut s, &mut input, &mut out)
            }
            Phase::Closed(_) => unreachable!(),
        };
        while eager && phase == Phase::Streaming {
            phase = produce_once(&mut s, &mut input, &mut out);
        }
        if let Phase::Closed(next) = phase {
            return (out, End::Closed(next));
        }
    }
    while phase == Phase::Streaming {
        phase = produce_once(&mut s, &mut input, &mut out);
    }
    if let Phase::Closed(next) = phase {
        return (out, End::Closed(next));
    }
    s.on_peer_closed(&mut Detached::new().ctx(Instant::now()), &input, &mut out);
    (out, End::PeerClosed)
}

/// Feeds `input` whole, split at every point and byte by byte; all must agree.
fn exchange(svc: &HttpService, input: &[u8]) -> (Vec<u8>, End) {
    let whole = drive(svc, &[input], true);
    for eager in [true, false] {
        assert_eq!(drive(svc, &[input], eager), whole);
        for k in 1..input.len() {
            let got = drive(svc, &[&input[..k], &input[k..]], eager);
            assert!(
                got == whole,
                "split at {k} (eager {eager}) differs:\n{}",
                diff(&got.0, &whole.0)
            );
        }
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        let got = drive(svc, &bytes, eager);
        assert!(
            got == whole,
            "byte by byte (eager {eager}) differs:\n{}",
            diff(&got.0, &whole.0)
        );
    }
    whole
}

fn diff(got: &[u8], want: &[u8]) -> String {
    let at = got
        .iter()
        .zip(want)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(want.len()));
    format!(
        "lengths {} vs {}, first difference at {at}: {:?} vs {:?}",
        got.len(),
        want.len(),
        String::from_utf8_lossy(&got[at..(at + 80).min(got.len())]),
        String::from_utf8_lossy(&want[at..(at + 80).min(want.len())]),
    )
}

/// The expected bytes of one response.
fn response(
    status: &str,
    content_type: Option<&str>,
    body: &[u8],
    extra: &str,
    head_only: bool,
) -> Vec<u8> {
    let mut r = format!("HTTP/1.1 {status}\r\nServer: evloop\r\nDate: {DATE}\r\n");
    if let Some(ct) = content_type {
        r.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    r.push_str(&format!("Content-Length: {}\r\n{extra}\r\n", body.len()));
    let mut r = r.into_bytes();
    if !head_only {
        r.extend_from_slice(body);
    }
    r
}

fn hello(extra: &str) -> Vec<u8> {
    response("200 OK", Some("text/plain"), b"Hello, World!", extra, false)
}

fn json(extra: &str) -> Vec<u8> {
    response(
        "200 OK",
        Some("application/json"),
        br#"{"message":"Hello, World!"}"#,
        extra,
        false,
    )
}

fn error(status: &str, extra: &str) -> Vec<u8> {
    let reason = status.split_once(' ').unwrap().1;
    let body = format!("{reason}\n");
    let extra = format!("{extra}Connection: close\r\n");
    response(status, Some("text/plain"), body.as_bytes(), &extra, false)
}

/// A refusal of a well-framed request: the connection stays open.
fn refused(status: &str, extra: &str) -> Vec<u8> {
    let reason = status.split_once(' ').unwrap().1;
    let body = format!("{reason}\n");
    response(status, Some("text/plain"), body.as_bytes(), extra, false)
}

const CLOSE: &str = "Connection: close\r\n";
const CLOSED: End = End::Closed(Next::Close);

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn fixed_routes_and_head() {
    let svc = service();
    let cases: [(&[u8], Vec<u8>); 7] = [
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", hello("")),
        (b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n", hello("")),
        (b"GET /json HTTP/1.1\r\nHost: x\r\n\r\n", json("")),
        (
            b"GET /plaintext?a=b&c HTTP/1.1\r\nHost: x\r\n\r\n",
            hello(""),
        ),
        (
            b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n",
            response("200 OK", Some("text/plain"), b"Hello, World!", "", true),
        ),
        (
            b"HEAD /plaintext HTTP/1.1\r\nHost: x\r\n\r\n",
            response("200 OK", Some("text/plain"), b"Hello, World!", "", true),
        ),
        (
            b"HEAD /json?x HTTP/1.1\r\nHost: x\r\n\r\n",
            response(
                "200 OK",
                Some("application/json"),
                br#"{"message":"Hello, World!"}"#,
                "",
                true,
            ),
        ),
    ];
    for (input, want) in cases {
        assert_eq!(
            exchange(&svc, input),
            (want, End::PeerClosed),
            "{}",
            text(input)
        );
    }
}

#[test]
fn keep_alive_and_connection_close() {
    let svc = service();
    let input = b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n";
    let want = [hello(""), json(CLOSE)].concat();
    assert_eq!(exchange(&svc, input), (want, CLOSED));
}

#[test]
fn http10() {
    let svc = service();
    let input = b"GET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\n\r\n";
    assert_eq!(exchange(&svc, input), (hello(CLOSE), CLOSED));

    let input = b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nHEAD /json HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\nGET / HTTP/1.0\r\n\r\n";
    let want = [
        hello("Connection: keep-alive\r\n"),
        response(
            "200 OK",
            Some("application/json"),
            br#"{"message":"Hello, World!"}"#,
            "Connection: keep-alive\r\n",
            true,
        ),
        hello(CLOSE),
    ]
    .concat();
    assert_eq!(exchange(&svc, input), (want, CLOSED));
}

#[test]
fn many_pipelined_requests_in_order() {
    let svc = service();
    let mut input = Vec::new();
    let mut want = Vec::new();
    for i in 0..100 {
        match i % 3 {
            0 => {
                input.extend_from_slice(b"GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n");
                want.extend(hello(""));
            }
            1 => {
                input.extend_from_slice(b"GET /json HTTP/1.1\r\nHost: x\r\n\r\n");
                want.extend(json(""));
            }
            _ => {
                input.extend_from_slice(
                    b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi",
                );
                want.extend(response(
                    "200 OK",
                    Some("application/octet-stream"),
                    b"hi",
                    "",
                    false,
                ));
            }
        }
    }
    // Whole, at a sample of split points and byte by byte (every split point of a 3 KB
    // input would be slow without adding much over the smaller tests).
    let whole = drive(&svc, &[&input], true);
    assert_eq!(whole, (want, End::PeerClosed));
    for k in (1..input.len()).step_by(7) {
        assert_eq!(
            drive(&svc, &[&input[..k], &input[k..]], false),
            whole,
            "split {k}"
        );
    }
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(drive(&svc, &bytes, true), whole);
}

#[test]
fn one_batch_gives_one_step() {
    let svc = service();
    let mut s = svc.session();
    let input = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".repeat(64);
    let mut out = b"earlier unsent output".to_vec();
    let step = s.on_input(&mut Detached::new().ctx(Instant::now()), &input, &mut out);
    assert_eq!(step, Step::read(input.len()));
    assert_eq!(
        out,
        [b"earlier unsent output".to_vec(), hello("").repeat(64)].concat()
    );
}

#[test]
fn echo_bodies() {
    let svc = service();
    let input = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\nContent-Type: text/x-demo\r\n\r\nhello world";
    let want = response("200 OK", Some("text/x-demo"), b"hello world", "", false);
    assert_eq!(exchange(&svc, input), (want, End::PeerClosed));

    let input = b"POST /echo HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo?q HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
    let empty = response("200 OK", Some("application/octet-stream"), b"", "", false);
    assert_eq!(
        exchange(&svc, input),
        ([empty.clone(), empty].concat(), End::PeerClosed)
    );

    let input = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
                  5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: yes\r\n\r\n\
                  GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    let want = [
        response(
            "200 OK",
            Some("application/octet-stream"),
            b"hello world",
            "",
            false,
        ),
        hello(""),
    ]
    .concat();
    assert_eq!(exchange(&svc, input), (want, End::PeerClosed));

    // A body on a GET route is read and dropped; the connection stays in sync.
    let input = b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /json HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n";
    assert_eq!(
        exchange(&svc, input),
        ([hello(""), json("")].concat(), End::PeerClosed)
    );
}

#[test]
fn expect_continue() {
    let svc = service();
    let input =
        b"POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok";
    let want = [
        b"HTTP/1.1 100 Continue\r\n\r\n".to_vec(),
        response("200 OK", Some("application/octet-stream"), b"ok", "", false),
    ]
    .concat();
    assert_eq!(exchange(&svc, input), (want, End::PeerClosed));
}

#[test]
fn large_body_arrives_in_pieces_and_is_consumed() {
    let svc = service();
    let mut s = svc.session();
    let body = vec![b'z'; 100_000];
    let head = format!(
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut out = Vec::new();
    let step = s.on_input(
        &mut Detached::new().ctx(Instant::now()),
        head.as_bytes(),
        &mut out,
    );
    assert_eq!(step, Step::read(head.len()));
    for piece in body.chunks(4096) {
        // Body bytes never sit unconsumed.
        assert_eq!(
            s.on_input(&mut Detached::new().ctx(Instant::now()), piece, &mut out),
            Step::read(piece.len())
        );
    }
    assert_eq!(
        out,
        response("200 OK", Some("application/octet-stream"), &body, "", false)
    );
}

#[test]
fn same_input_twice_gives_nothing_new() {
    let svc = service();
    let mut s = svc.session();
    let mut out = Vec::new();
    let partial = b"GET / HTTP/1.1\r\nHost: x\r\n";
    assert_eq!(
        s.on_input(&mut Detached::new().ctx(Instant::now()), partial, &mut out),
        Step::read(0)
    );
    assert_eq!(
        s.on_input(&mut Detached::new().ctx(Instant::now()), partial, &mut out),
        Step::read(0)
    );
    assert_eq!(
        s.on_input(
            &mut Detached::new().ctx(Instant::now()),
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
            &mut out
        ),
        Step::read(27)
    );
    assert_eq!(out, hello(""));
}

#[test]
fn rejections() {
    let svc = service_with(HttpConfig {
        max_body: 100,
        ..HttpConfig::default()
    });
    let cases: Vec<(&[u8], Vec<u8>)> = vec![
        (b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", error("400 Bad Request", "")),
        (b"GET\x01 / HTTP/1.1\r\nHost: x\r\n\r\n", error("400 Bad Request", "")),
        (b"GET /\r\n\r\n", error("400 Bad Request", "")),
        (
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
            error("400 Bad Request", ""),
        ),
        (
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
            error("400 Bad Request", ""),
        ),
        (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", error("400 Bad Request", "")),
        (
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            error("400 Bad Request", ""),
        ),
        (
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
            error("400 Bad Request", ""),
        ),
        (
            b"POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
            error("400 Bad Request", ""),
        ),
        (
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
            error("501 Not Implemented", ""),
        ),
        (
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n",
            error("413 Content Too Large", ""),
        ),
        (
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n32\r\n01234567890123456789012345678901234567890123456789\r\n33\r\n",
            error("413 Content Too Large", ""),
        ),
        (b"GET / HTTP/2.0\r\n\r\n", error("505 HTTP Version Not Supported", "")),
        (b"GET / HTTP/1.2\r\n\r\n", error("505 HTTP Version Not Supported", "")),
        (b"GET / HTTP/3\r\n\r\n", error("505 HTTP Version Not Supported", "")),
        (b"GET / HTTP/x\r\n\r\n", error("400 Bad Request", "")),
        // No Host in HTTP/1.1, or two of them (RFC 9112 §3.2).
        (b"GET / HTTP/1.1\r\n\r\n", error("400 Bad Request", "")),
        (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", error("400 Bad Request", "")),
        (b"GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n", error("400 Bad Request", "")),
        // A refused request with Expect: 100-continue: its body may or may not follow.
        (b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n", error("405 Method Not Allowed", "Allow: GET, HEAD\r\n")),
        // A truncated request or body at FIN.
        (b"GET / HTTP/1.1\r\nHost: x\r\n", error("400 Bad Request", "")),
        (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab", error("400 Bad Request", "")),
    ];
    for (input, want) in cases {
        let (out, end) = exchange(&svc, input);
        assert_eq!(text(&out), text(&want), "{}", text(input));
        if end != End::PeerClosed {
            assert_eq!(end, CLOSED, "{}", text(input));
        }
    }
    // Nothing after a refusal whose framing cannot be trusted is answered.
    let input = b"GET / HTTP/x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_eq!(
        exchange(&svc, input),
        (error("400 Bad Request", ""), CLOSED)
    );
}

#[test]
fn refusals_of_well_framed_requests_keep_the_connection() {
    let svc = service();
    let cases: [(&[u8], Vec<u8>); 6] = [
        (
            b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n",
            refused("404 Not Found", ""),
        ),
        (
            b"DELETE /json HTTP/1.1\r\nHost: x\r\n\r\n",
            refused("405 Method Not Allowed", "Allow: GET, HEAD\r\n"),
        ),
        (
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx",
            refused("405 Method Not Allowed", "Allow: GET, HEAD\r\n"),
        ),
        (
            b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n",
            refused("405 Method Not Allowed", "Allow: POST\r\n"),
        ),
        (b"GET /nope HTTP/1.0\r\n\r\n", error("404 Not Found", "")),
        (
            b"GET /nope HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
            refused("404 Not Found", "Connection: keep-alive\r\n"),
        ),
    ];
    for (input, want) in cases {
        let (out, end) = exchange(&svc, input);
        assert_eq!(text(&out), text(&want), "{}", text(input));
        let keeps = !text(&want).contains("Connection: close");
        assert_eq!(end == End::PeerClosed, keeps, "{}", text(input));
    }
    // 64 pipelined requests with a 404 in the middle: all answered, in order.
    let mut input = Vec::new();
    let mut want = Vec::new();
    for i in 0..64 {
        if i == 31 {
            input.extend_from_slice(b"GET /missing HTTP/1.1\r\nHost: x\r\n\r\n");
            want.extend_from_slice(&refused("404 Not Found", ""));
        } else {
            input.extend_from_slice(b"GET /json HTTP/1.1\r\nHost: x\r\n\r\n");
            want.extend_from_slice(&json(""));
        }
    }
    assert_eq!(exchange(&svc, &input), (want, End::PeerClosed));
    // A 405 with a body (Content-Length, then chunked), then a good request.
    let input = b"PUT /json HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: x\r\n\r\n\
                  PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n\
                  POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok";
    let not_allowed = refused("405 Method Not Allowed", "Allow: GET, HEAD\r\n");
    let echoed = response("200 OK", Some("application/octet-stream"), b"ok", "", false);
    let want = [not_allowed.clone(), hello(""), not_allowed, echoed].concat();
    assert_eq!(exchange(&svc, input), (want, End::PeerClosed));
    // HEAD refusals carry no body.
    let (out, _) = exchange(&svc, b"HEAD /echo HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(out.ends_with(b"Allow: POST\r\n\r\n"), "{}", text(&out));
}

#[test]
fn header_limits() {
    let svc = service_with(HttpConfig {
        max_header_bytes: 64,
        ..HttpConfig::default()
    });
    let ok = b"GET / HTTP/1.1\r\nHost: x\r\nX: 01234567890123456789012345678901\r\n\r\n";
    assert_eq!(ok.len(), 64);
    assert_eq!(exchange(&svc, ok), (hello(""), End::PeerClosed));
    let long = b"GET / HTTP/1.1\r\nHost: x\r\nX: 012345678901234567890123456789012\r\n\r\n";
    assert_eq!(
        exchange(&svc, long),
        (error("431 Request Header Fields Too Large", ""), CLOSED)
    );
    // No line end at all within the limit.
    let (out, end) = exchange(&svc, &[b'G'; 100]);
    assert_eq!(
        (text(&out), end),
        (
            text(&error("431 Request Header Fields Too Large", "")),
            CLOSED
        )
    );

    let svc = service();
    // The head is limited by bytes: 120 small fields are a normal request …
    let mut many = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..120 {
        many.extend_from_slice(format!("X-{i}: y\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    assert_eq!(drive(&svc, &[&many], true), (hello(""), End::PeerClosed));
    // … and more fields than the parser's table holds get 431.
    let mut too_many = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
    for _ in 0..request::MAX_HEADERS {
        too_many.extend_from_slice(b"X: y\r\n");
    }
    too_many.extend_from_slice(b"\r\n");
    let (out, end) = drive(&svc, &[&too_many], true);
    assert_eq!(
        (out, end),
        (error("431 Request Header Fields Too Large", ""), CLOSED)
    );
    let default_long = [
        b"GET / HTTP/1.1\r\nHost: x\r\nX: ".to_vec(),
        vec![b'a'; 16 * 1024],
    ]
    .concat();
    let (out, _) = drive(&svc, &[&default_long], true);
    assert_eq!(out, error("431 Request Header Fields Too Large", ""));
}

#[test]
fn date_refreshes_on_tick_only() {
    fn later() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(784_111_777 + 86_400 + 1)
    }
    let mut svc = HttpService::with_clock(HttpConfig::default(), Demo, later).unwrap();
    let mut out = Vec::new();
    svc.session().on_input(
        &mut Detached::new().ctx(Instant::now()),
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        &mut out,
    );
    assert!(text(&out).contains("Date: Mon, 07 Nov 1994 08:49:38 GMT\r\n"));
    assert_eq!(svc.tick_interval(), Some(Duration::from_secs(1)));
    svc.on_tick(Instant::now());
    let mut out = Vec::new();
    svc.session().on_input(
        &mut Detached::new().ctx(Instant::now()),
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        &mut out,
    );
    assert!(text(&out).contains("Date: Mon, 07 Nov 1994 08:49:38 GMT\r\n"));
}

/// A directory under the system temp dir, removed on drop.
struct TempRoot {
    base: PathBuf,
}

impl TempRoot {
    fn new(name: &str) -> TempRoot {
        let base = std::env::temp_dir().join(format!("evloop-http-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        fs::create_dir_all(base.join("root/sub")).unwrap();
        TempRoot { base }
    }

    fn root(&self) -> PathBuf {
        self.base.join("root")
    }

    fn write(&self, rel: &str, content: &[u8]) {
        fs::write(self.base.join(rel), content).unwrap();
    }
}

impl Drop for TempRoot {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.base);
    }
}

fn file_service(tmp: &TempRoot) -> HttpService {
    service_with(HttpConfig {
        root: Some(tmp.root()),
        ..HttpConfig::default()
    })
}

#[test]
fn static_files() {
    let tmp = TempRoot::new("files");
    tmp.write("root/hello.txt", b"hi there\n");
    tmp.write("root/sub/index.html", b"<p>index</p>");
    tmp.write("root/a b.css", b"p{}");
    tmp.write("root/data", b"\x00\x01");
    tmp.write("root/plaintext.html", b"not the route");
    tmp.write("secret.txt", b"secret");
    std::os::unix::fs::symlink(tmp.base.join("secret.txt"), tmp.root().join("escape")).unwrap();
    std::os::unix::fs::symlink("../secret.txt", tmp.root().join("sub/rel-escape")).unwrap();
    std::os::unix::fs::symlink("hello.txt", tmp.root().join("inside")).unwrap();
    let svc = file_service(&tmp);

    let txt = |extra: &str| {
        response(
            "200 OK",
            Some("text/plain; charset=utf-8"),
            b"hi there\n",
            extra,
            false,
        )
    };
    let html = response(
        "200 OK",
        Some("text/html; charset=utf-8"),
        b"<p>index</p>",
        "",
        false,
    );
    let ok_cases: Vec<(&[u8], Vec<u8>)> = vec![
        (b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n", txt("")),
        (b"GET /hello.txt?v=1 HTTP/1.1\r\nHost: x\r\n\r\n", txt("")),
        (b"GET /./hello.txt HTTP/1.1\r\nHost: x\r\n\r\n", txt("")),
        (b"GET /%68ello.txt HTTP/1.1\r\nHost: x\r\n\r\n", txt("")),
        (b"GET /inside HTTP/1.1\r\nHost: x\r\n\r\n", txt("")),
        (b"GET /sub HTTP/1.1\r\nHost: x\r\n\r\n", html.clone()),
        (b"GET /sub/ HTTP/1.1\r\nHost: x\r\n\r\n", html.clone()),
        (
            b"GET /a%20b.css HTTP/1.1\r\nHost: x\r\n\r\n",
            response("200 OK", Some("text/css; charset=utf-8"), b"p{}", "", false),
        ),
        (
            b"GET /data HTTP/1.1\r\nHost: x\r\n\r\n",
            response(
                "200 OK",
                Some("application/octet-stream"),
                b"\x00\x01",
                "",
                false,
            ),
        ),
        (
            b"HEAD /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n",
            response(
                "200 OK",
                Some("text/plain; charset=utf-8"),
                b"hi there\n",
                "",
                true,
            ),
        ),
        // Built-in routes win.
        (b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n", hello("")),
        (b"GET /hello.txt HTTP/1.0\r\n\r\n", txt(CLOSE)),
    ];
    for (input, want) in ok_cases {
        let (out, _) = exchange(&svc, input);
        assert_eq!(text(&out), text(&want), "{}", text(input));
    }

    let not_found = refused("404 Not Found", "");
    for input in [
        &b"GET /missing.txt HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        b"GET /../secret.txt HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /sub/../../secret.txt HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /%2e%2e/secret.txt HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /%2E%2E/secret.txt HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /sub/..%2f..%2fsecret.txt HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /%2e%2e%2fsecret.txt HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET //etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET http://host/../secret.txt HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /escape HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /sub/rel-escape HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /../secret.txt HTTP/1.1\r\nHost: x\r\n\r\n",
    ] {
        let (out, end) = exchange(&svc, input);
        assert!(
            text(&out).ends_with(&text(&not_found)),
            "{}: {}",
            text(input),
            text(&out)
        );
        assert!(!text(&out).contains("secret\n") && !text(&out).contains("Content-Length: 6\r"));
        assert_eq!(end, End::PeerClosed);
    }
    for input in [
        &b"GET /hello.txt%00 HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        b"GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n",
    ] {
        assert_eq!(
            exchange(&svc, input),
            (error("400 Bad Request", ""), CLOSED),
            "{}",
            text(input)
        );
    }
    let (out, _) = exchange(&svc, b"POST /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(
        out,
        refused("405 Method Not Allowed", "Allow: GET, HEAD\r\n")
    );
}

#[test]
fn root_must_exist() {
    let missing = std::env::temp_dir().join(format!("evloop-http-missing-{}", std::process::id()));
    let config = HttpConfig {
        root: Some(missing),
        ..HttpConfig::default()
    };
    assert!(HttpService::new(config, Demo).is_err());
}

fn big_content(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

#[test]
fn large_file_is_streamed_in_pieces() {
    let tmp = TempRoot::new("big");
    let content = big_content(1024 * 1024 + 12_345);
    tmp.write("root/big.bin", &content);
    let svc = file_service(&tmp);

    // Directly: the first piece comes with the head, then produce adds at most 64 KiB.
    let mut s = svc.session();
    let input = b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\nGET /json HTTP/1.1\r\nHost: x\r\n\r\n";
    let first_len = input.len() - b"GET /json HTTP/1.1\r\nHost: x\r\n\r\n".len();
    let mut out = Vec::new();
    let step = s.on_input(&mut Detached::new().ctx(Instant::now()), input, &mut out);
    assert_eq!(
        step,
        Step {
            consumed: first_len,
            next: Next::Stream
        }
    );
    let head = response(
        "200 OK",
        Some("application/octet-stream"),
        &content,
        "",
        true,
    );
    assert_eq!(out.len(), head.len() + 64 * 1024);
    // The reactor may offer the unconsumed request again mid-stream: it waits.
    let rest = &input[first_len..];
    assert_eq!(
        s.on_input(&mut Detached::new().ctx(Instant::now()), rest, &mut out),
        Step {
            consumed: 0,
            next: Next::Stream
        }
    );
    let mut pieces = 1;
    loop {
        let before = out.len();
        let next = s.produce(&mut Detached::new().ctx(Instant::now()), &mut out);
        assert!(out.len() - before <= 64 * 1024 && out.len() > before);
        pieces += 1;
        if next != Next::Stream {
            assert_eq!(next, Next::Read);
            break;
        }
    }
    assert_eq!(pieces, 17);
    assert_eq!(out, [head.clone(), content.clone()].concat());
    assert_eq!(
        s.on_input(&mut Detached::new().ctx(Instant::now()), rest, &mut out),
        Step::read(rest.len())
    );
    assert!(out.ends_with(&json("")));

    // Through the split harness, pipelined with requests before and after.
    let input = b"GET /json HTTP/1.1\r\nHost: x\r\n\r\nGET /big.bin HTTP/1.1\r\nHost: x\r\n\r\nHEAD /big.bin HTTP/1.1\r\nHost: x\r\n\r\nGET /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n";
    let want = [
        json(""),
        head.clone(),
        content.clone(),
        head.clone(),
        response(
            "200 OK",
            Some("application/octet-stream"),
            &content,
            CLOSE,
            true,
        ),
        content.clone(),
    ]
    .concat();
    let (out, end) = exchange(&svc, input);
    assert_eq!(end, CLOSED);
    assert!(out == want, "{}", diff(&out, &want));
}

#[test]
fn pipelined_small_files_pause_for_backpressure() {
    let tmp = TempRoot::new("many");
    let content = big_content(40 * 1024);
    tmp.write("root/f.bin", &content);
    let svc = file_service(&tmp);
    let input = b"GET /f.bin HTTP/1.1\r\nHost: x\r\n\r\n".repeat(20);
    let mut s = svc.session();
    let mut out = Vec::new();
    let step = s.on_input(&mut Detached::new().ctx(Instant::now()), &input, &mut out);
    assert_eq!(
        step.next,
        Next::Pause,
        "paused after about {OUTPUT_BUDGET} bytes"
    );
    assert!(step.consumed < input.len());
    assert!(out.len() < OUTPUT_BUDGET + 64 * 1024 + 1024);

    let one = [
        response(
            "200 OK",
            Some("application/octet-stream"),
            &content,
            "",
            true,
        ),
        content,
    ]
    .concat();
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    for chunks in [vec![&input[..]], bytes] {
        for eager in [true, false] {
            let (out, end) = drive(&svc, &chunks, eager);
            assert_eq!(end, End::PeerClosed);
            assert!(out == one.repeat(20));
        }
    }
}

#[test]
fn file_truncated_while_streaming_aborts() {
    let tmp = TempRoot::new("shrink");
    tmp.write("root/f.bin", &big_content(200_000));
    let svc = file_service(&tmp);
    let mut s = svc.session();
    let mut out = Vec::new();
    let step = s.on_input(
        &mut Detached::new().ctx(Instant::now()),
        b"GET /f.bin HTTP/1.1\r\nHost: x\r\n\r\n",
        &mut out,
    );
    assert_eq!(step.next, Next::Stream);
    fs::OpenOptions::new()
        .write(true)
        .open(Path::new(&tmp.root()).join("f.bin"))
        .unwrap()
        .set_len(70_000)
        .unwrap();
    assert_eq!(
        s.produce(&mut Detached::new().ctx(Instant::now()), &mut out),
        Next::Abort
    );
}

#[test]
fn garbage_never_panics() {
    let svc = service_with(HttpConfig {
        max_body: 64,
        max_header_bytes: 256,
        ..HttpConfig::default()
    });
    // A cheap deterministic generator over request-like fragments.
    let parts: [&[u8]; 14] = [
        b"GET ",
        b"POST ",
        b"/echo",
        b"/",
        b" HTTP/1.1",
        b" HTTP/1.0",
        b"\r\n",
        b"\n",
        b"Content-Length: 3",
        b"Transfer-Encoding: chunked",
        b"3\r\nabc",
        b"0\r\n\r\n",
        b"\x00\xff",
        b"Connection: close",
    ];
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..300 {
        let mut input = Vec::new();
        for _ in 0..12 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            input.extend_from_slice(parts[(seed % parts.len() as u64) as usize]);
        }
        let whole = drive(&svc, &[&input], true);
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(drive(&svc, &bytes, false), whole, "{}", text(&input));
        let k = (seed % input.len() as u64) as usize;
        assert_eq!(
            drive(&svc, &[&input[..k], &input[k..]], true),
            whole,
            "{}",
            text(&input)
        );
    }
}
