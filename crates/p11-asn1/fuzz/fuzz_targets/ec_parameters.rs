#![no_main]
//! Fuzz target: the ec parameters decoder never panics.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = p11_asn1::ec::EcParameters::from_der(data);
});
