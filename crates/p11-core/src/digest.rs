//! Message digests, of data and of keys.

use crate::call;
use crate::error::Result;
use crate::keys::mechanism_ptr;
use crate::module::Gate;
use crate::object::Object;
use crate::operation::{
    input, output_into, output_vec, secret_output, write_by_update, Active, Single,
};
use crate::session::{OperationKind, Session};
use crate::Function;
use p11_mechanisms::{Mechanism, MechanismType, Operations};
use p11_sys::{CK_INVALID_HANDLE, CK_MECHANISM, CK_SESSION_HANDLE};
use std::fmt;
use zeroize::Zeroizing;

impl Session {
    /// The digest of `data` in one call (`C_DigestInit`, `C_Digest`).
    ///
    /// # Errors
    /// The module's error from `C_DigestInit`, `C_Digest`, or p11's when the session is gone or the answer
    /// is invalid (see `Error`).
    pub fn digest(&self, mechanism: &Mechanism, data: &[u8]) -> Result<Vec<u8>> {
        let mut active = self.start_digest(mechanism)?;
        let bound = mechanism
            .mechanism_type()
            .output_bound(Operations::DIGEST, data.len());
        let (data, data_len) = input(data)?;
        active.end(|gate, handle| {
            output_vec(Function::Digest, bound, |out, len| {
                // SAFETY: `data` is readable for `data_len` bytes, `out` writable for `*len`.
                unsafe { call!(gate, C_Digest(handle, data, data_len, out, len)) }
            })
        })
    }

    /// The digest of `data` in one call, into `output`, without allocating; its length.
    ///
    /// # Errors
    /// The module's error from `C_DigestInit` or `C_Digest`; an answer beyond `output`.
    pub fn digest_into(
        &self,
        mechanism: &Mechanism,
        data: &[u8],
        output: &mut [u8],
    ) -> Result<usize> {
        let mut active = self.start_digest(mechanism)?;
        let (data, data_len) = input(data)?;
        active.end(|gate, handle| {
            output_into(Function::Digest, output, |out, len| {
                // SAFETY: `data` is readable for `data_len` bytes, `out` writable for `*len`.
                unsafe { call!(gate, C_Digest(handle, data, data_len, out, len)) }
            })
        })
    }

    /// Begins a multi-part digest (`C_DigestInit`).
    ///
    /// # Errors
    /// The module's error from `C_DigestInit`, or p11's when the session is gone or the answer
    /// is invalid (see `Error`).
    pub fn begin_digest(&self, mechanism: &Mechanism) -> Result<Digest> {
        let raw = mechanism.raw();
        Ok(Digest {
            active: Active::begin_owned(
                self,
                OperationKind::Digest,
                mechanism.mechanism_type(),
                &|gate, handle| digest_init(gate, handle, &raw),
            )?,
            mechanism: mechanism.mechanism_type(),
        })
    }

    /// Carries on a digest saved with [`Digest::save_state`], in this session or another
    /// of the same token (`C_SetOperationState`).
    ///
    /// # Errors
    /// The module's error from `C_SetOperationState`: `CKR_SAVED_STATE_INVALID` for a
    /// state it did not make or cannot resume here, `CKR_FUNCTION_NOT_SUPPORTED` where it
    /// has no saved states; p11's when the session already has an operation.
    pub fn resume_digest(&self, state: &OperationState) -> Result<Digest> {
        let (bytes, len) = input(&state.bytes)?;
        let active = Active::begin_owned(
            self,
            OperationKind::Digest,
            state.mechanism,
            &|gate, handle| {
                // SAFETY: `bytes` is readable for `len` bytes and only read; a digest
                // needs no keys.
                unsafe {
                    call!(
                        gate,
                        C_SetOperationState(
                            handle,
                            bytes,
                            len,
                            CK_INVALID_HANDLE,
                            CK_INVALID_HANDLE
                        )
                    )
                }
            },
        )?;
        Ok(Digest {
            active: active.resumed(),
            mechanism: state.mechanism,
        })
    }

    /// A digest that ends within the caller.
    fn start_digest(&self, mechanism: &Mechanism) -> Result<Single<'_>> {
        let raw = mechanism.raw();
        Active::begin(
            self,
            OperationKind::Digest,
            mechanism.mechanism_type(),
            &|gate, handle| digest_init(gate, handle, &raw),
        )
    }
}

fn digest_init(gate: &Gate<'_>, handle: CK_SESSION_HANDLE, raw: &CK_MECHANISM) -> Result<()> {
    // SAFETY: the mechanism is borrowed for the call and only read.
    unsafe { call!(gate, C_DigestInit(handle, mechanism_ptr(raw))) }
}

/// A multi-part digest. Also an `io::Write`, so that `io::copy` digests a whole reader.
/// Dropped unfinished, it cancels the operation.
#[must_use = "an operation does nothing until used, and cancels when dropped"]
pub struct Digest {
    active: Active<'static>,
    mechanism: MechanismType,
}

impl Digest {
    /// Adds `data` (`C_DigestUpdate`).
    ///
    /// # Errors
    /// The module's error from `C_DigestUpdate`, or p11's when the session is gone or the answer
    /// is invalid (see `Error`).
    pub fn update(&mut self, data: &[u8]) -> Result<()> {
        let (data, data_len) = input(data)?;
        self.active.update(|gate, handle| {
            // SAFETY: `data` is readable for `data_len` bytes.
            unsafe { call!(gate, C_DigestUpdate(handle, data, data_len)) }
        })
    }

    /// Adds the value of a secret key, inside the token (`C_DigestKey`).
    ///
    /// # Errors
    /// The module's error from `C_DigestKey`, or p11's when the session is gone or the answer
    /// is invalid (see `Error`).
    pub fn update_key(&mut self, key: &Object) -> Result<()> {
        let key = key.raw_handle();
        self.active.update(|gate, handle| {
            // SAFETY: plain handles.
            unsafe { call!(gate, C_DigestKey(handle, key)) }
        })
    }

    /// The digest so far, as the module saves it (`C_GetOperationState`): resumed with
    /// [`Session::resume_digest`] in any session of the token, while this one carries on
    /// too. The bytes are the module's own and may hold what was digested; they are
    /// wiped when dropped.
    ///
    /// # Errors
    /// The module's error from `C_GetOperationState`: `CKR_STATE_UNSAVEABLE`, or
    /// `CKR_FUNCTION_NOT_SUPPORTED` where it saves no states.
    pub fn save_state(&self) -> Result<OperationState> {
        let bytes = self.active.inspect(|gate, handle| {
            secret_output(Function::GetOperationState, |out, len| {
                // SAFETY: `out` is null (a length query) or writable for `*len` bytes.
                unsafe { call!(gate, C_GetOperationState(handle, out, len)) }
            })
        })?;
        Ok(OperationState {
            bytes,
            mechanism: self.mechanism,
        })
    }

    /// Ends the operation: the digest (`C_DigestFinal`).
    ///
    /// # Errors
    /// The module's error from `C_DigestFinal`, or p11's when the session is gone or the answer
    /// is invalid (see `Error`).
    pub fn finish(mut self) -> Result<Vec<u8>> {
        let bound = self.mechanism.output_bound(Operations::DIGEST, 0);
        self.active.end(|gate, handle| {
            output_vec(Function::DigestFinal, bound, |out, len| {
                // SAFETY: `out` is writable for `*len` bytes.
                unsafe { call!(gate, C_DigestFinal(handle, out, len)) }
            })
        })
    }

    /// Ends the operation, writing the digest into `output`; its length.
    ///
    /// # Errors
    /// The module's error, or p11's when the session is gone or the answer is invalid
    /// (see `Error`).
    pub fn finish_into(mut self, output: &mut [u8]) -> Result<usize> {
        self.active.end(|gate, handle| {
            output_into(Function::DigestFinal, output, |out, len| {
                // SAFETY: `out` is writable for `*len` bytes.
                unsafe { call!(gate, C_DigestFinal(handle, out, len)) }
            })
        })
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Digest")
            .field("mechanism", &self.mechanism)
            .finish()
    }
}

write_by_update!(Digest);

/// A digest's saved state ([`Digest::save_state`]): opaque bytes only the module that
/// made them reads, wiped when dropped and never shown.
#[derive(Clone)]
pub struct OperationState {
    bytes: Zeroizing<Vec<u8>>,
    mechanism: MechanismType,
}

impl OperationState {
    /// The state as the module wrote it, to keep elsewhere (the module decides what a
    /// state holds, and whether another process may resume it).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// A state kept as bytes, of a digest with `mechanism`.
    pub fn from_bytes(mechanism: MechanismType, bytes: &[u8]) -> Self {
        OperationState {
            bytes: Zeroizing::new(bytes.to_vec()),
            mechanism,
        }
    }

    /// The digest mechanism the state belongs to.
    pub fn mechanism(&self) -> MechanismType {
        self.mechanism
    }
}

impl fmt::Debug for OperationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OperationState")
            .field("mechanism", &self.mechanism)
            .field("len", &self.bytes.len())
            .finish_non_exhaustive()
    }
}
