//! Connection and server commands: PING, HELLO, CLIENT, INFO, COMMAND, RESET,
//! TIME (CONFIG has its own module).

use super::*;

pub(super) fn ping(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    if a.len() > 2 {
        return arity_error(out, b"ping");
    }
    if c.client.subscribed() && !out.resp3() {
        // RESP2 subscribed mode: a pong frame like a message's.
        reply::array(out, 2);
        reply::bulk(out, b"pong");
        reply::bulk(out, if a.len() == 2 { a.get(1) } else { b"" });
    } else if a.len() == 2 {
        reply::bulk(out, a.get(1));
    } else {
        out.extend_from_slice(b"+PONG\r\n");
    }
}

/// RESET: the connection as new — subscriptions left, name cleared.
pub(super) fn reset(c: &mut Ctx<'_, '_>, _: Argv<'_>, out: &mut Reply<'_>) {
    if let Some(subs) = c.client.subs.take() {
        let id = c.net.id();
        super::super::pubsub::forget(&mut c.shared.pubsub.borrow_mut(), id, &subs);
        c.client.note_subscriptions();
        c.net.set_waiting(false);
    }
    *c.client.record.name.borrow_mut() = None;
    // Back to the default user: with a password set, it has to be given again.
    c.client.authenticated = c.shared.requirepass.borrow().is_none();
    c.client.multi = None;
    c.client.record.multi.set(-1);
    super::super::watch::unwatch_all(c);
    select_db(c, 0);
    // Redis's RESET speaks RESP2 again, and says so in RESP2; it leaves
    // MONITOR mode, turns tracking off and sends replies again.
    super::super::tracking::forget(c.shared, c.client.record.id);
    set_protocol(c, false);
    out.set_resp3(false);
    c.client.reply = super::super::clients::ReplyMode::On;
    if c.client.record.monitor.get() {
        let id = c.net.id();
        let mut monitors = c.shared.monitors.borrow_mut();
        monitors.retain(|&m| m != id);
        c.shared.monitoring.set(!monitors.is_empty());
        c.shared.refresh_slow();
        drop(monitors);
        c.client.record.monitor.set(false);
        c.net.set_waiting(false);
    }
    reply::simple(out, b"RESET");
}

/// Switch the client to RESP3 (`true`) or RESP2: its own replies, and what
/// publishers and unblockers push to it.
pub(crate) fn set_protocol(c: &mut Ctx<'_, '_>, resp3: bool) {
    if c.client.record.resp3.replace(resp3) == resp3 {
        return;
    }
    if let Some(subs) = &c.client.subs {
        let id = c.net.id();
        super::super::pubsub::set_protocol(&mut c.shared.pubsub.borrow_mut(), id, subs, resp3);
    }
}

pub(super) fn echo(_: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    reply::bulk(out, a.get(1));
}

pub(super) fn quit(c: &mut Ctx<'_, '_>, _: Argv<'_>, out: &mut Reply<'_>) {
    reply::ok(out);
    c.close = true;
}

/// The Redis release whose behaviour this server implements, as HELLO and INFO's
/// `redis_version` report it: a plain `MAJOR.MINOR.PATCH`, since clients parse it
/// (redis-py's tests with `packaging.version`, clients that gate features on
/// it). evloop's own version is INFO's `evloop_version`.
pub(super) const VERSION: &[u8] = b"7.0.15";

pub(super) fn valid_client_name(name: &[u8]) -> bool {
    name.iter().all(|&b| (b'!'..=b'~').contains(&b))
}

pub(super) const BAD_NAME: &[u8] =
    b"ERR Client names cannot contain spaces, newlines or special characters.";

/// `HELLO [protover [AUTH user pass] [SETNAME name]]`: switch to RESP2 or RESP3,
/// optionally authenticating and naming the connection at once, and describe the
/// server (a map, in the protocol just chosen).
pub(super) fn hello(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    let mut proto = None;
    if a.len() >= 2 {
        match parse_i64(a.get(1)) {
            None => {
                return reply::error(
                    out,
                    b"ERR Protocol version is not an integer or out of range",
                )
            }
            Some(v @ (2 | 3)) => proto = Some(v == 3),
            Some(_) => return reply::error(out, b"NOPROTO unsupported protocol version"),
        }
    }
    let mut i = 2;
    let mut setname = None;
    let mut auth = None;
    while i < a.len() {
        let opt = a.get(i);
        let more = a.len() - i - 1;
        if eq(opt, b"auth") && more >= 2 {
            auth = Some((a.get(i + 1), a.get(i + 2)));
            i += 3;
        } else if eq(opt, b"setname") && more >= 1 {
            setname = Some(a.get(i + 1));
            i += 2;
        } else {
            let mut msg = b"ERR Syntax error in HELLO option '".to_vec();
            msg.extend_from_slice(opt);
            msg.push(b'\'');
            return reply::error(out, &msg);
        }
    }
    match auth {
        Some((user, pass)) => match super::super::auth::check(c, user, pass) {
            Ok(()) => c.client.authenticated = true,
            Err(msg) => return reply::error(out, msg),
        },
        None if !c.client.authenticated => {
            return reply::error(
                out,
                b"NOAUTH HELLO must be called with the client already authenticated, otherwise \
                  the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the \
                  client and select the RESP protocol version at the same time",
            )
        }
        None => {}
    }
    if let Some(name) = setname {
        if !valid_client_name(name) {
            return reply::error(out, BAD_NAME);
        }
        *c.client.record.name.borrow_mut() = (!name.is_empty()).then(|| name.into());
    }
    let resp3 = proto.unwrap_or(out.resp3());
    set_protocol(c, resp3);
    out.set_resp3(resp3);
    reply::map(out, 7);
    reply::bulk(out, b"server");
    reply::bulk(out, b"redis");
    reply::bulk(out, b"version");
    reply::bulk(out, VERSION);
    reply::bulk(out, b"proto");
    reply::int(out, if resp3 { 3 } else { 2 });
    reply::bulk(out, b"id");
    reply::int(out, c.client.record.id as i64);
    reply::bulk(out, b"mode");
    reply::bulk(out, b"standalone");
    reply::bulk(out, b"role");
    reply::bulk(out, b"master");
    reply::bulk(out, b"modules");
    reply::array(out, 0);
}

/// CLIENT and its subcommands, as the command table lists them; and
/// `CLIENT SETINFO` (Redis 7.2's, which clients send as they connect).
pub(super) fn client(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    use super::super::clients;
    let sub = a.get(1);
    if eq(sub, b"setinfo") {
        if a.len() != 4 {
            return arity_error(out, b"client|setinfo");
        }
        let attr = a.get(2);
        if eq(attr, b"lib-name") || eq(attr, b"lib-ver") {
            return reply::ok(out);
        }
        let mut msg = b"ERR Unrecognized option '".to_vec();
        msg.extend_from_slice(attr);
        msg.push(b'\'');
        return reply::error(out, &msg);
    }
    let Some(cmd) = super::table::C_CLIENT.subcommand(sub) else {
        return unknown_subcommand(out, sub, b"CLIENT");
    };
    if !cmd.arity_ok(a.len()) {
        return arity_error(out, cmd.name.as_bytes());
    }
    match cmd.name {
        "client|setname" => {
            let n = a.get(2);
            if !valid_client_name(n) {
                return reply::error(out, BAD_NAME);
            }
            *c.client.record.name.borrow_mut() = (!n.is_empty()).then(|| n.into());
            reply::ok(out);
        }
        "client|getname" => match &*c.client.record.name.borrow() {
            Some(n) => reply::bulk(out, n),
            None => reply::nil(out),
        },
        "client|id" => reply::int(out, c.client.record.id as i64),
        "client|list" => clients::list(c, a, out),
        "client|info" => clients::info(c, out),
        "client|kill" => clients::kill(c, a, out),
        "client|unblock" => clients::unblock(c, a, out),
        "client|pause" => clients::pause(c, a, out),
        "client|unpause" => clients::unpause(c, out),
        "client|reply" => clients::reply_mode(c, a, out),
        "client|no-evict" => {
            let on = a.get(2);
            if eq(on, b"on") || eq(on, b"off") {
                c.client.record.no_evict.set(eq(on, b"on"));
                reply::ok(out);
            } else {
                reply::error(out, SYNTAX);
            }
        }
        "client|help" => clients::help(out),
        "client|tracking" | "client|caching" | "client|getredir" | "client|trackinginfo" => {
            super::super::tracking::client(c, cmd.name, a, out)
        }
        _ => unknown_subcommand(out, sub, b"CLIENT"),
    }
}

pub(super) fn info(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Reply<'_>) {
    use std::fmt::Write as _;
    let want = |section: &str| {
        a.len() == 1
            || a.iter_from(1).any(|s| {
                eq(s, section.as_bytes())
                    || eq(s, b"all")
                    || eq(s, b"default")
                    || eq(s, b"everything")
            })
    };
    let sh = c.shared;
    let mut s = String::new();
    let section = |s: &mut String, title: &str| {
        if !s.is_empty() {
            s.push_str("\r\n");
        }
        s.push_str("# ");
        s.push_str(title);
        s.push_str("\r\n");
    };
    // Writing to a String cannot fail; the results are ignored.
    if want("server") {
        section(&mut s, "Server");
        let uptime = c.now.saturating_sub(sh.started_ms) / 1000;
        let port = sh.local_addr.get().map_or(0, |a| a.port());
        let _ = write!(
            s,
            "redis_version:{}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\n\
             redis_build_id:0\r\nredis_mode:standalone\r\nevloop_version:{}\r\nos:{} {}\r\n\
             arch_bits:{}\r\nmonotonic_clock:POSIX clock_gettime\r\n\
             multiplexing_api:epoll\r\nprocess_id:{}\r\nprocess_supervised:no\r\n\
             run_id:{:040x}\r\ntcp_port:{port}\r\nserver_time_usec:{}\r\n\
             uptime_in_seconds:{}\r\nuptime_in_days:{}\r\nhz:10\r\nconfigured_hz:10\r\n\
             executable:{}\r\nconfig_file:\r\n",
            String::from_utf8_lossy(VERSION),
            env!("CARGO_PKG_VERSION"),
            std::env::consts::OS,
            std::env::consts::ARCH,
            usize::BITS,
            std::process::id(),
            sh.started_ms as u128 * 1_000_003 + std::process::id() as u128,
            c.now * 1000,
            uptime,
            uptime / 86400,
            std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        );
    }
    if want("clients") {
        // Clients held by CLIENT PAUSE count as blocked, as in Redis.
        let mut blocked = sh.paused.borrow().len();
        each_db(c, |_, db| blocked += db.blocked.len());
        section(&mut s, "Clients");
        let _ = write!(
            s,
            "connected_clients:{}\r\ncluster_connections:0\r\nmaxclients:{}\r\n\
             client_recent_max_input_buffer:0\r\nclient_recent_max_output_buffer:0\r\n\
             blocked_clients:{}\r\ntracking_clients:{}\r\nclients_in_timeout_table:{}\r\n",
            sh.connected_clients.get(),
            sh.settings.borrow().maxclients,
            blocked,
            sh.tracking.borrow().clients(),
            blocked,
        );
    }
    if want("memory") {
        section(&mut s, "Memory");
        let mut used = 0;
        each_db(c, |_, db| used += db.memory_estimate());
        let _ = write!(
            s,
            "used_memory:{used}\r\nused_memory_human:{:.2}M\r\nmaxmemory:0\r\nmaxmemory_policy:noeviction\r\n",
            used as f64 / (1024.0 * 1024.0)
        );
    }
    if want("persistence") {
        section(&mut s, "Persistence");
        super::super::aof::info(sh, &mut s);
    }
    if want("stats") {
        let mut expired = 0;
        each_db(c, |_, db| expired += db.stats.expired_keys);
        section(&mut s, "Stats");
        let _ = write!(
            s,
            "total_connections_received:{}\r\ntotal_commands_processed:{}\r\nexpired_keys:{}\r\nevicted_keys:0\r\n\
             pubsub_channels:{}\r\npubsub_patterns:{}\r\ntotal_error_replies:{}\r\n\
             tracking_total_keys:{}\r\ntracking_total_items:{}\r\ntracking_total_prefixes:{}\r\n",
            sh.total_connections.get(),
            // Commands that ran, each counted after it ran (as Redis's
            // `call()` counts them): the sum of commandstats' calls.
            sh.cmdstats.iter().map(|s| s.calls.get()).sum::<u64>(),
            expired,
            sh.pubsub.borrow().channel_count(),
            sh.pubsub.borrow().pattern_count(),
            sh.error_replies.get(),
            sh.tracking.borrow().keys(),
            sh.tracking.borrow().items(),
            sh.tracking.borrow().prefixes(),
        );
    }
    if want("replication") {
        // A primary without replicas: what clients and tools check (`role`).
        section(&mut s, "Replication");
        s.push_str(
            "role:master\r\nconnected_slaves:0\r\nmaster_failover_state:no-failover\r\n\
             master_replid:0000000000000000000000000000000000000000\r\n\
             master_replid2:0000000000000000000000000000000000000000\r\n\
             master_repl_offset:0\r\nsecond_repl_offset:-1\r\nrepl_backlog_active:0\r\n\
             repl_backlog_size:1048576\r\nrepl_backlog_first_byte_offset:0\r\n\
             repl_backlog_histlen:0\r\n",
        );
    }
    if want("cpu") {
        section(&mut s, "CPU");
        let (user, sys) = cpu_seconds();
        let _ = write!(
            s,
            "used_cpu_sys:{sys:.6}\r\nused_cpu_user:{user:.6}\r\nused_cpu_sys_children:0.000000\r\n\
             used_cpu_user_children:0.000000\r\nused_cpu_sys_main_thread:{sys:.6}\r\n\
             used_cpu_user_main_thread:{user:.6}\r\n",
        );
    }
    if want("modules") {
        section(&mut s, "Modules");
    }
    // Not in the default sections, as in Redis: only asked for, or `all`.
    let asked = |section: &str| {
        a.iter_from(1)
            .any(|s| eq(s, section.as_bytes()) || eq(s, b"all") || eq(s, b"everything"))
    };
    if asked("commandstats") {
        section(&mut s, "Commandstats");
        // No per-call timing is kept: usec and usec_per_call are 0.
        super::each_stat(&sh.cmdstats[..], |name, st| {
            let (calls, rejected, failed) = (st.calls.get(), st.rejected.get(), st.failed.get());
            if calls + rejected + failed > 0 {
                let _ = write!(
                    s,
                    "cmdstat_{name}:calls={calls},usec=0,usec_per_call=0.00,\
                     rejected_calls={rejected},failed_calls={failed}\r\n"
                );
            }
        });
    }
    if want("errorstats") {
        section(&mut s, "Errorstats");
        for (code, n) in sh.errors.borrow().iter() {
            let _ = write!(s, "errorstat_{code}:count={n}\r\n");
        }
    }
    if want("cluster") {
        section(&mut s, "Cluster");
        s.push_str("cluster_enabled:0\r\n");
    }
    if want("keyspace") {
        section(&mut s, "Keyspace");
        each_db(c, |n, db| {
            if !db.is_empty() {
                let _ = write!(
                    s,
                    "db{n}:keys={},expires={},avg_ttl=0\r\n",
                    db.len(),
                    db.expires_len()
                );
            }
        });
    }
    for (title, render) in sh.info_sections.borrow().iter() {
        if want(&title.to_ascii_lowercase()) {
            section(&mut s, title);
            render(&mut s);
        }
    }
    reply::verbatim(out, s.as_bytes());
}

/// The process's user and system CPU time in seconds, from `/proc/self/stat`
/// (fields 14 and 15, in clock ticks of 1/100 s, Linux's `USER_HZ`); zeros
/// where there is no `/proc`.
fn cpu_seconds() -> (f64, f64) {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return (0.0, 0.0);
    };
    // The command name (field 2) is parenthesised and may hold spaces.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // Fields 14 and 15 of the whole line are 12 and 13 after the name.
    (ticks(11) as f64 / 100.0, ticks(12) as f64 / 100.0)
}

pub(super) fn time(c: &mut Ctx<'_, '_>, _: Argv<'_>, out: &mut Reply<'_>) {
    reply::array(out, 2);
    reply::bulk_int(out, (c.now / 1000) as i64);
    reply::bulk_int(out, ((c.now % 1000) * 1000) as i64);
}
