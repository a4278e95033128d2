#![no_main]
//! Fuzz target: the dh parameters decoder never panics.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = p11_asn1::dh::DhParameters::from_der(data);
});
