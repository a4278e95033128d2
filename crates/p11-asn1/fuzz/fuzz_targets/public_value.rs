#![no_main]
//! Fuzz target: the public value decoder never panics.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = p11_asn1::dsa::decode_public_value(data);
});
