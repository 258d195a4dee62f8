//! Decoder for the `chunked` transfer coding (RFC 9112 §7.1).
//!
//! A request body sent with `Transfer-Encoding: chunked` arrives as size lines, data
//! and a trailer section, split across reads at arbitrary points. This module is the
//! whole decoder as a pure state machine: [`ChunkedDecoder::feed`] takes whatever bytes
//! are at hand, says how many it used and hands back decoded data as a sub-slice of its
//! input. It does no I/O, never allocates and never looks at a byte twice, so it can
//! be fuzzed on its own and tested at every split point. Limits (total body size, line
//! length, trailer size) are enforced here, as soon as a size line declares too much,
//! so the caller never buffers more than it allowed.

/// Longest chunk-size line (hex digits plus extensions) we accept.
const MAX_SIZE_LINE: usize = 4096;

/// Why a chunked body was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkError {
    /// The framing is not valid chunked coding (bad size, missing CRLF, an oversized
    /// size line or trailer section). A server answers 400.
    Malformed,
    /// The declared chunk sizes add up to more than the limit. A server answers 413.
    TooLarge,
}

/// The result of one [`ChunkedDecoder::feed`] call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded<'a> {
    /// How many bytes from the front of the input were used (framing and data).
    pub consumed: usize,
    /// Decoded body bytes found in this call (a sub-slice of the input; may be empty).
    pub data: &'a [u8],
    /// The last chunk and the trailer section have been read: the body is complete and
    /// `consumed` ends right after it.
    pub done: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a size line: a hex digit is required.
    SizeStart,
    /// Inside the hex digits.
    Size,
    /// After the digits: `;` extensions (ignored) up to CR.
    Extension,
    /// Saw the CR ending a size line.
    SizeLf,
    /// Inside chunk data; `remaining` bytes to go.
    Data,
    /// Data done; expecting CR.
    DataCr,
    /// Expecting the LF after chunk data.
    DataLf,
    /// At the start of a trailer line (or the final empty line).
    TrailerStart,
    /// Inside a trailer field line.
    Trailer,
    /// Saw the CR ending a trailer field line.
    TrailerLf,
    /// Saw the CR of the final empty line.
    EndLf,
    /// The body is complete.
    Done,
}

/// Incremental decoder for one chunked body.
///
/// Feed it input from the first byte after the request head; it stops right after the
/// final CRLF, so pipelined bytes that follow are left alone.
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: State,
    /// The size being parsed, then the data bytes left in the current chunk.
    remaining: u64,
    /// Sum of all chunk sizes so far (including the one being parsed).
    total: u64,
    limit: u64,
    /// Bytes in the current size line, to bound it.
    line_len: usize,
    /// Bytes in the trailer section so far, to bound it.
    trailer_len: usize,
    trailer_limit: usize,
    /// Whether the current trailer line had its `:`.
    trailer_colon: bool,
}

impl ChunkedDecoder {
    /// A decoder that refuses bodies whose chunk sizes add up to more than `limit`
    /// bytes and trailer sections longer than `trailer_limit` bytes.
    pub fn new(limit: u64, trailer_limit: usize) -> ChunkedDecoder {
        ChunkedDecoder {
            state: State::SizeStart,
            remaining: 0,
            total: 0,
            limit,
            line_len: 0,
            trailer_len: 0,
            trailer_limit,
            trailer_colon: false,
        }
    }

    /// Whether the whole body (last chunk and trailers) has been read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Total decoded body size declared so far.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Decodes from the front of `input`. Stops after the first run of chunk data (so
    /// call again with the rest while `consumed > 0` and not `done`), at the end of the
    /// body, or when `input` is used up. After an error the decoder must not be fed
    /// again.
    pub fn feed<'a>(&mut self, input: &'a [u8]) -> Result<Decoded<'a>, ChunkError> {
        let mut i = 0;
        while i < input.len() {
            let b = input[i];
            match self.state {
                State::Done => break,
                State::Data => {
                    let avail = input.len() - i;
                    let n = usize::try_from(self.remaining).map_or(avail, |r| r.min(avail));
                    self.remaining -= n as u64;
                    if self.remaining == 0 {
                        self.state = State::DataCr;
                    }
                    return Ok(Decoded {
                        consumed: i + n,
                        data: &input[i..i + n],
                        done: false,
                    });
                }
                State::SizeStart | State::Size => match hex_value(b) {
                    Some(d) => {
                        self.size_line_byte()?;
                        let size = self
                            .remaining
                            .checked_mul(16)
                            .and_then(|s| s.checked_add(u64::from(d)))
                            .ok_or(ChunkError::TooLarge)?;
                        let total = self.total.checked_add(size - self.remaining);
                        self.total = total.ok_or(ChunkError::TooLarge)?;
                        if self.total > self.limit {
                            return Err(ChunkError::TooLarge);
                        }
                        self.remaining = size;
                        self.state = State::Size;
                    }
                    None if self.state == State::SizeStart => return Err(ChunkError::Malformed),
                    None => match b {
                        b'\r' => self.state = State::SizeLf,
                        b';' | b' ' | b'\t' => {
                            self.size_line_byte()?;
                            self.state = State::Extension;
                        }
                        _ => return Err(ChunkError::Malformed),
                    },
                },
                State::Extension => match b {
                    b'\r' => self.state = State::SizeLf,
                    b'\t' => self.size_line_byte()?,
                    0..=0x1f | 0x7f => return Err(ChunkError::Malformed),
                    _ => self.size_line_byte()?,
                },
                State::SizeLf => {
                    expect(b, b'\n')?;
                    self.line_len = 0;
                    self.state = if self.remaining == 0 {
                        State::TrailerStart
                    } else {
                        State::Data
                    };
                }
                State::DataCr => {
                    expect(b, b'\r')?;
                    self.state = State::DataLf;
                }
                State::DataLf => {
                    expect(b, b'\n')?;
                    self.state = State::SizeStart;
                }
                State::TrailerStart => {
                    if b == b'\r' {
                        self.state = State::EndLf;
                    } else {
                        self.trailer_colon = false;
                        self.state = State::Trailer;
                        self.trailer_byte(b)?;
                    }
                }
                State::Trailer => {
                    if b == b'\r' {
                        if !self.trailer_colon {
                            return Err(ChunkError::Malformed);
                        }
                        self.state = State::TrailerLf;
                    } else {
                        self.trailer_byte(b)?;
                    }
                }
                State::TrailerLf => {
                    expect(b, b'\n')?;
                    self.state = State::TrailerStart;
                }
                State::EndLf => {
                    expect(b, b'\n')?;
                    self.state = State::Done;
                    return Ok(Decoded {
                        consumed: i + 1,
                        data: &[],
                        done: true,
                    });
                }
            }
            i += 1;
        }
        Ok(Decoded {
            consumed: i,
            data: &[],
            done: self.state == State::Done,
        })
    }

    fn size_line_byte(&mut self) -> Result<(), ChunkError> {
        self.line_len += 1;
        if self.line_len > MAX_SIZE_LINE {
            return Err(ChunkError::Malformed);
        }
        Ok(())
    }

    fn trailer_byte(&mut self, b: u8) -> Result<(), ChunkError> {
        self.trailer_len += 1;
        if self.trailer_len > self.trailer_limit {
            return Err(ChunkError::Malformed);
        }
        match b {
            b':' => self.trailer_colon = true,
            b'\t' => {}
            0..=0x1f | 0x7f => return Err(ChunkError::Malformed),
            _ => {}
        }
        Ok(())
    }
}

fn expect(got: u8, want: u8) -> Result<(), ChunkError> {
    if got == want {
        Ok(())
    } else {
        Err(ChunkError::Malformed)
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What decoding a whole input gave: the body and the bytes used, or `None` if the
    /// input ended before the body did.
    type Outcome = Result<Option<(Vec<u8>, usize)>, ChunkError>;

    /// Decodes `input` made available `step` bytes at a time (0 = all at once).
    fn decode(input: &[u8], step: usize, limit: u64) -> Outcome {
        let mut dec = ChunkedDecoder::new(limit, 1024);
        let mut body = Vec::new();
        let mut pos = 0;
        let mut avail = if step == 0 { input.len() } else { 0 };
        loop {
            let d = dec.feed(&input[pos..avail])?;
            body.extend_from_slice(d.data);
            pos += d.consumed;
            if d.done {
                assert!(dec.is_done());
                return Ok(Some((body, pos)));
            }
            if d.consumed == 0 {
                if avail == input.len() {
                    return Ok(None);
                }
                avail = (avail + step).min(input.len());
            }
        }
    }

    fn all_ways(input: &[u8], limit: u64) -> Outcome {
        let whole = decode(input, 0, limit);
        for step in 1..=input.len().min(9) {
            assert_eq!(decode(input, step, limit), whole, "step {step}");
        }
        whole
    }

    #[test]
    fn simple_body_and_leftover() {
        let input = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nGET /";
        let (body, used) = all_ways(input, 100).unwrap().unwrap();
        assert_eq!(body, b"hello world");
        assert_eq!(used, input.len() - 5);
    }

    #[test]
    fn extensions_and_trailers_are_ignored() {
        let input = b"A;name=value;flag\r\n0123456789\r\n1 ; x=\"q\"\r\n!\r\n0;last\r\nX-Sum: 1\r\nX-Other:\r\n\r\n";
        let (body, used) = all_ways(input, 100).unwrap().unwrap();
        assert_eq!(body, b"0123456789!");
        assert_eq!(used, input.len());
    }

    #[test]
    fn uppercase_hex_and_leading_zeros() {
        let (body, _) = all_ways(b"00000F\r\n0123456789abcde\r\n0\r\n\r\n", 100)
            .unwrap()
            .unwrap();
        assert_eq!(body.len(), 15);
    }

    #[test]
    fn malformed_inputs() {
        for bad in [
            &b"\r\n"[..],
            b"x\r\n",
            b"5\nhello\r\n0\r\n\r\n",
            b"5\r\nhelloX\r\n0\r\n\r\n",
            b"5\r\nhello\rX",
            b"-1\r\n",
            b"5 x\r\0",
            b"0\r\nno colon\r\n\r\n",
            b"0\r\nX: a\nb\r\n\r\n",
            b"0\r\n\rX",
            b"1;\x01\r\n",
        ] {
            assert_eq!(all_ways(bad, 100), Err(ChunkError::Malformed), "{bad:?}");
        }
    }

    #[test]
    fn size_limits() {
        assert_eq!(
            all_ways(b"65\r\n", 100),
            Err(ChunkError::TooLarge),
            "0x65 = 101 > 100"
        );
        assert_eq!(all_ways(b"32\r\n", 100), Ok(None), "50 bytes are fine");
        let two = b"32\r\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n33\r\n";
        assert_eq!(all_ways(two, 100), Err(ChunkError::TooLarge));
        assert_eq!(
            all_ways(b"ffffffffffffffffffffffff\r\n", u64::MAX),
            Err(ChunkError::TooLarge)
        );
        let long_ext = [&b"1;"[..], &[b'a'; MAX_SIZE_LINE]].concat();
        assert_eq!(all_ways(&long_ext, 100), Err(ChunkError::Malformed));
        let mut dec = ChunkedDecoder::new(100, 8);
        assert_eq!(
            dec.feed(b"0\r\nX: 123456\r\n"),
            Err(ChunkError::Malformed),
            "trailer limit"
        );
    }

    #[test]
    fn exact_limit_is_accepted() {
        let input = b"3\r\nabc\r\n0\r\n\r\n";
        assert_eq!(all_ways(input, 3).unwrap().unwrap().0, b"abc");
        assert_eq!(all_ways(input, 2), Err(ChunkError::TooLarge));
    }
}
