//! When a connection must be looked at again: its close deadline (idle,
//! request, handshake, connect and linger timeouts) and the session's timers and
//! wakes.

use std::time::Instant;

use super::{Conn, Limits, State, Transport, STALLED_CLOSE_TIMEOUT};

impl<T: Transport> Conn<T> {
    pub(crate) fn wake(&mut self) {
        self.woken = true;
    }

    /// See [`Ctx::set_waiting`](crate::Ctx::set_waiting).
    pub(crate) fn set_waiting(&mut self, waiting: bool) {
        if waiting {
            self.extra().waiting = true;
        } else if let Some(extra) = &mut self.extra {
            extra.waiting = false;
            self.trim_extra();
        }
    }

    pub(super) fn is_waiting(&self) -> bool {
        self.extra.as_ref().is_some_and(|e| e.waiting)
    }

    pub(crate) fn set_timer(&mut self, at: Instant, token: u64) {
        self.cancel_timer(token);
        self.extra().timers.push((at, token));
    }

    pub(crate) fn cancel_timer(&mut self, token: u64) {
        if let Some(extra) = &mut self.extra {
            extra.timers.retain(|&(_, t)| t != token);
        }
        self.trim_extra();
    }

    /// The earliest of the session's timers, while the session can hear them: a
    /// timer that comes due once the connection is closing is never delivered,
    /// so it must not wake the loop either (it would come due, be passed over
    /// and re-armed, over and over, within one turn).
    pub(super) fn next_timer(&self) -> Option<Instant> {
        if !self.takes_callbacks() {
            return None;
        }
        let timers = &self.extra.as_ref()?.timers;
        timers.iter().map(|&(at, _)| at).min()
    }

    /// Take one session timer that is due at `now`.
    pub(super) fn take_due_timer(&mut self, now: Instant) -> Option<u64> {
        let timers = &mut self.extra.as_mut()?.timers;
        let i = timers.iter().position(|&(at, _)| at <= now)?;
        let (_, token) = timers.swap_remove(i);
        self.trim_extra();
        Some(token)
    }

    /// When the reactor must look at this connection again if nothing happens:
    /// its close deadline or a session timer, whichever is first.
    pub(crate) fn wake_at(&self, limits: &Limits) -> Option<Instant> {
        match (self.deadline(limits), self.next_timer()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether a session timer is due or a wake is waiting.
    pub(crate) fn has_callbacks_due(&self, now: Instant) -> bool {
        self.woken || self.next_timer().is_some_and(|at| at <= now)
    }

    /// When this connection must be closed if nothing happens before.
    pub(crate) fn deadline(&self, limits: &Limits) -> Option<Instant> {
        match self.state {
            State::Closed => None,
            State::Connecting => Some(self.mark + limits.connect_timeout),
            State::Draining => Some(self.mark + limits.linger_timeout),
            // Finishing replies to a peer that has stopped reading them must not
            // hold the slot forever, even with no idle timeout configured.
            State::Closing { .. } | State::PeerClosedRead { .. } => {
                Some(self.last_active + limits.idle_timeout.unwrap_or(STALLED_CLOSE_TIMEOUT))
            }
            // Waiting on other connections (a subscriber, a blocked client):
            // silence is expected.
            State::Open if self.is_waiting() => None,
            // A TLS handshake that does not finish in time (slowloris on the
            // handshake) ends, whatever the idle timeout.
            State::Open if self.stream.handshaking() => {
                let handshake = self.mark + limits.handshake_timeout;
                Some(match limits.idle_timeout {
                    Some(t) => handshake.min(self.last_active + t),
                    None => handshake,
                })
            }
            // A partial request we are reading (not one we stopped reading because
            // of backpressure or a stream): the request timeout runs from its first
            // byte and is not extended by further dribbles (slowloris); the idle
            // timeout still applies if it is shorter.
            _ if !self.input.is_empty() && !self.backpressured && !self.waits_for_drain() => {
                let request = limits.request_timeout.map(|t| self.mark + t);
                let idle = limits.idle_timeout.map(|t| self.last_active + t);
                match (request, idle) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            }
            _ => limits.idle_timeout.map(|t| self.last_active + t),
        }
    }
}
