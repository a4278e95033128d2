//! How a session reads attribute values: python-pkcs11's `AttributeMapper`.

use crate::attribute::{
    AttributeKind, AttributeType, AttributeValue, CertificateType, Date, ObjectClass,
};
use crate::error::{Error, Result};
use crate::Function;
use crate::{KeyType, MechanismType};
use p11_sys::CK_ULONG;
use std::fmt;
use std::mem::size_of;
use zeroize::Zeroizing;

/// Changes how a session's attributes are typed and decoded (python's
/// `AttributeMapper`), set with [`Session::set_attribute_mapper`]: the kind of a vendor
/// attribute, or a module's nonstandard encoding of a standard one. Both methods default
/// to p11's own reading, so a mapper overrides only what it must.
///
/// ```
/// use p11_core::{AttributeKind, AttributeMapper, AttributeType, AttributeValue, Result};
///
/// /// A module that answers "Y"/"N" for its booleans, and a vendor flag.
/// #[derive(Debug)]
/// struct Lenient;
///
/// const VENDOR_FLAG: AttributeType = AttributeType::new(0x8000_0001);
///
/// impl AttributeMapper for Lenient {
///     fn kind(&self, ty: AttributeType) -> AttributeKind {
///         if ty == VENDOR_FLAG { AttributeKind::Bool } else { ty.kind() }
///     }
///     fn decode(&self, ty: AttributeType, kind: AttributeKind, bytes: &[u8]) -> Result<AttributeValue> {
///         match (kind, bytes) {
///             (AttributeKind::Bool, b"N") => Ok(AttributeValue::Bool(false)),
///             (AttributeKind::Bool, b"Y") => Ok(AttributeValue::Bool(true)),
///             _ => AttributeValue::decode(ty, kind, bytes),
///         }
///     }
/// }
/// assert_eq!(Lenient.decode(AttributeType::TOKEN, AttributeKind::Bool, b"N").unwrap(),
///            AttributeValue::Bool(false));
/// assert_eq!(Lenient.kind(VENDOR_FLAG), AttributeKind::Bool);
/// ```
///
/// Encoding follows the value given ([`AttributeValue::Bool`] is a `CK_BBOOL`, ...);
/// the mapper's [`kind`](Self::kind) decides which values an attribute accepts.
/// Lists of mechanisms and nested templates are read by p11 itself.
///
/// [`Session::set_attribute_mapper`]: crate::Session::set_attribute_mapper
pub trait AttributeMapper: Send + Sync + fmt::Debug {
    /// The kind of value `ty` carries: p11's table ([`AttributeType::kind`]) unless
    /// overridden.
    fn kind(&self, ty: AttributeType) -> AttributeKind {
        ty.kind()
    }

    /// The value of `ty` from the bytes the module returned, read as `kind`:
    /// [`AttributeValue::decode`] unless overridden.
    ///
    /// # Errors
    /// [`Error::InvalidResponse`] for bytes that are no value of the kind.
    fn decode(
        &self,
        ty: AttributeType,
        kind: AttributeKind,
        bytes: &[u8],
    ) -> Result<AttributeValue> {
        AttributeValue::decode(ty, kind, bytes)
    }
}

/// The kind of `ty`, as `mapper` (else p11's table) says.
pub(crate) fn kind_of(mapper: Option<&dyn AttributeMapper>, ty: AttributeType) -> AttributeKind {
    mapper.map_or_else(|| ty.kind(), |m| m.kind(ty))
}

impl AttributeValue {
    /// The value of `ty` from the bytes a module returned, read as `kind` says — p11's
    /// own reading, for [`AttributeMapper`]s to fall back on: a `CK_BBOOL` is one byte,
    /// numbers, classes, types and mechanisms one native `CK_ULONG`, text UTF-8 (else
    /// bytes), a date `YYYYMMDD` or empty.
    ///
    /// # Errors
    /// [`Error::InvalidResponse`] for bytes of the wrong size, a malformed date, or a
    /// kind that is not read from flat bytes (mechanism lists, templates).
    pub fn decode(ty: AttributeType, kind: AttributeKind, bytes: &[u8]) -> Result<AttributeValue> {
        let bad = |what: String| Error::invalid_response(Function::GetAttributeValue, what);
        let word = || decode_ulong(ty, bytes);
        Ok(match kind {
            AttributeKind::Bool => AttributeValue::Bool(decode_bool(ty, bytes)?),
            AttributeKind::Ulong => AttributeValue::Ulong(word()?),
            AttributeKind::ObjectClass => AttributeValue::ObjectClass(ObjectClass::new(word()?)),
            AttributeKind::KeyType => AttributeValue::KeyType(KeyType::new(word()?)),
            AttributeKind::CertificateType => {
                AttributeValue::CertificateType(CertificateType::new(word()?))
            }
            AttributeKind::Mechanism => AttributeValue::Mechanism(MechanismType::new(word()?)),
            // Text that is not UTF-8 stays bytes, so that it can be given back.
            AttributeKind::Text => match std::str::from_utf8(bytes) {
                Ok(text) => AttributeValue::Text(text.to_owned()),
                Err(_) => AttributeValue::Bytes(Zeroizing::new(bytes.to_vec())),
            },
            AttributeKind::Date if bytes.is_empty() => AttributeValue::Date(None),
            AttributeKind::Date => AttributeValue::Date(Some(
                Date::from_bytes(bytes)
                    .ok_or_else(|| bad(format!("{ty} is not a YYYYMMDD date")))?,
            )),
            AttributeKind::Version => match bytes {
                [major, minor] => AttributeValue::Version(crate::Version {
                    major: *major,
                    minor: *minor,
                }),
                _ => {
                    return Err(bad(format!(
                        "{ty} is {} bytes, not a CK_VERSION",
                        bytes.len()
                    )))
                }
            },
            AttributeKind::BigInteger | AttributeKind::Bytes | AttributeKind::Unknown => {
                AttributeValue::Bytes(Zeroizing::new(bytes.to_vec()))
            }
            AttributeKind::Mechanisms | AttributeKind::Template => {
                return Err(bad(format!("{ty} ({kind:?}) is not read from flat bytes")))
            }
        })
    }
}

/// A `CK_BBOOL` as the module wrote it.
pub(crate) fn decode_bool(ty: AttributeType, bytes: &[u8]) -> Result<bool> {
    match bytes {
        [b] => Ok(*b != 0),
        // python-pkcs11's rule: real tokens answer an unset flag with no bytes.
        [] => Ok(false),
        _ => Err(Error::invalid_response(
            Function::GetAttributeValue,
            format!("{ty} is {} bytes, not 1", bytes.len()),
        )),
    }
}

/// A `CK_ULONG` as the module wrote it (in native byte order), widened.
pub(crate) fn decode_ulong(ty: AttributeType, bytes: &[u8]) -> Result<u64> {
    let array: [u8; size_of::<CK_ULONG>()] = bytes.try_into().map_err(|_| {
        Error::invalid_response(
            Function::GetAttributeValue,
            format!(
                "{ty} is {} bytes, not {}",
                bytes.len(),
                size_of::<CK_ULONG>()
            ),
        )
    })?;
    Ok(crate::info::widen(CK_ULONG::from_ne_bytes(array)))
}
