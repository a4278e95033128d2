//! Encryption and decryption: single-part, multi-part into caller buffers, and the
//! streaming conveniences (chunk iterators, `io::Write` and `io::Read` adapters).

use crate::call;
use crate::error::{Error, Result};
use crate::object::{KeyUse, Object};
use crate::operation::{input, output_into, output_vec, Active, KeyInit};
use crate::session::Session;
use crate::Function;
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
    fn init(self) -> KeyInit {
        match self {
            Direction::Encrypt => KeyInit::Encrypt,
            Direction::Decrypt => KeyInit::Decrypt,
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
    ///
    /// # Errors
    /// The module's error from `C_EncryptInit`, `C_Encrypt`, or p11's when the session is gone or the answer
    /// is invalid (see `Error`).
    pub fn encrypt(&self, mechanism: &Mechanism, key: &Object, data: &[u8]) -> Result<Vec<u8>> {
        self.crypt(Direction::Encrypt, mechanism, key, data)
    }

    /// Decrypts `data` in one call (`C_DecryptInit`, `C_Decrypt`) with `key`, or
    /// [`key.with_pin(pin)`](Object::with_pin) for a key that asks for its PIN on every
    /// use.
    ///
    /// # Errors
    /// The module's error from `C_DecryptInit`, `C_Login` (the key's PIN) or `C_Decrypt`,
    /// or p11's when the session is gone or the answer is invalid (see `Error`).
    pub fn decrypt<'k>(
        &self,
        mechanism: &Mechanism,
        key: impl Into<KeyUse<'k>>,
        data: &[u8],
    ) -> Result<Vec<u8>> {
        self.crypt(Direction::Decrypt, mechanism, key, data)
    }

    fn crypt<'k>(
        &self,
        direction: Direction,
        mechanism: &Mechanism,
        key: impl Into<KeyUse<'k>>,
        data: &[u8],
    ) -> Result<Vec<u8>> {
        let key = key.into();
        let object = key.key;
        let mut active = self.start(direction.init(), mechanism, key)?;
        let bound = object.output_bound(
            mechanism.mechanism_type(),
            direction.operation(),
            data.len(),
        );
        let (data, data_len) = input(data)?;
        active.end(|gate, handle| {
            output_vec(single_name(direction), bound, |out, len| {
                // SAFETY: `data` is readable for `data_len` bytes, `out` writable for `*len`.
                unsafe { single_call(gate, direction, handle, (data, data_len), out, len) }
            })
        })
    }

    /// Encrypts `data` in one call into `output`, without allocating; the number of bytes
    /// written. `output` must have room for the whole result (for padded block modes,
    /// the input plus a block): a module that wants more answers `CKR_BUFFER_TOO_SMALL`,
    /// an error that ends nothing, so the operation is cancelled.
    ///
    /// # Errors
    /// The module's error from `C_EncryptInit` or `C_Encrypt`; an answer beyond `output`.
    pub fn encrypt_into(
        &self,
        mechanism: &Mechanism,
        key: &Object,
        data: &[u8],
        output: &mut [u8],
    ) -> Result<usize> {
        self.crypt_into(Direction::Encrypt, mechanism, key, data, output)
    }

    /// Decrypts `data` in one call into `output`, without allocating; see
    /// [`encrypt_into`](Self::encrypt_into).
    ///
    /// # Errors
    /// The module's error from `C_DecryptInit` or `C_Decrypt`; an answer beyond `output`.
    pub fn decrypt_into(
        &self,
        mechanism: &Mechanism,
        key: &Object,
        data: &[u8],
        output: &mut [u8],
    ) -> Result<usize> {
        self.crypt_into(Direction::Decrypt, mechanism, key, data, output)
    }

    fn crypt_into(
        &self,
        direction: Direction,
        mechanism: &Mechanism,
        key: &Object,
        data: &[u8],
        output: &mut [u8],
    ) -> Result<usize> {
        let mut active = self.start(direction.init(), mechanism, key)?;
        let (data, data_len) = input(data)?;
        active.end(|gate, handle| {
            output_into(single_name(direction), output, |out, len| {
                // SAFETY: `data` is readable for `data_len` bytes, `out` writable for `*len`.
                unsafe { single_call(gate, direction, handle, (data, data_len), out, len) }
            })
        })
    }

    /// Begins a multi-part encryption (`C_EncryptInit`).
    ///
    /// # Errors
    /// The module's error from `C_EncryptInit`, or p11's when the session is gone or the answer
    /// is invalid (see `Error`).
    pub fn begin_encrypt(&self, mechanism: &Mechanism, key: &Object) -> Result<Cipher> {
        self.begin_cipher(Direction::Encrypt, mechanism, key)
    }

    /// Begins a multi-part decryption (`C_DecryptInit`) with `key`, or
    /// [`key.with_pin(pin)`](Object::with_pin).
    ///
    /// # Errors
    /// The module's error from `C_DecryptInit` or `C_Login` (the key's PIN), or p11's when
    /// the session is gone or the answer is invalid (see `Error`).
    pub fn begin_decrypt<'k>(
        &self,
        mechanism: &Mechanism,
        key: impl Into<KeyUse<'k>>,
    ) -> Result<Cipher> {
        self.begin_cipher(Direction::Decrypt, mechanism, key)
    }

    fn begin_cipher<'k>(
        &self,
        direction: Direction,
        mechanism: &Mechanism,
        key: impl Into<KeyUse<'k>>,
    ) -> Result<Cipher> {
        Ok(Cipher {
            active: self.start_owned(direction.init(), mechanism, key)?,
            direction,
            mechanism: mechanism.mechanism_type(),
            held: Zeroizing::new(Vec::new()),
        })
    }
}

/// A multi-part encryption or decryption. Holds the session's operation of its kind
/// until finished; dropped unfinished, it cancels the operation, leaving the session
/// ready for the next.
#[must_use = "an operation does nothing until used, and cancels when dropped"]
pub struct Cipher {
    active: Active<'static>,
    direction: Direction,
    mechanism: MechanismType,
    /// In a mode that works on whole blocks, the start of a block not yet whole: held
    /// back so that the module is given whole blocks only.
    held: Zeroizing<Vec<u8>>,
}

impl Cipher {
    /// Which way it goes.
    pub fn direction(&self) -> Direction {
        self.direction
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
    ///
    /// Modes that work on whole blocks (ECB, CBC, CBC-PAD: see
    /// [`MechanismType::whole_blocks`]) give the module whole blocks only, holding back
    /// the start of the next block until it is whole, so that any chunking works on any
    /// module; what is held goes to the module at [`finish`](Self::finish).
    ///
    /// # Errors
    /// The module's error from `C_EncryptUpdate`, `C_DecryptUpdate`, or p11's when the session is gone or the answer
    /// is invalid (see `Error`).
    pub fn update(&mut self, input_data: &[u8], output: &mut [u8]) -> Result<usize> {
        let Some(block) = self.mechanism.whole_blocks() else {
            return self.update_module(input_data, output);
        };
        // Whole blocks for the module: the held start of one completed first, then the
        // input's whole blocks; what is left over waits for the next update.
        let total = self.held.len() + input_data.len();
        let passed = total - total % block;
        if !self.held.is_empty() && passed > 0 && output.len() < passed {
            // Two calls: the second must not fail for room once the first has consumed
            // the held bytes.
            return Err(Error::BufferTooSmall {
                room: output.len(),
                needed: passed,
            });
        }
        let mut rest = input_data;
        let mut written = 0;
        if !self.held.is_empty() && passed > 0 {
            let (fill, after) = rest.split_at(block - self.held.len());
            let mut joined = Zeroizing::new([0u8; MAX_BLOCK]);
            let first = joined.get_mut(..block).unwrap_or_default();
            first[..self.held.len()].copy_from_slice(&self.held);
            first[self.held.len()..].copy_from_slice(fill);
            written = self.update_module(first, output)?;
            self.held.clear();
            rest = after;
        }
        let whole = rest.len() - rest.len() % block;
        if whole > 0 {
            let room = output.get_mut(written..).unwrap_or_default();
            written += self.update_module(&rest[..whole], room)?;
        }
        self.held.extend_from_slice(&rest[whole..]);
        Ok(written)
    }

    /// `C_EncryptUpdate`/`C_DecryptUpdate` on `input_data` as it is.
    fn update_module(&mut self, input_data: &[u8], output: &mut [u8]) -> Result<usize> {
        if input_data.is_empty() {
            // Nothing to do, and some modules (SoftHSM decrypting) fail on it.
            return Ok(0);
        }
        let (data, data_len) = input(input_data)?;
        let direction = self.direction;
        self.active.update(|gate, handle| {
            output_into(update_name(direction), output, |out, len| {
                // SAFETY: `data` is readable for `data_len` bytes, `out` writable for `*len`.
                unsafe {
                    match direction {
                        Direction::Encrypt => {
                            call!(gate, C_EncryptUpdate(handle, data, data_len, out, len))
                        }
                        Direction::Decrypt => {
                            call!(gate, C_DecryptUpdate(handle, data, data_len, out, len))
                        }
                    }
                }
            })
        })
    }

    /// Gives the module what was held back of a last block that is not whole (padded
    /// on encryption; on decryption, or without padding, the module's error says it
    /// is no whole block).
    fn release_held(&mut self, output: &mut [u8]) -> Result<usize> {
        let held = std::mem::take(&mut self.held);
        self.update_module(&held, output)
    }

    /// Processes `input` into a new vector.
    ///
    /// # Errors
    /// The module's error, or p11's when the session is gone or the answer is invalid
    /// (see `Error`).
    pub fn update_vec(&mut self, input_data: &[u8]) -> Result<Vec<u8>> {
        let mut output = vec![0; self.update_bound(input_data.len())];
        let written = self.update(input_data, &mut output)?;
        output.truncate(written);
        Ok(output)
    }

    /// Ends the operation (`C_EncryptFinal`/`C_DecryptFinal`), writing what remains (a
    /// padded last block, a GCM tag) into `output`; the number of bytes written.
    ///
    /// # Errors
    /// The module's error from `C_EncryptFinal`, `C_DecryptFinal`, or p11's when the session is gone or the answer
    /// is invalid (see `Error`).
    pub fn finish_into(mut self, output: &mut [u8]) -> Result<usize> {
        let held = self.release_held(output)?;
        let output = output.get_mut(held..).unwrap_or_default();
        // An operation given no input ends as a single-part one over nothing (kryoptic
        // refuses a final call without an update).
        let (direction, fed) = (self.direction, self.active.updated());
        let last = self.active.end(|gate, handle| {
            output_into(end_name(direction, fed), output, |out, len| {
                // SAFETY: `out` is writable for `*len` bytes.
                unsafe { end_call(gate, direction, handle, fed, out, len) }
            })
        })?;
        Ok(held + last)
    }

    /// Ends the operation, returning what remains.
    ///
    /// # Errors
    /// The module's error, or p11's when the session is gone or the answer is invalid
    /// (see `Error`).
    pub fn finish(mut self) -> Result<Vec<u8>> {
        let bound = self.update_bound(0);
        // Room for the held block's output and the final's, so that joining them does
        // not reallocate and leave a copy behind.
        let mut output = Vec::with_capacity(2 * bound);
        output.resize(bound, 0);
        let written = self.release_held(&mut output)?;
        output.truncate(written);
        // An operation given no input ends as a single-part one over nothing (kryoptic
        // refuses a final call without an update).
        let (direction, fed) = (self.direction, self.active.updated());
        let last = Zeroizing::new(self.active.end(|gate, handle| {
            output_vec(end_name(direction, fed), Some(bound), |out, len| {
                // SAFETY: `out` is writable for `*len` bytes.
                unsafe { end_call(gate, direction, handle, fed, out, len) }
            })
        })?);
        output.extend_from_slice(&last);
        Ok(output)
    }

    /// Streams `chunks` through the operation, one output buffer reused for every chunk:
    /// call [`CipherChunks::next_chunk`] until it gives `None`. Empty chunks, in and out,
    /// are skipped; the last output comes from the final call.
    ///
    /// ```no_run
    /// # fn demo(cipher: p11_core::Cipher, chunks: Vec<Vec<u8>>) -> p11_core::Result<()> {
    /// let mut out = Vec::new();
    /// let mut stream = cipher.stream(chunks);
    /// while let Some(chunk) = stream.next_chunk() {
    ///     out.extend_from_slice(chunk?);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn stream<I>(self, chunks: I) -> CipherChunks<I::IntoIter>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        CipherChunks {
            cipher: Some(self),
            chunks: chunks.into_iter(),
            buffer: Zeroizing::new(Vec::new()),
        }
    }

    /// An `io::Write` that passes what is written through the operation into `inner`.
    /// Call [`CipherWriter::finish`] at the end; dropping it unfinished cancels.
    pub fn writer<W: io::Write>(self, inner: W) -> CipherWriter<W> {
        CipherWriter {
            cipher: Some(self),
            inner,
            buffer: Zeroizing::new(Vec::new()),
        }
    }

    /// An `io::Read` that reads from `inner` and yields it passed through the operation.
    pub fn reader<R: io::Read>(self, inner: R) -> CipherReader<R> {
        CipherReader {
            cipher: Some(self),
            inner,
            input: vec![0; STREAM_CHUNK],
            output: Zeroizing::new(Vec::new()),
            position: 0,
        }
    }
}

fn single_name(direction: Direction) -> Function {
    match direction {
        Direction::Encrypt => Function::Encrypt,
        Direction::Decrypt => Function::Decrypt,
    }
}

/// `C_Encrypt` or `C_Decrypt`.
///
/// # Safety
/// `input` must be readable for its length, `out` writable for `*len` bytes.
unsafe fn single_call(
    gate: &crate::module::Gate<'_>,
    direction: Direction,
    handle: p11_sys::CK_SESSION_HANDLE,
    (data, data_len): (p11_sys::CK_BYTE_PTR, p11_sys::CK_ULONG),
    out: p11_sys::CK_BYTE_PTR,
    len: &mut p11_sys::CK_ULONG,
) -> Result<()> {
    // SAFETY: the caller's promise.
    unsafe {
        match direction {
            Direction::Encrypt => call!(gate, C_Encrypt(handle, data, data_len, out, len)),
            Direction::Decrypt => call!(gate, C_Decrypt(handle, data, data_len, out, len)),
        }
    }
}

fn update_name(direction: Direction) -> Function {
    match direction {
        Direction::Encrypt => Function::EncryptUpdate,
        Direction::Decrypt => Function::DecryptUpdate,
    }
}

fn final_name(direction: Direction) -> Function {
    match direction {
        Direction::Encrypt => Function::EncryptFinal,
        Direction::Decrypt => Function::DecryptFinal,
    }
}

/// The function [`end_call`] calls.
fn end_name(direction: Direction, fed: bool) -> Function {
    if fed {
        final_name(direction)
    } else {
        single_name(direction)
    }
}

/// Ends an operation: `C_EncryptFinal`/`C_DecryptFinal` after input, else the
/// single-part call over no input.
///
/// # Safety
/// `out` must be writable for `*len` bytes.
unsafe fn end_call(
    gate: &crate::module::Gate<'_>,
    direction: Direction,
    handle: p11_sys::CK_SESSION_HANDLE,
    fed: bool,
    out: p11_sys::CK_BYTE_PTR,
    len: &mut p11_sys::CK_ULONG,
) -> Result<()> {
    if fed {
        // SAFETY: the caller's promise about `out`.
        return unsafe { final_call(gate, direction, handle, out, len) };
    }
    let nothing = input(&[])?;
    // SAFETY: no input is read; the caller's promise about `out`.
    unsafe { single_call(gate, direction, handle, nothing, out, len) }
}

/// # Safety
/// `out` must be writable for `*len` bytes.
unsafe fn final_call(
    gate: &crate::module::Gate<'_>,
    direction: Direction,
    handle: p11_sys::CK_SESSION_HANDLE,
    out: p11_sys::CK_BYTE_PTR,
    len: &mut p11_sys::CK_ULONG,
) -> Result<()> {
    // SAFETY: the caller's promise about `out`.
    unsafe {
        match direction {
            Direction::Encrypt => call!(gate, C_EncryptFinal(handle, out, len)),
            Direction::Decrypt => call!(gate, C_DecryptFinal(handle, out, len)),
        }
    }
}

impl fmt::Debug for Cipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cipher")
            .field("direction", &self.direction)
            .field("mechanism", &self.mechanism)
            .finish()
    }
}

/// The largest block of the modes p11 passes on in whole blocks (AES's).
const MAX_BLOCK: usize = 16;

/// The size of the chunks the reader adapters read.
const STREAM_CHUNK: usize = 64 * 1024;

/// Output chunks of a [`Cipher`] over input chunks; see [`Cipher::stream`].
#[must_use = "an operation does nothing until used, and cancels when dropped"]
pub struct CipherChunks<I> {
    cipher: Option<Cipher>,
    chunks: I,
    /// The output of the latest chunk; reused, wiped when dropped.
    buffer: Zeroizing<Vec<u8>>,
}

impl<I> CipherChunks<I>
where
    I: Iterator,
    I::Item: AsRef<[u8]>,
{
    /// The next output chunk, in a buffer the stream reuses (borrowed until the next
    /// call); `None` once the final output was given or an error was. Stops at the first
    /// error, cancelling the operation.
    #[allow(clippy::should_implement_trait)] // it lends its buffer, which Iterator cannot
    pub fn next_chunk(&mut self) -> Option<Result<&[u8]>> {
        loop {
            let cipher = self.cipher.as_mut()?;
            let written = match self.chunks.next() {
                Some(chunk) => {
                    let chunk = chunk.as_ref();
                    if chunk.is_empty() {
                        continue;
                    }
                    let needed = cipher.update_bound(chunk.len());
                    if self.buffer.len() < needed {
                        self.buffer.resize(needed, 0);
                    }
                    cipher.update(chunk, &mut self.buffer)
                }
                None => {
                    let needed = cipher.update_bound(0);
                    if self.buffer.len() < needed {
                        self.buffer.resize(needed, 0);
                    }
                    let cipher = self.cipher.take()?;
                    cipher.finish_into(&mut self.buffer)
                }
            };
            match written {
                Ok(0) if self.cipher.is_some() => continue,
                Ok(written) => return Some(Ok(&self.buffer[..written])),
                Err(e) => {
                    self.cipher = None;
                    return Some(Err(e));
                }
            }
        }
    }
}

impl<I> fmt::Debug for CipherChunks<I> {
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
#[must_use = "an operation does nothing until used, and cancels when dropped"]
pub struct CipherWriter<W: io::Write> {
    cipher: Option<Cipher>,
    inner: W,
    buffer: Zeroizing<Vec<u8>>,
}

impl<W: io::Write> CipherWriter<W> {
    /// Ends the operation, writes what remains, and gives back the inner writer.
    ///
    /// # Errors
    /// The module's error from the final call; [`Error::Io`] when the inner writer
    /// fails; [`Error::AlreadyFailed`] when an earlier write already failed.
    pub fn finish(mut self) -> Result<W> {
        let Some(cipher) = self.cipher.take() else {
            return Err(Error::AlreadyFailed);
        };
        let rest = cipher.finish()?;
        self.inner.write_all(&rest).map_err(Error::Io)?;
        self.inner.flush().map_err(Error::Io)?;
        // `self` has no Drop of its own, so the writer can be moved out.
        Ok(self.inner)
    }
}

impl<W: io::Write> io::Write for CipherWriter<W> {
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

impl<W: io::Write> fmt::Debug for CipherWriter<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CipherWriter")
            .field("cipher", &self.cipher)
            .finish()
    }
}

/// Reads from an inner reader through a [`Cipher`]. Two buffers, reused.
#[must_use = "an operation does nothing until used, and cancels when dropped"]
pub struct CipherReader<R: io::Read> {
    cipher: Option<Cipher>,
    inner: R,
    input: Vec<u8>,
    output: Zeroizing<Vec<u8>>,
    position: usize,
}

impl<R: io::Read> io::Read for CipherReader<R> {
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

impl<R: io::Read> fmt::Debug for CipherReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CipherReader")
            .field("cipher", &self.cipher)
            .finish()
    }
}
