//! The proxy's sessions: a client side that picks an upstream and connects, an
//! upstream side that links the pair once connected, and the pool of upstreams.
//! Apart from `main.rs` so that the tests can drive a proxied pair in the
//! simulator (`tests/sim.rs`).
use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use evloop::{ConnId, Ctx, Next, Session, Step, StreamService};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Balance {
    RoundRobin,
    LeastConn,
}

pub(crate) struct Upstream {
    pub(crate) addr: SocketAddr,
    /// Connections to it now (least-conn).
    pub(crate) active: usize,
    /// Skipped until then after a failure.
    pub(crate) down_until: Option<Instant>,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) clients: u64,
    pub(crate) relayed_pairs: u64,
    pub(crate) client_to_upstream: u64,
    pub(crate) upstream_to_client: u64,
    pub(crate) upstream_failures: u64,
    pub(crate) refused_all_down: u64,
}

pub(crate) struct Pool {
    pub(crate) upstreams: Vec<Upstream>,
    pub(crate) balance: Balance,
    pub(crate) next: usize,
    pub(crate) retries: usize,
    pub(crate) down_time: Duration,
    pub(crate) counters: Counters,
}

impl Pool {
    /// The upstream for a new attempt at `now`, skipping those in `tried` and
    /// those marked down.
    fn pick(&mut self, now: Instant, tried: &[usize]) -> Option<usize> {
        let n = self.upstreams.len();
        let usable = |i: usize, u: &Upstream| {
            !tried.contains(&i) && u.down_until.is_none_or(|until| until <= now)
        };
        let pick = match self.balance {
            Balance::RoundRobin => (0..n)
                .map(|k| (self.next + k) % n)
                .find(|&i| usable(i, &self.upstreams[i])),
            Balance::LeastConn => (0..n)
                .map(|k| (self.next + k) % n)
                .filter(|&i| usable(i, &self.upstreams[i]))
                .min_by_key(|&i| self.upstreams[i].active),
        }?;
        self.next = (pick + 1) % n;
        self.upstreams[pick].active += 1;
        Some(pick)
    }
}

pub(crate) struct Proxy {
    pub(crate) pool: Rc<RefCell<Pool>>,
}

impl StreamService for Proxy {
    fn open(&mut self, _peer: SocketAddr) -> Box<dyn Session> {
        self.pool.borrow_mut().counters.clients += 1;
        Box::new(Client {
            pool: Rc::clone(&self.pool),
            tried: Vec::new(),
            failed: Rc::default(),
        })
    }
}

/// The client side of a pair. Until the upstream is connected it holds what the
/// client sends (and a FIN), then the reactor relays.
pub(crate) struct Client {
    pub(crate) pool: Rc<RefCell<Pool>>,
    /// Upstreams tried for this client, in order.
    pub(crate) tried: Vec<usize>,
    /// Set by the upstream session when its connect fails.
    pub(crate) failed: Rc<Cell<bool>>,
}

impl Client {
    /// Connect to the next upstream, or give up (`Close`).
    fn attempt(&mut self, ctx: &mut Ctx<'_>) -> Next {
        let mut pool = self.pool.borrow_mut();
        if self.tried.len() > pool.retries {
            log::warn!(
                "client {}: no upstream after {} tries",
                ctx.id(),
                self.tried.len()
            );
            return Next::Close;
        }
        let Some(index) = pool.pick(ctx.now(), &self.tried) else {
            pool.counters.refused_all_down += 1;
            log::warn!("client {}: every upstream is down", ctx.id());
            return Next::Close;
        };
        self.tried.push(index);
        let addr = pool.upstreams[index].addr;
        drop(pool);
        ctx.connect(
            addr,
            Box::new(UpstreamSide {
                client: ctx.id(),
                index,
                pool: Rc::clone(&self.pool),
                failed: Rc::clone(&self.failed),
            }),
        );
        Next::Read
    }
}

impl Session for Client {
    fn on_open(&mut self, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Next {
        self.attempt(ctx)
    }

    fn on_input(&mut self, _ctx: &mut Ctx<'_>, _input: &[u8], _out: &mut Vec<u8>) -> Step {
        // Not linked yet: keep the bytes (the reactor's input cap bounds them);
        // they are relayed first once the upstream is connected.
        Step::read(0)
    }

    fn on_peer_closed(&mut self, _ctx: &mut Ctx<'_>, _input: &[u8], _out: &mut Vec<u8>) -> Next {
        Next::Read // a request, then FIN: still relayed, and the answer returned
    }

    fn on_wake(&mut self, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Next {
        if self.failed.replace(false) {
            self.attempt(ctx)
        } else {
            Next::Read
        }
    }

    fn on_closed(&mut self, ctx: &mut Ctx<'_>) {
        self.pool.borrow_mut().counters.client_to_upstream += ctx.relayed();
    }
}

/// The upstream side of a pair.
pub(crate) struct UpstreamSide {
    pub(crate) client: ConnId,
    pub(crate) index: usize,
    pub(crate) pool: Rc<RefCell<Pool>>,
    pub(crate) failed: Rc<Cell<bool>>,
}

impl Session for UpstreamSide {
    fn on_connected(&mut self, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Next {
        let mut pool = self.pool.borrow_mut();
        pool.upstreams[self.index].down_until = None;
        if ctx.link(self.client).is_err() {
            return Next::Close; // the client left while we connected
        }
        pool.counters.relayed_pairs += 1;
        Next::Read
    }

    fn on_connect_failed(&mut self, ctx: &mut Ctx<'_>, error: &std::io::Error) {
        let mut pool = self.pool.borrow_mut();
        pool.counters.upstream_failures += 1;
        let down_time = pool.down_time;
        let upstream = &mut pool.upstreams[self.index];
        log::warn!(
            "upstream {}: {error}; marked down for {down_time:?}",
            upstream.addr
        );
        upstream.down_until = Some(ctx.now() + down_time);
        drop(pool);
        self.failed.set(true);
        let _ = ctx.wake(self.client); // it tries the next one, or closes
    }

    fn on_input(&mut self, _ctx: &mut Ctx<'_>, input: &[u8], _out: &mut Vec<u8>) -> Step {
        // Only before the link, if the client left in between: nothing to relay to.
        Step {
            consumed: input.len(),
            next: Next::Close,
        }
    }

    fn on_closed(&mut self, ctx: &mut Ctx<'_>) {
        let mut pool = self.pool.borrow_mut();
        pool.upstreams[self.index].active -= 1;
        pool.counters.upstream_to_client += ctx.relayed();
    }
}
