//! Throwaway certificates for the TLS tests (rcgen, ECDSA P-256): a CA, a server
//! certificate for `localhost` and 127.0.0.1 signed by it, and a client
//! certificate signed by it, written as PEM files; and a blocking rustls client.

#![allow(dead_code)] // each test file uses a different subset

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;

use evloop::tls::rustls;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls::pki_types::ServerName;

use super::TempDir;

/// PEM files in a temp directory (removed on drop).
pub struct Pki {
    pub dir: TempDir,
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

/// A fresh CA with a server and a client certificate.
pub fn pki(name: &str) -> Pki {
    let dir = TempDir::new(name);
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("evloop test CA {name}"));
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf = |names: Vec<String>| {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    };
    let (cert, key) = leaf(vec!["localhost".into(), "127.0.0.1".into()]);
    let (client_cert, client_key) = leaf(vec!["client.test".into()]);
    Pki {
        ca: dir.write("ca.pem", ca_cert.pem().as_bytes()),
        cert: dir.write("cert.pem", cert.as_bytes()),
        key: dir.write("key.pem", key.as_bytes()),
        client_cert: dir.write("client.pem", client_cert.as_bytes()),
        client_key: dir.write("client-key.pem", client_key.as_bytes()),
        dir,
    }
}

impl Pki {
    /// A server config presenting this server certificate, with `alpn`.
    pub fn server_config(
        &self,
        alpn: &[&[u8]],
        auth: &evloop::tls::ClientAuth,
    ) -> Arc<rustls::ServerConfig> {
        let certs = evloop::tls::CertificateFiles::load(&self.cert, &self.key).unwrap();
        evloop::tls::server_config(Arc::new(certs), alpn, auth).unwrap()
    }

    /// A client config trusting this CA.
    pub fn client_config(&self) -> Arc<rustls::ClientConfig> {
        evloop::tls::client_config(&self.ca, &[b"http/1.1"]).unwrap()
    }

    /// A client config trusting this CA and presenting the client certificate.
    pub fn client_config_with_cert(&self) -> Arc<rustls::ClientConfig> {
        let roots = evloop::tls::root_store(&self.ca).unwrap();
        let chain = evloop::tls::load_certificates(&self.client_cert).unwrap();
        let key = evloop::tls::load_private_key(&self.client_key).unwrap();
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .unwrap();
        Arc::new(config)
    }
}

/// A blocking TLS client stream (bounded I/O, as [`super::connect`]).
pub type TlsClient = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// Connect to `addr` and start a handshake for `localhost` (it completes on the
/// first read or write).
pub fn connect_tls(addr: SocketAddr, config: Arc<rustls::ClientConfig>) -> TlsClient {
    let sock = super::connect(addr);
    let name = ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(config, name).unwrap();
    rustls::StreamOwned::new(conn, sock)
}

/// Drive the client's handshake to its end; the error if it failed.
pub fn handshake(client: &mut TlsClient) -> Result<(), std::io::Error> {
    while client.conn.is_handshaking() {
        client.conn.complete_io(&mut client.sock)?;
    }
    Ok(())
}
