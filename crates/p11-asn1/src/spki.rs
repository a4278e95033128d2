//! Public keys of every kind, to and from X.509 `SubjectPublicKeyInfo`.

use crate::dh::{DhParameters, X942DhParameters};
use crate::dsa::{decode_public_value, encode_public_value, DsaParameters};
use crate::ec::{curve_by_oid, dotted, EcParameters};
use crate::error::{decode, encode, Asn1Error, Result};
use crate::post_quantum::PostQuantumAlgorithm;
use crate::rsa::RsaPublicKey;
use rasn::prelude::*;
use rasn_pkix::{AlgorithmIdentifier, SubjectPublicKeyInfo};
use std::borrow::Cow;

/// Key algorithm OIDs.
pub mod oids {
    /// rsaEncryption (PKCS #1).
    pub const RSA: &[u32] = &[1, 2, 840, 113549, 1, 1, 1];
    /// id-dsa (RFC 3279).
    pub const DSA: &[u32] = &[1, 2, 840, 10040, 4, 1];
    /// dhKeyAgreement (PKCS #3).
    pub const DH: &[u32] = &[1, 2, 840, 113549, 1, 3, 1];
    /// dhpublicnumber (X9.42, RFC 3279).
    pub const X942_DH: &[u32] = &[1, 2, 840, 10046, 2, 1];
    /// id-ecPublicKey (RFC 5480).
    pub const EC: &[u32] = &[1, 2, 840, 10045, 2, 1];
    /// id-X25519 (RFC 8410).
    pub const X25519: &[u32] = &[1, 3, 101, 110];
    /// id-X448.
    pub const X448: &[u32] = &[1, 3, 101, 111];
    /// id-Ed25519.
    pub const ED25519: &[u32] = &[1, 3, 101, 112];
    /// id-Ed448.
    pub const ED448: &[u32] = &[1, 3, 101, 113];
}

pub(crate) fn oid(arcs: &'static [u32]) -> ObjectIdentifier {
    ObjectIdentifier::new_unchecked(Cow::Borrowed(arcs))
}

/// A public key of any kind this crate knows.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublicKey {
    /// RSA.
    Rsa(RsaPublicKey),
    /// DSA: the parameters (absent when inherited from an issuer) and `y`.
    Dsa {
        /// Domain parameters.
        parameters: Option<DsaParameters>,
        /// The public value.
        y: Vec<u8>,
    },
    /// PKCS #3 Diffie-Hellman.
    Dh {
        /// Domain parameters.
        parameters: DhParameters,
        /// The public value.
        y: Vec<u8>,
    },
    /// X9.42 Diffie-Hellman.
    X942Dh {
        /// Domain parameters.
        parameters: X942DhParameters,
        /// The public value.
        y: Vec<u8>,
    },
    /// An EC (Weierstrass) key: the curve and the raw point (`04 || X || Y`).
    Ec {
        /// The curve.
        parameters: EcParameters,
        /// The raw point.
        point: Vec<u8>,
    },
    /// Ed25519: the 32-byte key.
    Ed25519(Vec<u8>),
    /// Ed448: the 57-byte key.
    Ed448(Vec<u8>),
    /// X25519: the 32-byte key.
    X25519(Vec<u8>),
    /// X448: the 56-byte key.
    X448(Vec<u8>),
    /// ML-DSA, ML-KEM or SLH-DSA: the parameter set and the raw key (FIPS 203/204/205
    /// encoding, as PKCS #11 keeps it in `CKA_VALUE`).
    PostQuantum {
        /// The parameter set.
        algorithm: PostQuantumAlgorithm,
        /// The raw public key.
        key: Vec<u8>,
    },
}

impl PublicKey {
    /// `SubjectPublicKeyInfo` DER (python-pkcs11's `encode_ec_public_key`, and the SPKI
    /// form of the others).
    ///
    /// # Errors
    /// `Asn1Error` when the input is not what the format allows, or
    /// a value does not fit it.
    pub fn to_spki_der(&self) -> Result<Vec<u8>> {
        let (algorithm, parameters, key) = match self {
            Self::Rsa(key) => (oids::RSA, Some(encode("NULL", &())?), key.to_der()?),
            Self::Dsa { parameters, y } => (
                oids::DSA,
                parameters.as_ref().map(DsaParameters::to_der).transpose()?,
                encode_public_value(y)?,
            ),
            Self::Dh { parameters, y } => (
                oids::DH,
                Some(parameters.to_der()?),
                encode_public_value(y)?,
            ),
            Self::X942Dh { parameters, y } => (
                oids::X942_DH,
                Some(parameters.to_der()?),
                encode_public_value(y)?,
            ),
            Self::Ec { parameters, point } => (oids::EC, Some(parameters.to_der()?), point.clone()),
            Self::Ed25519(key) => (oids::ED25519, None, key.clone()),
            Self::Ed448(key) => (oids::ED448, None, key.clone()),
            Self::X25519(key) => (oids::X25519, None, key.clone()),
            Self::X448(key) => (oids::X448, None, key.clone()),
            Self::PostQuantum { algorithm, key } => {
                algorithm.check_public_key(key)?;
                (algorithm.oid(), None, key.clone())
            }
        };
        let spki = SubjectPublicKeyInfo {
            algorithm: AlgorithmIdentifier {
                algorithm: oid(algorithm),
                parameters: parameters.map(Any::new),
            },
            subject_public_key: BitString::from_vec(key),
        };
        encode("SubjectPublicKeyInfo", &spki)
    }

    /// From `SubjectPublicKeyInfo` DER (python-pkcs11's `decode_ec_public_key` and the
    /// SPKI decoding inside `decode_x509_public_key`).
    ///
    /// # Errors
    /// `Asn1Error` when the input is not what the format allows, or
    /// a value does not fit it.
    pub fn from_spki_der(der: &[u8]) -> Result<Self> {
        Self::from_spki(&decode("SubjectPublicKeyInfo", der)?)
    }

    pub(crate) fn from_spki(spki: &SubjectPublicKeyInfo) -> Result<Self> {
        let key = spki.subject_public_key.as_raw_slice();
        let parameters = spki.algorithm.parameters.as_ref().map(Any::as_bytes);
        let need = |what: &'static str| {
            parameters.ok_or_else(|| Asn1Error::Der {
                what,
                reason: "the algorithm parameters are missing".into(),
            })
        };
        let algorithm: &[u32] = &spki.algorithm.algorithm;
        Ok(match algorithm {
            oids::RSA => Self::Rsa(RsaPublicKey::from_der(key)?),
            oids::DSA => Self::Dsa {
                parameters: parameters.map(DsaParameters::from_der).transpose()?,
                y: decode_public_value(key)?,
            },
            oids::DH => Self::Dh {
                parameters: DhParameters::from_der(need("DHParameter")?)?,
                y: decode_public_value(key)?,
            },
            oids::X942_DH => Self::X942Dh {
                parameters: X942DhParameters::from_der(need("DomainParameters")?)?,
                y: decode_public_value(key)?,
            },
            oids::EC => Self::Ec {
                parameters: EcParameters::from_der(need("ECParameters")?)?,
                point: key.to_vec(),
            },
            oids::ED25519 | oids::ED448 | oids::X25519 | oids::X448 => {
                let curve = curve_by_oid(&spki.algorithm.algorithm)?;
                if key.len() != curve.field_len {
                    return Err(Asn1Error::Length {
                        what: "an Edwards or Montgomery public key",
                        expected: curve.field_len.to_string(),
                        actual: key.len(),
                    });
                }
                let key = key.to_vec();
                match algorithm {
                    oids::ED25519 => Self::Ed25519(key),
                    oids::ED448 => Self::Ed448(key),
                    oids::X25519 => Self::X25519(key),
                    _ => Self::X448(key),
                }
            }
            _ => match PostQuantumAlgorithm::from_oid(algorithm) {
                Some(algorithm) => {
                    if parameters.is_some() {
                        return Err(Asn1Error::Der {
                            what: "SubjectPublicKeyInfo",
                            reason: format!("{algorithm} takes no algorithm parameters"),
                        });
                    }
                    algorithm.check_public_key(key)?;
                    Self::PostQuantum {
                        algorithm,
                        key: key.to_vec(),
                    }
                }
                None => {
                    return Err(Asn1Error::UnknownOid {
                        what: "public key algorithm",
                        oid: dotted(&spki.algorithm.algorithm),
                    })
                }
            },
        })
    }
}
