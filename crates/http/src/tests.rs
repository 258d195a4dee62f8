//! Session tests, sans-I/O: every input is fed whole, at every split point and byte by
//! byte, through a small model of the reactor, and must give identical output.

use super::*;
use evloop::Detached;
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
    Closed(Next),
}

/// Calls `on_input` like the reactor does, dropping what was consumed, and stands in
/// for the reactor's file sending: queued files are spliced into the output.
fn offer(s: &mut HttpSession, input: &mut Vec<u8>, out: &mut Vec<u8>) -> Phase {
    let mut detached = Detached::new();
    let step = s.on_input(&mut detached.ctx(Instant::now()), input, out);
    detached
        .resolve_files(out)
        .expect("queued files are readable");
    assert!(step.consumed <= input.len(), "consumed more than offered");
    input.drain(..step.consumed);
    match step.next {
        Next::Read => Phase::Reading,
        // The model has no socket to drain: the pause is over at once.
        Next::Pause if input.is_empty() => Phase::Reading,
        Next::Pause => offer(s, input, out),
        next => Phase::Closed(next),
    }
}

/// Models the reactor: `chunks` arrive one by one.
fn drive(svc: &HttpService, chunks: &[&[u8]]) -> (Vec<u8>, End) {
    let mut s = svc.session();
    let mut input = Vec::new();
    let mut out = Vec::new();
    for chunk in chunks {
        input.extend_from_slice(chunk);
        if let Phase::Closed(next) = offer(&mut s, &mut input, &mut out) {
            return (out, End::Closed(next));
        }
    }
    let mut detached = Detached::new();
    s.on_peer_closed(&mut detached.ctx(Instant::now()), &input, &mut out);
    detached
        .resolve_files(&mut out)
        .expect("queued files are readable");
    (out, End::PeerClosed)
}

/// Feeds `input` whole, split at every point and byte by byte; all must agree.
fn exchange(svc: &HttpService, input: &[u8]) -> (Vec<u8>, End) {
    let whole = drive(svc, &[input]);
    for k in 1..input.len() {
        let got = drive(svc, &[&input[..k], &input[k..]]);
        assert!(
            got == whole,
            "split at {k} differs:\n{}",
            diff(&got.0, &whole.0)
        );
    }
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    let got = drive(svc, &bytes);
    assert!(
        got == whole,
        "byte by byte differs:\n{}",
        diff(&got.0, &whole.0)
    );
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
    let whole = drive(&svc, &[&input]);
    assert_eq!(whole, (want, End::PeerClosed));
    for k in (1..input.len()).step_by(7) {
        assert_eq!(drive(&svc, &[&input[..k], &input[k..]]), whole, "split {k}");
    }
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(drive(&svc, &bytes), whole);
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
    assert_eq!(drive(&svc, &[&many]), (hello(""), End::PeerClosed));
    // … and more fields than the parser's table holds get 431.
    let mut too_many = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
    for _ in 0..request::MAX_HEADERS {
        too_many.extend_from_slice(b"X: y\r\n");
    }
    too_many.extend_from_slice(b"\r\n");
    let (out, end) = drive(&svc, &[&too_many]);
    assert_eq!(
        (out, end),
        (error("431 Request Header Fields Too Large", ""), CLOSED)
    );
    let default_long = [
        b"GET / HTTP/1.1\r\nHost: x\r\nX: ".to_vec(),
        vec![b'a'; 16 * 1024],
    ]
    .concat();
    let (out, _) = drive(&svc, &[&default_long]);
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

/// A file's validators, as the server computes them.
fn validators_of(path: &Path) -> Validators {
    let meta = fs::metadata(path).unwrap();
    Validators::new(meta.len(), meta.modified().unwrap())
}

/// The fields a file response has after `Content-Length`, then `extra`.
fn file_fields(path: &Path, extra: &str) -> String {
    let v = validators_of(path);
    format!(
        "Last-Modified: {}\r\nETag: {}\r\nAccept-Ranges: bytes\r\n{extra}",
        String::from_utf8_lossy(&v.last_modified),
        String::from_utf8_lossy(v.etag())
    )
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
    let at = |rel: &str, extra: &str| file_fields(&tmp.root().join(rel), extra);

    let txt = |extra: &str| {
        response(
            "200 OK",
            Some("text/plain; charset=utf-8"),
            b"hi there\n",
            &at("hello.txt", extra),
            false,
        )
    };
    let html = response(
        "200 OK",
        Some("text/html; charset=utf-8"),
        b"<p>index</p>",
        &at("sub/index.html", ""),
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
            response(
                "200 OK",
                Some("text/css; charset=utf-8"),
                b"p{}",
                &at("a b.css", ""),
                false,
            ),
        ),
        (
            b"GET /data HTTP/1.1\r\nHost: x\r\n\r\n",
            response(
                "200 OK",
                Some("application/octet-stream"),
                b"\x00\x01",
                &at("data", ""),
                false,
            ),
        ),
        (
            b"HEAD /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n",
            response(
                "200 OK",
                Some("text/plain; charset=utf-8"),
                b"hi there\n",
                &at("hello.txt", ""),
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
fn large_file_is_queued_for_the_reactor() {
    let tmp = TempRoot::new("big");
    let content = big_content(1024 * 1024 + 12_345);
    tmp.write("root/big.bin", &content);
    let svc = file_service(&tmp);
    let fields = file_fields(&tmp.root().join("big.bin"), "");
    let ct = Some("application/octet-stream");
    let head = response("200 OK", ct, &content, &fields, true);

    // Directly: the head is written and the body queued right behind it; a body this
    // large uses up the output budget, so the next pipelined request waits for the
    // pause to end.
    let mut s = svc.session();
    let second = b"GET /json HTTP/1.1\r\nHost: x\r\n\r\n";
    let input = [&b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n"[..], second].concat();
    let mut out = Vec::new();
    let mut detached = Detached::new();
    let step = s.on_input(&mut detached.ctx(Instant::now()), &input, &mut out);
    let first_len = input.len() - second.len();
    assert_eq!(
        step,
        Step {
            consumed: first_len,
            next: Next::Pause
        }
    );
    assert_eq!(out, head);
    let files = detached.take_files();
    assert_eq!(files.len(), 1);
    let (at, range) = &files[0];
    assert_eq!(*at, head.len());
    assert_eq!((range.offset(), range.len()), (0, content.len() as u64));
    let step = s.on_input(&mut detached.ctx(Instant::now()), second, &mut out);
    assert_eq!(step, Step::read(second.len()));
    assert_eq!(out, [head.clone(), json("")].concat());

    // Through the split harness, pipelined with requests before and after.
    let input = b"GET /json HTTP/1.1\r\nHost: x\r\n\r\nGET /big.bin HTTP/1.1\r\nHost: x\r\n\r\nHEAD /big.bin HTTP/1.1\r\nHost: x\r\n\r\nGET /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n";
    let want = [
        json(""),
        head.clone(),
        content.clone(),
        head.clone(),
        response("200 OK", ct, &content, &format!("{fields}{CLOSE}"), true),
        content.clone(),
    ]
    .concat();
    let (out, end) = exchange(&svc, input);
    assert_eq!(end, CLOSED);
    assert!(out == want, "{}", diff(&out, &want));
}

#[test]
fn pipelined_files_pause_for_backpressure() {
    let tmp = TempRoot::new("many");
    for (name, len) in [("big.bin", 40 * 1024), ("small.bin", 4 * 1024)] {
        let content = big_content(len);
        tmp.write(&format!("root/{name}"), &content);
        let svc = file_service(&tmp);
        let input = format!("GET /{name} HTTP/1.1\r\nHost: x\r\n\r\n").repeat(100);
        let input = input.as_bytes();
        let mut s = svc.session();
        let mut out = Vec::new();
        let mut detached = Detached::new();
        let step = s.on_input(&mut detached.ctx(Instant::now()), input, &mut out);
        let files = detached.take_files();
        assert_eq!(
            step.next,
            Next::Pause,
            "{name}: paused after about {OUTPUT_BUDGET} bytes"
        );
        assert!(step.consumed < input.len());
        let queued: u64 = files.iter().map(|(_, r)| r.len()).sum();
        assert!(out.len() as u64 + queued < (OUTPUT_BUDGET + 64 * 1024) as u64);
        if len as u64 > COPY_MAX {
            assert!(
                !files.is_empty() && out.len() < 64 * 1024,
                "{name}: bodies queued"
            );
        } else {
            assert!(files.is_empty(), "{name}: small bodies copied");
        }

        let fields = file_fields(&tmp.root().join(name), "");
        let ct = Some("application/octet-stream");
        let one = [response("200 OK", ct, &content, &fields, true), content].concat();
        let bytes: Vec<&[u8]> = input.chunks(7).collect();
        for chunks in [vec![input], bytes] {
            let (out, end) = drive(&svc, &chunks);
            assert_eq!(end, End::PeerClosed);
            assert!(out == one.repeat(100));
        }
    }
}

/// Range, conditional and HEAD answers for a file, through the split harness.
#[test]
fn ranges_and_conditional_requests() {
    let tmp = TempRoot::new("ranges");
    let content = big_content(100_000);
    tmp.write("root/f.bin", &content);
    let svc = file_service(&tmp);
    let path = tmp.root().join("f.bin");
    let v = validators_of(&path);
    let etag = String::from_utf8_lossy(v.etag()).to_string();
    let lm = String::from_utf8_lossy(&v.last_modified).to_string();
    let ct = Some("application/octet-stream");
    let get = |fields: &str| format!("GET /f.bin HTTP/1.1\r\nHost: x\r\n{fields}\r\n");
    let partial = |a: usize, b: usize| {
        let range = format!("Content-Range: bytes {a}-{b}/100000\r\n");
        response(
            "206 Partial Content",
            ct,
            &content[a..=b],
            &file_fields(&path, &range),
            false,
        )
    };
    let full = response("200 OK", ct, &content, &file_fields(&path, ""), false);
    let not_modified = format!(
        "HTTP/1.1 304 Not Modified\r\nServer: evloop\r\nDate: {DATE}\r\n{}\r\n",
        file_fields(&path, "")
    )
    .into_bytes();
    let unsatisfiable = format!(
        "HTTP/1.1 416 Range Not Satisfiable\r\nServer: evloop\r\nDate: {DATE}\r\n\
         Content-Type: text/plain\r\nContent-Length: 22\r\nContent-Range: bytes */100000\r\n\r\n\
         Range Not Satisfiable\n"
    )
    .into_bytes();
    let cases: Vec<(String, Vec<u8>)> = vec![
        (get("Range: bytes=0-99\r\n"), partial(0, 99)),
        (get("Range: bytes=99990-\r\n"), partial(99_990, 99_999)),
        (get("Range: bytes=-10\r\n"), partial(99_990, 99_999)),
        (get("Range: bytes=50000-\r\n"), partial(50_000, 99_999)),
        (
            get("Range: bytes=99999-200000\r\n"),
            partial(99_999, 99_999),
        ),
        (get("Range: bytes=100000-\r\n"), unsatisfiable.clone()),
        (get("Range: bytes=-0\r\n"), unsatisfiable),
        // Several ranges, or a unit we do not serve: the whole file.
        (get("Range: bytes=0-1,5-6\r\n"), full.clone()),
        (get("Range: lines=1-2\r\n"), full.clone()),
        (
            get(&format!("Range: bytes=0-9\r\nIf-Range: {etag}\r\n")),
            partial(0, 9),
        ),
        (
            get(&format!("Range: bytes=0-9\r\nIf-Range: {lm}\r\n")),
            partial(0, 9),
        ),
        (
            get("Range: bytes=0-9\r\nIf-Range: \"old\"\r\n"),
            full.clone(),
        ),
        (
            get(&format!("If-None-Match: {etag}\r\n")),
            not_modified.clone(),
        ),
        (
            get(&format!("If-None-Match: \"x\", W/{etag}\r\n")),
            not_modified.clone(),
        ),
        (get("If-None-Match: \"x\"\r\n"), full.clone()),
        (
            get(&format!("If-Modified-Since: {lm}\r\n")),
            not_modified.clone(),
        ),
        (
            get("If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n"),
            full.clone(),
        ),
        (
            format!("HEAD /f.bin HTTP/1.1\r\nHost: x\r\nIf-None-Match: {etag}\r\n\r\n"),
            not_modified,
        ),
        (
            "HEAD /f.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9\r\n\r\n".to_string(),
            response("200 OK", ct, &content, &file_fields(&path, ""), true),
        ),
        (
            get("If-Match: \"other\"\r\n"),
            refused("412 Precondition Failed", ""),
        ),
        (
            get("If-Unmodified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n"),
            refused("412 Precondition Failed", ""),
        ),
        (get(&format!("If-Match: {etag}\r\n")), full),
    ];
    for (input, want) in cases {
        let (out, end) = drive(&svc, &[input.as_bytes()]);
        assert_eq!(end, End::PeerClosed, "{input}");
        assert!(out == want, "{input}: {}", diff(&out, &want));
    }
    // Split at every point: the answer does not depend on how the head arrives.
    let (out, _) = exchange(&svc, get("Range: bytes=-10\r\n").as_bytes());
    assert_eq!(out, partial(99_990, 99_999));
}

#[test]
fn the_open_file_bound_answers_503() {
    let tmp = TempRoot::new("bound");
    tmp.write("root/a.bin", &big_content(100_000));
    tmp.write("root/b.bin", &big_content(100_000));
    let svc = service_with(HttpConfig {
        root: Some(tmp.root()),
        max_open_files: 1,
        ..HttpConfig::default()
    });
    let req = |name: &str| format!("GET /{name} HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut s = svc.session();
    let mut out = Vec::new();
    let mut detached = Detached::new();
    s.on_input(
        &mut detached.ctx(Instant::now()),
        req("a.bin").as_bytes(),
        &mut out,
    );
    // a.bin is being sent (its range is held): no room for b.bin.
    let sending = detached.take_files();
    assert_eq!(sending.len(), 1);
    let mut other = svc.session();
    let mut out = Vec::new();
    other.on_input(
        &mut detached.ctx(Instant::now()),
        req("b.bin").as_bytes(),
        &mut out,
    );
    assert_eq!(out, refused("503 Service Unavailable", ""));
    // a.bin again shares the open descriptor.
    let mut out = Vec::new();
    other.on_input(
        &mut detached.ctx(Instant::now()),
        req("a.bin").as_bytes(),
        &mut out,
    );
    assert!(out.starts_with(b"HTTP/1.1 200 OK"));
    assert_eq!(detached.take_files().len(), 1);
    // Once the send is done, a.bin's descriptor can make room for b.bin.
    drop(sending);
    let mut out = Vec::new();
    other.on_input(
        &mut detached.ctx(Instant::now()),
        req("b.bin").as_bytes(),
        &mut out,
    );
    assert!(out.starts_with(b"HTTP/1.1 200 OK"), "{}", text(&out));
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
        let whole = drive(&svc, &[&input]);
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(drive(&svc, &bytes), whole, "{}", text(&input));
        let k = (seed % input.len() as u64) as usize;
        assert_eq!(
            drive(&svc, &[&input[..k], &input[k..]]),
            whole,
            "{}",
            text(&input)
        );
    }
}
