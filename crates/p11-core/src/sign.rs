//! Signatures and MACs: sign and verify, single-part and multi-part.

use crate::call;
use crate::error::Result;
use crate::keys::mechanism_ptr;
use crate::module::Gate;
use crate::object::{KeyUse, Object};
use crate::operation::{input, output_into, output_vec, write_by_update, Active, Init, KeyInit};
use crate::session::{OperationKind, Session};
use crate::Function;
use crate::ReturnValue;
use p11_mechanisms::{Mechanism, MechanismType, Operations};
use std::fmt;

/// Runs `begin` with the init of a signature-first verification (`C_VerifySignatureInit`
/// with `signature`, PKCS#11 3.2).
fn with_signature<T>(
    mechanism: &Mechanism,
    key: &Object,
    signature: &[u8],
    begin: impl FnOnce(Init<'_>) -> Result<T>,
) -> Result<T> {
    let (raw, key) = (mechanism.raw(), key.raw_handle());
    let (signature, signature_len) = input(signature)?;
    let init = |gate: &Gate<'_>, handle| {
        // SAFETY: the mechanism and the signature are borrowed for the call and only read
        // (the module keeps its own copy of the signature); the rest are plain handles.
        unsafe {
            call!(
                gate,
                v3_2 C_VerifySignatureInit(
                    handle,
                    mechanism_ptr(&raw),
                    key,
                    signature,
                    signature_len
                )
            )
        }
    };
    begin(&init)
}

/// `Ok(false)` for the return values that mean "this signature is not right".
pub(crate) fn verdict(result: Result<()>) -> Result<bool> {
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
    /// Signs (or MACs) `data` in one call (`C_SignInit`, `C_Sign`) with `key` (`&key`,
    /// or [`key.with_pin(pin)`](Object::with_pin) for a key that asks for its PIN on
    /// every use). The signature buffer is sized from the mechanism, so that one call
    /// suffices.
    ///
    /// # Errors
    /// The module's error from `C_SignInit`, `C_Login` (the key's PIN) or `C_Sign`, or
    /// p11's when the session is gone or the answer is invalid (see `Error`).
    pub fn sign<'k>(
        &self,
        mechanism: &Mechanism,
        key: impl Into<KeyUse<'k>>,
        data: &[u8],
    ) -> Result<Vec<u8>> {
        let key = key.into();
        let object = key.key;
        let mut active = self.start(KeyInit::Sign, mechanism, key)?;
        let bound = object.output_bound(mechanism.mechanism_type(), Operations::SIGN, data.len());
        let (data, data_len) = input(data)?;
        active.end(|gate, handle| {
            output_vec(Function::Sign, bound, |out, len| {
                // SAFETY: `data` is readable for `data_len` bytes, `out` writable for `*len`.
                unsafe { call!(gate, C_Sign(handle, data, data_len, out, len)) }
            })
        })
    }

    /// Signs (or MACs) `data` in one call into `output`, without allocating; the
    /// signature's length. `output` must have room for the whole signature.
    ///
    /// # Errors
    /// The module's error from `C_SignInit` or `C_Sign`; an answer beyond `output`.
    pub fn sign_into(
        &self,
        mechanism: &Mechanism,
        key: &Object,
        data: &[u8],
        output: &mut [u8],
    ) -> Result<usize> {
        let mut active = self.start(KeyInit::Sign, mechanism, key)?;
        let (data, data_len) = input(data)?;
        active.end(|gate, handle| {
            output_into(Function::Sign, output, |out, len| {
                // SAFETY: `data` is readable for `data_len` bytes, `out` writable for `*len`.
                unsafe { call!(gate, C_Sign(handle, data, data_len, out, len)) }
            })
        })
    }

    /// Verifies `signature` over `data` in one call: `Ok(false)` for a wrong signature
    /// (or one of the wrong length), an error for anything else.
    ///
    /// # Errors
    /// The module's error, or p11's when the session is gone or the answer is invalid
    /// (see `Error`).
    pub fn verify(
        &self,
        mechanism: &Mechanism,
        key: &Object,
        data: &[u8],
        signature: &[u8],
    ) -> Result<bool> {
        let mut active = self.start(KeyInit::Verify, mechanism, key)?;
        let (data, data_len) = input(data)?;
        let (signature, signature_len) = input(signature)?;
        verdict(active.end(|gate, handle| {
            // SAFETY: both buffers are readable for their lengths.
            unsafe {
                call!(
                    gate,
                    C_Verify(handle, data, data_len, signature, signature_len)
                )
            }
        }))
    }

    /// Verifies `signature` over `data` with the signature given first
    /// (`C_VerifySignatureInit`, `C_VerifySignature`; PKCS#11 3.2): `true` when it is
    /// valid, `false` when the module says it is not.
    ///
    /// # Errors
    /// [`Error::NotSupported`](crate::Error::NotSupported) on a module without the 3.2
    /// interface; the module's error, or p11's when the session is gone.
    pub fn verify_signature(
        &self,
        mechanism: &Mechanism,
        key: &Object,
        data: &[u8],
        signature: &[u8],
    ) -> Result<bool> {
        let mut active = with_signature(mechanism, key, signature, |init| {
            Active::begin(
                self,
                OperationKind::VerifySignature,
                mechanism.mechanism_type(),
                init,
            )
        })?;
        let (data, data_len) = input(data)?;
        verdict(active.end(|gate, handle| {
            // SAFETY: `data` is readable for `data_len` bytes.
            unsafe { call!(gate, v3_2 C_VerifySignature(handle, data, data_len)) }
        }))
    }

    /// Begins a multi-part verification with the signature given first
    /// (`C_VerifySignatureInit`; PKCS#11 3.2): feed the data with
    /// [`SignatureVerifier::update`], then [`finish`](SignatureVerifier::finish).
    ///
    /// # Errors
    /// [`Error::NotSupported`](crate::Error::NotSupported) on a module without the 3.2
    /// interface; the module's error from `C_VerifySignatureInit`, or p11's when the
    /// session is gone.
    pub fn begin_verify_signature(
        &self,
        mechanism: &Mechanism,
        key: &Object,
        signature: &[u8],
    ) -> Result<SignatureVerifier> {
        let active = with_signature(mechanism, key, signature, |init| {
            Active::begin_owned(
                self,
                OperationKind::VerifySignature,
                mechanism.mechanism_type(),
                init,
            )
        })?;
        Ok(SignatureVerifier { active })
    }

    /// Begins a multi-part signature (`C_SignInit`) with `key`, or
    /// [`key.with_pin(pin)`](Object::with_pin).
    ///
    /// # Errors
    /// The module's error from `C_SignInit` or `C_Login` (the key's PIN), or p11's when
    /// the session is gone or the answer is invalid (see `Error`).
    pub fn begin_sign<'k>(
        &self,
        mechanism: &Mechanism,
        key: impl Into<KeyUse<'k>>,
    ) -> Result<Signer> {
        let key = key.into();
        let object = key.key;
        Ok(Signer {
            active: self.start_owned(KeyInit::Sign, mechanism, key)?,
            mechanism: mechanism.mechanism_type(),
            bound: object.output_bound(mechanism.mechanism_type(), Operations::SIGN, 0),
        })
    }

    /// Begins a multi-part verification (`C_VerifyInit`).
    ///
    /// # Errors
    /// The module's error from `C_VerifyInit`, or p11's when the session is gone or the answer
    /// is invalid (see `Error`).
    pub fn begin_verify(&self, mechanism: &Mechanism, key: &Object) -> Result<Verifier> {
        Ok(Verifier {
            active: self.start_owned(KeyInit::Verify, mechanism, key)?,
        })
    }
}

/// A multi-part signature. Also an `io::Write`, so that `io::copy` signs a whole reader.
/// Dropped unfinished, it cancels the operation.
#[must_use = "an operation does nothing until used, and cancels when dropped"]
pub struct Signer {
    active: Active<'static>,
    mechanism: MechanismType,
    /// Room for the signature, as the key tells it (see `Object::output_bound`).
    bound: Option<usize>,
}

impl Signer {
    /// Adds `data` (`C_SignUpdate`).
    ///
    /// # Errors
    /// The module's error from `C_SignUpdate`, or p11's when the session is gone or the answer
    /// is invalid (see `Error`).
    pub fn update(&mut self, data: &[u8]) -> Result<()> {
        let (data, data_len) = input(data)?;
        self.active.update(|gate, handle| {
            // SAFETY: `data` is readable for `data_len` bytes.
            unsafe { call!(gate, C_SignUpdate(handle, data, data_len)) }
        })
    }

    /// Ends the operation: the signature (`C_SignFinal`).
    ///
    /// # Errors
    /// The module's error from `C_SignFinal`, or p11's when the session is gone or the answer
    /// is invalid (see `Error`).
    pub fn finish(mut self) -> Result<Vec<u8>> {
        let bound = self.bound;
        self.active.end(|gate, handle| {
            output_vec(Function::SignFinal, bound, |out, len| {
                // SAFETY: `out` is writable for `*len` bytes.
                unsafe { call!(gate, C_SignFinal(handle, out, len)) }
            })
        })
    }

    /// Ends the operation, writing the signature into `output`; its length.
    ///
    /// # Errors
    /// The module's error, or p11's when the session is gone or the answer is invalid
    /// (see `Error`).
    pub fn finish_into(mut self, output: &mut [u8]) -> Result<usize> {
        self.active.end(|gate, handle| {
            output_into(Function::SignFinal, output, |out, len| {
                // SAFETY: `out` is writable for `*len` bytes.
                unsafe { call!(gate, C_SignFinal(handle, out, len)) }
            })
        })
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("mechanism", &self.mechanism)
            .finish()
    }
}

/// A multi-part verification. Also an `io::Write`. Dropped unfinished, it cancels the
/// operation.
#[must_use = "an operation does nothing until used, and cancels when dropped"]
pub struct Verifier {
    active: Active<'static>,
}

impl Verifier {
    /// Adds `data` (`C_VerifyUpdate`).
    ///
    /// # Errors
    /// The module's error from `C_VerifyUpdate`, or p11's when the session is gone or the answer
    /// is invalid (see `Error`).
    pub fn update(&mut self, data: &[u8]) -> Result<()> {
        let (data, data_len) = input(data)?;
        self.active.update(|gate, handle| {
            // SAFETY: `data` is readable for `data_len` bytes.
            unsafe { call!(gate, C_VerifyUpdate(handle, data, data_len)) }
        })
    }

    /// Ends the operation against `signature` (`C_VerifyFinal`): `Ok(false)` for a wrong
    /// signature.
    ///
    /// # Errors
    /// The module's error from `C_VerifyFinal`, or p11's when the session is gone or the answer
    /// is invalid (see `Error`).
    pub fn finish(mut self, signature: &[u8]) -> Result<bool> {
        let (signature, len) = input(signature)?;
        verdict(self.active.end(|gate, handle| {
            // SAFETY: `signature` is readable for `len` bytes.
            unsafe { call!(gate, C_VerifyFinal(handle, signature, len)) }
        }))
    }
}

/// A multi-part verification whose signature was given at the start (PKCS#11 3.2's
/// `C_VerifySignature*`), from [`Session::begin_verify_signature`]. Owns its session, as
/// [`Verifier`] does; dropped unfinished, it is cancelled.
#[must_use = "an operation does nothing until used, and cancels when dropped"]
pub struct SignatureVerifier {
    active: Active<'static>,
}

impl SignatureVerifier {
    /// Adds `data` (`C_VerifySignatureUpdate`).
    ///
    /// # Errors
    /// The module's error from `C_VerifySignatureUpdate`, or p11's when the session is
    /// gone.
    pub fn update(&mut self, data: &[u8]) -> Result<()> {
        let (data, data_len) = input(data)?;
        self.active.update(|gate, handle| {
            // SAFETY: `data` is readable for `data_len` bytes.
            unsafe { call!(gate, v3_2 C_VerifySignatureUpdate(handle, data, data_len)) }
        })
    }

    /// Ends the operation (`C_VerifySignatureFinal`): `Ok(false)` when the signature given
    /// at the start does not verify.
    ///
    /// # Errors
    /// The module's error from `C_VerifySignatureFinal`, or p11's when the session is gone.
    pub fn finish(mut self) -> Result<bool> {
        verdict(self.active.end(|gate, handle| {
            // SAFETY: a plain call on the session's handle.
            unsafe { call!(gate, v3_2 C_VerifySignatureFinal(handle)) }
        }))
    }
}

impl fmt::Debug for SignatureVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SignatureVerifier")
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Verifier")
    }
}

write_by_update!(Signer, Verifier);
