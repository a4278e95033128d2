#![no_main]
//! Fuzz target: the dsa parameters decoder never panics.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = p11_asn1::dsa::DsaParameters::from_der(data);
});
