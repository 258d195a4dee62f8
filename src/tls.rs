//! TLS between the socket and the session, on [rustls] (feature `tls`).
//!
//! rustls is sans-I/O, like the sessions here: it takes the bytes read from the
//! socket, hands back plaintext, and queues the records it wants written. This
//! module is the one place that moves bytes between it and a non-blocking TCP
//! socket; above it the connection state machine sees a byte stream like any
//! other (the connection module's `Transport`), so backpressure, the input cap, timeouts,
//! pushes and graceful close work unchanged, and the same session serves plain and
//! TLS connections.
//!
//! Two rules keep the reactor's edge-triggered reads and writes right:
//!
//! - **A short read means the socket is empty.** A read fills the caller's buffer
//!   from rustls's decrypted plaintext, reading and decrypting more records until
//!   the buffer is full or the socket says `WouldBlock`. So, as with a plain
//!   socket, a read that returns less than was asked for proves a new edge will
//!   come.
//! - **Encrypted bytes rustls holds count as unsent output.** A write hands
//!   plaintext to rustls, which encrypts it, and writes the records; what the
//!   socket does not take stays queued inside rustls (at most its buffer limit,
//!   [`BUFFER_LIMIT`]). The transport reports it (`has_buffered_output`), the
//!   connection counts it as pending, and flushes it on the next WRITABLE edge; a
//!   write is refused with `WouldBlock` while records are still queued, so the
//!   plaintext buffered per connection stays bounded.
//!
//! Closing sends `close_notify` before FIN: the alert is written (or queued and
//! flushed first), and only then is the socket's writing half shut down.
//!
//! Certificates: [`CertificateFiles`] loads a PEM chain and key and is the
//! server's certificate resolver; [`CertificateFiles::reload`] swaps in new files
//! (on SIGHUP, say) for the handshakes that follow, without touching established
//! connections.
//!
//! The crypto provider is ring: it builds with only a C compiler (aws-lc-rs also
//! needs cmake and nasm), and offers TLS 1.3 and 1.2 with X25519, P-256 and
//! AES-GCM/ChaCha20.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use mio::net::TcpStream;
pub use rustls;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

/// The most encrypted output rustls may queue for one connection beyond what the
/// socket took (rustls's own default): a write is refused while records are
/// queued, so this bounds it.
pub const BUFFER_LIMIT: usize = 64 * 1024;

/// A TCP socket with a TLS connection (server or client side) on top.
pub(crate) struct TlsStream {
    sock: TcpStream,
    tls: rustls::Connection,
    /// `close_notify` is queued: shut down the socket's writing half once it is
    /// written.
    fin_pending: bool,
    /// `close_notify` was sent (or queued).
    notified: bool,
}

impl fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsStream")
            .field("sock", &self.sock)
            .field("handshaking", &self.tls.is_handshaking())
            .finish_non_exhaustive()
    }
}

fn tls_error(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

impl TlsStream {
    /// The server side of a connection just accepted.
    pub(crate) fn server(sock: TcpStream, config: &Arc<ServerConfig>) -> io::Result<TlsStream> {
        let tls = rustls::ServerConnection::new(Arc::clone(config)).map_err(tls_error)?;
        Ok(TlsStream::with(sock, tls.into()))
    }

    /// The client side of a connection whose connect was started; the ClientHello
    /// is queued and goes out once the connect completes.
    pub(crate) fn client(
        sock: TcpStream,
        config: Arc<ClientConfig>,
        name: rustls::pki_types::ServerName<'static>,
    ) -> io::Result<TlsStream> {
        let tls = rustls::ClientConnection::new(config, name).map_err(tls_error)?;
        Ok(TlsStream::with(sock, tls.into()))
    }

    fn with(sock: TcpStream, mut tls: rustls::Connection) -> TlsStream {
        tls.set_buffer_limit(Some(BUFFER_LIMIT));
        TlsStream {
            sock,
            tls,
            fin_pending: false,
            notified: false,
        }
    }

    /// The handshake has not finished.
    pub(crate) fn handshaking(&self) -> bool {
        self.tls.is_handshaking()
    }

    /// Encrypted records (or the FIN after `close_notify`) wait for the socket.
    pub(crate) fn has_buffered_output(&self) -> bool {
        self.tls.wants_write() || self.fin_pending
    }

    /// Write queued records until none are left (`Ok`) or the socket is full
    /// (`WouldBlock`).
    fn write_records(&mut self) -> io::Result<()> {
        while self.tls.wants_write() {
            match self.tls.write_tls(&mut self.sock) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if std::mem::take(&mut self.fin_pending) {
            match self.sock.shutdown(Shutdown::Write) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotConnected => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Write queued records as far as the socket takes them; a full socket is
    /// not an error here (they are flushed on the next WRITABLE edge).
    fn write_records_some(&mut self) -> io::Result<()> {
        match self.write_records() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            other => other,
        }
    }

    /// Shut down writing: `close_notify`, then FIN once it is written.
    pub(crate) fn shutdown_write(&mut self) -> io::Result<()> {
        self.notify();
        self.fin_pending = true;
        self.write_records_some()
    }

    fn notify(&mut self) {
        if !std::mem::replace(&mut self.notified, true) {
            self.tls.send_close_notify();
        }
    }

    /// The connection is being closed in order (both sides done): send
    /// `close_notify` if it was not, as far as the socket takes it.
    pub(crate) fn close_notify(&mut self) {
        if self.notified || self.tls.is_handshaking() {
            return;
        }
        self.notify();
        if let Err(e) = self.write_records_some() {
            log::debug!("close_notify: {e}");
        }
    }

    pub(crate) fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.sock.peer_addr()
    }

    pub(crate) fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.sock.take_error()
    }
}

impl Read for TlsStream {
    /// Plaintext: what rustls has decrypted, then more records from the socket,
    /// until `buf` is full or the socket is empty. `Ok(0)` at the peer's
    /// `close_notify` or FIN (a FIN without `close_notify` is taken as the end
    /// too: the sessions here frame their own messages, so a truncated one is
    /// never mistaken for a whole one). A protocol error — garbage, a plain-text
    /// request, no shared cipher suite — sends rustls's alert and fails the read.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut filled = 0;
        loop {
            if filled == buf.len() {
                return Ok(filled);
            }
            match self.tls.reader().read(&mut buf[filled..]) {
                Ok(0) => return Ok(filled), // close_notify
                Ok(n) => {
                    filled += n;
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(filled),
                Err(e) => return Err(e),
            }
            match self.tls.read_tls(&mut self.sock) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // Handshake replies the last records asked for go out now.
                    self.write_records_some()?;
                    return if filled > 0 { Ok(filled) } else { Err(e) };
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            if let Err(e) = self.tls.process_new_packets() {
                // Best effort: tell the peer why (the alert rustls queued).
                let _ = self.write_records();
                return Err(tls_error(e));
            }
        }
    }
}

impl Write for TlsStream {
    /// Hand plaintext to rustls and write the records, until all of `buf` is taken
    /// or the socket is full. Nothing is taken while the handshake runs or while
    /// records from before are still queued (`WouldBlock`), so a short count
    /// always means the socket is full and a WRITABLE edge will follow.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut taken = 0;
        loop {
            if let Err(e) = self.write_records() {
                return match e.kind() {
                    io::ErrorKind::WouldBlock if taken > 0 => Ok(taken),
                    _ => Err(e),
                };
            }
            if taken == buf.len() {
                return Ok(taken);
            }
            if self.tls.is_handshaking() {
                return if taken > 0 {
                    Ok(taken)
                } else {
                    Err(io::ErrorKind::WouldBlock.into())
                };
            }
            match self.tls.writer().write(&buf[taken..])? {
                // Cannot happen with the queue empty; do not spin if it does.
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => taken += n,
            }
        }
    }

    /// Write the queued records; `WouldBlock` if the socket is full.
    fn flush(&mut self) -> io::Result<()> {
        self.write_records()
    }
}

impl mio::event::Source for TlsStream {
    fn register(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> io::Result<()> {
        self.sock.register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> io::Result<()> {
        self.sock.reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &mio::Registry) -> io::Result<()> {
        self.sock.deregister(registry)
    }
}

/// The crypto provider every config here is built with.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn invalid(path: &Path, what: impl fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{}: {what}", path.display()),
    )
}

/// Every certificate in a PEM file, in order.
pub fn load_certificates(path: &Path) -> io::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| invalid(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(path, e))?;
    if certs.is_empty() {
        return Err(invalid(path, "no certificate in the file"));
    }
    Ok(certs)
}

/// The first private key in a PEM file (PKCS#8, PKCS#1 or SEC1).
pub fn load_private_key(path: &Path) -> io::Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| invalid(path, e))
}

/// A certificate chain and its key, loaded from PEM files, that a server presents:
/// the resolver of the [`ServerConfig`]s [`server_config`] builds. Every client
/// gets it, whatever name it asks for (as nginx's default server and Redis do).
/// [`reload`](Self::reload) replaces it for the handshakes that follow.
pub struct CertificateFiles {
    cert: PathBuf,
    key: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
}

impl fmt::Debug for CertificateFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateFiles")
            .field("cert", &self.cert)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl CertificateFiles {
    /// Load the chain (leaf first) from `cert` and its key from `key`; the key must
    /// match the leaf certificate.
    pub fn load(cert: &Path, key: &Path) -> io::Result<CertificateFiles> {
        let current = RwLock::new(Self::read(cert, key)?);
        Ok(CertificateFiles {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            current,
        })
    }

    fn read(cert: &Path, key: &Path) -> io::Result<Arc<CertifiedKey>> {
        let chain = load_certificates(cert)?;
        let der = load_private_key(key)?;
        let certified = CertifiedKey::from_der(chain, der, &provider())
            .map_err(|e| invalid(key, format_args!("{e} (with {})", cert.display())))?;
        Ok(Arc::new(certified))
    }

    /// Read the files again. On an error the certificate in use stays.
    pub fn reload(&self) -> io::Result<()> {
        let fresh = Self::read(&self.cert, &self.key)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        Ok(())
    }
}

impl ResolvesServerCert for CertificateFiles {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(
            &self.current.read().unwrap_or_else(|e| e.into_inner()),
        ))
    }
}

/// Whether a server asks clients for a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientAuth {
    /// No client certificate is asked for.
    None,
    /// Clients may present a certificate; one that does must chain to a CA in the
    /// file.
    Optional(PathBuf),
    /// Clients must present a certificate that chains to a CA in the file.
    Required(PathBuf),
}

/// A server config presenting `certs`, offering `alpn` (e.g. `[b"http/1.1"]`;
/// empty: no ALPN), TLS 1.3 and 1.2, and session resumption by tickets.
pub fn server_config(
    certs: Arc<CertificateFiles>,
    alpn: &[&[u8]],
    client_auth: &ClientAuth,
) -> io::Result<Arc<ServerConfig>> {
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?;
    let builder = match client_auth {
        ClientAuth::None => builder.with_no_client_auth(),
        ClientAuth::Optional(ca) | ClientAuth::Required(ca) => {
            let roots = Arc::new(root_store(ca)?);
            let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider());
            let verifier = if matches!(client_auth, ClientAuth::Optional(_)) {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            builder.with_client_cert_verifier(verifier.build().map_err(|e| invalid(ca, e))?)
        }
    };
    let mut config = builder.with_cert_resolver(certs);
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    // Resumption without server state: a client that comes back presents a
    // ticket (encrypted with a key that rotates every 6 hours) and skips the
    // certificate and key exchange signatures.
    config.ticketer = rustls::crypto::ring::Ticketer::new().map_err(tls_error)?;
    Ok(Arc::new(config))
}

/// The CA certificates in a PEM file, as trust anchors.
pub fn root_store(path: &Path) -> io::Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    for cert in load_certificates(path)? {
        roots.add(cert).map_err(|e| invalid(path, e))?;
    }
    Ok(roots)
}

/// A client config that trusts the CAs in `ca` (PEM), offering `alpn`.
pub fn client_config(ca: &Path, alpn: &[&[u8]]) -> io::Result<Arc<ClientConfig>> {
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .with_root_certificates(root_store(ca)?)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}
