//! DER codecs for what PKCS #11 exchanges with the rest of the world: RSA, DSA, DH,
//! EC, EdDSA, ML-DSA, ML-KEM and SLH-DSA keys, domain parameters, signatures, X.509 certificates, and PEM.
//!
//! Pure codecs on [`rasn`]: typed Rust values in, DER out, and back. No PKCS #11 handles
//! here (the `p11` facade maps these to attribute templates), so the crate is usable on
//! its own. Integers are unsigned big-endian byte strings, as PKCS #11 stores them.
//! Every decoder returns an [`Asn1Error`] for bad input: truncated, wrong tags, trailing
//! bytes, absurd lengths, integers that do not fit, unknown curves. None panics.
//!
//! ```
//! use p11_asn1::{ec, PublicKey, RsaPublicKey};
//!
//! let rsa = RsaPublicKey { modulus: vec![0xc5; 128], public_exponent: vec![1, 0, 1] };
//! let der = rsa.to_der()?;
//! assert_eq!(RsaPublicKey::from_der(&der)?, rsa);
//!
//! // CKA_EC_PARAMS for P-256, and a signature converted for OpenSSL.
//! assert_eq!(ec::encode_named_curve_parameters("secp256r1")?,
//!            [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);
//! let raw = [1u8; 64];
//! let der = ec::encode_ecdsa_signature(&raw)?;
//! assert_eq!(ec::decode_ecdsa_signature(&der, ec::curve_by_name("P-256")?)?, raw);
//! # Ok::<(), p11_asn1::Asn1Error>(())
//! ```
#![deny(missing_docs)]
#![warn(clippy::missing_errors_doc)]

pub mod dh;
pub mod dsa;
pub mod ec;
mod error;
mod integer;
pub mod pem;
mod pkcs8;
mod post_quantum;
mod rsa;
mod secret_der;
mod spki;
mod x509;

pub use error::{Asn1Error, Result};
pub use pkcs8::PrivateKey;
pub use post_quantum::{PostQuantumAlgorithm, PostQuantumFamily, PostQuantumPrivateKey};
pub use rsa::{RsaPrivateKey, RsaPublicKey};
pub use spki::{oids, PublicKey};
pub use x509::{CertificateInfo, Date};

/// The minimal unsigned big-endian bytes of a number given in any width (python-pkcs11's
/// `biginteger`): leading zeros dropped, zero as `[0]`.
pub fn biginteger(bytes: &[u8]) -> Vec<u8> {
    integer::trim(bytes)
}

/// The crate README's example, compiled as a doc test (it ships with the package).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
