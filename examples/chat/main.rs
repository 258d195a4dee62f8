//! A line-based chat server: every line a member sends reaches every other member.
//!
//! ```text
//! cargo run --release --example chat                  # 127.0.0.1:7008
//! nc 127.0.0.1 7008                                   # in two or more terminals
//! ```
//!
//! The example of connections that reach each other: each session pushes its lines
//! to the other members through [`Ctx::push`], and a member that stops reading is
//! cut off once its unsent output passes `--max-output`, while everyone else keeps
//! chatting at full speed — server memory stays bounded by the limit per member.

#[path = "../common/mod.rs"]
mod common;
mod room;

use std::rc::Rc;

use evloop::Config;
use room::Chat;

const NAME: &str = "chat";
const HELP: &str = "\
chat: line-based chat server (nc/telnet clients)

USAGE: chat [OPTIONS]

Every line a member sends goes to every other member as `NAME: text`. Commands:
  /nick NAME   take a name (1-32 bytes, no spaces, not taken)
  /who         list the members
  /quit        leave

OPTIONS:
  --listen ADDR          address to bind (default 127.0.0.1:7008; port 0 = any)
  --max-line BYTES       longest line; longer ones get an error line (default 4096)
  --max-output BYTES     unsent output a member may pile up before it is
                         disconnected (default 1048576)
  --max-connections N    members at once (default 10000)
  --idle-timeout SECS    disconnect members idle this long, 0 = never (default 0)
  -h, --help             print this help

Prints `listening on tcp://IP:PORT`, then serves until SIGINT/SIGTERM.
Logging: RUST_LOG=debug (default info).
";

fn main() {
    let defaults = common::ServerArgs::new(
        ([127, 0, 0, 1], 7008).into(),
        Config {
            idle_timeout: None,
            ..Config::default()
        },
    );
    let (mut max_line, mut max_output) = (4096usize, 1024 * 1024usize);
    let args = common::parse_args(NAME, HELP, defaults, |flag, parser| {
        match flag {
            "max-line" => max_line = common::value(NAME, "--max-line", parser),
            "max-output" => max_output = common::value(NAME, "--max-output", parser),
            _ => return false,
        }
        true
    });
    if max_line == 0 || max_output == 0 {
        common::usage_error(NAME, "--max-line and --max-output must be at least 1");
    }
    if args.threads > 1 {
        common::usage_error(NAME, "--threads: the room is one, served by one reactor");
    }
    common::init_logging();
    let mut reactor = common::reactor(NAME, args.config.clone());
    let chat = Chat {
        room: Rc::default(),
        max_line,
        max_output,
    };
    let (mut sockets, bound) = common::bind_one(NAME, &args);
    let urls = common::listen_streams(NAME, &mut reactor, &mut sockets, "tcp", || Chat {
        room: Rc::clone(&chat.room),
        ..chat
    });
    common::serve_then(NAME, &args, reactor, &urls, bound, || {})
}
