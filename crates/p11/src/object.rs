//! Objects of any class, as python-pkcs11's `Object.from_handle` types them: what
//! searches and `create_object` return.

use crate::keys::{DomainParameters, PrivateKey, PublicKey, SecretKey};
use crate::session::Session;
use crate::util::Certificate;
use p11_core::{AttributeType as A, AttributeValue, KeyType, ObjectClass, Result};

/// An object, typed by its class (read with its key type in one call when found).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Object {
    /// A secret key.
    SecretKey(SecretKey),
    /// A public key.
    PublicKey(PublicKey),
    /// A private key.
    PrivateKey(PrivateKey),
    /// A certificate.
    Certificate(Certificate),
    /// Domain parameters on the token.
    DomainParameters {
        /// The parameters.
        parameters: DomainParameters,
        /// Their object.
        object: p11_core::Object,
    },
    /// Any other object (data, hardware features, vendor classes): the core object.
    Other(p11_core::Object),
}

impl Object {
    /// Types `object` by its class, read together with its key type.
    ///
    /// # Errors
    /// The module's error reading the class.
    pub fn new(session: &Session, object: p11_core::Object) -> Result<Object> {
        let mut values = object.get_attributes(&[A::CLASS, A::KEY_TYPE])?.into_iter();
        let class = match values.next() {
            Some(Ok(AttributeValue::ObjectClass(class))) => class,
            Some(Err(e)) => return Err(e),
            _ => return Ok(Object::Other(object)),
        };
        let key_type = match values.next() {
            Some(Ok(AttributeValue::KeyType(key_type))) => Some(key_type),
            _ => None,
        };
        let session = session.clone();
        Ok(match (class, key_type) {
            (ObjectClass::SECRET_KEY, Some(kt)) => {
                Object::SecretKey(SecretKey::new(session, object, kt))
            }
            (ObjectClass::PUBLIC_KEY, Some(kt)) => {
                Object::PublicKey(PublicKey::new(session, object, kt))
            }
            (ObjectClass::PRIVATE_KEY, Some(kt)) => {
                Object::PrivateKey(PrivateKey::new(session, object, kt))
            }
            (ObjectClass::DOMAIN_PARAMETERS, Some(key_type)) => Object::DomainParameters {
                parameters: DomainParameters::new(
                    session,
                    p11_core::DomainParameters::Stored {
                        key_type,
                        object: object.clone(),
                    },
                ),
                object,
            },
            (ObjectClass::CERTIFICATE, _) => Object::Certificate(Certificate::new(object)),
            _ => Object::Other(object),
        })
    }

    /// The core object underneath.
    pub fn core(&self) -> &p11_core::Object {
        use crate::Key;
        match self {
            Object::SecretKey(key) => key.object(),
            Object::PublicKey(key) => key.object(),
            Object::PrivateKey(key) => key.object(),
            Object::Certificate(certificate) => certificate.object(),
            Object::DomainParameters { object, .. } => object,
            Object::Other(object) => object,
        }
    }

    /// The key type, for keys.
    pub fn key_type(&self) -> Option<KeyType> {
        use crate::Key;
        match self {
            Object::SecretKey(key) => Some(key.key_type()),
            Object::PublicKey(key) => Some(key.key_type()),
            Object::PrivateKey(key) => Some(key.key_type()),
            _ => None,
        }
    }
}
