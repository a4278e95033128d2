//! Certificates and certificate requests signed by token keys (feature `rcgen`): a
//! token key pair as an [`rcgen::SigningKey`], so that rcgen makes a CSR for it, a
//! self-signed certificate, or — as a CA whose key never leaves the token — signs other
//! keys' certificates. The crate is re-exported, so that the types match.
//!
//! ```no_run
//! # fn demo(session: &p11::Session) -> Result<(), Box<dyn std::error::Error>> {
//! use p11::rcgen::{rcgen, TokenKeyPair};
//! use p11::{KeyType, ObjectOptions};
//! let (public, private) = session.generate_keypair(KeyType::EC, 256, &ObjectOptions::new())?;
//! let key = TokenKeyPair::new(private, &public)?;
//! let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()])?;
//! // A request for a CA to sign...
//! let csr = params.serialize_request(&key)?.pem()?;
//! // ...or a certificate of its own, its serial number drawn from the token.
//! params.serial_number = Some(key.random_serial()?);
//! let certificate = params.self_signed(&key)?.pem();
//! # Ok(()) }
//! ```

use crate::keys::{Key, PrivateKey, PublicKey, Sign};
use crate::signing::can_sign;
use p11_core::{Error, KeyType, MechanismType as M, Result};

pub use rcgen;

/// A key pair on the token, for rcgen: its public key (read once from the public
/// object) and its private key, which signs on the token. ECDSA P-256 (SHA-256) and
/// P-384 (SHA-384), RSA PKCS #1 v1.5 with SHA-256, Ed25519.
#[derive(Clone, Debug)]
pub struct TokenKeyPair {
    key: PrivateKey,
    /// The subjectPublicKey bits: the point, the `RSAPublicKey` DER, the Ed25519 key.
    public: Vec<u8>,
    algorithm: &'static rcgen::SignatureAlgorithm,
    mechanism: M,
}

impl TokenKeyPair {
    /// The key pair of `private`, whose public half is `public`.
    ///
    /// # Errors
    /// [`Error::KeyTypeUnsupported`] for a key type not listed above;
    /// [`Error::InvalidArgument`] for an EC key on another curve, or a token without the
    /// signing mechanism; the module's error reading the keys.
    pub fn new(private: PrivateKey, public: &PublicKey) -> Result<Self> {
        let (public, algorithm, mechanism) =
            match (crate::util::public_key_of(public)?, private.key_type()) {
                (p11_asn1::PublicKey::Ec { parameters, point }, KeyType::EC) => {
                    match parameters.curve().ok().map(|c| c.name()) {
                        Some("secp256r1") => {
                            (point, &rcgen::PKCS_ECDSA_P256_SHA256, M::ECDSA_SHA256)
                        }
                        Some("secp384r1") => {
                            (point, &rcgen::PKCS_ECDSA_P384_SHA384, M::ECDSA_SHA384)
                        }
                        _ => {
                            return Err(Error::InvalidArgument(
                                "certificates are signed with ECDSA on P-256 and P-384 only".into(),
                            ))
                        }
                    }
                }
                (p11_asn1::PublicKey::Rsa(rsa), KeyType::RSA) => (
                    rsa.to_der().map_err(crate::util::asn1_error)?,
                    &rcgen::PKCS_RSA_SHA256,
                    M::SHA256_RSA_PKCS,
                ),
                (p11_asn1::PublicKey::Ed25519(key), KeyType::EC_EDWARDS) => {
                    (key, &rcgen::PKCS_ED25519, M::EDDSA)
                }
                (_, key_type) => {
                    return Err(Error::KeyTypeUnsupported {
                        key_type,
                        action: "sign certificates (rcgen) with",
                    })
                }
            };
        if !can_sign(private.session(), mechanism)? {
            return Err(Error::InvalidArgument(
                format!("the token cannot sign {mechanism} (nor compose it from a digest)").into(),
            ));
        }
        Ok(TokenKeyPair {
            key: private,
            public,
            algorithm,
            mechanism,
        })
    }

    /// A serial number for a certificate this key signs: 20 random bytes from the
    /// token, positive, as RFC 5280 asks. Every certificate needs one: rcgen without
    /// its own cryptography (p11 enables none) makes none, and answers
    /// `MissingSerialNumber`.
    ///
    /// # Errors
    /// The module's error from `C_GenerateRandom`.
    pub fn random_serial(&self) -> Result<rcgen::SerialNumber> {
        let mut bytes = self.key.session().generate_random(160)?;
        if let Some(first) = bytes.first_mut() {
            // Positive, and 20 bytes long: the top bit clear, the next set.
            *first = (*first & 0x7f) | 0x40;
        }
        Ok(rcgen::SerialNumber::from(bytes))
    }
}

impl rcgen::PublicKeyData for TokenKeyPair {
    fn der_bytes(&self) -> &[u8] {
        &self.public
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        self.algorithm
    }
}

impl rcgen::SigningKey for TokenKeyPair {
    /// Signs on the token; an ECDSA signature comes DER-encoded, as X.509 carries it.
    /// (rcgen's error has no room for the module's: it is `RemoteKeyError`.)
    fn sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, rcgen::Error> {
        let raw = self
            .key
            .with_mechanism(self.mechanism)
            .sign(message)
            .map_err(|_| rcgen::Error::RemoteKeyError)?;
        match self.mechanism {
            M::ECDSA_SHA256 | M::ECDSA_SHA384 => {
                p11_asn1::ec::encode_ecdsa_signature(&raw).map_err(|_| rcgen::Error::RemoteKeyError)
            }
            _ => Ok(raw),
        }
    }
}
