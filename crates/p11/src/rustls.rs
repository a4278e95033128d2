//! Token keys as rustls signing keys (feature `rustls`): a TLS server or client whose
//! private key stays on the token.
//!
//! ```no_run
//! # fn demo(session: &p11::Session, chain: Vec<p11::rustls::tls::pki_types::CertificateDer<'static>>)
//! #     -> Result<(), Box<dyn std::error::Error>> {
//! use p11::rustls::TokenSigningKey;
//! use p11::{KeyType, ObjectOptions};
//! use std::sync::Arc;
//! let (public, private) = session.generate_keypair(KeyType::EC, 256, &ObjectOptions::new())?;
//! let key = TokenSigningKey::new(private, &public)?;
//! let certified = p11::rustls::tls::sign::CertifiedKey::new(chain, Arc::new(key));
//! # Ok(()) }
//! ```

use crate::keys::{Key, PrivateKey, PublicKey, Sign};
use crate::signing::can_sign;
use p11_core::{Error, KeyType, MechanismType as M, Result};
use rustls::pki_types::SubjectPublicKeyInfoDer;
use rustls::sign::{Signer, SigningKey};
use rustls::{SignatureAlgorithm, SignatureScheme};

pub use rustls as tls;

/// A token's private key for rustls: it offers exactly the schemes its key type allows
/// and the token can sign (with the combined mechanism, or the hash and raw signature
/// p11 composes), in order of preference.
#[derive(Debug)]
pub struct TokenSigningKey {
    key: PrivateKey,
    spki: Vec<u8>,
    algorithm: SignatureAlgorithm,
    schemes: Vec<(SignatureScheme, M)>,
}

impl TokenSigningKey {
    /// The signing key for `private`, whose public half is `public` (read for its curve
    /// and its SubjectPublicKeyInfo). ECDSA on P-256 and P-384, RSA (PSS, then PKCS #1
    /// v1.5 for TLS 1.2), Ed25519.
    ///
    /// # Errors
    /// [`Error::KeyTypeUnsupported`] for a key type rustls cannot use;
    /// [`Error::InvalidArgument`] for an EC key on a curve rustls lacks, or one the token
    /// offers no scheme for; the module's error reading the keys.
    pub fn new(private: PrivateKey, public: &PublicKey) -> Result<Self> {
        // Read once: the key's type and curve, and its SPKI, come from the same read.
        let key = crate::util::public_key_of(public)?;
        let spki = key.to_spki_der().map_err(crate::util::asn1_error)?;
        let (algorithm, candidates): (SignatureAlgorithm, &[(SignatureScheme, M)]) =
            match (&key, private.key_type()) {
                (p11_asn1::PublicKey::Ec { parameters, .. }, KeyType::EC) => {
                    let curve = parameters.curve().ok().map(|c| c.name());
                    match curve {
                        Some("secp256r1") => (
                            SignatureAlgorithm::ECDSA,
                            &[(SignatureScheme::ECDSA_NISTP256_SHA256, M::ECDSA_SHA256)],
                        ),
                        Some("secp384r1") => (
                            SignatureAlgorithm::ECDSA,
                            &[(SignatureScheme::ECDSA_NISTP384_SHA384, M::ECDSA_SHA384)],
                        ),
                        _ => {
                            return Err(Error::InvalidArgument(
                                "rustls signs ECDSA on P-256 and P-384 only".into(),
                            ))
                        }
                    }
                }
                (p11_asn1::PublicKey::Rsa(_), KeyType::RSA) => (
                    SignatureAlgorithm::RSA,
                    &[
                        (SignatureScheme::RSA_PSS_SHA512, M::SHA512_RSA_PKCS_PSS),
                        (SignatureScheme::RSA_PSS_SHA384, M::SHA384_RSA_PKCS_PSS),
                        (SignatureScheme::RSA_PSS_SHA256, M::SHA256_RSA_PKCS_PSS),
                        (SignatureScheme::RSA_PKCS1_SHA512, M::SHA512_RSA_PKCS),
                        (SignatureScheme::RSA_PKCS1_SHA384, M::SHA384_RSA_PKCS),
                        (SignatureScheme::RSA_PKCS1_SHA256, M::SHA256_RSA_PKCS),
                    ],
                ),
                (p11_asn1::PublicKey::Ed25519(_), KeyType::EC_EDWARDS) => (
                    SignatureAlgorithm::ED25519,
                    &[(SignatureScheme::ED25519, M::EDDSA)],
                ),
                (_, key_type) => {
                    return Err(Error::KeyTypeUnsupported {
                        key_type,
                        action: "sign TLS handshakes (rustls) with",
                    })
                }
            };
        let mut schemes = Vec::new();
        for (scheme, mechanism) in candidates {
            if can_sign(private.session(), *mechanism)? {
                schemes.push((*scheme, *mechanism));
            }
        }
        if schemes.is_empty() {
            return Err(Error::InvalidArgument(
                "the token offers none of the TLS signature schemes for this key".into(),
            ));
        }
        Ok(TokenSigningKey {
            key: private,
            spki,
            algorithm,
            schemes,
        })
    }

    /// The schemes it offers, in order of preference.
    pub fn schemes(&self) -> Vec<SignatureScheme> {
        self.schemes.iter().map(|(scheme, _)| *scheme).collect()
    }
}

impl SigningKey for TokenSigningKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        let (scheme, mechanism) = self
            .schemes
            .iter()
            .find(|(scheme, _)| offered.contains(scheme))?;
        Some(Box::new(TokenSigner {
            key: self.key.clone(),
            scheme: *scheme,
            mechanism: *mechanism,
        }))
    }

    fn public_key(&self) -> Option<SubjectPublicKeyInfoDer<'_>> {
        Some(SubjectPublicKeyInfoDer::from(self.spki.as_slice()))
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }
}

/// One handshake's signature, with the scheme chosen.
#[derive(Debug)]
struct TokenSigner {
    key: PrivateKey,
    scheme: SignatureScheme,
    mechanism: M,
}

impl Signer for TokenSigner {
    fn sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, rustls::Error> {
        let failed = |e: Error| rustls::Error::General(format!("token signature: {e}"));
        let raw = self
            .key
            .with_mechanism(self.mechanism)
            .sign(message)
            .map_err(failed)?;
        if self.key.key_type() == KeyType::EC {
            // TLS carries ECDSA signatures as DER; PKCS #11 makes r || s.
            return p11_asn1::ec::encode_ecdsa_signature(&raw)
                .map_err(|e| rustls::Error::General(format!("ECDSA signature: {e}")));
        }
        Ok(raw)
    }

    fn scheme(&self) -> SignatureScheme {
        self.scheme
    }
}
