//! A RESP2 test client: commands encoded as multibulk requests, replies parsed into
//! [`Reply`], over a std `TcpStream` with the shared I/O timeout. No Redis client
//! crate: the tests check the bytes the server sends.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};

/// One RESP2 reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

pub fn bulk(s: impl AsRef<[u8]>) -> Reply {
    Reply::Bulk(Some(s.as_ref().to_vec()))
}

pub fn ok() -> Reply {
    Reply::Simple("OK".into())
}

/// A client: a stream for writing and a buffered reader of replies.
pub struct Client {
    pub stream: TcpStream,
    pub reader: BufReader<TcpStream>,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = super::connect(addr);
        let reader = BufReader::with_capacity(64 * 1024, stream.try_clone().unwrap());
        Client { stream, reader }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Send one command as a multibulk request and read its reply.
    pub fn cmd(&mut self, args: &[&[u8]]) -> Reply {
        self.send(&encode(args));
        self.read()
    }

    pub fn line(&mut self) -> Vec<u8> {
        let mut line = Vec::new();
        self.reader
            .read_until(b'\n', &mut line)
            .expect("read reply");
        assert!(
            line.ends_with(b"\r\n"),
            "reply line not CRLF-terminated (EOF?): {:?}",
            String::from_utf8_lossy(&line)
        );
        line.truncate(line.len() - 2);
        line
    }

    pub fn read(&mut self) -> Reply {
        let line = self.line();
        let text = || String::from_utf8_lossy(&line[1..]).into_owned();
        let num = || -> i64 {
            text()
                .parse()
                .unwrap_or_else(|_| panic!("bad number {:?}", text()))
        };
        match line.first() {
            Some(b'+') => Reply::Simple(text()),
            Some(b'-') => Reply::Error(text()),
            Some(b':') => Reply::Int(num()),
            Some(b'$') => match num() {
                -1 => Reply::Bulk(None),
                n => {
                    let mut data = vec![0u8; n as usize + 2];
                    self.reader.read_exact(&mut data).expect("read bulk");
                    assert_eq!(&data[n as usize..], b"\r\n", "bulk not CRLF-terminated");
                    data.truncate(n as usize);
                    Reply::Bulk(Some(data))
                }
            },
            Some(b'*') => match num() {
                -1 => Reply::Array(None),
                n => Reply::Array(Some((0..n).map(|_| self.read()).collect())),
            },
            _ => panic!("not a RESP reply: {:?}", String::from_utf8_lossy(&line)),
        }
    }

    /// The server closed the connection: the next read is EOF (or a reset).
    pub fn assert_eof(&mut self) {
        let mut buf = [0u8; 64];
        match self.reader.read(&mut buf) {
            Ok(0) => {}
            Ok(n) => panic!("expected EOF, got {:?}", String::from_utf8_lossy(&buf[..n])),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
            Err(e) => panic!("expected EOF, got {e}"),
        }
    }
}

pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        v.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        v.extend_from_slice(a);
        v.extend_from_slice(b"\r\n");
    }
    v
}

/// An in-process key-value server on 127.0.0.1, port 0, with Redis's limits and no
/// timeouts.
pub fn kv_server() -> super::Server {
    use evloop_kv::{KvConfig, KvService};
    super::Server::start(
        evloop::Config {
            idle_timeout: None,
            request_timeout: None,
            ..evloop::Config::default()
        },
        |r| {
            let l =
                evloop::net::bind_tcp("127.0.0.1:0".parse().unwrap(), Default::default()).unwrap();
            (
                Some(
                    r.add_tcp_listener(l, KvService::new(KvConfig::default()))
                        .unwrap(),
                ),
                None,
            )
        },
    )
}
