//! Message-based encryption (PKCS#11 3.0): one operation, many messages, each with its
//! own IV or nonce and tag (AES-GCM, AES-CCM, ChaCha20-Poly1305), so that the key is
//! set up once for a stream of records.

use crate::call;
use crate::error::{Error, Result};
use crate::object::Object;
use crate::operation::{ends, input, output_vec, Active, KeyInit};
use crate::session::Session;
use crate::Function;
use p11_mechanisms::{Mechanism, MechanismType, MessageParameter};
use std::fmt;

impl Session {
    /// Begins message-based encryption with `key` (`C_MessageEncryptInit`): give the
    /// mechanism without its per-message parameter (`Mechanism::new(AES_GCM)`), then
    /// each message its own ([`GcmMessageParams`](p11_mechanisms::GcmMessageParams)).
    ///
    /// ```no_run
    /// # fn demo(session: &p11_core::Session, key: &p11_core::Object) -> p11_core::Result<()> {
    /// use p11_core::mechanisms::GcmMessageParams;
    /// use p11_core::{Mechanism, MechanismType};
    /// let mut records = session.begin_message_encrypt(&Mechanism::new(MechanismType::AES_GCM), key)?;
    /// let (iv, mut tag) = ([7u8; 12], [0u8; 16]);
    /// let sealed = records.encrypt(&mut GcmMessageParams::new(&iv, &mut tag), b"header", b"record 1")?;
    /// records.finish()?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::NotSupported`](crate::Error::NotSupported) on a module without PKCS#11
    /// 3.0; the module's error from `C_MessageEncryptInit`.
    pub fn begin_message_encrypt(
        &self,
        mechanism: &Mechanism,
        key: &Object,
    ) -> Result<MessageEncryptor> {
        Ok(MessageEncryptor {
            active: self.start_owned(KeyInit::MessageEncrypt, mechanism, key)?,
            mechanism: mechanism.mechanism_type(),
            unfinished: false,
        })
    }

    /// Begins message-based decryption with `key` (`C_MessageDecryptInit`).
    ///
    /// # Errors
    /// As [`begin_message_encrypt`](Self::begin_message_encrypt).
    pub fn begin_message_decrypt(
        &self,
        mechanism: &Mechanism,
        key: &Object,
    ) -> Result<MessageDecryptor> {
        Ok(MessageDecryptor {
            active: self.start_owned(KeyInit::MessageDecrypt, mechanism, key)?,
            mechanism: mechanism.mechanism_type(),
            unfinished: false,
        })
    }
}

/// A message-based encryption: [`encrypt`](Self::encrypt) each message, then
/// [`finish`](Self::finish). Dropped unfinished, it cancels the operation.
#[must_use = "an operation does nothing until used, and cancels when dropped"]
pub struct MessageEncryptor {
    active: Active<'static>,
    mechanism: MechanismType,
    /// A message in parts was dropped before its end: the module is still inside it.
    unfinished: bool,
}

/// A message-based decryption: [`decrypt`](Self::decrypt) each message, then
/// [`finish`](Self::finish). Dropped unfinished, it cancels the operation.
#[must_use = "an operation does nothing until used, and cancels when dropped"]
pub struct MessageDecryptor {
    active: Active<'static>,
    mechanism: MechanismType,
    /// As [`MessageEncryptor`]'s.
    unfinished: bool,
}

impl MessageEncryptor {
    /// Encrypts one message (`C_EncryptMessage`) with its `parameter` — the token writes
    /// the tag, and a generated IV, into the parameter's buffers — authenticating
    /// `associated_data` with it; the ciphertext.
    ///
    /// # Errors
    /// The module's error. Modules differ on whether a failed message ends the
    /// operation (kryoptic's do): to go on, drop this one (which cancels it) and begin
    /// another.
    pub fn encrypt(
        &mut self,
        parameter: &mut impl MessageParameter,
        associated_data: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>> {
        usable(self.unfinished)?;
        one_message(
            &mut self.active,
            true,
            parameter,
            associated_data,
            plaintext,
        )
    }

    /// Begins one message to encrypt in parts (`C_EncryptMessageBegin`) with its
    /// `parameter` and `associated_data`: feed it with [`MessageParts::update`] and end it
    /// with [`MessageParts::finish`], after which the token has written the tag (and a
    /// generated IV) into the parameter.
    ///
    /// # Errors
    /// The module's error; [`Error::MessageUnfinished`] after a message in parts was left
    /// unfinished.
    pub fn begin_message<'m, P: MessageParameter>(
        &'m mut self,
        parameter: &'m mut P,
        associated_data: &[u8],
    ) -> Result<MessageParts<'m, P>> {
        MessageParts::begin(
            &mut self.active,
            &mut self.unfinished,
            true,
            parameter,
            associated_data,
        )
    }

    /// Ends the operation (`C_MessageEncryptFinal`).
    ///
    /// # Errors
    /// The module's error.
    pub fn finish(mut self) -> Result<()> {
        self.active.end(|gate, handle| {
            // SAFETY: a plain handle.
            unsafe { call!(gate, v3 C_MessageEncryptFinal(handle)) }
        })
    }
}

impl MessageDecryptor {
    /// Decrypts one message (`C_DecryptMessage`) sent with `parameter` (its IV and
    /// tag) and `associated_data`; the plaintext.
    ///
    /// # Errors
    /// The module's error — `CKR_ENCRYPTED_DATA_INVALID` or `CKR_AEAD_DECRYPT_FAILED`
    /// for a message, tag or associated data that was tampered with. Modules differ on
    /// whether a failed message ends the operation (kryoptic's do): to go on, drop this
    /// one (which cancels it) and begin another.
    pub fn decrypt(
        &mut self,
        parameter: &mut impl MessageParameter,
        associated_data: &[u8],
        ciphertext: &[u8],
    ) -> Result<Vec<u8>> {
        usable(self.unfinished)?;
        one_message(
            &mut self.active,
            false,
            parameter,
            associated_data,
            ciphertext,
        )
    }

    /// Begins one message to decrypt in parts (`C_DecryptMessageBegin`) with the
    /// `parameter` (IV and tag) and `associated_data` it was sent with; a tampered
    /// message fails at [`MessageParts::finish`].
    ///
    /// # Errors
    /// As [`MessageEncryptor::begin_message`].
    pub fn begin_message<'m, P: MessageParameter>(
        &'m mut self,
        parameter: &'m mut P,
        associated_data: &[u8],
    ) -> Result<MessageParts<'m, P>> {
        MessageParts::begin(
            &mut self.active,
            &mut self.unfinished,
            false,
            parameter,
            associated_data,
        )
    }

    /// Ends the operation (`C_MessageDecryptFinal`).
    ///
    /// # Errors
    /// The module's error.
    pub fn finish(mut self) -> Result<()> {
        self.active.end(|gate, handle| {
            // SAFETY: a plain handle.
            unsafe { call!(gate, v3 C_MessageDecryptFinal(handle)) }
        })
    }
}

/// Refuses a message-based operation a message in parts was left unfinished in.
pub(crate) fn usable(unfinished: bool) -> Result<()> {
    if unfinished {
        return Err(Error::MessageUnfinished);
    }
    Ok(())
}

/// One message encrypted or decrypted in parts (PKCS#11 3.0's `C_*MessageBegin` and
/// `C_*MessageNext`), from [`MessageEncryptor::begin_message`] or
/// [`MessageDecryptor::begin_message`]. Its parameter stays borrowed until the end,
/// where the token writes into it. Dropped before [`finish`](Self::finish) (or after a
/// failed part), it leaves its operation unusable — PKCS#11 cannot abandon one message —
/// to be dropped in turn, which cancels it.
#[must_use = "a message in parts must be finished"]
pub struct MessageParts<'m, P: MessageParameter> {
    active: &'m mut Active<'static>,
    unfinished: &'m mut bool,
    encrypt: bool,
    parameter: &'m mut P,
}

impl<'m, P: MessageParameter> MessageParts<'m, P> {
    fn begin(
        active: &'m mut Active<'static>,
        unfinished: &'m mut bool,
        encrypt: bool,
        parameter: &'m mut P,
        associated_data: &[u8],
    ) -> Result<Self> {
        usable(*unfinished)?;
        let (param, param_len) = parameter.raw();
        let (aad, aad_len) = input(associated_data)?;
        active.message(|gate, handle| {
            // SAFETY: the parameter's contract makes `param` valid (and writable where
            // the token writes) while it is borrowed, which is until the message ends;
            // `aad` is readable for its length.
            unsafe {
                if encrypt {
                    call!(gate, v3 C_EncryptMessageBegin(handle, param, param_len, aad, aad_len))
                } else {
                    call!(gate, v3 C_DecryptMessageBegin(handle, param, param_len, aad, aad_len))
                }
            }
        })?;
        // From here the module is inside the message until its last part.
        *unfinished = true;
        Ok(MessageParts {
            active,
            unfinished,
            encrypt,
            parameter,
        })
    }

    /// Encrypts or decrypts the next part (`C_*MessageNext`); what the module gives back
    /// for it (it may hold some back until the end).
    ///
    /// # Errors
    /// The module's error.
    pub fn update(&mut self, part: &[u8]) -> Result<Vec<u8>> {
        self.next(part, 0)
    }

    /// Encrypts or decrypts the last part and ends the message (`C_*MessageNext` with
    /// `CKF_END_OF_MESSAGE`): the rest of the output. Encrypting, the token has now
    /// written the tag into the parameter; decrypting, it has checked it.
    ///
    /// # Errors
    /// The module's error: `CKR_AEAD_DECRYPT_FAILED` (or `CKR_ENCRYPTED_DATA_INVALID`)
    /// for a message, tag or associated data that was tampered with. The message is over
    /// either way.
    pub fn finish(mut self, last: &[u8]) -> Result<Vec<u8>> {
        let result = self.next(last, p11_sys::CKF_END_OF_MESSAGE);
        // The last part ends the message as an ending call ends an operation: unless the
        // module wanted more room, or p11 refused its answer.
        if ends(&result) {
            *self.unfinished = false;
        }
        result
    }

    fn next(&mut self, part: &[u8], flags: p11_sys::CK_FLAGS) -> Result<Vec<u8>> {
        let encrypt = self.encrypt;
        let (param, param_len) = self.parameter.raw();
        let (input, input_len) = input(part)?;
        let name = if encrypt {
            Function::EncryptMessageNext
        } else {
            Function::DecryptMessageNext
        };
        self.active.message(|gate, handle| {
            output_vec(name, Some(part.len()), |out, len| {
                // SAFETY: as for the message's beginning; `input` is readable for its
                // length, `out` writable for `*len` bytes.
                unsafe {
                    if encrypt {
                        call!(
                            gate,
                            v3 C_EncryptMessageNext(
                                handle, param, param_len, input, input_len, out, len, flags
                            )
                        )
                    } else {
                        call!(
                            gate,
                            v3 C_DecryptMessageNext(
                                handle, param, param_len, input, input_len, out, len, flags
                            )
                        )
                    }
                }
            })
        })
    }
}

impl<P: MessageParameter> fmt::Debug for MessageParts<'_, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageParts")
            .field("encrypt", &self.encrypt)
            .finish()
    }
}

/// `C_EncryptMessage` (`encrypt`) or `C_DecryptMessage` on one message: the AEAD modes
/// write as many bytes as they read, and a module wanting more says so.
fn one_message(
    active: &mut Active<'static>,
    encrypt: bool,
    parameter: &mut impl MessageParameter,
    associated_data: &[u8],
    data: &[u8],
) -> Result<Vec<u8>> {
    let (param, param_len) = parameter.raw();
    let (aad, aad_len) = input(associated_data)?;
    let (input, input_len) = input(data)?;
    let name = if encrypt {
        Function::EncryptMessage
    } else {
        Function::DecryptMessage
    };
    active.message(|gate, handle| {
        output_vec(name, Some(data.len()), |out, len| {
            // SAFETY: the parameter's contract makes `param` valid (and writable where
            // the token writes) for this call; `aad` and `input` are readable for their
            // lengths; `out` is writable for `*len` bytes.
            unsafe {
                if encrypt {
                    call!(
                        gate,
                        v3 C_EncryptMessage(
                            handle, param, param_len, aad, aad_len, input, input_len, out, len
                        )
                    )
                } else {
                    call!(
                        gate,
                        v3 C_DecryptMessage(
                            handle, param, param_len, aad, aad_len, input, input_len, out, len
                        )
                    )
                }
            }
        })
    })
}

impl fmt::Debug for MessageEncryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageEncryptor")
            .field("mechanism", &self.mechanism)
            .finish()
    }
}

impl fmt::Debug for MessageDecryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageDecryptor")
            .field("mechanism", &self.mechanism)
            .finish()
    }
}
