//! Keys by kind, and what each kind can do: the capability traits. Only the right kinds
//! implement each trait, so signing with a public key does not compile.
//!
//! Each operation family has one one-shot method, one stream and one message form
//! (`encrypt`, `encryptor`, `message_encryptor`), run with the key type's default
//! mechanism ([`default_mechanism`](crate::default_mechanism)). How else to run it is a
//! step before the call, like python-pkcs11's keywords: `key.with_param(&iv)`
//! (`mechanism_param=`), `key.with_mechanism(m)` (`mechanism=`), `key.with_pin(pin)`
//! (`pin=`).
//!
//! A public key cannot sign:
//!
//! ```compile_fail
//! use p11::Sign;
//! fn sign_with_public(key: &p11::PublicKey) {
//!     let _ = key.sign(b"data");
//! }
//! ```
//!
//! nor a private key encrypt:
//!
//! ```compile_fail
//! use p11::Encrypt;
//! fn encrypt_with_private(key: &p11::PrivateKey) {
//!     let _ = key.encrypt(b"data");
//! }
//! ```

use crate::defaults::{default_mechanism, Capabilities};
use crate::options::{ObjectOptions, ALL_CAPABILITIES};
use crate::session::{with_value_len, Session};
use crate::signing::{self, key_use, Plan, Signer, Verifier};
use p11_core::mechanisms::{Parameter, ParameterKind};
use p11_core::Function;
use p11_core::{
    AttributeType as A, AttributeValue, Cipher, Error, FromAttribute, FromAttributes, KeyType,
    Mechanism, MechanismType, MessageDecryptor, MessageEncryptor, MessageSigner, MessageVerifier,
    Object, ObjectClass, ObjectHandle, Operation, Pin, Result, ReturnValue, Template,
};
use std::cell::RefCell;
use std::sync::OnceLock;

/// What every key has.
///
/// ```no_run
/// # fn demo(key: &impl p11::Key) -> p11::Result<()> {
/// use p11::Capabilities;
/// println!("{} {:?}: {:?}", key.label()?, key.key_type(), key.id()?);
/// if key.capabilities()?.contains(Capabilities::SIGN) {
///     println!("it signs");
/// }
/// # Ok(()) }
/// ```
pub trait Key: sealed::Operand {
    /// The core object underneath: the escape hatch to what the facade does not wrap.
    fn core(&self) -> &Object;

    /// The module's handle of the key: which object it is on its token.
    fn handle(&self) -> ObjectHandle {
        self.core().handle()
    }
    /// Its key type.
    fn key_type(&self) -> KeyType;
    /// The session it is used through.
    fn session(&self) -> &Session;
    /// What it may be used for (`CKA_ENCRYPT`, `CKA_SIGN`, ...), as the token says, read
    /// once and kept: with the class and key type in one call when the key was found
    /// (`get_key`, `get_objects`), as python's key objects are; on first asking for a
    /// key p11 made, so that making one costs no read of them. A change made since shows on a
    /// fresh value from `get_key`.
    ///
    /// # Errors
    /// The module's error from the read, when one is needed.
    fn capabilities(&self) -> Result<Capabilities>;

    /// Destroys the key (python's `destroy`, `C_DestroyObject`).
    ///
    /// # Errors
    /// The module's error (`CKR_ACTION_PROHIBITED` for a key that may not be destroyed).
    fn destroy(self) -> Result<()>
    where
        Self: Sized,
    {
        self.core().clone().destroy()
    }

    /// Its label (python's `key.label`).
    ///
    /// # Errors
    /// The module's error reading `CKA_LABEL`.
    fn label(&self) -> Result<String> {
        self.core().get(A::LABEL)
    }

    /// Its PKCS#11 URI (token, label, id and class).
    ///
    /// # Errors
    /// The module's error reading the token's information or the key's attributes.
    fn uri(&self) -> Result<p11_core::Uri> {
        self.core().uri()
    }

    /// Changes attributes (python's `key[Attribute.X] = value`, `C_SetAttributeValue`).
    ///
    /// # Errors
    /// The module's error (`CKR_ATTRIBUTE_READ_ONLY`, ...).
    fn set_attributes(&self, changes: &Template) -> Result<()> {
        self.core().set_attributes(changes)
    }

    /// Its id (python's `key.id`).
    ///
    /// # Errors
    /// The module's error reading `CKA_ID`.
    fn id(&self) -> Result<Vec<u8>> {
        self.core().get(A::ID)
    }

    /// Its length in bits (python's `key.key_length`): `VALUE_LEN` of a secret key
    /// (DES2 and DES3 by their type), the modulus of an RSA key, the prime of a DSA or
    /// DH key, the field of an EC key's named curve.
    ///
    /// # Errors
    /// The module's error reading the attribute; [`Error::Encoding`] for EC parameters
    /// that name no curve p11 knows; [`Error::UnknownCurve`] for explicit curve
    /// parameters; [`Error::KeyTypeUnsupported`] for a key type whose length p11 cannot
    /// tell.
    fn key_length(&self) -> Result<u64> {
        let bytes = |ty| -> Result<u64> {
            let value: Vec<u8> = self.core().get(ty)?;
            let first = value.iter().position(|b| *b != 0).unwrap_or(value.len());
            Ok((value.len() - first) as u64 * 8)
        };
        match self.key_type() {
            KeyType::DES2 => Ok(128),
            KeyType::DES3 => Ok(192),
            KeyType::RSA => bytes(A::MODULUS),
            KeyType::DSA | KeyType::DH | KeyType::X9_42_DH => bytes(A::PRIME),
            KeyType::EC | KeyType::EC_EDWARDS | KeyType::EC_MONTGOMERY => {
                let der: Vec<u8> = self.core().get(A::EC_PARAMS)?;
                let encoding = |e| Error::Encoding {
                    what: "EC parameters",
                    source: Box::new(e),
                };
                let curve = match p11_asn1::ec::EcParameters::from_der(&der).map_err(encoding)? {
                    p11_asn1::ec::EcParameters::NamedCurve(oid) => {
                        p11_asn1::ec::curve_by_oid(&oid).map_err(encoding)?
                    }
                    _ => {
                        return Err(Error::UnknownCurve {
                            key_type: self.key_type(),
                        })
                    }
                };
                Ok(curve.field_len as u64 * 8)
            }
            _ if self.core().kind()? == p11_core::ObjectKind::SecretKey => {
                let bytes: u64 = self.core().get(A::VALUE_LEN)?;
                bytes.checked_mul(8).ok_or_else(|| Error::InvalidResponse {
                    function: Function::GetAttributeValue,
                    what: format!("a key of {bytes} bytes"),
                })
            }
            key_type => Err(Error::KeyTypeUnsupported {
                key_type,
                action: "tell the length of",
            }),
        }
    }

    /// One attribute, typed (python's `key[Attribute.X]`): `bool`, `u64`, `String`,
    /// `Vec<u8>`, the open enums, or [`AttributeValue`](p11_core::AttributeValue).
    ///
    /// # Errors
    /// The module's error; [`Error::AttributeKind`] when the value is of another kind.
    fn get<T: FromAttribute>(&self, ty: A) -> Result<T>
    where
        Self: Sized,
    {
        self.core().get(ty)
    }

    /// Several attributes in one call, typed, as a tuple:
    /// `let (label, bits): (String, u64) = key.get_all([A::LABEL, A::MODULUS_BITS])?`.
    ///
    /// # Errors
    /// As [`get`](Self::get), for any of them.
    fn get_all<T: FromAttributes>(&self, types: T::Types) -> Result<T>
    where
        Self: Sized,
    {
        self.core().get_all(types)
    }
}

/// A mechanism given to [`with_mechanism`](SecretKey::with_mechanism): a
/// [`MechanismType`] (with its default parameter, as [`Mechanism::new`] gives it) or a
/// whole [`Mechanism`], owned or borrowed.
#[derive(Debug)]
pub struct MechanismChoice<'a>(Chosen<'a>);

#[derive(Debug)]
enum Chosen<'a> {
    Owned(Mechanism<'a>),
    Borrowed(&'a Mechanism<'a>),
}

impl From<MechanismType> for MechanismChoice<'_> {
    fn from(ty: MechanismType) -> Self {
        MechanismChoice(Chosen::Owned(Mechanism::new(ty)))
    }
}

impl<'a> From<Mechanism<'a>> for MechanismChoice<'a> {
    fn from(mechanism: Mechanism<'a>) -> Self {
        MechanismChoice(Chosen::Owned(mechanism))
    }
}

impl<'a> From<&'a Mechanism<'a>> for MechanismChoice<'a> {
    fn from(mechanism: &'a Mechanism<'a>) -> Self {
        MechanismChoice(Chosen::Borrowed(mechanism))
    }
}

/// How an operation runs: the key type's default mechanism, with a parameter, or a
/// mechanism the caller chose.
#[derive(Debug)]
enum How<'a> {
    Default,
    Param(Parameter<'a>),
    Mechanism(Chosen<'a>),
}

/// A key with how to use it: a parameter for the default mechanism
/// ([`with_param`](SecretKey::with_param)), a mechanism
/// ([`with_mechanism`](SecretKey::with_mechanism)), the PIN a key marked
/// `CKA_ALWAYS_AUTHENTICATE` asks for ([`with_pin`](PrivateKey::with_pin)) — python's
/// `mechanism_param=`, `mechanism=` and `pin=` keywords. It has the operations of the
/// key it borrows:
///
/// ```no_run
/// # fn demo(key: &p11::SecretKey, private: &p11::PrivateKey) -> p11::Result<()> {
/// use p11::{Decrypt, Encrypt, Key, MechanismType, Sign};
/// let iv = [0u8; 16];
/// let sealed = key.with_param(&iv).encrypt(b"data")?;
/// let mac = key.with_mechanism(MechanismType::SHA256_HMAC).sign(b"data")?;
/// let signature = private
///     .with_mechanism(MechanismType::ECDSA_SHA256)
///     .with_pin("1234")
///     .sign(b"data")?;
/// # Ok(()) }
/// ```
///
/// The parameter and the data are given apart, so they cannot be swapped:
///
/// ```compile_fail
/// # fn demo(key: &p11::SecretKey, iv: &[u8], data: &[u8]) -> p11::Result<()> {
/// use p11::Encrypt;
/// let sealed = key.encrypt(iv, data)?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a key with how to use it does nothing until an operation is called on it"]
pub struct With<'k, K> {
    key: &'k K,
    how: RefCell<How<'k>>,
    pin: Option<Pin>,
}

impl<'k, K: Key> With<'k, K> {
    /// The key type's default mechanism with `param` (an IV, OAEP parameters, ECDH's
    /// peer, ...) instead of what was set before.
    pub fn with_param(mut self, param: impl Into<Parameter<'k>>) -> Self {
        self.how = RefCell::new(How::Param(param.into()));
        self
    }

    /// `mechanism` instead of what was set before.
    pub fn with_mechanism(mut self, mechanism: impl Into<MechanismChoice<'k>>) -> Self {
        self.how = RefCell::new(How::Mechanism(mechanism.into().0));
        self
    }

    /// The PIN the key asks for on every use (`CKA_ALWAYS_AUTHENTICATE`), given right
    /// after the operation begins.
    pub fn with_pin(mut self, pin: impl Into<Pin>) -> Self {
        self.pin = Some(pin.into());
        self
    }
}

impl<K: Key> Key for With<'_, K> {
    fn core(&self) -> &Object {
        self.key.core()
    }
    fn key_type(&self) -> KeyType {
        self.key.key_type()
    }
    fn session(&self) -> &Session {
        self.key.session()
    }
    fn capabilities(&self) -> Result<Capabilities> {
        self.key.capabilities()
    }
}

impl<K: Key> sealed::Operand for With<'_, K> {
    fn run<T>(
        &self,
        operation: Operation,
        f: impl FnOnce(&Mechanism<'_>, Option<&Pin>) -> Result<T>,
    ) -> Result<T> {
        let pin = self.pin.as_ref();
        // Only an operation run from inside another on this value could find it taken;
        // none can, as nothing here calls back into the caller.
        let Ok(mut how) = self.how.try_borrow_mut() else {
            return Err(Error::OperationInProgress(operation));
        };
        match &mut *how {
            How::Default => f(&default_for(self.key_type(), operation, None)?, pin),
            How::Mechanism(Chosen::Owned(mechanism)) => f(mechanism, pin),
            How::Mechanism(Chosen::Borrowed(mechanism)) => f(mechanism, pin),
            How::Param(param) => {
                // The parameter is lent to the mechanism for the call and taken back, so
                // that the same value can run again.
                let mechanism = default_for(self.key_type(), operation, Some(param))?;
                let result = f(&mechanism, pin);
                *param = mechanism.into_parameter();
                result
            }
        }
    }
}

/// The key type's default mechanism for `operation`, with the parameter `param` holds
/// (taken out of it; an IV length-checked first).
fn default_for<'a>(
    key_type: KeyType,
    operation: Operation,
    param: Option<&mut Parameter<'a>>,
) -> Result<Mechanism<'a>> {
    let ty = default_mechanism(key_type, operation).ok_or(Error::NoDefaultMechanism {
        key_type,
        operation,
    })?;
    let Some(param) = param else {
        return Ok(Mechanism::new(ty));
    };
    if let Parameter::Bytes(iv) = param {
        if ty
            .profile()
            .is_some_and(|p| p.parameter == ParameterKind::Iv)
        {
            return Ok(Mechanism::with_iv(ty, iv)?);
        }
    }
    Ok(Mechanism::with(
        ty,
        std::mem::replace(param, Parameter::None),
    ))
}

/// Runs `f` with the core session, the mechanism for `operation` and the key's core
/// object, for an operation that takes no PIN (one given is refused).
fn plain<K: Key, T>(
    key: &K,
    operation: Operation,
    f: impl FnOnce(&p11_core::Session, &Mechanism<'_>, &Object) -> Result<T>,
) -> Result<T> {
    key.run(operation, |mechanism, pin| {
        no_pin(pin, operation)?;
        f(key.session().core(), mechanism, key.core())
    })
}

/// Refuses a PIN given for an operation that cannot take one.
fn no_pin(pin: Option<&Pin>, operation: Operation) -> Result<()> {
    match pin {
        Some(_) => Err(Error::PinNotUsed(operation)),
        None => Ok(()),
    }
}

/// Encryption: secret and public keys. The key type's default mechanism
/// ([`default_mechanism`]) unless [`with_param`](SecretKey::with_param) or
/// [`with_mechanism`](SecretKey::with_mechanism) says otherwise.
///
/// ```no_run
/// # fn demo(session: &p11::Session, aes: &p11::SecretKey, rsa: &p11::PublicKey) -> p11::Result<()> {
/// use p11::{Encrypt, Key};
/// // AES: CBC-PAD with this IV (python-pkcs11's default).
/// let iv = session.generate_random(128)?;
/// let crypttext = aes.with_param(&iv).encrypt(b"data")?;
/// // RSA: OAEP with SHA-1 by default.
/// let crypttext = rsa.encrypt(b"a short secret")?;
/// # Ok(()) }
/// ```
pub trait Encrypt: Key + Sized {
    /// Encrypts `data` (python's `encrypt`).
    ///
    /// # Errors
    /// [`Error::NoDefaultMechanism`] for a key type without one; [`Error::Parameter`]
    /// for an IV of the wrong size; the module's error.
    fn encrypt(&self, data: &[u8]) -> Result<Vec<u8>> {
        plain(self, Operation::Encrypt, |core, mechanism, key| {
            core.encrypt(mechanism, key, data)
        })
    }

    /// A streaming encryption: feed it chunks ([`Cipher::stream`], python's
    /// `encrypt(iterable)`), or use it as an `io::Write` ([`Cipher::writer`]) or
    /// `io::Read` ([`Cipher::reader`]).
    ///
    /// # Errors
    /// As [`encrypt`](Self::encrypt), from `C_EncryptInit`.
    fn encryptor(&self) -> Result<Cipher> {
        plain(self, Operation::Encrypt, |core, mechanism, key| {
            core.begin_encrypt(mechanism, key)
        })
    }

    /// Message-based encryption (PKCS#11 3.0): one operation, many messages, each with
    /// its own IV or nonce and tag — the key set up once for a stream of records. The
    /// mechanism is given without its per-message parameter (`GcmMessageParams`, ...):
    ///
    /// ```no_run
    /// # fn demo(key: &p11::SecretKey) -> p11::Result<()> {
    /// use p11::mechanisms::GcmMessageParams;
    /// use p11::Encrypt;
    /// let mut records = key.message_encryptor()?;
    /// let (iv, mut tag) = ([1u8; 12], [0u8; 16]);
    /// let sealed = records.encrypt(&mut GcmMessageParams::new(&iv, &mut tag), b"header", b"record")?;
    /// records.finish()?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`encrypt`](Self::encrypt); [`Error::NotSupported`] on a module without
    /// PKCS#11 3.0.
    fn message_encryptor(&self) -> Result<MessageEncryptor> {
        plain(self, Operation::MessageEncrypt, |core, mechanism, key| {
            core.begin_message_encrypt(mechanism, key)
        })
    }
}

/// Decryption: secret and private keys; mechanisms as [`Encrypt`]'s.
///
/// ```no_run
/// # fn demo(aes: &p11::SecretKey, iv: &[u8], crypttext: &[u8]) -> p11::Result<()> {
/// use p11::{Decrypt, Key};
/// let plaintext = aes.with_param(iv).decrypt(crypttext)?;
/// # Ok(()) }
/// ```
pub trait Decrypt: Key + Sized {
    /// Decrypts `data` (python's `decrypt`).
    ///
    /// # Errors
    /// As [`Encrypt::encrypt`]; `CKR_PIN_INCORRECT` for a wrong
    /// [`with_pin`](PrivateKey::with_pin).
    fn decrypt(&self, data: &[u8]) -> Result<Vec<u8>> {
        self.run(Operation::Decrypt, |mechanism, pin| {
            self.session()
                .core()
                .decrypt(mechanism, key_use(self.core(), pin), data)
        })
    }

    /// A streaming decryption, as [`Encrypt::encryptor`].
    ///
    /// # Errors
    /// As [`decrypt`](Self::decrypt), from `C_DecryptInit`.
    fn decryptor(&self) -> Result<Cipher> {
        self.run(Operation::Decrypt, |mechanism, pin| {
            self.session()
                .core()
                .begin_decrypt(mechanism, key_use(self.core(), pin))
        })
    }

    /// Message-based decryption (PKCS#11 3.0), as [`Encrypt::message_encryptor`].
    ///
    /// # Errors
    /// As [`Encrypt::message_encryptor`].
    fn message_decryptor(&self) -> Result<MessageDecryptor> {
        plain(self, Operation::MessageDecrypt, |core, mechanism, key| {
            core.begin_message_decrypt(mechanism, key)
        })
    }
}

/// Signing (and MACs): secret and private keys, with the key type's default mechanism
/// ([`default_mechanism`]) unless [`with_param`](SecretKey::with_param) or
/// [`with_mechanism`](SecretKey::with_mechanism) says otherwise. One-shot and streamed,
/// a hash-and-sign mechanism the token lacks is composed from the hash and the raw
/// signature when it has those, giving the same signature.
///
/// ```no_run
/// # fn demo(ec: &p11::PrivateKey, rsa: &p11::PrivateKey, file: &mut std::fs::File)
/// #     -> Result<(), Box<dyn std::error::Error>> {
/// use p11::{Key, MechanismType, Sign};
/// let signature = ec.sign(b"release 1.0")?; // ECDSA, r || s
/// let pss = rsa.with_mechanism(MechanismType::SHA256_RSA_PKCS_PSS).sign(b"release 1.0")?;
/// // A stream: a whole file, in parts.
/// let mut signer = rsa.signer()?;
/// std::io::copy(file, &mut signer)?;
/// let signature = signer.finish()?;
/// # Ok(()) }
/// ```
pub trait Sign: Key + Sized {
    /// Signs `data` (python's `sign`).
    ///
    /// # Errors
    /// [`Error::NoDefaultMechanism`] for a key type without one; `CKR_PIN_INCORRECT`
    /// for a wrong [`with_pin`](PrivateKey::with_pin); the module's error.
    fn sign(&self, data: &[u8]) -> Result<Vec<u8>> {
        self.run(Operation::Sign, |mechanism, pin| {
            let plan = Plan::for_mechanism(self.session(), mechanism)?;
            signing::sign(self.session(), plan, mechanism, self.core(), data, pin)
        })
    }

    /// A streaming signature (python's `sign(iterable)`): [`Signer::update`] with each
    /// part, or `io::copy` into it.
    ///
    /// # Errors
    /// As [`sign`](Self::sign), from the init.
    fn signer(&self) -> Result<Signer> {
        self.run(Operation::Sign, |mechanism, pin| {
            Signer::begin(self.session(), mechanism, self.core(), pin.cloned())
        })
    }

    /// Message-based signing (PKCS#11 3.0): one operation, many messages, each signed
    /// on its own, whole or in parts.
    ///
    /// # Errors
    /// As [`sign`](Self::sign); [`Error::NotSupported`] on a module without PKCS#11
    /// 3.0.
    fn message_signer(&self) -> Result<MessageSigner> {
        plain(self, Operation::MessageSign, |core, mechanism, key| {
            core.begin_message_sign(mechanism, key)
        })
    }
}

/// Verification: secret and public keys; mechanisms and composition as [`Sign`]'s.
///
/// ```no_run
/// # fn demo(public: &p11::PublicKey, signature: &[u8]) -> p11::Result<()> {
/// use p11::Verify;
/// // `Ok(false)` for a wrong signature; an error only when the check could not be made.
/// if !public.verify(b"release 1.0", signature)? {
///     println!("not signed by this key");
/// }
/// # Ok(()) }
/// ```
pub trait Verify: Key + Sized {
    /// Verifies `signature` over `data`: `Ok(false)` for a wrong signature.
    ///
    /// # Errors
    /// [`Error::NoDefaultMechanism`] for a key type without one; the module's error.
    fn verify(&self, data: &[u8], signature: &[u8]) -> Result<bool> {
        plain(self, Operation::Verify, |_, mechanism, key| {
            let plan = Plan::for_mechanism(self.session(), mechanism)?;
            signing::verify(self.session(), plan, mechanism, key, data, signature)
        })
    }

    /// A streaming verification (python's `verify(iterable, signature)`):
    /// [`Verifier::update`] with each part, then [`Verifier::finish`] with the signature.
    ///
    /// # Errors
    /// As [`verify`](Self::verify), from the init.
    fn verifier(&self) -> Result<Verifier> {
        plain(self, Operation::Verify, |_, mechanism, key| {
            Verifier::begin(self.session(), mechanism, key)
        })
    }

    /// Message-based verification (PKCS#11 3.0).
    ///
    /// # Errors
    /// As [`Sign::message_signer`].
    fn message_verifier(&self) -> Result<MessageVerifier> {
        plain(self, Operation::MessageVerify, |core, mechanism, key| {
            core.begin_message_verify(mechanism, key)
        })
    }
}

/// Wrapping other keys: secret and public keys.
///
/// ```no_run
/// # fn demo(kek: &p11::SecretKey, key: &p11::SecretKey) -> p11::Result<()> {
/// use p11::{KeyType, ObjectOptions, SecretKey, Unwrap, Wrap};
/// let wrapped = kek.wrap_key(key)?; // AES key wrap (RFC 3394)
/// let again: SecretKey = kek.unwrap_key(KeyType::AES, &wrapped, &ObjectOptions::new())?;
/// # Ok(()) }
/// ```
pub trait Wrap: Key + Sized {
    /// Wraps `key` (python's `wrap_key`); by default AES: AES_KEY_WRAP, RSA: OAEP.
    ///
    /// # Errors
    /// [`Error::NoDefaultMechanism`] for a key type without one; the module's error.
    fn wrap_key(&self, key: &dyn Key) -> Result<Vec<u8>> {
        plain(self, Operation::Wrap, |core, mechanism, wrapping| {
            core.wrap_key(mechanism, wrapping, key.core())
        })
    }
}

/// Unwrapping keys: secret and private keys.
pub trait Unwrap: Key + Sized {
    /// Unwraps a key of kind `K` (secret, private or public) and `key_type`, made as
    /// `options` say — its template is the one [`ObjectOptions`] gives for that kind
    /// (python's `unwrap_key(object_class, ...)`).
    ///
    /// ```no_run
    /// # fn f(kek: &p11::SecretKey, wrapped: &[u8]) -> p11::Result<()> {
    /// use p11::{KeyType, ObjectOptions, PrivateKey, Unwrap};
    /// let key: PrivateKey = kek.unwrap_key(KeyType::RSA, wrapped, &ObjectOptions::new())?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::NoDefaultMechanism`] for a key type without one; the module's error.
    fn unwrap_key<K: KeyKind>(
        &self,
        key_type: KeyType,
        wrapped: &[u8],
        options: &ObjectOptions,
    ) -> Result<K> {
        let template = options.key_template(K::CLASS, key_type);
        let object = plain(self, Operation::Unwrap, |core, mechanism, key| {
            core.unwrap_key(mechanism, key, wrapped, &template)
        })?;
        Ok(K::made(self.session().clone(), object, key_type))
    }
}

/// The template of a secret key of `key_type` made by encapsulation: `bits` sets its
/// length (0: the mechanism's own, 32 bytes for ML-KEM).
fn encapsulated_template(
    key_type: KeyType,
    bits: usize,
    options: &ObjectOptions,
) -> Result<Template> {
    let mut template = options.secret_key_template(key_type);
    // A length the options' template gives wins, as everything it gives does.
    if bits != 0 && template.get(A::VALUE_LEN).is_none() {
        template = with_value_len(key_type, bits)?.merge(&template);
    }
    Ok(template)
}

/// Encapsulating keys (PKCS#11 3.2): public keys, ML-KEM's above all.
///
/// ```no_run
/// # fn demo(public: &p11::PublicKey, private: &p11::PrivateKey) -> p11::Result<()> {
/// use p11::{Decapsulate, Encapsulate, KeyType, ObjectOptions};
/// // The sender makes a key and a ciphertext for the private key's holder...
/// let (ciphertext, key) = public.encapsulate_key(KeyType::AES, 0, &ObjectOptions::new())?;
/// // ...who makes the same key from the ciphertext.
/// let same = private.decapsulate_key(&ciphertext, KeyType::AES, 0, &ObjectOptions::new())?;
/// # Ok(()) }
/// ```
pub trait Encapsulate: Key + Sized {
    /// A new secret key of `key_type` for the holder of the private key, made as
    /// `options` say (by default with ML_KEM for ML-KEM keys): the ciphertext to send
    /// them, and the key (python's `encapsulate_key`). `bits` sets its length; 0 takes
    /// the mechanism's own.
    ///
    /// ```no_run
    /// # fn demo(public: &p11::PublicKey) -> p11::Result<()> {
    /// use p11::{Encapsulate, KeyType, ObjectOptions};
    /// let (ciphertext, key) = public.encapsulate_key(KeyType::AES, 0, &ObjectOptions::new())?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::NoDefaultMechanism`] for a key type without one;
    /// [`Error::NotSupported`] on a module without the 3.2 interface; the module's error.
    fn encapsulate_key(
        &self,
        key_type: KeyType,
        bits: usize,
        options: &ObjectOptions,
    ) -> Result<(Vec<u8>, SecretKey)> {
        let template = encapsulated_template(key_type, bits, options)?;
        let (ciphertext, object) = plain(self, Operation::Encapsulate, |core, mechanism, key| {
            core.encapsulate_key(mechanism, key, &template)
        })?;
        Ok((
            ciphertext,
            SecretKey::made(self.session().clone(), object, key_type),
        ))
    }
}

/// Decapsulating keys (PKCS#11 3.2): private keys, ML-KEM's above all.
pub trait Decapsulate: Key + Sized {
    /// The secret key that [`Encapsulate::encapsulate_key`] sent as `ciphertext`, made
    /// here as `options` say (python's `decapsulate_key`). `key_type` and `bits` as the
    /// sender gave them.
    ///
    /// # Errors
    /// As [`Encapsulate::encapsulate_key`].
    fn decapsulate_key(
        &self,
        ciphertext: &[u8],
        key_type: KeyType,
        bits: usize,
        options: &ObjectOptions,
    ) -> Result<SecretKey> {
        let template = encapsulated_template(key_type, bits, options)?;
        let object = plain(self, Operation::Decapsulate, |core, mechanism, key| {
            core.decapsulate_key(mechanism, key, ciphertext, &template)
        })?;
        Ok(SecretKey::made(self.session().clone(), object, key_type))
    }
}

/// Deriving keys: secret and private keys.
///
/// ```no_run
/// # fn demo(ours: &p11::PrivateKey, theirs: &p11::PublicKey) -> p11::Result<()> {
/// use p11::mechanisms::Ecdh1DeriveParams;
/// use p11::{Derive, Key, KeyType, ObjectOptions};
/// // ECDH: our private key and their point, an AES key for both.
/// let point = p11::util::public_key_of(theirs)?;
/// let p11::asn1::PublicKey::Ec { point, .. } = point else { return Ok(()) };
/// let shared = ours
///     .with_param(Ecdh1DeriveParams::new(&point))
///     .derive_key(KeyType::AES, 256, &ObjectOptions::new())?;
/// # Ok(()) }
/// ```
pub trait Derive: Key + Sized {
    /// Derives a secret key of `key_type` and `bits`, made as `options` say
    /// ([`ObjectOptions::secret_key_template`] with `VALUE_LEN`), with the key type's
    /// default mechanism and the parameter [`with_param`](SecretKey::with_param) gives
    /// (DH: the other
    /// party's public value; ECDH: [`Ecdh1DeriveParams`]), or another mechanism:
    ///
    /// ```no_run
    /// # fn demo(private: &p11::PrivateKey, peer_point: &[u8]) -> p11::Result<()> {
    /// use p11::mechanisms::Ecdh1DeriveParams;
    /// use p11::{Derive, Key, KeyType, ObjectOptions};
    /// let shared = private
    ///     .with_param(Ecdh1DeriveParams::new(peer_point))
    ///     .derive_key(KeyType::AES, 256, &ObjectOptions::new())?;
    /// # Ok(()) }
    /// ```
    ///
    /// [`Ecdh1DeriveParams`]: p11_core::mechanisms::Ecdh1DeriveParams
    ///
    /// # Errors
    /// [`Error::NoDefaultMechanism`] for a key type without one;
    /// [`Error::NotWholeBytes`] for a length that is not whole bytes; the module's
    /// error.
    fn derive_key(
        &self,
        key_type: KeyType,
        bits: usize,
        options: &ObjectOptions,
    ) -> Result<SecretKey> {
        let template =
            with_value_len(key_type, bits)?.merge(&options.secret_key_template(key_type));
        let object = plain(self, Operation::Derive, |core, mechanism, key| {
            match core.derive_key(mechanism, key, &template) {
                Ok(object) => Ok(object),
                // Tokens differ on the peer's ECDH point: some take it raw only (OpenSC's
                // X25519, SmartCard-HSM), others DER-wrapped only. Refused one way, it is
                // tried the other once.
                Err(refused) => {
                    let Parameter::Ecdh1(params) = mechanism.parameter() else {
                        return Err(refused);
                    };
                    let Some(other) = other_point_encoding(params, &refused) else {
                        return Err(refused);
                    };
                    let retry = Mechanism::with(
                        mechanism.mechanism_type(),
                        params.with_public_data(&other),
                    );
                    core.derive_key(&retry, key, &template).map_err(|_| refused)
                }
            }
        })?;
        Ok(SecretKey::made(self.session().clone(), object, key_type))
    }
}

/// For an ECDH derivation the module refused in a way a point's encoding can cause, the
/// peer's point in the other encoding: DER-wrapped for a raw point, raw for a wrapped one.
fn other_point_encoding(
    params: &p11_core::mechanisms::Ecdh1DeriveParams,
    refused: &Error,
) -> Option<Vec<u8>> {
    let encoding = matches!(
        refused.return_value(),
        Some(
            p11_core::ReturnValue::MechanismParamInvalid
                | p11_core::ReturnValue::ArgumentsBad
                | p11_core::ReturnValue::DomainParamsInvalid
                | p11_core::ReturnValue::AttributeValueInvalid
        )
    );
    if !encoding {
        return None;
    }
    let point = params.public_data();
    // Wrapped: a DER OCTET STRING holding what a point looks like (a raw point that
    // merely parses as one — its X beginning with the right length — wraps 63 bytes that
    // rarely look like a point).
    let a_point = |inner: &[u8]| {
        matches!(inner.len(), 32 | 56 | 57)
            || (inner.first() == Some(&0x04) && inner.len() % 2 == 1)
    };
    match p11_asn1::ec::decode_ec_point(point) {
        Ok(inner) if a_point(&inner) => Some(inner),
        _ => p11_asn1::ec::encode_ec_point(point).ok(),
    }
}

macro_rules! key_kind {
    ($(#[$doc:meta])* $name:ident: $($cap:ident),*) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $name {
            session: Session,
            object: Object,
            key_type: KeyType,
            /// Read once: with the class when the key was found, else when first asked.
            capabilities: OnceLock<Capabilities>,
        }

        /// The same object through the same session.
        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.object == other.object
            }
        }

        impl Eq for $name {}

        impl $name {
        /// The key with a parameter for its type's default mechanism (an IV, OAEP
        /// parameters, ECDH's peer: python's `mechanism_param=`), for the operation called
        /// on what this returns: `key.with_param(&iv).encrypt(data)`.
        pub fn with_param<'a>(&'a self, param: impl Into<Parameter<'a>>) -> With<'a, Self>
        {
            With {
                key: self,
                how: RefCell::new(How::Param(param.into())),
                pin: None,
            }
        }

        /// The key with a mechanism of the caller's (python's `mechanism=`), a
        /// [`MechanismType`] or a whole [`Mechanism`]:
        /// `key.with_mechanism(MechanismType::ECDSA_SHA256).sign(data)`.
        pub fn with_mechanism<'a>(&'a self, mechanism: impl Into<MechanismChoice<'a>>) -> With<'a, Self>
        {
            With {
                key: self,
                how: RefCell::new(How::Mechanism(mechanism.into().0)),
                pin: None,
            }
        }

        /// The key with the PIN it asks for on every use (`CKA_ALWAYS_AUTHENTICATE`,
        /// python's `pin=`): `private.with_pin(pin).sign(data)`.
        pub fn with_pin(&self, pin: impl Into<Pin>) -> With<'_, Self>
        {
            With {
                key: self,
                how: RefCell::new(How::Default),
                pin: Some(pin.into()),
            }
        }


            /// A copy of the key (python's `copy`, `C_CopyObject`) with what `options`
            /// asks for changed — label, id, storage, capabilities, template — and the
            /// rest as the original has it.
            ///
            /// # Errors
            /// The module's error (`CKR_ATTRIBUTE_READ_ONLY` for what cannot change).
            pub fn copy(&self, options: &ObjectOptions) -> Result<Self> {
                let changes = options.changes(<Self as KeyKind>::CLASS);
                let object = self.object.copy(&changes)?;
                Ok(Self::made(self.session.clone(), object, self.key_type))
            }

            /// Changes the key itself (`C_SetAttributeValue`) as `options` asks — label,
            /// id, capabilities (each of its class's capability attributes set to whether
            /// they are named; PKCS#11 3.2's only when named), template — and nothing
            /// else; the capabilities are read afresh when next asked for.
            ///
            /// ```no_run
            /// # fn demo(mut key: p11::SecretKey) -> p11::Result<()> {
            /// use p11::{Capabilities, ObjectOptions};
            /// key.change(&ObjectOptions::new().label("mac key").capabilities(Capabilities::SIGN | Capabilities::VERIFY))?;
            /// # Ok(()) }
            /// ```
            ///
            /// # Errors
            /// The module's error (`CKR_ATTRIBUTE_READ_ONLY` for what cannot change:
            /// storage, and on many tokens a capability once it is off).
            pub fn change(&mut self, options: &ObjectOptions) -> Result<()> {
                let changes = options.changes(<Self as KeyKind>::CLASS);
                let changed = self.object.set_attributes(&changes);
                // Read afresh even after an error: a module may have changed some.
                self.capabilities = OnceLock::new();
                changed
            }
        }

        impl Key for $name {
            fn core(&self) -> &Object {
                &self.object
            }
            fn key_type(&self) -> KeyType {
                self.key_type
            }
            fn session(&self) -> &Session {
                &self.session
            }
            fn capabilities(&self) -> Result<Capabilities> {
                if let Some(known) = self.capabilities.get() {
                    return Ok(*known);
                }
                let read = read_capabilities(&self.object)?;
                Ok(*self.capabilities.get_or_init(|| read))
            }
        }

        impl sealed::Operand for $name {
            fn run<T>(
                &self,
                operation: Operation,
                f: impl FnOnce(&Mechanism<'_>, Option<&Pin>) -> Result<T>,
            ) -> Result<T> {
                f(&default_for(self.key_type, operation, None)?, None)
            }
        }

        $(impl $cap for $name {})*
    };
}

// A key with how to use it can do what the key can.
impl<K: Encrypt> Encrypt for With<'_, K> {}
impl<K: Decrypt> Decrypt for With<'_, K> {}
impl<K: Sign> Sign for With<'_, K> {}
impl<K: Verify> Verify for With<'_, K> {}
impl<K: Wrap> Wrap for With<'_, K> {}
impl<K: Unwrap> Unwrap for With<'_, K> {}
impl<K: Derive> Derive for With<'_, K> {}
impl<K: Encapsulate> Encapsulate for With<'_, K> {}
impl<K: Decapsulate> Decapsulate for With<'_, K> {}

key_kind!(
    /// A secret key (AES, DES3, generic secret, ...): every capability.
    SecretKey: Encrypt, Decrypt, Sign, Verify, Wrap, Unwrap, Derive
);
key_kind!(
    /// The public half of a key pair: encrypt, verify, wrap, encapsulate.
    PublicKey: Encrypt, Verify, Wrap, Encapsulate
);
key_kind!(
    /// The private half of a key pair: decrypt, sign, unwrap, derive, decapsulate.
    PrivateKey: Decrypt, Sign, Unwrap, Derive, Decapsulate
);

/// Domain parameters, local or on the token (python's `DomainParameters`).
#[derive(Clone, Debug)]
pub struct DomainParameters {
    session: Session,
    parameters: p11_core::DomainParameters,
}

impl DomainParameters {
    pub(crate) fn new(session: Session, parameters: p11_core::DomainParameters) -> Self {
        DomainParameters {
            session,
            parameters,
        }
    }

    /// The core value: local attributes, or the object on the token; the escape hatch
    /// to what the facade does not wrap.
    pub fn core(&self) -> &p11_core::DomainParameters {
        &self.parameters
    }

    /// Whether they are an object on the token (generated, or created with storage),
    /// rather than attributes kept here.
    pub fn is_stored(&self) -> bool {
        matches!(self.parameters, p11_core::DomainParameters::Stored { .. })
    }

    /// One attribute, typed: read from the token for stored parameters, taken from the
    /// attributes for local ones.
    ///
    /// # Errors
    /// The module's error; [`Error::MissingAttribute`] for local parameters without it;
    /// [`Error::AttributeKind`] when the value is of another kind.
    pub fn get<T: FromAttribute>(&self, ty: A) -> Result<T> {
        match &self.parameters {
            p11_core::DomainParameters::Stored { object, .. } => object.get(ty),
            p11_core::DomainParameters::Local { attributes, .. } => {
                let value = attributes.get(ty).ok_or(Error::MissingAttribute(ty))?;
                T::from_attribute(ty, value.clone())
            }
        }
    }

    /// The parameter attributes (`PRIME`, `BASE`, `EC_PARAMS`, ...).
    ///
    /// # Errors
    /// The module's error reading a stored object's attributes.
    pub fn attributes(&self) -> Result<Template> {
        self.parameters.attributes()
    }

    /// A key pair from these parameters, made as `options` say (python's
    /// `DomainParameters.generate_keypair`).
    ///
    /// # Errors
    /// The module's error reading stored parameters or generating the pair.
    pub fn generate_keypair(&self, options: &ObjectOptions) -> Result<(PublicKey, PrivateKey)> {
        self.session.generate_keypair_from(
            self.parameters.key_type(),
            &self.parameters.attributes()?,
            options,
        )
    }
}

pub(crate) use sealed::Made;

mod sealed {
    use super::{Mechanism, Operation, Pin, Result};

    /// Only p11's key kinds are [`KeyKind`](super::KeyKind)s.
    pub trait Made {
        /// The key value for an object p11 just made of this kind and `key_type`: no read.
        fn made(session: super::Session, object: super::Object, key_type: super::KeyType) -> Self;

        /// The key value for an object a search for `template` just found: `None` when
        /// it is gone since.
        fn from_found(
            session: super::Session,
            object: super::Object,
            template: &super::Template,
        ) -> Option<Result<Self>>
        where
            Self: Sized;
    }

    /// Only p11's keys, and keys with how to use them, are [`Key`](super::Key)s.
    pub trait Operand {
        /// Runs `f` with the mechanism for `operation` and the PIN given for the key.
        fn run<T>(
            &self,
            operation: Operation,
            f: impl FnOnce(&Mechanism<'_>, Option<&Pin>) -> Result<T>,
        ) -> Result<T>
        where
            Self: Sized;
    }
}

/// The capabilities among `values`, read for [`ALL_CAPABILITIES`] in its order: a
/// capability the module does not report (not one of the class's attributes, or
/// unreadable) is one the key lacks.
fn capabilities_of(values: &[Option<AttributeValue>]) -> Capabilities {
    ALL_CAPABILITIES
        .iter()
        .zip(values)
        .filter(|(_, value)| matches!(value, Some(AttributeValue::Bool(true))))
        .fold(Capabilities::empty(), |all, ((capability, _), _)| {
            all | *capability
        })
}

/// A key's capabilities, read in one call.
fn read_capabilities(object: &Object) -> Result<Capabilities> {
    let types = ALL_CAPABILITIES.map(|(_, ty)| ty);
    Ok(capabilities_of(&object.get_present(&types)?))
}

/// How often a found object's facts are read again after a module error that does not
/// say it is gone (see [`Facts::found`]).
const FOUND_RETRIES: usize = 3;

/// What a key value is made with: its class, key type and capabilities — read from the
/// token in one call, or, for an object a search found, taken from the search's template
/// where it pins them, the capabilities left to be read when first asked.
pub(crate) struct Facts {
    pub(crate) class: ObjectClass,
    /// `None` for an object that is no key.
    pub(crate) key_type: Option<KeyType>,
    /// `None`: not read yet.
    pub(crate) capabilities: Option<Capabilities>,
}

impl Facts {
    /// Reads them. A capability the module does not report (not one of the class's
    /// attributes, or unreadable) is one the key lacks.
    ///
    /// # Errors
    /// The module's error reading the class.
    pub(crate) fn read(object: &Object) -> Result<Facts> {
        let mut types = [A::CLASS; 2 + ALL_CAPABILITIES.len()];
        types[1] = A::KEY_TYPE;
        for (slot, (_, ty)) in types[2..].iter_mut().zip(&ALL_CAPABILITIES) {
            *slot = *ty;
        }
        let values = object.get_present(&types)?;
        let (class, key_type) = Facts::kind_of(object, &values)?;
        let capabilities = capabilities_of(values.get(2..).unwrap_or_default());
        Ok(Facts {
            class,
            key_type,
            capabilities: Some(capabilities),
        })
    }

    /// For an object a search for `template` just found: what the template pins, with no
    /// call; else its class and key type in one read of two words. `None` when it is gone
    /// since (another session destroyed it, or closed and took its session objects
    /// along), which the module says by `CKR_OBJECT_HANDLE_INVALID` — at once, or when
    /// asked again after another error (SoftHSM answers `CKR_GENERAL_ERROR` or
    /// `CKR_ATTRIBUTE_VALUE_INVALID` to a read racing the destruction).
    ///
    /// # Errors
    /// The module's error reading them, for an object still there.
    pub(crate) fn found(object: &Object, template: &Template) -> Result<Option<Facts>> {
        let class = match template.get(A::CLASS) {
            Some(AttributeValue::ObjectClass(class)) => Some(*class),
            _ => None,
        };
        let key_type = match template.get(A::KEY_TYPE) {
            Some(AttributeValue::KeyType(key_type)) => Some(*key_type),
            _ => None,
        };
        let has_key_type = [
            ObjectClass::SECRET_KEY,
            ObjectClass::PUBLIC_KEY,
            ObjectClass::PRIVATE_KEY,
            ObjectClass::DOMAIN_PARAMETERS,
        ];
        if let Some(class) = class.filter(|c| key_type.is_some() || !has_key_type.contains(c)) {
            return Ok(Some(Facts {
                class,
                key_type,
                capabilities: None,
            }));
        }
        let gone = |e: &Error| e.return_value() == Some(ReturnValue::ObjectHandleInvalid);
        let read = || {
            object
                .get_present(&[A::CLASS, A::KEY_TYPE])
                .and_then(|values| Facts::kind_of(object, &values))
        };
        // Read while another session destroys it, SoftHSM answers CKR_GENERAL_ERROR or
        // CKR_ATTRIBUTE_VALUE_INVALID until the destruction is through: asked again (a
        // few times, letting other threads run), it is gone, or there, or the first
        // answer stands.
        let racing = |e: &Error| !gone(e) && e.return_value().is_some();
        let kind = match read() {
            Err(e) if racing(&e) => (0..FOUND_RETRIES)
                .find_map(|_| {
                    std::thread::yield_now();
                    Some(read()).filter(|again| !matches!(again, Err(e) if racing(e)))
                })
                .unwrap_or(Err(e)),
            first => first,
        };
        match kind {
            Ok((class, key_type)) => Ok(Some(Facts {
                class,
                key_type,
                capabilities: None,
            })),
            Err(e) if gone(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The class and key type among `values` (read for `[CLASS, KEY_TYPE, ..]`); a class
    /// missing from them is asked for alone, for the module's own error.
    fn kind_of(
        object: &Object,
        values: &[Option<AttributeValue>],
    ) -> Result<(ObjectClass, Option<KeyType>)> {
        let class = match values.first() {
            Some(Some(AttributeValue::ObjectClass(class))) => *class,
            _ => object.get(A::CLASS)?,
        };
        let key_type = match values.get(1) {
            Some(Some(AttributeValue::KeyType(key_type))) => Some(*key_type),
            _ => None,
        };
        Ok((class, key_type))
    }
}

/// A kind of key: secret, public or private. The facade returns it from searches and
/// unwrapping; the class is the type's.
///
/// ```no_run
/// # fn demo(session: &p11::Session) -> p11::Result<()> {
/// use p11::{KeyQuery, PrivateKey, PublicKey};
/// // The kind asked for is the class searched for: same label, two objects.
/// let query = KeyQuery::new().label("release signing");
/// let public: PublicKey = session.get_key(&query)?;
/// let private: PrivateKey = session.get_key(&query)?;
/// # Ok(()) }
/// ```
pub trait KeyKind: Key + Sized + sealed::Made {
    /// The object class of this kind.
    const CLASS: ObjectClass;

    /// Wraps an object of this kind, its class, key type and capabilities read from the
    /// token in one call.
    ///
    /// # Errors
    /// [`Error::WrongClass`] for an object of another class;
    /// [`Error::InvalidResponse`] for a key without a key type; the module's error.
    fn from_object(session: Session, object: Object) -> Result<Self>;

    /// The same key used through `session`, another session of this application on the
    /// same token (a pooled one, say): nothing is read or called, and operations on it run
    /// in `session`, beside those of other sessions.
    ///
    /// # Errors
    /// [`Error::OtherToken`] when `session` is on another token.
    fn in_session(&self, session: &Session) -> Result<Self>;
}

macro_rules! key_kind_class {
    ($($name:ident => $class:ident),*) => {$(
        impl KeyKind for $name {
            const CLASS: ObjectClass = ObjectClass::$class;

            fn from_object(session: Session, object: Object) -> Result<Self> {
                let facts = Facts::read(&object)?;
                $name::with_facts(session, object, facts)
            }


            fn in_session(&self, session: &Session) -> Result<Self> {
                Ok(Self {
                    session: session.clone(),
                    object: self.object.in_session(session.core())?,
                    key_type: self.key_type,
                    capabilities: self.capabilities.clone(),
                })
            }
        }

        impl sealed::Made for $name {
            fn made(session: Session, object: Object, key_type: KeyType) -> Self {
                Self {
                    session,
                    object,
                    key_type,
                    capabilities: OnceLock::new(),
                }
            }

            fn from_found(
                session: Session,
                object: Object,
                template: &Template,
            ) -> Option<Result<Self>> {
                match Facts::found(&object, template) {
                    Ok(Some(facts)) => Some($name::with_facts(session, object, facts)),
                    Ok(None) => None,
                    Err(e) => Some(Err(e)),
                }
            }
        }

        impl $name {
            /// The key value for `object` whose `facts` were read.
            pub(crate) fn with_facts(session: Session, object: Object, facts: Facts) -> Result<Self> {
                if facts.class != ObjectClass::$class {
                    return Err(Error::WrongClass {
                        expected: ObjectClass::$class,
                        actual: facts.class,
                    });
                }
                let key_type = facts.key_type.ok_or_else(|| Error::InvalidResponse {
                    function: Function::GetAttributeValue,
                    what: "a key without a key type".into(),
                })?;
                Ok(Self {
                    session,
                    object,
                    key_type,
                    capabilities: facts.capabilities.map_or_else(OnceLock::new, OnceLock::from),
                })
            }
        }
    )*};
}

key_kind_class!(SecretKey => SECRET_KEY, PublicKey => PUBLIC_KEY, PrivateKey => PRIVATE_KEY);
