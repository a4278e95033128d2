#![no_main]
//! Fuzz target: the ecdsa signature decoder never panics.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = p11_asn1::ec::decode_ecdsa_signature(data, &p11_asn1::ec::CURVES[4]);
});
