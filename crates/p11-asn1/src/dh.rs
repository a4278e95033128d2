//! Diffie-Hellman domain parameters: PKCS #3 `DHParameter` and X9.42 `DomainParameters`
//! (RFC 3279). Public values are `INTEGER`s, as for DSA.

use crate::error::{decode, encode, Result};
use crate::integer::{from_unsigned, to_u64, to_unsigned};
use rasn::prelude::*;

pub use crate::dsa::{decode_public_value, encode_public_value};

/// PKCS #3 DH parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DhParameters {
    /// The prime `p`.
    pub prime: Vec<u8>,
    /// The base `g`.
    pub base: Vec<u8>,
    /// The private value's length in bits, when given, as an unsigned big-endian integer:
    /// some files carry a large number here (RFC 5114 group 2 as found in the wild puts
    /// its 224-bit `q` in this place), which is kept, not refused.
    pub private_value_length: Option<Vec<u8>>,
}

/// X9.42 DH domain parameters (RFC 3279 `DomainParameters`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct X942DhParameters {
    /// The prime `p`.
    pub prime: Vec<u8>,
    /// The base `g`.
    pub base: Vec<u8>,
    /// The subprime `q`.
    pub subprime: Vec<u8>,
    /// The cofactor `j`, when given.
    pub cofactor: Option<Vec<u8>>,
    /// The generation seed and counter, when given.
    pub validation: Option<ValidationParameters>,
}

/// X9.42 `ValidationParms`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidationParameters {
    /// The seed (a BIT STRING: its bytes, whole bytes only).
    pub seed: Vec<u8>,
    /// `pgenCounter`.
    pub pgen_counter: u64,
}

#[derive(AsnType, Decode, Encode)]
pub(crate) struct DhParameterAsn {
    prime: Integer,
    base: Integer,
    private_value_length: Option<Integer>,
}

#[derive(AsnType, Decode, Encode)]
pub(crate) struct DomainParametersAsn {
    p: Integer,
    g: Integer,
    q: Integer,
    j: Option<Integer>,
    validation_parms: Option<ValidationParmsAsn>,
}

#[derive(AsnType, Decode, Encode)]
struct ValidationParmsAsn {
    seed: BitString,
    pgen_counter: Integer,
}

impl DhParameters {
    pub(crate) fn to_asn(&self) -> DhParameterAsn {
        DhParameterAsn {
            prime: from_unsigned(&self.prime),
            base: from_unsigned(&self.base),
            private_value_length: self.private_value_length.as_deref().map(from_unsigned),
        }
    }

    pub(crate) fn from_asn(asn: &DhParameterAsn) -> Result<Self> {
        Ok(DhParameters {
            prime: to_unsigned("prime", &asn.prime)?,
            base: to_unsigned("base", &asn.base)?,
            private_value_length: asn
                .private_value_length
                .as_ref()
                .map(|l| to_unsigned("privateValueLength", l))
                .transpose()?,
        })
    }

    /// PKCS #3 `DHParameter` DER.
    ///
    /// # Errors
    /// `Asn1Error` when the input is not what the format allows, or
    /// a value does not fit it.
    pub fn to_der(&self) -> Result<Vec<u8>> {
        encode("DHParameter", &self.to_asn())
    }

    /// From PKCS #3 `DHParameter` DER (what `openssl dhparam` writes).
    ///
    /// # Errors
    /// `Asn1Error` when the input is not what the format allows, or
    /// a value does not fit it.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        Self::from_asn(&decode("DHParameter", der)?)
    }
}

impl X942DhParameters {
    pub(crate) fn to_asn(&self) -> DomainParametersAsn {
        DomainParametersAsn {
            p: from_unsigned(&self.prime),
            g: from_unsigned(&self.base),
            q: from_unsigned(&self.subprime),
            j: self.cofactor.as_deref().map(from_unsigned),
            validation_parms: self.validation.as_ref().map(|v| ValidationParmsAsn {
                seed: BitString::from_slice(&v.seed),
                pgen_counter: Integer::from(v.pgen_counter),
            }),
        }
    }

    pub(crate) fn from_asn(asn: &DomainParametersAsn) -> Result<Self> {
        Ok(X942DhParameters {
            prime: to_unsigned("p", &asn.p)?,
            base: to_unsigned("g", &asn.g)?,
            subprime: to_unsigned("q", &asn.q)?,
            cofactor: asn.j.as_ref().map(|j| to_unsigned("j", j)).transpose()?,
            validation: asn
                .validation_parms
                .as_ref()
                .map(|v| {
                    Ok::<_, crate::Asn1Error>(ValidationParameters {
                        seed: v.seed.as_raw_slice().to_vec(),
                        pgen_counter: to_u64("pgenCounter", &v.pgen_counter)?,
                    })
                })
                .transpose()?,
        })
    }

    /// X9.42 `DomainParameters` DER (python-pkcs11's
    /// `encode_x9_42_dh_domain_parameters`).
    ///
    /// # Errors
    /// `Asn1Error` when the input is not what the format allows, or
    /// a value does not fit it.
    pub fn to_der(&self) -> Result<Vec<u8>> {
        encode("DomainParameters", &self.to_asn())
    }

    /// From X9.42 `DomainParameters` DER (python-pkcs11's
    /// `decode_x9_42_dh_domain_parameters`; what `openssl genpkey -genparam -algorithm
    /// DHX` writes).
    ///
    /// # Errors
    /// `Asn1Error` when the input is not what the format allows, or
    /// a value does not fit it.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        Self::from_asn(&decode("DomainParameters", der)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_private_value_length_is_kept() {
        // RFC 5114 group 2's 224-bit q, found as the third integer of a DHParameter.
        let q = vec![0x80u8; 28];
        let parameters = DhParameters {
            prime: vec![0xC3; 256],
            base: vec![2],
            private_value_length: Some(q.clone()),
        };
        let der = parameters.to_der().unwrap();
        let back = DhParameters::from_der(&der).unwrap();
        assert_eq!(back.private_value_length, Some(q));
        assert_eq!(back, parameters);
    }
}
