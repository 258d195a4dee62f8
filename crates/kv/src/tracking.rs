//! Client-side caching, as Redis's `tracking.c`: `CLIENT TRACKING`, `CLIENT
//! CACHING`, `CLIENT GETREDIR`, `CLIENT TRACKINGINFO`, and the invalidation
//! messages.
//!
//! In the default mode the server remembers, per key, which tracking clients
//! read it (the keys of every read-only command they run, found with the command
//! table's key specs); the first change to the key sends each of them an
//! `invalidate` message and forgets them, as Redis's tracking table does. OPTIN
//! and OPTOUT make the remembering depend on `CLIENT CACHING yes|no` before the
//! command. In BCAST mode nothing is remembered: a change to any key under one
//! of the client's prefixes is sent to it, the keys of one batch of commands
//! together. Messages go as RESP3 pushes (`>2 invalidate [keys]`), or for a
//! RESP2 client through `REDIRECT` to a client subscribed to
//! `__redis__:invalidate`. FLUSHDB and FLUSHALL send every tracking client a
//! null invalidation ("everything").
//!
//! A client's own changes reach it after its reply (a pending list the session
//! drains), so an invalidation never splits a reply; NOLOOP leaves them out.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::command::Ctx;
use super::frame::Argv;
use super::reply::{self, Reply};
use super::store::{Bytes, Hasher};
use super::Shared;
use evloop::ConnId;

/// The RESP2 redirect channel.
const CHANNEL: &[u8] = b"__redis__:invalidate";

/// How a client tracks: its reads (the default, OPTIN or OPTOUT), or every key
/// under its prefixes (BCAST). The modes exclude each other.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Mode {
    #[default]
    Reads,
    /// Only the reads of a command after `CLIENT CACHING yes`.
    OptIn,
    /// The reads of every command but one after `CLIENT CACHING no`.
    OptOut,
    Bcast,
}

impl Mode {
    fn is_opt(self) -> bool {
        matches!(self, Mode::OptIn | Mode::OptOut)
    }
}

/// One tracking client's settings.
#[derive(Debug, Clone, Default)]
struct Client {
    /// REDIRECT: the id of the client invalidations go to.
    redirect: Option<u64>,
    /// The redirect target went away (TRACKINGINFO's `broken_redirect`).
    broken: bool,
    mode: Mode,
    noloop: bool,
    /// `CLIENT CACHING yes|no` (as its mode allows) was given for the next
    /// command.
    caching: bool,
    /// BCAST prefixes ("" for every key).
    prefixes: Vec<Bytes>,
}

/// The service's tracking state.
#[derive(Debug)]
pub(crate) struct Tracking {
    clients: HashMap<u64, Client, Hasher>,
    /// Key → the clients that may cache it (default, OPTIN and OPTOUT modes).
    table: HashMap<Bytes, HashSet<u64, Hasher>, Hasher>,
    /// Entries in `table` in all (INFO's `tracking_total_items`).
    items: usize,
    /// BCAST prefix → its clients.
    prefixes: BTreeMap<Bytes, HashSet<u64, Hasher>>,
    /// BCAST: keys changed since the last flush, each with the client whose
    /// command changed it (for NOLOOP).
    pending_bcast: Vec<(Bytes, Option<u64>)>,
    /// Invalidations owed to the client whose command is running, sent after
    /// its reply: (client id, key, or `None` for "everything").
    pending_self: Vec<(u64, Option<Bytes>)>,
    /// `tracking-table-max-keys` (0: no limit).
    pub(crate) max_keys: u64,
}

impl Default for Tracking {
    /// Redis's default `tracking-table-max-keys`: a million keys.
    fn default() -> Self {
        Tracking {
            clients: HashMap::default(),
            table: HashMap::default(),
            items: 0,
            prefixes: BTreeMap::new(),
            pending_bcast: Vec::new(),
            pending_self: Vec::new(),
            max_keys: 1_000_000,
        }
    }
}

impl Tracking {
    /// Clients with tracking on (INFO's `tracking_clients`).
    pub(crate) fn clients(&self) -> usize {
        self.clients.len()
    }

    /// Keys in the tracking table (INFO's `tracking_total_keys`).
    pub(crate) fn keys(&self) -> usize {
        self.table.len()
    }

    /// Entries in the tracking table (INFO's `tracking_total_items`).
    pub(crate) fn items(&self) -> usize {
        self.items
    }

    /// BCAST prefixes (INFO's `tracking_total_prefixes`).
    pub(crate) fn prefixes(&self) -> usize {
        self.prefixes.len()
    }
}

/// CLIENT LIST's `redir` for client `id`: -1 without tracking, 0 without a
/// redirect, else the redirect's id.
pub(crate) fn redirect_of(shared: &Shared, id: u64) -> i64 {
    if !shared.tracking_on.get() {
        return -1;
    }
    match shared.tracking.borrow().clients.get(&id) {
        None => -1,
        Some(s) => s.redirect.map_or(0, |r| r as i64),
    }
}

/// `CLIENT TRACKING|CACHING|GETREDIR|TRACKINGINFO` (`sub` is the table name,
/// `client|tracking` ...; the arity is checked).
pub(crate) fn client(c: &mut Ctx<'_, '_>, sub: &str, a: Argv<'_>, out: &mut Reply<'_>) {
    match sub {
        "client|tracking" => tracking(c, a, out),
        "client|caching" => caching(c, a, out),
        "client|getredir" => reply::int(out, redirect_of(c.shared, c.client.record.id)),
        _ => info(c, out),
    }
}

fn tracking(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let id = c.client.record.id;
    let mut redirect = None;
    let mut new = Client::default();
    // The options as given; which mode they make is checked below.
    let (mut bcast, mut optin, mut optout) = (false, false, false);
    let mut prefixes: Vec<Bytes> = Vec::new();
    let mut j = 3;
    while j < a.len() {
        let opt = a.get(j);
        let more = j + 1 < a.len();
        if opt.eq_ignore_ascii_case(b"redirect") && more {
            j += 1;
            if redirect.is_some() {
                return reply::error(
                    out,
                    b"ERR A client can only redirect to a single other client",
                );
            }
            let Some(r) = super::frame::parse_i64(a.get(j)) else {
                return reply::error(out, b"ERR value is not an integer or out of range");
            };
            let exists = u64::try_from(r).is_ok_and(|r| c.shared.clients.borrow().contains_key(&r));
            if !exists {
                return reply::error(
                    out,
                    b"ERR The client ID you want redirect to does not exist",
                );
            }
            redirect = Some(r as u64);
        } else if opt.eq_ignore_ascii_case(b"bcast") {
            bcast = true;
        } else if opt.eq_ignore_ascii_case(b"optin") {
            optin = true;
        } else if opt.eq_ignore_ascii_case(b"optout") {
            optout = true;
        } else if opt.eq_ignore_ascii_case(b"noloop") {
            new.noloop = true;
        } else if opt.eq_ignore_ascii_case(b"prefix") && more {
            j += 1;
            prefixes.push(a.get(j).into());
        } else {
            return reply::error(out, super::command::SYNTAX);
        }
        j += 1;
    }
    let on = a.get(2);
    let mut t = c.shared.tracking.borrow_mut();
    if on.eq_ignore_ascii_case(b"off") {
        disable(&mut t, id);
        c.shared.tracking_on.set(!t.clients.is_empty());
        c.shared.refresh_slow();
        return reply::ok(out);
    }
    if !on.eq_ignore_ascii_case(b"on") {
        return reply::error(out, super::command::SYNTAX);
    }
    if !bcast && !prefixes.is_empty() {
        return reply::error(out, b"ERR PREFIX option requires BCAST mode to be enabled");
    }
    let old = t.clients.get(&id).cloned();
    if let Some(old) = &old {
        if (old.mode == Mode::Bcast) != bcast {
            return reply::error(
                out,
                b"ERR You can't switch BCAST mode on/off before disabling tracking for this \
                  client, and then re-enabling it with a different mode.",
            );
        }
    }
    if bcast && (optin || optout) {
        return reply::error(out, b"ERR OPTIN and OPTOUT are not compatible with BCAST");
    }
    if optin && optout {
        return reply::error(out, b"ERR You can't use both OPTIN and OPTOUT");
    }
    new.mode = match (bcast, optin, optout) {
        (true, _, _) => Mode::Bcast,
        (_, true, _) => Mode::OptIn,
        (_, _, true) => Mode::OptOut,
        _ => Mode::Reads,
    };
    if let Some(old) = &old {
        if new.mode.is_opt() && old.mode.is_opt() && new.mode != old.mode {
            return reply::error(
                out,
                b"ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this \
                  client, and then re-enabling it with a different mode.",
            );
        }
    }
    if bcast {
        if let Err(msg) = check_collisions(old.as_ref().map_or(&[][..], |o| &o.prefixes), &prefixes)
        {
            return reply::error(out, msg.as_bytes());
        }
        if prefixes.is_empty() && old.as_ref().is_none_or(|o| o.prefixes.is_empty()) {
            prefixes.push(Bytes::default());
        }
    }
    // Re-enabling keeps the prefixes given before, as Redis's enableTracking.
    let mut all = old.map(|o| o.prefixes).unwrap_or_default();
    for p in prefixes {
        if !all.contains(&p) {
            t.prefixes.entry(p.clone()).or_default().insert(id);
            all.push(p);
        }
    }
    new.prefixes = all;
    new.redirect = redirect;
    t.clients.insert(id, new);
    c.shared.tracking_on.set(true);
    c.shared.refresh_slow();
    reply::ok(out);
}

/// Redis's `checkPrefixCollisionsOrReply`: no prefix may be a prefix of
/// another of the same client's, among those it had and those given now.
fn check_collisions(old: &[Bytes], new: &[Bytes]) -> Result<(), String> {
    let overlap = |p: &Bytes, q: &Bytes| p.starts_with(q) || q.starts_with(p);
    let text = |b: &Bytes| String::from_utf8_lossy(b).into_owned();
    for (i, p) in new.iter().enumerate() {
        if let Some(q) = old.iter().find(|q| overlap(p, q)) {
            return Err(format!(
                "ERR Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a \
                 single client must not overlap.",
                text(p),
                text(q)
            ));
        }
        if let Some(q) = new[i + 1..].iter().find(|q| overlap(p, q)) {
            return Err(format!(
                "ERR Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for \
                 a single client must not overlap.",
                text(p),
                text(q)
            ));
        }
    }
    Ok(())
}

fn disable(t: &mut Tracking, id: u64) {
    if let Some(old) = t.clients.remove(&id) {
        for p in old.prefixes {
            if let Some(ids) = t.prefixes.get_mut(&p) {
                ids.remove(&id);
                if ids.is_empty() {
                    t.prefixes.remove(&p);
                }
            }
        }
    }
}

/// The client closed or ran RESET: tracking off (its table entries are
/// skipped, then dropped, when their keys change).
pub(crate) fn forget(shared: &Shared, id: u64) {
    if !shared.tracking_on.get() {
        return;
    }
    let mut t = shared.tracking.borrow_mut();
    disable(&mut t, id);
    t.pending_self.retain(|(i, _)| *i != id);
    shared.tracking_on.set(!t.clients.is_empty());
    shared.refresh_slow();
}

fn caching(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let mut t = c.shared.tracking.borrow_mut();
    let Some(s) = t.clients.get_mut(&c.client.record.id) else {
        return reply::error(
            out,
            b"ERR CLIENT CACHING can be called only when the client is in tracking mode with \
              OPTIN or OPTOUT mode enabled",
        );
    };
    let opt = a.get(2);
    if opt.eq_ignore_ascii_case(b"yes") {
        if s.mode != Mode::OptIn {
            return reply::error(
                out,
                b"ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.",
            );
        }
    } else if opt.eq_ignore_ascii_case(b"no") {
        if s.mode != Mode::OptOut {
            return reply::error(
                out,
                b"ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.",
            );
        }
    } else {
        return reply::error(out, super::command::SYNTAX);
    }
    s.caching = true;
    reply::ok(out);
}

/// `CLIENT TRACKINGINFO`: a map of flags, redirect and prefixes.
fn info(c: &mut Ctx<'_, '_>, out: &mut Reply<'_>) {
    let t = c.shared.tracking.borrow();
    let s = t.clients.get(&c.client.record.id);
    reply::map(out, 3);
    reply::bulk(out, b"flags");
    let mut flags: Vec<&[u8]> = Vec::new();
    match s {
        None => flags.push(b"off"),
        Some(s) => {
            flags.push(b"on");
            match s.mode {
                Mode::Reads => {}
                Mode::Bcast => flags.push(b"bcast"),
                Mode::OptIn => {
                    flags.push(b"optin");
                    if s.caching {
                        flags.push(b"caching-yes");
                    }
                }
                Mode::OptOut => {
                    flags.push(b"optout");
                    if s.caching {
                        flags.push(b"caching-no");
                    }
                }
            }
            if s.noloop {
                flags.push(b"noloop");
            }
            if s.broken {
                flags.push(b"broken_redirect");
            }
        }
    }
    reply::set(out, flags.len());
    for f in flags {
        reply::bulk(out, f);
    }
    reply::bulk(out, b"redirect");
    reply::int(out, s.map_or(-1, |s| s.redirect.map_or(0, |r| r as i64)));
    reply::bulk(out, b"prefixes");
    let prefixes = s.map_or(&[][..], |s| &s.prefixes[..]);
    reply::array(out, prefixes.len());
    for p in prefixes {
        reply::bulk(out, p);
    }
}

/// After a read-only command of client `id`: remember the keys it read, unless
/// OPTIN/OPTOUT say otherwise (Redis's `trackingRememberKeys`); and, after any
/// command but CLIENT (and outside MULTI), forget `CLIENT CACHING`.
pub(crate) fn after_command(
    shared: &Shared,
    id: u64,
    cmd: &super::command::spec::Command,
    argv: &Argv<'_>,
    queued: bool,
) {
    let mut t = shared.tracking.borrow_mut();
    let t = &mut *t;
    let Some(s) = t.clients.get_mut(&id) else {
        return;
    };
    let remember = cmd.has(super::command::spec::READONLY)
        && match s.mode {
            Mode::Reads => true,
            Mode::OptIn => s.caching,
            Mode::OptOut => !s.caching,
            Mode::Bcast => false,
        };
    if !queued && cmd.name != "client" {
        s.caching = false;
    }
    if !remember || queued {
        return;
    }
    let args: Vec<&[u8]> = argv.iter_from(0).collect();
    let (table, items) = (&mut t.table, &mut t.items);
    let _ = cmd.keys(&args, |i, _| {
        if table.entry(args[i].into()).or_default().insert(id) {
            *items += 1;
        }
    });
}

/// `key` changed (by client `by`, if a client's command changed it): send
/// invalidations to the clients that may cache it, and queue it for BCAST
/// clients whose prefix it has (Redis's `trackingInvalidateKey`).
pub(crate) fn invalidate(shared: &Shared, net: &mut evloop::Ctx<'_>, key: &[u8], by: Option<u64>) {
    if !shared.tracking_on.get() {
        return;
    }
    let mut t = shared.tracking.borrow_mut();
    if !t.prefixes.is_empty() && t.prefixes.keys().any(|p| key.starts_with(p)) {
        t.pending_bcast.push((key.into(), by));
    }
    let Some(ids) = t.table.remove(key) else {
        return;
    };
    t.items -= ids.len();
    for id in ids {
        let Some(s) = t.clients.get(&id) else {
            continue;
        };
        if s.mode == Mode::Bcast || (s.noloop && by == Some(id)) {
            continue;
        }
        let redirect = s.redirect;
        if redirect.is_none() && by == Some(id) {
            t.pending_self.push((id, Some(key.into())));
            continue;
        }
        let keys = [key];
        send(shared, &mut t, net, id, redirect, Some(&keys));
    }
}

/// Keep the tracking table within `tracking-table-max-keys`: evict keys (any
/// ones), telling their clients as if the keys had changed, as Redis's
/// `trackingLimitUsedSlots` does (from its cron and CONFIG SET; here from the
/// expiry tick and CONFIG SET).
pub(crate) fn limit(shared: &Shared, net: &mut evloop::Ctx<'_>) {
    loop {
        let key = {
            let t = shared.tracking.borrow();
            if t.max_keys == 0 || t.table.len() as u64 <= t.max_keys {
                return;
            }
            match t.table.keys().next() {
                Some(k) => k.clone(),
                None => return,
            }
        };
        invalidate(shared, net, &key, None);
    }
}

/// FLUSHDB/FLUSHALL: every tracking client is told "everything" (a null), and
/// the table is emptied (`trackingInvalidateKeysOnFlush`).
pub(crate) fn flushed(shared: &Shared, net: &mut evloop::Ctx<'_>, by: Option<u64>) {
    let mut t = shared.tracking.borrow_mut();
    let ids: Vec<(u64, Option<u64>)> = t.clients.iter().map(|(&i, s)| (i, s.redirect)).collect();
    for (id, redirect) in ids {
        if redirect.is_none() && by == Some(id) {
            t.pending_self.push((id, None));
        } else {
            send(shared, &mut t, net, id, redirect, None);
        }
    }
    t.table.clear();
    t.items = 0;
}

/// The BCAST invalidations queued since the last call: for each prefix, one
/// message per client with the keys under it (less the client's own with
/// NOLOOP), as Redis's `trackingBroadcastInvalidationMessages`; Redis sends
/// them once per event-loop iteration, this server after each batch of
/// commands and each expiry cycle.
pub(crate) fn flush_bcast(shared: &Shared, net: &mut evloop::Ctx<'_>) {
    if !shared.tracking_on.get() {
        return;
    }
    let mut t = shared.tracking.borrow_mut();
    if t.pending_bcast.is_empty() {
        return;
    }
    let pending = std::mem::take(&mut t.pending_bcast);
    let mut sends: Vec<(u64, Option<u64>, Vec<Vec<u8>>)> = Vec::new();
    for (prefix, ids) in &t.prefixes {
        let mut ids: Vec<u64> = ids.iter().copied().collect();
        ids.sort_unstable();
        for id in ids {
            let Some(s) = t.clients.get(&id) else {
                continue;
            };
            let mut keys: Vec<Vec<u8>> = Vec::new();
            for (key, by) in &pending {
                let own = s.noloop && *by == Some(id);
                if key.starts_with(prefix) && !own && !keys.iter().any(|k| k[..] == key[..]) {
                    keys.push(key.to_vec());
                }
            }
            if !keys.is_empty() {
                sends.push((id, s.redirect, keys));
            }
        }
    }
    for (id, redirect, keys) in sends {
        let keys: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
        send(shared, &mut t, net, id, redirect, Some(&keys));
    }
}

/// Append the invalidations owed to client `id` after its reply (its own
/// command changed keys it caches).
pub(crate) fn take_pending(shared: &Shared, id: u64, out: &mut Vec<u8>, resp3: bool) {
    if !shared.tracking_on.get() {
        return;
    }
    let mut t = shared.tracking.borrow_mut();
    if t.pending_self.is_empty() {
        return;
    }
    let mine: Vec<Option<Bytes>> = {
        let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut t.pending_self)
            .into_iter()
            .partition(|(i, _)| *i == id);
        t.pending_self = rest;
        mine.into_iter().map(|(_, k)| k).collect()
    };
    if !resp3 {
        return; // RESP2 without a redirect: nothing can be sent (as Redis).
    }
    for key in mine {
        let out = &mut Reply::new(out, true);
        message(out, key.as_deref().map(|k| vec![k]).as_deref());
    }
}

/// `>2 invalidate [keys]` (or `_` for everything) in the receiver's protocol:
/// a push in RESP3, a `__redis__:invalidate` message in RESP2.
fn message(out: &mut Reply<'_>, keys: Option<&[&[u8]]>) {
    if out.resp3() {
        reply::push(out, 2);
        reply::bulk(out, b"invalidate");
    } else {
        reply::array(out, 3);
        reply::bulk(out, b"message");
        reply::bulk(out, CHANNEL);
    }
    match keys {
        Some(keys) => {
            reply::array(out, keys.len());
            for k in keys {
                reply::bulk(out, k);
            }
        }
        None => reply::nil(out),
    }
}

/// Send an invalidation for client `id`: to it (RESP3), or to its redirect
/// target (RESP3, or RESP2 while subscribed); a vanished target breaks the
/// redirect, which a RESP3 client is told (`sendTrackingMessage`).
fn send(
    shared: &Shared,
    t: &mut Tracking,
    net: &mut evloop::Ctx<'_>,
    id: u64,
    redirect: Option<u64>,
    keys: Option<&[&[u8]]>,
) {
    let clients = shared.clients.borrow();
    let Some(me) = clients.get(&id) else {
        return;
    };
    let mut frame = Vec::new();
    let target: ConnId;
    match redirect {
        Some(r) => match clients.get(&r).and_then(|rec| Some((rec.conn.get()?, rec))) {
            Some((conn, rec)) => {
                let resp3 = rec.resp3.get();
                if !resp3 && rec.sub.get() + rec.psub.get() == 0 {
                    return;
                }
                message(&mut Reply::new(&mut frame, resp3), keys);
                target = conn;
            }
            None => {
                if let Some(s) = t.clients.get_mut(&id) {
                    s.broken = true;
                }
                let (Some(conn), true) = (me.conn.get(), me.resp3.get()) else {
                    return;
                };
                let out = &mut Reply::new(&mut frame, true);
                reply::push(out, 2);
                reply::bulk(out, b"tracking-redir-broken");
                reply::int(out, r as i64);
                target = conn;
            }
        },
        None => {
            let (Some(conn), true) = (me.conn.get(), me.resp3.get()) else {
                return;
            };
            message(&mut Reply::new(&mut frame, true), keys);
            target = conn;
        }
    }
    let _ = net.push(target, &frame);
}
