//! Chat fan-out load: `--members` clients join a line chat server (evloop's
//! `examples/chat`), `--senders` of them send lines as fast as the server takes
//! them for `--duration` seconds, every member counts the lines it receives from
//! the others and the latency of each (the send time travels in the line: one
//! process, one clock). Prints one JSON object.
//!
//! ```text
//! chat-fanout --target 127.0.0.1:7008 --members 1000 --senders 1 --duration 5
//! ```
//!
//! Senders keep at most `--window` lines unconfirmed (a sender counts its own
//! line as confirmed when the last member has it), so the run measures what the
//! server delivers, not how much it can buffer. Latencies are recorded per
//! delivery in microseconds into a sorted sample (reservoir of 1M) for p50/p99.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

struct Args {
    target: SocketAddr,
    members: usize,
    senders: usize,
    duration: Duration,
    size: usize,
    window: u64,
}

fn parse() -> Args {
    let mut args = Args {
        target: "127.0.0.1:7008".parse().unwrap(),
        members: 1000,
        senders: 1,
        duration: Duration::from_secs(5),
        size: 64,
        window: 64,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--target" => args.target = value.parse().expect("--target HOST:PORT"),
            "--members" => args.members = value.parse().expect("--members N"),
            "--senders" => args.senders = value.parse().expect("--senders N"),
            "--duration" => {
                args.duration = Duration::from_secs_f64(value.parse().expect("--duration SECS"))
            }
            "--size" => args.size = value.parse().expect("--size BYTES"),
            "--window" => args.window = value.parse().expect("--window N"),
            other => panic!("unknown flag {other}"),
        }
    }
    assert!(args.senders >= 1 && args.senders <= args.members);
    args
}

struct Shared {
    start: Instant,
    stop: AtomicBool,
    deliveries: AtomicU64,
    /// Per sender: lines delivered to every other member (confirmed).
    confirmed: Vec<AtomicU64>,
    /// Per sender and line: deliveries still missing (members - 1 at send).
    missing: Vec<Mutex<std::collections::HashMap<u64, usize>>>,
    latencies: Mutex<Vec<u32>>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = parse();
    let shared = Arc::new(Shared {
        start: Instant::now(),
        stop: AtomicBool::new(false),
        deliveries: AtomicU64::new(0),
        confirmed: (0..args.senders).map(|_| AtomicU64::new(0)).collect(),
        missing: (0..args.senders).map(|_| Mutex::default()).collect(),
        latencies: Mutex::new(Vec::with_capacity(1 << 20)),
    });
    // Join everyone first, and name the senders s0, s1, …
    let mut readers = Vec::new();
    let mut writers = Vec::new();
    // Dropping a write half shuts the socket down for writing, which the chat
    // server takes as the member leaving: the listeners' halves are kept here.
    let mut listening = Vec::new();
    for i in 0..args.members {
        let stream = TcpStream::connect(args.target).await.expect("connect");
        stream.set_nodelay(true).unwrap();
        let (r, mut w) = stream.into_split();
        let mut r = BufReader::new(r);
        let mut line = String::new();
        r.read_line(&mut line).await.expect("welcome line");
        if i < args.senders {
            w.write_all(format!("/nick s{i}\n").as_bytes()).await.unwrap();
            writers.push(w);
        } else {
            listening.push(w);
        }
        readers.push(r);
    }
    let others = args.members - 1;
    let mut tasks = Vec::new();
    for mut r in readers {
        let shared = Arc::clone(&shared);
        tasks.push(tokio::spawn(async move {
            let mut line = String::new();
            loop {
                line.clear();
                match r.read_line(&mut line).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                // "sN: SEQ MICROS padding"
                let Some(rest) = line.strip_prefix('s') else { continue };
                let Some((sender, text)) = rest.split_once(": ") else { continue };
                let mut parts = text.split(' ');
                let (Ok(sender), Some(Ok(seq)), Some(Ok(sent))) = (
                    sender.parse::<usize>(),
                    parts.next().map(str::parse::<u64>),
                    parts.next().map(str::parse::<u64>),
                ) else {
                    continue;
                };
                let now = shared.start.elapsed().as_micros() as u64;
                shared.deliveries.fetch_add(1, Ordering::Relaxed);
                {
                    let mut lat = shared.latencies.lock().unwrap();
                    if lat.len() < (1 << 20) {
                        lat.push(now.saturating_sub(sent) as u32);
                    }
                }
                let mut missing = shared.missing[sender].lock().unwrap();
                if let Some(left) = missing.get_mut(&seq) {
                    *left -= 1;
                    if *left == 0 {
                        missing.remove(&seq);
                        shared.confirmed[sender].fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    let padding = "x".repeat(args.size.saturating_sub(24));
    let measure_from = Instant::now();
    for (i, mut w) in writers.into_iter().enumerate() {
        let shared = Arc::clone(&shared);
        let padding = padding.clone();
        let window = args.window;
        tasks.push(tokio::spawn(async move {
            let mut seq = 0u64;
            let mut batch = Vec::new();
            while !shared.stop.load(Ordering::Relaxed) {
                let confirmed = shared.confirmed[i].load(Ordering::Relaxed);
                if seq - confirmed >= window {
                    tokio::task::yield_now().await;
                    continue;
                }
                batch.clear();
                let now = shared.start.elapsed().as_micros() as u64;
                {
                    let mut missing = shared.missing[i].lock().unwrap();
                    while seq - confirmed < window {
                        missing.insert(seq, others);
                        batch.extend_from_slice(format!("{seq} {now} {padding}\n").as_bytes());
                        seq += 1;
                    }
                }
                if w.write_all(&batch).await.is_err() {
                    return;
                }
            }
        }));
    }
    tokio::time::sleep(args.duration).await;
    shared.stop.store(true, Ordering::Relaxed);
    let elapsed = measure_from.elapsed().as_secs_f64();
    let deliveries = shared.deliveries.load(Ordering::Relaxed);
    let mut lat = shared.latencies.lock().unwrap().clone();
    lat.sort_unstable();
    let pct = |p: f64| lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1))).copied().unwrap_or(0);
    println!(
        "{{\"members\":{},\"senders\":{},\"size\":{},\"seconds\":{:.3},\"deliveries\":{},\"deliveries_per_sec\":{:.0},\"p50_us\":{},\"p99_us\":{},\"p999_us\":{}}}",
        args.members,
        args.senders,
        args.size,
        elapsed,
        deliveries,
        deliveries as f64 / elapsed,
        pct(0.50),
        pct(0.99),
        pct(0.999)
    );
    std::process::exit(0);
}
