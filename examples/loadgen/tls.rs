//! `--tls`: the client config (`--ca FILE` to trust a CA, or `--insecure` to
//! accept any certificate — for benchmarks against throwaway certificates) and
//! the server name to ask for.

use std::sync::Arc;

use evloop::tls::rustls;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// What a TLS connection of the run needs.
pub type ClientTls = (Arc<rustls::ClientConfig>, ServerName<'static>);

/// The config for `--ca` (trust its CAs) or, without one, `--insecure`; ALPN
/// `http/1.1` for the http mode. The server name is `name`, or the host of
/// `target_text`.
pub fn client_tls(
    ca: Option<&std::path::Path>,
    alpn: &[&[u8]],
    name: &str,
) -> Result<ClientTls, String> {
    let config = match ca {
        Some(ca) => evloop::tls::client_config(ca, alpn).map_err(|e| format!("--ca: {e}"))?,
        None => {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let mut config = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
                .with_no_client_auth();
            config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
            Arc::new(config)
        }
    };
    let name =
        ServerName::try_from(name.to_string()).map_err(|e| format!("server name {name:?}: {e}"))?;
    Ok((config, name))
}

/// The host part of `HOST:PORT` (brackets of an IPv6 literal removed).
pub fn host_of(target: &str) -> &str {
    let host = target.rsplit_once(':').map_or(target, |(h, _)| h);
    host.trim_start_matches('[').trim_end_matches(']')
}

/// `--insecure`: any certificate is accepted, but the handshake signatures are
/// still checked (the peer must hold the key of the certificate it sent).
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
