//! RSA keys: PKCS #1 `RSAPublicKey` and `RSAPrivateKey` (RFC 8017, appendix A.1).

use crate::error::{decode, encode, Result};
use crate::integer::{from_unsigned, to_unsigned};
use crate::secret_der::{secret, Element, Reader, SEQUENCE};
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

impl RsaPublicKey {
    /// PKCS #1 `RSAPublicKey` DER (python-pkcs11's `encode_rsa_public_key`).
    ///
    /// # Errors
    /// `Asn1Error` when the input is not what the format allows, or
    /// a value does not fit it.
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
    ///
    /// # Errors
    /// `Asn1Error` when the input is not what the format allows, or
    /// a value does not fit it.
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

    /// PKCS #1 `RSAPrivateKey` DER (two-prime, version 0), written without leaving
    /// copies of the key in freed memory.
    ///
    /// # Errors
    /// `Asn1Error` when the input is not what the format allows, or
    /// a value does not fit it.
    pub fn to_der(&self) -> Result<Zeroizing<Vec<u8>>> {
        let fields = [
            &self.modulus[..],
            &self.public_exponent,
            &self.private_exponent,
            &self.prime_1,
            &self.prime_2,
            &self.exponent_1,
            &self.exponent_2,
            &self.coefficient,
        ];
        let mut members = vec![Element::Unsigned(&[0])];
        members.extend(fields.into_iter().map(Element::Unsigned));
        Ok(Element::Constructed(SEQUENCE, members).to_der())
    }

    /// From PKCS #1 `RSAPrivateKey` DER (python-pkcs11's `decode_rsa_private_key`).
    /// Multi-prime keys decode, with only their first two primes kept. Each secret is
    /// copied once, into memory wiped when dropped.
    ///
    /// # Errors
    /// `Asn1Error` when the input is not what the format allows, or
    /// a value does not fit it.
    pub fn from_der(der: &[u8]) -> Result<RsaPrivateKey> {
        let mut key = Reader::outer("RSAPrivateKey", der, SEQUENCE)?;
        key.small("version")?;
        let modulus = key.unsigned("modulus")?.to_vec();
        let public_exponent = key.unsigned("publicExponent")?.to_vec();
        let mut next = |what| key.unsigned(what).map(secret);
        let private = RsaPrivateKey {
            modulus,
            public_exponent,
            private_exponent: next("privateExponent")?,
            prime_1: next("prime1")?,
            prime_2: next("prime2")?,
            exponent_1: next("exponent1")?,
            exponent_2: next("exponent2")?,
            coefficient: next("coefficient")?,
        };
        if key.peek() == Some(SEQUENCE) {
            key.skip_rest(); // otherPrimeInfos
        }
        key.finish()?;
        Ok(private)
    }
}
