//! Portable signing: where a token lacks a hash-and-sign mechanism (SoftHSM has no
//! `ECDSA_SHA*`; old openCryptoki no `SHA256_RSA_PKCS`) but has the hash and the raw
//! signature, p11 digests first and signs the digest — for RSA, wrapped in its PKCS #1
//! `DigestInfo` — which gives exactly what the combined mechanism gives.

use crate::session::Session;
use p11_core::{Mechanism, MechanismType as M, Object, Pin, Result};

/// The hash and raw mechanism a combined one is made of, and the DigestInfo prefix the
/// RSA ones put before the digest.
fn parts(mechanism: M) -> Option<(M, M, &'static [u8])> {
    const SHA1: &[u8] = &[
        0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14,
    ];
    const SHA224: &[u8] = &[
        0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04,
        0x05, 0x00, 0x04, 0x1c,
    ];
    const SHA256: &[u8] = &[
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00, 0x04, 0x20,
    ];
    const SHA384: &[u8] = &[
        0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02,
        0x05, 0x00, 0x04, 0x30,
    ];
    const SHA512: &[u8] = &[
        0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03,
        0x05, 0x00, 0x04, 0x40,
    ];
    Some(match mechanism {
        M::ECDSA_SHA1 => (M::SHA_1, M::ECDSA, &[]),
        M::ECDSA_SHA224 => (M::SHA224, M::ECDSA, &[]),
        M::ECDSA_SHA256 => (M::SHA256, M::ECDSA, &[]),
        M::ECDSA_SHA384 => (M::SHA384, M::ECDSA, &[]),
        M::ECDSA_SHA512 => (M::SHA512, M::ECDSA, &[]),
        M::DSA_SHA1 => (M::SHA_1, M::DSA, &[]),
        M::DSA_SHA224 => (M::SHA224, M::DSA, &[]),
        M::DSA_SHA256 => (M::SHA256, M::DSA, &[]),
        M::DSA_SHA384 => (M::SHA384, M::DSA, &[]),
        M::DSA_SHA512 => (M::SHA512, M::DSA, &[]),
        M::SHA1_RSA_PKCS => (M::SHA_1, M::RSA_PKCS, SHA1),
        M::SHA224_RSA_PKCS => (M::SHA224, M::RSA_PKCS, SHA224),
        M::SHA256_RSA_PKCS => (M::SHA256, M::RSA_PKCS, SHA256),
        M::SHA384_RSA_PKCS => (M::SHA384, M::RSA_PKCS, SHA384),
        M::SHA512_RSA_PKCS => (M::SHA512, M::RSA_PKCS, SHA512),
        _ => return None,
    })
}

/// The composition for `mechanism`, when the token lacks it but has its parts.
fn composition(session: &Session, mechanism: &Mechanism) -> Result<Option<(M, M, &'static [u8])>> {
    let Some((hash, raw, prefix)) = parts(mechanism.mechanism_type()) else {
        return Ok(None);
    };
    if session.has_mechanism(mechanism.mechanism_type())? {
        return Ok(None);
    }
    Ok(
        (session.has_mechanism(hash)? && session.has_mechanism(raw)?)
            .then_some((hash, raw, prefix)),
    )
}

/// The hash of `data`, behind the DigestInfo prefix.
fn digest_input(session: &Session, hash: M, prefix: &[u8], data: &[u8]) -> Result<Vec<u8>> {
    let digest = session.core().digest(&Mechanism::new(hash), data)?;
    Ok([prefix, &digest].concat())
}

/// Signs `data` with `mechanism`, composing it where the token lacks it; with `pin`, for
/// a key that asks for it on every use.
pub fn sign(
    session: &Session,
    mechanism: &Mechanism,
    key: &Object,
    data: &[u8],
    pin: Option<&Pin>,
) -> Result<Vec<u8>> {
    match composition(session, mechanism)? {
        Some((hash, raw, prefix)) => sign_composed(session, hash, raw, prefix, key, data, pin),
        None => sign_once(session, mechanism, key, data, pin),
    }
}

/// One `C_Sign`, with the key's PIN when given.
fn sign_once(
    session: &Session,
    mechanism: &Mechanism,
    key: &Object,
    data: &[u8],
    pin: Option<&Pin>,
) -> Result<Vec<u8>> {
    match pin {
        Some(pin) => session
            .core()
            .sign_with_pin(mechanism, key, data, pin.clone()),
        None => session.core().sign(mechanism, key, data),
    }
}

/// Verifies with `mechanism`, composing it where the token lacks it.
pub fn verify(
    session: &Session,
    mechanism: &Mechanism,
    key: &Object,
    data: &[u8],
    signature: &[u8],
) -> Result<bool> {
    match composition(session, mechanism)? {
        Some((hash, raw, prefix)) => {
            let input = digest_input(session, hash, prefix, data)?;
            session
                .core()
                .verify(&Mechanism::new(raw), key, &input, signature)
        }
        None => session.core().verify(mechanism, key, data, signature),
    }
}

/// Signs the concatenation of `chunks` with `mechanism`, in parts, composing the
/// mechanism where the token lacks it (the digest is then what is streamed).
pub fn sign_chunks<I>(
    session: &Session,
    mechanism: &Mechanism,
    key: &Object,
    chunks: I,
) -> Result<Vec<u8>>
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    match composition(session, mechanism)? {
        Some((hash, raw, prefix)) => {
            let input = digest_chunks(session, hash, prefix, chunks)?;
            session.core().sign(&Mechanism::new(raw), key, &input)
        }
        None => {
            let mut signer = session.core().begin_sign(mechanism, key)?;
            for chunk in chunks {
                signer.update(chunk.as_ref())?;
            }
            signer.finish()
        }
    }
}

/// Verifies `signature` over the concatenation of `chunks`, in parts, composing where
/// the token lacks the mechanism.
pub fn verify_chunks<I>(
    session: &Session,
    mechanism: &Mechanism,
    key: &Object,
    chunks: I,
    signature: &[u8],
) -> Result<bool>
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    match composition(session, mechanism)? {
        Some((hash, raw, prefix)) => {
            let input = digest_chunks(session, hash, prefix, chunks)?;
            session
                .core()
                .verify(&Mechanism::new(raw), key, &input, signature)
        }
        None => {
            let mut verifier = session.core().begin_verify(mechanism, key)?;
            for chunk in chunks {
                verifier.update(chunk.as_ref())?;
            }
            verifier.finish(signature)
        }
    }
}

/// The digest of the concatenation of `chunks`, behind the DigestInfo prefix.
fn digest_chunks<I>(session: &Session, hash: M, prefix: &[u8], chunks: I) -> Result<Vec<u8>>
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    let mut digest = session.core().begin_digest(&Mechanism::new(hash))?;
    for chunk in chunks {
        digest.update(chunk.as_ref())?;
    }
    Ok([prefix, &digest.finish()?].concat())
}

/// Signs by composition whether or not the token has the combined mechanism: what
/// [`sign`] does when it lacks it. `None` for a mechanism that is no hash-and-sign one.
pub fn sign_composed_for(
    session: &Session,
    mechanism: M,
    key: &Object,
    data: &[u8],
) -> Option<Result<Vec<u8>>> {
    let (hash, raw, prefix) = parts(mechanism)?;
    Some(sign_composed(session, hash, raw, prefix, key, data, None))
}

fn sign_composed(
    session: &Session,
    hash: M,
    raw: M,
    prefix: &[u8],
    key: &Object,
    data: &[u8],
    pin: Option<&Pin>,
) -> Result<Vec<u8>> {
    let input = digest_input(session, hash, prefix, data)?;
    sign_once(session, &Mechanism::new(raw), key, &input, pin)
}
