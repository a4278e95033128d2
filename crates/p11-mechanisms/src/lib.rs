//! PKCS#11 mechanisms: what a token can do, named.
//!
//! [`MechanismType`] is an open newtype over `CK_MECHANISM_TYPE`: every `CKM_` of the
//! PKCS#11 3.2 headers is a named constant, and any other value (a vendor's) is kept as
//! the number it is.
//!
//! ```
//! use p11_mechanisms::MechanismType;
//!
//! let m: MechanismType = "CKM_AES_CBC_PAD".parse()?;
//! assert_eq!(m, MechanismType::AES_CBC_PAD);
//! assert_eq!(m.to_string(), "CKM_AES_CBC_PAD");
//! let vendor = MechanismType::new(0x8000_1234);
//! assert_eq!(vendor.to_string(), "CKM_VENDOR_DEFINED+0x1234");
//! assert_eq!(vendor.to_string().parse::<MechanismType>()?, vendor);
//! # Ok::<(), p11_mechanisms::UnknownMechanismName>(())
//! ```
#![deny(missing_docs)]

mod generated {
    pub(crate) mod mechanism_types;
}

use generated::mechanism_types::NAMES;
use p11_sys::CK_MECHANISM_TYPE;
use std::fmt;
use std::str::FromStr;

/// A PKCS#11 mechanism type (`CK_MECHANISM_TYPE`), standard or vendor-defined.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(transparent)]
pub struct MechanismType(CK_MECHANISM_TYPE);

impl MechanismType {
    /// The mechanism with this raw value; vendor values are welcome.
    pub const fn new(raw: CK_MECHANISM_TYPE) -> Self {
        Self(raw)
    }

    /// The raw `CK_MECHANISM_TYPE`.
    pub const fn raw(self) -> CK_MECHANISM_TYPE {
        self.0
    }

    /// Whether the value lies in the vendor-defined range (from `CKM_VENDOR_DEFINED` on).
    pub const fn is_vendor_defined(self) -> bool {
        self.0 >= p11_sys::CKM_VENDOR_DEFINED
    }

    /// The spec name (`CKM_AES_CBC_PAD`), or `None` for a value the headers do not name.
    pub fn name(self) -> Option<&'static str> {
        NAMES
            .iter()
            .find(|(_, value)| *value == self.0)
            .map(|(name, _)| *name)
    }
}

impl From<CK_MECHANISM_TYPE> for MechanismType {
    fn from(raw: CK_MECHANISM_TYPE) -> Self {
        Self(raw)
    }
}

impl From<MechanismType> for CK_MECHANISM_TYPE {
    fn from(m: MechanismType) -> Self {
        m.0
    }
}

/// The spec name; a vendor value as `CKM_VENDOR_DEFINED+0x…`, any other unnamed value in hex.
impl fmt::Display for MechanismType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None if self.is_vendor_defined() => {
                write!(
                    f,
                    "CKM_VENDOR_DEFINED+{:#x}",
                    self.0 - p11_sys::CKM_VENDOR_DEFINED
                )
            }
            None => write!(f, "{:#x}", self.0),
        }
    }
}

impl fmt::Debug for MechanismType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MechanismType({self})")
    }
}

/// A text that is neither a `CKM_` name of the headers nor a number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown mechanism {0:?}: expected a CKM_ name, CKM_VENDOR_DEFINED+0x…, or a number")]
pub struct UnknownMechanismName(pub String);

/// Parses what `Display` writes: a spec name (`CKM_AES_CBC_PAD`, any alias the headers
/// define), `CKM_VENDOR_DEFINED+0x…`, or a number in decimal or `0x` hex.
impl FromStr for MechanismType {
    type Err = UnknownMechanismName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let unknown = || UnknownMechanismName(s.to_owned());
        if let Some(offset) = s.strip_prefix("CKM_VENDOR_DEFINED+") {
            return parse_number(offset)
                .and_then(|o| p11_sys::CKM_VENDOR_DEFINED.checked_add(o))
                .map(Self)
                .ok_or_else(unknown);
        }
        if let Some((_, value)) = NAMES.iter().find(|(name, _)| *name == s) {
            return Ok(Self(*value));
        }
        parse_number(s).map(Self).ok_or_else(unknown)
    }
}

fn parse_number(s: &str) -> Option<CK_MECHANISM_TYPE> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => CK_MECHANISM_TYPE::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_standard_name_round_trips() {
        for (name, value) in NAMES {
            let parsed: MechanismType = name.parse().unwrap_or(MechanismType(!0));
            assert_eq!(parsed.raw(), *value, "{name}");
        }
    }

    #[test]
    fn aliases_display_as_their_canonical_name() {
        assert_eq!(
            MechanismType::ECDSA_KEY_PAIR_GEN.to_string(),
            "CKM_EC_KEY_PAIR_GEN"
        );
        assert_eq!(
            MechanismType::DSA_PROBABLISTIC_PARAMETER_GEN.to_string(),
            "CKM_DSA_PROBABILISTIC_PARAMETER_GEN"
        );
    }

    #[test]
    fn unnamed_values_display_as_numbers_and_parse_back() {
        for raw in [0x7fff_fff0, 0x8000_0000 + 42, 0xffff_ffff] {
            let m = MechanismType::new(raw);
            assert_eq!(m.name(), None);
            assert_eq!(m.to_string().parse::<MechanismType>(), Ok(m));
        }
        assert!(MechanismType::new(0x8000_0001).is_vendor_defined());
        assert!(!MechanismType::AES_CBC.is_vendor_defined());
    }

    #[test]
    fn nonsense_does_not_parse() {
        for text in ["", "CKM_NOPE", "CKM_VENDOR_DEFINED+zz", "0xZZ", "aes"] {
            assert!(text.parse::<MechanismType>().is_err(), "{text}");
        }
    }
}
