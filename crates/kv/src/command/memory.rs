//! MEMORY: `USAGE` and `HELP` (object.c's `memoryCommand`). The Redis suite's
//! `memory_usage` helper calls `MEMORY USAGE` on a hash, so it must answer.

use super::*;

/// MEMORY USAGE key [SAMPLES count] | MEMORY HELP.
pub(super) fn memory(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let sub = a.get(1);
    if eq(sub, b"help") && a.len() == 2 {
        return reply::help(
            out,
            b"MEMORY",
            &[
                b"USAGE <key> [SAMPLES <count>]",
                b"    Return memory in bytes used by <key> and its value. Nested values are",
                b"    sampled up to <count> times (default: 5, 0 means sample all).",
            ],
        );
    }
    if !(eq(sub, b"usage") && a.len() >= 3) {
        let mut msg = b"ERR unknown subcommand or wrong number of arguments for '".to_vec();
        msg.extend_from_slice(&sub[..sub.len().min(128)]);
        msg.extend_from_slice(b"'. Try MEMORY HELP.");
        return reply::error(out, &msg);
    }
    let mut i = 3;
    while i < a.len() {
        if !(eq(a.get(i), b"samples") && i + 1 < a.len()) {
            return reply::error(out, SYNTAX);
        }
        match parse_i64(a.get(i + 1)) {
            None => return reply::error(out, NOT_INT),
            Some(n) if n < 0 => return reply::error(out, SYNTAX),
            // The estimate is exact over every element: the count changes nothing.
            Some(_) => {}
        }
        i += 2;
    }
    // As Redis, the entry as stored (no lazy expiry).
    match c.store.peek(a.get(2)) {
        None => reply::nil(out),
        Some(e) => {
            let usage = std::mem::size_of::<Entry>() + e.heap_bytes();
            reply::int(out, usage as i64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::testutil::Harness;

    #[test]
    fn usage_of_a_key() {
        let mut h = Harness::new();
        assert_eq!(h.cmd(&["MEMORY", "USAGE", "nokey"]), "$-1\r\n");
        h.cmd(&["HSET", "h", "a", "1"]);
        let small = h.cmd(&["MEMORY", "USAGE", "h"]);
        assert!(small.starts_with(':') && small != ":0\r\n", "{small}");
        assert_eq!(h.cmd(&["MEMORY", "USAGE", "h", "SAMPLES", "0"]), small);
        assert_eq!(
            h.cmd(&["MEMORY", "USAGE", "h", "SAMPLES", "-1"]),
            "-ERR syntax error\r\n"
        );
        assert_eq!(
            h.cmd(&["MEMORY", "USAGE", "h", "SAMPLES"]),
            "-ERR syntax error\r\n"
        );
        assert_eq!(
            h.cmd(&["MEMORY", "USAGE", "h", "SAMPLES", "x"]),
            "-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(
            h.cmd(&["MEMORY", "USAGE"]),
            "-ERR unknown subcommand or wrong number of arguments for 'USAGE'. Try MEMORY \
             HELP.\r\n"
        );
        assert!(h.cmd(&["MEMORY", "HELP"]).starts_with("*6\r\n"));
    }
}
