//! Portable signing: where a token lacks a hash-and-sign mechanism (SoftHSM has no
//! `ECDSA_SHA*`; old openCryptoki no `SHA256_RSA_PKCS`; p11-kit's RPC no
//! `SHA*_RSA_PKCS_PSS`) but has the hash and the raw signature, p11 digests first and
//! signs the digest — for RSA PKCS #1 v1.5 behind its `DigestInfo`, for PSS with the
//! same PSS parameters — which gives exactly what the combined mechanism gives. The choice is
//! made once, in [`Plan::for_mechanism`], for one-shot, chunked and streaming use alike.
//!
//! Likewise a MAC the token computes but will not check (NSS lists `AES_CMAC` and signs
//! with it, but answers `C_VerifyInit` with `CKR_MECHANISM_INVALID`; it answers a wrong
//! HMAC with `CKR_DEVICE_ERROR`) is checked by computing it and comparing in constant
//! time.

use crate::session::Session;
use p11_core::mechanisms::{Parameter, PssParams};
use p11_core::Function;
use p11_core::{KeyUse, Mechanism, MechanismType as M, Object, Pin, Result};
use std::{fmt, io};

/// How a mechanism is carried out on this token.
pub(crate) enum Plan {
    /// The token has the mechanism (or it is no hash-and-sign one): use it.
    Direct,
    /// Hash with `hash` in the token, then sign `prefix || digest` with `raw`.
    Composed(Parts),
}

/// What a combined mechanism is composed of.
#[derive(Clone, Copy)]
pub(crate) struct Parts {
    hash: M,
    raw: M,
    prefix: &'static [u8],
    /// PSS: the combined mechanism's parameters, which the raw one takes as they are.
    pss: Option<PssParams>,
}

impl Parts {
    /// The raw mechanism, with the PSS parameters where there are some.
    fn raw_mechanism(&self) -> Mechanism<'static> {
        match self.pss {
            Some(pss) => Mechanism::with(self.raw, pss),
            None => Mechanism::new(self.raw),
        }
    }

    /// `prefix || digest`, the input of the raw signature.
    fn raw_input(&self, digest: Vec<u8>) -> Vec<u8> {
        if self.prefix.is_empty() {
            digest
        } else {
            [self.prefix, &digest].concat()
        }
    }
}

impl Plan {
    /// The plan for `mechanism` on the session's token.
    pub(crate) fn for_mechanism(session: &Session, mechanism: &Mechanism) -> Result<Plan> {
        let Some((hash, raw, prefix)) = parts(mechanism.mechanism_type()) else {
            return Ok(Plan::Direct);
        };
        if session.has_mechanism(mechanism.mechanism_type())?
            || !(session.has_mechanism(hash)? && session.has_mechanism(raw)?)
        {
            return Ok(Plan::Direct);
        }
        let pss = match mechanism.parameter() {
            Parameter::Pss(pss) => Some(*pss),
            _ => None,
        };
        Ok(Plan::Composed(Parts {
            hash,
            raw,
            prefix,
            pss,
        }))
    }
}

/// Whether the token signs with `mechanism`: it has it, or the hash and raw signature
/// p11 composes it from.
#[cfg_attr(not(feature = "rustls"), allow(dead_code))]
pub(crate) fn can_sign(session: &Session, mechanism: M) -> Result<bool> {
    if session.has_mechanism(mechanism)? {
        return Ok(true);
    }
    Ok(match parts(mechanism) {
        Some((hash, raw, _)) => session.has_mechanism(hash)? && session.has_mechanism(raw)?,
        None => false,
    })
}

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
        M::SHA1_RSA_PKCS_PSS => (M::SHA_1, M::RSA_PKCS_PSS, &[]),
        M::SHA224_RSA_PKCS_PSS => (M::SHA224, M::RSA_PKCS_PSS, &[]),
        M::SHA256_RSA_PKCS_PSS => (M::SHA256, M::RSA_PKCS_PSS, &[]),
        M::SHA384_RSA_PKCS_PSS => (M::SHA384, M::RSA_PKCS_PSS, &[]),
        M::SHA512_RSA_PKCS_PSS => (M::SHA512, M::RSA_PKCS_PSS, &[]),
        _ => return None,
    })
}

/// Signs `data` with `mechanism` as `plan` says; with `pin`, for a key that asks for
/// it on every use.
pub(crate) fn sign(
    session: &Session,
    plan: Plan,
    mechanism: &Mechanism,
    key: &Object,
    data: &[u8],
    pin: Option<&Pin>,
) -> Result<Vec<u8>> {
    let core = session.core();
    match plan {
        Plan::Direct => sign_once(core, mechanism, key, data, pin),
        Plan::Composed(parts) => {
            let input = parts.raw_input(core.digest(&Mechanism::new(parts.hash), data)?);
            sign_once(core, &parts.raw_mechanism(), key, &input, pin)
        }
    }
}

/// One `C_Sign`, with the key's PIN when given.
fn sign_once(
    core: &p11_core::Session,
    mechanism: &Mechanism,
    key: &Object,
    data: &[u8],
    pin: Option<&Pin>,
) -> Result<Vec<u8>> {
    core.sign(mechanism, key_use(key, pin), data)
}

/// `key`, with `pin` when one is given for it.
pub(crate) fn key_use<'a>(key: &'a Object, pin: Option<&Pin>) -> KeyUse<'a> {
    match pin {
        Some(pin) => key.with_pin(pin),
        None => KeyUse::from(key),
    }
}

/// Verifies `signature` over `data` as `plan` says.
pub(crate) fn verify(
    session: &Session,
    plan: Plan,
    mechanism: &Mechanism,
    key: &Object,
    data: &[u8],
    signature: &[u8],
) -> Result<bool> {
    let core = session.core();
    match plan {
        Plan::Direct => match core.verify(mechanism, key, data, signature) {
            Err(e) if refuses_to_check_a_mac(&e, key)? => {
                Ok(same_mac(core.sign(mechanism, key, data)?, signature))
            }
            done => done,
        },
        Plan::Composed(parts) => {
            let input = parts.raw_input(core.digest(&Mechanism::new(parts.hash), data)?);
            core.verify(&parts.raw_mechanism(), key, &input, signature)
        }
    }
}

/// Whether `error` is a module refusing to check a MAC with a secret key it could
/// compute the MAC with (the class is read only then): NSS refuses `C_VerifyInit` for
/// `AES_CMAC`, and answers a wrong HMAC with `CKR_DEVICE_ERROR` from `C_Verify`. The MAC
/// computed again tells a real device error (the computation fails too) from a wrong MAC.
fn refuses_to_check_a_mac(error: &p11_core::Error, key: &Object) -> Result<bool> {
    use p11_core::ReturnValue as R;
    let refused = matches!(
        error,
        p11_core::Error::Module {
            function: Function::VerifyInit,
            rv: R::MechanismInvalid,
            ..
        } | p11_core::Error::Module {
            function: Function::Verify,
            rv: R::DeviceError,
            ..
        }
    );
    Ok(refused && key.class()? == p11_core::ObjectClass::SECRET_KEY)
}

/// Whether the MAC computed equals the one given, compared in constant time.
fn same_mac(computed: Vec<u8>, given: &[u8]) -> bool {
    let computed = zeroize::Zeroizing::new(computed);
    bool::from(subtle::ConstantTimeEq::ct_eq(computed.as_slice(), given))
}

/// How a streaming verification checks: the token's verification, or, for a MAC the
/// token computes but will not check, the MAC computed and compared at the end.
enum Check {
    Token(p11_core::Verifier),
    Mac(p11_core::Signer),
}

/// What a stream feeds: the token's multi-part operation, or the hash of a composition.
enum Feed<Op> {
    Direct(Op),
    Composed(Composed),
}

/// A composition under way: the hash being fed, and what signs or verifies its digest.
struct Composed {
    digest: p11_core::Digest,
    parts: Parts,
    key: Object,
    session: p11_core::Session,
}

impl Composed {
    /// Ends the hash and hands the raw mechanism's input to `last`.
    fn finish<T>(
        self,
        last: impl FnOnce(&p11_core::Session, &Mechanism, &Object, &[u8]) -> Result<T>,
    ) -> Result<T> {
        let input = self.parts.raw_input(self.digest.finish()?);
        last(
            &self.session,
            &self.parts.raw_mechanism(),
            &self.key,
            &input,
        )
    }
}

impl<Op> Feed<Op> {
    fn begin(
        session: &Session,
        plan: Plan,
        key: &Object,
        direct: impl FnOnce() -> Result<Op>,
    ) -> Result<Self> {
        Ok(match plan {
            Plan::Direct => Feed::Direct(direct()?),
            Plan::Composed(parts) => Feed::Composed(Composed {
                digest: session.core().begin_digest(&Mechanism::new(parts.hash))?,
                parts,
                key: key.clone(),
                session: session.core().clone(),
            }),
        })
    }
}

/// A streaming signature (python's `sign(iterable)`; also an `io::Write`, so that
/// `io::copy` signs a whole reader). Where the token lacks the combined mechanism, the
/// data is hashed in the token and the digest signed at the end, as one-shot signing
/// does. Owns its session: `Send + 'static`, it can be kept or moved to another
/// thread. Dropped unfinished, it cancels the operation.
#[must_use = "an operation does nothing until used, and cancels when dropped"]
pub struct Signer {
    feed: Feed<p11_core::Signer>,
    pin: Option<Pin>,
}

impl Signer {
    pub(crate) fn begin(
        session: &Session,
        mechanism: &Mechanism,
        key: &Object,
        pin: Option<Pin>,
    ) -> Result<Signer> {
        let plan = Plan::for_mechanism(session, mechanism)?;
        // A key that asks for its PIN on every use gets it right after the init: the
        // signature's own, or the raw one's at the end when composed.
        let (now, at_end) = match plan {
            Plan::Direct => (pin, None),
            Plan::Composed(_) => (None, pin),
        };
        let feed = Feed::begin(session, plan, key, || {
            session
                .core()
                .begin_sign(mechanism, key_use(key, now.as_ref()))
        })?;
        Ok(Signer { feed, pin: at_end })
    }

    /// Adds `data`.
    ///
    /// # Errors
    /// The module's error from `C_SignUpdate` (or `C_DigestUpdate` when composed).
    pub fn update(&mut self, data: &[u8]) -> Result<()> {
        match &mut self.feed {
            Feed::Direct(signer) => signer.update(data),
            Feed::Composed(composed) => composed.digest.update(data),
        }
    }

    /// Ends the operation: the signature.
    ///
    /// # Errors
    /// The module's error from `C_SignFinal` (or from the digest and `C_Sign` when
    /// composed).
    pub fn finish(self) -> Result<Vec<u8>> {
        match self.feed {
            Feed::Direct(signer) => signer.finish(),
            Feed::Composed(composed) => {
                let pin = self.pin;
                composed.finish(|session, raw, key, input| {
                    sign_once(session, raw, key, input, pin.as_ref())
                })
            }
        }
    }
}

/// A streaming verification (python's `verify(iterable, signature)`; also an
/// `io::Write`), composed where the token lacks the mechanism, as [`Signer`] is.
#[must_use = "an operation does nothing until used, and cancels when dropped"]
pub struct Verifier {
    feed: Feed<Check>,
}

impl Verifier {
    pub(crate) fn begin(session: &Session, mechanism: &Mechanism, key: &Object) -> Result<Self> {
        let plan = Plan::for_mechanism(session, mechanism)?;
        let feed = Feed::begin(session, plan, key, || {
            match session.core().begin_verify(mechanism, key) {
                Err(e) if refuses_to_check_a_mac(&e, key)? => {
                    Ok(Check::Mac(session.core().begin_sign(mechanism, key)?))
                }
                begun => begun.map(Check::Token),
            }
        })?;
        Ok(Verifier { feed })
    }

    /// Adds `data`.
    ///
    /// # Errors
    /// The module's error from `C_VerifyUpdate` (or `C_DigestUpdate` when composed).
    pub fn update(&mut self, data: &[u8]) -> Result<()> {
        match &mut self.feed {
            Feed::Direct(Check::Token(verifier)) => verifier.update(data),
            Feed::Direct(Check::Mac(signer)) => signer.update(data),
            Feed::Composed(composed) => composed.digest.update(data),
        }
    }

    /// Ends the operation against `signature`: `Ok(false)` for a wrong signature.
    ///
    /// # Errors
    /// The module's error from `C_VerifyFinal` (or from the digest and `C_Verify` when
    /// composed).
    pub fn finish(self, signature: &[u8]) -> Result<bool> {
        match self.feed {
            Feed::Direct(Check::Token(verifier)) => verifier.finish(signature),
            Feed::Direct(Check::Mac(signer)) => Ok(same_mac(signer.finish()?, signature)),
            Feed::Composed(composed) => composed
                .finish(|session, raw, key, input| session.verify(raw, key, input, signature)),
        }
    }
}

macro_rules! write_by_update {
    ($($ty:ty),*) => {$(
        impl io::Write for $ty {
            fn write(&mut self, data: &[u8]) -> io::Result<usize> {
                self.update(data).map_err(io::Error::other)?;
                Ok(data.len())
            }

            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let composed = matches!(self.feed, Feed::Composed(_));
                f.debug_struct(stringify!($ty)).field("composed", &composed).finish()
            }
        }
    )*};
}

write_by_update!(Signer, Verifier);
