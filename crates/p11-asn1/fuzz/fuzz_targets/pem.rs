#![no_main]
//! Fuzz target: the pem decoder never panics.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) { let _ = p11_asn1::pem::decode(text); }
});
