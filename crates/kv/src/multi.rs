//! Transactions, as Redis's `multi.c`: `MULTI` starts queuing,
//! every command but `EXEC`, `DISCARD`, `MULTI`, `WATCH`, `QUIT` and `RESET` answers
//! `+QUEUED`, and `EXEC` runs them all at once — no other client's command runs in
//! between — replying with an array of their replies. A command refused while
//! queuing (unknown, wrong number of arguments) makes `EXEC` answer `EXECABORT`.
//! Inside `EXEC` a blocking command does not block: it behaves like its
//! non-blocking form, as in Redis. Clients blocked on keys the transaction filled
//! are served after `EXEC`, like after any other command. A key the client
//! WATCHed that changed before `EXEC` makes it answer a null array and run
//! nothing (see the `watch` module).
//!
//! The queue is bounded: a transaction that would hold more than the service's
//! query-buffer limit (`max_query`) of queued arguments is refused at that command
//! and discarded at `EXEC`, so one client cannot grow the server's memory without
//! bound by queuing.

use super::command::{self, Ctx};
use super::frame::Argv;
use super::reply::{self, Reply};

/// One queued command: its argument bytes, and each argument's range in them.
type Queued = (Vec<u8>, Vec<(usize, usize)>);

/// A transaction being queued.
#[derive(Debug, Default)]
pub(crate) struct Multi {
    /// Each queued command: its argument bytes and their ranges.
    queued: Vec<Queued>,
    bytes: usize,
    /// A command was refused while queuing: EXEC aborts.
    dirty: bool,
    /// A queued command writes or may replicate (a `CLIENT PAUSE WRITE` holds
    /// the EXEC).
    writes: bool,
}

impl Multi {
    /// A command was refused while queuing.
    pub(crate) fn flag_error(&mut self) {
        self.dirty = true;
    }

    /// Whether a queued command writes or may replicate.
    pub(crate) fn writes(&self) -> bool {
        self.writes
    }
}

/// Queue `argv` in the client's transaction (the caller checked it is in one).
pub(crate) fn queue(c: &mut Ctx<'_, '_>, argv: Argv<'_>, out: &mut Reply<'_>) {
    let limit = c.shared.config.get().max_query;
    let Some(multi) = c.client.multi.as_mut() else {
        return;
    };
    let mut buf = Vec::new();
    let mut ranges = Vec::with_capacity(argv.len());
    for arg in argv.iter_from(0) {
        ranges.push((buf.len(), buf.len() + arg.len()));
        buf.extend_from_slice(arg);
    }
    if multi.bytes.saturating_add(buf.len()) > limit {
        multi.dirty = true;
        return reply::error(
            out,
            b"ERR transaction too large: queued commands passed the query buffer limit",
        );
    }
    multi.bytes += buf.len();
    multi.writes |= super::command::find(argv.get(0)).is_some_and(|cmd| {
        cmd.flags & (super::command::spec::WRITE | super::command::spec::MAY_REPLICATE) != 0
    });
    multi.queued.push((buf, ranges));
    c.client.record.multi.set(multi.queued.len() as i64);
    reply::simple(out, b"QUEUED");
}

pub(crate) fn multi(c: &mut Ctx<'_, '_>, _: Argv<'_>, out: &mut Reply<'_>) {
    if c.client.multi.is_some() {
        return reply::error(out, b"ERR MULTI calls can not be nested");
    }
    c.client.multi = Some(Box::default());
    c.client.record.multi.set(0);
    reply::ok(out);
}

pub(crate) fn discard(c: &mut Ctx<'_, '_>, _: Argv<'_>, out: &mut Reply<'_>) {
    if c.client.multi.take().is_none() {
        return reply::error(out, b"ERR DISCARD without MULTI");
    }
    super::watch::unwatch_all(c);
    c.client.record.multi.set(-1);
    reply::ok(out);
}

pub(crate) fn exec(c: &mut Ctx<'_, '_>, _: Argv<'_>, out: &mut Reply<'_>) {
    let Some(multi) = c.client.multi.take() else {
        return reply::error(out, b"ERR EXEC without MULTI");
    };
    c.client.record.multi.set(-1);
    if multi.dirty {
        super::watch::unwatch_all(c);
        return reply::error(
            out,
            b"EXECABORT Transaction discarded because of previous errors.",
        );
    }
    let changed = super::watch::changed(c);
    super::watch::unwatch_all(c);
    if changed {
        return reply::nil_array(out);
    }
    reply::array(out, multi.queued.len());
    c.client.in_exec = true;
    for (buf, ranges) in &multi.queued {
        command::execute(c, Argv::new(buf, ranges), out);
    }
    c.client.in_exec = false;
}
