//! Objects of any class, as python-pkcs11's `Object.from_handle` types them: what
//! searches and `create_object` return.

use crate::keys::{DomainParameters, Facts, PrivateKey, PublicKey, SecretKey};
use crate::session::Session;
use crate::util::Certificate;
use p11_core::{KeyType, ObjectClass, Result};

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
        let facts = Facts::read(&object)?;
        let session = session.clone();
        Ok(match (facts.class, facts.key_type) {
            (ObjectClass::SECRET_KEY, Some(_)) => {
                Object::SecretKey(SecretKey::with_facts(session, object, facts)?)
            }
            (ObjectClass::PUBLIC_KEY, Some(_)) => {
                Object::PublicKey(PublicKey::with_facts(session, object, facts)?)
            }
            (ObjectClass::PRIVATE_KEY, Some(_)) => {
                Object::PrivateKey(PrivateKey::with_facts(session, object, facts)?)
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
