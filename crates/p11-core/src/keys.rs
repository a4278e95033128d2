//! Key management: generating keys, key pairs and domain parameters; wrapping,
//! unwrapping and deriving keys.

use crate::attribute::AttributeType;
use crate::call;
use crate::error::{Error, Result};
use crate::handle::ObjectHandle;
use crate::module::Gate;
use crate::object::Object;
use crate::operation::output_vec;
use crate::session::Session;
use crate::template::{ulong_len, RawTemplate, Template};
use crate::Function;
use p11_mechanisms::{KeyType, Mechanism};
use p11_sys::*;

/// A pointer to a mechanism for a call; modules only read it.
pub(crate) fn mechanism_ptr(mechanism: &CK_MECHANISM) -> CK_MECHANISM_PTR {
    mechanism as *const CK_MECHANISM as CK_MECHANISM_PTR
}

impl Session {
    /// Runs `make`, a call that creates one object from `template`, and returns it.
    pub(crate) fn new_object(
        &self,
        template: &Template,
        make: impl FnOnce(&Gate<'_>, CK_ATTRIBUTE_PTR, CK_ULONG, &mut CK_OBJECT_HANDLE) -> Result<()>,
    ) -> Result<Object> {
        let mut raw = RawTemplate::new(template, self.attribute_mapper())?;
        let mut handle = CK_INVALID_HANDLE;
        make(&self.enter()?, raw.as_mut_ptr(), raw.count(), &mut handle)?;
        Ok(self.object(ObjectHandle::from_ulong(handle)))
    }

    /// Generates a secret key, or domain parameters, with `mechanism` (`C_GenerateKey`).
    ///
    /// # Errors
    /// The module's error from `C_GenerateKey`, or p11's when the session is gone or the answer
    /// is invalid (see `Error`).
    pub fn generate_key(&self, mechanism: &Mechanism, template: &Template) -> Result<Object> {
        let ty = mechanism.mechanism_type();
        let mechanism = mechanism.raw();
        self.new_object(template, |gate, attributes, count, handle| {
            // SAFETY: the mechanism and template point into values borrowed for the call
            // and are only read (a GCM-style IV the module may write was lent mutably);
            // `handle` is writable.
            unsafe {
                call!(
                    gate,
                    C_GenerateKey(
                        self.raw_handle(),
                        mechanism_ptr(&mechanism),
                        attributes,
                        count,
                        handle
                    )
                )
            }
        })
        .map_err(|e| e.with_mechanism(ty))
    }

    /// Generates domain parameters for `key_type` with a parameter-generation mechanism
    /// (`DSA_PARAMETER_GEN`, `DH_PKCS_PARAMETER_GEN`, ...), as an object on the token
    /// (a session object unless `template` says `TOKEN`). `template` gives the size
    /// (`PRIME_BITS`).
    ///
    /// # Errors
    /// The module's error, or p11's when the session is gone or the answer is invalid
    /// (see `Error`).
    pub fn generate_domain_parameters(
        &self,
        key_type: KeyType,
        mechanism: &Mechanism,
        template: &Template,
    ) -> Result<DomainParameters> {
        let template = Template::new()
            .with(AttributeType::CLASS, crate::ObjectClass::DOMAIN_PARAMETERS)
            .with(AttributeType::KEY_TYPE, key_type)
            .merge(template);
        Ok(DomainParameters::Stored {
            key_type,
            object: self.generate_key(mechanism, &template)?,
        })
    }

    /// Generates a key pair (`C_GenerateKeyPair`): `(public, private)`.
    ///
    /// # Errors
    /// The module's error from `C_GenerateKeyPair`, or p11's when the session is gone or the answer
    /// is invalid (see `Error`).
    pub fn generate_keypair(
        &self,
        mechanism: &Mechanism,
        public: &Template,
        private: &Template,
    ) -> Result<(Object, Object)> {
        let ty = mechanism.mechanism_type();
        let mechanism = mechanism.raw();
        let mut public_raw = RawTemplate::new(public, self.attribute_mapper())?;
        let mut private_raw = RawTemplate::new(private, self.attribute_mapper())?;
        let (mut public_handle, mut private_handle) = (CK_INVALID_HANDLE, CK_INVALID_HANDLE);
        let gate = self.enter()?;
        // SAFETY: as for C_GenerateKey; both handles are writable.
        unsafe {
            call!(
                gate,
                C_GenerateKeyPair(
                    self.raw_handle(),
                    mechanism_ptr(&mechanism),
                    public_raw.as_mut_ptr(),
                    public_raw.count(),
                    private_raw.as_mut_ptr(),
                    private_raw.count(),
                    &mut public_handle,
                    &mut private_handle
                )
            )
        }
        .map_err(|e| e.with_mechanism(ty))?;
        Ok((
            self.object(ObjectHandle::from_ulong(public_handle)),
            self.object(ObjectHandle::from_ulong(private_handle)),
        ))
    }

    /// Wraps (encrypts) `key` with `wrapping_key` (`C_WrapKey`).
    ///
    /// # Errors
    /// The module's error from `C_WrapKey`, or p11's when the session is gone or the answer
    /// is invalid (see `Error`).
    pub fn wrap_key(
        &self,
        mechanism: &Mechanism,
        wrapping_key: &Object,
        key: &Object,
    ) -> Result<Vec<u8>> {
        let raw_mechanism = mechanism.raw();
        let gate = self.enter()?;
        output_vec(Function::WrapKey, None, |buffer, len| {
            // SAFETY: the mechanism is borrowed for the call; `buffer` is NULL (a length
            // query) or writable for `*len` bytes.
            unsafe {
                call!(
                    gate,
                    C_WrapKey(
                        self.raw_handle(),
                        mechanism_ptr(&raw_mechanism),
                        wrapping_key.raw_handle(),
                        key.raw_handle(),
                        buffer,
                        len
                    )
                )
            }
        })
        .map_err(|e| e.with_mechanism(mechanism.mechanism_type()))
    }

    /// Unwraps (decrypts) `wrapped` with `unwrapping_key` into a new key described by
    /// `template` (`C_UnwrapKey`).
    ///
    /// # Errors
    /// The module's error from `C_UnwrapKey`, or p11's when the session is gone or the answer
    /// is invalid (see `Error`).
    pub fn unwrap_key(
        &self,
        mechanism: &Mechanism,
        unwrapping_key: &Object,
        wrapped: &[u8],
        template: &Template,
    ) -> Result<Object> {
        let ty = mechanism.mechanism_type();
        let mechanism = mechanism.raw();
        let wrapped_len = ulong_len(wrapped.len(), "the wrapped key")?;
        self.new_object(template, |gate, attributes, count, handle| {
            // SAFETY: mechanism, wrapped bytes and template are only read during the call;
            // `handle` is writable.
            unsafe {
                call!(
                    gate,
                    C_UnwrapKey(
                        self.raw_handle(),
                        mechanism_ptr(&mechanism),
                        unwrapping_key.raw_handle(),
                        wrapped.as_ptr() as CK_BYTE_PTR,
                        wrapped_len,
                        attributes,
                        count,
                        handle
                    )
                )
            }
        })
        .map_err(|e| e.with_mechanism(ty))
    }

    /// Wraps `key` with `wrapping_key`, authenticating `associated_data` with it
    /// (`C_WrapKeyAuthenticated`, PKCS#11 3.2; an AEAD such as AES-GCM with its
    /// parameter).
    ///
    /// # Errors
    /// [`Error::NotSupported`](crate::Error::NotSupported) on a module without the 3.2
    /// interface; the module's error, or p11's when the session is gone or the answer is
    /// invalid.
    pub fn wrap_key_authenticated(
        &self,
        mechanism: &Mechanism,
        wrapping_key: &Object,
        key: &Object,
        associated_data: &[u8],
    ) -> Result<Vec<u8>> {
        let raw_mechanism = mechanism.raw();
        let (aad, aad_len) = crate::operation::input(associated_data)?;
        let gate = self.enter()?;
        output_vec(Function::WrapKeyAuthenticated, None, |buffer, len| {
            // SAFETY: the mechanism and the associated data are borrowed for the call and
            // only read; `buffer` is NULL (a length query) or writable for `*len` bytes.
            unsafe {
                call!(
                    gate,
                    v3_2 C_WrapKeyAuthenticated(
                        self.raw_handle(),
                        mechanism_ptr(&raw_mechanism),
                        wrapping_key.raw_handle(),
                        key.raw_handle(),
                        aad,
                        aad_len,
                        buffer,
                        len
                    )
                )
            }
        })
        .map_err(|e| e.with_mechanism(mechanism.mechanism_type()))
    }

    /// Unwraps `wrapped` with `unwrapping_key` into a new key described by `template`,
    /// checking the `associated_data` it was wrapped with (`C_UnwrapKeyAuthenticated`,
    /// PKCS#11 3.2).
    ///
    /// # Errors
    /// As [`wrap_key_authenticated`](Self::wrap_key_authenticated); the module's error
    /// for a wrapped key or associated data that was tampered with.
    pub fn unwrap_key_authenticated(
        &self,
        mechanism: &Mechanism,
        unwrapping_key: &Object,
        wrapped: &[u8],
        template: &Template,
        associated_data: &[u8],
    ) -> Result<Object> {
        let ty = mechanism.mechanism_type();
        let mechanism = mechanism.raw();
        let wrapped_len = ulong_len(wrapped.len(), "the wrapped key")?;
        let (aad, aad_len) = crate::operation::input(associated_data)?;
        self.new_object(template, |gate, attributes, count, handle| {
            // SAFETY: mechanism, wrapped bytes, associated data and template are only read
            // during the call; `handle` is writable.
            unsafe {
                call!(
                    gate,
                    v3_2 C_UnwrapKeyAuthenticated(
                        self.raw_handle(),
                        mechanism_ptr(&mechanism),
                        unwrapping_key.raw_handle(),
                        wrapped.as_ptr() as CK_BYTE_PTR,
                        wrapped_len,
                        attributes,
                        count,
                        aad,
                        aad_len,
                        handle
                    )
                )
            }
        })
        .map_err(|e| e.with_mechanism(ty))
    }

    /// Derives a new key from `base_key` (`C_DeriveKey`).
    ///
    /// # Errors
    /// The module's error from `C_DeriveKey`, or p11's when the session is gone or the answer
    /// is invalid (see `Error`).
    pub fn derive_key(
        &self,
        mechanism: &Mechanism,
        base_key: &Object,
        template: &Template,
    ) -> Result<Object> {
        let ty = mechanism.mechanism_type();
        let mechanism = mechanism.raw();
        self.new_object(template, |gate, attributes, count, handle| {
            // SAFETY: as for C_UnwrapKey.
            unsafe {
                call!(
                    gate,
                    C_DeriveKey(
                        self.raw_handle(),
                        mechanism_ptr(&mechanism),
                        base_key.raw_handle(),
                        attributes,
                        count,
                        handle
                    )
                )
            }
        })
        .map_err(|e| e.with_mechanism(ty))
    }
}

/// Domain parameters (DSA, DH, X9.42 DH, EC): kept in the program, never sent to the
/// token on their own, or stored on it as an object.
#[derive(Clone, Debug)]
pub enum DomainParameters {
    /// Parameters held here: the attributes (`PRIME`, `SUBPRIME`, `BASE`, `EC_PARAMS`, ...)
    /// that go into a public-key template.
    Local {
        /// The key type they are for.
        key_type: KeyType,
        /// The parameter attributes.
        attributes: Template,
    },
    /// A `CKO_DOMAIN_PARAMETERS` object on the token.
    Stored {
        /// The key type they are for.
        key_type: KeyType,
        /// The object.
        object: Object,
    },
}

impl DomainParameters {
    /// The parameter attributes of each key type.
    pub fn attribute_types(key_type: KeyType) -> &'static [AttributeType] {
        match key_type {
            KeyType::DSA | KeyType::X9_42_DH => &[
                AttributeType::PRIME,
                AttributeType::SUBPRIME,
                AttributeType::BASE,
            ],
            KeyType::DH => &[AttributeType::PRIME, AttributeType::BASE],
            KeyType::EC | KeyType::EC_EDWARDS | KeyType::EC_MONTGOMERY => {
                &[AttributeType::EC_PARAMS]
            }
            _ => &[],
        }
    }

    /// The key type they are for.
    pub fn key_type(&self) -> KeyType {
        match self {
            Self::Local { key_type, .. } | Self::Stored { key_type, .. } => *key_type,
        }
    }

    /// The parameter attributes (read from the token for stored ones).
    ///
    /// # Errors
    /// The module's error, or p11's when the session is gone or the answer is invalid
    /// (see `Error`).
    pub fn attributes(&self) -> Result<Template> {
        match self {
            Self::Local { attributes, .. } => Ok(attributes.clone()),
            Self::Stored { key_type, object } => {
                let types = Self::attribute_types(*key_type);
                if types.is_empty() {
                    return Err(Error::KeyTypeUnsupported {
                        key_type: *key_type,
                        action: "read the domain parameters of",
                    });
                }
                let values = object.get_attributes(types)?;
                types
                    .iter()
                    .zip(values)
                    .map(|(ty, value)| value.map(|v| (*ty, v)))
                    .collect()
            }
        }
    }

    /// Stores local parameters on the token as a `CKO_DOMAIN_PARAMETERS` object (with the
    /// extra attributes in `template`, such as `TOKEN` and `LABEL`).
    ///
    /// # Errors
    /// The module's error, or p11's when the session is gone or the answer is invalid
    /// (see `Error`).
    pub fn store(&self, session: &Session, template: &Template) -> Result<DomainParameters> {
        let object_template = Template::new()
            .with(AttributeType::CLASS, crate::ObjectClass::DOMAIN_PARAMETERS)
            .with(AttributeType::KEY_TYPE, self.key_type())
            .merge(&self.attributes()?)
            .merge(template);
        Ok(Self::Stored {
            key_type: self.key_type(),
            object: session.create_object(&object_template)?,
        })
    }

    /// Generates a key pair from these parameters: they are added to the public template.
    ///
    /// # Errors
    /// The module's error, or p11's when the session is gone or the answer is invalid
    /// (see `Error`).
    pub fn generate_keypair(
        &self,
        session: &Session,
        mechanism: &Mechanism,
        public: &Template,
        private: &Template,
    ) -> Result<(Object, Object)> {
        let public = self.attributes()?.merge(public);
        session.generate_keypair(mechanism, &public, private)
    }
}
