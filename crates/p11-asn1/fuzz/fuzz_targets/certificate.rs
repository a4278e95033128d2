#![no_main]
//! Fuzz target: the certificate decoder never panics.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = p11_asn1::CertificateInfo::from_der(data);
});
