//! Message-based signing and verification (PKCS#11 3.0): one operation with one key,
//! many messages, each signed or verified on its own (with its own parameter where the
//! mechanism takes one), whole or in parts.

use crate::call;
use crate::error::Result;
use crate::message::usable;
use crate::object::Object;
use crate::operation::{ends, input, output_vec, Active, KeyInit};
use crate::session::Session;
use crate::sign::verdict;
use crate::Function;
use p11_mechanisms::{Mechanism, MechanismType, MessageParameter, Operations};
use std::fmt;

impl Session {
    /// Begins message-based signing with `key` (`C_MessageSignInit`): then
    /// [`sign`](MessageSigner::sign) each message, or sign one in parts with
    /// [`begin_message`](MessageSigner::begin_message).
    ///
    /// ```no_run
    /// # fn demo(session: &p11_core::Session, key: &p11_core::Object) -> p11_core::Result<()> {
    /// use p11_core::mechanisms::NoMessageParameter;
    /// use p11_core::{Mechanism, MechanismType};
    /// let mut signer = session.begin_message_sign(&Mechanism::new(MechanismType::SHA256_HMAC), key)?;
    /// let first = signer.sign(&mut NoMessageParameter, b"record 1")?;
    /// let second = signer.sign(&mut NoMessageParameter, b"record 2")?;
    /// signer.finish()?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::NotSupported`](crate::Error::NotSupported) on a module without PKCS#11
    /// 3.0; the module's error from `C_MessageSignInit`.
    pub fn begin_message_sign(&self, mechanism: &Mechanism, key: &Object) -> Result<MessageSigner> {
        Ok(MessageSigner {
            active: self.start_owned(KeyInit::MessageSign, mechanism, key)?,
            mechanism: mechanism.mechanism_type(),
            bound: key.output_bound(mechanism.mechanism_type(), Operations::SIGN, 0),
            unfinished: false,
        })
    }

    /// Begins message-based verification with `key` (`C_MessageVerifyInit`).
    ///
    /// # Errors
    /// As [`begin_message_sign`](Self::begin_message_sign).
    pub fn begin_message_verify(
        &self,
        mechanism: &Mechanism,
        key: &Object,
    ) -> Result<MessageVerifier> {
        Ok(MessageVerifier {
            active: self.start_owned(KeyInit::MessageVerify, mechanism, key)?,
            mechanism: mechanism.mechanism_type(),
            unfinished: false,
        })
    }
}

/// A message-based signing operation: [`sign`](Self::sign) each message, then
/// [`finish`](Self::finish). Dropped unfinished, it cancels the operation.
#[must_use = "an operation does nothing until used, and cancels when dropped"]
pub struct MessageSigner {
    active: Active<'static>,
    mechanism: MechanismType,
    /// Room for one signature, as the key tells it.
    bound: Option<usize>,
    /// A message in parts was dropped before its end: the module is still inside it.
    unfinished: bool,
}

/// A message-based verification: [`verify`](Self::verify) each message, then
/// [`finish`](Self::finish). Dropped unfinished, it cancels the operation.
#[must_use = "an operation does nothing until used, and cancels when dropped"]
pub struct MessageVerifier {
    active: Active<'static>,
    mechanism: MechanismType,
    /// As [`MessageSigner`]'s.
    unfinished: bool,
}

impl MessageSigner {
    /// Signs one message (`C_SignMessage`) with its `parameter`; the signature.
    ///
    /// # Errors
    /// The module's error; [`Error::MessageUnfinished`](crate::Error::MessageUnfinished)
    /// after a message in parts was left unfinished.
    pub fn sign(&mut self, parameter: &mut impl MessageParameter, data: &[u8]) -> Result<Vec<u8>> {
        usable(self.unfinished)?;
        let (param, param_len) = parameter.raw();
        let (data, data_len) = input(data)?;
        self.active.message(|gate, handle| {
            output_vec(Function::SignMessage, self.bound, |out, len| {
                // SAFETY: the parameter's contract makes `param` valid for this call;
                // `data` is readable for its length, `out` writable for `*len` bytes.
                unsafe {
                    call!(gate, v3 C_SignMessage(handle, param, param_len, data, data_len, out, len))
                }
            })
        })
    }

    /// Begins one message to sign in parts (`C_SignMessageBegin`) with its `parameter`:
    /// feed it with [`SignedMessage::update`], and [`SignedMessage::finish`] gives the
    /// signature.
    ///
    /// # Errors
    /// The module's error; [`Error::MessageUnfinished`](crate::Error::MessageUnfinished)
    /// after a message in parts was left unfinished.
    pub fn begin_message<'m, P: MessageParameter>(
        &'m mut self,
        parameter: &'m mut P,
    ) -> Result<SignedMessage<'m, P>> {
        usable(self.unfinished)?;
        let (param, param_len) = parameter.raw();
        self.active.message(|gate, handle| {
            // SAFETY: the parameter's contract makes `param` valid while it is borrowed,
            // which is until the message ends.
            unsafe { call!(gate, v3 C_SignMessageBegin(handle, param, param_len)) }
        })?;
        self.unfinished = true;
        Ok(SignedMessage {
            signer: self,
            parameter,
        })
    }

    /// Ends the operation (`C_MessageSignFinal`).
    ///
    /// # Errors
    /// The module's error.
    pub fn finish(mut self) -> Result<()> {
        self.active.end(|gate, handle| {
            // SAFETY: a plain handle.
            unsafe { call!(gate, v3 C_MessageSignFinal(handle)) }
        })
    }
}

/// One message signed in parts (`C_SignMessageNext`), from
/// [`MessageSigner::begin_message`]. Dropped before [`finish`](Self::finish) (or after
/// a failed part), it leaves its operation unusable — PKCS#11 cannot abandon one
/// message — to be dropped in turn, which cancels it.
#[must_use = "a message in parts must be finished"]
pub struct SignedMessage<'m, P: MessageParameter> {
    signer: &'m mut MessageSigner,
    parameter: &'m mut P,
}

impl<P: MessageParameter> SignedMessage<'_, P> {
    /// Adds the next part (`C_SignMessageNext` without a signature buffer).
    ///
    /// # Errors
    /// The module's error.
    pub fn update(&mut self, part: &[u8]) -> Result<()> {
        let (param, param_len) = self.parameter.raw();
        let (part, part_len) = input(part)?;
        self.signer.active.message(|gate, handle| {
            // SAFETY: as at the message's beginning; `part` is readable for its length;
            // a NULL length pointer says this is not the last part.
            unsafe {
                call!(
                    gate,
                    v3 C_SignMessageNext(
                        handle,
                        param,
                        param_len,
                        part,
                        part_len,
                        std::ptr::null_mut(),
                        std::ptr::null_mut()
                    )
                )
            }
        })
    }

    /// Adds the last part and ends the message: its signature.
    ///
    /// # Errors
    /// The module's error. The message is over either way, unless the module wanted
    /// more room or p11 refused its answer.
    pub fn finish(self, last: &[u8]) -> Result<Vec<u8>> {
        let (param, param_len) = self.parameter.raw();
        let (part, part_len) = input(last)?;
        let bound = self.signer.bound;
        let result = self.signer.active.message(|gate, handle| {
            output_vec(Function::SignMessageNext, bound, |out, len| {
                // SAFETY: as for `update`; `out` is writable for `*len` bytes.
                unsafe {
                    call!(
                        gate,
                        v3 C_SignMessageNext(handle, param, param_len, part, part_len, out, len)
                    )
                }
            })
        });
        if ends(&result) {
            self.signer.unfinished = false;
        }
        result
    }
}

impl MessageVerifier {
    /// Verifies one message's `signature` (`C_VerifyMessage`) with its `parameter`:
    /// `false` for a signature that does not verify.
    ///
    /// # Errors
    /// The module's other errors; [`Error::MessageUnfinished`](crate::Error::MessageUnfinished)
    /// after a message in parts was left unfinished.
    pub fn verify(
        &mut self,
        parameter: &mut impl MessageParameter,
        data: &[u8],
        signature: &[u8],
    ) -> Result<bool> {
        usable(self.unfinished)?;
        let (param, param_len) = parameter.raw();
        let (data, data_len) = input(data)?;
        let (signature, signature_len) = input(signature)?;
        verdict(self.active.message(|gate, handle| {
            // SAFETY: the parameter's contract makes `param` valid for this call; `data`
            // and `signature` are readable for their lengths.
            unsafe {
                call!(
                    gate,
                    v3 C_VerifyMessage(
                        handle,
                        param,
                        param_len,
                        data,
                        data_len,
                        signature,
                        signature_len
                    )
                )
            }
        }))
    }

    /// Begins one message to verify in parts (`C_VerifyMessageBegin`) with its
    /// `parameter`; [`VerifiedMessage::finish`] takes the signature.
    ///
    /// # Errors
    /// As [`MessageSigner::begin_message`].
    pub fn begin_message<'m, P: MessageParameter>(
        &'m mut self,
        parameter: &'m mut P,
    ) -> Result<VerifiedMessage<'m, P>> {
        usable(self.unfinished)?;
        let (param, param_len) = parameter.raw();
        self.active.message(|gate, handle| {
            // SAFETY: as for signing.
            unsafe { call!(gate, v3 C_VerifyMessageBegin(handle, param, param_len)) }
        })?;
        self.unfinished = true;
        Ok(VerifiedMessage {
            verifier: self,
            parameter,
        })
    }

    /// Ends the operation (`C_MessageVerifyFinal`).
    ///
    /// # Errors
    /// The module's error.
    pub fn finish(mut self) -> Result<()> {
        self.active.end(|gate, handle| {
            // SAFETY: a plain handle.
            unsafe { call!(gate, v3 C_MessageVerifyFinal(handle)) }
        })
    }
}

/// One message verified in parts (`C_VerifyMessageNext`), from
/// [`MessageVerifier::begin_message`]; dropped unfinished, as [`SignedMessage`].
#[must_use = "a message in parts must be finished"]
pub struct VerifiedMessage<'m, P: MessageParameter> {
    verifier: &'m mut MessageVerifier,
    parameter: &'m mut P,
}

impl<P: MessageParameter> VerifiedMessage<'_, P> {
    /// Adds the next part (`C_VerifyMessageNext` without the signature).
    ///
    /// # Errors
    /// The module's error.
    pub fn update(&mut self, part: &[u8]) -> Result<()> {
        self.next(part, None).map(|_| ())
    }

    /// Adds the last part with the `signature` and ends the message: `false` for a
    /// signature that does not verify.
    ///
    /// # Errors
    /// The module's other errors. The message is over either way.
    pub fn finish(mut self, last: &[u8], signature: &[u8]) -> Result<bool> {
        let result = self.next(last, Some(signature));
        if ends(&result) {
            self.verifier.unfinished = false;
        }
        verdict(result)
    }

    fn next(&mut self, part: &[u8], signature: Option<&[u8]>) -> Result<()> {
        let (param, param_len) = self.parameter.raw();
        let (part, part_len) = input(part)?;
        let (signature, signature_len) = match signature {
            Some(signature) => input(signature)?,
            None => (std::ptr::null_mut(), 0),
        };
        self.verifier.active.message(|gate, handle| {
            // SAFETY: as at the message's beginning; `part` and `signature` are readable
            // for their lengths (a NULL signature says this is not the last part).
            unsafe {
                call!(
                    gate,
                    v3 C_VerifyMessageNext(
                        handle,
                        param,
                        param_len,
                        part,
                        part_len,
                        signature,
                        signature_len
                    )
                )
            }
        })
    }
}

impl fmt::Debug for MessageSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageSigner")
            .field("mechanism", &self.mechanism)
            .finish()
    }
}

impl fmt::Debug for MessageVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageVerifier")
            .field("mechanism", &self.mechanism)
            .finish()
    }
}

impl<P: MessageParameter> fmt::Debug for SignedMessage<'_, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedMessage").finish_non_exhaustive()
    }
}

impl<P: MessageParameter> fmt::Debug for VerifiedMessage<'_, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedMessage").finish_non_exhaustive()
    }
}
