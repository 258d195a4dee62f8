//! Redis glob matching (`stringmatchlen`) for KEYS, SCAN MATCH and CONFIG GET.
//!
//! Patterns come from the peer, so the matcher must not blow up: a naive recursive
//! matcher is exponential on `a*a*a*a*...b`. This one is the classic iterative
//! matcher that backtracks only to the most recent `*`, which is correct because
//! every other token (`?`, a `[...]` class, an escaped or plain byte) matches exactly
//! one byte; it runs in O(pattern × subject) time and allocates nothing.

/// True if `subject` matches the glob `pattern` (`*`, `?`, `[abc]`, `[^a-z]`, `\x`).
pub fn matches(pattern: &[u8], subject: &[u8], nocase: bool) -> bool {
    let (mut p, mut s) = (0usize, 0usize);
    // Where to resume after the last `*`: (pattern index after it, subject index).
    let mut star: Option<(usize, usize)> = None;
    while s < subject.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            // Collapse runs of stars.
            while p < pattern.len() && pattern[p] == b'*' {
                p += 1;
            }
            if p == pattern.len() {
                return true;
            }
            star = Some((p, s));
            continue;
        }
        if p < pattern.len() {
            if let Some((hit, next)) = one(pattern, p, subject[s], nocase) {
                if hit {
                    p = next;
                    s += 1;
                    continue;
                }
            }
        }
        match star {
            Some((sp, ss)) => {
                p = sp;
                s = ss + 1;
                star = Some((sp, ss + 1));
            }
            None => return false,
        }
    }
    while p < pattern.len() && pattern[p] == b'*' {
        p += 1;
    }
    p == pattern.len()
}

/// Match the single-byte token at `pattern[p]` against `c`. Returns whether it
/// matched and the index after the token.
fn one(pattern: &[u8], p: usize, c: u8, nocase: bool) -> Option<(bool, usize)> {
    let eq = |a: u8, b: u8| {
        if nocase {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    match pattern[p] {
        b'?' => Some((true, p + 1)),
        b'\\' if p + 1 < pattern.len() => Some((eq(pattern[p + 1], c), p + 2)),
        b'[' => {
            let mut i = p + 1;
            let not = pattern.get(i) == Some(&b'^');
            if not {
                i += 1;
            }
            let mut hit = false;
            loop {
                match pattern.get(i) {
                    // An unterminated class ends with the pattern, as in Redis.
                    None => break,
                    Some(b']') => {
                        i += 1;
                        break;
                    }
                    Some(b'\\') if i + 1 < pattern.len() => {
                        if eq(pattern[i + 1], c) {
                            hit = true;
                        }
                        i += 2;
                    }
                    Some(&lo) if pattern.get(i + 1) == Some(&b'-') && i + 2 < pattern.len() => {
                        let hi = pattern[i + 2];
                        let (lo, hi) = if lo > hi { (hi, lo) } else { (lo, hi) };
                        let x = if nocase { c.to_ascii_lowercase() } else { c };
                        let (l2, h2) = if nocase {
                            (lo.to_ascii_lowercase(), hi.to_ascii_lowercase())
                        } else {
                            (lo, hi)
                        };
                        if (lo..=hi).contains(&c) || (nocase && (l2..=h2).contains(&x)) {
                            hit = true;
                        }
                        i += 3;
                    }
                    Some(&b) => {
                        if eq(b, c) {
                            hit = true;
                        }
                        i += 1;
                    }
                }
            }
            Some((hit != not, i))
        }
        b => Some((eq(b, c), p + 1)),
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn redis_glob() {
        let m = |p: &str, s: &str| matches(p.as_bytes(), s.as_bytes(), false);
        assert!(m("*", ""));
        assert!(m("*", "anything"));
        assert!(m("h?llo", "hello"));
        assert!(!m("h?llo", "hllo"));
        assert!(m("h*llo", "heeeello"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(m("h[b-a]llo", "hallo"));
        assert!(m("h\\*llo", "h*llo"));
        assert!(!m("h\\*llo", "hello"));
        assert!(m("key:*:x", "key:12:x"));
        assert!(!m("key:*:x", "key:12:y"));
        assert!(m("*a*b", "xxaxxb"));
        assert!(!m("a", "ab"));
        assert!(matches(b"HELLO", b"hello", true));
        assert!(m("save", "save"));
    }

    #[test]
    fn pathological_pattern_is_fast() {
        let pat = "a*".repeat(50) + "b";
        let subject = "a".repeat(10_000);
        assert!(!matches(pat.as_bytes(), subject.as_bytes(), false));
    }
}
