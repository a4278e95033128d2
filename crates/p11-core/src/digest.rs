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
        digest.active.end(|gate, handle| {
            output_vec("C_Digest", bound, |out, len| {
                // SAFETY: `data` is readable for `data_len` bytes, `out` writable for `*len`.
                unsafe { call!(gate, C_Digest(handle, data, data_len, out, len)) }
            })
        })
    }

    /// Begins a multi-part digest (`C_DigestInit`).
    pub fn begin_digest(&self, mechanism: &Mechanism) -> Result<Digest> {
        let raw = mechanism.raw();
        let active = Active::begin(
            self,
            OperationKind::Digest,
            mechanism.mechanism_type(),
            |gate, handle| {
                // SAFETY: the mechanism points into `mechanism`, borrowed for the call.
                unsafe { call!(gate, C_DigestInit(handle, mechanism_ptr(&raw))) }
            },
        )?;
        Ok(Digest {
            active,
            mechanism: mechanism.mechanism_type(),
        })
    }
}

/// A multi-part digest. Also an `io::Write`, so that `io::copy` digests a whole reader.
/// Dropped unfinished, it cancels the operation.
pub struct Digest {
    active: Active,
    mechanism: MechanismType,
}

impl Digest {
    /// Adds `data` (`C_DigestUpdate`).
    pub fn update(&mut self, data: &[u8]) -> Result<()> {
        let (data, data_len) = input(data)?;
        self.active.update(|gate, handle| {
            // SAFETY: `data` is readable for `data_len` bytes.
            unsafe { call!(gate, C_DigestUpdate(handle, data, data_len)) }
        })
    }

    /// Adds the value of a secret key, inside the token (`C_DigestKey`).
    pub fn update_key(&mut self, key: &Object) -> Result<()> {
        let key = key.raw_handle();
        self.active.update(|gate, handle| {
            // SAFETY: plain handles.
            unsafe { call!(gate, C_DigestKey(handle, key)) }
        })
    }

    /// Ends the operation: the digest (`C_DigestFinal`).
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
