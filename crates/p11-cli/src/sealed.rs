//! p11's authenticated file format (docs/file-format.md): a header, then the input in
//! chunks of at most 1 MiB, each sealed on the token with AES-GCM or ChaCha20-Poly1305
//! (by the key's type) under its own nonce —
//! the header's random prefix, the chunk's number, and a flag on the last chunk — with
//! the header as additional data. A flipped byte, a reordered, dropped or appended chunk,
//! a truncated file or a changed header fails a chunk's tag, and no plaintext of a chunk
//! is written before its tag is checked. Memory: two chunks, whatever the file's size.

use anyhow::{bail, Context, Result};
use p11::mechanisms::{ChaCha20Poly1305Params, GcmParams};
use p11::{Decrypt, Encrypt, Key as _, KeyType, Mechanism, MechanismType, SecretKey};
use std::io::{Read, Write};

/// The file's first bytes.
pub const MAGIC: &[u8; 8] = b"P11SEAL\0";
const VERSION: u8 = 1;

/// The sealing mechanism, and its byte in the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aead {
    /// AES-GCM, a 96-bit nonce, a 128-bit tag (byte 1).
    AesGcm,
    /// ChaCha20-Poly1305 (RFC 8439: a 96-bit nonce, a 128-bit tag; byte 2).
    ChaCha20Poly1305,
}

impl Aead {
    /// Every AEAD p11 seals with.
    pub const ALL: [Aead; 2] = [Aead::AesGcm, Aead::ChaCha20Poly1305];

    /// The AEAD that seals with keys of `key_type`, if any.
    pub fn for_key(key_type: KeyType) -> Option<Aead> {
        match key_type {
            KeyType::AES => Some(Aead::AesGcm),
            KeyType::CHACHA20 => Some(Aead::ChaCha20Poly1305),
            _ => None,
        }
    }

    /// Its mechanism on the token.
    pub fn mechanism_type(self) -> MechanismType {
        match self {
            Aead::AesGcm => MechanismType::AES_GCM,
            Aead::ChaCha20Poly1305 => MechanismType::CHACHA20_POLY1305,
        }
    }

    fn byte(self) -> u8 {
        match self {
            Aead::AesGcm => 1,
            Aead::ChaCha20Poly1305 => 2,
        }
    }

    fn from_byte(byte: u8) -> Option<Aead> {
        Aead::ALL.into_iter().find(|aead| aead.byte() == byte)
    }
}
/// Plaintext bytes per chunk.
pub const CHUNK: usize = 1 << 20;
const TAG: usize = 16;
/// The longest key URI the header carries (and a reader accepts).
const URI_MAX: usize = 4096;
/// The most chunk bytes a reader accepts in a header (a writer uses [`CHUNK`]).
const CHUNK_MAX: usize = 16 << 20;

/// The header: what it says, and its bytes (every chunk's additional data).
struct Header {
    aead: Aead,
    chunk: usize,
    prefix: [u8; 7],
    bytes: Vec<u8>,
}

impl Header {
    fn new(aead: Aead, prefix: [u8; 7], uri: &str) -> Result<Header> {
        let uri = uri.as_bytes();
        anyhow::ensure!(
            uri.len() <= URI_MAX,
            "the key's URI is over {URI_MAX} bytes"
        );
        let mut bytes = Vec::with_capacity(23 + uri.len());
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&[VERSION, aead.byte()]);
        bytes.extend_from_slice(&u32::try_from(CHUNK)?.to_be_bytes());
        bytes.extend_from_slice(&prefix);
        bytes.extend_from_slice(&u16::try_from(uri.len())?.to_be_bytes());
        bytes.extend_from_slice(uri);
        Ok(Header {
            aead,
            chunk: CHUNK,
            prefix,
            bytes,
        })
    }

    fn read(input: &mut impl Read) -> Result<Header> {
        // Magic 8, version 1, mechanism 1, chunk size 4, nonce prefix 7, URI length 2.
        let mut fixed = [0u8; 23];
        input
            .read_exact(&mut fixed)
            .context("shorter than a p11 sealed file's header")?;
        if &fixed[..8] != MAGIC {
            bail!("not a p11 sealed file (for a raw CBC-PAD file, give --mechanism)");
        }
        if fixed[8] != VERSION {
            bail!(
                "a p11 sealed file of version {}, which this p11 does not read",
                fixed[8]
            );
        }
        let aead = Aead::from_byte(fixed[9]).with_context(|| {
            format!(
                "a p11 sealed file with mechanism {}, which this p11 does not know",
                fixed[9]
            )
        })?;
        let chunk = usize::try_from(u32::from_be_bytes([
            fixed[10], fixed[11], fixed[12], fixed[13],
        ]))?;
        if chunk == 0 || chunk > CHUNK_MAX {
            bail!("a p11 sealed file with chunks of {chunk} bytes (at most {CHUNK_MAX})");
        }
        let mut prefix = [0u8; 7];
        prefix.copy_from_slice(&fixed[14..21]);
        let uri_len = usize::from(u16::from_be_bytes([fixed[21], fixed[22]]));
        if uri_len > URI_MAX {
            bail!("a p11 sealed file whose key URI is {uri_len} bytes (at most {URI_MAX})");
        }
        let mut uri = vec![0u8; uri_len];
        input
            .read_exact(&mut uri)
            .context("the header ends early")?;
        let mut bytes = fixed.to_vec();
        bytes.extend_from_slice(&uri);
        Ok(Header {
            aead,
            chunk,
            prefix,
            bytes,
        })
    }

    /// Chunk `number`'s nonce: the prefix, the number, the last-chunk flag.
    fn nonce(&self, number: u32, last: bool) -> [u8; 12] {
        let mut nonce = [0u8; 12];
        nonce[..7].copy_from_slice(&self.prefix);
        nonce[7..11].copy_from_slice(&number.to_be_bytes());
        nonce[11] = u8::from(last);
        nonce
    }
}

/// Reads until `buffer` is full or the input ends; how much was read.
fn fill(input: &mut impl Read, buffer: &mut [u8]) -> Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match input.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e).context("reading the input"),
        }
    }
    Ok(filled)
}

/// Calls `each(number, chunk, last)` for every chunk of at most `size` bytes in
/// `input`, reading one chunk ahead to know the last (the one the input ends in; an
/// empty input is one empty chunk). Chunk numbers stay below 2^32 - 1 (the nonce's
/// counter), else an error. Memory: two chunks.
fn for_each_chunk(
    input: &mut impl Read,
    size: usize,
    mut each: impl FnMut(u32, &[u8], bool) -> Result<()>,
) -> Result<()> {
    let (mut current, mut next) = (vec![0u8; size], vec![0u8; size]);
    let mut len = fill(input, &mut current)?;
    let mut number = 0u32;
    loop {
        let next_len = if len == size {
            fill(input, &mut next)?
        } else {
            0
        };
        let last = next_len == 0;
        each(number, &current[..len], last)?;
        if last {
            return Ok(());
        }
        std::mem::swap(&mut current, &mut next);
        len = next_len;
        number = number
            .checked_add(1)
            .filter(|n| *n < u32::MAX)
            .context("over 2^32 - 1 chunks: too long for the format")?;
    }
}

/// Chunk `number`'s mechanism (the header's AEAD) under `header`, for `call`.
fn with_aead<T>(
    header: &Header,
    number: u32,
    last: bool,
    call: impl FnOnce(Mechanism<'_>) -> Result<T>,
) -> Result<T> {
    let mut nonce = header.nonce(number, last);
    let ty = header.aead.mechanism_type();
    match header.aead {
        Aead::AesGcm => call(Mechanism::with(
            ty,
            GcmParams::new(&mut nonce, &header.bytes, TAG * 8)?,
        )),
        Aead::ChaCha20Poly1305 => call(Mechanism::with(
            ty,
            ChaCha20Poly1305Params::new(&nonce, &header.bytes)?,
        )),
    }
}

/// Seals `input` into `output` with `key` by `aead` (the key type's: [`Aead::for_key`]),
/// naming `uri` in the header; the bytes written.
pub fn seal(
    key: &SecretKey,
    aead: Aead,
    uri: &str,
    prefix: [u8; 7],
    input: &mut impl Read,
    output: &mut (impl Write + ?Sized),
) -> Result<u64> {
    let header = Header::new(aead, prefix, uri)?;
    output.write_all(&header.bytes)?;
    let mut written = header.bytes.len() as u64;
    for_each_chunk(input, CHUNK, |number, chunk, last| {
        let sealed = with_aead(&header, number, last, |gcm| {
            Ok(key.with_mechanism(gcm).encrypt(chunk)?)
        })?;
        output.write_all(&sealed)?;
        written += sealed.len() as u64;
        Ok(())
    })?;
    output.flush()?;
    Ok(written)
}

/// Opens what [`seal`] wrote, writing each chunk's plaintext only once its tag checked
/// out; the plaintext bytes written.
pub fn open(
    key: &SecretKey,
    input: &mut impl Read,
    output: &mut (impl Write + ?Sized),
) -> Result<u64> {
    let header = Header::read(input)?;
    if Aead::for_key(key.key_type()) != Some(header.aead) {
        bail!(
            "the file was sealed with {}, which a {} key does not do",
            header.aead.mechanism_type(),
            key.key_type()
        );
    }
    let mut written = 0u64;
    for_each_chunk(input, header.chunk + TAG, |number, sealed, last| {
        if sealed.len() < TAG {
            bail!("chunk {number} is cut short: the file was truncated");
        }
        let plain = with_aead(&header, number, last, |gcm| {
            key.with_mechanism(gcm).decrypt(sealed).map_err(|e| {
                anyhow::anyhow!(
                    "chunk {number} failed its check ({e}): the file was changed, truncated \
                     or reordered, or sealed with another key; nothing of it was written"
                )
            })
        })?;
        let plain = zeroize::Zeroizing::new(plain);
        output.write_all(&plain)?;
        written += plain.len() as u64;
        Ok(())
    })?;
    output.flush()?;
    Ok(written)
}
