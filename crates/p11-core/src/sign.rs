//! Signatures and MACs: sign and verify, single-part and multi-part.

use crate::call;
use crate::error::Result;
use crate::keys::mechanism_ptr;
use crate::object::Object;
use crate::operation::{input, output_into, output_vec, write_by_update, Active};
use crate::pin::Pin;
use crate::session::{OperationKind, Session};
use crate::ReturnValue;
use p11_mechanisms::{Mechanism, MechanismType, Operations};
use std::fmt;

/// `Ok(false)` for the return values that mean "this signature is not right".
fn verdict(result: Result<()>) -> Result<bool> {
    match result {
        Ok(()) => Ok(true),
        Err(e)
            if matches!(
                e.return_value(),
                Some(ReturnValue::SignatureInvalid | ReturnValue::SignatureLenRange)
            ) =>
        {
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

impl Session {
    /// Signs (or MACs) `data` in one call (`C_SignInit`, `C_Sign`). The signature buffer
    /// is sized from the mechanism, so that one call suffices.
    pub fn sign(&self, mechanism: &Mechanism, key: &Object, data: &[u8]) -> Result<Vec<u8>> {
        self.sign_inner(mechanism, key, data, None)
    }

    /// Signs with a key that needs its PIN for every use (`CKA_ALWAYS_AUTHENTICATE`).
    pub fn sign_with_pin(
        &self,
        mechanism: &Mechanism,
        key: &Object,
        data: &[u8],
        pin: impl Into<Pin>,
    ) -> Result<Vec<u8>> {
        self.sign_inner(mechanism, key, data, Some(pin.into()))
    }

    fn sign_inner(
        &self,
        mechanism: &Mechanism,
        key: &Object,
        data: &[u8],
        pin: Option<Pin>,
    ) -> Result<Vec<u8>> {
        let mut signer = self.begin_sign(mechanism, key)?;
        if let Some(pin) = pin {
            signer.active.authenticate(pin)?;
        }
        let bound = signer.mechanism.output_bound(Operations::SIGN, data.len());
        let (data, data_len) = input(data)?;
        let (module, handle) = (self.module_inner(), self.handle());
        let result = output_vec("C_Sign", bound, |out, len| {
            // SAFETY: `data` is readable for `data_len` bytes, `out` writable for `*len`.
            unsafe { call!(module, C_Sign(handle, data, data_len, out, len)) }
        });
        signer.active.ended_by(result)
    }

    /// Verifies `signature` over `data` in one call: `Ok(false)` for a wrong signature
    /// (or one of the wrong length), an error for anything else.
    pub fn verify(
        &self,
        mechanism: &Mechanism,
        key: &Object,
        data: &[u8],
        signature: &[u8],
    ) -> Result<bool> {
        let mut verifier = self.begin_verify(mechanism, key)?;
        let (data, data_len) = input(data)?;
        let (signature, signature_len) = input(signature)?;
        let module = self.module_inner();
        // SAFETY: both buffers are readable for their lengths.
        let result = unsafe {
            call!(
                module,
                C_Verify(self.handle(), data, data_len, signature, signature_len)
            )
        };
        verdict(verifier.active.ended_by(result))
    }

    /// Begins a multi-part signature (`C_SignInit`).
    pub fn begin_sign(&self, mechanism: &Mechanism, key: &Object) -> Result<Signer<'_>> {
        let raw = mechanism.raw();
        let module = self.module_inner();
        let active = Active::begin(self, OperationKind::Sign, || {
            // SAFETY: the mechanism points into `mechanism`, borrowed for the call.
            unsafe {
                call!(
                    module,
                    C_SignInit(self.handle(), mechanism_ptr(&raw), key.handle())
                )
            }
        })?;
        Ok(Signer {
            active,
            mechanism: mechanism.mechanism_type(),
        })
    }

    /// Begins a multi-part verification (`C_VerifyInit`).
    pub fn begin_verify(&self, mechanism: &Mechanism, key: &Object) -> Result<Verifier<'_>> {
        let raw = mechanism.raw();
        let module = self.module_inner();
        let active = Active::begin(self, OperationKind::Verify, || {
            // SAFETY: as for C_SignInit.
            unsafe {
                call!(
                    module,
                    C_VerifyInit(self.handle(), mechanism_ptr(&raw), key.handle())
                )
            }
        })?;
        Ok(Verifier { active })
    }
}

/// A multi-part signature. Also an `io::Write`, so that `io::copy` signs a whole reader.
/// Dropped unfinished, it cancels the operation.
pub struct Signer<'s> {
    active: Active<'s>,
    mechanism: MechanismType,
}

impl Signer<'_> {
    /// Logs in for this operation, for keys with `CKA_ALWAYS_AUTHENTICATE`: call it before
    /// the first update.
    pub fn authenticate(&self, pin: impl Into<Pin>) -> Result<()> {
        self.active.authenticate(pin.into())
    }

    /// Adds `data` (`C_SignUpdate`).
    pub fn update(&mut self, data: &[u8]) -> Result<()> {
        let (data, data_len) = input(data)?;
        let session = self.active.session();
        let module = session.module_inner();
        // SAFETY: `data` is readable for `data_len` bytes.
        let result = unsafe { call!(module, C_SignUpdate(session.handle(), data, data_len)) };
        self.active.updated_by(result)
    }

    /// Ends the operation: the signature (`C_SignFinal`).
    pub fn finish(mut self) -> Result<Vec<u8>> {
        let session = self.active.session();
        let (module, handle) = (session.module_inner(), session.handle());
        let bound = self.mechanism.output_bound(Operations::SIGN, 0);
        let result = output_vec("C_SignFinal", bound, |out, len| {
            // SAFETY: `out` is writable for `*len` bytes.
            unsafe { call!(module, C_SignFinal(handle, out, len)) }
        });
        self.active.ended_by(result)
    }

    /// Ends the operation, writing the signature into `output`; its length.
    pub fn finish_into(mut self, output: &mut [u8]) -> Result<usize> {
        let session = self.active.session();
        let (module, handle) = (session.module_inner(), session.handle());
        let result = output_into("C_SignFinal", output, |out, len| {
            // SAFETY: `out` is writable for `*len` bytes.
            unsafe { call!(module, C_SignFinal(handle, out, len)) }
        });
        self.active.ended_by(result)
    }
}

impl fmt::Debug for Signer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("mechanism", &self.mechanism)
            .finish()
    }
}

/// A multi-part verification. Also an `io::Write`. Dropped unfinished, it cancels the
/// operation.
pub struct Verifier<'s> {
    active: Active<'s>,
}

impl Verifier<'_> {
    /// Adds `data` (`C_VerifyUpdate`).
    pub fn update(&mut self, data: &[u8]) -> Result<()> {
        let (data, data_len) = input(data)?;
        let session = self.active.session();
        let module = session.module_inner();
        // SAFETY: `data` is readable for `data_len` bytes.
        let result = unsafe { call!(module, C_VerifyUpdate(session.handle(), data, data_len)) };
        self.active.updated_by(result)
    }

    /// Ends the operation against `signature` (`C_VerifyFinal`): `Ok(false)` for a wrong
    /// signature.
    pub fn finish(mut self, signature: &[u8]) -> Result<bool> {
        let (signature, len) = input(signature)?;
        let session = self.active.session();
        let module = session.module_inner();
        // SAFETY: `signature` is readable for `len` bytes.
        let result = unsafe { call!(module, C_VerifyFinal(session.handle(), signature, len)) };
        verdict(self.active.ended_by(result))
    }
}

impl fmt::Debug for Verifier<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Verifier")
    }
}

write_by_update!(Signer, Verifier);
