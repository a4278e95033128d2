//! Message digests, of data and of keys.

use crate::call;
use crate::error::Result;
use crate::keys::mechanism_ptr;
use crate::module::Gate;
use crate::object::Object;
use crate::operation::{input, output_into, output_vec, write_by_update, Active, Single};
use crate::session::{OperationKind, Session};
use p11_mechanisms::{Mechanism, MechanismType, Operations};
use p11_sys::{CK_MECHANISM, CK_SESSION_HANDLE};
use std::fmt;

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
            output_vec("C_Digest", bound, |out, len| {
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
            output_into("C_Digest", output, |out, len| {
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

    /// Ends the operation: the digest (`C_DigestFinal`).
    ///
    /// # Errors
    /// The module's error from `C_DigestFinal`, or p11's when the session is gone or the answer
    /// is invalid (see `Error`).
    pub fn finish(mut self) -> Result<Vec<u8>> {
        let bound = self.mechanism.output_bound(Operations::DIGEST, 0);
        self.active.end(|gate, handle| {
            output_vec("C_DigestFinal", bound, |out, len| {
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
            output_into("C_DigestFinal", output, |out, len| {
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
