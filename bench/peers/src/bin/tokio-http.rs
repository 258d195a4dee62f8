//! Minimal tokio current-thread HTTP/1.1 server: answers every complete request in
//! a read with one write ("Hello, World!"). The peer for evloop's HTTP example.
//! Its response has the same headers as evloop's (Server, a cached Date,
//! Content-Type, Content-Length), so a load generator parses the same bytes.
//! Usage: tokio-http ADDR
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

thread_local! {
    /// (second it was made for, the whole response): rebuilt once a second.
    static RESPONSE: RefCell<(u64, Vec<u8>)> = const { RefCell::new((0, Vec::new())) };
}

fn push_response(out: &mut Vec<u8>) {
    let now = SystemTime::now();
    let secs = now.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    RESPONSE.with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.0 != secs || cached.1.is_empty() {
            cached.1 = format!(
                "HTTP/1.1 200 OK\r\nServer: tokio\r\nDate: {}\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!",
                httpdate::fmt_http_date(now)
            )
            .into_bytes();
            cached.0 = secs;
        }
        out.extend_from_slice(&cached.1);
    });
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8081".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (mut stream, _) = accepted?;
                let _ = stream.set_nodelay(true);
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 16384];
                    let mut have = 0usize;
                    let mut out = Vec::with_capacity(4096);
                    loop {
                        match stream.read(&mut buf[have..]).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => have += n,
                        }
                        // Count complete requests (bodies are not expected).
                        let mut start = 0;
                        while let Some(end) = find(&buf[start..have], b"\r\n\r\n") {
                            push_response(&mut out);
                            start += end + 4;
                        }
                        buf.copy_within(start..have, 0);
                        have -= start;
                        if have == buf.len() {
                            return;
                        }
                        if !out.is_empty() {
                            if stream.write_all(&out).await.is_err() {
                                return;
                            }
                            out.clear();
                        }
                    }
                });
            }
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
