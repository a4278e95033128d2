//! Token keys in the RustCrypto ecosystem (feature `rustcrypto`): private keys as
//! [`signature::Signer`]s with their [`signature::Keypair`] verifying keys, public keys
//! as [`spki::EncodePublicKey`]. The private key never leaves the token; the verifying
//! key is read from the public key object. The crates are re-exported, so that the
//! types match.
//!
//! ```no_run
//! # fn demo(session: &p11::Session) -> Result<(), Box<dyn std::error::Error>> {
//! use p11::rustcrypto::signature::{Keypair, Signer, Verifier};
//! use p11::rustcrypto::{p256, P256Signer};
//! use p11::{KeyType, ObjectOptions};
//! let (public, private) = session.generate_keypair(KeyType::EC, 256, &ObjectOptions::new())?;
//! let signer = P256Signer::new(private, &public)?;
//! let signature: p256::ecdsa::Signature = signer.try_sign(b"message")?;
//! signer.verifying_key().verify(b"message", &signature)?;
//! # Ok(()) }
//! ```

use crate::keys::{PrivateKey, PublicKey, Sign};
use p11_core::{Error, MechanismType as M, Result};
use spki::DecodePublicKey;

pub use {ecdsa, ed25519, ed25519_dalek, p256, p384, rsa, sha2, signature, spki};

/// The public key's SubjectPublicKeyInfo, read as a RustCrypto verifying key.
fn verifying_key<K: DecodePublicKey>(public: &PublicKey) -> Result<K> {
    K::from_public_key_der(&public.to_spki_der()?).map_err(|e| Error::Encoding {
        what: "the public key, for RustCrypto",
        source: Box::new(e),
    })
}

/// Signs `message` with `mechanism` on the token (composing hash and raw signature
/// where the token lacks the combined mechanism); `make` types the bytes.
fn sign_on_token<S>(
    key: &PrivateKey,
    mechanism: M,
    message: &[u8],
    make: impl FnOnce(&[u8]) -> std::result::Result<S, signature::Error>,
) -> std::result::Result<S, signature::Error> {
    let raw = key
        .with_mechanism(mechanism)
        .sign(message)
        .map_err(signature::Error::from_source)?;
    make(&raw)
}

/// An ECDSA key on the token, signing with the curve's hash (SHA-256 on P-256, SHA-384
/// on P-384) as RustCrypto's ECDSA does: `ecdsa::Signature` and its DER form.
#[derive(Clone, Debug)]
pub struct EcdsaSigner<C: ecdsa::EcdsaCurve + ecdsa::elliptic_curve::CurveArithmetic> {
    key: PrivateKey,
    verifying: ecdsa::VerifyingKey<C>,
}

macro_rules! ecdsa_signer {
    ($($curve:ident: $krate:ident, $mechanism:ident;)*) => {$(
        impl EcdsaSigner<$krate::$curve> {
            /// The signer for `private`, whose public half is `public`.
            ///
            /// # Errors
            /// The module's error reading the public key; [`Error::Encoding`] for a
            /// public key that is not on this curve.
            pub fn new(private: PrivateKey, public: &PublicKey) -> Result<Self> {
                Ok(EcdsaSigner {
                    key: private,
                    verifying: verifying_key(public)?,
                })
            }
        }

        impl signature::Signer<$krate::ecdsa::Signature> for EcdsaSigner<$krate::$curve> {
            fn try_sign(
                &self,
                message: &[u8],
            ) -> std::result::Result<$krate::ecdsa::Signature, signature::Error> {
                sign_on_token(&self.key, M::$mechanism, message, |raw| {
                    $krate::ecdsa::Signature::from_slice(raw)
                })
            }
        }

        impl signature::Signer<$krate::ecdsa::DerSignature> for EcdsaSigner<$krate::$curve> {
            fn try_sign(
                &self,
                message: &[u8],
            ) -> std::result::Result<$krate::ecdsa::DerSignature, signature::Error> {
                let fixed: $krate::ecdsa::Signature = self.try_sign(message)?;
                Ok(fixed.to_der())
            }
        }

        impl signature::Keypair for EcdsaSigner<$krate::$curve> {
            type VerifyingKey = $krate::ecdsa::VerifyingKey;

            fn verifying_key(&self) -> Self::VerifyingKey {
                self.verifying
            }
        }
    )*};
}

ecdsa_signer! {
    NistP256: p256, ECDSA_SHA256;
    NistP384: p384, ECDSA_SHA384;
}

/// A P-256 key on the token signing ECDSA with SHA-256: `P256Signer::new(private,
/// &public)`, no curve to name.
pub type P256Signer = EcdsaSigner<p256::NistP256>;

/// A P-384 key on the token signing ECDSA with SHA-384.
pub type P384Signer = EcdsaSigner<p384::NistP384>;

/// An RSA key on the token signing PKCS #1 v1.5 with the hash `D` (SHA-256, SHA-384,
/// SHA-512): `rsa::pkcs1v15::Signature`.
#[derive(Clone, Debug)]
pub struct RsaPkcs1v15Signer<D: sha2::Digest> {
    key: PrivateKey,
    verifying: rsa::pkcs1v15::VerifyingKey<D>,
}

/// An RSA key on the token signing PSS with the hash `D` and a salt of its length:
/// `rsa::pss::Signature`.
#[derive(Clone, Debug)]
pub struct RsaPssSigner<D: sha2::Digest> {
    key: PrivateKey,
    verifying: rsa::pss::VerifyingKey<D>,
}

macro_rules! rsa_signer {
    ($($hash:ident: $pkcs1:ident, $pss:ident;)*) => {$(
        impl RsaPkcs1v15Signer<sha2::$hash> {
            /// The signer for `private`, whose public half is `public`.
            ///
            /// # Errors
            /// The module's error reading the public key; [`Error::Encoding`] for one
            /// that is no RSA key.
            pub fn new(private: PrivateKey, public: &PublicKey) -> Result<Self> {
                let key: rsa::PublicKey = verifying_key(public)?;
                Ok(RsaPkcs1v15Signer {
                    key: private,
                    verifying: rsa::pkcs1v15::VerifyingKey::new(key),
                })
            }
        }

        impl signature::Signer<rsa::pkcs1v15::Signature> for RsaPkcs1v15Signer<sha2::$hash> {
            fn try_sign(
                &self,
                message: &[u8],
            ) -> std::result::Result<rsa::pkcs1v15::Signature, signature::Error> {
                sign_on_token(&self.key, M::$pkcs1, message, |raw| {
                    rsa::pkcs1v15::Signature::try_from(raw)
                })
            }
        }

        impl signature::Keypair for RsaPkcs1v15Signer<sha2::$hash> {
            type VerifyingKey = rsa::pkcs1v15::VerifyingKey<sha2::$hash>;

            fn verifying_key(&self) -> Self::VerifyingKey {
                self.verifying.clone()
            }
        }

        impl RsaPssSigner<sha2::$hash> {
            /// The signer for `private`, whose public half is `public`.
            ///
            /// # Errors
            /// As [`RsaPkcs1v15Signer::new`].
            pub fn new(private: PrivateKey, public: &PublicKey) -> Result<Self> {
                let key: rsa::PublicKey = verifying_key(public)?;
                Ok(RsaPssSigner {
                    key: private,
                    verifying: rsa::pss::VerifyingKey::new(key),
                })
            }
        }

        impl signature::Signer<rsa::pss::Signature> for RsaPssSigner<sha2::$hash> {
            fn try_sign(
                &self,
                message: &[u8],
            ) -> std::result::Result<rsa::pss::Signature, signature::Error> {
                sign_on_token(&self.key, M::$pss, message, |raw| {
                    rsa::pss::Signature::try_from(raw)
                })
            }
        }

        impl signature::Keypair for RsaPssSigner<sha2::$hash> {
            type VerifyingKey = rsa::pss::VerifyingKey<sha2::$hash>;

            fn verifying_key(&self) -> Self::VerifyingKey {
                self.verifying.clone()
            }
        }
    )*};
}

rsa_signer! {
    Sha256: SHA256_RSA_PKCS, SHA256_RSA_PKCS_PSS;
    Sha384: SHA384_RSA_PKCS, SHA384_RSA_PKCS_PSS;
    Sha512: SHA512_RSA_PKCS, SHA512_RSA_PKCS_PSS;
}

/// An Ed25519 key on the token: `ed25519::Signature`, verified by `ed25519-dalek`.
#[derive(Clone, Debug)]
pub struct Ed25519Signer {
    key: PrivateKey,
    verifying: ed25519_dalek::VerifyingKey,
}

impl Ed25519Signer {
    /// The signer for `private`, whose public half is `public`.
    ///
    /// # Errors
    /// The module's error reading the public key; [`Error::Encoding`] for one that is
    /// no Ed25519 key.
    pub fn new(private: PrivateKey, public: &PublicKey) -> Result<Self> {
        Ok(Ed25519Signer {
            key: private,
            verifying: verifying_key(public)?,
        })
    }
}

impl signature::Signer<ed25519::Signature> for Ed25519Signer {
    fn try_sign(
        &self,
        message: &[u8],
    ) -> std::result::Result<ed25519::Signature, signature::Error> {
        sign_on_token(&self.key, M::EDDSA, message, ed25519::Signature::from_slice)
    }
}

impl signature::Keypair for Ed25519Signer {
    type VerifyingKey = ed25519_dalek::VerifyingKey;

    fn verifying_key(&self) -> Self::VerifyingKey {
        self.verifying
    }
}

/// A token public key as SubjectPublicKeyInfo, for RustCrypto's `spki`/`pkcs8` users.
impl spki::EncodePublicKey for PublicKey {
    fn to_public_key_der(&self) -> spki::Result<spki::Document> {
        let der = self.to_spki_der().map_err(|_| spki::Error::KeyMalformed)?;
        spki::Document::try_from(der).map_err(spki::Error::from)
    }
}
