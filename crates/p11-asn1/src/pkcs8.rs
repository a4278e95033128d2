//! Private keys in PKCS #8 `PrivateKeyInfo` (RFC 5208/5958): RSA, EC and Ed25519.

use crate::ec::{EcParameters, EcPrivateKey};
use crate::error::{decode, encode, Asn1Error, Result};
use crate::rsa::RsaPrivateKey;
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
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rsa(k) => write!(f, "PrivateKey::Rsa({k:?})"),
            Self::Ec(k) => write!(f, "PrivateKey::Ec({k:?})"),
            Self::Ed25519(_) => f.write_str("PrivateKey::Ed25519(<redacted>)"),
        }
    }
}

#[derive(AsnType, Decode, Encode)]
struct PrivateKeyInfoAsn {
    version: Integer,
    private_key_algorithm: AlgorithmIdentifier,
    private_key: OctetString,
    #[rasn(tag(0))]
    attributes: Option<SetOf<rasn_pkix::Attribute>>,
    #[rasn(tag(1))]
    public_key: Option<BitString>,
}

impl PrivateKey {
    /// PKCS #8 `PrivateKeyInfo` DER (what `openssl pkcs8 -topk8 -nocrypt` writes).
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>> {
        let (algorithm, parameters, key) = match self {
            Self::Rsa(key) => (oids::RSA, Some(encode("NULL", &())?), key.to_der()?),
            Self::Ec(key) => {
                let parameters = key.parameters.as_ref().ok_or_else(|| Asn1Error::Encode {
                    what: "PrivateKeyInfo",
                    reason: "an EC key needs its curve".into(),
                })?;
                // The curve goes in the algorithm, not again in the ECPrivateKey.
                let inner = EcPrivateKey {
                    parameters: None,
                    ..key.clone()
                };
                (oids::EC, Some(parameters.to_der()?), inner.to_der()?)
            }
            Self::Ed25519(seed) => (
                oids::ED25519,
                None,
                Zeroizing::new(encode("CurvePrivateKey", &OctetString::from_slice(seed))?),
            ),
        };
        let info = PrivateKeyInfoAsn {
            version: Integer::ZERO,
            private_key_algorithm: AlgorithmIdentifier {
                algorithm: oid(algorithm),
                parameters: parameters.map(Any::new),
            },
            private_key: OctetString::from_slice(&key),
            attributes: None,
            public_key: None,
        };
        encode("PrivateKeyInfo", &info).map(Zeroizing::new)
    }

    /// From PKCS #8 `PrivateKeyInfo` DER (unencrypted).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        let info: PrivateKeyInfoAsn = decode("PrivateKeyInfo", der)?;
        let key = Zeroizing::new(info.private_key.to_vec());
        let algorithm: &[u32] = &info.private_key_algorithm.algorithm;
        Ok(match algorithm {
            oids::RSA => Self::Rsa(RsaPrivateKey::from_der(&key)?),
            oids::EC => {
                let mut ec = EcPrivateKey::from_der(&key)?;
                let parameters =
                    info.private_key_algorithm
                        .parameters
                        .ok_or_else(|| Asn1Error::Der {
                            what: "PrivateKeyInfo",
                            reason: "an EC key without its curve".into(),
                        })?;
                ec.parameters = Some(EcParameters::from_der(parameters.as_bytes())?);
                Self::Ec(ec)
            }
            oids::ED25519 => {
                let seed: OctetString = decode("CurvePrivateKey", &key)?;
                if seed.len() != 32 {
                    return Err(Asn1Error::Length {
                        what: "an Ed25519 private key",
                        expected: "32".into(),
                        actual: seed.len(),
                    });
                }
                Self::Ed25519(Zeroizing::new(seed.to_vec()))
            }
            _ => {
                return Err(Asn1Error::UnknownOid {
                    what: "private key algorithm",
                    oid: crate::ec::dotted(&info.private_key_algorithm.algorithm),
                })
            }
        })
    }
}
