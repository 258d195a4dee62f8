//! Connection and server commands: PING, HELLO, CLIENT, INFO, COMMAND, RESET,
//! TIME (CONFIG has its own module).

use super::*;

pub(super) fn ping(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    if a.len() > 2 {
        return arity_error(out, b"ping");
    }
    if c.client.subscribed() {
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
pub(super) fn reset(c: &mut Ctx<'_, '_>, _: Argv<'_>, out: &mut Vec<u8>) {
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
    reply::simple(out, b"RESET");
}

pub(super) fn echo(_: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    reply::bulk(out, a.get(1));
}

pub(super) fn quit(c: &mut Ctx<'_, '_>, _: Argv<'_>, out: &mut Vec<u8>) {
    reply::ok(out);
    c.close = true;
}

/// The version evloop reports: a Redis 7.0 feature level, marked as not Redis.
pub(super) const VERSION: &[u8] = b"7.0.0-evloop";

pub(super) fn valid_client_name(name: &[u8]) -> bool {
    name.iter().all(|&b| (b'!'..=b'~').contains(&b))
}

pub(super) const BAD_NAME: &[u8] =
    b"ERR Client names cannot contain spaces, newlines or special characters.";

pub(super) fn hello(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    if a.len() >= 2 {
        match parse_i64(a.get(1)) {
            None => {
                return reply::error(
                    out,
                    b"ERR Protocol version is not an integer or out of range",
                )
            }
            Some(2) => {}
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
    reply::array(out, 14);
    reply::bulk(out, b"server");
    reply::bulk(out, b"redis");
    reply::bulk(out, b"version");
    reply::bulk(out, VERSION);
    reply::bulk(out, b"proto");
    reply::int(out, 2);
    reply::bulk(out, b"id");
    reply::int(out, c.client.record.id as i64);
    reply::bulk(out, b"mode");
    reply::bulk(out, b"standalone");
    reply::bulk(out, b"role");
    reply::bulk(out, b"master");
    reply::bulk(out, b"modules");
    reply::array(out, 0);
}

pub(super) fn client(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
    let sub = a.get(1);
    let (name, arity): (&[u8], i32) = if eq(sub, b"setname") {
        (b"client|setname", 3)
    } else if eq(sub, b"getname") {
        (b"client|getname", 2)
    } else if eq(sub, b"id") {
        (b"client|id", 2)
    } else if eq(sub, b"setinfo") {
        (b"client|setinfo", 4)
    } else if eq(sub, b"list") {
        (b"client|list", -2)
    } else if eq(sub, b"info") {
        (b"client|info", 2)
    } else if eq(sub, b"kill") {
        (b"client|kill", -3)
    } else if eq(sub, b"unblock") {
        (b"client|unblock", -3)
    } else {
        return unknown_subcommand(out, sub, b"CLIENT");
    };
    if !arity_ok(a.len(), arity) {
        return arity_error(out, name);
    }
    match name {
        b"client|setname" => {
            let n = a.get(2);
            if !valid_client_name(n) {
                return reply::error(out, BAD_NAME);
            }
            *c.client.record.name.borrow_mut() = (!n.is_empty()).then(|| n.into());
            reply::ok(out);
        }
        b"client|getname" => match &*c.client.record.name.borrow() {
            Some(n) => reply::bulk(out, n),
            None => reply::nil(out),
        },
        b"client|id" => reply::int(out, c.client.record.id as i64),
        b"client|list" => super::super::clients::list(c, a, out),
        b"client|info" => super::super::clients::info(c, out),
        b"client|kill" => super::super::clients::kill(c, a, out),
        b"client|unblock" => super::super::clients::unblock(c, a, out),
        _ => {
            let attr = a.get(2);
            if eq(attr, b"lib-name") || eq(attr, b"lib-ver") {
                reply::ok(out);
            } else {
                let mut msg = b"ERR Unrecognized option '".to_vec();
                msg.extend_from_slice(attr);
                msg.push(b'\'');
                reply::error(out, &msg);
            }
        }
    }
}

pub(super) fn info(c: &mut Ctx<'_, '_>, a: Argv<'_>, out: &mut Vec<u8>) {
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
        let _ = write!(
            s,
            "redis_version:{}\r\nredis_mode:standalone\r\nevloop_version:{}\r\nos:{} {}\r\n\
             arch_bits:{}\r\nmultiplexing_api:epoll\r\nprocess_id:{}\r\n\
             uptime_in_seconds:{}\r\nuptime_in_days:{}\r\n",
            String::from_utf8_lossy(VERSION),
            env!("CARGO_PKG_VERSION"),
            std::env::consts::OS,
            std::env::consts::ARCH,
            usize::BITS,
            std::process::id(),
            uptime,
            uptime / 86400,
        );
    }
    if want("clients") {
        let mut blocked = 0;
        each_db(c, |_, db| blocked += db.blocked.len());
        section(&mut s, "Clients");
        let _ = write!(
            s,
            "connected_clients:{}\r\nblocked_clients:{}\r\n",
            sh.connected_clients.get(),
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
             pubsub_channels:{}\r\npubsub_patterns:{}\r\n",
            sh.total_connections.get(),
            sh.total_commands.get(),
            expired,
            sh.pubsub.borrow().channel_count(),
            sh.pubsub.borrow().pattern_count(),
        );
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
    reply::bulk(out, s.as_bytes());
}

pub(super) fn time(c: &mut Ctx<'_, '_>, _: Argv<'_>, out: &mut Vec<u8>) {
    reply::array(out, 2);
    reply::bulk_int(out, (c.now / 1000) as i64);
    reply::bulk_int(out, ((c.now % 1000) * 1000) as i64);
}
