//! Signatures with message recovery, and dual-function operations (two operations fed
//! by one call). Few modules offer them; where one does not, the calls fail with its
//! `CKR_FUNCTION_NOT_SUPPORTED` (or p11's [`Error::NotSupported`](crate::Error)).

use crate::call;
use crate::error::Result;
use crate::keys::mechanism_ptr;
use crate::object::Object;
use crate::operation::{cancel, input, output_into, output_vec, Active};
use crate::session::{OperationKind, Session};
use p11_mechanisms::{Mechanism, Operations};
use p11_sys::*;
use std::fmt;

impl Session {
    /// Signs `data` so that it can be recovered from the signature (`C_SignRecoverInit`,
    /// `C_SignRecover`), e.g. raw RSA.
    pub fn sign_recover(
        &self,
        mechanism: &Mechanism,
        key: &Object,
        data: &[u8],
    ) -> Result<Vec<u8>> {
        let raw = mechanism.raw();
        let module = self.module_inner();
        let handle = self.handle();
        let mut active = Active::begin(self, OperationKind::Sign, || {
            // SAFETY: the mechanism points into `mechanism`, borrowed for the call.
            unsafe {
                call!(
                    module,
                    C_SignRecoverInit(handle, mechanism_ptr(&raw), key.handle())
                )
            }
        })?;
        let bound = mechanism
            .mechanism_type()
            .output_bound(Operations::SIGN, data.len());
        let (data, data_len) = input(data)?;
        let result = output_vec("C_SignRecover", bound, |out, len| {
            // SAFETY: `data` is readable for `data_len` bytes, `out` writable for `*len`.
            unsafe { call!(module, C_SignRecover(handle, data, data_len, out, len)) }
        });
        active.ended_by(result)
    }

    /// Verifies `signature` and recovers the data it signs (`C_VerifyRecoverInit`,
    /// `C_VerifyRecover`). A wrong signature is the module's error
    /// (`CKR_SIGNATURE_INVALID`).
    pub fn verify_recover(
        &self,
        mechanism: &Mechanism,
        key: &Object,
        signature: &[u8],
    ) -> Result<Vec<u8>> {
        let raw = mechanism.raw();
        let module = self.module_inner();
        let handle = self.handle();
        let mut active = Active::begin(self, OperationKind::Verify, || {
            // SAFETY: as for C_SignRecoverInit.
            unsafe {
                call!(
                    module,
                    C_VerifyRecoverInit(handle, mechanism_ptr(&raw), key.handle())
                )
            }
        })?;
        let (signature, signature_len) = input(signature)?;
        let result = output_vec(
            "C_VerifyRecover",
            Some(signature_len as usize),
            |out, len| {
                // SAFETY: `signature` is readable for its length, `out` writable for `*len`.
                unsafe {
                    call!(
                        module,
                        C_VerifyRecover(handle, signature, signature_len, out, len)
                    )
                }
            },
        );
        active.ended_by(result)
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
pub struct Dual<'s> {
    kind: DualKind,
    cipher: Active<'s>,
}

impl Session {
    /// Begins a dual-function operation: `cipher_mechanism` with `cipher_key`, and
    /// `other_mechanism` (a digest, or a signature with `other_key`).
    pub fn begin_dual(
        &self,
        kind: DualKind,
        cipher_mechanism: &Mechanism,
        cipher_key: &Object,
        other_mechanism: &Mechanism,
        other_key: Option<&Object>,
    ) -> Result<Dual<'_>> {
        let (cipher_raw, other_raw) = (cipher_mechanism.raw(), other_mechanism.raw());
        let module = self.module_inner();
        let handle = self.handle();
        let other_key = other_key.map_or(CK_INVALID_HANDLE, Object::handle);
        let (cipher_kind, other_kind) = match kind {
            DualKind::DigestEncrypt => (OperationKind::Encrypt, OperationKind::Digest),
            DualKind::SignEncrypt => (OperationKind::Encrypt, OperationKind::Sign),
            DualKind::DecryptDigest => (OperationKind::Decrypt, OperationKind::Digest),
            DualKind::DecryptVerify => (OperationKind::Decrypt, OperationKind::Verify),
        };
        let cipher = Active::begin(self, cipher_kind, || {
            let (cipher, other) = (mechanism_ptr(&cipher_raw), mechanism_ptr(&other_raw));
            // SAFETY: both mechanisms point into values borrowed for the calls.
            unsafe {
                match kind {
                    DualKind::DigestEncrypt => call!(module, C_DigestInit(handle, other)),
                    DualKind::DecryptDigest => call!(module, C_DigestInit(handle, other)),
                    DualKind::SignEncrypt => call!(module, C_SignInit(handle, other, other_key)),
                    DualKind::DecryptVerify => {
                        call!(module, C_VerifyInit(handle, other, other_key))
                    }
                }?;
            }
            // SAFETY: as above.
            let started = unsafe {
                match cipher_kind {
                    OperationKind::Encrypt => {
                        call!(module, C_EncryptInit(handle, cipher, cipher_key.handle()))
                    }
                    _ => call!(module, C_DecryptInit(handle, cipher, cipher_key.handle())),
                }
            };
            if started.is_err() {
                // A module without dual-function operations refuses the second: end the first.
                cancel(self, other_kind);
            }
            started
        })?
        .also_cancels(other_kind);
        Ok(Dual { kind, cipher })
    }
}

impl Dual<'_> {
    /// Feeds `data` to both operations; the cipher's output goes to `output`, whose
    /// length is returned.
    pub fn update(&mut self, data: &[u8], output: &mut [u8]) -> Result<usize> {
        let (data, data_len) = input(data)?;
        let session = self.cipher.session();
        let (module, handle) = (session.module_inner(), session.handle());
        let kind = self.kind;
        let result = output_into("dual-function update", output, |out, len| {
            // SAFETY: `data` is readable for `data_len` bytes, `out` writable for `*len`.
            unsafe {
                match kind {
                    DualKind::DigestEncrypt => call!(
                        module,
                        C_DigestEncryptUpdate(handle, data, data_len, out, len)
                    ),
                    DualKind::DecryptDigest => call!(
                        module,
                        C_DecryptDigestUpdate(handle, data, data_len, out, len)
                    ),
                    DualKind::SignEncrypt => call!(
                        module,
                        C_SignEncryptUpdate(handle, data, data_len, out, len)
                    ),
                    DualKind::DecryptVerify => call!(
                        module,
                        C_DecryptVerifyUpdate(handle, data, data_len, out, len)
                    ),
                }
            }
        });
        self.cipher.updated_by(result)
    }

    /// Ends both operations. Gives the cipher's last output and the other's result: the
    /// digest or signature; for verification, pass the signature in `signature` and
    /// get back an empty vector when it verifies (an error when it does not).
    pub fn finish(mut self, signature: Option<&[u8]>) -> Result<(Vec<u8>, Vec<u8>)> {
        let session = self.cipher.session();
        let (module, handle) = (session.module_inner(), session.handle());
        let encrypting = matches!(self.kind, DualKind::DigestEncrypt | DualKind::SignEncrypt);
        // Both finals run whatever the first gives: each ends its operation.
        let rest = output_vec("C_*Final", Some(64), |out, len| {
            // SAFETY: `out` is writable for `*len` bytes.
            unsafe {
                if encrypting {
                    call!(module, C_EncryptFinal(handle, out, len))
                } else {
                    call!(module, C_DecryptFinal(handle, out, len))
                }
            }
        });
        let other = match self.kind {
            DualKind::DigestEncrypt | DualKind::DecryptDigest => {
                output_vec("C_DigestFinal", Some(64), |out, len| {
                    // SAFETY: as above.
                    unsafe { call!(module, C_DigestFinal(handle, out, len)) }
                })
            }
            DualKind::SignEncrypt => output_vec("C_SignFinal", Some(512), |out, len| {
                // SAFETY: as above.
                unsafe { call!(module, C_SignFinal(handle, out, len)) }
            }),
            DualKind::DecryptVerify => {
                input(signature.unwrap_or_default()).and_then(|(sig, len)| {
                    // SAFETY: `sig` is readable for `len` bytes.
                    unsafe { call!(module, C_VerifyFinal(handle, sig, len)) }.map(|()| Vec::new())
                })
            }
        };
        self.cipher.mark_ended();
        let (rest, other) = (rest?, other?);
        Ok((rest, other))
    }
}

impl fmt::Debug for Dual<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dual").field("kind", &self.kind).finish()
    }
}
