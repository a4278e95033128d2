//! The stream ciphers' parameters: ChaCha20 (`CK_CHACHA20_PARAMS`) and Salsa20
//! (`CK_SALSA20_PARAMS`), a block counter and a nonce; and their AEAD,
//! ChaCha20-Poly1305 (`CK_SALSA20_CHACHA20_POLY1305_PARAMS`), a nonce and additional data.

use crate::params::{ptr_or_null, ulong};
use crate::{MechanismType, ParameterError};
use p11_sys::*;
use std::marker::PhantomData;

/// Refuses a counter or nonce of a length the cipher does not take.
fn check(
    mechanism: MechanismType,
    what: &str,
    bytes: &[u8],
    allowed: &[usize],
) -> Result<(), ParameterError> {
    if allowed.contains(&bytes.len()) {
        return Ok(());
    }
    Err(ParameterError {
        mechanism,
        reason: format!(
            "the {what} must be {} bytes, not {}",
            allowed
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(" or "),
            bytes.len()
        ),
    })
}

/// ChaCha20 parameters (`CK_CHACHA20_PARAMS`): the block counter to start from (4 or 8
/// bytes, as the token reads it: RFC 8439 counts from 1, little-endian `[1, 0, 0, 0]`)
/// and the nonce (12 bytes, RFC 8439; or 8, the original).
#[derive(Clone, Copy, Debug)]
#[repr(transparent)]
pub struct ChaCha20Params<'a> {
    raw: CK_CHACHA20_PARAMS,
    _buffers: PhantomData<&'a [u8]>,
}

impl<'a> ChaCha20Params<'a> {
    /// The counter and the nonce.
    ///
    /// # Errors
    /// [`ParameterError`] for a counter or nonce of another length.
    pub fn new(block_counter: &'a [u8], nonce: &'a [u8]) -> Result<Self, ParameterError> {
        check(
            MechanismType::CHACHA20,
            "block counter",
            block_counter,
            &[4, 8],
        )?;
        check(MechanismType::CHACHA20, "nonce", nonce, &[8, 12])?;
        Ok(ChaCha20Params {
            raw: CK_CHACHA20_PARAMS {
                pBlockCounter: block_counter.as_ptr().cast_mut(),
                blockCounterBits: ulong(block_counter.len() * 8),
                pNonce: nonce.as_ptr().cast_mut(),
                ulNonceBits: ulong(nonce.len() * 8),
            },
            _buffers: PhantomData,
        })
    }

    /// The C struct.
    pub fn as_raw(&self) -> &CK_CHACHA20_PARAMS {
        &self.raw
    }
}

/// Salsa20 parameters (`CK_SALSA20_PARAMS`): the 8-byte block counter and the nonce
/// (8 bytes; 24 for XSalsa20).
#[derive(Clone, Copy, Debug)]
#[repr(transparent)]
pub struct Salsa20Params<'a> {
    raw: CK_SALSA20_PARAMS,
    _buffers: PhantomData<&'a [u8]>,
}

impl<'a> Salsa20Params<'a> {
    /// The counter and the nonce.
    ///
    /// # Errors
    /// [`ParameterError`] for a counter or nonce of another length.
    pub fn new(block_counter: &'a [u8], nonce: &'a [u8]) -> Result<Self, ParameterError> {
        check(MechanismType::SALSA20, "block counter", block_counter, &[8])?;
        check(MechanismType::SALSA20, "nonce", nonce, &[8, 24])?;
        Ok(Salsa20Params {
            raw: CK_SALSA20_PARAMS {
                pBlockCounter: block_counter.as_ptr().cast_mut(),
                pNonce: nonce.as_ptr().cast_mut(),
                ulNonceBits: ulong(nonce.len() * 8),
            },
            _buffers: PhantomData,
        })
    }

    /// The C struct.
    pub fn as_raw(&self) -> &CK_SALSA20_PARAMS {
        &self.raw
    }
}

/// ChaCha20-Poly1305 (and Salsa20-Poly1305) parameters for one-shot encryption and
/// decryption (`CK_SALSA20_CHACHA20_POLY1305_PARAMS`): the nonce (12 bytes, RFC 8439; 8,
/// the original; 24, XChaCha20) and the additional authenticated data. The 16-byte tag
/// follows the ciphertext, as with GCM. For C_MessageEncrypt, see
/// [`ChaCha20Poly1305MessageParams`](crate::ChaCha20Poly1305MessageParams).
#[derive(Clone, Copy, Debug)]
#[repr(transparent)]
pub struct ChaCha20Poly1305Params<'a> {
    raw: CK_SALSA20_CHACHA20_POLY1305_PARAMS,
    _buffers: PhantomData<(&'a [u8], &'a [u8])>,
}

impl<'a> ChaCha20Poly1305Params<'a> {
    /// The nonce and the additional data (which may be empty).
    ///
    /// # Errors
    /// [`ParameterError`] for a nonce of another length.
    pub fn new(nonce: &'a [u8], aad: &'a [u8]) -> Result<Self, ParameterError> {
        check(
            MechanismType::CHACHA20_POLY1305,
            "nonce",
            nonce,
            &[8, 12, 24],
        )?;
        Ok(ChaCha20Poly1305Params {
            raw: CK_SALSA20_CHACHA20_POLY1305_PARAMS {
                pNonce: nonce.as_ptr().cast_mut(),
                ulNonceLen: ulong(nonce.len()),
                pAAD: ptr_or_null(aad),
                ulAADLen: ulong(aad.len()),
            },
            _buffers: PhantomData,
        })
    }

    /// The C struct.
    pub fn as_raw(&self) -> &CK_SALSA20_CHACHA20_POLY1305_PARAMS {
        &self.raw
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_checked_and_bits_counted() {
        let (counter, nonce) = ([1u8, 0, 0, 0], [7u8; 12]);
        let chacha = ChaCha20Params::new(&counter, &nonce).unwrap();
        assert_eq!(chacha.as_raw().blockCounterBits, 32);
        assert_eq!(chacha.as_raw().ulNonceBits, 96);
        assert_eq!(chacha.as_raw().pNonce as *const u8, nonce.as_ptr());
        let err = ChaCha20Params::new(&counter, &nonce[..10]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "CKM_CHACHA20: the nonce must be 8 or 12 bytes, not 10"
        );
        assert!(Salsa20Params::new(&counter, &nonce[..8]).is_err());
        let salsa = Salsa20Params::new(&[0u8; 8], &[1u8; 24]).unwrap();
        assert_eq!(salsa.as_raw().ulNonceBits, 192);
    }

    #[test]
    fn an_aead_nonce_is_counted_in_bytes_and_empty_data_is_null() {
        let (nonce, aad) = ([3u8; 12], [9u8; 5]);
        let aead = ChaCha20Poly1305Params::new(&nonce, &aad).unwrap();
        assert_eq!(aead.as_raw().ulNonceLen, 12);
        assert_eq!(aead.as_raw().pNonce as *const u8, nonce.as_ptr());
        assert_eq!(aead.as_raw().ulAADLen, 5);
        let bare = ChaCha20Poly1305Params::new(&nonce, &[]).unwrap();
        assert!(bare.as_raw().pAAD.is_null());
        let err = ChaCha20Poly1305Params::new(&nonce[..11], &aad).unwrap_err();
        assert_eq!(
            err.to_string(),
            "CKM_CHACHA20_POLY1305: the nonce must be 8 or 12 or 24 bytes, not 11"
        );
    }
}
