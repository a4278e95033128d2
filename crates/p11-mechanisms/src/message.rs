//! Per-message parameters of PKCS#11 3.0's message-based operations: each message of an
//! encryption gets its own IV or nonce, and the token writes its tag (and a generated
//! IV) back into the caller's buffers; message signing usually takes none
//! ([`NoMessageParameter`]).

use crate::params::ulong;
use p11_sys::*;
use std::marker::PhantomData;

/// How the token makes a message's IV or nonce (`CK_GENERATOR_FUNCTION`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum IvGenerator {
    /// The caller's, as given (`CKG_NO_GENERATE`).
    #[default]
    None,
    /// The token's own way (`CKG_GENERATE`).
    Generate,
    /// A counter (`CKG_GENERATE_COUNTER`).
    Counter,
    /// Random (`CKG_GENERATE_RANDOM`).
    Random,
    /// A counter XORed into the fixed part (`CKG_GENERATE_COUNTER_XOR`).
    CounterXor,
}

impl IvGenerator {
    fn raw(self) -> CK_GENERATOR_FUNCTION {
        match self {
            IvGenerator::None => CKG_NO_GENERATE,
            IvGenerator::Generate => CKG_GENERATE,
            IvGenerator::Counter => CKG_GENERATE_COUNTER,
            IvGenerator::Random => CKG_GENERATE_RANDOM,
            IvGenerator::CounterXor => CKG_GENERATE_COUNTER_XOR,
        }
    }
}

/// A per-message parameter, which the token reads and may write (the tag, an IV it
/// generates) during the call it is given to.
///
/// # Safety
/// [`raw`](Self::raw) must give the C struct the mechanism expects, whose buffers stay
/// valid — and writable where the token writes — for as long as the value is borrowed.
pub unsafe trait MessageParameter {
    /// Pointer and length of the C struct, for one call.
    fn raw(&mut self) -> (CK_VOID_PTR, CK_ULONG);
}

/// No per-message parameter (`pParameter` NULL): what most message-signing mechanisms
/// take.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoMessageParameter;

// SAFETY: NULL with length 0, which the token does not read.
unsafe impl MessageParameter for NoMessageParameter {
    fn raw(&mut self) -> (CK_VOID_PTR, CK_ULONG) {
        (std::ptr::null_mut(), 0)
    }
}

/// AES-GCM per-message parameters (`CK_GCM_MESSAGE_PARAMS`).
#[derive(Debug)]
pub struct GcmMessageParams<'a> {
    raw: CK_GCM_MESSAGE_PARAMS,
    _buffers: PhantomData<&'a mut [u8]>,
}

impl<'a> GcmMessageParams<'a> {
    /// Encryption with the caller's `iv` (12 bytes is GCM's usual; never twice with one
    /// key); the token writes the tag into `tag`, whose length is the tag's.
    pub fn new(iv: &'a [u8], tag: &'a mut [u8]) -> Self {
        Self::raw_params(iv.as_ptr().cast_mut(), iv.len(), 0, IvGenerator::None, tag)
    }

    /// Encryption with an IV the token makes into `iv` as `generator` says, its first
    /// `fixed_bits` bits the caller's.
    pub fn generated(
        iv: &'a mut [u8],
        fixed_bits: usize,
        generator: IvGenerator,
        tag: &'a mut [u8],
    ) -> Self {
        Self::raw_params(iv.as_mut_ptr(), iv.len(), fixed_bits, generator, tag)
    }

    /// Decryption of a message sent with `iv` and `tag`.
    pub fn to_decrypt(iv: &'a [u8], tag: &'a [u8]) -> Self {
        GcmMessageParams {
            raw: CK_GCM_MESSAGE_PARAMS {
                pIv: iv.as_ptr().cast_mut(),
                ulIvLen: ulong(iv.len()),
                ulIvFixedBits: 0,
                ivGenerator: CKG_NO_GENERATE,
                // Only read on decryption.
                pTag: tag.as_ptr().cast_mut(),
                ulTagBits: ulong(tag.len().saturating_mul(8)),
            },
            _buffers: PhantomData,
        }
    }

    fn raw_params(
        iv: CK_BYTE_PTR,
        iv_len: usize,
        fixed_bits: usize,
        generator: IvGenerator,
        tag: &'a mut [u8],
    ) -> Self {
        GcmMessageParams {
            raw: CK_GCM_MESSAGE_PARAMS {
                pIv: iv,
                ulIvLen: ulong(iv_len),
                ulIvFixedBits: ulong(fixed_bits),
                ivGenerator: generator.raw(),
                pTag: tag.as_mut_ptr(),
                ulTagBits: ulong(tag.len().saturating_mul(8)),
            },
            _buffers: PhantomData,
        }
    }
}

// SAFETY: the struct points into the buffers borrowed for 'a (the IV read-only unless
// generated, the tag writable on encryption), which the borrow keeps alive.
unsafe impl MessageParameter for GcmMessageParams<'_> {
    fn raw(&mut self) -> (CK_VOID_PTR, CK_ULONG) {
        (
            (&mut self.raw as *mut CK_GCM_MESSAGE_PARAMS).cast(),
            ulong(size_of::<CK_GCM_MESSAGE_PARAMS>()),
        )
    }
}

/// AES-CCM per-message parameters (`CK_CCM_MESSAGE_PARAMS`): the message's length (CCM
/// needs it first), the nonce (7 to 13 bytes) and the MAC, whose length is the tag's.
#[derive(Debug)]
pub struct CcmMessageParams<'a> {
    raw: CK_CCM_MESSAGE_PARAMS,
    _buffers: PhantomData<&'a mut [u8]>,
}

impl<'a> CcmMessageParams<'a> {
    /// Encryption of `data_len` bytes with the caller's `nonce`; the token writes the
    /// MAC into `mac`.
    pub fn new(data_len: usize, nonce: &'a [u8], mac: &'a mut [u8]) -> Self {
        Self::raw_params(
            data_len,
            nonce.as_ptr().cast_mut(),
            nonce.len(),
            0,
            IvGenerator::None,
            mac.as_mut_ptr(),
            mac.len(),
        )
    }

    /// Encryption with a nonce the token makes into `nonce`, its first `fixed_bits`
    /// bits the caller's.
    pub fn generated(
        data_len: usize,
        nonce: &'a mut [u8],
        fixed_bits: usize,
        generator: IvGenerator,
        mac: &'a mut [u8],
    ) -> Self {
        Self::raw_params(
            data_len,
            nonce.as_mut_ptr(),
            nonce.len(),
            fixed_bits,
            generator,
            mac.as_mut_ptr(),
            mac.len(),
        )
    }

    /// Decryption of `data_len` bytes sent with `nonce` and `mac`.
    pub fn to_decrypt(data_len: usize, nonce: &'a [u8], mac: &'a [u8]) -> Self {
        // Only read on decryption.
        Self::raw_params(
            data_len,
            nonce.as_ptr().cast_mut(),
            nonce.len(),
            0,
            IvGenerator::None,
            mac.as_ptr().cast_mut(),
            mac.len(),
        )
    }

    fn raw_params(
        data_len: usize,
        nonce: CK_BYTE_PTR,
        nonce_len: usize,
        fixed_bits: usize,
        generator: IvGenerator,
        mac: CK_BYTE_PTR,
        mac_len: usize,
    ) -> Self {
        CcmMessageParams {
            raw: CK_CCM_MESSAGE_PARAMS {
                ulDataLen: ulong(data_len),
                pNonce: nonce,
                ulNonceLen: ulong(nonce_len),
                ulNonceFixedBits: ulong(fixed_bits),
                nonceGenerator: generator.raw(),
                pMAC: mac,
                ulMACLen: ulong(mac_len),
            },
            _buffers: PhantomData,
        }
    }
}

// SAFETY: as for GcmMessageParams: the nonce read (written when generated), the MAC
// written on encryption, both borrowed for 'a.
unsafe impl MessageParameter for CcmMessageParams<'_> {
    fn raw(&mut self) -> (CK_VOID_PTR, CK_ULONG) {
        (
            (&mut self.raw as *mut CK_CCM_MESSAGE_PARAMS).cast(),
            ulong(size_of::<CK_CCM_MESSAGE_PARAMS>()),
        )
    }
}

/// ChaCha20-Poly1305 (and Salsa20-Poly1305) per-message parameters
/// (`CK_SALSA20_CHACHA20_POLY1305_MSG_PARAMS`): a nonce, and the 16-byte tag.
#[derive(Debug)]
pub struct ChaCha20Poly1305MessageParams<'a> {
    raw: CK_SALSA20_CHACHA20_POLY1305_MSG_PARAMS,
    _buffers: PhantomData<&'a mut [u8]>,
}

impl<'a> ChaCha20Poly1305MessageParams<'a> {
    /// Encryption with `nonce` (12 bytes; never twice with one key); the token writes
    /// the tag into `tag`.
    pub fn new(nonce: &'a [u8], tag: &'a mut [u8; 16]) -> Self {
        Self::raw_params(nonce, tag.as_mut_ptr())
    }

    /// Decryption of a message sent with `nonce` and `tag`.
    pub fn to_decrypt(nonce: &'a [u8], tag: &'a [u8; 16]) -> Self {
        // Only read on decryption.
        Self::raw_params(nonce, tag.as_ptr().cast_mut())
    }

    fn raw_params(nonce: &'a [u8], tag: CK_BYTE_PTR) -> Self {
        ChaCha20Poly1305MessageParams {
            raw: CK_SALSA20_CHACHA20_POLY1305_MSG_PARAMS {
                pNonce: nonce.as_ptr().cast_mut(),
                ulNonceLen: ulong(nonce.len()),
                pTag: tag,
            },
            _buffers: PhantomData,
        }
    }
}

// SAFETY: as for GcmMessageParams: the nonce is only read, the tag (16 bytes) written
// on encryption, both borrowed for 'a.
unsafe impl MessageParameter for ChaCha20Poly1305MessageParams<'_> {
    fn raw(&mut self) -> (CK_VOID_PTR, CK_ULONG) {
        (
            (&mut self.raw as *mut CK_SALSA20_CHACHA20_POLY1305_MSG_PARAMS).cast(),
            ulong(size_of::<CK_SALSA20_CHACHA20_POLY1305_MSG_PARAMS>()),
        )
    }
}
