#![no_main]
//! Fuzz target: the ec point decoder never panics.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = p11_asn1::ec::decode_ec_point(data);
});
