//! Keys by kind, and what each kind can do: the capability traits. Only the right kinds
//! implement each trait, so signing with a public key does not compile.
//!
//! Each operation comes three ways, like python-pkcs11's `mechanism=` and
//! `mechanism_param=` keywords: `encrypt(data)` with the key type's default mechanism,
//! `encrypt_param(data, param)` with the default mechanism and this parameter (an IV,
//! OAEP parameters, ...), and `encrypt_with(data, &mechanism)` with any mechanism.
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

use crate::defaults::{key_defaults, Capabilities, KeyDefaults};
use crate::options::{ObjectOptions, ALL_CAPABILITIES};
use crate::session::{with_value_len, Session};
use crate::signing::{self, Plan, Signer, Verifier};
use p11_core::mechanisms::{Parameter, ParameterKind};
use p11_core::{
    AttributeType as A, AttributeValue, Cipher, Error, FromAttribute, FromAttributes, KeyType,
    Mechanism, MechanismType, Object, ObjectClass, Pin, Result, Template,
};
use std::sync::OnceLock;

/// What every key has.
pub trait Key {
    /// The key object.
    fn object(&self) -> &Object;
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
        self.object().clone().destroy()
    }

    /// Its label (python's `key.label`).
    ///
    /// # Errors
    /// The module's error reading `CKA_LABEL`.
    fn label(&self) -> Result<String> {
        self.object().get(A::LABEL)
    }

    /// Its id (python's `key.id`).
    ///
    /// # Errors
    /// The module's error reading `CKA_ID`.
    fn id(&self) -> Result<Vec<u8>> {
        self.object().get(A::ID)
    }

    /// Its length in bits (python's `key.key_length`): `VALUE_LEN` of a secret key
    /// (DES2 and DES3 by their type), the modulus of an RSA key, the prime of a DSA or
    /// DH key, the field of an EC key's named curve.
    ///
    /// # Errors
    /// The module's error reading the attribute; [`Error::Encoding`] for EC parameters
    /// that name no curve p11 knows; [`Error::InvalidArgument`] for a key type whose
    /// length p11 cannot tell.
    fn key_length(&self) -> Result<u64> {
        let bytes = |ty| -> Result<u64> {
            let value: Vec<u8> = self.object().get(ty)?;
            let first = value.iter().position(|b| *b != 0).unwrap_or(value.len());
            Ok((value.len() - first) as u64 * 8)
        };
        match self.key_type() {
            KeyType::DES2 => Ok(128),
            KeyType::DES3 => Ok(192),
            KeyType::RSA => bytes(A::MODULUS),
            KeyType::DSA | KeyType::DH | KeyType::X9_42_DH => bytes(A::PRIME),
            KeyType::EC | KeyType::EC_EDWARDS | KeyType::EC_MONTGOMERY => {
                let der: Vec<u8> = self.object().get(A::EC_PARAMS)?;
                let encoding = |e| Error::Encoding {
                    what: "EC parameters",
                    source: Box::new(e),
                };
                let curve = match p11_asn1::ec::EcParameters::from_der(&der).map_err(encoding)? {
                    p11_asn1::ec::EcParameters::NamedCurve(oid) => {
                        p11_asn1::ec::curve_by_oid(&oid).map_err(encoding)?
                    }
                    _ => {
                        return Err(Error::InvalidArgument(
                            "the key's curve is not a named one".into(),
                        ))
                    }
                };
                Ok(curve.field_len as u64 * 8)
            }
            _ if self.object().kind()? == p11_core::ObjectKind::SecretKey => {
                let bytes: u64 = self.object().get(A::VALUE_LEN)?;
                bytes.checked_mul(8).ok_or_else(|| Error::InvalidResponse {
                    function: "C_GetAttributeValue",
                    what: format!("a key of {bytes} bytes"),
                })
            }
            other => Err(Error::InvalidArgument(
                format!("p11 cannot tell the length of a {other} key").into(),
            )),
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
        self.object().get(ty)
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
        self.object().get_all(types)
    }
}

/// The key type's default mechanism for one use, with `param` (IVs length-checked).
fn default_mechanism<'a>(
    key: &dyn Key,
    what: &str,
    pick: fn(&KeyDefaults) -> Option<MechanismType>,
    param: Parameter<'a>,
) -> Result<Mechanism<'a>> {
    let mechanism = key_defaults(key.key_type())
        .and_then(|d| pick(&d))
        .ok_or_else(|| {
            Error::InvalidArgument(
                format!("{} keys have no default {what} mechanism", key.key_type()).into(),
            )
        })?;
    match param {
        Parameter::None => Ok(Mechanism::new(mechanism)),
        Parameter::Bytes(iv)
            if mechanism
                .profile()
                .is_some_and(|p| p.parameter == ParameterKind::Iv) =>
        {
            Ok(Mechanism::with_iv(mechanism, iv)?)
        }
        param => Ok(Mechanism::with(mechanism, param)),
    }
}

fn encryption<'a>(key: &dyn Key, param: Parameter<'a>) -> Result<Mechanism<'a>> {
    default_mechanism(key, "encryption", |d| d.encrypt, param)
}

fn signing<'a>(key: &dyn Key, param: Parameter<'a>) -> Result<Mechanism<'a>> {
    default_mechanism(key, "signing", |d| d.sign, param)
}

fn wrapping(key: &dyn Key) -> Result<Mechanism<'static>> {
    default_mechanism(key, "wrapping", |d| d.wrap, Parameter::None)
}

/// Encryption: secret and public keys.
pub trait Encrypt: Key + Sized {
    /// Encrypts with the default mechanism (RSA: OAEP with SHA-1).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a key type without a default; the module's error.
    fn encrypt(&self, data: &[u8]) -> Result<Vec<u8>> {
        self.encrypt_with(&encryption(self, Parameter::None)?, data)
    }

    /// Encrypts with the default mechanism and this parameter (AES/DES3: the IV).
    ///
    /// # Errors
    /// As [`encrypt`](Self::encrypt); [`Error::Parameter`] for an IV of the wrong size.
    fn encrypt_param<'a>(&self, param: impl Into<Parameter<'a>>, data: &[u8]) -> Result<Vec<u8>> {
        self.encrypt_with(&encryption(self, param.into())?, data)
    }

    /// Encrypts with any mechanism.
    ///
    /// # Errors
    /// The module's error.
    fn encrypt_with(&self, mechanism: &Mechanism, data: &[u8]) -> Result<Vec<u8>> {
        self.session()
            .core()
            .encrypt(mechanism, self.object(), data)
    }

    /// A streaming encryption with the default mechanism and `param`: feed it chunks
    /// ([`Cipher::stream`], python's `encrypt(iterable)`), or use it as an `io::Write`
    /// ([`Cipher::writer`]) or `io::Read` ([`Cipher::reader`]).
    ///
    /// # Errors
    /// As [`encrypt_param`](Self::encrypt_param).
    fn encryptor<'a>(&self, param: impl Into<Parameter<'a>>) -> Result<Cipher> {
        self.encryptor_with(&encryption(self, param.into())?)
    }

    /// A streaming encryption with any mechanism.
    ///
    /// # Errors
    /// The module's error from `C_EncryptInit`.
    fn encryptor_with(&self, mechanism: &Mechanism) -> Result<Cipher> {
        self.session()
            .core()
            .begin_encrypt(mechanism, self.object())
    }
}

/// Decryption: secret and private keys.
pub trait Decrypt: Key + Sized {
    /// Decrypts with the default mechanism.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a key type without a default; the module's error.
    fn decrypt(&self, data: &[u8]) -> Result<Vec<u8>> {
        self.decrypt_with(&encryption(self, Parameter::None)?, data)
    }

    /// Decrypts with the default mechanism and this parameter (AES/DES3: the IV).
    ///
    /// # Errors
    /// As [`decrypt`](Self::decrypt); [`Error::Parameter`] for an IV of the wrong size.
    fn decrypt_param<'a>(&self, param: impl Into<Parameter<'a>>, data: &[u8]) -> Result<Vec<u8>> {
        self.decrypt_with(&encryption(self, param.into())?, data)
    }

    /// Decrypts with any mechanism.
    ///
    /// # Errors
    /// The module's error.
    fn decrypt_with(&self, mechanism: &Mechanism, data: &[u8]) -> Result<Vec<u8>> {
        self.session()
            .core()
            .decrypt(mechanism, self.object(), data)
    }

    /// Decrypts with the default mechanism, with the PIN a key marked
    /// `ALWAYS_AUTHENTICATE` asks for on every use (python's `decrypt(..., pin=)`).
    ///
    /// # Errors
    /// The module's error, `CKR_PIN_INCORRECT` among them.
    fn decrypt_with_pin(&self, data: &[u8], pin: impl Into<Pin>) -> Result<Vec<u8>> {
        let mechanism = encryption(self, Parameter::None)?;
        self.session()
            .core()
            .decrypt_with_pin(&mechanism, self.object(), data, pin)
    }

    /// A streaming decryption with the default mechanism and `param`.
    ///
    /// # Errors
    /// As [`decrypt_param`](Self::decrypt_param).
    fn decryptor<'a>(&self, param: impl Into<Parameter<'a>>) -> Result<Cipher> {
        self.decryptor_with(&encryption(self, param.into())?)
    }

    /// A streaming decryption with any mechanism.
    ///
    /// # Errors
    /// The module's error from `C_DecryptInit`.
    fn decryptor_with(&self, mechanism: &Mechanism) -> Result<Cipher> {
        self.session()
            .core()
            .begin_decrypt(mechanism, self.object())
    }
}

/// Signing (and MACs): secret and private keys. Every spelling — one-shot, chunks, a
/// [`Signer`] stream — composes a hash-and-sign mechanism the token lacks from the hash
/// and the raw signature when it has those, giving the same signature.
pub trait Sign: Key + Sized {
    /// Signs with the default mechanism.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a key type without a default; the module's error.
    fn sign(&self, data: &[u8]) -> Result<Vec<u8>> {
        self.sign_with(&signing(self, Parameter::None)?, data)
    }

    /// Signs with the default mechanism and this parameter.
    ///
    /// # Errors
    /// As [`sign`](Self::sign).
    fn sign_param<'a>(&self, param: impl Into<Parameter<'a>>, data: &[u8]) -> Result<Vec<u8>> {
        self.sign_with(&signing(self, param.into())?, data)
    }

    /// Signs with any mechanism.
    ///
    /// # Errors
    /// The module's error.
    fn sign_with(&self, mechanism: &Mechanism, data: &[u8]) -> Result<Vec<u8>> {
        let plan = Plan::for_mechanism(self.session(), mechanism)?;
        signing::sign(self.session(), plan, mechanism, self.object(), data, None)
    }

    /// Signs with the default mechanism, with the PIN a key marked
    /// `ALWAYS_AUTHENTICATE` asks for on every use (python's `sign(..., pin=)`).
    ///
    /// # Errors
    /// The module's error, `CKR_PIN_INCORRECT` among them.
    fn sign_with_pin(&self, data: &[u8], pin: impl Into<Pin>) -> Result<Vec<u8>> {
        let mechanism = signing(self, Parameter::None)?;
        let plan = Plan::for_mechanism(self.session(), &mechanism)?;
        let pin = pin.into();
        signing::sign(
            self.session(),
            plan,
            &mechanism,
            self.object(),
            data,
            Some(&pin),
        )
    }

    /// Signs the concatenation of `chunks` with the default mechanism, in parts
    /// (python's `sign(iterable)`).
    ///
    /// # Errors
    /// As [`signer`](Self::signer), and the module's errors on the way.
    fn sign_chunks<I>(&self, chunks: I) -> Result<Vec<u8>>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let mut signer = self.signer(Parameter::None)?;
        for chunk in chunks {
            signer.update(chunk.as_ref())?;
        }
        signer.finish()
    }

    /// A streaming signature with the default mechanism and `param`
    /// ([`Parameter::None`] for none); an `io::Write`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a key type without a default; the module's error
    /// from the init.
    fn signer<'a>(&self, param: impl Into<Parameter<'a>>) -> Result<Signer> {
        self.signer_with(&signing(self, param.into())?)
    }

    /// A streaming signature with any mechanism.
    ///
    /// # Errors
    /// The module's error from the init.
    fn signer_with(&self, mechanism: &Mechanism) -> Result<Signer> {
        Signer::begin(self.session(), mechanism, self.object(), None)
    }

    /// A streaming signature with the default mechanism, with the PIN a key marked
    /// `ALWAYS_AUTHENTICATE` asks for.
    ///
    /// # Errors
    /// The module's error, `CKR_PIN_INCORRECT` among them.
    fn signer_with_pin(&self, pin: impl Into<Pin>) -> Result<Signer> {
        let mechanism = signing(self, Parameter::None)?;
        Signer::begin(self.session(), &mechanism, self.object(), Some(pin.into()))
    }

    /// Message-based signing (PKCS#11 3.0) with the default mechanism: one operation,
    /// many messages, each signed on its own, whole or in parts.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a key type without a default;
    /// [`Error::NotSupported`] on a module without PKCS#11 3.0; the module's error.
    fn message_signer(&self) -> Result<p11_core::MessageSigner> {
        self.message_signer_with(&signing(self, Parameter::None)?)
    }

    /// Message-based signing with `mechanism`.
    ///
    /// # Errors
    /// As [`message_signer`](Self::message_signer).
    fn message_signer_with(&self, mechanism: &Mechanism) -> Result<p11_core::MessageSigner> {
        self.session()
            .core()
            .begin_message_sign(mechanism, self.object())
    }
}

/// Verification: secret and public keys; composed as [`Sign`] is.
pub trait Verify: Key + Sized {
    /// Verifies with the default mechanism: `Ok(false)` for a wrong signature.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a key type without a default; the module's error.
    fn verify(&self, data: &[u8], signature: &[u8]) -> Result<bool> {
        self.verify_with(&signing(self, Parameter::None)?, data, signature)
    }

    /// Verifies with the default mechanism and this parameter.
    ///
    /// # Errors
    /// As [`verify`](Self::verify).
    fn verify_param<'a>(
        &self,
        param: impl Into<Parameter<'a>>,
        data: &[u8],
        signature: &[u8],
    ) -> Result<bool> {
        self.verify_with(&signing(self, param.into())?, data, signature)
    }

    /// Verifies with any mechanism.
    ///
    /// # Errors
    /// The module's error.
    fn verify_with(&self, mechanism: &Mechanism, data: &[u8], signature: &[u8]) -> Result<bool> {
        let plan = Plan::for_mechanism(self.session(), mechanism)?;
        signing::verify(
            self.session(),
            plan,
            mechanism,
            self.object(),
            data,
            signature,
        )
    }

    /// Verifies `signature` over the concatenation of `chunks` with the default
    /// mechanism, in parts (python's `verify(iterable, signature)`).
    ///
    /// # Errors
    /// As [`verifier`](Self::verifier), and the module's errors on the way.
    fn verify_chunks<I>(&self, chunks: I, signature: &[u8]) -> Result<bool>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let mut verifier = self.verifier(Parameter::None)?;
        for chunk in chunks {
            verifier.update(chunk.as_ref())?;
        }
        verifier.finish(signature)
    }

    /// A streaming verification with the default mechanism and `param`; an `io::Write`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a key type without a default; the module's error
    /// from the init.
    fn verifier<'a>(&self, param: impl Into<Parameter<'a>>) -> Result<Verifier> {
        self.verifier_with(&signing(self, param.into())?)
    }

    /// A streaming verification with any mechanism.
    ///
    /// # Errors
    /// The module's error from the init.
    fn verifier_with(&self, mechanism: &Mechanism) -> Result<Verifier> {
        Verifier::begin(self.session(), mechanism, self.object())
    }

    /// Message-based verification (PKCS#11 3.0) with the default mechanism.
    ///
    /// # Errors
    /// As [`Sign::message_signer`].
    fn message_verifier(&self) -> Result<p11_core::MessageVerifier> {
        self.message_verifier_with(&signing(self, Parameter::None)?)
    }

    /// Message-based verification with `mechanism`.
    ///
    /// # Errors
    /// As [`Sign::message_signer`].
    fn message_verifier_with(&self, mechanism: &Mechanism) -> Result<p11_core::MessageVerifier> {
        self.session()
            .core()
            .begin_message_verify(mechanism, self.object())
    }
}

/// Wrapping other keys: secret and public keys.
pub trait Wrap: Key + Sized {
    /// Wraps `key` with the default mechanism (AES: AES_KEY_WRAP, RSA: OAEP).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a key type without a default; the module's error.
    fn wrap_key(&self, key: &dyn Key) -> Result<Vec<u8>> {
        self.wrap_key_with(&wrapping(self)?, key)
    }

    /// Wraps `key` with any mechanism.
    ///
    /// # Errors
    /// The module's error.
    fn wrap_key_with(&self, mechanism: &Mechanism, key: &dyn Key) -> Result<Vec<u8>> {
        self.session()
            .core()
            .wrap_key(mechanism, self.object(), key.object())
    }
}

/// Unwrapping keys: secret and private keys.
pub trait Unwrap: Key + Sized {
    /// Unwraps a key of kind `K` (secret, private or public) and `key_type` with the
    /// default mechanism, made as `options` say — its template is the one
    /// [`ObjectOptions`] gives for that kind (python's `unwrap_key(object_class, ...)`).
    ///
    /// ```no_run
    /// # fn f(kek: &p11::SecretKey, wrapped: &[u8]) -> p11::Result<()> {
    /// use p11::{KeyType, ObjectOptions, PrivateKey, Unwrap};
    /// let key: PrivateKey = kek.unwrap_key(KeyType::RSA, wrapped, &ObjectOptions::new())?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a key type without a default; the module's error.
    fn unwrap_key<K: KeyKind>(
        &self,
        key_type: KeyType,
        wrapped: &[u8],
        options: &ObjectOptions,
    ) -> Result<K> {
        self.unwrap_key_with(&wrapping(self)?, key_type, wrapped, options)
    }

    /// Unwraps with any mechanism.
    ///
    /// # Errors
    /// The module's error.
    fn unwrap_key_with<K: KeyKind>(
        &self,
        mechanism: &Mechanism,
        key_type: KeyType,
        wrapped: &[u8],
        options: &ObjectOptions,
    ) -> Result<K> {
        let template = options.key_template(K::CLASS, key_type);
        let object =
            self.session()
                .core()
                .unwrap_key(mechanism, self.object(), wrapped, &template)?;
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
pub trait Encapsulate: Key + Sized {
    /// A new secret key of `key_type` for the holder of the private key, made as
    /// `options` say, with the default mechanism (ML_KEM for ML-KEM keys): the
    /// ciphertext to send them, and the key (python's `encapsulate_key`). `bits` sets
    /// its length; 0 takes the mechanism's own.
    ///
    /// ```no_run
    /// # fn demo(public: &p11::PublicKey) -> p11::Result<()> {
    /// use p11::{Encapsulate, KeyType, ObjectOptions};
    /// let (ciphertext, key) = public.encapsulate_key(KeyType::AES, 0, &ObjectOptions::new())?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a key type without a default;
    /// [`Error::NotSupported`] on a module without the 3.2 interface; the module's error.
    fn encapsulate_key(
        &self,
        key_type: KeyType,
        bits: usize,
        options: &ObjectOptions,
    ) -> Result<(Vec<u8>, SecretKey)> {
        let mechanism =
            default_mechanism(self, "encapsulation", |d| d.encapsulate, Parameter::None)?;
        self.encapsulate_key_with(&mechanism, key_type, bits, options)
    }

    /// Encapsulates with any mechanism.
    ///
    /// # Errors
    /// As [`encapsulate_key`](Self::encapsulate_key).
    fn encapsulate_key_with(
        &self,
        mechanism: &Mechanism,
        key_type: KeyType,
        bits: usize,
        options: &ObjectOptions,
    ) -> Result<(Vec<u8>, SecretKey)> {
        let template = encapsulated_template(key_type, bits, options)?;
        let (ciphertext, object) =
            self.session()
                .core()
                .encapsulate_key(mechanism, self.object(), &template)?;
        Ok((
            ciphertext,
            SecretKey::made(self.session().clone(), object, key_type),
        ))
    }
}

/// Decapsulating keys (PKCS#11 3.2): private keys, ML-KEM's above all.
pub trait Decapsulate: Key + Sized {
    /// The secret key that [`Encapsulate::encapsulate_key`] sent as `ciphertext`, made
    /// here as `options` say, with the default mechanism (python's `decapsulate_key`).
    /// `key_type` and `bits` as the sender gave them.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a key type without a default;
    /// [`Error::NotSupported`] on a module without the 3.2 interface; the module's error.
    fn decapsulate_key(
        &self,
        ciphertext: &[u8],
        key_type: KeyType,
        bits: usize,
        options: &ObjectOptions,
    ) -> Result<SecretKey> {
        let mechanism =
            default_mechanism(self, "decapsulation", |d| d.encapsulate, Parameter::None)?;
        self.decapsulate_key_with(&mechanism, ciphertext, key_type, bits, options)
    }

    /// Decapsulates with any mechanism.
    ///
    /// # Errors
    /// As [`decapsulate_key`](Self::decapsulate_key).
    fn decapsulate_key_with(
        &self,
        mechanism: &Mechanism,
        ciphertext: &[u8],
        key_type: KeyType,
        bits: usize,
        options: &ObjectOptions,
    ) -> Result<SecretKey> {
        let template = encapsulated_template(key_type, bits, options)?;
        let object = self.session().core().decapsulate_key(
            mechanism,
            self.object(),
            ciphertext,
            &template,
        )?;
        Ok(SecretKey::made(self.session().clone(), object, key_type))
    }
}

/// Deriving keys: secret and private keys.
pub trait Derive: Key + Sized {
    /// Derives a secret key of `key_type` and `bits` with the default mechanism and its
    /// parameter (DH: the other party's public value; ECDH: [`Ecdh1DeriveParams`]),
    /// made as `options` say ([`ObjectOptions::secret_key_template`] with `VALUE_LEN`).
    ///
    /// [`Ecdh1DeriveParams`]: p11_core::mechanisms::Ecdh1DeriveParams
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a key type without a default or a length that is
    /// not whole bytes; the module's error.
    fn derive_key<'a>(
        &self,
        param: impl Into<Parameter<'a>>,
        key_type: KeyType,
        bits: usize,
        options: &ObjectOptions,
    ) -> Result<SecretKey> {
        let mechanism = default_mechanism(self, "derivation", |d| d.derive, param.into())?;
        self.derive_key_with(&mechanism, key_type, bits, options)
    }

    /// Derives with any mechanism.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a length that is not whole bytes; the module's
    /// error.
    fn derive_key_with(
        &self,
        mechanism: &Mechanism,
        key_type: KeyType,
        bits: usize,
        options: &ObjectOptions,
    ) -> Result<SecretKey> {
        let template =
            with_value_len(key_type, bits)?.merge(&options.secret_key_template(key_type));
        let core = self.session().core();
        let object = match core.derive_key(mechanism, self.object(), &template) {
            Ok(object) => object,
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
                let retry =
                    Mechanism::with(mechanism.mechanism_type(), params.with_public_data(&other));
                core.derive_key(&retry, self.object(), &template)
                    .map_err(|_| refused)?
            }
        };
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

        impl $name {

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
        }

        impl Key for $name {
            fn object(&self) -> &Object {
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

        $(impl $cap for $name {})*
    };
}

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

/// Message-based encryption with a secret key (PKCS#11 3.0): one operation, many
/// messages, each with its own IV or nonce and tag — the key set up once for a stream of
/// records.
impl SecretKey {
    /// The key type's AEAD for messages: AES-GCM for AES keys, ChaCha20-Poly1305 for
    /// ChaCha20 keys.
    fn message_mechanism(&self) -> Result<Mechanism<'static>> {
        match self.key_type() {
            KeyType::AES => Ok(Mechanism::new(MechanismType::AES_GCM)),
            KeyType::CHACHA20 => Ok(Mechanism::new(MechanismType::CHACHA20_POLY1305)),
            other => Err(Error::InvalidArgument(
                format!("{other} keys have no default message encryption mechanism").into(),
            )),
        }
    }

    /// Begins encrypting messages with the key type's AEAD (AES-GCM, ChaCha20-Poly1305);
    /// each message then takes its own parameter (`GcmMessageParams`, ...):
    ///
    /// ```no_run
    /// # fn demo(key: &p11::SecretKey) -> p11::Result<()> {
    /// use p11::mechanisms::GcmMessageParams;
    /// let mut records = key.message_encryptor()?;
    /// let (iv, mut tag) = ([1u8; 12], [0u8; 16]);
    /// let sealed = records.encrypt(&mut GcmMessageParams::new(&iv, &mut tag), b"header", b"record")?;
    /// records.finish()?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a key type without a default;
    /// [`Error::NotSupported`] on a module without PKCS#11 3.0; the module's error.
    pub fn message_encryptor(&self) -> Result<p11_core::MessageEncryptor> {
        self.message_encryptor_with(&self.message_mechanism()?)
    }

    /// Begins encrypting messages with `mechanism` (given without its per-message
    /// parameter).
    ///
    /// # Errors
    /// As [`message_encryptor`](Self::message_encryptor).
    pub fn message_encryptor_with(
        &self,
        mechanism: &Mechanism,
    ) -> Result<p11_core::MessageEncryptor> {
        self.session()
            .core()
            .begin_message_encrypt(mechanism, self.object())
    }

    /// Begins decrypting messages with the key type's AEAD.
    ///
    /// # Errors
    /// As [`message_encryptor`](Self::message_encryptor).
    pub fn message_decryptor(&self) -> Result<p11_core::MessageDecryptor> {
        self.message_decryptor_with(&self.message_mechanism()?)
    }

    /// Begins decrypting messages with `mechanism`.
    ///
    /// # Errors
    /// As [`message_encryptor`](Self::message_encryptor).
    pub fn message_decryptor_with(
        &self,
        mechanism: &Mechanism,
    ) -> Result<p11_core::MessageDecryptor> {
        self.session()
            .core()
            .begin_message_decrypt(mechanism, self.object())
    }
}

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

    /// The core value: local attributes, or the object on the token.
    pub fn core(&self) -> &p11_core::DomainParameters {
        &self.parameters
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
    /// Only p11's key kinds are [`KeyKind`](super::KeyKind)s.
    pub trait Made {
        /// The key value for an object p11 just made of this kind and `key_type`: no read.
        fn made(session: super::Session, object: super::Object, key_type: super::KeyType) -> Self;
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

/// What a key value is made with, read from the token in one call: its class, key type
/// and capabilities.
pub(crate) struct Facts {
    pub(crate) class: ObjectClass,
    /// `None` for an object that is no key.
    pub(crate) key_type: Option<KeyType>,
    pub(crate) capabilities: Capabilities,
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
        let class = match values.first() {
            Some(Some(AttributeValue::ObjectClass(class))) => *class,
            // No class in a bulk read: the module's own error, read alone.
            _ => object.get(A::CLASS)?,
        };
        let key_type = match values.get(1) {
            Some(Some(AttributeValue::KeyType(key_type))) => Some(*key_type),
            _ => None,
        };
        let capabilities = capabilities_of(values.get(2..).unwrap_or_default());
        Ok(Facts {
            class,
            key_type,
            capabilities,
        })
    }
}

/// A kind of key: secret, public or private. The facade returns it from searches and
/// unwrapping; the class is the type's.
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
    /// [`Error::InvalidArgument`] when `session` is on another token.
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
                    function: "C_GetAttributeValue",
                    what: "a key without a key type".into(),
                })?;
                Ok(Self {
                    session,
                    object,
                    key_type,
                    capabilities: OnceLock::from(facts.capabilities),
                })
            }
        }
    )*};
}

key_kind_class!(SecretKey => SECRET_KEY, PublicKey => PUBLIC_KEY, PrivateKey => PRIVATE_KEY);
