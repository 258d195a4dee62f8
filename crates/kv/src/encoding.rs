//! The thresholds below which Redis keeps a collection in a compact encoding.
//!
//! Redis stores a small hash, set, sorted set or list packed into one allocation
//! (a listpack, or an intset for a set of integers) and converts it to a hash table,
//! skiplist or quicklist once it grows past a configured size. The thresholds are
//! CONFIG parameters; they live here, in one value the service keeps
//! (`Shared::encoding_limits`), so that CONFIG GET/SET, `OBJECT ENCODING` and the
//! collections that pick a representation read the same numbers.

/// Redis's small-encoding thresholds, with Redis 7.0's defaults
/// (`set-max-listpack-*` are Redis 7.2's, where small non-integer sets gained a
/// listpack form).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EncodingLimits {
    /// `hash-max-listpack-entries` (alias `hash-max-ziplist-entries`): most fields.
    pub hash_entries: u64,
    /// `hash-max-listpack-value`: longest field or value, in bytes.
    pub hash_value: u64,
    /// `zset-max-listpack-entries`: most members.
    pub zset_entries: u64,
    /// `zset-max-listpack-value`: longest member, in bytes.
    pub zset_value: u64,
    /// `set-max-intset-entries`: most members of a set of integers.
    pub set_intset_entries: u64,
    /// `set-max-listpack-entries`: most members of a small set of other strings.
    pub set_entries: u64,
    /// `set-max-listpack-value`: longest member of such a set, in bytes.
    pub set_value: u64,
    /// `list-max-listpack-size` (alias `list-max-ziplist-size`): a positive
    /// number is entries per node, -1 to -5 mean 4 KiB to 64 KiB per node.
    pub list_size: i64,
}

impl Default for EncodingLimits {
    fn default() -> Self {
        EncodingLimits {
            hash_entries: 512,
            hash_value: 64,
            zset_entries: 128,
            zset_value: 64,
            set_intset_entries: 512,
            set_entries: 128,
            set_value: 64,
            list_size: -2,
        }
    }
}
/// What `OBJECT ENCODING` says of a string: `int` for the decimal text of a 64-bit
/// integer (Redis stores those as a number), `embstr` up to 44 bytes (stored in
/// the object's own allocation), `raw` beyond.
pub(crate) fn string_encoding(s: &[u8]) -> &'static str {
    // parse_i64 takes only the canonical form ("007" and "+1" stay text in Redis).
    if s.len() <= 20 && super::frame::parse_i64(s).is_some() {
        "int"
    } else if s.len() <= 44 {
        "embstr"
    } else {
        "raw"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_named_as_redis_names_them() {
        assert_eq!(string_encoding(b"12345"), "int");
        assert_eq!(string_encoding(b"-9223372036854775808"), "int");
        assert_eq!(string_encoding(b"9223372036854775808"), "embstr");
        assert_eq!(string_encoding(b"007"), "embstr");
        assert_eq!(string_encoding(b"+1"), "embstr");
        assert_eq!(string_encoding(b""), "embstr");
        assert_eq!(string_encoding(&[b'a'; 44]), "embstr");
        assert_eq!(string_encoding(&[b'a'; 45]), "raw");
    }
}
