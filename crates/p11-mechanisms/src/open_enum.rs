//! Open enums: newtypes over a PKCS#11 `CK_ULONG` type with named constants (generated
//! from the headers), any other value kept. One macro so that every such type — mechanism,
//! key type, attribute, object class, ... — names, prints and parses alike.

/// A name that is none of a type's spec names nor a number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown {kind} {text:?}: expected a {prefix} name, {prefix}VENDOR_DEFINED+0x…, or a number"
)]
pub struct UnknownName {
    /// What was being parsed ("mechanism", "key type", ...).
    pub kind: &'static str,
    /// The spec prefix (`CKM_`).
    pub prefix: &'static str,
    /// The text that did not parse.
    pub text: String,
}

/// Writes `value` as its spec name, as `PREFIX_VENDOR_DEFINED+0x…` in the vendor range, or
/// in hex.
#[doc(hidden)]
pub fn write_name(
    f: &mut core::fmt::Formatter<'_>,
    value: u64,
    name: Option<&str>,
    prefix: &str,
    vendor_defined: u64,
) -> core::fmt::Result {
    match name {
        Some(name) => f.write_str(name),
        None if value >= vendor_defined => {
            write!(f, "{prefix}VENDOR_DEFINED+{:#x}", value - vendor_defined)
        }
        None => write!(f, "{value:#x}"),
    }
}

/// Parses what [`write_name`] writes, or any alias in `names`, or a decimal or hex number.
#[doc(hidden)]
pub fn parse_name<'a>(
    text: &str,
    mut names: impl Iterator<Item = (&'a str, u64)>,
    kind: &'static str,
    prefix: &'static str,
    vendor_defined: u64,
) -> Result<u64, UnknownName> {
    let unknown = || UnknownName {
        kind,
        prefix,
        text: text.to_owned(),
    };
    let vendor_prefix = text
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix("VENDOR_DEFINED+"));
    if let Some(offset) = vendor_prefix {
        return parse_number(offset)
            .and_then(|o| vendor_defined.checked_add(o))
            .ok_or_else(unknown);
    }
    if let Some((_, value)) = names.find(|(name, _)| *name == text) {
        return Ok(value);
    }
    parse_number(text).ok_or_else(unknown)
}

fn parse_number(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Names registered at run time for vendor values, per open enum.
#[doc(hidden)]
pub type Registry = std::sync::RwLock<Vec<(&'static str, u64)>>;

/// The registered name of `value`, if any.
#[doc(hidden)]
pub fn registered_name(registry: &Registry, value: u64) -> Option<&'static str> {
    registry
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .find(|(_, v)| *v == value)
        .map(|(name, _)| *name)
}

/// Adds `name` for `value` (replacing an earlier registration of either).
#[doc(hidden)]
pub fn register(registry: &Registry, name: &'static str, value: u64) {
    let mut names = registry
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    names.retain(|(n, v)| *n != name && *v != value);
    names.push((name, value));
}

/// The registered names, copied (for parsing).
#[doc(hidden)]
pub fn registered(registry: &Registry) -> Vec<(&'static str, u64)> {
    registry
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

/// Defines an open enum: `open_enum!(/// docs
/// Name: CK_TYPE, "CKX_", "kind", VENDOR_DEFINED_CONSTANT, NAMES_TABLE);`
///
/// The type is a `u64` to Rust, whatever width `CK_TYPE` has on the target. It gets
/// `new`, `raw`, `name`, `is_vendor_defined`, `register_name`, `From` both ways with
/// `u64`, `Display` (the spec name), `Debug` and `FromStr`. Its named constants come from
/// a generated file. Types without a vendor range pass `u64::MAX` as theirs.
#[doc(hidden)]
#[macro_export]
macro_rules! open_enum {
    ($(#[$doc:meta])* $name:ident: $raw:ty, $prefix:literal, $kind:literal, $vendor:expr, $names:expr) => {
        $(#[$doc])*
        #[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(transparent)]
        pub struct $name(u64);

        impl $name {
            /// The value with this number; vendor values are welcome.
            pub const fn new(raw: u64) -> Self {
                Self(raw)
            }

            /// The number.
            pub const fn raw(self) -> u64 {
                self.0
            }

            /// From the C type (for generated constants and values a module returns).
            #[doc(hidden)]
            #[allow(clippy::unnecessary_cast)]
            pub const fn from_ck(raw: $raw) -> Self {
                Self(raw as u64)
            }

            /// As the C type, for a call. On targets whose `CK_ULONG` has 32 bits, a
            /// value above `u32::MAX` cannot be expressed and is cut: no module there
            /// can name one.
            #[doc(hidden)]
            #[allow(clippy::unnecessary_cast)]
            pub const fn ck(self) -> $raw {
                self.0 as $raw
            }

            /// Whether the value lies in the vendor-defined range.
            #[allow(clippy::unnecessary_cast)]
            pub const fn is_vendor_defined(self) -> bool {
                self.0 >= $vendor as u64
            }

            /// The spec name, or a name registered with
            /// [`register_name`](Self::register_name), or `None`.
            pub fn name(self) -> Option<&'static str> {
                $names
                    .iter()
                    .find(|(_, value)| *value == self.0)
                    .map(|(name, _)| *name)
                    .or_else(|| $crate::open_enum::registered_name(Self::registry(), self.0))
            }

            /// Gives a vendor value a name, so that it prints and parses by it (a fork's
            /// own values, say). Spec names keep their values.
            pub fn register_name(name: &'static str, value: u64) {
                $crate::open_enum::register(Self::registry(), name, value)
            }

            fn registry() -> &'static $crate::open_enum::Registry {
                static REGISTRY: $crate::open_enum::Registry = std::sync::RwLock::new(Vec::new());
                &REGISTRY
            }
        }

        impl From<u64> for $name {
            fn from(raw: u64) -> Self {
                Self(raw)
            }
        }

        impl From<$name> for u64 {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        /// The spec name; a vendor value as `…VENDOR_DEFINED+0x…`, any other in hex.
        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                #[allow(clippy::unnecessary_cast)]
                $crate::open_enum::write_name(f, self.0, self.name(), $prefix, $vendor as u64)
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, "{}({self})", stringify!($name))
            }
        }

        /// Parses a spec name (any alias), a registered name, `…VENDOR_DEFINED+0x…`, or a
        /// number.
        impl core::str::FromStr for $name {
            type Err = $crate::UnknownName;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let registered = $crate::open_enum::registered(Self::registry());
                let names = $names.iter().copied().chain(registered);
                #[allow(clippy::unnecessary_cast)]
                let value = $crate::open_enum::parse_name(s, names, $kind, $prefix, $vendor as u64)?;
                Ok(Self(value))
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use crate::{Kdf, MechanismType};

    #[test]
    fn a_registered_vendor_name_prints_and_parses() {
        let vendor = MechanismType::new(MechanismType::VENDOR_DEFINED.raw() + 0x4242);
        assert_eq!(vendor.to_string(), "CKM_VENDOR_DEFINED+0x4242");
        MechanismType::register_name("CKM_ACME_SEAL", vendor.raw());
        assert_eq!(vendor.to_string(), "CKM_ACME_SEAL");
        assert_eq!("CKM_ACME_SEAL".parse::<MechanismType>(), Ok(vendor));
        // Spec names are untouched, and other types have registries of their own.
        assert_eq!(MechanismType::AES_CBC.to_string(), "CKM_AES_CBC");
        assert!("CKM_ACME_SEAL".parse::<Kdf>().is_err());
        assert_eq!(Kdf::SHA256_KDF.to_string(), "CKD_SHA256_KDF");
        assert_eq!(Kdf::new(0x7777).to_string(), "0x7777");
    }
}
