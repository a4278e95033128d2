#![no_main]
//! Fuzz target: the spki decoder never panics.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = p11_asn1::PublicKey::from_spki_der(data);
});
