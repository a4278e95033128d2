#![no_main]
//! Fuzz target: the rsa public key decoder never panics.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = p11_asn1::RsaPublicKey::from_der(data);
});
