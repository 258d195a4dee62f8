//! Who may run commands: `requirepass` with `AUTH` (and `HELLO … AUTH`), and
//! protected mode.
//!
//! One user, Redis's `default`: with a password set, a new client may only run
//! `AUTH`, `HELLO`, `QUIT` and `RESET` until it has given the password; everything
//! else answers `-NOAUTH Authentication required.`. A wrong password answers
//! `-WRONGPASS …`. The replies are Redis 7's, word for word, so clients and
//! redis-cli react to them as they do to Redis.
//!
//! The password is compared in time that depends only on the password's length,
//! never on where a guess first differs ([`constant_time_eq`]).
//!
//! Protected mode (on unless turned off, as in Redis): while no password is set,
//! a client connecting from anywhere but the loopback interface gets Redis's
//! `-DENIED` explanation and is disconnected.

use super::command::{self, Ctx};
use super::frame::Argv;
use super::reply::{self, Reply};
use super::Shared;

pub(crate) const NOAUTH: &[u8] = b"NOAUTH Authentication required.";
pub(crate) const WRONGPASS: &[u8] =
    b"WRONGPASS invalid username-password pair or user is disabled.";

/// Redis 7's protected-mode message, sent before closing the connection.
pub(crate) const DENIED: &[u8] = b"-DENIED Redis is running in protected mode because protected \
mode is enabled and no password is set for the default user. In this mode connections are only \
accepted from the loopback interface. If you want to connect from external computers to Redis you \
may adopt one of the following solutions: 1) Just disable protected mode sending the command \
'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same \
host the server is running, however MAKE SURE Redis is not publicly accessible from internet if \
you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable \
the protected mode by editing the Redis configuration file, and setting the protected mode option \
to 'no', and then restarting the server. 3) If you started the server manually just for testing, \
restart it with the '--protected-mode no' option. 4) Set up an authentication password for the \
default user. NOTE: You only need to do one of the above things in order for the server to start \
accepting connections from the outside.\r\n";

/// Compare `guess` with `secret` in time that depends on `secret.len()` only.
///
/// Every byte of the secret is compared with a byte of the guess (cycling through
/// the guess, or a zero byte for an empty one), the differences are OR-ed
/// together, and the lengths are compared the same way; there is no early exit,
/// and `black_box` keeps the optimiser from inventing one. Hand-written rather
/// than a dependency: it is a dozen lines, and the inputs are short.
pub fn constant_time_eq(guess: &[u8], secret: &[u8]) -> bool {
    let mut diff = (guess.len() ^ secret.len()) as u64;
    for (i, &s) in secret.iter().enumerate() {
        let g = if guess.is_empty() {
            0
        } else {
            guess[i % guess.len()]
        };
        diff |= std::hint::black_box((g ^ s) as u64);
    }
    std::hint::black_box(diff) == 0
}

/// Check a username and password against the configuration; `Err` is the reply.
pub(crate) fn check(c: &Ctx<'_, '_>, user: &[u8], pass: &[u8]) -> Result<(), &'static [u8]> {
    let secret = c.shared.requirepass.borrow();
    let user_ok = constant_time_eq(user, b"default");
    let pass_ok = match &*secret {
        Some(secret) => constant_time_eq(pass, secret),
        // No password: the default user is `nopass`, any password will do.
        None => true,
    };
    if user_ok && pass_ok {
        Ok(())
    } else {
        Err(WRONGPASS)
    }
}

/// AUTH password | AUTH username password.
pub(crate) fn auth(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    if a.len() > 3 {
        return reply::error(out, command::SYNTAX);
    }
    if a.len() == 2 && c.shared.requirepass.borrow().is_none() {
        return reply::error(
            out,
            b"ERR AUTH <password> called without any password configured for the default \
              user. Are you sure your configuration is correct?",
        );
    }
    let (user, pass) = if a.len() == 3 {
        (a.get(1), a.get(2))
    } else {
        (&b"default"[..], a.get(1))
    };
    match check(c, user, pass) {
        Ok(()) => {
            c.client.authenticated = true;
            reply::ok(out);
        }
        Err(msg) => {
            log::debug!("AUTH failed for client id={}", c.client.record.id);
            reply::error(out, msg);
        }
    }
}

/// CONFIG GET values of the access parameters.
pub(crate) fn config_values(shared: &Shared) -> Vec<(&'static [u8], String)> {
    let pass = shared.requirepass.borrow();
    vec![
        (
            b"requirepass" as &[u8],
            pass.as_deref()
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .unwrap_or_default(),
        ),
        (
            b"protected-mode",
            if shared.protected_mode.get() {
                "yes"
            } else {
                "no"
            }
            .into(),
        ),
    ]
}

/// CONFIG SET of an access parameter: `None` if `name` is not one.
pub(crate) fn config_set(shared: &Shared, name: &[u8], value: &[u8]) -> Option<Result<(), String>> {
    Some(match name {
        b"requirepass" => {
            // As in Redis: clients already authenticated stay so.
            *shared.requirepass.borrow_mut() = (!value.is_empty()).then(|| value.to_vec());
            Ok(())
        }
        b"protected-mode" => match value.to_ascii_lowercase().as_slice() {
            b"yes" => {
                shared.protected_mode.set(true);
                Ok(())
            }
            b"no" => {
                shared.protected_mode.set(false);
                Ok(())
            }
            _ => Err(format!(
                "argument '{}' is invalid for 'protected-mode'",
                String::from_utf8_lossy(value)
            )),
        },
        _ => return None,
    })
}

/// Whether a client from `peer` is refused by protected mode.
pub(crate) fn denied(shared: &Shared, peer: std::net::SocketAddr) -> bool {
    let loopback = match peer.ip() {
        std::net::IpAddr::V4(ip) => ip.is_loopback(),
        std::net::IpAddr::V6(ip) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    };
    shared.protected_mode.get() && shared.requirepass.borrow().is_none() && !loopback
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{KvConfig, KvService};
    use evloop::{Next, StreamService};

    #[test]
    fn constant_time_eq_is_equality() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secreT", b"secret"));
        assert!(!constant_time_eq(b"secre", b"secret"));
        assert!(!constant_time_eq(b"secretsecret", b"secret"));
        assert!(!constant_time_eq(b"", b"secret"));
        assert!(!constant_time_eq(b"x", b""));
        assert!(constant_time_eq(b"", b""));
    }

    fn greeting(svc: &mut KvService, peer: &str) -> (Next, Vec<u8>) {
        let mut session = svc.open(peer.parse().unwrap());
        let mut detached = evloop::Detached::new();
        let mut out = Vec::new();
        let next = session.on_open(&mut detached.ctx(std::time::Instant::now()), &mut out);
        (next, out)
    }

    #[test]
    fn protected_mode_refuses_remote_clients_without_a_password() {
        let mut svc = KvService::new(KvConfig::default());
        let (next, out) = greeting(&mut svc, "10.1.2.3:5000");
        assert_eq!(next, Next::Close);
        assert_eq!(out, DENIED);
        for local in ["127.0.0.1:5000", "[::1]:5000", "[::ffff:127.0.0.1]:5000"] {
            assert_eq!(
                greeting(&mut svc, local),
                (Next::Read, Vec::new()),
                "{local}"
            );
        }
        svc.set_requirepass(Some(b"pw".to_vec()));
        assert_eq!(greeting(&mut svc, "10.1.2.3:5000").0, Next::Read);
        svc.set_requirepass(None);
        svc.set_protected_mode(false);
        assert_eq!(greeting(&mut svc, "10.1.2.3:5000").0, Next::Read);
    }
}
