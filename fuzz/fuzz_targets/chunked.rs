//! Arbitrary bytes, fed whole and in the pieces the input's first bytes describe
//! (see `evloop_fuzz::split_case`): no panic, same result, within the limits.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|raw: &[u8]| {
    let (cuts, data) = evloop_fuzz::split_case(raw);
    let _ = evloop_fuzz::check_chunked(&data, &cuts);
});
