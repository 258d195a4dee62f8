//! The chat room: its members and their sessions. Apart from `main.rs` so that
//! the tests can drive the room in the simulator (`tests/sim.rs`).
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use evloop::{ConnId, Ctx, Next, OutputLimit, PushError, Session, Step, StreamService};

/// Longest nickname, in bytes.
pub(crate) const MAX_NICK: usize = 32;

/// Who is in the room. Shared by every session of the service (one thread).
#[derive(Default)]
pub(crate) struct Room {
    pub(crate) members: BTreeMap<ConnId, String>,
    pub(crate) next_guest: u64,
}

impl Room {
    /// Push `line` to every member but `except`. Members over their output limit
    /// are closed by the reactor (and leave through their own `on_closed`).
    fn broadcast(&self, ctx: &mut Ctx<'_>, except: Option<ConnId>, line: &[u8]) {
        for &id in self.members.keys() {
            if Some(id) == except {
                continue;
            }
            match ctx.push(id, line) {
                Ok(()) | Err(PushError::Closed) => {}
                Err(PushError::OverLimit) => {
                    log::info!("member {id} stopped reading: disconnected");
                }
            }
        }
    }

    fn name_taken(&self, name: &str) -> bool {
        self.members.values().any(|n| n == name)
    }
}

pub(crate) struct Chat {
    pub(crate) room: Rc<RefCell<Room>>,
    pub(crate) max_line: usize,
    pub(crate) max_output: usize,
}

impl StreamService for Chat {
    fn open(&mut self, _peer: SocketAddr) -> Box<dyn Session> {
        Box::new(Member {
            room: Rc::clone(&self.room),
            max_line: self.max_line,
            max_output: self.max_output,
            id: None,
            discarding: false,
        })
    }

    /// A line being received, with room to spare.
    fn max_unconsumed(&self) -> usize {
        self.max_line.saturating_mul(2)
    }
}

/// One member's session.
pub(crate) struct Member {
    pub(crate) room: Rc<RefCell<Room>>,
    pub(crate) max_line: usize,
    pub(crate) max_output: usize,
    /// Set once the member has joined (in `on_open`).
    pub(crate) id: Option<ConnId>,
    /// Inside an overlong line: drop input up to the next newline.
    pub(crate) discarding: bool,
}

impl Member {
    fn name(&self) -> String {
        let room = self.room.borrow();
        self.id
            .and_then(|id| room.members.get(&id).cloned())
            .unwrap_or_default()
    }

    /// One complete line, without its line ending.
    fn line(&mut self, ctx: &mut Ctx<'_>, line: &[u8], out: &mut Vec<u8>) -> Next {
        let text = String::from_utf8_lossy(line);
        let me = ctx.id();
        if let Some(command) = text.strip_prefix('/') {
            let (verb, arg) = command.split_once(' ').unwrap_or((command, ""));
            match verb {
                "nick" => self.nick(ctx, arg.trim(), out),
                "who" => {
                    let room = self.room.borrow();
                    let names: Vec<&str> = room.members.values().map(String::as_str).collect();
                    out.extend_from_slice(format!("* members: {}\n", names.join(", ")).as_bytes());
                }
                "quit" => {
                    out.extend_from_slice(b"* bye\n");
                    return Next::Close;
                }
                _ => out.extend_from_slice(format!("! unknown command /{verb}\n").as_bytes()),
            }
            return Next::Read;
        }
        if text.is_empty() {
            return Next::Read;
        }
        let message = format!("{}: {text}\n", self.name());
        self.room
            .borrow()
            .broadcast(ctx, Some(me), message.as_bytes());
        Next::Read
    }

    fn nick(&mut self, ctx: &mut Ctx<'_>, name: &str, out: &mut Vec<u8>) {
        let valid = !name.is_empty()
            && name.len() <= MAX_NICK
            && !name.chars().any(|c| c.is_whitespace() || c.is_control())
            && !name.contains(':');
        if !valid {
            out.extend_from_slice(
                format!("! a name is 1-{MAX_NICK} bytes without spaces or ':'\n").as_bytes(),
            );
            return;
        }
        let old = self.name();
        if old == name {
            return;
        }
        let mut room = self.room.borrow_mut();
        if room.name_taken(name) {
            out.extend_from_slice(format!("! {name} is taken\n").as_bytes());
            return;
        }
        room.members.insert(ctx.id(), name.to_owned());
        let notice = format!("* {old} is now known as {name}\n");
        out.extend_from_slice(notice.as_bytes());
        room.broadcast(ctx, Some(ctx.id()), notice.as_bytes());
    }
}

impl Session for Member {
    fn on_open(&mut self, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Next {
        // Pushes are what fills a member's output: cut off one that stops reading
        // once it passes the limit, rather than buffer for it without bound.
        ctx.set_output_limit(OutputLimit {
            hard: self.max_output,
            soft: 0,
            soft_for: Duration::ZERO,
        });
        let mut room = self.room.borrow_mut();
        let name = loop {
            room.next_guest += 1;
            let name = format!("guest{}", room.next_guest);
            if !room.name_taken(&name) {
                break name;
            }
        };
        room.members.insert(ctx.id(), name.clone());
        self.id = Some(ctx.id());
        out.extend_from_slice(
            format!(
                "* welcome to evloop chat, {name}; {} here. /nick NAME, /who, /quit\n",
                room.members.len()
            )
            .as_bytes(),
        );
        room.broadcast(ctx, Some(ctx.id()), format!("* {name} joined\n").as_bytes());
        Next::Read
    }

    fn on_input(&mut self, ctx: &mut Ctx<'_>, input: &[u8], out: &mut Vec<u8>) -> Step {
        let mut at = 0;
        while at < input.len() {
            let rest = &input[at..];
            let Some(end) = rest.iter().position(|&b| b == b'\n') else {
                if rest.len() > self.max_line {
                    // An overlong line without its end yet: refuse it now, drop the
                    // rest of it as it arrives.
                    if !self.discarding {
                        self.refuse_long_line(out);
                    }
                    self.discarding = true;
                    return Step::read(input.len());
                }
                break;
            };
            at += end + 1;
            if std::mem::take(&mut self.discarding) {
                continue; // the end of an overlong line
            }
            let line = rest[..end].strip_suffix(b"\r").unwrap_or(&rest[..end]);
            if line.len() > self.max_line {
                self.refuse_long_line(out);
                continue;
            }
            let next = self.line(ctx, line, out);
            if next != Next::Read {
                return Step {
                    consumed: input.len(),
                    next,
                };
            }
        }
        Step::read(at)
    }

    fn on_peer_closed(&mut self, ctx: &mut Ctx<'_>, input: &[u8], out: &mut Vec<u8>) -> Next {
        // A last line without a newline still counts.
        if !input.is_empty() && !self.discarding && input.len() <= self.max_line {
            let line = input.strip_suffix(b"\r").unwrap_or(input);
            self.line(ctx, line, out);
        }
        Next::Close
    }

    fn on_closed(&mut self, ctx: &mut Ctx<'_>) {
        let Some(id) = self.id.take() else {
            return;
        };
        let mut room = self.room.borrow_mut();
        if let Some(name) = room.members.remove(&id) {
            room.broadcast(ctx, None, format!("* {name} left\n").as_bytes());
        }
    }
}

impl Member {
    fn refuse_long_line(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(
            format!("! line too long (max {} bytes): dropped\n", self.max_line).as_bytes(),
        );
    }
}
