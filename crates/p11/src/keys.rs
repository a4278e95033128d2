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

use crate::defaults::{key_defaults, KeyDefaults};
use crate::session::Session;
use crate::signing;
use p11_core::mechanisms::{Parameter, ParameterKind};
use p11_core::{
    AttributeType as A, AttributeValue, Cipher, Error, KeyType, Mechanism, MechanismType, Object,
    ObjectClass, Pin, Result, Signer, Template, Verifier,
};

/// What every key has.
pub trait Key {
    /// The key object.
    fn object(&self) -> &Object;
    /// Its key type.
    fn key_type(&self) -> KeyType;
    /// The session it is used through.
    fn session(&self) -> &Session;

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

    /// One attribute (python's `key[Attribute.X]`).
    fn get(&self, ty: A) -> Result<AttributeValue> {
        self.object().get_attribute(ty)
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

/// Encryption: secret and public keys.
pub trait Encrypt: Key + Sized {
    /// Encrypts with the default mechanism (RSA: OAEP with SHA-1).
    fn encrypt(&self, data: &[u8]) -> Result<Vec<u8>> {
        self.encrypt_param(data, Parameter::None)
    }

    /// Encrypts with the default mechanism and this parameter (AES/DES3: the IV).
    fn encrypt_param<'a>(&self, data: &[u8], param: impl Into<Parameter<'a>>) -> Result<Vec<u8>> {
        let mechanism = default_mechanism(self, "encryption", |d| d.encrypt, param.into())?;
        self.encrypt_with(data, &mechanism)
    }

    /// Encrypts with any mechanism.
    fn encrypt_with(&self, data: &[u8], mechanism: &Mechanism) -> Result<Vec<u8>> {
        self.session()
            .core()
            .encrypt(mechanism, self.object(), data)
    }

    /// A streaming encryption with the default mechanism and `param`: feed it chunks
    /// ([`Cipher::stream`], python's `encrypt(iterable)`), or use it as an `io::Write`
    /// ([`Cipher::writer`]) or `io::Read` ([`Cipher::reader`]).
    fn encryptor<'a>(&'a self, param: impl Into<Parameter<'a>>) -> Result<Cipher> {
        let mechanism = default_mechanism(self, "encryption", |d| d.encrypt, param.into())?;
        self.encryptor_with(&mechanism)
    }

    /// A streaming encryption with any mechanism.
    fn encryptor_with(&self, mechanism: &Mechanism) -> Result<Cipher> {
        self.session()
            .core()
            .begin_encrypt(mechanism, self.object())
    }
}

/// Decryption: secret and private keys.
pub trait Decrypt: Key + Sized {
    /// Decrypts with the default mechanism.
    fn decrypt(&self, data: &[u8]) -> Result<Vec<u8>> {
        self.decrypt_param(data, Parameter::None)
    }

    /// Decrypts with the default mechanism and this parameter (AES/DES3: the IV).
    fn decrypt_param<'a>(&self, data: &[u8], param: impl Into<Parameter<'a>>) -> Result<Vec<u8>> {
        let mechanism = default_mechanism(self, "encryption", |d| d.encrypt, param.into())?;
        self.decrypt_with(data, &mechanism)
    }

    /// Decrypts with any mechanism.
    fn decrypt_with(&self, data: &[u8], mechanism: &Mechanism) -> Result<Vec<u8>> {
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
        let mechanism = default_mechanism(self, "encryption", |d| d.encrypt, Parameter::None)?;
        self.session()
            .core()
            .decrypt_with_pin(&mechanism, self.object(), data, pin)
    }

    /// A streaming decryption with the default mechanism and `param`.
    fn decryptor<'a>(&'a self, param: impl Into<Parameter<'a>>) -> Result<Cipher> {
        let mechanism = default_mechanism(self, "encryption", |d| d.encrypt, param.into())?;
        self.decryptor_with(&mechanism)
    }

    /// A streaming decryption with any mechanism.
    fn decryptor_with(&self, mechanism: &Mechanism) -> Result<Cipher> {
        self.session()
            .core()
            .begin_decrypt(mechanism, self.object())
    }
}

/// Signing (and MACs): secret and private keys.
pub trait Sign: Key + Sized {
    /// Signs with the default mechanism. Where the token lacks a hash-and-sign mechanism
    /// but has the hash and the raw signature, they are composed (see [`signing`]).
    fn sign(&self, data: &[u8]) -> Result<Vec<u8>> {
        self.sign_param(data, Parameter::None)
    }

    /// Signs with the default mechanism and this parameter.
    fn sign_param<'a>(&self, data: &[u8], param: impl Into<Parameter<'a>>) -> Result<Vec<u8>> {
        let mechanism = default_mechanism(self, "signing", |d| d.sign, param.into())?;
        self.sign_with(data, &mechanism)
    }

    /// Signs with any mechanism (composed where the token lacks it and can).
    fn sign_with(&self, data: &[u8], mechanism: &Mechanism) -> Result<Vec<u8>> {
        signing::sign(self.session(), mechanism, self.object(), data, None)
    }

    /// Signs with the default mechanism, with the PIN a key marked
    /// `ALWAYS_AUTHENTICATE` asks for on every use (python's `sign(..., pin=)`);
    /// composed as [`sign`](Self::sign) is.
    ///
    /// # Errors
    /// The module's error, `CKR_PIN_INCORRECT` among them.
    fn sign_with_pin(&self, data: &[u8], pin: impl Into<Pin>) -> Result<Vec<u8>> {
        let mechanism = default_mechanism(self, "signing", |d| d.sign, Parameter::None)?;
        let pin = pin.into();
        signing::sign(self.session(), &mechanism, self.object(), data, Some(&pin))
    }

    /// Signs the concatenation of `chunks` with the default mechanism, in parts
    /// (python's `sign(iterable)`).
    fn sign_chunks<I>(&self, chunks: I) -> Result<Vec<u8>>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let mechanism = default_mechanism(self, "signing", |d| d.sign, Parameter::None)?;
        signing::sign_chunks(self.session(), &mechanism, self.object(), chunks)
    }

    /// A streaming signature with any mechanism the token has (also an `io::Write`).
    fn signer_with(&self, mechanism: &Mechanism) -> Result<Signer> {
        self.session().core().begin_sign(mechanism, self.object())
    }
}

/// Verification: secret and public keys.
pub trait Verify: Key + Sized {
    /// Verifies with the default mechanism: `Ok(false)` for a wrong signature.
    fn verify(&self, data: &[u8], signature: &[u8]) -> Result<bool> {
        self.verify_param(data, signature, Parameter::None)
    }

    /// Verifies with the default mechanism and this parameter.
    fn verify_param<'a>(
        &self,
        data: &[u8],
        signature: &[u8],
        param: impl Into<Parameter<'a>>,
    ) -> Result<bool> {
        let mechanism = default_mechanism(self, "signing", |d| d.sign, param.into())?;
        self.verify_with(data, signature, &mechanism)
    }

    /// Verifies with any mechanism (composed where the token lacks it and can).
    fn verify_with(&self, data: &[u8], signature: &[u8], mechanism: &Mechanism) -> Result<bool> {
        signing::verify(self.session(), mechanism, self.object(), data, signature)
    }

    /// Verifies `signature` over the concatenation of `chunks` with the default
    /// mechanism, in parts (python's `verify(iterable, signature)`).
    fn verify_chunks<I>(&self, chunks: I, signature: &[u8]) -> Result<bool>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let mechanism = default_mechanism(self, "signing", |d| d.sign, Parameter::None)?;
        signing::verify_chunks(self.session(), &mechanism, self.object(), chunks, signature)
    }

    /// A streaming verification with any mechanism the token has (also an `io::Write`).
    fn verifier_with(&self, mechanism: &Mechanism) -> Result<Verifier> {
        self.session().core().begin_verify(mechanism, self.object())
    }
}

/// Wrapping other keys: secret and public keys.
pub trait Wrap: Key + Sized {
    /// Wraps `key` with the default mechanism (AES: AES_KEY_WRAP, RSA: OAEP).
    fn wrap_key(&self, key: &dyn Key) -> Result<Vec<u8>> {
        let mechanism = default_mechanism(self, "wrapping", |d| d.wrap, Parameter::None)?;
        self.wrap_key_with(key, &mechanism)
    }

    /// Wraps `key` with any mechanism.
    fn wrap_key_with(&self, key: &dyn Key, mechanism: &Mechanism) -> Result<Vec<u8>> {
        self.session()
            .core()
            .wrap_key(mechanism, self.object(), key.object())
    }
}

/// Unwrapping keys: secret and private keys.
pub trait Unwrap: Key + Sized {
    /// Unwraps a secret key of `key_type` with the default mechanism; it is
    /// `SENSITIVE` and not `EXTRACTABLE` unless `template` says otherwise.
    fn unwrap_key(
        &self,
        key_type: KeyType,
        wrapped: &[u8],
        template: &Template,
    ) -> Result<SecretKey> {
        let mechanism = default_mechanism(self, "wrapping", |d| d.wrap, Parameter::None)?;
        self.unwrap_key_with(key_type, wrapped, template, &mechanism)
    }

    /// Unwraps with any mechanism.
    fn unwrap_key_with(
        &self,
        key_type: KeyType,
        wrapped: &[u8],
        template: &Template,
        mechanism: &Mechanism,
    ) -> Result<SecretKey> {
        let template = Template::new()
            .with(A::CLASS, ObjectClass::SECRET_KEY)
            .with(A::KEY_TYPE, key_type)
            .with(A::SENSITIVE, true)
            .with(A::EXTRACTABLE, false)
            .merge(template);
        let object =
            self.session()
                .core()
                .unwrap_key(mechanism, self.object(), wrapped, &template)?;
        Ok(SecretKey::new(self.session().clone(), object, key_type))
    }
}

/// Deriving keys: secret and private keys.
pub trait Derive: Key + Sized {
    /// Derives a secret key of `key_type` and `bits` with the default mechanism and its
    /// parameter (DH: the other party's public value; ECDH: [`Ecdh1DeriveParams`]).
    ///
    /// [`Ecdh1DeriveParams`]: p11_core::mechanisms::Ecdh1DeriveParams
    fn derive_key<'a>(
        &self,
        key_type: KeyType,
        bits: usize,
        param: impl Into<Parameter<'a>>,
        template: &Template,
    ) -> Result<SecretKey> {
        let mechanism = default_mechanism(self, "derivation", |d| d.derive, param.into())?;
        self.derive_key_with(key_type, bits, template, &mechanism)
    }

    /// Derives with any mechanism.
    fn derive_key_with(
        &self,
        key_type: KeyType,
        bits: usize,
        template: &Template,
        mechanism: &Mechanism,
    ) -> Result<SecretKey> {
        let mut defaults = Template::new()
            .with(A::CLASS, ObjectClass::SECRET_KEY)
            .with(A::KEY_TYPE, key_type)
            .with(A::SENSITIVE, true)
            .with(A::EXTRACTABLE, false);
        if !matches!(key_type, KeyType::DES2 | KeyType::DES3) {
            defaults.set(A::VALUE_LEN, (bits / 8) as u64);
        }
        let object = self.session().core().derive_key(
            mechanism,
            self.object(),
            &defaults.merge(template),
        )?;
        Ok(SecretKey::new(self.session().clone(), object, key_type))
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
        }

        impl $name {
            pub(crate) fn new(session: Session, object: Object, key_type: KeyType) -> Self {
                Self { session, object, key_type }
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
        }

        $(impl $cap for $name {})*
    };
}

key_kind!(
    /// A secret key (AES, DES3, generic secret, ...): every capability.
    SecretKey: Encrypt, Decrypt, Sign, Verify, Wrap, Unwrap, Derive
);
key_kind!(
    /// The public half of a key pair: encrypt, verify, wrap.
    PublicKey: Encrypt, Verify, Wrap
);
key_kind!(
    /// The private half of a key pair: decrypt, sign, unwrap, derive.
    PrivateKey: Decrypt, Sign, Unwrap, Derive
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

    /// A key pair from these parameters, with the key type's defaults.
    pub fn generate_keypair(&self, options: &crate::KeyOptions) -> Result<(PublicKey, PrivateKey)> {
        self.session.generate_keypair_from(
            self.parameters.key_type(),
            &self.parameters.attributes()?,
            options,
        )
    }
}

/// A kind of key the facade can return from a search.
pub trait KeyKind: Key + Sized {
    /// The object class of this kind.
    const CLASS: ObjectClass;

    /// Wraps an object of this kind (its key type read from the token).
    fn from_object(session: Session, object: Object) -> Result<Self>;
}

macro_rules! key_kind_class {
    ($($name:ident => $class:ident),*) => {$(
        impl KeyKind for $name {
            const CLASS: ObjectClass = ObjectClass::$class;

            fn from_object(session: Session, object: Object) -> Result<Self> {
                let (class, key_type): (ObjectClass, KeyType) =
                    object.get_all([A::CLASS, A::KEY_TYPE])?;
                if class != ObjectClass::$class {
                    return Err(Error::WrongClass {
                        expected: ObjectClass::$class,
                        actual: class,
                    });
                }
                Ok($name::new(session, object, key_type))
            }
        }
    )*};
}

key_kind_class!(SecretKey => SECRET_KEY, PublicKey => PUBLIC_KEY, PrivateKey => PRIVATE_KEY);
