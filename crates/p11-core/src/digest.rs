//! Message digests, of data and of keys.

use crate::call;
use crate::error::Result;
use crate::keys::mechanism_ptr;
use crate::object::Object;
use crate::operation::{input, output_into, output_vec, write_by_update, Active};
use crate::session::{OperationKind, Session};
use p11_mechanisms::{Mechanism, MechanismType, Operations};
use std::fmt;

impl Session {
    /// The digest of `data` in one call (`C_DigestInit`, `C_Digest`).
    pub fn digest(&self, mechanism: &Mechanism, data: &[u8]) -> Result<Vec<u8>> {
        let mut digest = self.begin_digest(mechanism)?;
        let bound = mechanism
            .mechanism_type()
            .output_bound(Operations::DIGEST, data.len());
        let (data, data_len) = input(data)?;
        let (module, handle) = (self.module_inner(), self.handle());
        let result = output_vec("C_Digest", bound, |out, len| {
            // SAFETY: `data` is readable for `data_len` bytes, `out` writable for `*len`.
            unsafe { call!(module, C_Digest(handle, data, data_len, out, len)) }
        });
        digest.active.ended_by(result)
    }

    /// Begins a multi-part digest (`C_DigestInit`).
    pub fn begin_digest(&self, mechanism: &Mechanism) -> Result<Digest<'_>> {
        let raw = mechanism.raw();
        let module = self.module_inner();
        let active = Active::begin(self, OperationKind::Digest, || {
            // SAFETY: the mechanism points into `mechanism`, borrowed for the call.
            unsafe { call!(module, C_DigestInit(self.handle(), mechanism_ptr(&raw))) }
        })?;
        Ok(Digest {
            active,
            mechanism: mechanism.mechanism_type(),
        })
    }
}

/// A multi-part digest. Also an `io::Write`, so that `io::copy` digests a whole reader.
/// Dropped unfinished, it cancels the operation.
pub struct Digest<'s> {
    active: Active<'s>,
    mechanism: MechanismType,
}

impl Digest<'_> {
    /// Adds `data` (`C_DigestUpdate`).
    pub fn update(&mut self, data: &[u8]) -> Result<()> {
        let (data, data_len) = input(data)?;
        let session = self.active.session();
        let module = session.module_inner();
        // SAFETY: `data` is readable for `data_len` bytes.
        let result = unsafe { call!(module, C_DigestUpdate(session.handle(), data, data_len)) };
        self.active.updated_by(result)
    }

    /// Adds the value of a secret key, inside the token (`C_DigestKey`).
    pub fn update_key(&mut self, key: &Object) -> Result<()> {
        let session = self.active.session();
        let module = session.module_inner();
        // SAFETY: plain handles.
        let result = unsafe { call!(module, C_DigestKey(session.handle(), key.handle())) };
        self.active.updated_by(result)
    }

    /// Ends the operation: the digest (`C_DigestFinal`).
    pub fn finish(mut self) -> Result<Vec<u8>> {
        let session = self.active.session();
        let (module, handle) = (session.module_inner(), session.handle());
        let bound = self.mechanism.output_bound(Operations::DIGEST, 0);
        let result = output_vec("C_DigestFinal", bound, |out, len| {
            // SAFETY: `out` is writable for `*len` bytes.
            unsafe { call!(module, C_DigestFinal(handle, out, len)) }
        });
        self.active.ended_by(result)
    }

    /// Ends the operation, writing the digest into `output`; its length.
    pub fn finish_into(mut self, output: &mut [u8]) -> Result<usize> {
        let session = self.active.session();
        let (module, handle) = (session.module_inner(), session.handle());
        let result = output_into("C_DigestFinal", output, |out, len| {
            // SAFETY: `out` is writable for `*len` bytes.
            unsafe { call!(module, C_DigestFinal(handle, out, len)) }
        });
        self.active.ended_by(result)
    }
}

impl fmt::Debug for Digest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Digest")
            .field("mechanism", &self.mechanism)
            .finish()
    }
}

write_by_update!(Digest);
