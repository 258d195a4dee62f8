//! What operators ask about clients: `CLIENT LIST`, `CLIENT INFO`, `CLIENT KILL`,
//! `CLIENT UNBLOCK`, and `client-output-buffer-limit` (CONFIG GET/SET), as Redis's
//! `networking.c` answers them.
//!
//! Each session keeps a [`ClientRecord`](super::ClientRecord) in the service's
//! registry and updates it in place; these commands read the registry and reach
//! other connections through the reactor's context ([`evloop::Ctx::kill`], pushes
//! and wakes). evloop has one output buffer per connection, so a client's `obl`
//! and `omem` are both the bytes it has not yet been sent, and `oll` (Redis's
//! reply-list length) is 0.

use std::fmt::Write as _;

use super::blocking;
use super::command::{self, Ctx};
use super::frame::{parse_i64, Argv};
use super::reply;
use super::ClientRecord;
use evloop::OutputLimit;

/// The kinds CLIENT LIST/KILL TYPE filter on.
fn is_pubsub(r: &ClientRecord) -> bool {
    r.sub.get() + r.psub.get() > 0
}

/// One CLIENT LIST line (with its `\n`).
fn line(c: &mut Ctx<'_, '_>, r: &ClientRecord, s: &mut String) {
    let addr = r.addr.get().map(|a| a.to_string()).unwrap_or_default();
    let laddr = c
        .shared
        .local_addr
        .get()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let pending = r
        .conn
        .get()
        .and_then(|id| c.net.pending_output(id))
        .unwrap_or(0);
    let mut flags = String::new();
    if is_pubsub(r) {
        flags.push('P');
    }
    if r.multi.get() >= 0 {
        flags.push('x');
    }
    if r.blocked.get() {
        flags.push('b');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let name = r.name.borrow();
    let name = name
        .as_deref()
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    let _ = writeln!(
        s,
        "id={} addr={addr} laddr={laddr} name={name} age={} idle={} flags={flags} db={} sub={} \
         psub={} ssub=0 multi={} qbuf={} obl={pending} oll=0 omem={pending} events=r cmd={} \
         user=default resp=2",
        r.id,
        c.now.saturating_sub(r.created_ms) / 1000,
        c.now.saturating_sub(r.last_ms.get()) / 1000,
        r.db.get(),
        r.sub.get(),
        r.psub.get(),
        r.multi.get(),
        r.qbuf.get(),
        String::from_utf8_lossy(r.cmd.get()),
    );
}

/// `CLIENT LIST [TYPE normal|master|replica|pubsub] [ID id [id ...]]`.
pub(crate) fn list(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let mut pubsub = None; // Some(true): pubsub only; Some(false): normal only
    let mut none = false; // TYPE master/replica: no such clients here
    let mut ids: Option<Vec<u64>> = None;
    let mut i = 2;
    while i < a.len() {
        let opt = a.get(i);
        if opt.eq_ignore_ascii_case(b"type") && i + 1 < a.len() {
            let t = a.get(i + 1);
            if t.eq_ignore_ascii_case(b"normal") {
                pubsub = Some(false);
            } else if t.eq_ignore_ascii_case(b"pubsub") {
                pubsub = Some(true);
            } else if [&b"master"[..], b"replica", b"slave"]
                .iter()
                .any(|k| t.eq_ignore_ascii_case(k))
            {
                none = true;
            } else {
                let mut msg = b"ERR Unknown client type '".to_vec();
                msg.extend_from_slice(t);
                msg.push(b'\'');
                return reply::error(out, &msg);
            }
            i += 2;
        } else if opt.eq_ignore_ascii_case(b"id") && i + 1 < a.len() {
            let mut list = Vec::new();
            for arg in a.iter_from(i + 1) {
                match parse_i64(arg) {
                    Some(id) if id > 0 => list.push(id as u64),
                    _ => return reply::error(out, b"ERR Invalid client ID"),
                }
            }
            ids = Some(list);
            i = a.len();
        } else {
            return reply::error(out, command::SYNTAX);
        }
    }
    let records: Vec<_> = c.shared.clients.borrow().values().cloned().collect();
    let mut s = String::new();
    for r in records {
        let wanted = !none
            && pubsub.is_none_or(|p| p == is_pubsub(&r))
            && ids.as_ref().is_none_or(|ids| ids.contains(&r.id));
        if wanted {
            line(c, &r, &mut s);
        }
    }
    reply::bulk(out, s.as_bytes());
}

/// `CLIENT INFO`: this client's line.
pub(crate) fn info(c: &mut Ctx<'_, '_>, out: &mut Vec<u8>) {
    let record = std::rc::Rc::clone(&c.client.record);
    let mut s = String::new();
    line(c, &record, &mut s);
    reply::bulk(out, s.as_bytes());
}

/// Close `r`'s connection (this one: after the reply, as Redis does); whether it
/// is being closed.
fn kill_one(c: &mut Ctx<'_, '_>, r: &ClientRecord) -> bool {
    if r.id == c.client.record.id {
        c.close = true;
        return true;
    }
    r.conn.get().is_some_and(|id| c.net.kill(id).is_ok())
}

/// `CLIENT KILL addr` (old form: OK or "No such client"), or `CLIENT KILL
/// [ID id] [ADDR addr] [LADDR addr] [TYPE type] [USER user] [SKIPME yes|no]`
/// (the number killed).
pub(crate) fn kill(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let records: Vec<_> = c.shared.clients.borrow().values().cloned().collect();
    let addr_of = |r: &ClientRecord| r.addr.get().map(|a| a.to_string()).unwrap_or_default();
    if a.len() == 3 {
        let want = String::from_utf8_lossy(a.get(2)).into_owned();
        return match records.iter().find(|r| addr_of(r) == want) {
            Some(r) if kill_one(c, r) => reply::ok(out),
            _ => reply::error(out, b"ERR No such client"),
        };
    }
    let (mut id, mut addr, mut laddr, mut kind, mut skipme) = (None, None, None, None, true);
    let mut i = 2;
    while i < a.len() {
        if i + 1 >= a.len() {
            return reply::error(out, command::SYNTAX);
        }
        let (opt, val) = (a.get(i), a.get(i + 1));
        if opt.eq_ignore_ascii_case(b"id") {
            match parse_i64(val) {
                Some(n) if n > 0 => id = Some(n as u64),
                _ => return reply::error(out, b"ERR client-id should be greater than 0"),
            }
        } else if opt.eq_ignore_ascii_case(b"addr") {
            addr = Some(String::from_utf8_lossy(val).into_owned());
        } else if opt.eq_ignore_ascii_case(b"laddr") {
            laddr = Some(String::from_utf8_lossy(val).into_owned());
        } else if opt.eq_ignore_ascii_case(b"type") {
            kind = Some(if val.eq_ignore_ascii_case(b"normal") {
                Some(false)
            } else if val.eq_ignore_ascii_case(b"pubsub") {
                Some(true)
            } else if [&b"master"[..], b"replica", b"slave"]
                .iter()
                .any(|k| val.eq_ignore_ascii_case(k))
            {
                None
            } else {
                let mut msg = b"ERR Unknown client type '".to_vec();
                msg.extend_from_slice(val);
                msg.push(b'\'');
                return reply::error(out, &msg);
            });
        } else if opt.eq_ignore_ascii_case(b"user") {
            if !val.eq_ignore_ascii_case(b"default") {
                let mut msg = b"ERR No such user '".to_vec();
                msg.extend_from_slice(val);
                msg.push(b'\'');
                return reply::error(out, &msg);
            }
        } else if opt.eq_ignore_ascii_case(b"skipme") {
            if val.eq_ignore_ascii_case(b"yes") {
                skipme = true;
            } else if val.eq_ignore_ascii_case(b"no") {
                skipme = false;
            } else {
                return reply::error(out, command::SYNTAX);
            }
        } else {
            return reply::error(out, command::SYNTAX);
        }
        i += 2;
    }
    let local = c
        .shared
        .local_addr
        .get()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let me = c.client.record.id;
    let mut killed = 0;
    for r in &records {
        let matches = id.is_none_or(|id| id == r.id)
            && addr.as_ref().is_none_or(|a| *a == addr_of(r))
            && laddr.as_ref().is_none_or(|a| *a == local)
            && kind.is_none_or(|k| k == Some(is_pubsub(r)))
            && !(skipme && r.id == me);
        if matches && kill_one(c, r) {
            killed += 1;
        }
    }
    reply::int(out, killed);
}

/// `CLIENT UNBLOCK id [TIMEOUT|ERROR]`: 1 if the client was blocked and is no
/// longer, else 0.
pub(crate) fn unblock(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    if a.len() > 4 {
        return command::arity_error(out, b"client|unblock");
    }
    let error = if a.len() == 4 {
        let reason = a.get(3);
        if reason.eq_ignore_ascii_case(b"timeout") {
            false
        } else if reason.eq_ignore_ascii_case(b"error") {
            true
        } else {
            return reply::error(out, b"ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
        }
    } else {
        false
    };
    let Some(id) = parse_i64(a.get(2)) else {
        return reply::error(out, b"ERR value is not an integer or out of range");
    };
    let target = u64::try_from(id).ok().and_then(|id| {
        c.shared
            .clients
            .borrow()
            .get(&id)
            .and_then(|r| r.conn.get())
    });
    let Some(conn) = target.filter(|&conn| blocking::forget_anywhere(c, conn)) else {
        return reply::int(out, 0);
    };
    let mut frame = Vec::new();
    if error {
        reply::error(&mut frame, b"UNBLOCKED client unblocked via CLIENT UNBLOCK");
    } else {
        reply::nil_array(&mut frame);
    }
    let _ = c.net.push(conn, &frame);
    let _ = c.net.wake(conn);
    reply::int(out, 1);
}

/// The `normal`, `replica` and `pubsub` limits as CONFIG GET shows them. Only the
/// pub/sub class receives pushed output here, so only it is enforced; the others
/// are kept as set.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OutputLimits {
    pub(crate) normal: OutputLimit,
    pub(crate) replica: OutputLimit,
    pub(crate) pubsub: OutputLimit,
}

impl Default for OutputLimits {
    /// Redis's defaults.
    fn default() -> OutputLimits {
        OutputLimits {
            normal: OutputLimit::UNLIMITED,
            replica: OutputLimit {
                hard: 256 << 20,
                soft: 64 << 20,
                soft_for: std::time::Duration::from_secs(60),
            },
            pubsub: OutputLimit::default(),
        }
    }
}

/// `client-output-buffer-limit` as CONFIG GET answers it.
pub(crate) fn output_limits(limits: &OutputLimits) -> String {
    let one = |class: &str, l: &OutputLimit| {
        format!("{class} {} {} {}", l.hard, l.soft, l.soft_for.as_secs())
    };
    format!(
        "{} {} {}",
        one("normal", &limits.normal),
        one("slave", &limits.replica),
        one("pubsub", &limits.pubsub)
    )
}

/// Redis's `memtoull`: a byte count with an optional unit (b, k, kb, m, mb, g, gb).
pub(crate) fn memtoull(s: &str) -> Option<usize> {
    let lower = s.to_ascii_lowercase();
    let split = lower
        .find(|ch: char| !ch.is_ascii_digit())
        .unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(split);
    let mul: usize = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    digits.parse::<usize>().ok()?.checked_mul(mul)
}

/// `CONFIG SET client-output-buffer-limit "<class> <hard> <soft> <secs> ..."`: all
/// or nothing; a new pub/sub limit applies to every current subscriber too.
pub(crate) fn set_output_limits(c: &mut Ctx<'_, '_>, value: &[u8]) -> Result<(), &'static str> {
    let text = String::from_utf8_lossy(value);
    let words: Vec<&str> = text.split_ascii_whitespace().collect();
    if !words.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.");
    }
    let mut limits = c.shared.pubsub.borrow().limits;
    for group in words.chunks(4) {
        let class = group[0].to_ascii_lowercase();
        let slot = match class.as_str() {
            "normal" => &mut limits.normal,
            "slave" | "replica" => &mut limits.replica,
            "pubsub" => &mut limits.pubsub,
            _ => return Err("Invalid client class specified in buffer limit configuration."),
        };
        let (Some(hard), Some(soft), Ok(secs)) = (
            memtoull(group[1]),
            memtoull(group[2]),
            group[3].parse::<u64>(),
        ) else {
            return Err(
                "Error in hard, soft or soft_seconds setting in buffer limit configuration.",
            );
        };
        *slot = OutputLimit {
            hard,
            soft,
            soft_for: std::time::Duration::from_secs(secs),
        };
    }
    let subscribers = {
        let mut pubsub = c.shared.pubsub.borrow_mut();
        pubsub.limits = limits;
        pubsub.subscribers()
    };
    for id in subscribers {
        c.net.set_output_limit_of(id, limits.pubsub);
    }
    Ok(())
}
