//! Random numbers from the token (`C_GenerateRandom`, `C_SeedRandom`).

use crate::call;
use crate::error::{Error, Result};
use crate::session::Session;
use p11_sys::CK_ULONG;

impl Session {
    /// `nbits` random bits from the token, as `nbits / 8` bytes. A bit count that is not
    /// a multiple of 8 is refused.
    pub fn generate_random(&self, nbits: usize) -> Result<Vec<u8>> {
        if nbits % 8 != 0 {
            return Err(Error::invalid_argument(format!(
                "random data comes in whole bytes: {nbits} bits is not a multiple of 8"
            )));
        }
        let mut bytes = vec![0; nbits / 8];
        self.fill_random(&mut bytes)?;
        Ok(bytes)
    }

    /// Fills `buffer` with random bytes from the token, without allocating.
    pub fn fill_random(&self, buffer: &mut [u8]) -> Result<()> {
        if buffer.is_empty() {
            return Ok(());
        }
        let len = CK_ULONG::try_from(buffer.len())
            .map_err(|_| Error::invalid_argument("the random buffer is too long"))?;
        let module = self.module_inner();
        // SAFETY: `buffer` is writable for `len` bytes.
        unsafe {
            call!(
                module,
                C_GenerateRandom(self.handle(), buffer.as_mut_ptr(), len)
            )
        }
    }

    /// Mixes `seed` into the token's random number generator. Many tokens refuse this
    /// (`CKR_RANDOM_SEED_NOT_SUPPORTED`).
    pub fn seed_random(&self, seed: &[u8]) -> Result<()> {
        let len = CK_ULONG::try_from(seed.len())
            .map_err(|_| Error::invalid_argument("the seed is too long"))?;
        let module = self.module_inner();
        // SAFETY: `seed` is valid for `len` bytes; the module only reads it.
        unsafe {
            call!(
                module,
                C_SeedRandom(self.handle(), seed.as_ptr() as *mut u8, len)
            )
        }
    }
}
