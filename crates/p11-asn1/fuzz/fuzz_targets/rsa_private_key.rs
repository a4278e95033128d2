#![no_main]
//! Fuzz target: the rsa private key decoder never panics.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = p11_asn1::RsaPrivateKey::from_der(data);
});
