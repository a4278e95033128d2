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

/// Defines an open enum: `open_enum!(/// docs
/// Name: CK_TYPE, "CKX_", "kind", VENDOR_DEFINED_CONSTANT, NAMES_TABLE);`
///
/// The type gets `new`, `raw`, `name`, `is_vendor_defined`, `From` both ways, `Display`
/// (the spec name), `Debug` and `FromStr`. Its named constants come from a generated file.
#[doc(hidden)]
#[macro_export]
macro_rules! open_enum {
    ($(#[$doc:meta])* $name:ident: $raw:ty, $prefix:literal, $kind:literal, $vendor:expr, $names:expr) => {
        $(#[$doc])*
        #[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(transparent)]
        pub struct $name($raw);

        impl $name {
            /// The value with this raw number; vendor values are welcome.
            pub const fn new(raw: $raw) -> Self {
                Self(raw)
            }

            /// The raw number.
            pub const fn raw(self) -> $raw {
                self.0
            }

            /// Whether the value lies in the vendor-defined range.
            pub const fn is_vendor_defined(self) -> bool {
                self.0 >= $vendor
            }

            /// The spec name, or `None` for a value the headers do not name.
            pub fn name(self) -> Option<&'static str> {
                $names
                    .iter()
                    .find(|(_, value)| *value == self.0)
                    .map(|(name, _)| *name)
            }
        }

        impl From<$raw> for $name {
            fn from(raw: $raw) -> Self {
                Self(raw)
            }
        }

        impl From<$name> for $raw {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        /// The spec name; a vendor value as `…VENDOR_DEFINED+0x…`, any other in hex.
        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                #[allow(clippy::unnecessary_cast)]
                $crate::open_enum::write_name(f, self.0 as u64, self.name(), $prefix, $vendor as u64)
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, "{}({self})", stringify!($name))
            }
        }

        /// Parses a spec name (any alias), `…VENDOR_DEFINED+0x…`, or a number.
        impl core::str::FromStr for $name {
            type Err = $crate::UnknownName;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                #[allow(clippy::unnecessary_cast)]
                let names = $names.iter().map(|(n, v)| (*n, *v as u64));
                #[allow(clippy::unnecessary_cast)]
                let value = $crate::open_enum::parse_name(s, names, $kind, $prefix, $vendor as u64)?;
                <$raw>::try_from(value).map(Self).map_err(|_| $crate::UnknownName {
                    kind: $kind,
                    prefix: $prefix,
                    text: s.to_owned(),
                })
            }
        }
    };
}
