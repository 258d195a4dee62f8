//! Scripting and functions: this server has no Lua engine, so there is never a
//! script or a function library loaded. What that makes true is answered as Redis
//! would answer an empty server — `SCRIPT FLUSH` and `FUNCTION FLUSH` succeed (there
//! is nothing to flush), `SCRIPT EXISTS` says no for every digest, `FUNCTION LIST`
//! is empty — and everything that would need the engine (`EVAL`, `EVALSHA`,
//! `FCALL`, `SCRIPT LOAD`, `FUNCTION LOAD`, ...) gets one clear error instead of
//! Redis's `unknown command`, so a client library sees why.
//!
//! Nothing here changes the keyspace, so none of it is written to the AOF.

use super::command::{arity_error, unknown_subcommand, Ctx, SYNTAX};
use super::frame::Argv;
use super::reply::{self, Reply};

/// The error of every command that needs a script engine.
pub(crate) const NO_SCRIPTING: &[u8] =
    b"ERR scripting is not supported by this server (no Lua engine)";

/// `SCRIPT FLUSH` / `FUNCTION FLUSH [ASYNC|SYNC]`: both modes mean the same here,
/// and there is nothing to flush.
fn flush(a: &Argv<'_>, out: &mut Reply<'_>) {
    let mode_ok = match a.len() {
        2 => true,
        3 => {
            let m = a.get(2);
            m.eq_ignore_ascii_case(b"async") || m.eq_ignore_ascii_case(b"sync")
        }
        _ => false,
    };
    if mode_ok {
        reply::ok(out);
    } else {
        reply::error(out, SYNTAX);
    }
}

/// `EVAL`, `EVALSHA`, `EVAL_RO`, `EVALSHA_RO`, `FCALL`, `FCALL_RO`.
pub(crate) fn unsupported(_: &mut Ctx<'_, '_>, _: Argv<'_>, out: &mut Reply<'_>) {
    reply::error(out, NO_SCRIPTING);
}

/// `SCRIPT FLUSH|EXISTS|LOAD|KILL|HELP`.
pub(crate) fn script(_: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let sub = a.get(1);
    if sub.eq_ignore_ascii_case(b"flush") {
        flush(&a, out);
    } else if sub.eq_ignore_ascii_case(b"exists") {
        if a.len() < 3 {
            return arity_error(out, b"script|exists");
        }
        reply::array(out, a.len() - 2);
        for _ in 2..a.len() {
            reply::int(out, 0);
        }
    } else if sub.eq_ignore_ascii_case(b"kill") {
        reply::error(out, b"NOTBUSY No scripts in execution right now.");
    } else if sub.eq_ignore_ascii_case(b"load") || sub.eq_ignore_ascii_case(b"debug") {
        reply::error(out, NO_SCRIPTING);
    } else {
        unknown_subcommand(out, sub, b"SCRIPT");
    }
}

/// `FUNCTION FLUSH|LIST|STATS|DELETE|KILL|LOAD|DUMP|RESTORE`.
pub(crate) fn function(_: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let sub = a.get(1);
    if sub.eq_ignore_ascii_case(b"flush") {
        flush(&a, out);
    } else if sub.eq_ignore_ascii_case(b"list") {
        reply::array(out, 0);
    } else if sub.eq_ignore_ascii_case(b"delete") {
        reply::error(out, b"ERR Library not found");
    } else if sub.eq_ignore_ascii_case(b"kill") {
        reply::error(out, b"NOTBUSY No scripts in execution right now.");
    } else if sub.eq_ignore_ascii_case(b"load")
        || sub.eq_ignore_ascii_case(b"restore")
        || sub.eq_ignore_ascii_case(b"dump")
        || sub.eq_ignore_ascii_case(b"stats")
    {
        reply::error(out, NO_SCRIPTING);
    } else {
        unknown_subcommand(out, sub, b"FUNCTION");
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::Harness;

    const NO: &str = "-ERR scripting is not supported by this server (no Lua engine)\r\n";

    #[test]
    fn flushing_succeeds_and_the_engine_commands_say_why_they_fail() {
        let mut h = Harness::new();
        assert_eq!(h.cmd(&["FUNCTION", "FLUSH"]), "+OK\r\n");
        assert_eq!(h.cmd(&["function", "flush", "async"]), "+OK\r\n");
        assert_eq!(
            h.cmd(&["FUNCTION", "FLUSH", "later"]),
            "-ERR syntax error\r\n"
        );
        assert_eq!(h.cmd(&["SCRIPT", "FLUSH", "SYNC"]), "+OK\r\n");
        assert_eq!(h.cmd(&["SCRIPT", "EXISTS", "a", "b"]), "*2\r\n:0\r\n:0\r\n");
        assert_eq!(h.cmd(&["FUNCTION", "LIST"]), "*0\r\n");
        assert_eq!(h.cmd(&["EVAL", "return 1", "0"]), NO);
        assert_eq!(h.cmd(&["FCALL", "f", "0"]), NO);
        assert_eq!(h.cmd(&["SCRIPT", "LOAD", "return 1"]), NO);
        assert_eq!(
            h.cmd(&["SCRIPT", "NOPE"]),
            "-ERR unknown subcommand 'NOPE'. Try SCRIPT HELP.\r\n"
        );
        assert_eq!(
            h.cmd(&["SCRIPT"]),
            "-ERR wrong number of arguments for 'script' command\r\n"
        );
    }
}
