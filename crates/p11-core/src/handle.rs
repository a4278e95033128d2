//! Handles as portable newtypes: slots, sessions and objects are `u64` to Rust whatever
//! width `CK_ULONG` has on the target (32 bits on Windows).

use crate::error::Result;
use crate::info::widen;
use p11_sys::CK_ULONG;
use std::fmt;

macro_rules! handle {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(CK_ULONG);

        impl $name {
            /// The value as `u64`, for FFI and for printing.
            pub const fn raw(self) -> u64 {
                widen(self.0)
            }

            /// A handle from a raw value, as the module gave it.
            ///
            /// # Errors
            /// [`Error::TooLarge`](crate::Error::TooLarge) when the value does not fit
            /// the target's `CK_ULONG` (above `u32::MAX` on Windows).
            pub fn from_raw(raw: u64) -> Result<Self> {
                crate::template::to_ulong(raw, $what).map($name)
            }

            pub(crate) const fn from_ulong(raw: CK_ULONG) -> Self {
                $name(raw)
            }

            #[allow(dead_code)] // not every handle is passed back to the module
            pub(crate) const fn ulong(self) -> CK_ULONG {
                self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::LowerHex for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::LowerHex::fmt(&self.0, f)
            }
        }
    };
}

handle!(
    /// A slot's id (`CK_SLOT_ID`), chosen by the module.
    SlotId,
    "slot id"
);
handle!(
    /// A session handle (`CK_SESSION_HANDLE`).
    SessionHandle,
    "session handle"
);
handle!(
    /// An object handle (`CK_OBJECT_HANDLE`), meaningful within its session's token.
    ObjectHandle,
    "object handle"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_round_trip_through_u64() {
        let handle = ObjectHandle::from_raw(42).unwrap();
        assert_eq!(handle.raw(), 42);
        assert_eq!(format!("{handle:?} {handle}"), "ObjectHandle(42) 42");
        if std::mem::size_of::<CK_ULONG>() < 8 {
            assert!(SlotId::from_raw(u64::MAX).is_err());
        }
    }
}
