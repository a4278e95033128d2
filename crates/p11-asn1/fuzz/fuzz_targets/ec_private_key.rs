#![no_main]
//! Fuzz target: the ec private key decoder never panics.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = p11_asn1::ec::EcPrivateKey::from_der(data);
});
