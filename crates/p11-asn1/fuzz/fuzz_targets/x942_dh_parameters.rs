#![no_main]
//! Fuzz target: the x942 dh parameters decoder never panics.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = p11_asn1::dh::X942DhParameters::from_der(data);
});
