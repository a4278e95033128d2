//! Key encapsulation (PKCS#11 3.2): a new secret key sent to the holder of a private key
//! as a ciphertext (ML-KEM, RSA-KEM, ...).

use crate::call;
use crate::error::Result;
use crate::handle::ObjectHandle;
use crate::keys::mechanism_ptr;
use crate::object::Object;
use crate::operation::output_vec;
use crate::session::Session;
use crate::template::{ulong_len, RawTemplate, Template};
use crate::Function;
use p11_mechanisms::Mechanism;
use p11_sys::*;

impl Session {
    /// Makes a new secret key, described by `template`, for the holder of the private
    /// half of `public_key` (`C_EncapsulateKey`): the ciphertext to send them, and the
    /// key, here. They make the same key with
    /// [`decapsulate_key`](Self::decapsulate_key).
    ///
    /// ```no_run
    /// # fn demo(session: &p11_core::Session, public: &p11_core::Object) -> p11_core::Result<()> {
    /// use p11_core::{AttributeType as A, KeyType, Mechanism, MechanismType, ObjectClass, Template};
    /// let template = Template::new()
    ///     .with(A::CLASS, ObjectClass::SECRET_KEY)
    ///     .with(A::KEY_TYPE, KeyType::AES)
    ///     .with(A::VALUE_LEN, 32u64);
    /// let (ciphertext, key) =
    ///     session.encapsulate_key(&Mechanism::new(MechanismType::ML_KEM), public, &template)?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::NotSupported`](crate::Error::NotSupported) on a module without the
    /// PKCS#11 3.2 interface; the module's error from `C_EncapsulateKey`, or p11's when
    /// the session is gone or the answer is invalid (see `Error`).
    pub fn encapsulate_key(
        &self,
        mechanism: &Mechanism,
        public_key: &Object,
        template: &Template,
    ) -> Result<(Vec<u8>, Object)> {
        let raw_mechanism = mechanism.raw();
        let mut raw = RawTemplate::new(template, self.attribute_mapper())?;
        let mut handle = CK_INVALID_HANDLE;
        let gate = self.enter()?;
        let ciphertext = output_vec(Function::EncapsulateKey, None, |buffer, len| {
            // SAFETY: the mechanism and template are borrowed for the call and only read;
            // `buffer` is NULL (a length query, which makes no key) or writable for
            // `*len` bytes; `handle` is writable.
            unsafe {
                call!(
                    gate,
                    v3_2 C_EncapsulateKey(
                        self.raw_handle(),
                        mechanism_ptr(&raw_mechanism),
                        public_key.raw_handle(),
                        raw.as_mut_ptr(),
                        raw.count(),
                        buffer,
                        len,
                        &mut handle
                    )
                )
            }
        })
        .map_err(|e| e.with_mechanism(mechanism.mechanism_type()))?;
        drop(gate);
        Ok((ciphertext, self.object(ObjectHandle::from_ulong(handle))))
    }

    /// Makes the secret key that [`encapsulate_key`](Self::encapsulate_key) sent as
    /// `ciphertext` to the holder of `private_key`, described by `template`
    /// (`C_DecapsulateKey`).
    ///
    /// # Errors
    /// [`Error::NotSupported`](crate::Error::NotSupported) on a module without the
    /// PKCS#11 3.2 interface; the module's error from `C_DecapsulateKey`, or p11's when
    /// the session is gone or the answer is invalid (see `Error`).
    pub fn decapsulate_key(
        &self,
        mechanism: &Mechanism,
        private_key: &Object,
        ciphertext: &[u8],
        template: &Template,
    ) -> Result<Object> {
        let ty = mechanism.mechanism_type();
        let mechanism = mechanism.raw();
        let ciphertext_len = ulong_len(ciphertext.len(), "the ciphertext")?;
        self.new_object(template, |gate, attributes, count, handle| {
            // SAFETY: mechanism, ciphertext and template are only read during the call;
            // `handle` is writable.
            unsafe {
                call!(
                    gate,
                    v3_2 C_DecapsulateKey(
                        self.raw_handle(),
                        mechanism_ptr(&mechanism),
                        private_key.raw_handle(),
                        attributes,
                        count,
                        ciphertext.as_ptr() as CK_BYTE_PTR,
                        ciphertext_len,
                        handle
                    )
                )
            }
        })
        .map_err(|e| e.with_mechanism(ty))
    }
}
