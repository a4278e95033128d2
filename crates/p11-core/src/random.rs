//! Random numbers from the token (`C_GenerateRandom`, `C_SeedRandom`).

use crate::call;
use crate::error::Result;
use crate::session::Session;

impl Session {
    /// `len` random bytes from the token. To reuse a buffer, use
    /// [`fill_random`](Self::fill_random).
    ///
    /// # Errors
    /// [`Error::OutOfMemory`](crate::Error::OutOfMemory) when `len` bytes cannot be
    /// allocated; the module's error from `C_GenerateRandom`.
    pub fn generate_random(&self, len: usize) -> Result<Vec<u8>> {
        let mut bytes = crate::operation::zeroed(len)?;
        self.fill_random(&mut bytes)?;
        Ok(bytes)
    }

    /// Fills `buffer` with random bytes from the token, without allocating.
    ///
    /// # Errors
    /// The module's error from `C_GenerateRandom`.
    pub fn fill_random(&self, buffer: &mut [u8]) -> Result<()> {
        if buffer.is_empty() {
            return Ok(());
        }
        let len = crate::template::ulong_len(buffer.len(), "the random buffer's length")?;
        let gate = self.enter()?;
        // SAFETY: `buffer` is writable for `len` bytes.
        unsafe {
            call!(
                gate,
                C_GenerateRandom(self.raw_handle(), buffer.as_mut_ptr(), len)
            )
        }
    }

    /// Mixes `seed` into the token's random number generator. Many tokens refuse this
    /// (`CKR_RANDOM_SEED_NOT_SUPPORTED`).
    ///
    /// # Errors
    /// The module's error from `C_SeedRandom`.
    pub fn seed_random(&self, seed: &[u8]) -> Result<()> {
        let len = crate::template::ulong_len(seed.len(), "the seed's length")?;
        let gate = self.enter()?;
        // SAFETY: `seed` is valid for `len` bytes; the module only reads it.
        unsafe {
            call!(
                gate,
                C_SeedRandom(self.raw_handle(), seed.as_ptr() as *mut u8, len)
            )
        }
    }
}
