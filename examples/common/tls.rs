//! TLS for the example servers: the certificate flags, building the server
//! config once (a bad file is a clear error at startup), and reloading the
//! certificate and key on SIGHUP for the handshakes that follow — established
//! connections keep the session they have.

use std::path::PathBuf;
use std::sync::Arc;

use evloop::tls::{CertificateFiles, ClientAuth};

use super::{fatal, usage_error, ServerArgs};

/// The TLS flags, as given.
#[derive(Debug, Default, Clone)]
pub struct TlsArgs {
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// CA certificates that client certificates must chain to.
    pub ca: Option<PathBuf>,
    /// `yes`, `no` or `optional` (Redis's `tls-auth-clients`); default `yes`
    /// when a CA is given.
    pub auth_clients: Option<String>,
}

impl TlsArgs {
    /// Build the config into `args.tls` if a certificate was given (with its key);
    /// `flags` names the cert, key, CA and auth flags for the messages. Starts
    /// the SIGHUP reload thread.
    pub fn apply(
        &self,
        name: &'static str,
        flags: [&str; 4],
        alpn: &[&[u8]],
        args: &mut ServerArgs,
    ) {
        let [cert_flag, key_flag, ca_flag, auth_flag] = flags;
        let (cert, key) = match (&self.cert, &self.key) {
            (None, None) => {
                if self.ca.is_some() || self.auth_clients.is_some() || args.tls_listen.is_some() {
                    usage_error(name, format_args!("TLS needs {cert_flag} and {key_flag}"));
                }
                return;
            }
            (Some(c), Some(k)) => (c, k),
            (Some(_), None) => usage_error(name, format_args!("{cert_flag} needs {key_flag}")),
            (None, Some(_)) => usage_error(name, format_args!("{key_flag} needs {cert_flag}")),
        };
        if args.proxy.is_some() && args.tls_listen.is_none() {
            usage_error(
                name,
                "--proxy-protocol and TLS on the same port are not supported (the PROXY header comes before the handshake)",
            );
        }
        let auth = match (self.auth_clients.as_deref(), &self.ca) {
            (Some("no"), _) | (None, None) => ClientAuth::None,
            (None | Some("yes"), Some(ca)) => ClientAuth::Required(ca.clone()),
            (Some("optional"), Some(ca)) => ClientAuth::Optional(ca.clone()),
            (Some("yes" | "optional"), None) => {
                usage_error(name, format_args!("{auth_flag} needs {ca_flag}"))
            }
            (Some(other), _) => usage_error(
                name,
                format_args!("{auth_flag} takes yes, no or optional, not {other:?}"),
            ),
        };
        let files = CertificateFiles::load(cert, key)
            .unwrap_or_else(|e| fatal(name, format_args!("TLS certificate: {e}")));
        let files = Arc::new(files);
        let config = evloop::tls::server_config(Arc::clone(&files), alpn, &auth)
            .unwrap_or_else(|e| fatal(name, format_args!("TLS: {e}")));
        reload_on_sighup(name, files);
        args.tls = Some(config);
    }
}

/// A thread that reloads the certificate files on every SIGHUP; a failed reload
/// is logged and the certificate in use stays.
fn reload_on_sighup(name: &'static str, files: Arc<CertificateFiles>) {
    let mut signals = signal_hook::iterator::Signals::new([signal_hook::consts::SIGHUP])
        .unwrap_or_else(|e| fatal(name, format_args!("SIGHUP handler: {e}")));
    std::thread::Builder::new()
        .name("tls-reload".into())
        .spawn(move || {
            for _ in signals.forever() {
                match files.reload() {
                    Ok(()) => log::info!("SIGHUP: TLS certificate reloaded"),
                    Err(e) => {
                        log::warn!("SIGHUP: TLS certificate not reloaded, keeping the old one: {e}")
                    }
                }
            }
        })
        .unwrap_or_else(|e| fatal(name, format_args!("reload thread: {e}")));
}
