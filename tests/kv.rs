//! The Redis-protocol key-value service over real sockets on 127.0.0.1, port 0:
//! std `TcpStream` clients and a small RESP reply reader, no Redis client crate.

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::resp_client::{bulk, encode, kv_server, ok, Client, Reply};
use common::Rng;
use evloop::Config;

#[test]
fn a_thousand_pipelined_commands_in_one_write_are_answered_in_order() {
    let server = kv_server();
    let mut c = Client::connect(server.tcp());
    let mut input = Vec::new();
    let mut want = Vec::new();
    let mut counter = 0;
    for i in 0..1000 {
        let (k, v) = (format!("k{i}"), format!("v{i}"));
        match i % 3 {
            0 => {
                input.extend(encode(&[b"SET", k.as_bytes(), v.as_bytes()]));
                want.push(ok());
            }
            1 => {
                // The SET just before, in the same write, is already visible.
                let prev = format!("k{}", i - 1);
                input.extend(encode(&[b"GET", prev.as_bytes()]));
                want.push(bulk(format!("v{}", i - 1)));
            }
            _ => {
                counter += 1;
                input.extend(encode(&[b"INCR", b"counter"]));
                want.push(Reply::Int(counter));
            }
        }
    }
    c.send(&input);
    for (i, w) in want.iter().enumerate() {
        assert_eq!(&c.read(), w, "reply {i}");
    }
    assert_eq!(c.cmd(&[b"DBSIZE"]), Reply::Int(334 + 1));
}

#[test]
fn inline_commands() {
    let server = kv_server();
    let mut c = Client::connect(server.tcp());
    c.send(b"PING\r\n");
    assert_eq!(c.read(), Reply::Simple("PONG".into()));
    c.send(b"SET a b\r\n");
    assert_eq!(c.read(), ok());
    // Inline and multibulk mixed in one write; a bare LF ends an inline command too.
    c.send(b"GET a\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\nECHO \"x y\"\nPING\r\n");
    assert_eq!(c.read(), bulk("b"));
    assert_eq!(c.read(), bulk("b"));
    assert_eq!(c.read(), bulk("x y"));
    assert_eq!(c.read(), Reply::Simple("PONG".into()));
}

#[test]
fn a_key_set_with_px_expires_in_real_time() {
    let server = kv_server();
    let mut c = Client::connect(server.tcp());
    let start = Instant::now();
    assert_eq!(c.cmd(&[b"SET", b"k", b"v", b"PX", b"100"]), ok());
    assert_eq!(c.cmd(&[b"GET", b"k"]), bulk("v"));
    let gone = loop {
        std::thread::sleep(Duration::from_millis(20));
        match c.cmd(&[b"GET", b"k"]) {
            Reply::Bulk(None) => break start.elapsed(),
            r => assert_eq!(r, bulk("v")),
        }
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "key still there after 2 s"
        );
    };
    assert!(gone >= Duration::from_millis(100), "expired after {gone:?}");
    assert_eq!(c.cmd(&[b"EXISTS", b"k"]), Reply::Int(0));
}

#[test]
fn a_value_over_one_mib_sent_in_small_chunks_round_trips() {
    let server = kv_server();
    let mut c = Client::connect(server.tcp());
    let value = Rng::new(42).bytes(1024 * 1024 + 12345);
    let request = encode(&[b"SET", b"big", &value]);
    let mut rng = Rng::new(9);
    let mut at = 0;
    while at < request.len() {
        let n = rng.range(1, 4096).min(request.len() - at);
        c.send(&request[at..at + n]);
        at += n;
    }
    assert_eq!(c.read(), ok());
    assert_eq!(c.cmd(&[b"STRLEN", b"big"]), Reply::Int(value.len() as i64));
    assert!(c.cmd(&[b"GET", b"big"]) == Reply::Bulk(Some(value)));
}

#[test]
fn a_protocol_error_replies_then_closes_while_others_keep_working() {
    let server = kv_server();
    let mut other = Client::connect(server.tcp());
    assert_eq!(other.cmd(&[b"SET", b"x", b"1"]), ok());
    let mut bad = Client::connect(server.tcp());
    bad.send(b"*1\r\n$abc\r\n");
    match bad.read() {
        Reply::Error(e) => assert!(e.starts_with("ERR Protocol error: "), "{e}"),
        r => panic!("expected a protocol error, got {r:?}"),
    }
    bad.assert_eof();
    assert_eq!(other.cmd(&[b"INCR", b"x"]), Reply::Int(2));
    server.wait_for("bad client closed", |s| s.active == 1);
}

#[test]
fn an_unknown_command_keeps_the_connection() {
    let server = kv_server();
    let mut c = Client::connect(server.tcp());
    match c.cmd(&[b"NOSUCHCMD", b"a"]) {
        Reply::Error(e) => assert_eq!(
            e,
            "ERR unknown command 'NOSUCHCMD', with args beginning with: 'a' "
        ),
        r => panic!("expected an error, got {r:?}"),
    }
    assert_eq!(c.cmd(&[b"PING"]), Reply::Simple("PONG".into()));
}

#[test]
fn quit_replies_ok_then_closes() {
    let server = kv_server();
    let mut c = Client::connect(server.tcp());
    // Whatever follows QUIT in the same write is not executed.
    c.send(b"PING\r\nQUIT\r\nSET after quit\r\n");
    assert_eq!(c.read(), Reply::Simple("PONG".into()));
    assert_eq!(c.read(), ok());
    c.assert_eof();
    let mut d = Client::connect(server.tcp());
    assert_eq!(d.cmd(&[b"EXISTS", b"after"]), Reply::Int(0));
}

#[test]
fn concurrent_clients_share_one_store() {
    let server = kv_server();
    let addr = server.tcp();
    let threads: Vec<_> = (0..50)
        .map(|_| {
            std::thread::spawn(move || {
                let mut c = Client::connect(addr);
                for _ in 0..200 {
                    match c.cmd(&[b"INCR", b"shared"]) {
                        Reply::Int(n) => assert!((1..=10_000).contains(&n)),
                        r => panic!("INCR replied {r:?}"),
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut c = Client::connect(addr);
    assert_eq!(c.cmd(&[b"GET", b"shared"]), bulk("10000"));
    assert!(server.stats().accepted >= 51);
}

#[test]
fn a_client_that_does_not_read_big_replies_cannot_grow_server_memory() {
    let config = Config::default();
    let server = kv_server();
    let mut c = Client::connect(server.tcp());
    // A 1000-element list: LRANGE 0 -1 answers about 11 KB.
    let items: Vec<Vec<u8>> = (0..1000).map(|i| format!("item{i}").into_bytes()).collect();
    let mut rpush: Vec<&[u8]> = vec![b"RPUSH", b"list"];
    rpush.extend(items.iter().map(|v| v.as_slice()));
    assert_eq!(c.cmd(&rpush), Reply::Int(1000));
    let reply_len: usize = 7 + items.iter().map(|v| v.len() + 8).sum::<usize>();

    // 2000 LRANGEs (about 22 MB of replies) in one write, nothing read meanwhile.
    const N: usize = 2000;
    let one = encode(&[b"LRANGE", b"list", b"0", b"-1"]);
    let pipeline = one.repeat(N);
    let mut writer = c.stream.try_clone().unwrap();
    let sender = std::thread::spawn(move || writer.write_all(&pipeline).expect("write"));
    // The server stops once the socket buffers are full and output waits for us.
    server.wait_for("output waiting for the client", |s| s.output_buffered > 0);
    // A measuring window, not a synchronisation: give the server time to do its
    // worst before reading the peak.
    std::thread::sleep(Duration::from_millis(300));
    // Unsent output is bounded by the high-water mark, plus what the session may
    // produce in the one call that crosses it: its 64 KiB output batch plus the
    // reply to the command that crossed the batch limit.
    let cap = (config.high_water + 64 * 1024 + reply_len) as u64;
    let peak = server.stats().output_buffered_peak;
    eprintln!("output_buffered_peak {peak} (cap {cap})");
    assert!(
        peak <= cap,
        "server buffered {peak} bytes for one client (cap {cap})"
    );
    // Reading resumes the flow: every reply arrives, complete.
    let want = Reply::Array(Some(items.iter().map(bulk).collect()));
    for i in 0..N {
        assert!(c.read() == want, "LRANGE reply {i} differs");
    }
    sender.join().unwrap();
    assert_eq!(c.cmd(&[b"PING"]), Reply::Simple("PONG".into()));
    let stats = server.stats();
    assert!(
        stats.output_buffered_peak <= cap,
        "peak {} > cap {cap}",
        stats.output_buffered_peak
    );
}

#[test]
fn shutdown_answers_every_command_already_received() {
    let mut server = kv_server();
    let mut c = Client::connect(server.tcp());
    let items: Vec<Vec<u8>> = (0..1000).map(|i| format!("item{i}").into_bytes()).collect();
    let mut rpush: Vec<&[u8]> = vec![b"RPUSH", b"list"];
    rpush.extend(items.iter().map(|v| v.as_slice()));
    assert_eq!(c.cmd(&rpush), Reply::Int(1000));
    // 1500 LRANGEs: small enough (60 KB) to arrive in one read, with replies (about
    // 16 MB) far beyond what the socket buffers hold. The session answers them in
    // batches, so most wait in the input behind the stream when the stop request
    // comes; having been read, every one of them must still be answered.
    const N: usize = 1500;
    let pipeline = encode(&[b"LRANGE", b"list", b"0", b"-1"]).repeat(N);
    let before = server.stats().bytes_in;
    c.send(&pipeline);
    server.wait_for("the whole pipeline read", |s| {
        s.bytes_in >= before + pipeline.len() as u64 && s.output_buffered > 0
    });
    server.handle.shutdown();
    let want = Reply::Array(Some(items.iter().map(bulk).collect()));
    for i in 0..N {
        assert!(c.read() == want, "LRANGE reply {i} differs");
    }
    c.assert_eof();
    let stats = server.join();
    assert_eq!(stats.active, 0);
}

/// INFO's `blocked_clients`, polled until it is `n` (bounded).
fn await_blocked(c: &mut Client, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let Reply::Bulk(Some(info)) = c.cmd(&[b"INFO", b"clients"]) else {
            panic!("INFO");
        };
        let want = format!("blocked_clients:{n}\r\n");
        if String::from_utf8_lossy(&info).contains(&want) {
            return;
        }
        assert!(Instant::now() < deadline, "never {n} blocked clients");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn blocked_clients_wait_in_their_own_database_and_swapdb_or_move_wakes_them() {
    let server = kv_server();
    let mut c = Client::connect(server.tcp());
    let mut in3 = Client::connect(server.tcp());
    let mut in4 = Client::connect(server.tcp());
    assert_eq!(in3.cmd(&[b"SELECT", b"3"]), ok());
    assert_eq!(in4.cmd(&[b"SELECT", b"4"]), ok());
    in3.send(&encode(&[b"BLPOP", b"q", b"0"]));
    in4.send(&encode(&[b"BLPOP", b"q", b"0"]));
    await_blocked(&mut c, 2);
    // A push in another database wakes nobody.
    assert_eq!(c.cmd(&[b"SELECT", b"5"]), ok());
    assert_eq!(c.cmd(&[b"RPUSH", b"q", b"from5"]), Reply::Int(1));
    assert_eq!(c.cmd(&[b"SELECT", b"3"]), ok());
    assert_eq!(c.cmd(&[b"RPUSH", b"q", b"from3"]), Reply::Int(1));
    assert_eq!(
        in3.read(),
        Reply::Array(Some(vec![bulk("q"), bulk("from3")]))
    );
    await_blocked(&mut c, 1);
    // Database 5's keys move to index 4, where the other client waits.
    assert_eq!(c.cmd(&[b"SWAPDB", b"5", b"4"]), ok());
    assert_eq!(
        in4.read(),
        Reply::Array(Some(vec![bulk("q"), bulk("from5")]))
    );
    // MOVE into a database with a waiter serves it.
    in3.send(&encode(&[b"BLPOP", b"m", b"0"]));
    await_blocked(&mut c, 1);
    assert_eq!(c.cmd(&[b"SELECT", b"0"]), ok());
    assert_eq!(c.cmd(&[b"RPUSH", b"m", b"moved"]), Reply::Int(1));
    assert_eq!(c.cmd(&[b"MOVE", b"m", b"3"]), Reply::Int(1));
    assert_eq!(
        in3.read(),
        Reply::Array(Some(vec![bulk("m"), bulk("moved")]))
    );
    assert_eq!(c.cmd(&[b"DBSIZE"]), Reply::Int(0));
    await_blocked(&mut c, 0);
}

#[test]
fn a_push_inside_exec_to_another_database_wakes_its_blocked_client() {
    let server = kv_server();
    let mut c = Client::connect(server.tcp());
    let mut in3 = Client::connect(server.tcp());
    assert_eq!(in3.cmd(&[b"SELECT", b"3"]), ok());
    in3.send(&encode(&[b"BLPOP", b"q", b"0"]));
    await_blocked(&mut c, 1);
    assert_eq!(c.cmd(&[b"MULTI"]), ok());
    for cmd in [
        &[&b"SELECT"[..], b"3"][..],
        &[b"RPUSH", b"q", b"x"],
        &[b"SELECT", b"0"],
    ] {
        assert_eq!(c.cmd(cmd), Reply::Simple("QUEUED".into()));
    }
    assert_eq!(
        c.cmd(&[b"EXEC"]),
        Reply::Array(Some(vec![ok(), Reply::Int(1), ok()]))
    );
    assert_eq!(in3.read(), Reply::Array(Some(vec![bulk("q"), bulk("x")])));
    await_blocked(&mut c, 0);
}

#[test]
fn config_set_timeout_closes_idle_clients_but_not_blocked_or_subscribed_ones() {
    let server = kv_server();
    let mut idle = Client::connect(server.tcp());
    assert_eq!(idle.cmd(&[b"PING"]), Reply::Simple("PONG".into()));
    let mut blocked = Client::connect(server.tcp());
    blocked.send(&encode(&[b"BLPOP", b"q", b"0"]));
    let mut sub = Client::connect(server.tcp());
    assert_eq!(
        sub.cmd(&[b"SUBSCRIBE", b"ch"]),
        Reply::Array(Some(vec![bulk("subscribe"), bulk("ch"), Reply::Int(1)]))
    );
    let mut admin = Client::connect(server.tcp());
    await_blocked(&mut admin, 1);
    let set_at = Instant::now();
    assert_eq!(admin.cmd(&[b"CONFIG", b"SET", b"timeout", b"1"]), ok());
    // Clients connected before the change are closed too; the one that set it
    // goes a second after its last command.
    idle.assert_eof();
    admin.assert_eof();
    let waited = set_at.elapsed();
    assert!(waited >= Duration::from_millis(900), "{waited:?}");
    assert!(waited < Duration::from_secs(10), "{waited:?}");
    let mut c = Client::connect(server.tcp());
    assert_eq!(c.cmd(&[b"PUBLISH", b"ch", b"m"]), Reply::Int(1));
    assert_eq!(
        sub.read(),
        Reply::Array(Some(vec![bulk("message"), bulk("ch"), bulk("m")]))
    );
    assert_eq!(c.cmd(&[b"RPUSH", b"q", b"x"]), Reply::Int(1));
    assert_eq!(
        blocked.read(),
        Reply::Array(Some(vec![bulk("q"), bulk("x")]))
    );
    assert_eq!(c.cmd(&[b"CONFIG", b"SET", b"timeout", b"0"]), ok());
}

#[test]
fn config_set_maxclients_refuses_new_clients_with_redis_error() {
    let server = kv_server();
    let mut admin = Client::connect(server.tcp());
    let mut other = Client::connect(server.tcp());
    assert_eq!(other.cmd(&[b"PING"]), Reply::Simple("PONG".into()));
    assert_eq!(admin.cmd(&[b"CONFIG", b"SET", b"maxclients", b"2"]), ok());
    let mut refused = Client::connect(server.tcp());
    assert_eq!(
        refused.read(),
        Reply::Error("ERR max number of clients reached".into())
    );
    refused.assert_eof();
    assert_eq!(other.cmd(&[b"PING"]), Reply::Simple("PONG".into()));
    assert_eq!(
        admin.cmd(&[b"CONFIG", b"SET", b"maxclients", b"10000"]),
        ok()
    );
    let mut again = Client::connect(server.tcp());
    assert_eq!(again.cmd(&[b"PING"]), Reply::Simple("PONG".into()));
}

#[test]
fn a_watched_key_written_by_another_connection_aborts_exec_and_values_convert_and_travel() {
    let server = kv_server();
    let mut a = Client::connect(server.tcp());
    let mut b = Client::connect(server.tcp());
    // WATCH: a write from another connection makes EXEC answer a null array,
    // and a runtime error inside EXEC does not abort the rest.
    assert_eq!(a.cmd(&[b"SET", b"k", b"1"]), ok());
    assert_eq!(a.cmd(&[b"WATCH", b"k"]), ok());
    assert_eq!(a.cmd(&[b"MULTI"]), ok());
    assert_eq!(a.cmd(&[b"INCR", b"k"]), Reply::Simple("QUEUED".into()));
    assert_eq!(b.cmd(&[b"APPEND", b"k", b"0"]), Reply::Int(2));
    assert_eq!(a.cmd(&[b"EXEC"]), Reply::Array(None));
    assert_eq!(a.cmd(&[b"MULTI"]), ok());
    for cmd in [&[&b"LPUSH"[..], b"k", b"x"][..], &[b"INCR", b"k"]] {
        assert_eq!(a.cmd(cmd), Reply::Simple("QUEUED".into()));
    }
    match a.cmd(&[b"EXEC"]) {
        Reply::Array(Some(r)) => {
            assert!(matches!(&r[0], Reply::Error(e) if e.starts_with("WRONGTYPE")));
            assert_eq!(r[1], Reply::Int(11));
        }
        r => panic!("EXEC replied {r:?}"),
    }
    // A hash converts from its listpack past the threshold CONFIG SET gives.
    assert_eq!(
        a.cmd(&[b"CONFIG", b"SET", b"hash-max-listpack-entries", b"4"]),
        ok()
    );
    for i in 0..6u8 {
        let f = [b'f', b'0' + i];
        b.cmd(&[b"HSET", b"h", &f, b"v"]);
        let want = if i < 4 { "listpack" } else { "hashtable" };
        assert_eq!(a.cmd(&[b"OBJECT", b"ENCODING", b"h"]), bulk(want), "{i}");
    }
    // A short key given a TTL and losing it keeps its value and its TTL's truth.
    assert_eq!(a.cmd(&[b"SET", b"t", b"v", b"EX", b"100"]), ok());
    assert!(matches!(b.cmd(&[b"TTL", b"t"]), Reply::Int(99..=100)));
    assert_eq!(b.cmd(&[b"PERSIST", b"t"]), Reply::Int(1));
    assert_eq!(a.cmd(&[b"TTL", b"t"]), Reply::Int(-1));
    assert_eq!(a.cmd(&[b"GET", b"t"]), bulk("v"));
    // DUMP in one database, RESTORE in another, over another connection.
    let Reply::Bulk(Some(payload)) = a.cmd(&[b"DUMP", b"h"]) else {
        panic!("DUMP of a hash is a bulk string");
    };
    assert_eq!(b.cmd(&[b"SELECT", b"5"]), ok());
    assert_eq!(b.cmd(&[b"RESTORE", b"h2", b"0", &payload]), ok());
    assert_eq!(b.cmd(&[b"HLEN", b"h2"]), Reply::Int(6));
    assert_eq!(b.cmd(&[b"OBJECT", b"ENCODING", b"h2"]), bulk("hashtable"));
}
