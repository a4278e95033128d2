//! RSA keys: PKCS #1 `RSAPublicKey` and `RSAPrivateKey` (RFC 8017, appendix A.1).

use crate::error::{decode, encode, Result};
use crate::integer::{from_unsigned, to_unsigned};
use rasn::prelude::*;
use std::fmt;
use zeroize::Zeroizing;

/// An RSA public key: modulus and public exponent, unsigned big-endian.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RsaPublicKey {
    /// `n`.
    pub modulus: Vec<u8>,
    /// `e`.
    pub public_exponent: Vec<u8>,
}

/// An RSA private key with all its CRT values. Every secret field is zeroed on drop,
/// and `Debug` shows only the modulus length.
#[derive(Clone, PartialEq, Eq)]
pub struct RsaPrivateKey {
    /// `n`.
    pub modulus: Vec<u8>,
    /// `e`.
    pub public_exponent: Vec<u8>,
    /// `d`.
    pub private_exponent: Zeroizing<Vec<u8>>,
    /// `p`.
    pub prime_1: Zeroizing<Vec<u8>>,
    /// `q`.
    pub prime_2: Zeroizing<Vec<u8>>,
    /// `d mod (p-1)`.
    pub exponent_1: Zeroizing<Vec<u8>>,
    /// `d mod (q-1)`.
    pub exponent_2: Zeroizing<Vec<u8>>,
    /// `q^-1 mod p`.
    pub coefficient: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for RsaPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "RsaPrivateKey({} bits, <redacted>)",
            self.modulus.len() * 8
        )
    }
}

#[derive(AsnType, Decode, Encode)]
struct RsaPublicKeyAsn {
    modulus: Integer,
    public_exponent: Integer,
}

#[derive(AsnType, Decode, Encode)]
struct RsaPrivateKeyAsn {
    version: Integer,
    modulus: Integer,
    public_exponent: Integer,
    private_exponent: Integer,
    prime1: Integer,
    prime2: Integer,
    exponent1: Integer,
    exponent2: Integer,
    coefficient: Integer,
    other_prime_infos: Option<SequenceOf<Any>>,
}

impl RsaPublicKey {
    /// PKCS #1 `RSAPublicKey` DER (python-pkcs11's `encode_rsa_public_key`).
    pub fn to_der(&self) -> Result<Vec<u8>> {
        encode(
            "RSAPublicKey",
            &RsaPublicKeyAsn {
                modulus: from_unsigned(&self.modulus),
                public_exponent: from_unsigned(&self.public_exponent),
            },
        )
    }

    /// From PKCS #1 `RSAPublicKey` DER (python-pkcs11's `decode_rsa_public_key`).
    pub fn from_der(der: &[u8]) -> Result<RsaPublicKey> {
        let key: RsaPublicKeyAsn = decode("RSAPublicKey", der)?;
        Ok(RsaPublicKey {
            modulus: to_unsigned("modulus", &key.modulus)?,
            public_exponent: to_unsigned("publicExponent", &key.public_exponent)?,
        })
    }
}

impl RsaPrivateKey {
    /// The public half.
    pub fn public_key(&self) -> RsaPublicKey {
        RsaPublicKey {
            modulus: self.modulus.clone(),
            public_exponent: self.public_exponent.clone(),
        }
    }

    /// PKCS #1 `RSAPrivateKey` DER (two-prime, version 0).
    pub fn to_der(&self) -> Result<Zeroizing<Vec<u8>>> {
        let key = RsaPrivateKeyAsn {
            version: Integer::ZERO,
            modulus: from_unsigned(&self.modulus),
            public_exponent: from_unsigned(&self.public_exponent),
            private_exponent: from_unsigned(&self.private_exponent),
            prime1: from_unsigned(&self.prime_1),
            prime2: from_unsigned(&self.prime_2),
            exponent1: from_unsigned(&self.exponent_1),
            exponent2: from_unsigned(&self.exponent_2),
            coefficient: from_unsigned(&self.coefficient),
            other_prime_infos: None,
        };
        encode("RSAPrivateKey", &key).map(Zeroizing::new)
    }

    /// From PKCS #1 `RSAPrivateKey` DER (python-pkcs11's `decode_rsa_private_key`).
    /// Multi-prime keys decode, with only their first two primes kept.
    pub fn from_der(der: &[u8]) -> Result<RsaPrivateKey> {
        let key: RsaPrivateKeyAsn = decode("RSAPrivateKey", der)?;
        let secret = |what, value: &Integer| to_unsigned(what, value).map(Zeroizing::new);
        Ok(RsaPrivateKey {
            modulus: to_unsigned("modulus", &key.modulus)?,
            public_exponent: to_unsigned("publicExponent", &key.public_exponent)?,
            private_exponent: secret("privateExponent", &key.private_exponent)?,
            prime_1: secret("prime1", &key.prime1)?,
            prime_2: secret("prime2", &key.prime2)?,
            exponent_1: secret("exponent1", &key.exponent1)?,
            exponent_2: secret("exponent2", &key.exponent2)?,
            coefficient: secret("coefficient", &key.coefficient)?,
        })
    }
}
