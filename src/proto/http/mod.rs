//! HTTP/1.1 session (sans-I/O). Being written.
