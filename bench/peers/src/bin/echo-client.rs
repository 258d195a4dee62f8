//! Blocking echo load client: N threads, each with its own connection, each
//! sending a SIZE-byte message and waiting for it to come back, for SECS seconds.
//! Prints round trips/s. Usage: echo-client ADDR CONNS SIZE SECS
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        eprintln!("usage: echo-client ADDR CONNS SIZE SECS");
        std::process::exit(2);
    }
    let addr = args[1].clone();
    let conns: usize = args[2].parse().expect("CONNS");
    let size: usize = args[3].parse().expect("SIZE");
    let secs: f64 = args[4].parse().expect("SECS");
    let stop = Arc::new(AtomicBool::new(false));
    let total = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..conns)
        .map(|i| {
            let (addr, stop, total, errors) = (addr.clone(), stop.clone(), total.clone(), errors.clone());
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(&addr).expect("connect");
                s.set_nodelay(true).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                let msg: Vec<u8> = (0..size).map(|j| (i + j) as u8).collect();
                let mut back = vec![0u8; size];
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    if s.write_all(&msg).is_err() || s.read_exact(&mut back).is_err() || back != msg {
                        errors.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                    n += 1;
                }
                total.fetch_add(n, Ordering::Relaxed);
            })
        })
        .collect();
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(secs));
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    let elapsed = start.elapsed().as_secs_f64();
    let n = total.load(Ordering::Relaxed);
    println!(
        "round_trips={} seconds={:.2} rps={:.0} errors={}",
        n,
        elapsed,
        n as f64 / elapsed,
        errors.load(Ordering::Relaxed)
    );
}
