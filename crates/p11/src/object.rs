//! Objects of any class, as python-pkcs11's `Object.from_handle` types them: what
//! searches and `create_object` return.

use crate::keys::{DomainParameters, Facts, PrivateKey, PublicKey, SecretKey};
use crate::session::Session;
use crate::util::Certificate;
use p11_core::{
    AttributeType as A, AttributeValue, FromAttribute, KeyType, ObjectClass, Result, Template, Uri,
};

/// An object, typed by its class (read with its key type in one call when found).
///
/// ```no_run
/// # fn demo(session: &p11::Session) -> p11::Result<()> {
/// use p11::{AttributeType as A, Key, Object, Template};
/// for object in session.get_objects(&Template::new().with(A::TOKEN, true))? {
///     match object {
///         Object::PrivateKey(key) => println!("private key {}", key.label()?),
///         Object::Certificate(cert) => println!("certificate until {:?}", cert.info()?.not_after),
///         _ => {}
///     }
/// }
/// # Ok(()) }
/// ```
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
        Object::with_facts(session, object, facts)
    }

    /// As [`new`](Self::new), for an object a search for `template` just found (what the
    /// template pins is not read again): `None` when it is gone since.
    pub(crate) fn found(
        session: &Session,
        object: p11_core::Object,
        template: &Template,
    ) -> Option<Result<Object>> {
        match Facts::found(&object, template) {
            Ok(Some(facts)) => Some(Object::with_facts(session, object, facts)),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    }

    fn with_facts(session: &Session, object: p11_core::Object, facts: Facts) -> Result<Object> {
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

    /// Its PKCS#11 URI (token, label, id and class), what other PKCS#11 software takes
    /// to find it.
    ///
    /// # Errors
    /// The module's error reading the token's information or the object's attributes.
    pub fn uri(&self) -> Result<Uri> {
        self.core().uri()
    }

    /// Several attributes in one call, each `None` where the object has no such
    /// attribute or the module will not reveal it (a sensitive value): for listing
    /// objects of every class, which have different attributes.
    ///
    /// # Errors
    /// The module's error other than for an attribute it lacks.
    pub fn get_present(&self, types: &[A]) -> Result<Vec<Option<AttributeValue>>> {
        self.core().get_present(types)
    }

    /// One attribute, typed (python's `object[Attribute.X]`).
    ///
    /// # Errors
    /// The module's error; [`Error::AttributeKind`](crate::Error::AttributeKind) when the
    /// value is of another kind.
    pub fn get<T: FromAttribute>(&self, ty: A) -> Result<T> {
        self.core().get(ty)
    }

    /// Changes attributes (python's `object[Attribute.X] = value`, `C_SetAttributeValue`).
    ///
    /// # Errors
    /// The module's error (`CKR_ATTRIBUTE_READ_ONLY`, ...).
    pub fn set_attributes(&self, changes: &Template) -> Result<()> {
        self.core().set_attributes(changes)
    }

    /// Destroys the object (python's `destroy`, `C_DestroyObject`).
    ///
    /// # Errors
    /// The module's error (`CKR_ACTION_PROHIBITED` for one that may not be destroyed).
    pub fn destroy(self) -> Result<()> {
        self.core().clone().destroy()
    }

    /// The core object underneath: the escape hatch to what the facade does not wrap.
    pub fn core(&self) -> &p11_core::Object {
        use crate::Key;
        match self {
            Object::SecretKey(key) => key.core(),
            Object::PublicKey(key) => key.core(),
            Object::PrivateKey(key) => key.core(),
            Object::Certificate(certificate) => certificate.core(),
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
