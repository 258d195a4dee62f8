//! RESP2 (Redis protocol) session and in-memory store (sans-I/O). Being written.
