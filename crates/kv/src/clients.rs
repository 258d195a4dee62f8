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
use super::reply::{self, Reply};
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
    if r.monitor.get() {
        flags.push('O');
    }
    if r.no_evict.get() {
        flags.push('e');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let name = r.name.borrow();
    let name = name
        .as_deref()
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    // Redis 7.0's fields, in its order. The descriptor is the reactor's (not
    // shown to sessions): -1, as Redis shows for a client without one.
    // Its own: the input left as it runs; another's: as of its last batch.
    let qbuf = if r.id == c.client.record.id {
        c.input_left
    } else {
        r.qbuf.get()
    };
    let _ = writeln!(
        s,
        "id={} addr={addr} laddr={laddr} fd=-1 name={name} age={} idle={} flags={flags} db={} \
         sub={} psub={} ssub=0 multi={} qbuf={qbuf} qbuf-free=0 argv-mem=0 multi-mem=0 \
         rbs={qbuf} rbp={qbuf} obl={pending} oll=0 omem={pending} tot-mem={} events=r cmd={} \
         user=default redir={} resp={}",
        r.id,
        c.now.saturating_sub(r.created_ms) / 1000,
        c.now.saturating_sub(r.last_ms.get()) / 1000,
        r.db.get(),
        r.sub.get(),
        r.psub.get(),
        r.multi.get(),
        qbuf + pending,
        r.cmd.get().map_or("NULL", |cmd| cmd.name),
        super::tracking::redirect_of(c.shared, r.id),
        if r.resp3.get() { 3 } else { 2 },
    );
}

/// `CLIENT LIST [TYPE normal|master|replica|pubsub] [ID id [id ...]]`.
pub(crate) fn list(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
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
    reply::verbatim(out, s.as_bytes());
}

/// `CLIENT INFO`: this client's line.
pub(crate) fn info(c: &mut Ctx<'_, '_>, out: &mut Reply<'_>) {
    let record = std::rc::Rc::clone(&c.client.record);
    let mut s = String::new();
    line(c, &record, &mut s);
    reply::verbatim(out, s.as_bytes());
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
pub(crate) fn kill(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
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
pub(crate) fn unblock(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
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
            .and_then(|r| Some((r.conn.get()?, r.resp3.get())))
    });
    let Some((conn, resp3)) = target.filter(|&(conn, _)| blocking::forget_anywhere(c, conn)) else {
        return reply::int(out, 0);
    };
    let mut frame = Vec::new();
    if error {
        reply::error(&mut frame, b"UNBLOCKED client unblocked via CLIENT UNBLOCK");
    } else {
        reply::nil_array(&mut Reply::new(&mut frame, resp3));
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

/// A `CLIENT PAUSE` in force: until when (UNIX ms), and whether every command
/// waits (`ALL`) or only those that write or may replicate (`WRITE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pause {
    pub(crate) until_ms: u64,
    pub(crate) all: bool,
}

/// `CLIENT PAUSE timeout [WRITE|ALL]`: hold other clients' commands (all of them,
/// or those that write) until the timeout or `CLIENT UNPAUSE`. A longer pause
/// replaces a shorter one; a shorter one does not cut a longer one short.
pub(crate) fn pause(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let mut all = true;
    if a.len() == 4 {
        let mode = a.get(3);
        if mode.eq_ignore_ascii_case(b"write") {
            all = false;
        } else if !mode.eq_ignore_ascii_case(b"all") {
            return reply::error(out, b"ERR CLIENT PAUSE mode must be WRITE or ALL");
        }
    } else if a.len() > 4 {
        return reply::error(out, command::SYNTAX);
    }
    let ms = match parse_i64(a.get(2)) {
        None => return reply::error(out, b"ERR timeout is not an integer or out of range"),
        Some(ms) if ms < 0 => return reply::error(out, b"ERR timeout is negative"),
        Some(ms) => ms as u64,
    };
    let until_ms = c.now.saturating_add(ms);
    let pause = match c.shared.pause.get() {
        // As Redis's pauseClients: the later end wins, and ALL outranks WRITE.
        Some(p) if p.until_ms > c.now => Pause {
            until_ms: p.until_ms.max(until_ms),
            all: p.all || all,
        },
        _ => Pause { until_ms, all },
    };
    set_pause(c.shared, Some(pause));
    c.store.hold_expired = true;
    reply::ok(out);
}

/// Start, extend or end (`None`) the pause; while it lasts no key is deleted by
/// expiry (reads see expired keys as absent), as in Redis. A database borrowed
/// by the caller (a command's own) is left for it to set.
pub(crate) fn set_pause(shared: &super::Shared, pause: Option<Pause>) {
    shared.pause.set(pause);
    shared.refresh_slow();
    for db in shared.dbs.iter() {
        if let Ok(mut db) = db.try_borrow_mut() {
            db.hold_expired = pause.is_some();
        }
    }
}

/// `CLIENT UNPAUSE`: end the pause and wake every client waiting on it.
pub(crate) fn unpause(c: &mut Ctx<'_, '_>, out: &mut Reply<'_>) {
    set_pause(c.shared, None);
    c.store.hold_expired = false;
    for id in c.shared.paused.take() {
        let _ = c.net.wake(id);
    }
    reply::ok(out);
}

/// Whether a pause holds `argv` from this client now. Commands that fail before
/// running (unknown, wrong arity) and commands queued in a transaction are
/// answered at once, as Redis's `processCommand` orders its checks.
pub(crate) fn held_by_pause(c: &mut Ctx<'_, '_>, argv: &Argv<'_>) -> bool {
    let Some(p) = c.shared.pause.get() else {
        return false;
    };
    if c.now >= p.until_ms {
        // Over. The client's own database is borrowed as `c.store`.
        c.shared.pause.set(None);
        c.shared.refresh_slow();
        c.store.hold_expired = false;
        for db in c.shared.dbs.iter() {
            if let Ok(mut db) = db.try_borrow_mut() {
                db.hold_expired = false;
            }
        }
        return false;
    }
    let Some(cmd) = command::find(argv.get(0)) else {
        return false;
    };
    if !cmd.arity_ok(argv.len())
        || (c.client.multi.is_some() && !cmd.has(command::spec::TX_CONTROL))
    {
        return false;
    }
    if p.all {
        return true;
    }
    let writes = |cmd: &command::spec::Command| {
        cmd.flags & (command::spec::WRITE | command::spec::MAY_REPLICATE) != 0
    };
    writes(cmd) || (cmd.name == "exec" && c.client.multi.as_ref().is_some_and(|m| m.writes()))
}

/// What the client is sent of its replies (`CLIENT REPLY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum ReplyMode {
    #[default]
    On,
    /// Every reply is dropped until `CLIENT REPLY ON`.
    Off,
    /// The next command's reply is dropped.
    SkipNext,
    /// This command's reply is dropped.
    Skip,
}

/// `CLIENT REPLY ON|OFF|SKIP`. OFF and SKIP send nothing, not even their own
/// reply; pushes (pub/sub messages) are sent whatever the mode.
pub(crate) fn reply_mode(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let mode = a.get(2);
    if mode.eq_ignore_ascii_case(b"on") {
        c.client.reply = ReplyMode::On;
        reply::ok(out);
    } else if mode.eq_ignore_ascii_case(b"off") {
        c.client.reply = ReplyMode::Off;
    } else if mode.eq_ignore_ascii_case(b"skip") {
        if c.client.reply != ReplyMode::Off {
            c.client.reply = ReplyMode::SkipNext;
        }
    } else {
        reply::error(out, command::SYNTAX);
    }
}

/// `CLIENT HELP`.
pub(crate) fn help(out: &mut Reply<'_>) {
    let lines: &[&[u8]] = &[
        b"GETNAME",
        b"    Return the name of the current connection.",
        b"ID",
        b"    Return the ID of the current connection.",
        b"INFO",
        b"    Return information about the current client connection.",
        b"KILL <ip:port>",
        b"    Kill connection made from <ip:port>.",
        b"KILL <option> <value> [<option> <value> [...]]",
        b"    Kill connections. Options are:",
        b"    * ADDR (<ip:port>|<unixsocket>:0)",
        b"      Kill connections made from the specified address",
        b"    * LADDR (<ip:port>|<unixsocket>:0)",
        b"      Kill connections made to specified local address",
        b"    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        b"      Kill connections by type.",
        b"    * USER <username>",
        b"      Kill connections authenticated by <username>.",
        b"    * SKIPME (YES|NO)",
        b"      Skip killing current connection (default: yes).",
        b"    * ID <client-id>",
        b"      Kill connections by client id.",
        b"LIST [options ...]",
        b"    Return information about client connections. Options:",
        b"    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        b"      Return clients of specified type.",
        b"UNPAUSE",
        b"    Stop the current client pause, resuming traffic.",
        b"PAUSE <timeout> [WRITE|ALL]",
        b"    Suspend all, or just write, clients for <timeout> milliseconds.",
        b"REPLY (ON|OFF|SKIP)",
        b"    Control the replies sent to the current connection.",
        b"SETNAME <name>",
        b"    Assign the name <name> to the current connection.",
        b"UNBLOCK <clientid> [TIMEOUT|ERROR]",
        b"    Unblock the specified blocked client.",
        b"NO-EVICT (ON|OFF)",
        b"    Protect current client connection from eviction.",
    ];
    reply::help(out, b"CLIENT", lines);
}

/// `MONITOR`: from now on, receive a line for every command any client runs
/// (Redis's format: `+<sec>.<usec> [<db> <addr>] "arg" ...`), as a push. Admin
/// commands are not shown.
pub(crate) fn monitor(c: &mut Ctx<'_, '_>, _: Argv<'_>, out: &mut Reply<'_>) {
    let id = c.net.id();
    if c.client.record.monitor.get() || id.is_detached() {
        return reply::ok(out);
    }
    c.client.record.monitor.set(true);
    c.shared.monitors.borrow_mut().push(id);
    c.shared.monitoring.set(true);
    c.shared.refresh_slow();
    // A monitor waits for traffic: no idle timeout; its output is bounded as a
    // subscriber's is.
    let limit = c.shared.pubsub.borrow().limits.pubsub;
    c.net.set_output_limit(limit);
    c.net.set_waiting(true);
    reply::ok(out);
}

/// Send the line for a command that ran to every monitor (Redis's
/// `replicationFeedMonitors`).
pub(crate) fn feed_monitors(c: &mut Ctx<'_, '_>, argv: &Argv<'_>) {
    let monitors = c.shared.monitors.borrow();
    if monitors.is_empty() {
        return;
    }
    let mut line = format!(
        "+{}.{:06} [{} ",
        c.now / 1000,
        (c.now % 1000) * 1000,
        c.client.db
    );
    match c.client.record.addr.get() {
        Some(addr) if addr.port() != 0 => {
            let _ = write!(line, "{addr}]");
        }
        _ => line.push_str("unix:]"),
    }
    let mut bytes = line.into_bytes();
    for arg in argv.iter_from(0) {
        bytes.push(b' ');
        repr(&mut bytes, arg);
    }
    bytes.extend_from_slice(b"\r\n");
    for &id in monitors.iter() {
        let _ = c.net.push(id, &bytes);
    }
}

/// `arg` quoted as Redis's `sdscatrepr` does.
fn repr(out: &mut Vec<u8>, arg: &[u8]) {
    out.push(b'"');
    for &b in arg {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            7 => out.extend_from_slice(b"\\a"),
            8 => out.extend_from_slice(b"\\b"),
            b if b.is_ascii_graphic() || b == b' ' => out.push(b),
            b => {
                let _ = write!(HexSink(out), "\\x{b:02x}");
            }
        }
    }
    out.push(b'"');
}

/// Lets `write!` append to a byte buffer.
struct HexSink<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for HexSink<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}
