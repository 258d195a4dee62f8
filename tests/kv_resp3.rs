//! RESP3 and the introspection commands over real sockets on 127.0.0.1, port 0:
//! a HELLO 3 session with Redis 7.0's reply shapes and pushes, MONITOR,
//! CLIENT PAUSE and CLIENT REPLY. The replies are checked byte for byte (the
//! RESP2 test client does not parse RESP3).

mod common;

use std::io::Read;
use std::time::{Duration, Instant};

use common::resp_client::{encode, kv_server, Client, Reply};

/// Send one command.
fn send(c: &mut Client, args: &[&str]) {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    c.send(&encode(&args));
}

/// Read exactly `want`'s length and compare (the socket's read timeout bounds
/// the wait).
fn expect(c: &mut Client, want: &str) {
    let mut got = vec![0u8; want.len()];
    c.reader.read_exact(&mut got).expect("read reply");
    assert_eq!(String::from_utf8_lossy(&got), want);
}

/// Switch to RESP3 and read HELLO's map (26 lines).
fn hello3(c: &mut Client) {
    send(c, &["HELLO", "3"]);
    for _ in 0..26 {
        c.line();
    }
}

fn call(c: &mut Client, args: &[&str], want: &str) {
    send(c, args);
    expect(c, want);
}

#[test]
fn a_resp3_session_gets_redis_7_shapes_and_push_messages() {
    let server = kv_server();
    let mut c = Client::connect(server.tcp());
    send(&mut c, &["HELLO", "3"]);
    expect(
        &mut c,
        "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n",
    );
    expect(&mut c, "$5\r\nproto\r\n:3\r\n$2\r\nid\r\n");
    let _id = c.line();
    expect(
        &mut c,
        "$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n",
    );
    call(&mut c, &["GET", "missing"], "_\r\n");
    call(&mut c, &["HSET", "h", "f", "v"], ":1\r\n");
    call(&mut c, &["HGETALL", "h"], "%1\r\n$1\r\nf\r\n$1\r\nv\r\n");
    call(&mut c, &["HGETALL", "nohash"], "%0\r\n");
    call(&mut c, &["SADD", "s", "x"], ":1\r\n");
    call(&mut c, &["SMEMBERS", "s"], "~1\r\n$1\r\nx\r\n");
    call(&mut c, &["ZADD", "z", "1.5", "m"], ":1\r\n");
    call(&mut c, &["ZSCORE", "z", "m"], ",1.5\r\n");
    call(
        &mut c,
        &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
        "*1\r\n*2\r\n$1\r\nm\r\n,1.5\r\n",
    );
    call(
        &mut c,
        &["CONFIG", "GET", "appendonly"],
        "%1\r\n$10\r\nappendonly\r\n$2\r\nno\r\n",
    );
    send(&mut c, &["INFO", "cluster"]);
    expect(&mut c, "=34\r\ntxt:# Cluster\r\ncluster_enabled:0\r\n\r\n");

    // Subscribed in RESP3: confirmations and messages are pushes, and any
    // command still runs.
    call(
        &mut c,
        &["SUBSCRIBE", "ch"],
        ">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n",
    );
    call(&mut c, &["GET", "missing"], "_\r\n");
    call(&mut c, &["PING"], "+PONG\r\n");
    let mut publisher = Client::connect(server.tcp());
    assert_eq!(publisher.cmd(&[b"PUBLISH", b"ch", b"hi"]), Reply::Int(1));
    expect(&mut c, ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n");

    // A RESP2 subscriber of the same channel gets an array.
    let mut old = Client::connect(server.tcp());
    send(&mut old, &["SUBSCRIBE", "ch"]);
    expect(&mut old, "*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n");
    assert_eq!(publisher.cmd(&[b"PUBLISH", b"ch", b"yo"]), Reply::Int(2));
    expect(&mut c, ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nyo\r\n");
    expect(&mut old, "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nyo\r\n");

    // RESET: RESP2 again, subscriptions gone.
    call(&mut c, &["RESET"], "+RESET\r\n");
    call(&mut c, &["GET", "missing"], "$-1\r\n");
    assert_eq!(publisher.cmd(&[b"PUBLISH", b"ch", b"z"]), Reply::Int(1));
}

#[test]
fn monitor_shows_every_command_in_redis_format() {
    let server = kv_server();
    let mut m = Client::connect(server.tcp());
    call(&mut m, &["MONITOR"], "+OK\r\n");
    let mut c = Client::connect(server.tcp());
    let local = c.stream.local_addr().unwrap();
    assert_eq!(
        c.cmd(&[b"SET", b"k", b"a \"q\"\n"]),
        common::resp_client::ok()
    );
    let line = String::from_utf8(m.line()).unwrap();
    // +<sec>.<usec> [<db> <addr>] "arg" ...
    let (stamp, rest) = line.split_once(' ').unwrap();
    assert!(stamp.starts_with('+') && stamp.contains('.'), "{line}");
    assert_eq!(
        rest,
        format!("[0 {local}] \"SET\" \"k\" \"a \\\"q\\\"\\n\"")
    );
    // Commands refused before running are not shown; admin commands neither.
    c.cmd(&[b"NOSUCH"]);
    c.cmd(&[b"CONFIG", b"GET", b"save"]);
    c.cmd(&[b"SELECT", b"3"]);
    let line = String::from_utf8(m.line()).unwrap();
    assert!(
        line.ends_with(&format!("[3 {local}] \"SELECT\" \"3\"")),
        "{line}"
    );
}

/// Wait until CLIENT LIST (asked on `c`) shows a client with unconsumed input.
fn await_held(c: &mut Client) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let Reply::Bulk(Some(list)) = c.cmd(&[b"CLIENT", b"LIST"]) else {
            panic!("CLIENT LIST");
        };
        let list = String::from_utf8_lossy(&list).into_owned();
        if list.lines().any(|l| !l.contains(" qbuf=0 ")) {
            return;
        }
        assert!(Instant::now() < deadline, "no client held: {list}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn client_pause_write_holds_writes_but_not_reads_until_unpause() {
    let server = kv_server();
    let mut admin = Client::connect(server.tcp());
    call(
        &mut admin,
        &["CLIENT", "PAUSE", "60000", "WRITE"],
        "+OK\r\n",
    );
    let mut writer = Client::connect(server.tcp());
    send(&mut writer, &["SET", "k", "v"]);
    // Reads go on; the write waits, unexecuted.
    let mut reader = Client::connect(server.tcp());
    await_held(&mut reader);
    assert_eq!(reader.cmd(&[b"GET", b"k"]), Reply::Bulk(None));
    // A write that fails before running is answered at once.
    match reader.cmd(&[b"SET", b"only-key"]) {
        Reply::Error(e) => assert!(e.starts_with("ERR wrong number of arguments"), "{e}"),
        r => panic!("expected an arity error, got {r:?}"),
    }
    call(&mut admin, &["CLIENT", "UNPAUSE"], "+OK\r\n");
    expect(&mut writer, "+OK\r\n");
    assert_eq!(reader.cmd(&[b"GET", b"k"]), common::resp_client::bulk("v"));
}

#[test]
fn client_pause_ends_by_itself_and_client_reply_drops_replies() {
    let server = kv_server();
    let mut c = Client::connect(server.tcp());
    call(&mut c, &["CLIENT", "PAUSE", "50"], "+OK\r\n");
    // The pausing client waits too (ALL): its PING is answered once the 50 ms
    // are over, by the pause timer.
    let start = Instant::now();
    call(&mut c, &["PING"], "+PONG\r\n");
    assert!(
        start.elapsed() >= Duration::from_millis(40),
        "{:?}",
        start.elapsed()
    );

    // SKIP drops the next reply; OFF drops all until ON (whose +OK is sent).
    send(&mut c, &["CLIENT", "REPLY", "SKIP"]);
    send(&mut c, &["SET", "a", "1"]);
    send(&mut c, &["GET", "a"]);
    expect(&mut c, "$1\r\n1\r\n");
    send(&mut c, &["CLIENT", "REPLY", "OFF"]);
    send(&mut c, &["SET", "b", "2"]);
    send(&mut c, &["GET", "b"]);
    send(&mut c, &["CLIENT", "REPLY", "ON"]);
    expect(&mut c, "+OK\r\n");
    call(&mut c, &["GET", "b"], "$1\r\n2\r\n");
}

/// Read one message a subscriber was pushed: its lines up to the last bulk.
fn read_message(c: &mut Client) -> Reply {
    c.read()
}

fn strings(r: &Reply) -> Vec<String> {
    match r {
        Reply::Array(Some(items)) => items
            .iter()
            .map(|i| match i {
                Reply::Bulk(Some(b)) => String::from_utf8_lossy(b).into_owned(),
                other => format!("{other:?}"),
            })
            .collect(),
        other => panic!("not an array: {other:?}"),
    }
}

#[test]
fn keyspace_notifications_name_each_change_and_expiry() {
    let server = kv_server();
    let mut s = Client::connect(server.tcp());
    let mut w = Client::connect(server.tcp());
    assert_eq!(
        w.cmd(&[b"CONFIG", b"SET", b"notify-keyspace-events", b"KEA"]),
        common::resp_client::ok()
    );
    assert_eq!(
        w.cmd(&[b"CONFIG", b"GET", b"notify-keyspace-events"]),
        Reply::Array(Some(vec![
            common::resp_client::bulk("notify-keyspace-events"),
            common::resp_client::bulk("AKE")
        ]))
    );
    send(&mut s, &["PSUBSCRIBE", "__key*__:*"]);
    s.read();
    let expect_event = |s: &mut Client, key: &str, event: &str| {
        assert_eq!(
            strings(&read_message(s)),
            [
                "pmessage",
                "__key*__:*",
                &format!("__keyspace@0__:{key}"),
                event
            ]
        );
        assert_eq!(
            strings(&read_message(s)),
            [
                "pmessage",
                "__key*__:*",
                &format!("__keyevent@0__:{event}"),
                key
            ]
        );
    };
    w.cmd(&[b"SET", b"k", b"v"]);
    expect_event(&mut s, "k", "set");
    w.cmd(&[b"LPUSH", b"l", b"a"]);
    expect_event(&mut s, "l", "lpush");
    w.cmd(&[b"HSET", b"h", b"f", b"v"]);
    expect_event(&mut s, "h", "hset");
    // Nothing changed: no event.
    w.cmd(&[b"DEL", b"nosuch"]);
    w.cmd(&[b"DEL", b"k"]);
    expect_event(&mut s, "k", "del");
    // A key expiring in the active cycle (every 100 ms) is an `expired` event.
    w.cmd(&[b"SET", b"e", b"1", b"PX", b"1"]);
    expect_event(&mut s, "e", "set");
    expect_event(&mut s, "e", "expire");
    expect_event(&mut s, "e", "expired");
    match w.cmd(&[b"CONFIG", b"SET", b"notify-keyspace-events", b"Kq"]) {
        Reply::Error(e) => assert!(e.contains("Invalid event class character"), "{e}"),
        r => panic!("{r:?}"),
    }
}

#[test]
fn client_tracking_invalidates_what_a_client_read() {
    let server = kv_server();
    let mut c = Client::connect(server.tcp());
    let mut w = Client::connect(server.tcp());
    hello3(&mut c);
    call(&mut c, &["CLIENT", "TRACKING", "ON"], "+OK\r\n");
    call(&mut c, &["GET", "k"], "_\r\n");
    w.cmd(&[b"SET", b"k", b"1"]);
    expect(&mut c, ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n");
    // Forgotten once invalidated: a second write says nothing until read again.
    w.cmd(&[b"SET", b"k", b"2"]);
    call(&mut c, &["GET", "k"], "$1\r\n2\r\n");
    // Its own write: the invalidation follows its reply.
    call(
        &mut c,
        &["SET", "k", "3"],
        "+OK\r\n>2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n",
    );
    // FLUSHALL: "everything" (a null).
    call(&mut c, &["GET", "k"], "$1\r\n3\r\n");
    w.cmd(&[b"FLUSHALL"]);
    expect(&mut c, ">2\r\n$10\r\ninvalidate\r\n_\r\n");
    send(&mut c, &["CLIENT", "TRACKINGINFO"]);
    expect(
        &mut c,
        "%3\r\n$5\r\nflags\r\n~1\r\n$2\r\non\r\n$8\r\nredirect\r\n:0\r\n$8\r\nprefixes\r\n*0\r\n",
    );
    call(&mut c, &["CLIENT", "TRACKING", "OFF"], "+OK\r\n");
}

#[test]
fn client_tracking_redirects_to_a_resp2_subscriber_and_broadcasts_prefixes() {
    let server = kv_server();
    let mut r = Client::connect(server.tcp());
    let Reply::Int(rid) = r.cmd(&[b"CLIENT", b"ID"]) else {
        panic!("CLIENT ID");
    };
    send(&mut r, &["SUBSCRIBE", "__redis__:invalidate"]);
    r.read();
    let mut c = Client::connect(server.tcp());
    let rid = rid.to_string();
    call(
        &mut c,
        &["CLIENT", "TRACKING", "ON", "REDIRECT", &rid],
        "+OK\r\n",
    );
    call(&mut c, &["CLIENT", "GETREDIR"], &format!(":{rid}\r\n"));
    call(&mut c, &["GET", "k"], "$-1\r\n");
    let mut w = Client::connect(server.tcp());
    w.cmd(&[b"SET", b"k", b"1"]);
    assert_eq!(
        r.read(),
        Reply::Array(Some(vec![
            common::resp_client::bulk("message"),
            common::resp_client::bulk("__redis__:invalidate"),
            Reply::Array(Some(vec![common::resp_client::bulk("k")])),
        ]))
    );
    call(&mut c, &["CLIENT", "TRACKING", "OFF"], "+OK\r\n");
    // BCAST: any key under the prefix, read or not; the batch's keys together.
    call(
        &mut c,
        &[
            "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "a", "REDIRECT", &rid,
        ],
        "+OK\r\n",
    );
    w.cmd(&[b"MSET", b"a1", b"1", b"b1", b"1", b"a2", b"2"]);
    assert_eq!(
        r.read(),
        Reply::Array(Some(vec![
            common::resp_client::bulk("message"),
            common::resp_client::bulk("__redis__:invalidate"),
            Reply::Array(Some(vec![
                common::resp_client::bulk("a1"),
                common::resp_client::bulk("a2")
            ])),
        ]))
    );
    match c.cmd(&[b"CLIENT", b"TRACKING", b"ON", b"PREFIX", b"x"]) {
        Reply::Error(e) => assert!(e.contains("BCAST"), "{e}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn new_key_events_and_tracking_table_eviction() {
    let server = kv_server();
    let mut s = Client::connect(server.tcp());
    let mut w = Client::connect(server.tcp());
    w.cmd(&[b"CONFIG", b"SET", b"notify-keyspace-events", b"En"]);
    send(&mut s, &["PSUBSCRIBE", "__keyevent@0__:new"]);
    s.read();
    w.cmd(&[b"SET", b"a", b"1"]);
    // Overwriting is no `new` event; creating another key is.
    w.cmd(&[b"SET", b"a", b"2"]);
    w.cmd(&[b"LPUSH", b"b", b"x"]);
    for key in ["a", "b"] {
        assert_eq!(
            strings(&read_message(&mut s)),
            ["pmessage", "__keyevent@0__:new", "__keyevent@0__:new", key]
        );
    }

    // Past tracking-table-max-keys, keys are evicted and their clients told.
    let mut c = Client::connect(server.tcp());
    hello3(&mut c);
    call(&mut c, &["CLIENT", "TRACKING", "ON"], "+OK\r\n");
    send(&mut c, &["MGET", "a", "b"]);
    expect(&mut c, "*2\r\n$1\r\n2\r\n");
    c.line(); // b is a list: MGET answers null for it
    w.cmd(&[b"CONFIG", b"SET", b"tracking-table-max-keys", b"1"]);
    let push = String::from_utf8(c.line()).unwrap();
    assert_eq!(push, ">2");
    expect(&mut c, "$10\r\ninvalidate\r\n*1\r\n$1\r\n");
    let evicted = String::from_utf8(c.line()).unwrap();
    assert!(evicted == "a" || evicted == "b", "{evicted}");
    // One key is left in the table.
    let Reply::Bulk(Some(info)) = w.cmd(&[b"INFO", b"stats"]) else {
        panic!("INFO");
    };
    assert!(String::from_utf8_lossy(&info).contains("tracking_total_keys:1\r\n"));
}
