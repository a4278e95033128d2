//! PINs: taken as text or bytes, wiped from memory when dropped, never shown.

use crate::error::Result;
use p11_sys::{CK_ULONG, CK_UTF8CHAR_PTR};
use std::fmt;
use zeroize::Zeroizing;

/// A PIN (or passphrase) for a token. Its bytes are zeroed when it is dropped, and
/// `Debug` prints `Pin(<redacted>)`.
///
/// ```
/// use p11_core::Pin;
/// let pin = Pin::from("1234");
/// assert_eq!(format!("{pin:?}"), "Pin(<redacted>)");
/// ```
#[derive(Clone)]
pub struct Pin(Zeroizing<Vec<u8>>);

impl Pin {
    /// The PIN's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Pointer and length for a C call that only reads the PIN.
    pub(crate) fn as_raw(&self) -> Result<(CK_UTF8CHAR_PTR, CK_ULONG)> {
        let len = crate::template::ulong_len(self.0.len(), "the PIN's length")?;
        Ok((self.0.as_ptr() as CK_UTF8CHAR_PTR, len))
    }
}

impl From<&str> for Pin {
    fn from(pin: &str) -> Self {
        Pin(Zeroizing::new(pin.as_bytes().to_vec()))
    }
}

/// Takes the string's buffer, which is then zeroed with the PIN.
impl From<String> for Pin {
    fn from(pin: String) -> Self {
        Pin(Zeroizing::new(pin.into_bytes()))
    }
}

impl From<&[u8]> for Pin {
    fn from(pin: &[u8]) -> Self {
        Pin(Zeroizing::new(pin.to_vec()))
    }
}

/// Takes the vector's buffer, which is then zeroed with the PIN.
impl From<Vec<u8>> for Pin {
    fn from(pin: Vec<u8>) -> Self {
        Pin(Zeroizing::new(pin))
    }
}

impl From<&Pin> for Pin {
    fn from(pin: &Pin) -> Self {
        pin.clone()
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(<redacted>)")
    }
}

impl PartialEq for Pin {
    fn eq(&self, other: &Self) -> bool {
        // Not constant-time: PINs are compared only in tests and configuration, never
        // against an attacker's guess.
        *self.0 == *other.0
    }
}

impl Eq for Pin {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_bytes_make_the_same_pin() {
        assert_eq!(Pin::from("1234"), Pin::from(b"1234".as_slice()));
        assert_eq!(Pin::from(String::from("1234")), Pin::from(b"1234".to_vec()));
        assert_eq!(Pin::from("1234").as_bytes(), b"1234");
    }

    #[test]
    fn debug_never_shows_the_pin() {
        let shown = format!("{:?}", Pin::from("s3cr3t"));
        assert!(!shown.contains("s3cr3t"), "{shown}");
    }
}
