//! Pub/Sub and blocking-command load for any RESP2 server (redis-server or
//! evloop's `examples/kv`), one process, one clock. Prints one JSON object.
//!
//! ```text
//! pubsub-bench fanout --target 127.0.0.1:6379 --subscribers 1000 --channels 1 \
//!     --publishers 1 --duration 5 [--size 64] [--window 16] [--slow 1]
//! pubsub-bench pingpong --target 127.0.0.1:6379 --duration 5
//! ```
//!
//! fanout: subscriber `i` subscribes to channel `i % channels`; each publisher
//! publishes to the channels in turn, with at most `--window` PUBLISHes
//! unanswered, each message carrying its send time; every subscriber counts and
//! times what it receives (deliveries/s, latency percentiles). `--slow N` adds N
//! subscribers to channel 0 that never read (their deliveries are not counted;
//! the server is expected to cut them off at its output limit).
//!
//! pingpong: two clients hand a token through two lists — A does `BLPOP a 0`
//! then `RPUSH b t`, B does `BLPOP b 0` then `RPUSH a t` — and the hand-offs
//! per second are counted.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::TcpStream;

struct Args {
    mode: String,
    target: SocketAddr,
    subscribers: usize,
    channels: usize,
    publishers: usize,
    duration: Duration,
    size: usize,
    window: u64,
    slow: usize,
}

fn parse() -> Args {
    let mut it = std::env::args().skip(1);
    let mode = it.next().unwrap_or_else(|| panic!("usage: pubsub-bench fanout|pingpong [flags]"));
    let mut args = Args {
        mode,
        target: "127.0.0.1:6379".parse().unwrap(),
        subscribers: 1000,
        channels: 1,
        publishers: 1,
        duration: Duration::from_secs(5),
        size: 64,
        window: 16,
        slow: 0,
    };
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--target" => args.target = value.parse().expect("--target HOST:PORT"),
            "--subscribers" => args.subscribers = value.parse().expect("--subscribers N"),
            "--channels" => args.channels = value.parse().expect("--channels N"),
            "--publishers" => args.publishers = value.parse().expect("--publishers N"),
            "--duration" => {
                args.duration = Duration::from_secs_f64(value.parse().expect("--duration SECS"))
            }
            "--size" => args.size = value.parse().expect("--size BYTES"),
            "--window" => args.window = value.parse().expect("--window N"),
            "--slow" => args.slow = value.parse().expect("--slow N"),
            other => panic!("unknown flag {other}"),
        }
    }
    assert!(args.channels >= 1 && args.publishers >= 1 && args.window >= 1);
    args
}

fn command(args: &[&[u8]]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        v.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        v.extend_from_slice(a);
        v.extend_from_slice(b"\r\n");
    }
    v
}

/// Read one RESP2 reply, returning the bulk strings it holds (flattened) or the
/// integer/simple text as one element.
async fn read_reply(r: &mut BufReader<OwnedReadHalf>, line: &mut Vec<u8>) -> Option<Vec<Vec<u8>>> {
    line.clear();
    if r.read_until(b'\n', line).await.ok()? == 0 {
        return None;
    }
    let body = &line[1..line.len().saturating_sub(2)];
    match line[0] {
        b'+' | b':' | b'-' => Some(vec![body.to_vec()]),
        b'$' => {
            let n: i64 = std::str::from_utf8(body).ok()?.parse().ok()?;
            if n < 0 {
                return Some(vec![]);
            }
            let mut data = vec![0; n as usize + 2];
            r.read_exact(&mut data).await.ok()?;
            data.truncate(n as usize);
            Some(vec![data])
        }
        b'*' => {
            let n: i64 = std::str::from_utf8(body).ok()?.parse().ok()?;
            let mut all = Vec::new();
            for _ in 0..n.max(0) {
                all.extend(Box::pin(read_reply(r, line)).await?);
            }
            Some(all)
        }
        _ => None,
    }
}

fn pct(sorted: &[u32], p: f64) -> u32 {
    sorted
        .get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or(0)
}

struct Shared {
    start: Instant,
    stop: AtomicBool,
    measuring: AtomicBool,
    deliveries: AtomicU64,
    latencies: Mutex<Vec<u32>>,
}

async fn fanout(args: &Args) {
    let shared = Arc::new(Shared {
        start: Instant::now(),
        stop: AtomicBool::new(false),
        measuring: AtomicBool::new(false),
        deliveries: AtomicU64::new(0),
        latencies: Mutex::new(Vec::with_capacity(1 << 20)),
    });
    let mut tasks = Vec::new();
    let mut keep = Vec::new(); // write halves and the slow subscribers, kept open
    for i in 0..args.subscribers + args.slow {
        let stream = TcpStream::connect(args.target).await.expect("connect");
        stream.set_nodelay(true).unwrap();
        let (r, mut w) = stream.into_split();
        let mut r = BufReader::with_capacity(64 * 1024, r);
        let channel = if i < args.subscribers { i % args.channels } else { 0 };
        w.write_all(&command(&[b"SUBSCRIBE", format!("ch{channel}").as_bytes()]))
            .await
            .unwrap();
        let mut line = Vec::new();
        read_reply(&mut r, &mut line).await.expect("subscribe confirmation");
        keep.push(w);
        if i >= args.subscribers {
            keep_reader(r, &mut tasks); // never reads again
            continue;
        }
        let shared = Arc::clone(&shared);
        tasks.push(tokio::spawn(async move {
            let mut line = Vec::new();
            while let Some(parts) = read_reply(&mut r, &mut line).await {
                // ["message", channel, "MICROS padding"]
                let Some(payload) = parts.get(2) else { continue };
                let sent = payload
                    .split(|&b| b == b' ')
                    .next()
                    .and_then(|t| std::str::from_utf8(t).ok()?.parse::<u64>().ok())
                    .unwrap_or(0);
                if shared.measuring.load(Ordering::Relaxed) {
                    let now = shared.start.elapsed().as_micros() as u64;
                    shared.deliveries.fetch_add(1, Ordering::Relaxed);
                    let mut lat = shared.latencies.lock().unwrap();
                    if lat.len() < (1 << 20) {
                        lat.push(now.saturating_sub(sent) as u32);
                    }
                }
            }
        }));
    }
    let padding = "x".repeat(args.size.saturating_sub(17));
    for p in 0..args.publishers {
        let stream = TcpStream::connect(args.target).await.expect("connect");
        stream.set_nodelay(true).unwrap();
        let (r, mut w) = stream.into_split();
        let mut r = BufReader::with_capacity(64 * 1024, r);
        let shared = Arc::clone(&shared);
        let (channels, window, padding) = (args.channels, args.window, padding.clone());
        tasks.push(tokio::spawn(async move {
            let mut line = Vec::new();
            let mut next = p % channels;
            let mut batch = Vec::new();
            while !shared.stop.load(Ordering::Relaxed) {
                batch.clear();
                let now = shared.start.elapsed().as_micros() as u64;
                for _ in 0..window {
                    let payload = format!("{now:016} {padding}");
                    batch.extend(command(&[
                        b"PUBLISH",
                        format!("ch{next}").as_bytes(),
                        payload.as_bytes(),
                    ]));
                    next = (next + 1) % channels;
                }
                if w.write_all(&batch).await.is_err() {
                    return;
                }
                for _ in 0..window {
                    if read_reply(&mut r, &mut line).await.is_none() {
                        return;
                    }
                }
            }
        }));
    }
    // Warm up for a second, then measure.
    tokio::time::sleep(Duration::from_secs(1)).await;
    shared.latencies.lock().unwrap().clear();
    shared.measuring.store(true, Ordering::Relaxed);
    let from = Instant::now();
    tokio::time::sleep(args.duration).await;
    shared.measuring.store(false, Ordering::Relaxed);
    shared.stop.store(true, Ordering::Relaxed);
    let elapsed = from.elapsed().as_secs_f64();
    let deliveries = shared.deliveries.load(Ordering::Relaxed);
    let mut lat = shared.latencies.lock().unwrap().clone();
    lat.sort_unstable();
    println!(
        "{{\"mode\":\"fanout\",\"subscribers\":{},\"channels\":{},\"publishers\":{},\"slow\":{},\"size\":{},\"seconds\":{elapsed:.3},\"deliveries\":{deliveries},\"deliveries_per_sec\":{:.0},\"p50_us\":{},\"p99_us\":{},\"p999_us\":{}}}",
        args.subscribers,
        args.channels,
        args.publishers,
        args.slow,
        args.size,
        deliveries as f64 / elapsed,
        pct(&lat, 0.5),
        pct(&lat, 0.99),
        pct(&lat, 0.999),
    );
    drop(keep);
    std::process::exit(0);
}

/// Hold a reader that is never read (a slow subscriber).
fn keep_reader(r: BufReader<OwnedReadHalf>, tasks: &mut Vec<tokio::task::JoinHandle<()>>) {
    tasks.push(tokio::spawn(async move {
        let _r = r;
        std::future::pending::<()>().await;
    }));
}

async fn pingpong(args: &Args) {
    let count = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let setup = TcpStream::connect(args.target).await.expect("connect");
    let (r, mut w) = setup.into_split();
    let mut r = BufReader::new(r);
    let mut line = Vec::new();
    w.write_all(&command(&[b"DEL", b"pp:a", b"pp:b"])).await.unwrap();
    read_reply(&mut r, &mut line).await.unwrap();
    for (from, to) in [(&b"pp:a"[..], &b"pp:b"[..]), (b"pp:b", b"pp:a")] {
        let stream = TcpStream::connect(args.target).await.expect("connect");
        stream.set_nodelay(true).unwrap();
        let (r, mut w) = stream.into_split();
        let mut r = BufReader::new(r);
        let (count, stop) = (Arc::clone(&count), Arc::clone(&stop));
        let (pop, push) = (command(&[b"BLPOP", from, b"0"]), command(&[b"RPUSH", to, b"t"]));
        tokio::spawn(async move {
            let mut line = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                w.write_all(&pop).await.unwrap();
                if read_reply(&mut r, &mut line).await.is_none() {
                    return;
                }
                count.fetch_add(1, Ordering::Relaxed);
                w.write_all(&push).await.unwrap();
                if read_reply(&mut r, &mut line).await.is_none() {
                    return;
                }
            }
        });
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    w.write_all(&command(&[b"RPUSH", b"pp:a", b"t"])).await.unwrap();
    read_reply(&mut r, &mut line).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = count.load(Ordering::Relaxed);
    let from = Instant::now();
    tokio::time::sleep(args.duration).await;
    let handoffs = count.load(Ordering::Relaxed) - before;
    let elapsed = from.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    println!(
        "{{\"mode\":\"pingpong\",\"seconds\":{elapsed:.3},\"handoffs\":{handoffs},\"handoffs_per_sec\":{:.0}}}",
        handoffs as f64 / elapsed
    );
    std::process::exit(0);
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = parse();
    match args.mode.as_str() {
        "fanout" => fanout(&args).await,
        "pingpong" => pingpong(&args).await,
        other => panic!("unknown mode {other}: fanout or pingpong"),
    }
}
