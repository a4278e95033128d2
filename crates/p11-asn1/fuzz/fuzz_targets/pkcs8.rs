#![no_main]
//! Fuzz target: the pkcs8 decoder never panics.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = p11_asn1::PrivateKey::from_pkcs8_der(data);
});
