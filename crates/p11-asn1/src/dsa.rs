//! DSA: RFC 3279 `Dss-Parms`, the public key `INTEGER`, and signatures.

use crate::error::{decode, encode, Result};
use crate::integer::{from_unsigned, join_halves, split_halves, to_unsigned};
use rasn::prelude::*;

/// DSA domain parameters `p`, `q`, `g`, unsigned big-endian.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DsaParameters {
    /// The prime `p`.
    pub p: Vec<u8>,
    /// The subprime `q`.
    pub q: Vec<u8>,
    /// The base `g`.
    pub g: Vec<u8>,
}

#[derive(AsnType, Decode, Encode)]
pub(crate) struct DssParms {
    p: Integer,
    q: Integer,
    g: Integer,
}

#[derive(AsnType, Decode, Encode)]
pub(crate) struct DssSigValue {
    pub(crate) r: Integer,
    pub(crate) s: Integer,
}

impl DsaParameters {
    pub(crate) fn to_asn(&self) -> DssParms {
        DssParms {
            p: from_unsigned(&self.p),
            q: from_unsigned(&self.q),
            g: from_unsigned(&self.g),
        }
    }

    pub(crate) fn from_asn(parms: &DssParms) -> Result<Self> {
        Ok(DsaParameters {
            p: to_unsigned("p", &parms.p)?,
            q: to_unsigned("q", &parms.q)?,
            g: to_unsigned("g", &parms.g)?,
        })
    }

    /// `Dss-Parms` DER (python-pkcs11's `encode_dsa_domain_parameters`).
    ///
    /// # Errors
    /// `Asn1Error` when the input is not what the format allows, or
    /// a value does not fit it.
    pub fn to_der(&self) -> Result<Vec<u8>> {
        encode("Dss-Parms", &self.to_asn())
    }

    /// From `Dss-Parms` DER (python-pkcs11's `decode_dsa_domain_parameters`).
    ///
    /// # Errors
    /// `Asn1Error` when the input is not what the format allows, or
    /// a value does not fit it.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        Self::from_asn(&decode("Dss-Parms", der)?)
    }
}

/// A DSA (or DH) public value `y` as a DER `INTEGER` (python-pkcs11's
/// `encode_dsa_public_key`, `encode_dh_public_key`).
///
/// # Errors
/// `Asn1Error` when the input is not what the format allows, or
/// a value does not fit it.
pub fn encode_public_value(y: &[u8]) -> Result<Vec<u8>> {
    encode("public value", &from_unsigned(y))
}

/// The public value `y` from a DER `INTEGER` (python-pkcs11's `decode_dsa_public_key`,
/// `decode_dh_public_key`).
///
/// # Errors
/// `Asn1Error` when the input is not what the format allows, or
/// a value does not fit it.
pub fn decode_public_value(der: &[u8]) -> Result<Vec<u8>> {
    to_unsigned("public value", &decode::<Integer>("public value", der)?)
}

/// A PKCS #11 DSA signature (`r || s`) as DER `Dss-Sig-Value` (python-pkcs11's
/// `encode_dsa_signature`).
///
/// # Errors
/// `Asn1Error` when the input is not what the format allows, or
/// a value does not fit it.
pub fn encode_dsa_signature(raw: &[u8]) -> Result<Vec<u8>> {
    let (r, s) = split_halves("a DSA signature", raw)?;
    encode("Dss-Sig-Value", &DssSigValue { r, s })
}

/// A DER `Dss-Sig-Value` as PKCS #11's `r || s`, each half `half_len` bytes (the
/// length of `q`; leading zeros kept) (python-pkcs11's `decode_dsa_signature`).
///
/// # Errors
/// `Asn1Error` when the input is not what the format allows, or
/// a value does not fit it.
pub fn decode_dsa_signature(der: &[u8], half_len: usize) -> Result<Vec<u8>> {
    let sig: DssSigValue = decode("Dss-Sig-Value", der)?;
    join_halves(&sig.r, &sig.s, half_len)
}
