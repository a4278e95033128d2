//! Encryption and decryption: single-part, multi-part into caller buffers, and the
//! streaming conveniences (chunk iterators, `io::Write` and `io::Read` adapters).

use crate::call;
use crate::error::{Error, Result};
use crate::keys::mechanism_ptr;
use crate::object::Object;
use crate::operation::{input, output_into, output_vec, Active};
use crate::pin::Pin;
use crate::session::{OperationKind, Session};
use p11_mechanisms::{Mechanism, MechanismType, Operations};
use std::fmt;
use std::io;
use zeroize::Zeroizing;

/// Which way a [`Cipher`] goes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Encryption.
    Encrypt,
    /// Decryption.
    Decrypt,
}

impl Direction {
    fn kind(self) -> OperationKind {
        match self {
            Direction::Encrypt => OperationKind::Encrypt,
            Direction::Decrypt => OperationKind::Decrypt,
        }
    }

    fn operation(self) -> Operations {
        match self {
            Direction::Encrypt => Operations::ENCRYPT,
            Direction::Decrypt => Operations::DECRYPT,
        }
    }
}

impl Session {
    /// Encrypts `data` in one call (`C_EncryptInit`, `C_Encrypt`). The output buffer is
    /// sized from the mechanism when it can be, so that one call suffices.
    pub fn encrypt(&self, mechanism: &Mechanism, key: &Object, data: &[u8]) -> Result<Vec<u8>> {
        self.crypt(Direction::Encrypt, mechanism, key, data, None)
    }

    /// Decrypts `data` in one call (`C_DecryptInit`, `C_Decrypt`).
    pub fn decrypt(&self, mechanism: &Mechanism, key: &Object, data: &[u8]) -> Result<Vec<u8>> {
        self.crypt(Direction::Decrypt, mechanism, key, data, None)
    }

    /// Decrypts with a key that needs its PIN for every use (`CKA_ALWAYS_AUTHENTICATE`).
    pub fn decrypt_with_pin(
        &self,
        mechanism: &Mechanism,
        key: &Object,
        data: &[u8],
        pin: impl Into<Pin>,
    ) -> Result<Vec<u8>> {
        self.crypt(Direction::Decrypt, mechanism, key, data, Some(pin.into()))
    }

    fn crypt(
        &self,
        direction: Direction,
        mechanism: &Mechanism,
        key: &Object,
        data: &[u8],
        pin: Option<Pin>,
    ) -> Result<Vec<u8>> {
        let mut cipher = self.begin_cipher(direction, mechanism, key)?;
        if let Some(pin) = pin {
            cipher.active.authenticate(pin)?;
        }
        let bound = cipher
            .mechanism
            .output_bound(direction.operation(), data.len());
        let (data, data_len) = input(data)?;
        let module = self.module_inner();
        let handle = self.handle();
        let result = match direction {
            Direction::Encrypt => output_vec("C_Encrypt", bound, |out, len| {
                // SAFETY: `data` is readable for `data_len` bytes, `out` writable for `*len`.
                unsafe { call!(module, C_Encrypt(handle, data, data_len, out, len)) }
            }),
            Direction::Decrypt => output_vec("C_Decrypt", bound, |out, len| {
                // SAFETY: as for C_Encrypt.
                unsafe { call!(module, C_Decrypt(handle, data, data_len, out, len)) }
            }),
        };
        cipher.active.ended_by(result)
    }

    /// Begins a multi-part encryption (`C_EncryptInit`).
    pub fn begin_encrypt(&self, mechanism: &Mechanism, key: &Object) -> Result<Cipher<'_>> {
        self.begin_cipher(Direction::Encrypt, mechanism, key)
    }

    /// Begins a multi-part decryption (`C_DecryptInit`).
    pub fn begin_decrypt(&self, mechanism: &Mechanism, key: &Object) -> Result<Cipher<'_>> {
        self.begin_cipher(Direction::Decrypt, mechanism, key)
    }

    fn begin_cipher(
        &self,
        direction: Direction,
        mechanism: &Mechanism,
        key: &Object,
    ) -> Result<Cipher<'_>> {
        let raw = mechanism.raw();
        let module = self.module_inner();
        let active = Active::begin(self, direction.kind(), || {
            // SAFETY: the mechanism points into `mechanism`, borrowed for the call.
            unsafe {
                match direction {
                    Direction::Encrypt => {
                        call!(
                            module,
                            C_EncryptInit(self.handle(), mechanism_ptr(&raw), key.handle())
                        )
                    }
                    Direction::Decrypt => {
                        call!(
                            module,
                            C_DecryptInit(self.handle(), mechanism_ptr(&raw), key.handle())
                        )
                    }
                }
            }
        })?;
        Ok(Cipher {
            active,
            direction,
            mechanism: mechanism.mechanism_type(),
        })
    }
}

/// A multi-part encryption or decryption. Holds the session's operation of its kind
/// until finished; dropped unfinished, it cancels the operation, leaving the session
/// ready for the next.
pub struct Cipher<'s> {
    active: Active<'s>,
    direction: Direction,
    mechanism: MechanismType,
}

impl<'s> Cipher<'s> {
    /// Which way it goes.
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// Logs in for this operation, for keys with `CKA_ALWAYS_AUTHENTICATE`: call it before
    /// the first update.
    pub fn authenticate(&self, pin: impl Into<Pin>) -> Result<()> {
        self.active.authenticate(pin.into())
    }

    /// Room enough for what `update` gives for `input_len` bytes: the input plus a
    /// block for the block ciphers this crate knows, plus 16 bytes otherwise.
    pub fn update_bound(&self, input_len: usize) -> usize {
        let block = self
            .mechanism
            .profile()
            .and_then(|p| p.block_size)
            .unwrap_or(16);
        input_len.saturating_add(block)
    }

    /// Processes `input` into `output` (`C_EncryptUpdate`/`C_DecryptUpdate`); the number of
    /// bytes written. `output` of [`update_bound`](Self::update_bound) bytes always
    /// suffices; a smaller one may get `CKR_BUFFER_TOO_SMALL`, after which the call can
    /// be repeated with more room.
    pub fn update(&mut self, input_data: &[u8], output: &mut [u8]) -> Result<usize> {
        let (data, data_len) = input(input_data)?;
        let session = self.active.session();
        let (module, handle) = (session.module_inner(), session.handle());
        let direction = self.direction;
        let result = output_into(update_name(direction), output, |out, len| {
            // SAFETY: `data` is readable for `data_len` bytes, `out` writable for `*len`.
            unsafe {
                match direction {
                    Direction::Encrypt => {
                        call!(module, C_EncryptUpdate(handle, data, data_len, out, len))
                    }
                    Direction::Decrypt => {
                        call!(module, C_DecryptUpdate(handle, data, data_len, out, len))
                    }
                }
            }
        });
        self.active.updated_by(result)
    }

    /// Processes `input` into a new vector.
    pub fn update_vec(&mut self, input_data: &[u8]) -> Result<Vec<u8>> {
        let mut output = vec![0; self.update_bound(input_data.len())];
        let written = self.update(input_data, &mut output)?;
        output.truncate(written);
        Ok(output)
    }

    /// Ends the operation (`C_EncryptFinal`/`C_DecryptFinal`), writing what remains (a
    /// padded last block, a GCM tag) into `output`; the number of bytes written.
    pub fn finish_into(mut self, output: &mut [u8]) -> Result<usize> {
        let session = self.active.session();
        let (module, handle) = (session.module_inner(), session.handle());
        let direction = self.direction;
        let result = output_into(final_name(direction), output, |out, len| {
            // SAFETY: `out` is writable for `*len` bytes.
            unsafe { final_call(module, direction, handle, out, len) }
        });
        self.active.ended_by(result)
    }

    /// Ends the operation, returning what remains.
    pub fn finish(mut self) -> Result<Vec<u8>> {
        let session = self.active.session();
        let (module, handle) = (session.module_inner(), session.handle());
        let direction = self.direction;
        let bound = Some(self.update_bound(0));
        let result = output_vec(final_name(direction), bound, |out, len| {
            // SAFETY: `out` is writable for `*len` bytes.
            unsafe { final_call(module, direction, handle, out, len) }
        });
        self.active.ended_by(result)
    }

    /// Streams `chunks` through the operation: an iterator of output chunks, the last one
    /// from the final call. Stops at the first error.
    pub fn stream<I>(self, chunks: I) -> CipherChunks<'s, I::IntoIter>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        CipherChunks {
            cipher: Some(self),
            chunks: chunks.into_iter(),
        }
    }

    /// An `io::Write` that passes what is written through the operation into `inner`.
    /// Call [`CipherWriter::finish`] at the end; dropping it unfinished cancels.
    pub fn writer<W: io::Write>(self, inner: W) -> CipherWriter<'s, W> {
        CipherWriter {
            cipher: Some(self),
            inner,
            buffer: Zeroizing::new(Vec::new()),
        }
    }

    /// An `io::Read` that reads from `inner` and yields it passed through the operation.
    pub fn reader<R: io::Read>(self, inner: R) -> CipherReader<'s, R> {
        CipherReader {
            cipher: Some(self),
            inner,
            input: vec![0; STREAM_CHUNK],
            output: Zeroizing::new(Vec::new()),
            position: 0,
        }
    }
}

fn update_name(direction: Direction) -> &'static str {
    match direction {
        Direction::Encrypt => "C_EncryptUpdate",
        Direction::Decrypt => "C_DecryptUpdate",
    }
}

fn final_name(direction: Direction) -> &'static str {
    match direction {
        Direction::Encrypt => "C_EncryptFinal",
        Direction::Decrypt => "C_DecryptFinal",
    }
}

/// # Safety
/// `out` must be writable for `*len` bytes.
unsafe fn final_call(
    module: &crate::module::ModuleInner,
    direction: Direction,
    handle: p11_sys::CK_SESSION_HANDLE,
    out: p11_sys::CK_BYTE_PTR,
    len: &mut p11_sys::CK_ULONG,
) -> Result<()> {
    // SAFETY: the caller's promise about `out`.
    unsafe {
        match direction {
            Direction::Encrypt => call!(module, C_EncryptFinal(handle, out, len)),
            Direction::Decrypt => call!(module, C_DecryptFinal(handle, out, len)),
        }
    }
}

impl fmt::Debug for Cipher<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cipher")
            .field("direction", &self.direction)
            .field("mechanism", &self.mechanism)
            .finish()
    }
}

/// The size of the chunks the reader adapters read.
const STREAM_CHUNK: usize = 64 * 1024;

/// Output chunks of a [`Cipher`] over input chunks; see [`Cipher::stream`].
pub struct CipherChunks<'s, I> {
    cipher: Option<Cipher<'s>>,
    chunks: I,
}

impl<I> Iterator for CipherChunks<'_, I>
where
    I: Iterator,
    I::Item: AsRef<[u8]>,
{
    type Item = Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        let cipher = self.cipher.as_mut()?;
        let result = match self.chunks.next() {
            Some(chunk) => cipher.update_vec(chunk.as_ref()),
            None => self.cipher.take()?.finish(),
        };
        if result.is_err() {
            self.cipher = None;
        }
        Some(result)
    }
}

impl<I> fmt::Debug for CipherChunks<'_, I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CipherChunks")
            .field("cipher", &self.cipher)
            .finish()
    }
}

fn io_error(e: Error) -> io::Error {
    io::Error::other(e)
}

/// Passes what is written through a [`Cipher`] into an inner writer. One buffer, reused.
pub struct CipherWriter<'s, W: io::Write> {
    cipher: Option<Cipher<'s>>,
    inner: W,
    buffer: Zeroizing<Vec<u8>>,
}

impl<W: io::Write> CipherWriter<'_, W> {
    /// Ends the operation, writes what remains, and gives back the inner writer.
    pub fn finish(mut self) -> Result<W> {
        let Some(cipher) = self.cipher.take() else {
            return Err(Error::invalid_argument("the operation has already failed"));
        };
        let rest = cipher.finish()?;
        self.inner.write_all(&rest).map_err(io_to_error)?;
        self.inner.flush().map_err(io_to_error)?;
        // `self` has no Drop of its own, so the writer can be moved out.
        Ok(self.inner)
    }
}

fn io_to_error(e: io::Error) -> Error {
    Error::invalid_argument(format!("the inner stream failed: {e}"))
}

impl<W: io::Write> io::Write for CipherWriter<'_, W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let cipher = self
            .cipher
            .as_mut()
            .ok_or_else(|| io::Error::other("the operation has already failed"))?;
        let needed = cipher.update_bound(data.len());
        if self.buffer.len() < needed {
            self.buffer.resize(needed, 0);
        }
        let written = match cipher.update(data, &mut self.buffer) {
            Ok(written) => written,
            Err(e) => {
                self.cipher = None;
                return Err(io_error(e));
            }
        };
        self.inner.write_all(&self.buffer[..written])?;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<W: io::Write> fmt::Debug for CipherWriter<'_, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CipherWriter")
            .field("cipher", &self.cipher)
            .finish()
    }
}

/// Reads from an inner reader through a [`Cipher`]. Two buffers, reused.
pub struct CipherReader<'s, R: io::Read> {
    cipher: Option<Cipher<'s>>,
    inner: R,
    input: Vec<u8>,
    output: Zeroizing<Vec<u8>>,
    position: usize,
}

impl<R: io::Read> io::Read for CipherReader<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.position == self.output.len() {
            let Some(cipher) = self.cipher.as_mut() else {
                return Ok(0);
            };
            let read = self.inner.read(&mut self.input)?;
            self.position = 0;
            if read == 0 {
                let cipher = self
                    .cipher
                    .take()
                    .ok_or_else(|| io::Error::other("finished"))?;
                *self.output = cipher.finish().map_err(io_error)?;
            } else {
                let needed = cipher.update_bound(read);
                self.output.resize(needed, 0);
                match cipher.update(&self.input[..read], &mut self.output) {
                    Ok(written) => self.output.truncate(written),
                    Err(e) => {
                        self.cipher = None;
                        return Err(io_error(e));
                    }
                }
            }
        }
        let n = out.len().min(self.output.len() - self.position);
        out[..n].copy_from_slice(&self.output[self.position..self.position + n]);
        self.position += n;
        Ok(n)
    }
}

impl<R: io::Read> fmt::Debug for CipherReader<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CipherReader")
            .field("cipher", &self.cipher)
            .finish()
    }
}
