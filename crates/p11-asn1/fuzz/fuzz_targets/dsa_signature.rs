#![no_main]
//! Fuzz target: the dsa signature decoder never panics.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = p11_asn1::dsa::decode_dsa_signature(data, 32);
});
