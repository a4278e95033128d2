//! Attributes: their types, the kind of value each carries, and the values.

use crate::template::Template;
use crate::MechanismType;
use p11_mechanisms::{open_enum, KeyType};
use p11_sys::*;
use std::fmt;
use zeroize::Zeroizing;

open_enum!(
    /// An attribute type (`CK_ATTRIBUTE_TYPE`), standard or vendor-defined.
    AttributeType: CK_ATTRIBUTE_TYPE, "CKA_", "attribute", CKA_VENDOR_DEFINED,
    crate::generated::attribute_types::NAMES
);

open_enum!(
    /// An object class (`CK_OBJECT_CLASS`), standard or vendor-defined.
    ObjectClass: CK_OBJECT_CLASS, "CKO_", "object class", CKO_VENDOR_DEFINED,
    crate::generated::object_classes::NAMES
);

open_enum!(
    /// A certificate type (`CK_CERTIFICATE_TYPE`), standard or vendor-defined.
    CertificateType: CK_CERTIFICATE_TYPE, "CKC_", "certificate type", CKC_VENDOR_DEFINED,
    crate::generated::certificate_types::NAMES
);

open_enum!(
    /// A PKCS#11 profile a token says it implements (`CK_PROFILE_ID`, the
    /// `CKA_PROFILE_ID` of its profile objects): `BASELINE_PROVIDER`,
    /// `AUTHENTICATION_TOKEN`, ... See [`Session::profiles`](crate::Session::profiles).
    ProfileId: CK_PROFILE_ID, "CKP_", "profile", CKP_VENDOR_DEFINED,
    crate::generated::profile_ids::NAMES
);

/// The kind of value an attribute carries, which decides how it is encoded.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum AttributeKind {
    /// `CK_BBOOL`.
    Bool,
    /// `CK_ULONG`.
    Ulong,
    /// An object class.
    ObjectClass,
    /// A key type.
    KeyType,
    /// A certificate type.
    CertificateType,
    /// A mechanism type.
    Mechanism,
    /// UTF-8 text.
    Text,
    /// A `CK_DATE` (or empty).
    Date,
    /// A `CK_VERSION` (`VALIDATION_VERSION`).
    Version,
    /// A big-endian unsigned integer.
    BigInteger,
    /// Opaque bytes.
    Bytes,
    /// An array of mechanism types (`ALLOWED_MECHANISMS`).
    Mechanisms,
    /// A nested template (`WRAP_TEMPLATE`, `UNWRAP_TEMPLATE`, `DERIVE_TEMPLATE`).
    Template,
    /// An attribute this crate does not know (a vendor's): any value is passed as given
    /// and read back as bytes.
    Unknown,
}

impl AttributeType {
    /// The kind of value the attribute carries.
    pub fn kind(self) -> AttributeKind {
        use AttributeKind as K;
        match self {
            Self::TOKEN
            | Self::PRIVATE
            | Self::MODIFIABLE
            | Self::COPYABLE
            | Self::DESTROYABLE
            | Self::TRUSTED
            | Self::SENSITIVE
            | Self::ENCRYPT
            | Self::DECRYPT
            | Self::WRAP
            | Self::UNWRAP
            | Self::SIGN
            | Self::SIGN_RECOVER
            | Self::VERIFY
            | Self::VERIFY_RECOVER
            | Self::DERIVE
            | Self::EXTRACTABLE
            | Self::LOCAL
            | Self::NEVER_EXTRACTABLE
            | Self::ALWAYS_SENSITIVE
            | Self::WRAP_WITH_TRUSTED
            | Self::ALWAYS_AUTHENTICATE
            | Self::RESET_ON_INIT
            | Self::HAS_RESET
            | Self::COLOR
            | Self::OTP_USER_FRIENDLY_MODE
            | Self::ENCAPSULATE
            | Self::DECAPSULATE => K::Bool,
            Self::CERTIFICATE_CATEGORY
            | Self::JAVA_MIDP_SECURITY_DOMAIN
            | Self::VALUE_BITS
            | Self::VALUE_LEN
            | Self::MODULUS_BITS
            | Self::PRIME_BITS
            | Self::SUBPRIME_BITS
            | Self::AUTH_PIN_FLAGS
            | Self::PIXEL_X
            | Self::PIXEL_Y
            | Self::RESOLUTION
            | Self::CHAR_ROWS
            | Self::CHAR_COLUMNS
            | Self::BITS_PER_PIXEL
            | Self::OTP_FORMAT
            | Self::OTP_LENGTH
            | Self::OTP_TIME_INTERVAL
            | Self::OTP_CHALLENGE_REQUIREMENT
            | Self::OTP_TIME_REQUIREMENT
            | Self::OTP_COUNTER_REQUIREMENT
            | Self::OTP_PIN_REQUIREMENT
            | Self::PROFILE_ID
            | Self::HW_FEATURE_TYPE
            | Self::PARAMETER_SET
            | Self::VALIDATION_TYPE
            | Self::VALIDATION_LEVEL
            | Self::VALIDATION_FLAG
            | Self::VALIDATION_AUTHORITY_TYPE
            | Self::OBJECT_VALIDATION_FLAGS => K::Ulong,
            Self::VALIDATION_VERSION => K::Version,
            Self::CLASS => K::ObjectClass,
            Self::KEY_TYPE => K::KeyType,
            Self::CERTIFICATE_TYPE => K::CertificateType,
            Self::KEY_GEN_MECHANISM | Self::MECHANISM_TYPE | Self::NAME_HASH_ALGORITHM => {
                K::Mechanism
            }
            Self::LABEL
            | Self::APPLICATION
            | Self::URL
            | Self::CHAR_SETS
            | Self::ENCODING_METHODS
            | Self::MIME_TYPES
            | Self::OTP_SERVICE_IDENTIFIER
            | Self::OTP_USER_IDENTIFIER
            | Self::OTP_TIME
            | Self::UNIQUE_ID
            | Self::VALIDATION_MODULE_ID
            | Self::VALIDATION_COUNTRY
            | Self::VALIDATION_CERTIFICATE_IDENTIFIER
            | Self::VALIDATION_CERTIFICATE_URI
            | Self::VALIDATION_VENDOR_URI
            | Self::VALIDATION_PROFILE => K::Text,
            Self::START_DATE | Self::END_DATE => K::Date,
            Self::MODULUS
            | Self::PUBLIC_EXPONENT
            | Self::PRIVATE_EXPONENT
            | Self::PRIME_1
            | Self::PRIME_2
            | Self::EXPONENT_1
            | Self::EXPONENT_2
            | Self::COEFFICIENT
            | Self::PRIME
            | Self::SUBPRIME
            | Self::BASE => K::BigInteger,
            Self::ALLOWED_MECHANISMS => K::Mechanisms,
            Self::WRAP_TEMPLATE | Self::UNWRAP_TEMPLATE | Self::DERIVE_TEMPLATE => K::Template,
            other if other.is_vendor_defined() || other.name().is_none() => K::Unknown,
            _ => K::Bytes,
        }
    }

    /// Whether values of this attribute may be key material, and so are never printed.
    pub fn is_secret(self) -> bool {
        matches!(
            self,
            Self::VALUE
                | Self::PRIVATE_EXPONENT
                | Self::PRIME_1
                | Self::PRIME_2
                | Self::EXPONENT_1
                | Self::EXPONENT_2
                | Self::COEFFICIENT
        )
    }
}

/// A date (`CK_DATE`): year, month, day.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date {
    /// 1900 to 9999.
    pub year: u16,
    /// 1 to 12.
    pub month: u8,
    /// 1 to 31.
    pub day: u8,
}

impl Date {
    /// The date, when the numbers make one (the day is checked against 31, not the month).
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        ((1900..=9999).contains(&year) && (1..=12).contains(&month) && (1..=31).contains(&day))
            .then_some(Date { year, month, day })
    }

    pub(crate) fn to_raw(self) -> CK_DATE {
        let text = format!("{:04}{:02}{:02}", self.year, self.month, self.day);
        let mut raw = CK_DATE::default();
        raw.year.copy_from_slice(&text.as_bytes()[0..4]);
        raw.month.copy_from_slice(&text.as_bytes()[4..6]);
        raw.day.copy_from_slice(&text.as_bytes()[6..8]);
        raw
    }

    /// The date a token stored as `YYYYMMDD`, or `None` when the bytes are not one.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<Date> {
        let text = std::str::from_utf8(bytes).ok()?;
        if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Date::new(
            text[0..4].parse().ok()?,
            text[4..6].parse().ok()?,
            text[6..8].parse().ok()?,
        )
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// The value of an attribute. Byte values are zeroed when dropped, since they may be key
/// material.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttributeValue {
    /// A boolean.
    Bool(bool),
    /// A number.
    Ulong(u64),
    /// An object class.
    ObjectClass(ObjectClass),
    /// A key type.
    KeyType(KeyType),
    /// A certificate type.
    CertificateType(CertificateType),
    /// A mechanism.
    Mechanism(MechanismType),
    /// Text.
    Text(String),
    /// A date, or none (an empty date attribute).
    Date(Option<Date>),
    /// A version (`CK_VERSION`).
    Version(crate::Version),
    /// Bytes: opaque values, and big-endian integers.
    Bytes(Zeroizing<Vec<u8>>),
    /// A list of mechanisms.
    Mechanisms(Vec<MechanismType>),
    /// A nested template.
    Template(Template),
}

impl AttributeValue {
    /// Whether this value may be given for an attribute of `kind`.
    pub(crate) fn fits(&self, kind: AttributeKind) -> bool {
        use AttributeKind as K;
        matches!(
            (kind, self),
            (K::Unknown, _)
                | (K::Bool, Self::Bool(_))
                | (K::Ulong, Self::Ulong(_))
                | (K::ObjectClass, Self::ObjectClass(_))
                | (K::KeyType, Self::KeyType(_))
                | (K::CertificateType, Self::CertificateType(_))
                | (K::Mechanism, Self::Mechanism(_))
                | (K::Text, Self::Text(_) | Self::Bytes(_))
                | (K::Date, Self::Date(_))
                | (K::Version, Self::Version(_))
                | (K::BigInteger | K::Bytes, Self::Bytes(_))
                | (K::Mechanisms, Self::Mechanisms(_))
                | (K::Template, Self::Template(_))
        )
    }

    /// The bytes of a `Bytes` value.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Self::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The boolean of a `Bool` value.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Self::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The number of a `Ulong` value.
    pub fn as_ulong(&self) -> Option<u64> {
        match self {
            Self::Ulong(n) => Some(*n),
            _ => None,
        }
    }

    /// The text of a `Text` value.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(t) => Some(t),
            _ => None,
        }
    }
}

/// Byte values show only their length: they may be key material.
impl fmt::Debug for AttributeValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bool(v) => write!(f, "Bool({v})"),
            Self::Ulong(v) => write!(f, "Ulong({v})"),
            Self::ObjectClass(v) => write!(f, "{v:?}"),
            Self::KeyType(v) => write!(f, "{v:?}"),
            Self::CertificateType(v) => write!(f, "{v:?}"),
            Self::Mechanism(v) => write!(f, "{v:?}"),
            Self::Text(v) => write!(f, "Text({v:?})"),
            Self::Date(v) => write!(f, "Date({v:?})"),
            Self::Version(v) => write!(f, "Version({}.{})", v.major, v.minor),
            Self::Bytes(v) => write!(f, "Bytes(<{} bytes>)", v.len()),
            Self::Mechanisms(v) => write!(f, "Mechanisms({v:?})"),
            Self::Template(v) => write!(f, "Template({v:?})"),
        }
    }
}

macro_rules! value_from {
    ($($ty:ty => |$v:ident| $e:expr),* $(,)?) => {$(
        impl From<$ty> for AttributeValue {
            fn from($v: $ty) -> Self {
                $e
            }
        }
    )*};
}

value_from!(
    crate::Version => |v| Self::Version(v),
    bool => |v| Self::Bool(v),
    u64 => |v| Self::Ulong(v),
    u32 => |v| Self::Ulong(u64::from(v)),
    usize => |v| Self::Ulong(v as u64),
    ObjectClass => |v| Self::ObjectClass(v),
    KeyType => |v| Self::KeyType(v),
    CertificateType => |v| Self::CertificateType(v),
    MechanismType => |v| Self::Mechanism(v),
    // `CKA_PARAMETER_SET` is a CK_ULONG whose meaning the key type decides.
    p11_mechanisms::MlKemParameterSet => |v| Self::Ulong(v.raw()),
    p11_mechanisms::MlDsaParameterSet => |v| Self::Ulong(v.raw()),
    p11_mechanisms::SlhDsaParameterSet => |v| Self::Ulong(v.raw()),
    &str => |v| Self::Text(v.to_owned()),
    String => |v| Self::Text(v),
    Date => |v| Self::Date(Some(v)),
    &[u8] => |v| Self::Bytes(Zeroizing::new(v.to_vec())),
    Vec<u8> => |v| Self::Bytes(Zeroizing::new(v)),
    Vec<MechanismType> => |v| Self::Mechanisms(v),
    Template => |v| Self::Template(v),
);

impl<const N: usize> From<[u8; N]> for AttributeValue {
    fn from(v: [u8; N]) -> Self {
        Self::Bytes(Zeroizing::new(v.to_vec()))
    }
}

impl<const N: usize> From<&[u8; N]> for AttributeValue {
    fn from(v: &[u8; N]) -> Self {
        Self::Bytes(Zeroizing::new(v.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_cover_the_common_attributes() {
        assert_eq!(AttributeType::SENSITIVE.kind(), AttributeKind::Bool);
        assert_eq!(AttributeType::VALUE_LEN.kind(), AttributeKind::Ulong);
        assert_eq!(AttributeType::CLASS.kind(), AttributeKind::ObjectClass);
        assert_eq!(AttributeType::LABEL.kind(), AttributeKind::Text);
        assert_eq!(AttributeType::MODULUS.kind(), AttributeKind::BigInteger);
        assert_eq!(AttributeType::WRAP_TEMPLATE.kind(), AttributeKind::Template);
        assert_eq!(
            AttributeType::ALLOWED_MECHANISMS.kind(),
            AttributeKind::Mechanisms
        );
        assert_eq!(AttributeType::ID.kind(), AttributeKind::Bytes);
        assert_eq!(
            AttributeType::new(0x8000_0001).kind(),
            AttributeKind::Unknown
        );
        assert_eq!(
            AttributeType::WRAP_TEMPLATE.to_string(),
            "CKA_WRAP_TEMPLATE"
        );
        assert_eq!(
            AttributeType::SUB_PRIME_BITS.to_string(),
            "CKA_SUBPRIME_BITS"
        );
        // PKCS#11 3.2's validation objects: numbers, a version, and text.
        assert_eq!(AttributeType::VALIDATION_LEVEL.kind(), AttributeKind::Ulong);
        assert_eq!(
            AttributeType::OBJECT_VALIDATION_FLAGS.kind(),
            AttributeKind::Ulong
        );
        assert_eq!(
            AttributeType::VALIDATION_VERSION.kind(),
            AttributeKind::Version
        );
        assert_eq!(
            AttributeType::VALIDATION_COUNTRY.kind(),
            AttributeKind::Text
        );
    }

    #[test]
    fn dates_encode_as_yyyymmdd_and_reject_nonsense() {
        let date = Date::new(2026, 11, 27).unwrap();
        let raw = date.to_raw();
        assert_eq!((&raw.year, &raw.month, &raw.day), (b"2026", b"11", b"27"));
        assert_eq!(Date::from_bytes(b"20261127"), Some(date));
        assert_eq!(Date::from_bytes(b"2026112"), None);
        assert_eq!(Date::from_bytes(b"2026-1-1"), None);
        assert_eq!(Date::from_bytes(b"20261327"), None);
        assert_eq!(Date::new(2026, 0, 1), None);
    }

    #[test]
    fn debug_never_shows_bytes() {
        let value = AttributeValue::from(b"secret key bytes".as_slice());
        assert_eq!(format!("{value:?}"), "Bytes(<16 bytes>)");
    }
}
