//! Several connections at once in the simulator (`evloop::sim::Sim`): the real
//! chat room, pub/sub fan-out, blocking commands and proxy sessions, driven over
//! in-memory sockets on a simulated clock. Every byte each client receives and
//! every close is checked, deterministically: no sockets, no threads, no waits.

#[allow(dead_code)]
#[path = "../examples/proxy/relay.rs"]
mod relay;
#[allow(dead_code)]
#[path = "../examples/chat/room.rs"]
mod room;

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use evloop::sim::{Client, Closed, Sim};
use evloop::Config;
use evloop_kv::{KvConfig, KvService};

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn quiet() -> Config {
    Config {
        idle_timeout: None,
        request_timeout: None,
        ..Config::default()
    }
}

/// A RESP command as a client sends it.
fn resp(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n{arg}\r\n", arg.len()).as_bytes());
    }
    out
}

fn chat_room(sim: &mut Sim, max_output: usize) -> SocketAddr {
    sim.listen(
        addr(7008),
        room::Chat {
            room: Rc::default(),
            max_line: 4096,
            max_output,
        },
    )
}

#[test]
fn a_chat_room_of_fifty_members_hears_every_line_once_and_in_order() {
    let mut sim = Sim::new(&quiet());
    let chat = chat_room(&mut sim, 1 << 20);
    let members: Vec<Client> = (0..50).map(|_| sim.connect(chat)).collect();
    for (i, &m) in members.iter().enumerate() {
        let greeting = sim.received_text(m);
        let welcome = format!("* welcome to evloop chat, guest{}; {} here.", i + 1, i + 1);
        assert!(greeting.starts_with(&welcome), "member {i}: {greeting:?}");
        // Everyone who came later was announced, in order of arrival.
        let joins: Vec<String> = (i + 2..=50)
            .map(|n| format!("* guest{n} joined\n"))
            .collect();
        assert!(
            greeting.ends_with(&joins.concat()),
            "member {i}: {greeting:?}"
        );
    }
    // Three members talk; one sends three lines at once, which reach each
    // member in one turn of the loop, in order.
    sim.send(members[0], b"hello\n");
    sim.send(members[7], b"one\ntwo\nthree\n");
    sim.send(members[49], b"/nick zed\n");
    for (i, &m) in members.iter().enumerate() {
        let mut expected = String::new();
        if i != 0 {
            expected += "guest1: hello\n";
        }
        if i != 7 {
            expected += "guest8: one\nguest8: two\nguest8: three\n";
        }
        expected += "* guest50 is now known as zed\n";
        assert_eq!(sim.received_text(m), expected, "member {i}");
    }
    // One leaves with /quit, one by closing its end: the others hear both, and
    // the two connections close in order.
    sim.send(members[3], b"/quit\n");
    assert_eq!(sim.received_text(members[3]), "* bye\n");
    sim.send_fin(members[3]);
    sim.send_fin(members[5]);
    assert_eq!(sim.closed(members[3]), Some(Closed::Done));
    assert_eq!(sim.closed(members[5]), Some(Closed::Done));
    assert!(sim.fin_received(members[3]) && sim.fin_received(members[5]));
    for (i, &m) in members.iter().enumerate() {
        if i == 3 || i == 5 {
            continue;
        }
        assert_eq!(
            sim.received_text(m),
            "* guest4 left\n* guest6 left\n",
            "member {i}"
        );
    }
    sim.send(members[1], b"/who\n");
    let who = sim.received_text(members[1]);
    assert!(
        who.starts_with("* members: ") && who.contains("zed"),
        "{who}"
    );
    assert!(
        !who.contains("guest4,") && !who.contains("guest6,"),
        "{who}"
    );
    assert_eq!(sim.open_connections(), 48);
}

#[test]
fn a_chat_member_that_stops_reading_is_cut_off_and_the_room_goes_on() {
    let mut sim = Sim::new(&quiet());
    let chat = chat_room(&mut sim, 4096);
    let talker = sim.connect(chat);
    let reader = sim.connect(chat);
    let stalled = sim.connect(chat);
    for c in [talker, reader, stalled] {
        sim.received(c);
    }
    sim.set_room(stalled, 0); // its window is full: nothing more reaches it
    let line = format!("{}\n", "x".repeat(100));
    for _ in 0..60 {
        sim.send(talker, line.as_bytes());
    }
    // 60 lines of 110 bytes pass the 4096-byte limit: cut off, nothing else.
    assert_eq!(sim.closed(stalled), Some(Closed::OutputLimit));
    let heard = sim.received_text(reader);
    assert_eq!(heard.matches("guest1: ").count(), 60);
    assert_eq!(heard.matches("* guest3 left\n").count(), 1, "{heard:?}");
    assert_eq!(sim.closed(talker), None);
    assert_eq!(sim.closed(reader), None);
}

#[test]
fn pubsub_fans_out_to_a_thousand_subscribers_and_cuts_off_only_the_slow_one() {
    let mut sim = Sim::new(&quiet());
    let kv = sim.listen(addr(6380), KvService::new(KvConfig::default()));
    let admin = sim.connect(kv);
    sim.send(
        admin,
        &resp(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "pubsub 64kb 0 0",
        ]),
    );
    assert_eq!(sim.received(admin), b"+OK\r\n");
    let subscribers: Vec<Client> = (0..1000).map(|_| sim.connect(kv)).collect();
    for &s in &subscribers {
        sim.send(s, &resp(&["SUBSCRIBE", "news"]));
        assert_eq!(
            sim.received(s),
            b"*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n".to_vec()
        );
    }
    let slow = subscribers[500];
    sim.set_room(slow, 1000); // reads almost nothing
    let publisher = sim.connect(kv);
    let payload = "p".repeat(1000);
    let message = format!("*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$1000\r\n{payload}\r\n");
    for n in 0..100 {
        sim.send(publisher, &resp(&["PUBLISH", "news", &payload]));
        let receivers = if n < 65 { 1000 } else { 999 };
        let reply = sim.received_text(publisher);
        // The slow one is counted while its connection is open.
        assert!(
            reply == format!(":{receivers}\r\n") || reply == format!(":{}\r\n", receivers + 1),
            "publish {n}: {reply:?}"
        );
    }
    // Past 64 KiB of unsent output the slow subscriber is closed; every other
    // subscriber got all 100 messages, whole and in order.
    assert_eq!(sim.closed(slow), Some(Closed::OutputLimit));
    let all = message.repeat(100);
    for (i, &s) in subscribers.iter().enumerate() {
        if s != slow {
            assert_eq!(sim.received_text(s), all, "subscriber {i}");
            assert_eq!(sim.closed(s), None);
        }
    }
    assert!(sim.stats().output_buffered_peak <= 70 * 1024);
}

#[test]
fn a_blocked_blpop_is_woken_by_another_clients_push_and_times_out_on_the_clock() {
    let mut sim = Sim::new(&quiet());
    let kv = sim.listen(addr(6380), KvService::new(KvConfig::default()));
    let waiter = sim.connect(kv);
    let second = sim.connect(kv);
    let pusher = sim.connect(kv);
    sim.send(waiter, &resp(&["BLPOP", "jobs", "0"]));
    sim.send(second, &resp(&["BLPOP", "jobs", "0"]));
    sim.advance(Duration::from_secs(3600));
    assert_eq!(sim.received(waiter), b"", "blocked: no reply yet");
    sim.send(pusher, &resp(&["RPUSH", "jobs", "a", "b", "c"]));
    assert_eq!(sim.received(pusher), b":3\r\n");
    // First come, first served: each waiter pops one, in the order they blocked.
    assert_eq!(
        sim.received(waiter),
        b"*2\r\n$4\r\njobs\r\n$1\r\na\r\n".to_vec()
    );
    assert_eq!(
        sim.received(second),
        b"*2\r\n$4\r\njobs\r\n$1\r\nb\r\n".to_vec()
    );
    sim.send(pusher, &resp(&["LRANGE", "jobs", "0", "-1"]));
    assert_eq!(sim.received(pusher), b"*1\r\n$1\r\nc\r\n".to_vec());
    // A timeout runs on the simulated clock: nothing at 1.9 s, the null at 2 s.
    sim.send(waiter, &resp(&["BLPOP", "empty", "2"]));
    sim.advance(Duration::from_millis(1900));
    assert_eq!(sim.received(waiter), b"");
    sim.advance(Duration::from_millis(100));
    assert_eq!(sim.received(waiter), b"*-1\r\n");
}

fn proxy(sim: &mut Sim, upstream: SocketAddr) -> SocketAddr {
    let pool = relay::Pool {
        upstreams: vec![relay::Upstream {
            addr: upstream,
            active: 0,
            down_until: None,
        }],
        balance: relay::Balance::RoundRobin,
        next: 0,
        retries: 0,
        down_time: Duration::from_secs(10),
        counters: relay::Counters::default(),
    };
    sim.listen(
        addr(7009),
        relay::Proxy {
            pool: Rc::new(RefCell::new(pool)),
        },
    )
}

#[test]
fn a_proxied_pair_relays_both_ways_under_backpressure_and_closes_together() {
    let config = Config {
        high_water: 64 * 1024,
        low_water: 16 * 1024,
        ..quiet()
    };
    let mut sim = Sim::new(&config);
    let upstream = addr(9000);
    sim.listen_peer(upstream);
    let front = proxy(&mut sim, upstream);
    let client = sim.connect(front);
    let [server] = sim.accepted(upstream)[..] else {
        panic!("the proxy opened one upstream connection");
    };
    // Client -> server while the server reads nothing: the proxy stops reading
    // from the client once the upstream side holds the high-water mark.
    sim.set_room(server, 8 * 1024);
    let up: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    sim.send(client, &up);
    let held = sim.pending_output(server);
    assert!(held <= 64 * 1024 + 64 * 1024, "upstream side holds {held}");
    assert!(
        sim.unread_from(client) > 800_000,
        "the client's bytes wait in its socket"
    );
    // Server -> client while the client reads nothing, the same way.
    sim.set_room(client, 4 * 1024);
    let down: Vec<u8> = (0..600_000u32).map(|i| (i % 241) as u8).collect();
    sim.send(server, &down);
    assert!(sim.unread_from(server) > 400_000);
    // Both ends read at last, a window at a time: every byte arrives, in order.
    let (mut got_up, mut got_down) = (Vec::new(), Vec::new());
    for _ in 0..10_000 {
        if got_up.len() == up.len() && got_down.len() == down.len() {
            break;
        }
        got_up.extend(sim.received(server));
        got_down.extend(sim.received(client));
    }
    assert!(
        got_up == up,
        "upstream got {} of {} bytes",
        got_up.len(),
        up.len()
    );
    assert!(
        got_down == down,
        "client got {} of {} bytes",
        got_down.len(),
        down.len()
    );
    assert!(sim.stats().output_buffered_peak <= 2 * 64 * 1024 + 64 * 1024);
    // FIN from the client reaches the server; the server's FIN closes the pair.
    sim.send_fin(client);
    assert!(sim.fin_received(server));
    assert_eq!(sim.closed(client), None);
    sim.send(server, b"last words");
    assert_eq!(sim.received(client), b"last words");
    sim.send_fin(server);
    assert!(sim.fin_received(client));
    assert_eq!(sim.closed(client), Some(Closed::Done));
    assert_eq!(sim.open_connections(), 0);
}

#[test]
fn a_proxy_whose_upstream_refuses_closes_the_client() {
    let mut sim = Sim::new(&quiet());
    let front = proxy(&mut sim, addr(9001)); // nobody listens there
    let client = sim.connect(front);
    sim.send(client, b"hello");
    assert!(sim.fin_received(client), "the proxy gives up on the client");
    assert_eq!(sim.closed(client), None, "and lingers for the client's FIN");
    sim.send_fin(client);
    assert_eq!(sim.closed(client), Some(Closed::Done));
    assert_eq!(sim.stats().connect_errors, 1);
}

#[test]
fn slowloris_dribblers_close_at_the_request_timeout_from_their_first_byte() {
    use evloop_http::{Demo, HttpConfig, HttpService};
    let config = Config {
        request_timeout: Some(Duration::from_millis(500)),
        ..Config::default()
    };
    let mut sim = Sim::new(&config);
    let http = sim.listen(
        addr(8080),
        HttpService::new(HttpConfig::default(), Demo).unwrap(),
    );
    let dribblers: Vec<Client> = (0..300).map(|_| sim.connect(http)).collect();
    let normal = sim.connect(http);
    // One header byte per dribbler every 100 ms, five times; a normal client's
    // requests between the dribbles are answered at once (no simulated time).
    const HEAD: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: a";
    for tick in 0..5 {
        for &d in &dribblers {
            sim.send(d, &HEAD[tick..tick + 1]);
        }
        sim.send(normal, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        let reply = sim.received_text(normal);
        assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
        sim.advance(Duration::from_millis(if tick < 4 { 100 } else { 99 }));
    }
    // 500 ms after the first byte, not after the last: the dribbles did not move
    // the deadline. At 499 ms all are open, at 500 ms all are closed.
    assert!(dribblers.iter().all(|&d| sim.closed(d).is_none()));
    sim.advance(Duration::from_millis(1));
    assert!(dribblers
        .iter()
        .all(|&d| sim.closed(d) == Some(Closed::Timeout)));
    assert_eq!(sim.stats().timeouts, 300);
    assert_eq!(sim.closed(normal), None);
}
