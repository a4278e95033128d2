//! Small value types shared by the info structures: versions, fixed-width text, flags.
//!
//! Flags are `u64` to Rust; `CK_FLAGS` is 32 bits on Windows, so they are cast at the seam.
#![allow(clippy::unnecessary_cast)]

use p11_sys::*;
use std::fmt;

/// A version as PKCS#11 reports it (`CK_VERSION`): Cryptoki 2.40 is `{ major: 2, minor: 40 }`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Version {
    /// Major version.
    pub major: u8,
    /// Minor version.
    pub minor: u8,
}

impl From<CK_VERSION> for Version {
    fn from(v: CK_VERSION) -> Self {
        Version {
            major: v.major,
            minor: v.minor,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// A space-padded fixed-width field as text: padding (spaces, and NULs some modules use)
/// trimmed, invalid UTF-8 replaced rather than refused.
pub(crate) fn padded_text(bytes: &[CK_UTF8CHAR]) -> String {
    let end = bytes
        .iter()
        .rposition(|b| *b != b' ' && *b != 0)
        .map_or(0, |i| i + 1);
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// A `CK_ULONG` as `u64`: the same type on LP64 targets, 32 bits on Windows.
#[allow(clippy::unnecessary_cast)]
pub(crate) const fn widen(value: CK_ULONG) -> u64 {
    value as u64
}

/// A count or size that the module may decline to give (`CK_UNAVAILABLE_INFORMATION`).
pub(crate) fn available(value: CK_ULONG) -> Option<u64> {
    (value != CK_UNAVAILABLE_INFORMATION).then_some(widen(value))
}

/// The most sessions a token allows.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SessionLimit {
    /// No practical limit (`CK_EFFECTIVELY_INFINITE`).
    Unlimited,
    /// At most this many.
    AtMost(u64),
    /// The token does not say (`CK_UNAVAILABLE_INFORMATION`).
    Unknown,
}

impl fmt::Display for SessionLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionLimit::Unlimited => f.write_str("unlimited"),
            SessionLimit::AtMost(n) => write!(f, "at most {n}"),
            SessionLimit::Unknown => f.write_str("unknown"),
        }
    }
}

impl SessionLimit {
    pub(crate) fn from_raw(value: CK_ULONG) -> Self {
        match value {
            CK_EFFECTIVELY_INFINITE => SessionLimit::Unlimited,
            CK_UNAVAILABLE_INFORMATION => SessionLimit::Unknown,
            n => SessionLimit::AtMost(widen(n)),
        }
    }
}

bitflags::bitflags! {
    /// `C_Initialize` flags (`CK_C_INITIALIZE_ARGS.flags`).
    #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
    pub struct InitFlags: u64 {
        /// The module may not create threads of its own.
        const LIBRARY_CANT_CREATE_OS_THREADS = CKF_LIBRARY_CANT_CREATE_OS_THREADS as u64;
        /// The module may use the operating system's locking: it must be thread-safe.
        const OS_LOCKING_OK = CKF_OS_LOCKING_OK as u64;
        /// Bits PKCS#11 does not name, kept.
        const _ = !0;
    }

    /// What a slot is (`CK_SLOT_INFO.flags`).
    #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
    pub struct SlotFlags: u64 {
        /// A token is present in the slot.
        const TOKEN_PRESENT = CKF_TOKEN_PRESENT as u64;
        /// The reader supports removable devices.
        const REMOVABLE_DEVICE = CKF_REMOVABLE_DEVICE as u64;
        /// A hardware slot, as opposed to a software one.
        const HW_SLOT = CKF_HW_SLOT as u64;
        /// Bits PKCS#11 does not name, kept.
        const _ = !0;
    }

    /// What a token is and can do (`CK_TOKEN_INFO.flags`).
    #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
    pub struct TokenFlags: u64 {
        /// Has its own random number generator.
        const RNG = CKF_RNG as u64;
        /// Write-protected.
        const WRITE_PROTECTED = CKF_WRITE_PROTECTED as u64;
        /// A user must log in to use it.
        const LOGIN_REQUIRED = CKF_LOGIN_REQUIRED as u64;
        /// The user PIN has been set.
        const USER_PIN_INITIALIZED = CKF_USER_PIN_INITIALIZED as u64;
        /// Saving and restoring session state is possible.
        const RESTORE_KEY_NOT_NEEDED = CKF_RESTORE_KEY_NOT_NEEDED as u64;
        /// Has its own clock.
        const CLOCK_ON_TOKEN = CKF_CLOCK_ON_TOKEN as u64;
        /// Login goes through a protected path (PIN pad) rather than a PIN argument.
        const PROTECTED_AUTHENTICATION_PATH = CKF_PROTECTED_AUTHENTICATION_PATH as u64;
        /// Dual-function operations (digest-encrypt, ...) are possible.
        const DUAL_CRYPTO_OPERATIONS = CKF_DUAL_CRYPTO_OPERATIONS as u64;
        /// Initialised (`C_InitToken`).
        const TOKEN_INITIALIZED = CKF_TOKEN_INITIALIZED as u64;
        /// Supports secondary authentication for private keys (deprecated).
        const SECONDARY_AUTHENTICATION = CKF_SECONDARY_AUTHENTICATION as u64;
        /// A wrong user PIN was entered since the last successful login.
        const USER_PIN_COUNT_LOW = CKF_USER_PIN_COUNT_LOW as u64;
        /// One more wrong user PIN locks the user PIN.
        const USER_PIN_FINAL_TRY = CKF_USER_PIN_FINAL_TRY as u64;
        /// The user PIN is locked.
        const USER_PIN_LOCKED = CKF_USER_PIN_LOCKED as u64;
        /// The user PIN must be changed.
        const USER_PIN_TO_BE_CHANGED = CKF_USER_PIN_TO_BE_CHANGED as u64;
        /// A wrong SO PIN was entered since the last successful login.
        const SO_PIN_COUNT_LOW = CKF_SO_PIN_COUNT_LOW as u64;
        /// One more wrong SO PIN locks the SO PIN.
        const SO_PIN_FINAL_TRY = CKF_SO_PIN_FINAL_TRY as u64;
        /// The SO PIN is locked.
        const SO_PIN_LOCKED = CKF_SO_PIN_LOCKED as u64;
        /// The SO PIN must be changed.
        const SO_PIN_TO_BE_CHANGED = CKF_SO_PIN_TO_BE_CHANGED as u64;
        /// Failed a self-test: in an error state.
        const ERROR_STATE = CKF_ERROR_STATE as u64;
        /// Bits PKCS#11 does not name, kept.
        const _ = !0;
    }

    /// What a mechanism can do on a token (`CK_MECHANISM_INFO.flags`).
    #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
    pub struct MechanismFlags: u64 {
        /// Performed by the device itself, not in software.
        const HW = CKF_HW as u64;
        /// Message-based encryption (3.0).
        const MESSAGE_ENCRYPT = CKF_MESSAGE_ENCRYPT as u64;
        /// Message-based decryption (3.0).
        const MESSAGE_DECRYPT = CKF_MESSAGE_DECRYPT as u64;
        /// Message-based signing (3.0).
        const MESSAGE_SIGN = CKF_MESSAGE_SIGN as u64;
        /// Message-based verification (3.0).
        const MESSAGE_VERIFY = CKF_MESSAGE_VERIFY as u64;
        /// Multi-part message operations (3.0).
        const MULTI_MESSAGE = CKF_MULTI_MESSAGE as u64;
        /// Usable in object searches (3.0).
        const FIND_OBJECTS = CKF_FIND_OBJECTS as u64;
        /// `C_EncryptInit`.
        const ENCRYPT = CKF_ENCRYPT as u64;
        /// `C_DecryptInit`.
        const DECRYPT = CKF_DECRYPT as u64;
        /// `C_DigestInit`.
        const DIGEST = CKF_DIGEST as u64;
        /// `C_SignInit`.
        const SIGN = CKF_SIGN as u64;
        /// `C_SignRecoverInit`.
        const SIGN_RECOVER = CKF_SIGN_RECOVER as u64;
        /// `C_VerifyInit`.
        const VERIFY = CKF_VERIFY as u64;
        /// `C_VerifyRecoverInit`.
        const VERIFY_RECOVER = CKF_VERIFY_RECOVER as u64;
        /// `C_GenerateKey`.
        const GENERATE = CKF_GENERATE as u64;
        /// `C_GenerateKeyPair`.
        const GENERATE_KEY_PAIR = CKF_GENERATE_KEY_PAIR as u64;
        /// `C_WrapKey`.
        const WRAP = CKF_WRAP as u64;
        /// `C_UnwrapKey`.
        const UNWRAP = CKF_UNWRAP as u64;
        /// `C_DeriveKey`.
        const DERIVE = CKF_DERIVE as u64;
        /// Elliptic curves over prime fields.
        const EC_F_P = CKF_EC_F_P as u64;
        /// Elliptic curves over binary fields.
        const EC_F_2M = CKF_EC_F_2M as u64;
        /// Domain parameters given explicitly.
        const EC_ECPARAMETERS = CKF_EC_ECPARAMETERS as u64;
        /// Domain parameters given as a curve OID.
        const EC_OID = CKF_EC_OID as u64;
        /// Points in uncompressed form.
        const EC_UNCOMPRESS = CKF_EC_UNCOMPRESS as u64;
        /// Points in compressed form.
        const EC_COMPRESS = CKF_EC_COMPRESS as u64;
        /// Curves given by name (3.0).
        const EC_CURVENAME = CKF_EC_CURVENAME as u64;
        /// `C_EncapsulateKey` (3.2).
        const ENCAPSULATE = CKF_ENCAPSULATE as u64;
        /// `C_DecapsulateKey` (3.2).
        const DECAPSULATE = CKF_DECAPSULATE as u64;
        /// Extension flag: more flags follow in a later structure.
        const EXTENSION = CKF_EXTENSION as u64;
        /// Bits PKCS#11 does not name, kept.
        const _ = !0;
    }

    /// What a session is (`CK_SESSION_INFO.flags`).
    #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
    pub struct SessionFlags: u64 {
        /// Read/write rather than read-only.
        const RW_SESSION = CKF_RW_SESSION as u64;
        /// Always set (kept for compatibility).
        const SERIAL_SESSION = CKF_SERIAL_SESSION as u64;
        /// Asynchronous session (3.2).
        const ASYNC_SESSION = CKF_ASYNC_SESSION as u64;
        /// Bits PKCS#11 does not name, kept.
        const _ = !0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_text_trims_padding_and_survives_bad_utf8() {
        assert_eq!(padded_text(b"SoftHSM      "), "SoftHSM");
        assert_eq!(padded_text(b"NSS\0\0\0"), "NSS");
        assert_eq!(padded_text(b"     "), "");
        assert_eq!(padded_text(b"a b  "), "a b");
        assert_eq!(padded_text(b"\xff\xfeok "), "\u{fffd}\u{fffd}ok");
    }

    #[test]
    fn unknown_flag_bits_are_kept() {
        let raw = CKF_TOKEN_PRESENT | 0x8000_0000;
        assert_eq!(SlotFlags::from_bits_retain(raw).bits(), raw);
        assert!(SlotFlags::from_bits_retain(raw).contains(SlotFlags::TOKEN_PRESENT));
    }

    #[test]
    fn session_limits_decode_the_special_values() {
        assert_eq!(
            SessionLimit::from_raw(CK_EFFECTIVELY_INFINITE),
            SessionLimit::Unlimited
        );
        assert_eq!(
            SessionLimit::from_raw(CK_UNAVAILABLE_INFORMATION),
            SessionLimit::Unknown
        );
        assert_eq!(SessionLimit::from_raw(16), SessionLimit::AtMost(16));
        assert_eq!(available(CK_UNAVAILABLE_INFORMATION), None);
        assert_eq!(available(7), Some(7));
    }

    #[test]
    fn versions_display_as_pkcs11_writes_them() {
        assert_eq!(
            Version {
                major: 2,
                minor: 40
            }
            .to_string(),
            "2.40"
        );
        assert_eq!(Version { major: 3, minor: 2 }.to_string(), "3.2");
    }
}
