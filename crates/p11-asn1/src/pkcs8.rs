//! Private keys in PKCS #8 `PrivateKeyInfo` (RFC 5208/5958): RSA, EC, Ed25519, ML-DSA,
//! ML-KEM and SLH-DSA.

use crate::ec::{EcParameters, EcPrivateKey};
use crate::error::{decode, encode, Asn1Error, Result};
use crate::post_quantum::{PostQuantumAlgorithm, PostQuantumPrivateKey};
use crate::rsa::RsaPrivateKey;
use crate::secret_der::{
    secret, Element, Reader, CONTEXT_0, CONTEXT_1_PRIMITIVE, OCTET_STRING, SEQUENCE,
};
use crate::spki::{oid, oids};
use rasn::prelude::*;
use rasn_pkix::AlgorithmIdentifier;
use std::fmt;
use zeroize::Zeroizing;

/// A private key this crate can carry in PKCS #8. Secrets are zeroed on drop and never
/// shown.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PrivateKey {
    /// RSA.
    Rsa(RsaPrivateKey),
    /// EC; its parameters are required here (PKCS #8 carries them in the algorithm).
    Ec(EcPrivateKey),
    /// Ed25519: the 32-byte seed.
    Ed25519(Zeroizing<Vec<u8>>),
    /// ML-DSA, ML-KEM or SLH-DSA.
    PostQuantum(PostQuantumPrivateKey),
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rsa(k) => write!(f, "PrivateKey::Rsa({k:?})"),
            Self::Ec(k) => write!(f, "PrivateKey::Ec({k:?})"),
            Self::Ed25519(_) => f.write_str("PrivateKey::Ed25519(<redacted>)"),
            Self::PostQuantum(k) => write!(f, "PrivateKey::PostQuantum({k:?})"),
        }
    }
}

impl PrivateKey {
    /// PKCS #8 `PrivateKeyInfo` DER (what `openssl pkcs8 -topk8 -nocrypt` writes),
    /// written without leaving copies of the key in freed memory.
    ///
    /// # Errors
    /// `Asn1Error` when the input is not what the format allows, or
    /// a value does not fit it.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>> {
        let (algorithm, parameters, key) = match self {
            Self::Rsa(key) => (oids::RSA, Some(encode("NULL", &())?), key.to_der()?),
            Self::Ec(key) => {
                let parameters = key.parameters.as_ref().ok_or_else(|| Asn1Error::Encode {
                    what: "PrivateKeyInfo",
                    reason: "an EC key needs its curve".into(),
                })?;
                // The curve goes in the algorithm, not again in the ECPrivateKey.
                (
                    oids::EC,
                    Some(parameters.to_der()?),
                    key.element(None).to_der(),
                )
            }
            Self::Ed25519(seed) => (
                oids::ED25519,
                None,
                Element::Primitive(OCTET_STRING, seed).to_der(),
            ),
            Self::PostQuantum(key) => (key.algorithm().oid(), None, key.to_der()),
        };
        let algorithm = encode(
            "AlgorithmIdentifier",
            &AlgorithmIdentifier {
                algorithm: oid(algorithm),
                parameters: parameters.map(Any::new),
            },
        )?;
        Ok(Element::Constructed(
            SEQUENCE,
            vec![
                Element::Unsigned(&[0]),
                Element::Raw(&algorithm),
                Element::Primitive(OCTET_STRING, &key),
            ],
        )
        .to_der())
    }

    /// From PKCS #8 `PrivateKeyInfo` DER (unencrypted, v1 or v2). The key's secrets are
    /// copied once, into memory wiped when dropped.
    ///
    /// # Errors
    /// `Asn1Error` when the input is not what the format allows, or
    /// a value does not fit it.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        let mut info = Reader::outer("PrivateKeyInfo", der, SEQUENCE)?;
        info.small("version")?;
        let algorithm: AlgorithmIdentifier = decode("AlgorithmIdentifier", info.any()?)?;
        let key = info.expect(OCTET_STRING)?;
        if info.peek() == Some(CONTEXT_0) {
            info.any()?; // attributes
        }
        if info.peek() == Some(CONTEXT_1_PRIMITIVE) {
            info.any()?; // the public key (v2)
        }
        info.finish()?;
        let oid_arcs: &[u32] = &algorithm.algorithm;
        Ok(match oid_arcs {
            oids::RSA => Self::Rsa(RsaPrivateKey::from_der(key)?),
            oids::EC => {
                let mut ec = EcPrivateKey::from_der(key)?;
                let parameters = algorithm.parameters.ok_or_else(|| Asn1Error::Der {
                    what: "PrivateKeyInfo",
                    reason: "an EC key without its curve".into(),
                })?;
                ec.parameters = Some(EcParameters::from_der(parameters.as_bytes())?);
                Self::Ec(ec)
            }
            oids::ED25519 => {
                let seed = Reader::outer("CurvePrivateKey", key, OCTET_STRING)?;
                let seed = seed.rest_bytes();
                if seed.len() != 32 {
                    return Err(Asn1Error::Length {
                        what: "an Ed25519 private key",
                        expected: "32".into(),
                        actual: seed.len(),
                    });
                }
                Self::Ed25519(secret(seed))
            }
            arcs => match PostQuantumAlgorithm::from_oid(arcs) {
                Some(pq) if algorithm.parameters.is_none() => {
                    Self::PostQuantum(PostQuantumPrivateKey::from_der(pq, key)?)
                }
                Some(pq) => {
                    return Err(Asn1Error::Der {
                        what: "PrivateKeyInfo",
                        reason: format!("{pq} takes no algorithm parameters"),
                    })
                }
                None => {
                    return Err(Asn1Error::UnknownOid {
                        what: "private key algorithm",
                        oid: crate::ec::dotted(&algorithm.algorithm),
                    })
                }
            },
        })
    }
}
