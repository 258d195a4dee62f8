//! Minimal tokio current-thread UDP echo server: the usual `recv_from`/`send_to`
//! loop, the peer evloop's UDP echo is compared with. Usage: tokio-udp-echo ADDR
#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:7009".into());
    let socket = tokio::net::UdpSocket::bind(&addr).await?;
    println!("listening on udp://{}", socket.local_addr()?);
    let mut buf = vec![0u8; 65_536];
    loop {
        tokio::select! {
            received = socket.recv_from(&mut buf) => {
                // A failed receive (an ICMP error for an earlier send) concerns one
                // peer: go on, as evloop does.
                let Ok((n, from)) = received else { continue };
                let _ = socket.send_to(&buf[..n], from).await;
            }
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}
