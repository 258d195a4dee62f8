//! Keyspace notifications, as Redis's `notify.c`: with `notify-keyspace-events`
//! set, a command that changes a key publishes `__keyspace@<db>__:<key>` →
//! event and `__keyevent@<db>__:<event>` → key, through pub/sub, to whoever
//! subscribed. Handlers report each change with [`Ctx::notify`] at the points
//! Redis's do, with Redis's event names; the expiry of a key (on access or by the
//! active cycle) is reported as `expired`.
//!
//! [`Ctx::notify`]: crate::command::Ctx::notify

use super::Shared;

/// `K`: `__keyspace@<db>__:<key>` messages.
pub(crate) const KEYSPACE: u32 = 1 << 0;
/// `E`: `__keyevent@<db>__:<event>` messages.
pub(crate) const KEYEVENT: u32 = 1 << 1;
/// `g`: generic commands (DEL, EXPIRE, RENAME, ...).
pub(crate) const GENERIC: u32 = 1 << 2;
/// `$`: string commands.
pub(crate) const STRING: u32 = 1 << 3;
/// `l`: list commands.
pub(crate) const LIST: u32 = 1 << 4;
/// `s`: set commands.
pub(crate) const SET: u32 = 1 << 5;
/// `h`: hash commands.
pub(crate) const HASH: u32 = 1 << 6;
/// `z`: sorted-set commands.
pub(crate) const ZSET: u32 = 1 << 7;
/// `x`: a key expired.
pub(crate) const EXPIRED: u32 = 1 << 8;
/// `e`: a key was evicted (never here: there is no eviction).
pub(crate) const EVICTED: u32 = 1 << 9;
/// `t`: stream commands.
pub(crate) const STREAM: u32 = 1 << 10;
/// `m`: a command read a key that does not exist.
pub(crate) const KEY_MISS: u32 = 1 << 11;
/// `d`: module events.
pub(crate) const MODULE: u32 = 1 << 13;
/// `n`: a key was created.
pub(crate) const NEW: u32 = 1 << 14;
/// `A`: every class but `m` and `n`.
pub(crate) const ALL: u32 =
    GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

/// The flags a `notify-keyspace-events` string sets, or `None` for a character
/// Redis does not know (`keyspaceEventsStringToFlags`).
pub(crate) fn parse(s: &[u8]) -> Option<u32> {
    s.iter().try_fold(0, |flags, &c| {
        Some(
            flags
                | match c {
                    b'A' => ALL,
                    b'g' => GENERIC,
                    b'$' => STRING,
                    b'l' => LIST,
                    b's' => SET,
                    b'h' => HASH,
                    b'z' => ZSET,
                    b'x' => EXPIRED,
                    b'e' => EVICTED,
                    b'K' => KEYSPACE,
                    b'E' => KEYEVENT,
                    b't' => STREAM,
                    b'm' => KEY_MISS,
                    b'd' => MODULE,
                    b'n' => NEW,
                    _ => return None,
                },
        )
    })
}

/// The canonical string for `flags`, as CONFIG GET shows it
/// (`keyspaceEventsFlagsToString`).
pub(crate) fn format(flags: u32) -> String {
    let mut s = String::new();
    if flags & ALL == ALL {
        s.push('A');
    } else {
        for (bit, c) in [
            (GENERIC, 'g'),
            (STRING, '$'),
            (LIST, 'l'),
            (SET, 's'),
            (HASH, 'h'),
            (ZSET, 'z'),
            (EXPIRED, 'x'),
            (EVICTED, 'e'),
            (STREAM, 't'),
            (MODULE, 'd'),
            (NEW, 'n'),
        ] {
            if flags & bit != 0 {
                s.push(c);
            }
        }
    }
    for (bit, c) in [(KEYSPACE, 'K'), (KEYEVENT, 'E'), (KEY_MISS, 'm')] {
        if flags & bit != 0 {
            s.push(c);
        }
    }
    s
}

/// Publish the event `event` of class `class` on `key` of database `db`, if the
/// configuration asks for it (`notifyKeyspaceEvent`).
pub(crate) fn send(
    shared: &Shared,
    net: &mut evloop::Ctx<'_>,
    db: usize,
    class: u32,
    event: &str,
    key: &[u8],
) {
    let flags = shared.notify_flags.get();
    if flags & class == 0 {
        return;
    }
    if flags & KEYSPACE != 0 {
        let mut channel = format!("__keyspace@{db}__:").into_bytes();
        channel.extend_from_slice(key);
        super::pubsub::deliver(shared, net, &channel, event.as_bytes());
    }
    if flags & KEYEVENT != 0 {
        let channel = format!("__keyevent@{db}__:{event}").into_bytes();
        super::pubsub::deliver(shared, net, &channel, key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_read_and_print_as_redis_does() {
        assert_eq!(parse(b"KEA").map(format).as_deref(), Some("AKE"));
        assert_eq!(parse(b"Elg$").map(format).as_deref(), Some("g$lE"));
        assert_eq!(parse(b"").map(format).as_deref(), Some(""));
        assert_eq!(parse(b"Kq"), None);
        // `m` and `n` are not in `A`.
        assert_eq!(parse(b"A").map(|f| f & (KEY_MISS | NEW)), Some(0));
        assert_eq!(parse(b"Am").map(format).as_deref(), Some("Am"));
    }
}
