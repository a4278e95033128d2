//! Elliptic curves: the RFC 3279/5480 `ECParameters` CHOICE, named curves, points,
//! ECDSA signatures, and SEC 1 / RFC 5915 `ECPrivateKey`.

use crate::dsa::DssSigValue;
use crate::error::{decode, encode, Asn1Error, Result};
use crate::integer::{join_halves, split_halves};
use crate::secret_der::{
    secret, Element, Reader, BIT_STRING, CONTEXT_0, CONTEXT_1, OCTET_STRING, SEQUENCE,
};
use rasn::prelude::*;
use rasn::types::Oid;
use std::fmt;
use zeroize::Zeroizing;

/// A named curve: its names, OID, and the byte length of its order (the half-length of
/// an `r || s` signature) and of a coordinate.
#[derive(Debug, PartialEq, Eq)]
pub struct NamedCurve {
    /// The curve's names; the first is the one this crate uses.
    pub names: &'static [&'static str],
    /// Its object identifier's arcs.
    pub oid: &'static [u32],
    /// Bytes of the group order (signature halves).
    pub order_len: usize,
    /// Bytes of a field element (point coordinates; the whole key for Edwards and
    /// Montgomery curves).
    pub field_len: usize,
}

impl NamedCurve {
    /// The curve's main name.
    pub fn name(&self) -> &'static str {
        self.names[0]
    }

    /// Its OID.
    pub fn object_identifier(&self) -> ObjectIdentifier {
        ObjectIdentifier::new_unchecked(std::borrow::Cow::Borrowed(self.oid))
    }

    /// Whether it is an Edwards or Montgomery curve (keys and points are raw strings).
    pub fn is_edwards_or_montgomery(&self) -> bool {
        self.oid.starts_with(&[1, 3, 101])
    }
}

macro_rules! curves {
    ($([$($name:literal),+] => [$($arc:literal),+], $order:literal, $field:literal;)*) => {
        /// The named curves this crate knows.
        pub static CURVES: &[NamedCurve] = &[
            $(NamedCurve { names: &[$($name),+], oid: &[$($arc),+], order_len: $order, field_len: $field },)*
        ];
    };
}

curves! {
    ["secp192r1", "prime192v1", "P-192"] => [1, 2, 840, 10045, 3, 1, 1], 24, 24;
    ["secp224r1", "P-224"] => [1, 3, 132, 0, 33], 28, 28;
    ["secp256r1", "prime256v1", "P-256"] => [1, 2, 840, 10045, 3, 1, 7], 32, 32;
    ["secp384r1", "P-384"] => [1, 3, 132, 0, 34], 48, 48;
    ["secp521r1", "P-521"] => [1, 3, 132, 0, 35], 66, 66;
    ["secp256k1"] => [1, 3, 132, 0, 10], 32, 32;
    ["brainpoolP160r1"] => [1, 3, 36, 3, 3, 2, 8, 1, 1, 1], 20, 20;
    ["brainpoolP192r1"] => [1, 3, 36, 3, 3, 2, 8, 1, 1, 3], 24, 24;
    ["brainpoolP224r1"] => [1, 3, 36, 3, 3, 2, 8, 1, 1, 5], 28, 28;
    ["brainpoolP256r1"] => [1, 3, 36, 3, 3, 2, 8, 1, 1, 7], 32, 32;
    ["brainpoolP320r1"] => [1, 3, 36, 3, 3, 2, 8, 1, 1, 9], 40, 40;
    ["brainpoolP384r1"] => [1, 3, 36, 3, 3, 2, 8, 1, 1, 11], 48, 48;
    ["brainpoolP512r1"] => [1, 3, 36, 3, 3, 2, 8, 1, 1, 13], 64, 64;
    ["Ed25519", "edwards25519"] => [1, 3, 101, 112], 32, 32;
    ["Ed448", "edwards448"] => [1, 3, 101, 113], 57, 57;
    ["X25519", "curve25519"] => [1, 3, 101, 110], 32, 32;
    ["X448", "curve448"] => [1, 3, 101, 111], 56, 56;
}

/// The named curve with this name (any of its names, case-insensitive).
///
/// # Errors
/// `Asn1Error` when the input is not what the format allows, or
/// a value does not fit it.
pub fn curve_by_name(name: &str) -> Result<&'static NamedCurve> {
    CURVES
        .iter()
        .find(|c| c.names.iter().any(|n| n.eq_ignore_ascii_case(name)))
        .ok_or_else(|| Asn1Error::UnknownCurve(name.to_owned()))
}

/// The named curve with this OID.
///
/// # Errors
/// `Asn1Error` when the input is not what the format allows, or
/// a value does not fit it.
pub fn curve_by_oid(oid: &Oid) -> Result<&'static NamedCurve> {
    CURVES
        .iter()
        .find(|c| c.oid == &**oid)
        .ok_or_else(|| Asn1Error::UnknownOid {
            what: "curve",
            oid: dotted(oid),
        })
}

pub(crate) fn dotted(oid: &Oid) -> String {
    oid.iter().map(u32::to_string).collect::<Vec<_>>().join(".")
}

/// RFC 3279 `ECParameters` (`CKA_EC_PARAMS`): a CHOICE.
#[derive(Clone, PartialEq, Eq)]
pub enum EcParameters {
    /// `namedCurve OBJECT IDENTIFIER`: the common case.
    NamedCurve(ObjectIdentifier),
    /// `implicitCA NULL`: the parameters are known from elsewhere.
    ImplicitlyCa,
    /// `specifiedCurve`: explicit parameters, kept as their DER (a SEQUENCE).
    Specified(Vec<u8>),
}

impl fmt::Debug for EcParameters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NamedCurve(oid) => match curve_by_oid(oid) {
                Ok(curve) => write!(f, "NamedCurve({})", curve.name()),
                Err(_) => write!(f, "NamedCurve({})", dotted(oid)),
            },
            Self::ImplicitlyCa => f.write_str("ImplicitlyCa"),
            Self::Specified(der) => write!(f, "Specified(<{} bytes>)", der.len()),
        }
    }
}

impl EcParameters {
    /// The named curve called `name` (python-pkcs11's `encode_named_curve_parameters`
    /// takes the DER of this).
    ///
    /// # Errors
    /// `Asn1Error` when the input is not what the format allows, or
    /// a value does not fit it.
    pub fn named(name: &str) -> Result<Self> {
        Ok(Self::NamedCurve(curve_by_name(name)?.object_identifier()))
    }

    /// The named curve these parameters name.
    ///
    /// # Errors
    /// `Asn1Error` when the input is not what the format allows, or
    /// a value does not fit it.
    pub fn curve(&self) -> Result<&'static NamedCurve> {
        match self {
            Self::NamedCurve(oid) => curve_by_oid(oid),
            _ => Err(Asn1Error::UnknownCurve("(not a named curve)".into())),
        }
    }

    /// DER, as `CKA_EC_PARAMS` holds it.
    ///
    /// # Errors
    /// `Asn1Error` when the input is not what the format allows, or
    /// a value does not fit it.
    pub fn to_der(&self) -> Result<Vec<u8>> {
        match self {
            Self::NamedCurve(oid) => encode("ECParameters", oid),
            Self::ImplicitlyCa => encode("ECParameters", &()),
            Self::Specified(der) => {
                // Check that it is one DER SEQUENCE before passing it on.
                decode::<SequenceOf<Any>>("specifiedCurve", der)?;
                Ok(der.clone())
            }
        }
    }

    /// From DER: a named-curve OID, NULL, or an explicit SEQUENCE.
    ///
    /// # Errors
    /// `Asn1Error` when the input is not what the format allows, or
    /// a value does not fit it.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        match der.first() {
            Some(0x06) => Ok(Self::NamedCurve(decode("ECParameters", der)?)),
            Some(0x05) => decode::<()>("ECParameters", der).map(|()| Self::ImplicitlyCa),
            Some(0x30) => {
                decode::<SequenceOf<Any>>("specifiedCurve", der)?;
                Ok(Self::Specified(der.to_vec()))
            }
            _ => Err(Asn1Error::Der {
                what: "ECParameters",
                reason: "neither an OBJECT IDENTIFIER, NULL nor a SEQUENCE".into(),
            }),
        }
    }
}

/// The DER of a named curve's parameters, by name (python-pkcs11's
/// `encode_named_curve_parameters`).
///
/// # Errors
/// `Asn1Error` when the input is not what the format allows, or
/// a value does not fit it.
pub fn encode_named_curve_parameters(name: &str) -> Result<Vec<u8>> {
    EcParameters::named(name)?.to_der()
}

/// A raw point (`04 || X || Y`, or an Edwards/Montgomery string) as the DER OCTET STRING
/// `CKA_EC_POINT` holds.
///
/// # Errors
/// `Asn1Error` when the input is not what the format allows, or
/// a value does not fit it.
pub fn encode_ec_point(raw: &[u8]) -> Result<Vec<u8>> {
    encode("ECPoint", &OctetString::from_slice(raw))
}

/// The raw point inside a DER OCTET STRING.
///
/// # Errors
/// `Asn1Error` when the input is not what the format allows, or
/// a value does not fit it.
pub fn decode_ec_point(der: &[u8]) -> Result<Vec<u8>> {
    Ok(decode::<OctetString>("ECPoint", der)?.to_vec())
}

/// The raw point of a key on `curve` from its `CKA_EC_POINT` as a module stores it: the
/// DER OCTET STRING the standard asks for, or the raw point some modules store (kryoptic's
/// Edwards keys). DER is taken only when what it wraps has a raw point's size for the
/// curve (`04 || X || Y`, a compressed point, or an Edwards/Montgomery string), so a raw
/// value that happens to parse as DER — one 32-byte key in 65,536 starts `04 1E` — stays
/// raw.
pub fn ec_point_from_attribute(stored: &[u8], curve: &NamedCurve) -> Vec<u8> {
    let edwards_or_montgomery = curve.oid.starts_with(&[1, 3, 101]);
    let fits = |len: usize| {
        if edwards_or_montgomery {
            len == curve.field_len
        } else {
            len == 2 * curve.field_len + 1 || len == curve.field_len + 1
        }
    };
    match decode_ec_point(stored) {
        Ok(raw) if fits(raw.len()) => raw,
        _ => stored.to_vec(),
    }
}

/// A PKCS #11 ECDSA signature (`r || s`) as DER `ECDSA-Sig-Value` (python-pkcs11's
/// `encode_ecdsa_signature`).
///
/// # Errors
/// `Asn1Error` when the input is not what the format allows, or
/// a value does not fit it.
pub fn encode_ecdsa_signature(raw: &[u8]) -> Result<Vec<u8>> {
    let (r, s) = split_halves("an ECDSA signature", raw)?;
    encode("ECDSA-Sig-Value", &DssSigValue { r, s })
}

/// A DER `ECDSA-Sig-Value` as PKCS #11's `r || s`, each half the curve's order length
/// (leading zeros kept) (python-pkcs11's `decode_ecdsa_signature`).
///
/// # Errors
/// `Asn1Error` when the input is not what the format allows, or
/// a value does not fit it.
pub fn decode_ecdsa_signature(der: &[u8], curve: &NamedCurve) -> Result<Vec<u8>> {
    let sig: DssSigValue = decode("ECDSA-Sig-Value", der)?;
    join_halves(&sig.r, &sig.s, curve.order_len)
}

/// An EC private key (SEC 1 / RFC 5915 `ECPrivateKey`). The scalar is zeroed on drop
/// and never shown.
#[derive(Clone, PartialEq, Eq)]
pub struct EcPrivateKey {
    /// The private scalar, big-endian, as long as the curve's order.
    pub private_key: Zeroizing<Vec<u8>>,
    /// The curve, when the structure carries it.
    pub parameters: Option<EcParameters>,
    /// The raw public point, when the structure carries it.
    pub public_key: Option<Vec<u8>>,
}

impl fmt::Debug for EcPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EcPrivateKey")
            .field("private_key", &"<redacted>")
            .field("parameters", &self.parameters)
            .field("public_key", &self.public_key.as_ref().map(Vec::len))
            .finish()
    }
}

impl EcPrivateKey {
    /// `ECPrivateKey` DER (what `openssl ec -outform DER` writes), written without
    /// leaving copies of the key in freed memory.
    ///
    /// # Errors
    /// `Asn1Error` when the input is not what the format allows, or
    /// a value does not fit it.
    pub fn to_der(&self) -> Result<Zeroizing<Vec<u8>>> {
        let parameters = self
            .parameters
            .as_ref()
            .map(EcParameters::to_der)
            .transpose()?;
        Ok(self.element(parameters.as_deref()).to_der())
    }

    /// The `ECPrivateKey` element, with `parameters` (DER) when given.
    pub(crate) fn element<'a>(&'a self, parameters: Option<&'a [u8]>) -> Element<'a> {
        let mut members = vec![
            Element::Unsigned(&[1]),
            Element::Primitive(OCTET_STRING, &self.private_key),
        ];
        if let Some(parameters) = parameters {
            members.push(Element::Constructed(
                CONTEXT_0,
                vec![Element::Raw(parameters)],
            ));
        }
        if let Some(point) = &self.public_key {
            members.push(Element::Constructed(CONTEXT_1, vec![Element::Bits(point)]));
        }
        Element::Constructed(SEQUENCE, members)
    }

    /// From `ECPrivateKey` DER (python-pkcs11's `decode_ec_private_key`). The scalar is
    /// copied once, into memory wiped when dropped.
    ///
    /// # Errors
    /// `Asn1Error` when the input is not what the format allows, or
    /// a value does not fit it.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let mut key = Reader::outer("ECPrivateKey", der, SEQUENCE)?;
        key.small("version")?;
        let private_key = secret(key.expect(OCTET_STRING)?);
        let parameters = match key.peek() {
            Some(CONTEXT_0) => Some(EcParameters::from_der(key.expect(CONTEXT_0)?)?),
            _ => None,
        };
        let public_key = match key.peek() {
            Some(CONTEXT_1) => {
                let mut explicit = Reader::outer("ECPrivateKey", key.any()?, CONTEXT_1)?;
                let bits = explicit.bits(BIT_STRING)?.to_vec();
                explicit.finish()?;
                Some(bits)
            }
            _ => None,
        };
        key.finish()?;
        Ok(EcPrivateKey {
            private_key,
            parameters,
            public_key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_points_that_parse_as_der_stay_raw() -> Result<()> {
        let ed25519 = curve_by_name("Ed25519")?;
        // A raw Ed25519 key that happens to be a DER OCTET STRING of 30 bytes.
        let mut raw = vec![0x04, 0x1E];
        raw.extend([0xAB; 30]);
        assert_eq!(ec_point_from_attribute(&raw, ed25519), raw);
        // The same key wrapped as the standard says.
        assert_eq!(
            ec_point_from_attribute(&encode_ec_point(&raw)?, ed25519),
            raw
        );

        let p256 = curve_by_name("P-256")?;
        // An uncompressed point whose X starts 0x3F: `04 3F` + 63 bytes is DER too.
        let mut point = vec![0x04, 0x3F];
        point.extend([0x11; 63]);
        assert_eq!(ec_point_from_attribute(&point, p256), point);
        assert_eq!(
            ec_point_from_attribute(&encode_ec_point(&point)?, p256),
            point
        );
        Ok(())
    }
}
