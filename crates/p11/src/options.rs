//! How objects are made: one option type for every call that creates a key or object
//! (generate, key pairs, unwrap, derive, copy, import, domain parameters, certificates),
//! and the templates p11 sends for it, as public functions (python's
//! `AttributeMapper.public_key_template`, `private_key_template`, `secret_key_template`).

use crate::defaults::{default_capabilities, Capabilities};
use p11_core::{AttributeType as A, KeyType, MechanismType, ObjectClass, Template};

/// Where a created object lives (python's `store=`).
///
/// ```no_run
/// # fn demo(session: &p11::Session) -> p11::Result<()> {
/// use p11::{KeyType, ObjectOptions, Storage};
/// // Gone when the session closes (the default)...
/// let scratch = session.generate_key(KeyType::AES, 128, &ObjectOptions::new())?;
/// // ...or kept on the token.
/// let options = ObjectOptions::new().label("archive").storage(Storage::Token);
/// let kept = session.generate_key(KeyType::AES, 256, &options)?;
/// # Ok(()) }
/// ```
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum Storage {
    /// A session object: gone when the session closes (`CKA_TOKEN` false).
    #[default]
    Session,
    /// A token object: kept on the token (`CKA_TOKEN` true).
    Token,
}

/// Options for an object p11 creates (python's keyword arguments `store`, `label`,
/// `id`, `capabilities`, `template`, `public_template`, `private_template`,
/// `mechanism`). The default: a session object, the key type's default capabilities,
/// no label or id, secret and private keys `SENSITIVE` and not `EXTRACTABLE`.
///
/// ```
/// use p11::{Capabilities, KeyType, ObjectOptions, Storage};
/// let options = ObjectOptions::new()
///     .storage(Storage::Token)
///     .label("signing")
///     .capabilities(Capabilities::SIGN | Capabilities::VERIFY);
/// // What p11 would send for the private half of a key pair:
/// let template = options.private_key_template(KeyType::EC);
/// assert_eq!(template.get(p11::AttributeType::SIGN), Some(&true.into()));
/// assert_eq!(template.get(p11::AttributeType::DERIVE), Some(&false.into()));
/// ```
#[derive(Clone, Debug, Default)]
pub struct ObjectOptions {
    storage: Option<Storage>,
    label: Option<String>,
    id: Option<Vec<u8>>,
    capabilities: Option<Capabilities>,
    template: Template,
    public_template: Template,
    private_template: Template,
    mechanism: Option<MechanismType>,
}

impl ObjectOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keep the object on the token, or in the session (the default).
    #[must_use]
    pub fn storage(mut self, storage: Storage) -> Self {
        self.storage = Some(storage);
        self
    }

    /// Give the object this label.
    #[must_use]
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Give the object this id.
    #[must_use]
    pub fn id(mut self, id: impl Into<Vec<u8>>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Capabilities instead of the key type's default ones.
    #[must_use]
    pub fn capabilities(mut self, capabilities: Capabilities) -> Self {
        self.capabilities = Some(capabilities);
        self
    }

    /// Attributes laid over the default template (of a secret key, of both halves of a
    /// key pair, of any other object); [`Template::without`] removes a default so the
    /// token decides (python's `DEFAULT`).
    #[must_use]
    pub fn template(mut self, template: Template) -> Self {
        self.template = template;
        self
    }

    /// Attributes for a public key only (python's `public_template`), laid over the rest.
    #[must_use]
    pub fn public_template(mut self, template: Template) -> Self {
        self.public_template = template;
        self
    }

    /// Attributes for a private key only (python's `private_template`), laid over the
    /// rest: `ALWAYS_AUTHENTICATE`, say, which a public key cannot carry.
    #[must_use]
    pub fn private_template(mut self, template: Template) -> Self {
        self.private_template = template;
        self
    }

    /// A generation mechanism instead of the key type's default.
    #[must_use]
    pub fn mechanism(mut self, mechanism: MechanismType) -> Self {
        self.mechanism = Some(mechanism);
        self
    }

    /// The generation mechanism asked for, if any.
    pub(crate) fn chosen_mechanism(&self) -> Option<MechanismType> {
        self.mechanism
    }

    /// An attribute of the public template, if set there.
    pub(crate) fn public_attribute(&self, ty: A) -> Option<&p11_core::AttributeValue> {
        self.public_template.get(ty)
    }

    /// Whether an id was asked for.
    pub(crate) fn has_id(&self) -> bool {
        self.id.is_some()
    }

    /// The template of a secret key of `key_type` (python's `secret_key_template`):
    /// class, key type, storage, label, id, `PRIVATE`, `SENSITIVE`, not `EXTRACTABLE`,
    /// every capability attribute, then [`template`](Self::template). A fresh template
    /// on each call.
    pub fn secret_key_template(&self, key_type: KeyType) -> Template {
        self.key_template(ObjectClass::SECRET_KEY, key_type)
    }

    /// The template of a public key of `key_type` (python's `public_key_template`):
    /// class, key type, storage, label, id, not `PRIVATE`, the public capabilities
    /// (`ENCRYPT`, `VERIFY`, `WRAP`), then [`template`](Self::template) and
    /// [`public_template`](Self::public_template).
    pub fn public_key_template(&self, key_type: KeyType) -> Template {
        self.key_template(ObjectClass::PUBLIC_KEY, key_type)
    }

    /// The template of a private key of `key_type` (python's `private_key_template`):
    /// class, key type, storage, label, id, `PRIVATE`, `SENSITIVE`, not `EXTRACTABLE`,
    /// the private capabilities (`DECRYPT`, `SIGN`, `UNWRAP`, `DERIVE`), then
    /// [`template`](Self::template) and [`private_template`](Self::private_template).
    pub fn private_key_template(&self, key_type: KeyType) -> Template {
        self.key_template(ObjectClass::PRIVATE_KEY, key_type)
    }

    /// The template of an object of `class` that is no key (a certificate, data, domain
    /// parameters): class, storage, label, id, then [`template`](Self::template).
    pub fn object_template(&self, class: ObjectClass) -> Template {
        self.common(Template::new().with(A::CLASS, class))
            .merge(&self.template)
    }

    /// The template of a key of `class`: the defaults of that class and key type, then
    /// what was asked for. Built in place: it is made for every key p11 makes.
    pub(crate) fn key_template(&self, class: ObjectClass, key_type: KeyType) -> Template {
        let mut template = Template::new();
        template.set(A::CLASS, class);
        template.set(A::KEY_TYPE, key_type);
        let mut template = self.common(template);
        if class == ObjectClass::PUBLIC_KEY {
            template.set(A::PRIVATE, false);
        } else {
            template.set(A::PRIVATE, true);
            template.set(A::SENSITIVE, true);
            template.set(A::EXTRACTABLE, false);
        }
        let (of, own) = self.of_class(class);
        if let Some(capabilities) = capabilities_or_defaults(self.capabilities, key_type) {
            set_capabilities(&mut template, capabilities, of);
        }
        self.asked(template, own)
    }

    /// Only what was asked for, for a copy of a key of `class`: the copy keeps the
    /// rest of the original's attributes.
    pub(crate) fn changes(&self, class: ObjectClass) -> Template {
        let mut template = self.label_and_id(Template::new());
        if let Some(storage) = self.storage {
            template.set(A::TOKEN, storage == Storage::Token);
        }
        let (of, own) = self.of_class(class);
        if let Some(capabilities) = self.capabilities {
            set_capabilities(&mut template, capabilities, of);
        }
        self.asked(template, own)
    }

    /// The capability attributes a key of `class` has, and the options' template for
    /// that class alone (secret keys have none).
    fn of_class(&self, class: ObjectClass) -> (&'static [(Capabilities, A)], Option<&Template>) {
        match class {
            ObjectClass::PUBLIC_KEY => (PUBLIC_CAPABILITIES, Some(&self.public_template)),
            ObjectClass::PRIVATE_KEY => (PRIVATE_CAPABILITIES, Some(&self.private_template)),
            _ => (SECRET_CAPABILITIES, None),
        }
    }

    /// `template` with the options' template and, where there is one, the class's own
    /// laid over it.
    fn asked(&self, template: Template, own: Option<&Template>) -> Template {
        let template = template.merge(&self.template);
        match own {
            Some(own) => template.merge(own),
            None => template,
        }
    }

    /// Storage (a session object unless asked), label and id laid over `template`.
    fn common(&self, mut template: Template) -> Template {
        template.set(A::TOKEN, self.storage.unwrap_or_default() == Storage::Token);
        self.label_and_id(template)
    }

    /// Label and id laid over `template`, where given.
    fn label_and_id(&self, mut template: Template) -> Template {
        if let Some(label) = &self.label {
            template.set(A::LABEL, label.as_str());
        }
        if let Some(id) = &self.id {
            template.set(A::ID, id.clone());
        }
        template
    }
}

/// The capabilities asked for, else the key type's defaults; `None` for a key type p11
/// has no defaults for.
pub(crate) fn capabilities_or_defaults(
    capabilities: Option<Capabilities>,
    key_type: KeyType,
) -> Option<Capabilities> {
    capabilities.or_else(|| default_capabilities(key_type))
}

/// The capability attributes `capabilities` sets, of the ones a key of this class can
/// have (`of`), laid over `template`. The PKCS#11 3.2 ones only when set: older modules
/// refuse attributes they do not know.
pub(crate) fn set_capabilities(
    template: &mut Template,
    capabilities: Capabilities,
    of: &[(Capabilities, A)],
) {
    for (capability, ty) in of {
        let set = capabilities.contains(*capability);
        if set || !Capabilities::PKCS11_3_2.contains(*capability) {
            template.set(*ty, set);
        }
    }
}

/// A secret key's: the classic seven (every capability but the 3.2 ones).
pub(crate) const SECRET_CAPABILITIES: &[(Capabilities, A)] = ALL_CAPABILITIES.split_at(7).0;
pub(crate) const PUBLIC_CAPABILITIES: &[(Capabilities, A)] = &[
    (Capabilities::ENCRYPT, A::ENCRYPT),
    (Capabilities::VERIFY, A::VERIFY),
    (Capabilities::WRAP, A::WRAP),
    (Capabilities::ENCAPSULATE, A::ENCAPSULATE),
];
pub(crate) const PRIVATE_CAPABILITIES: &[(Capabilities, A)] = &[
    (Capabilities::DECRYPT, A::DECRYPT),
    (Capabilities::SIGN, A::SIGN),
    (Capabilities::UNWRAP, A::UNWRAP),
    (Capabilities::DERIVE, A::DERIVE),
    (Capabilities::DECAPSULATE, A::DECAPSULATE),
];
/// Every capability and its attribute, for reading what a key of any class may do.
pub(crate) const ALL_CAPABILITIES: [(Capabilities, A); 9] = [
    (Capabilities::ENCRYPT, A::ENCRYPT),
    (Capabilities::DECRYPT, A::DECRYPT),
    (Capabilities::SIGN, A::SIGN),
    (Capabilities::VERIFY, A::VERIFY),
    (Capabilities::WRAP, A::WRAP),
    (Capabilities::UNWRAP, A::UNWRAP),
    (Capabilities::DERIVE, A::DERIVE),
    (Capabilities::ENCAPSULATE, A::ENCAPSULATE),
    (Capabilities::DECAPSULATE, A::DECAPSULATE),
];
