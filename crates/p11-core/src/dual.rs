//! Signatures with message recovery, and dual-function operations (two operations fed
//! by one call). Few modules offer them; where one does not, the calls fail with its
//! `CKR_FUNCTION_NOT_SUPPORTED` (or p11's [`Error::NotSupported`](crate::Error)).

use crate::call;
use crate::error::Result;
use crate::keys::mechanism_ptr;
use crate::module::Gate;
use crate::object::Object;
use crate::operation::{error_ends, input, output_into, output_vec, Active, KeyInit};
use crate::session::{OperationKind, Session, Unfinished};
use crate::Function;
use p11_mechanisms::{Mechanism, Operations};
use p11_sys::*;
use std::fmt;

impl Session {
    /// Signs `data` so that it can be recovered from the signature (`C_SignRecoverInit`,
    /// `C_SignRecover`), e.g. raw RSA.
    ///
    /// # Errors
    /// The module's error from `C_SignRecoverInit`, `C_SignRecover`, or p11's when the session is gone or the answer
    /// is invalid (see `Error`).
    pub fn sign_recover(
        &self,
        mechanism: &Mechanism,
        key: &Object,
        data: &[u8],
    ) -> Result<Vec<u8>> {
        let mut active = self.start(KeyInit::SignRecover, mechanism, key)?;
        let bound = key.output_bound(mechanism.mechanism_type(), Operations::SIGN, data.len());
        let (data, data_len) = input(data)?;
        active.end(|gate, handle| {
            output_vec(Function::SignRecover, bound, |out, len| {
                // SAFETY: `data` is readable for `data_len` bytes, `out` writable for `*len`.
                unsafe { call!(gate, C_SignRecover(handle, data, data_len, out, len)) }
            })
        })
    }

    /// Verifies `signature` and recovers the data it signs (`C_VerifyRecoverInit`,
    /// `C_VerifyRecover`). A wrong signature is the module's error
    /// (`CKR_SIGNATURE_INVALID`).
    ///
    /// # Errors
    /// The module's error from `C_VerifyRecoverInit`, `C_VerifyRecover`, or p11's when the session is gone or the answer
    /// is invalid (see `Error`).
    pub fn verify_recover(
        &self,
        mechanism: &Mechanism,
        key: &Object,
        signature: &[u8],
    ) -> Result<Vec<u8>> {
        let mut active = self.start(KeyInit::VerifyRecover, mechanism, key)?;
        let bound = Some(signature.len());
        let (signature, signature_len) = input(signature)?;
        active.end(|gate, handle| {
            output_vec(Function::VerifyRecover, bound, |out, len| {
                // SAFETY: `signature` is readable for its length, `out` writable for `*len`.
                unsafe {
                    call!(
                        gate,
                        C_VerifyRecover(handle, signature, signature_len, out, len)
                    )
                }
            })
        })
    }
}

/// The four dual-function pairings of PKCS#11.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum DualKind {
    /// Digest the plaintext and encrypt it (`C_DigestEncryptUpdate`).
    DigestEncrypt,
    /// Decrypt and digest the plaintext (`C_DecryptDigestUpdate`).
    DecryptDigest,
    /// Sign the plaintext and encrypt it (`C_SignEncryptUpdate`).
    SignEncrypt,
    /// Decrypt and verify the plaintext (`C_DecryptVerifyUpdate`).
    DecryptVerify,
}

/// A dual-function operation: a cipher and a digest, signature or verification fed by
/// the same data. Begin it with [`Session::begin_dual`]; end it with
/// [`finish`](Dual::finish), which ends both. Dropped unfinished, it cancels both.
#[must_use = "an operation does nothing until used, and cancels when dropped"]
pub struct Dual {
    kind: DualKind,
    cipher: Active<'static>,
}

impl Session {
    /// Begins a dual-function operation: `cipher_mechanism` with `cipher_key`, and
    /// `other_mechanism` (a digest, or a signature with `other_key`).
    ///
    /// # Errors
    /// The module's error, or p11's when the session is gone or the answer is invalid
    /// (see `Error`).
    pub fn begin_dual(
        &self,
        kind: DualKind,
        cipher_mechanism: &Mechanism,
        cipher_key: &Object,
        other_mechanism: &Mechanism,
        other_key: Option<&Object>,
    ) -> Result<Dual> {
        let (cipher_raw, other_raw) = (cipher_mechanism.raw(), other_mechanism.raw());
        let other_key = other_key.map_or(CK_INVALID_HANDLE, Object::raw_handle);
        let cipher_key = cipher_key.raw_handle();
        let (cipher_kind, other_kind) = match kind {
            DualKind::DigestEncrypt => (OperationKind::Encrypt, OperationKind::Digest),
            DualKind::SignEncrypt => (OperationKind::Encrypt, OperationKind::Sign),
            DualKind::DecryptDigest => (OperationKind::Decrypt, OperationKind::Digest),
            DualKind::DecryptVerify => (OperationKind::Decrypt, OperationKind::Verify),
        };
        let cipher = Active::begin_owned(
            self,
            cipher_kind,
            cipher_mechanism.mechanism_type(),
            &|gate: &Gate<'_>, handle| {
                let (cipher, other) = (mechanism_ptr(&cipher_raw), mechanism_ptr(&other_raw));
                // SAFETY: both mechanisms point into values borrowed for the calls.
                unsafe {
                    match kind {
                        DualKind::DigestEncrypt => call!(gate, C_DigestInit(handle, other)),
                        DualKind::DecryptDigest => call!(gate, C_DigestInit(handle, other)),
                        DualKind::SignEncrypt => call!(gate, C_SignInit(handle, other, other_key)),
                        DualKind::DecryptVerify => {
                            call!(gate, C_VerifyInit(handle, other, other_key))
                        }
                    }?;
                }
                // SAFETY: as above.
                let started = unsafe {
                    match cipher_kind {
                        OperationKind::Encrypt => {
                            call!(gate, C_EncryptInit(handle, cipher, cipher_key))
                        }
                        _ => call!(gate, C_DecryptInit(handle, cipher, cipher_key)),
                    }
                };
                if started.is_err() {
                    // A module without dual-function operations refuses the second: end the first.
                    crate::operation::cancel(
                        self,
                        Unfinished {
                            kind: other_kind,
                            updated: false,
                        },
                    );
                }
                started
            },
        )?
        .also_cancels(other_kind);
        Ok(Dual { kind, cipher })
    }
}

impl Dual {
    /// Feeds `data` to both operations; the cipher's output goes to `output`, whose
    /// length is returned.
    ///
    /// # Errors
    /// The module's error, or p11's when the session is gone or the answer is invalid
    /// (see `Error`).
    pub fn update(&mut self, data: &[u8], output: &mut [u8]) -> Result<usize> {
        let (data, data_len) = input(data)?;
        let kind = self.kind;
        let function = match kind {
            DualKind::DigestEncrypt => Function::DigestEncryptUpdate,
            DualKind::DecryptDigest => Function::DecryptDigestUpdate,
            DualKind::SignEncrypt => Function::SignEncryptUpdate,
            DualKind::DecryptVerify => Function::DecryptVerifyUpdate,
        };
        self.cipher.update(|gate, handle| {
            output_into(function, output, |out, len| {
                // SAFETY: `data` is readable for `data_len` bytes, `out` writable for `*len`.
                unsafe {
                    match kind {
                        DualKind::DigestEncrypt => call!(
                            gate,
                            C_DigestEncryptUpdate(handle, data, data_len, out, len)
                        ),
                        DualKind::DecryptDigest => call!(
                            gate,
                            C_DecryptDigestUpdate(handle, data, data_len, out, len)
                        ),
                        DualKind::SignEncrypt => {
                            call!(gate, C_SignEncryptUpdate(handle, data, data_len, out, len))
                        }
                        DualKind::DecryptVerify => call!(
                            gate,
                            C_DecryptVerifyUpdate(handle, data, data_len, out, len)
                        ),
                    }
                }
            })
        })
    }

    /// Ends both operations. Gives the cipher's last output and the other's result: the
    /// digest or signature; for verification, pass the signature in `signature` and
    /// get back an empty vector when it verifies (an error when it does not).
    ///
    /// # Errors
    /// The module's error, or p11's when the session is gone or the answer is invalid
    /// (see `Error`).
    pub fn finish(mut self, signature: Option<&[u8]>) -> Result<(Vec<u8>, Vec<u8>)> {
        let encrypting = matches!(self.kind, DualKind::DigestEncrypt | DualKind::SignEncrypt);
        let kind = self.kind;
        self.cipher.end(|gate, handle| {
            // Both finals run whatever the first gives: each ends its own operation.
            let last = if encrypting {
                Function::EncryptFinal
            } else {
                Function::DecryptFinal
            };
            let rest = output_vec(last, Some(64), |out, len| {
                // SAFETY: `out` is writable for `*len` bytes.
                unsafe {
                    if encrypting {
                        call!(gate, C_EncryptFinal(handle, out, len))
                    } else {
                        call!(gate, C_DecryptFinal(handle, out, len))
                    }
                }
            });
            let other = match kind {
                DualKind::DigestEncrypt | DualKind::DecryptDigest => {
                    output_vec(Function::DigestFinal, Some(64), |out, len| {
                        // SAFETY: as above.
                        unsafe { call!(gate, C_DigestFinal(handle, out, len)) }
                    })
                }
                DualKind::SignEncrypt => output_vec(Function::SignFinal, Some(512), |out, len| {
                    // SAFETY: as above.
                    unsafe { call!(gate, C_SignFinal(handle, out, len)) }
                }),
                DualKind::DecryptVerify => {
                    input(signature.unwrap_or_default()).and_then(|(sig, len)| {
                        // SAFETY: `sig` is readable for `len` bytes.
                        unsafe { call!(gate, C_VerifyFinal(handle, sig, len)) }.map(|()| Vec::new())
                    })
                }
            };
            match (rest, other) {
                (Ok(rest), Ok(other)) => Ok((rest, other)),
                // The outcome that did not end its operation decides, so that both are
                // cancelled.
                (Err(e), Ok(_)) | (Ok(_), Err(e)) => Err(e),
                (Err(a), Err(b)) => Err(if error_ends(&a) { b } else { a }),
            }
        })
    }
}

impl fmt::Debug for Dual {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dual").field("kind", &self.kind).finish()
    }
}
