//! The record decoder on arbitrary bytes: a schema from the first bytes, then the stream
//! (datax_odps::fuzz_input). It must return, never panic, hang or allocate wildly.

#![no_main]

libfuzzer_sys::fuzz_target!(|input: &[u8]| {
    let _ = datax_odps::fuzz_input::decode(input);
});
