//! Pub/Sub, as Redis's `pubsub.c`: `SUBSCRIBE`, `UNSUBSCRIBE`,
//! `PSUBSCRIBE`, `PUNSUBSCRIBE`, `PUBLISH`, `PUBSUB CHANNELS|NUMSUB|NUMPAT|HELP`.
//!
//! A RESP2 subscriber gets its confirmations and messages as arrays and may run
//! only the subscription commands, PING, QUIT and RESET; a RESP3 subscriber gets
//! them as push frames (`>`) beside ordinary replies, and may run anything. The
//! registry keeps each subscriber's protocol, so `PUBLISH` encodes a message at
//! most once per protocol.
//!
//! The service keeps who listens to what ([`PubSub`]: channel → subscribers,
//! pattern → subscribers); each session keeps its own subscriptions, so it can
//! answer `UNSUBSCRIBE` without arguments and leave every registry when it closes.
//! `PUBLISH` encodes each frame once and [pushes](evloop::Ctx::push) it to every
//! receiver: the reactor appends it to the receiver's output and writes all that one
//! receiver got in a loop iteration with one `write`. A subscriber's pushed output is
//! bounded by `client-output-buffer-limit pubsub` (hard, and soft for a duration;
//! Redis's default 32 MiB / 8 MiB for 60 s), set on the connection when it first
//! subscribes: past it the reactor closes that subscriber (logged), the publisher
//! and everyone else go on, and the server's memory stays bounded.

use indexmap::{IndexMap, IndexSet};

use super::command::Ctx;
use super::frame::Argv;
use super::glob;
use super::reply::{self, Reply};
use super::store::{Bytes, Hasher};
use evloop::{ConnId, PushError};

/// Subscribers of each channel, or of each pattern, in subscription order, each
/// with whether it speaks RESP3.
type Registry = IndexMap<Bytes, IndexMap<ConnId, bool, Hasher>, Hasher>;

/// Who listens to what, for one service.
#[derive(Debug, Default)]
pub(crate) struct PubSub {
    channels: Registry,
    patterns: Registry,
    /// `client-output-buffer-limit` (the pub/sub class is enforced).
    pub(crate) limits: super::clients::OutputLimits,
}

impl PubSub {
    /// Channels with at least one subscriber (INFO's `pubsub_channels`).
    pub(crate) fn channel_count(&self) -> usize {
        self.channels.len()
    }

    /// Patterns with at least one subscriber (INFO's `pubsub_patterns`).
    pub(crate) fn pattern_count(&self) -> usize {
        self.patterns.len()
    }

    /// Every subscriber, each once.
    pub(crate) fn subscribers(&self) -> IndexSet<ConnId, Hasher> {
        let mut all = IndexSet::default();
        for ids in self.channels.values().chain(self.patterns.values()) {
            all.extend(ids.keys().copied());
        }
        all
    }

    fn registry(&mut self, kind: Kind) -> &mut Registry {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
        }
    }
}

/// One session's subscriptions.
#[derive(Debug, Default)]
pub(crate) struct Subscriptions {
    channels: IndexSet<Bytes, Hasher>,
    patterns: IndexSet<Bytes, Hasher>,
}

impl Subscriptions {
    /// Channels plus patterns: the count Redis's (un)subscribe replies carry.
    pub(crate) fn count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }

    pub(crate) fn channels(&self) -> usize {
        self.channels.len()
    }

    pub(crate) fn patterns(&self) -> usize {
        self.patterns.len()
    }

    fn set(&mut self, kind: Kind) -> &mut IndexSet<Bytes, Hasher> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
        }
    }
}

/// Channels (SUBSCRIBE) or patterns (PSUBSCRIBE): the same bookkeeping.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Channel,
    Pattern,
}

impl Kind {
    fn subscribe(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"subscribe",
            Kind::Pattern => b"psubscribe",
        }
    }

    fn unsubscribe(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"unsubscribe",
            Kind::Pattern => b"punsubscribe",
        }
    }
}

/// Leave every channel and pattern (the connection closed).
pub(crate) fn forget(pubsub: &mut PubSub, id: ConnId, subs: &Subscriptions) {
    for ch in &subs.channels {
        remove_from(&mut pubsub.channels, ch, id);
    }
    for pat in &subs.patterns {
        remove_from(&mut pubsub.patterns, pat, id);
    }
}

fn remove_from(registry: &mut Registry, key: &[u8], id: ConnId) {
    if let Some(ids) = registry.get_mut(key) {
        // `shift_remove` keeps delivery in subscription order for the others.
        ids.shift_remove(&id);
        if ids.is_empty() {
            registry.swap_remove(key);
        }
    }
}

/// `kind channel count`: an array in RESP2, a push in RESP3.
fn confirm(out: &mut Reply<'_>, kind: &[u8], channel: Option<&[u8]>, count: usize) {
    reply::push(out, 3);
    reply::bulk(out, kind);
    match channel {
        Some(ch) => reply::bulk(out, ch),
        None => reply::nil(out),
    }
    reply::int(out, count as i64);
}

/// SUBSCRIBE / PSUBSCRIBE. The first subscription of a connection puts it under
/// the pub/sub output limit.
fn subscribe_generic(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>, kind: Kind) {
    if c.client.subs.is_none() {
        let limit = c.shared.pubsub.borrow().limits.pubsub;
        c.net.set_output_limit(limit);
    }
    let id = c.net.id();
    // A session without a connection (driven detached) is reachable by no push.
    let reachable = !id.is_detached();
    let mut pubsub = c.shared.pubsub.borrow_mut();
    let subs = c.client.subs.get_or_insert_with(Box::default);
    for name in a.iter_from(1) {
        if subs.set(kind).insert(name.into()) && reachable {
            pubsub
                .registry(kind)
                .entry(name.into())
                .or_default()
                .insert(id, out.resp3());
        }
        confirm(out, kind.subscribe(), Some(name), subs.count());
    }
    c.client.note_subscriptions();
    // A subscriber waits for publishers: no idle timeout while it listens.
    c.net.set_waiting(c.client.subscribed());
}

/// UNSUBSCRIBE / PUNSUBSCRIBE: the named ones, or without arguments every one.
fn unsubscribe_generic(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>, kind: Kind) {
    let id = c.net.id();
    let mut pubsub = c.shared.pubsub.borrow_mut();
    let Some(subs) = c.client.subs.as_mut() else {
        // Never subscribed: one reply per name, or one with a null name.
        if a.len() == 1 {
            return confirm(out, kind.unsubscribe(), None, 0);
        }
        for name in a.iter_from(1) {
            confirm(out, kind.unsubscribe(), Some(name), 0);
        }
        return;
    };
    if a.len() == 1 {
        // Every one: take the set whole (linear, however many there are).
        let all = std::mem::take(subs.set(kind));
        if all.is_empty() {
            confirm(out, kind.unsubscribe(), None, subs.count());
        }
        let mut left = all.len();
        for name in all {
            remove_from(pubsub.registry(kind), &name, id);
            left -= 1;
            confirm(out, kind.unsubscribe(), Some(&name), subs.count() + left);
        }
    } else {
        for name in a.iter_from(1) {
            if subs.set(kind).swap_remove(name) {
                remove_from(pubsub.registry(kind), name, id);
            }
            confirm(out, kind.unsubscribe(), Some(name), subs.count());
        }
    }
    c.client.note_subscriptions();
    // A subscriber waits for publishers: no idle timeout while it listens.
    c.net.set_waiting(c.client.subscribed());
}

/// The (un)subscribe confirmations are pushes, as in Redis: sent even while
/// `CLIENT REPLY OFF|SKIP` drops the client's replies.
fn confirmations(
    c: &mut Ctx<'_, '_>,
    a: Argv<'_>,
    out: &mut Reply<'_>,
    kind: Kind,
    run: fn(&mut Ctx<'_, '_>, Argv<'_>, &mut Reply<'_>, Kind),
) {
    use super::clients::ReplyMode;
    if matches!(c.client.reply, ReplyMode::On | ReplyMode::SkipNext) {
        return run(c, a, out, kind);
    }
    let mut frames = Vec::new();
    run(c, a, &mut Reply::new(&mut frames, out.resp3()), kind);
    let id = c.net.id();
    let _ = c.net.push(id, &frames);
}

pub(crate) fn subscribe(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    confirmations(c, a, out, Kind::Channel, subscribe_generic)
}

pub(crate) fn psubscribe(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    confirmations(c, a, out, Kind::Pattern, subscribe_generic)
}

pub(crate) fn unsubscribe(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    confirmations(c, a, out, Kind::Channel, unsubscribe_generic)
}

pub(crate) fn punsubscribe(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    confirmations(c, a, out, Kind::Pattern, unsubscribe_generic)
}

/// `PUBLISH channel message`: the number of clients it reached.
pub(crate) fn publish(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let receivers = deliver(c.shared, c.net, a.get(1), a.get(2));
    reply::int(out, receivers);
}

/// Send `message` to the subscribers of `channel` and of the patterns matching
/// it (PUBLISH, keyspace notifications, tracking's redirect channel); the number
/// of clients reached.
pub(crate) fn deliver(
    shared: &super::Shared,
    net: &mut evloop::Ctx<'_>,
    channel: &[u8],
    message: &[u8],
) -> i64 {
    let pubsub = shared.pubsub.borrow();
    let mut receivers = 0;
    if let Some(ids) = pubsub.channels.get(channel) {
        let frames = Frames::new(&[b"message", channel, message]);
        receivers += frames.send(net, ids);
    }
    for (pattern, ids) in &pubsub.patterns {
        if glob::matches(pattern, channel, false) {
            let frames = Frames::new(&[b"pmessage", pattern, channel, message]);
            receivers += frames.send(net, ids);
        }
    }
    receivers
}

/// One message, encoded for each protocol (only the header differs: `*n` or
/// `>n`).
struct Frames {
    body: Vec<u8>,
    n: usize,
}

impl Frames {
    fn new(parts: &[&[u8]]) -> Frames {
        let mut body = Vec::new();
        for p in parts {
            reply::bulk(&mut body, p);
        }
        Frames {
            body,
            n: parts.len(),
        }
    }

    /// Push the message to every subscriber in `ids`; the number reached. A
    /// receiver past its hard limit is closed by the reactor (logged) but counted,
    /// as Redis counts it; a closed one leaves the registry from its own
    /// `on_closed`.
    fn send(&self, net: &mut evloop::Ctx<'_>, ids: &IndexMap<ConnId, bool, Hasher>) -> i64 {
        let mut framed: [Vec<u8>; 2] = Default::default();
        let mut receivers = 0;
        for (&id, &resp3) in ids {
            let frame = &mut framed[resp3 as usize];
            if frame.is_empty() {
                reply::push(&mut Reply::new(frame, resp3), self.n);
                frame.extend_from_slice(&self.body);
            }
            if net.push(id, frame) != Err(PushError::Closed) {
                receivers += 1;
            }
        }
        receivers
    }
}

/// The client switched protocol (HELLO): messages to it change shape.
pub(crate) fn set_protocol(pubsub: &mut PubSub, id: ConnId, subs: &Subscriptions, resp3: bool) {
    for ch in &subs.channels {
        if let Some(p) = pubsub.channels.get_mut(ch).and_then(|ids| ids.get_mut(&id)) {
            *p = resp3;
        }
    }
    for pat in &subs.patterns {
        if let Some(p) = pubsub
            .patterns
            .get_mut(pat)
            .and_then(|ids| ids.get_mut(&id))
        {
            *p = resp3;
        }
    }
}

/// `PUBSUB CHANNELS [pattern] | NUMSUB [channel ...] | NUMPAT | HELP`.
pub(crate) fn pubsub(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let sub = a.get(1);
    let pubsub = c.shared.pubsub.borrow();
    // Redis's words: the fixed-arity subcommands fail the arity check; CHANNELS
    // (arity -2) is refused by the command itself.
    let arity = |name: &[u8], ok: bool, out: &mut Reply<'_>| {
        if ok {
            return true;
        }
        if name == b"pubsub|channels" {
            let mut msg = b"ERR unknown subcommand or wrong number of arguments for '".to_vec();
            msg.extend_from_slice(sub);
            msg.extend_from_slice(b"'. Try PUBSUB HELP.");
            reply::error(out, &msg);
        } else {
            super::command::arity_error(out, name);
        }
        false
    };
    if sub.eq_ignore_ascii_case(b"channels") {
        if !arity(b"pubsub|channels", a.len() <= 3, out) {
            return;
        }
        let pattern = (a.len() == 3).then(|| a.get(2));
        let mut names: Vec<&Bytes> = pubsub
            .channels
            .keys()
            .filter(|ch| pattern.is_none_or(|p| glob::matches(p, ch, false)))
            .collect();
        names.sort();
        reply::array(out, names.len());
        for ch in names {
            reply::bulk(out, ch);
        }
    } else if sub.eq_ignore_ascii_case(b"numsub") {
        reply::array(out, (a.len() - 2) * 2);
        for ch in a.iter_from(2) {
            reply::bulk(out, ch);
            reply::int(
                out,
                pubsub.channels.get(ch).map_or(0, |ids| ids.len()) as i64,
            );
        }
    } else if sub.eq_ignore_ascii_case(b"numpat") {
        if arity(b"pubsub|numpat", a.len() == 2, out) {
            reply::int(out, pubsub.patterns.len() as i64);
        }
    } else if sub.eq_ignore_ascii_case(b"help") {
        if !arity(b"pubsub|help", a.len() == 2, out) {
            return;
        }
        let lines: [&[u8]; 7] = [
            b"CHANNELS [<pattern>]",
            b"    Return the currently active channels matching a <pattern> (default: '*').",
            b"NUMPAT",
            b"    Return number of subscriptions to patterns.",
            b"NUMSUB [<channel> ...]",
            b"    Return the number of subscribers for the specified channels, excluding",
            b"    pattern subscriptions(default: no channels).",
        ];
        reply::help(out, b"PUBSUB", &lines);
    } else {
        super::command::unknown_subcommand(out, sub, b"PUBSUB");
    }
}
