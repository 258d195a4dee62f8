//! Pub/Sub, blocking commands and the client commands of the key-value service,
//! over real sockets on 127.0.0.1, port 0: connections that reach each other
//! through the reactor (pushes, wakes, timers, output limits, kills).

mod common;

use std::io::Read;
use std::time::{Duration, Instant};

use common::resp_client::{bulk, kv_server, ok, Client, Reply};

fn arr(items: Vec<Reply>) -> Reply {
    Reply::Array(Some(items))
}

fn int(n: i64) -> Reply {
    Reply::Int(n)
}

fn err(s: &str) -> Reply {
    Reply::Error(s.into())
}

/// `*3 kind channel count`, as (un)subscribe confirms.
fn confirm(kind: &str, channel: &str, count: i64) -> Reply {
    arr(vec![bulk(kind), bulk(channel), int(count)])
}

/// Read a field of `INFO` (as text).
fn info_field(c: &mut Client, field: &str) -> String {
    let Reply::Bulk(Some(text)) = c.cmd(&[b"INFO"]) else {
        panic!("INFO is a bulk string")
    };
    let text = String::from_utf8(text).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in INFO"))
        .to_string()
}

/// Poll `check` until it holds, bounded.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn publish_reaches_channel_and_pattern_subscribers_with_redis_frames() {
    let server = kv_server();
    let mut sub = Client::connect(server.tcp());
    let mut psub = Client::connect(server.tcp());
    let mut publisher = Client::connect(server.tcp());
    sub.send(b"SUBSCRIBE news sport\r\n");
    assert_eq!(sub.read(), confirm("subscribe", "news", 1));
    assert_eq!(sub.read(), confirm("subscribe", "sport", 2));
    assert_eq!(
        psub.cmd(&[b"PSUBSCRIBE", b"n*"]),
        confirm("psubscribe", "n*", 1)
    );

    assert_eq!(publisher.cmd(&[b"PUBLISH", b"news", b"hello"]), int(2));
    // Byte for byte what Redis sends.
    let want: &[u8] = b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n";
    let mut frame = vec![0; want.len()];
    sub.reader.read_exact(&mut frame).unwrap();
    assert_eq!(frame, want);
    let want: &[u8] = b"*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$5\r\nhello\r\n";
    let mut frame = vec![0; want.len()];
    psub.reader.read_exact(&mut frame).unwrap();
    assert_eq!(frame, want);
    assert_eq!(publisher.cmd(&[b"PUBLISH", b"sport", b"goal"]), int(1));
    assert_eq!(
        sub.read(),
        arr(vec![bulk("message"), bulk("sport"), bulk("goal")])
    );
    assert_eq!(publisher.cmd(&[b"PUBLISH", b"nobody", b"x"]), int(1)); // n* matches
    assert_eq!(
        psub.read(),
        arr(vec![
            bulk("pmessage"),
            bulk("n*"),
            bulk("nobody"),
            bulk("x")
        ])
    );
    assert_eq!(publisher.cmd(&[b"PUBLISH", b"other", b"x"]), int(0));

    // PUBSUB introspection.
    assert_eq!(
        publisher.cmd(&[b"PUBSUB", b"CHANNELS"]),
        arr(vec![bulk("news"), bulk("sport")])
    );
    assert_eq!(
        publisher.cmd(&[b"PUBSUB", b"CHANNELS", b"s*"]),
        arr(vec![bulk("sport")])
    );
    assert_eq!(
        publisher.cmd(&[b"PUBSUB", b"NUMSUB", b"news", b"none"]),
        arr(vec![bulk("news"), int(1), bulk("none"), int(0)])
    );
    assert_eq!(publisher.cmd(&[b"PUBSUB", b"NUMPAT"]), int(1));
    assert_eq!(info_field(&mut publisher, "pubsub_channels"), "2");
}

#[test]
fn subscribed_mode_allows_only_subscription_commands_ping_and_quit() {
    let server = kv_server();
    let mut c = Client::connect(server.tcp());
    assert_eq!(c.cmd(&[b"SUBSCRIBE", b"ch"]), confirm("subscribe", "ch", 1));
    assert_eq!(
        c.cmd(&[b"GET", b"k"]),
        err("ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")
    );
    assert_eq!(c.cmd(&[b"PING"]), arr(vec![bulk("pong"), bulk("")]));
    assert_eq!(
        c.cmd(&[b"PING", b"hi"]),
        arr(vec![bulk("pong"), bulk("hi")])
    );
    assert_eq!(
        c.cmd(&[b"PSUBSCRIBE", b"a*"]),
        confirm("psubscribe", "a*", 2)
    );
    assert_eq!(
        c.cmd(&[b"UNSUBSCRIBE"]),
        confirm("unsubscribe", "ch", 1),
        "without arguments: every channel"
    );
    assert_eq!(
        c.cmd(&[b"PUNSUBSCRIBE", b"a*"]),
        confirm("punsubscribe", "a*", 0)
    );
    // Out of subscribed mode: everything again.
    assert_eq!(c.cmd(&[b"PING"]), Reply::Simple("PONG".into()));
    assert_eq!(
        c.cmd(&[b"UNSUBSCRIBE"]),
        arr(vec![bulk("unsubscribe"), Reply::Bulk(None), int(0)])
    );
    assert_eq!(c.cmd(&[b"SUBSCRIBE", b"x"]), confirm("subscribe", "x", 1));
    assert_eq!(c.cmd(&[b"QUIT"]), ok());
    c.assert_eof();
}

#[test]
fn a_subscriber_that_stops_reading_is_cut_off_and_the_others_get_everything() {
    let server = kv_server();
    let mut admin = Client::connect(server.tcp());
    assert_eq!(
        admin.cmd(&[
            b"CONFIG",
            b"SET",
            b"client-output-buffer-limit",
            b"pubsub 1mb 256kb 60"
        ]),
        ok()
    );
    let mut slow = Client::connect(server.tcp());
    let mut fast = Client::connect(server.tcp());
    assert_eq!(
        slow.cmd(&[b"SUBSCRIBE", b"ch"]),
        confirm("subscribe", "ch", 1)
    );
    assert_eq!(
        fast.cmd(&[b"SUBSCRIBE", b"ch"]),
        confirm("subscribe", "ch", 1)
    );
    let payload = vec![b'x'; 64 * 1024];
    let mut publisher = Client::connect(server.tcp());
    // Until the slow one is gone: kernel buffers take some megabytes first.
    let mut sent = 0;
    loop {
        let receivers = publisher.cmd(&[b"PUBLISH", b"ch", &payload]);
        sent += 1;
        // The fast subscriber reads every message as it comes.
        let Reply::Array(Some(m)) = fast.read() else {
            panic!("fast subscriber got a non-message")
        };
        assert_eq!(m[2], bulk(&payload));
        if receivers == int(1) {
            break;
        }
        assert_eq!(receivers, int(2));
        assert!(sent < 2000, "the slow subscriber was never cut off");
    }
    // Counters are published once per loop iteration: wait for this one's.
    eventually("the close to be counted", || {
        server.handle.stats().output_limit_closes >= 1
    });
    // The publisher and the fast subscriber go on.
    assert_eq!(publisher.cmd(&[b"PUBLISH", b"ch", b"after"]), int(1));
    assert_eq!(
        fast.read(),
        arr(vec![bulk("message"), bulk("ch"), bulk("after")])
    );
    assert_eq!(
        publisher.cmd(&[b"PUBSUB", b"NUMSUB", b"ch"]),
        arr(vec![bulk("ch"), int(1)])
    );
    // What the slow one holds ends with a close, never a partial frame after it.
    let mut rest = Vec::new();
    let _ = slow.reader.read_to_end(&mut rest);
}

#[test]
fn blpop_waits_for_a_push_and_blocked_clients_are_served_in_order() {
    let server = kv_server();
    let mut waiters: Vec<Client> = (0..3).map(|_| Client::connect(server.tcp())).collect();
    let mut pusher = Client::connect(server.tcp());
    for (i, w) in waiters.iter_mut().enumerate() {
        w.send(b"BLPOP list 0\r\nPING\r\n");
        // Each is blocked before the next one blocks.
        eventually("the client to block", || {
            info_field(&mut pusher, "blocked_clients") == (i + 1).to_string()
        });
    }
    // Two elements serve exactly the first two, in the order they blocked.
    assert_eq!(pusher.cmd(&[b"RPUSH", b"list", b"a", b"b"]), int(2));
    assert_eq!(waiters[0].read(), arr(vec![bulk("list"), bulk("a")]));
    assert_eq!(
        waiters[0].read(),
        Reply::Simple("PONG".into()),
        "commands behind it resume"
    );
    assert_eq!(waiters[1].read(), arr(vec![bulk("list"), bulk("b")]));
    assert_eq!(waiters[1].read(), Reply::Simple("PONG".into()));
    assert_eq!(info_field(&mut pusher, "blocked_clients"), "1");
    assert_eq!(pusher.cmd(&[b"LLEN", b"list"]), int(0));
    // A key created by RENAME wakes the third.
    assert_eq!(pusher.cmd(&[b"RPUSH", b"tmp", b"c"]), int(1));
    assert_eq!(pusher.cmd(&[b"RENAME", b"tmp", b"list"]), ok());
    assert_eq!(waiters[2].read(), arr(vec![bulk("list"), bulk("c")]));
    assert_eq!(waiters[2].read(), Reply::Simple("PONG".into()));
    assert_eq!(pusher.cmd(&[b"EXISTS", b"list"]), int(0));
}

#[test]
fn blocking_timeouts_disconnects_and_client_unblock() {
    let server = kv_server();
    let mut c = Client::connect(server.tcp());
    let mut admin = Client::connect(server.tcp());
    // A fractional timeout: a null array after about 100 ms.
    let start = Instant::now();
    assert_eq!(c.cmd(&[b"BRPOP", b"none", b"0.1"]), Reply::Array(None));
    assert!(start.elapsed() >= Duration::from_millis(100));
    assert_eq!(
        c.cmd(&[b"BLPOP", b"k", b"-1"]),
        err("ERR timeout is negative")
    );
    assert_eq!(
        c.cmd(&[b"BLPOP", b"k", b"soon"]),
        err("ERR timeout is not a float or out of range")
    );
    // A client that disconnects while blocked leaves no trace: the push stays.
    let mut gone = Client::connect(server.tcp());
    gone.send(b"BLPOP k 0\r\n");
    eventually("the client to block", || {
        info_field(&mut admin, "blocked_clients") == "1"
    });
    drop(gone);
    eventually("the blocked client to leave", || {
        info_field(&mut admin, "blocked_clients") == "0"
    });
    assert_eq!(admin.cmd(&[b"LPUSH", b"k", b"v"]), int(1));
    assert_eq!(admin.cmd(&[b"LLEN", b"k"]), int(1));
    assert_eq!(admin.cmd(&[b"DEL", b"k"]), int(1));
    // CLIENT UNBLOCK: TIMEOUT answers as a timeout would, ERROR with UNBLOCKED.
    let Reply::Int(id) = c.cmd(&[b"CLIENT", b"ID"]) else {
        panic!()
    };
    let id = id.to_string();
    for (how, want) in [
        (&b"TIMEOUT"[..], Reply::Array(None)),
        (
            b"ERROR",
            err("UNBLOCKED client unblocked via CLIENT UNBLOCK"),
        ),
    ] {
        c.send(b"BLPOP k 0\r\n");
        eventually("the client to block", || {
            info_field(&mut admin, "blocked_clients") == "1"
        });
        let Reply::Bulk(Some(list)) = admin.cmd(&[b"CLIENT", b"LIST", b"ID", id.as_bytes()]) else {
            panic!()
        };
        assert!(
            String::from_utf8_lossy(&list).contains(" flags=b "),
            "{list:?}"
        );
        assert_eq!(
            admin.cmd(&[b"CLIENT", b"UNBLOCK", id.as_bytes(), how]),
            int(1)
        );
        assert_eq!(c.read(), want);
        assert_eq!(admin.cmd(&[b"CLIENT", b"UNBLOCK", id.as_bytes()]), int(0));
    }
    assert_eq!(c.cmd(&[b"PING"]), Reply::Simple("PONG".into()));
}

#[test]
fn blmove_chains_and_sorted_set_pops_block_too() {
    let server = kv_server();
    let mut mover = Client::connect(server.tcp());
    let mut last = Client::connect(server.tcp());
    let mut zwait = Client::connect(server.tcp());
    let mut admin = Client::connect(server.tcp());
    mover.send(b"BLMOVE a b LEFT RIGHT 0\r\n");
    eventually("mover to block", || {
        info_field(&mut admin, "blocked_clients") == "1"
    });
    last.send(b"BRPOP b 0\r\n");
    zwait.send(b"BZPOPMIN z 0\r\n");
    eventually("all to block", || {
        info_field(&mut admin, "blocked_clients") == "3"
    });
    // One push to a: moved into b, which serves the BRPOP in the same pass.
    assert_eq!(admin.cmd(&[b"LPUSH", b"a", b"x"]), int(1));
    assert_eq!(mover.read(), bulk("x"));
    assert_eq!(last.read(), arr(vec![bulk("b"), bulk("x")]));
    assert_eq!(admin.cmd(&[b"EXISTS", b"a", b"b"]), int(0));
    // A list push does not serve a sorted-set waiter; a ZADD does.
    assert_eq!(admin.cmd(&[b"RPUSH", b"z2", b"1"]), int(1));
    assert_eq!(
        admin.cmd(&[b"ZADD", b"z", b"2", b"two", b"1", b"one"]),
        int(2)
    );
    assert_eq!(zwait.read(), arr(vec![bulk("z"), bulk("one"), bulk("1")]));
    // The non-blocking forms.
    assert_eq!(
        admin.cmd(&[b"LMOVE", b"z2", b"z3", b"RIGHT", b"LEFT"]),
        bulk("1")
    );
    assert_eq!(
        admin.cmd(&[b"RPOPLPUSH", b"none", b"z3"]),
        Reply::Bulk(None)
    );
    assert_eq!(
        admin.cmd(&[b"LMPOP", b"2", b"none", b"z3", b"LEFT", b"COUNT", b"5"]),
        arr(vec![bulk("z3"), arr(vec![bulk("1")])])
    );
    assert_eq!(
        admin.cmd(&[b"ZMPOP", b"1", b"z", b"MAX"]),
        arr(vec![
            bulk("z"),
            arr(vec![arr(vec![bulk("two"), bulk("2")])])
        ])
    );
    assert_eq!(
        admin.cmd(&[b"LMPOP", b"0", b"k", b"LEFT"]),
        err("ERR numkeys should be greater than 0")
    );
    assert_eq!(admin.cmd(&[b"SET", b"s", b"v"]), ok());
    assert_eq!(
        admin.cmd(&[b"BLPOP", b"s", b"0"]),
        err("WRONGTYPE Operation against a key holding the wrong kind of value")
    );
}

#[test]
fn client_list_and_kill() {
    let server = kv_server();
    let mut admin = Client::connect(server.tcp());
    let mut sub = Client::connect(server.tcp());
    let mut normal = Client::connect(server.tcp());
    assert_eq!(
        sub.cmd(&[b"SUBSCRIBE", b"ch"]),
        confirm("subscribe", "ch", 1)
    );
    assert_eq!(normal.cmd(&[b"CLIENT", b"SETNAME", b"worker"]), ok());
    let Reply::Bulk(Some(list)) = admin.cmd(&[b"CLIENT", b"LIST"]) else {
        panic!()
    };
    let list = String::from_utf8(list).unwrap();
    assert_eq!(list.lines().count(), 3, "{list}");
    assert!(list.contains(" name=worker "), "{list}");
    assert!(
        list.contains(" flags=P ") && list.contains(" sub=1 "),
        "{list}"
    );
    let Reply::Bulk(Some(me)) = admin.cmd(&[b"CLIENT", b"INFO"]) else {
        panic!()
    };
    let me = String::from_utf8(me).unwrap();
    assert!(
        me.starts_with("id=") && me.contains(" cmd=client|info "),
        "{me}"
    );
    // TYPE pubsub kills the subscriber only.
    assert_eq!(admin.cmd(&[b"CLIENT", b"KILL", b"TYPE", b"pubsub"]), int(1));
    sub.assert_eof();
    assert_eq!(normal.cmd(&[b"PING"]), Reply::Simple("PONG".into()));
    assert_eq!(
        admin.cmd(&[b"CLIENT", b"KILL", b"127.0.0.1:1"]),
        err("ERR No such client")
    );
}

/// A blocking timeout on the simulated clock: the session on the real connection
/// state machine, the timer fired by moving time, no sleeping.
#[test]
fn a_blocking_timeout_fires_on_the_simulated_clock() {
    use evloop::sim::SimConn;
    use evloop::StreamService;
    use evloop_kv::{KvConfig, KvService};
    let mut svc = KvService::new(KvConfig::default());
    let session = svc.open("127.0.0.1:1".parse().unwrap());
    let mut conn = SimConn::new(session);
    conn.receive(b"BLPOP k 2.5\r\nPING\r\n");
    assert_eq!(conn.take_sent(), b"", "blocked: nothing yet, PING waits");
    conn.advance(Duration::from_millis(2499));
    assert_eq!(conn.take_sent(), b"");
    conn.advance(Duration::from_millis(1));
    assert_eq!(conn.take_sent(), b"*-1\r\n+PONG\r\n");
}

#[test]
fn a_transaction_runs_at_exec_does_not_block_inside_and_wakes_blocked_clients() {
    let server = kv_server();
    let mut c = Client::connect(server.tcp());
    let mut waiter = Client::connect(server.tcp());
    let mut admin = Client::connect(server.tcp());
    waiter.send(b"BLPOP jobs 0\r\n");
    eventually("the waiter to block", || {
        info_field(&mut admin, "blocked_clients") == "1"
    });
    assert_eq!(c.cmd(&[b"EXEC"]), err("ERR EXEC without MULTI"));
    assert_eq!(c.cmd(&[b"MULTI"]), ok());
    assert_eq!(c.cmd(&[b"MULTI"]), err("ERR MULTI calls can not be nested"));
    let queued = Reply::Simple("QUEUED".into());
    assert_eq!(c.cmd(&[b"RPUSH", b"jobs", b"a", b"b"]), queued);
    assert_eq!(c.cmd(&[b"BLPOP", b"empty", b"0"]), queued);
    assert_eq!(c.cmd(&[b"LLEN", b"jobs"]), queued);
    // Nothing ran yet: the waiter is still blocked.
    assert_eq!(info_field(&mut admin, "blocked_clients"), "1");
    assert_eq!(
        c.cmd(&[b"EXEC"]),
        arr(vec![int(2), Reply::Array(None), int(2)]),
        "a blocking command inside EXEC answers at once"
    );
    // After EXEC the waiter is served from what the transaction pushed.
    assert_eq!(waiter.read(), arr(vec![bulk("jobs"), bulk("a")]));
    assert_eq!(admin.cmd(&[b"LLEN", b"jobs"]), int(1));
    // A command refused while queuing aborts the whole transaction.
    assert_eq!(c.cmd(&[b"MULTI"]), ok());
    assert_eq!(c.cmd(&[b"SET", b"k", b"v"]), queued);
    assert_eq!(
        c.cmd(&[b"GET"]),
        err("ERR wrong number of arguments for 'get' command")
    );
    assert_eq!(
        c.cmd(&[b"EXEC"]),
        err("EXECABORT Transaction discarded because of previous errors.")
    );
    assert_eq!(c.cmd(&[b"EXISTS", b"k"]), int(0));
    assert_eq!(c.cmd(&[b"MULTI"]), ok());
    assert_eq!(c.cmd(&[b"SET", b"k", b"v"]), queued);
    assert_eq!(c.cmd(&[b"DISCARD"]), ok());
    assert_eq!(c.cmd(&[b"EXISTS", b"k"]), int(0));
}

#[test]
fn huge_key_and_channel_lists_are_handled_in_linear_time() {
    let server = kv_server();
    let mut c = Client::connect(server.tcp());
    let n = 100_000;
    let names: Vec<Vec<u8>> = (0..n).map(|i| format!("k{i}").into_bytes()).collect();
    // BLPOP on 100,000 empty keys (and a timeout): queued once each, then a null.
    let mut args: Vec<&[u8]> = vec![b"BLPOP"];
    args.extend(names.iter().map(Vec::as_slice));
    args.push(b"0.05");
    let start = Instant::now();
    assert_eq!(c.cmd(&args), Reply::Array(None));
    // SUBSCRIBE to 100,000 channels, then UNSUBSCRIBE from all of them.
    let mut args: Vec<&[u8]> = vec![b"SUBSCRIBE"];
    args.extend(names.iter().map(Vec::as_slice));
    c.send(&common::resp_client::encode(&args));
    for i in 0..n {
        let Reply::Array(Some(r)) = c.read() else {
            panic!()
        };
        assert_eq!(r[2], int(i as i64 + 1));
    }
    c.send(b"UNSUBSCRIBE\r\n");
    for i in 0..n {
        let Reply::Array(Some(r)) = c.read() else {
            panic!()
        };
        assert_eq!(r[2], int((n - i - 1) as i64));
    }
    assert_eq!(c.cmd(&[b"PING"]), Reply::Simple("PONG".into()));
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "took {:?}",
        start.elapsed()
    );
}

#[test]
fn client_kill_reaches_a_client_that_never_sent_a_command() {
    let server = kv_server();
    let mut admin = Client::connect(server.tcp());
    let mut quiet = Client::connect(server.tcp());
    eventually("both clients to be registered", || {
        let Reply::Bulk(Some(list)) = admin.cmd(&[b"CLIENT", b"LIST"]) else {
            panic!()
        };
        String::from_utf8_lossy(&list).lines().count() == 2
    });
    assert_eq!(admin.cmd(&[b"CLIENT", b"KILL", b"TYPE", b"normal"]), int(1));
    quiet.assert_eof();
}

/// Subscribers and blocked clients wait on others: the idle and request timeouts
/// leave them alone (as Redis's `timeout` does), and apply again once they stop.
#[test]
fn subscribers_and_blocked_clients_are_exempt_from_idle_timeouts() {
    use evloop::sim::{Closed, SimConn};
    use evloop::StreamService;
    use evloop_kv::{KvConfig, KvService};
    let config = evloop::Config {
        idle_timeout: Some(Duration::from_secs(10)),
        request_timeout: Some(Duration::from_secs(5)),
        ..evloop::Config::default()
    };
    let mut svc = KvService::new(KvConfig::default());
    let mut sub = SimConn::with_config(svc.open("127.0.0.1:1".parse().unwrap()), &config);
    sub.receive(b"SUBSCRIBE news\r\n");
    sub.advance(Duration::from_secs(60));
    assert!(!sub.is_closed(), "a quiet subscriber stays");
    sub.receive(b"UNSUBSCRIBE\r\n");
    sub.advance(Duration::from_secs(11));
    assert_eq!(sub.closed(), Some(Closed::Timeout));

    let mut blocked = SimConn::with_config(svc.open("127.0.0.1:2".parse().unwrap()), &config);
    // Commands pipelined behind a BLPOP are not a stalled request.
    blocked.receive(b"BLPOP jobs 0\r\nPING\r\n");
    blocked.advance(Duration::from_secs(60));
    assert!(!blocked.is_closed(), "a blocked client stays");
    assert_eq!(blocked.take_sent(), b"");
}
