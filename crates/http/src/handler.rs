//! What an application supplies: its routes.
//!
//! The session owns everything HTTP/1.1 makes hard — framing, pipelining, bodies,
//! limits, persistence, streaming files under backpressure — and asks a [`Handler`]
//! only what the application knows: which answer a request gets. A handler answers in
//! one of three ways, from the fastest to the most general:
//!
//! - [`Route::Fixed`]: one of the handler's [`FixedResponse`]s. The service renders
//!   each of them whole, headers included, once a second when the `Date` changes, so
//!   answering one is a single copy into the output buffer.
//! - [`Route::Body`]: read the request body (up to `HttpConfig::max_body`), then call
//!   [`Handler::on_body`], which returns the response body.
//! - [`Route::File`]: a static file under `HttpConfig::root`, streamed under
//!   backpressure.
//!
//! Refusals ([`Refusal`]) keep the connection alive: the request was well framed, so
//! the next one on the connection can be trusted.
//!
//! ```
//! use std::borrow::Cow;
//! use evloop_http::{FixedResponse, Handler, Refusal, Reply, Request, Route};
//!
//! /// `GET /` says hello, `POST /upper` answers its body in upper case.
//! struct App;
//!
//! impl Handler for App {
//!     fn fixed_responses(&self) -> Vec<FixedResponse> {
//!         vec![FixedResponse::new(b"text/plain", b"hello\n".to_vec())]
//!     }
//!
//!     fn route(&self, request: &Request<'_>) -> Route {
//!         match (request.method(), request.path()) {
//!             ("GET" | "HEAD", b"/") => Route::Fixed(0),
//!             ("POST", b"/upper") => Route::Body(0),
//!             (_, b"/" | b"/upper") => Route::Refuse(Refusal::MethodNotAllowed {
//!                 allow: "GET, HEAD, POST",
//!             }),
//!             _ => Route::Refuse(Refusal::NotFound),
//!         }
//!     }
//!
//!     fn on_body<'b>(&self, _route: u32, _content_type: &'b [u8], body: &'b [u8]) -> Reply<'b> {
//!         Reply::Ok {
//!             content_type: b"text/plain",
//!             body: Cow::Owned(body.to_ascii_uppercase()),
//!         }
//!     }
//! }
//! ```

use std::borrow::Cow;

use super::request::Head;

/// A request head as a [`Handler`] sees it. Borrowed from the connection's input.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub(crate) head: &'a Head<'a>,
}

impl<'a> Request<'a> {
    /// The method, as sent (`GET`, `POST`, …; methods are case-sensitive).
    pub fn method(&self) -> &'a str {
        self.head.method
    }

    /// The target's path, without query or fragment, not percent-decoded (an
    /// absolute-form target has its scheme and authority removed).
    pub fn path(&self) -> &'a [u8] {
        self.head.path
    }

    /// The target's query, after `?` and without the fragment, if there is one.
    pub fn query(&self) -> Option<&'a [u8]> {
        self.head.query
    }

    /// The `Content-Type` field's value, if the request has one.
    pub fn content_type(&self) -> Option<&'a [u8]> {
        self.head.content_type
    }

    /// Whether the request carries a body (a non-zero `Content-Length`, or chunked).
    pub fn has_body(&self) -> bool {
        self.head.has_body()
    }
}

/// A response whose bytes are known when the service starts; see [`Route::Fixed`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixedResponse {
    /// The `Content-Type` value.
    pub content_type: &'static [u8],
    /// The body.
    pub body: Vec<u8>,
}

impl FixedResponse {
    /// A `200 OK` response with this content type and body.
    pub fn new(content_type: &'static [u8], body: Vec<u8>) -> FixedResponse {
        FixedResponse { content_type, body }
    }
}

/// A refusal of a well-framed request. The response has a short text body, and the
/// connection stays open (unless the request asked to close it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `404 Not Found`.
    NotFound,
    /// `405 Method Not Allowed`, with an `Allow` field listing `allow` (such as
    /// `"GET, HEAD"`).
    MethodNotAllowed {
        /// The methods the target supports, comma-separated.
        allow: &'static str,
    },
    /// `503 Service Unavailable`: the server cannot serve this now (a health
    /// check while the server drains, say). The connection stays open.
    Unavailable,
}

/// How a request is answered; returned by [`Handler::route`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Answer with the handler's [`FixedResponse`] at this index (a `HEAD` request
    /// gets its head only). An index past the end is answered with 404.
    Fixed(usize),
    /// Read the whole body, then ask [`Handler::on_body`] with this number (the
    /// application's own, to tell its body routes apart).
    Body(u32),
    /// Serve the file at the request's path under `HttpConfig::root` (`GET` and
    /// `HEAD`; other methods get 405, and a missing file or root gets 404).
    File,
    /// Refuse the request.
    Refuse(Refusal),
}

/// The answer to a request that had its body read; returned by [`Handler::on_body`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply<'b> {
    /// `200 OK` with this content type and body.
    Ok {
        /// The `Content-Type` value.
        content_type: &'b [u8],
        /// The body; borrow the request's body (or static bytes) where possible.
        body: Cow<'b, [u8]>,
    },
    /// Refuse the request.
    Refuse(Refusal),
}

/// An application's routes; see the [module documentation](self).
///
/// One handler serves every connection of an `HttpService` (it is shared, not
/// cloned), so it keeps per-request state in nothing but its return values.
pub trait Handler {
    /// The responses [`Route::Fixed`] refers to by index. Called once, when the
    /// service is created.
    fn fixed_responses(&self) -> Vec<FixedResponse> {
        Vec::new()
    }

    /// Decides how `request` is answered. Called once per request, when its head is
    /// complete and valid.
    fn route(&self, request: &Request<'_>) -> Route;

    /// The body of a request routed to [`Route::Body`]`(route)` is complete.
    /// `content_type` is the request's `Content-Type` (empty if it had none).
    fn on_body<'b>(&self, route: u32, content_type: &'b [u8], body: &'b [u8]) -> Reply<'b> {
        let _ = (route, content_type, body);
        Reply::Refuse(Refusal::NotFound)
    }
}

/// The routes of the example server and the benchmarks: `GET|HEAD /` and
/// `/plaintext` (`Hello, World!`), `GET|HEAD /json` (`{"message":"Hello, World!"}`),
/// `POST /echo` (the body back, with its content type), and every other path a file
/// under the root.
#[derive(Debug, Clone, Copy, Default)]
pub struct Demo;

impl Demo {
    const PLAINTEXT: usize = 0;
    const JSON: usize = 1;
    const ECHO: u32 = 0;
}

impl Handler for Demo {
    fn fixed_responses(&self) -> Vec<FixedResponse> {
        vec![
            FixedResponse::new(b"text/plain", b"Hello, World!".to_vec()),
            FixedResponse::new(
                b"application/json",
                br#"{"message":"Hello, World!"}"#.to_vec(),
            ),
        ]
    }

    fn route(&self, request: &Request<'_>) -> Route {
        let get_like = matches!(request.method(), "GET" | "HEAD");
        let fixed = match request.path() {
            b"/" | b"/plaintext" => Demo::PLAINTEXT,
            b"/json" => Demo::JSON,
            b"/echo" if request.method() == "POST" => return Route::Body(Demo::ECHO),
            b"/echo" => return Route::Refuse(Refusal::MethodNotAllowed { allow: "POST" }),
            _ => return Route::File,
        };
        if get_like {
            Route::Fixed(fixed)
        } else {
            Route::Refuse(Refusal::MethodNotAllowed { allow: "GET, HEAD" })
        }
    }

    fn on_body<'b>(&self, _route: u32, content_type: &'b [u8], body: &'b [u8]) -> Reply<'b> {
        let content_type = if content_type.is_empty() {
            &b"application/octet-stream"[..]
        } else {
            content_type
        };
        Reply::Ok {
            content_type,
            body: Cow::Borrowed(body),
        }
    }
}
