//! Sessions: key generation with python-pkcs11's defaults and secure templates, domain
//! parameters, searching, random and digests.

use crate::defaults::{key_defaults, Capabilities, KeyDefaults};
use crate::keys::{DomainParameters, KeyKind, PrivateKey, PublicKey, SecretKey};
use p11_asn1::ec::EcParameters;
use p11_core::{
    AttributeType as A, Error, KeyType, Mechanism, MechanismType, ObjectClass, Result, Template,
};
use std::sync::{Arc, OnceLock};

/// A session on a token (python-pkcs11's `Session`). Cheap to clone and `Send + Sync`:
/// share it between threads; keys made or found through it keep it open.
#[derive(Clone, Debug)]
pub struct Session {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    session: p11_core::Session,
    /// What the login at opening did, when there was one.
    login: Option<p11_core::Login>,
    /// The token's mechanisms, read once when first needed (portable signing).
    mechanisms: OnceLock<Vec<MechanismType>>,
}

/// What [`Session::get_key`] and [`Session::get_keys`] look for: any of key type,
/// label, id, capabilities and other attributes (python's `get_key(key_type=, label=,
/// id=, **attrs)`). The class comes from the kind of key asked for.
#[derive(Clone, Debug, Default)]
pub struct KeyQuery {
    key_type: Option<KeyType>,
    label: Option<String>,
    id: Option<Vec<u8>>,
    capabilities: Option<Capabilities>,
    attributes: Template,
}

impl KeyQuery {
    /// Any key of the kind asked for.
    pub fn new() -> Self {
        Self::default()
    }

    /// Of this key type.
    pub fn key_type(mut self, key_type: KeyType) -> Self {
        self.key_type = Some(key_type);
        self
    }

    /// With this label.
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// With this id.
    pub fn id(mut self, id: impl Into<Vec<u8>>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Able to do all of these ("the RSA key that can sign"): each sets its attribute
    /// (`SIGN`, `DECRYPT`, ...) to true in the search.
    pub fn capable_of(mut self, capabilities: Capabilities) -> Self {
        self.capabilities = Some(self.capabilities.unwrap_or(Capabilities::empty()) | capabilities);
        self
    }

    /// With these attribute values too.
    pub fn attributes(mut self, attributes: Template) -> Self {
        self.attributes = attributes;
        self
    }

    fn template(&self) -> Template {
        let mut template = Template::new();
        if let Some(key_type) = self.key_type {
            template.set(A::KEY_TYPE, key_type);
        }
        let wanted = self.capabilities.unwrap_or(Capabilities::empty());
        for (capability, ty) in SECRET_CAPABILITIES {
            if wanted.contains(*capability) {
                template.set(*ty, true);
            }
        }
        with_label_and_id(template, &self.label, &self.id).merge(&self.attributes)
    }
}

/// `template` with the label and id, where given.
fn with_label_and_id(
    mut template: Template,
    label: &Option<String>,
    id: &Option<Vec<u8>>,
) -> Template {
    if let Some(label) = label {
        template.set(A::LABEL, label.as_str());
    }
    if let Some(id) = id {
        template.set(A::ID, id.clone());
    }
    template
}

/// Options for generating a key or key pair (python's keyword arguments).
#[derive(Clone, Debug, Default)]
pub struct KeyOptions {
    store: bool,
    label: Option<String>,
    id: Option<Vec<u8>>,
    capabilities: Option<Capabilities>,
    template: Template,
    public_template: Template,
    private_template: Template,
    mechanism: Option<MechanismType>,
}

impl KeyOptions {
    /// Session keys, the key type's default capabilities, no label or id.
    pub fn new() -> Self {
        Self::default()
    }

    /// Store the key on the token (`CKA_TOKEN`), rather than for the session only.
    pub fn store(mut self) -> Self {
        self.store = true;
        self
    }

    /// Give the key this label.
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Give the key this id.
    pub fn id(mut self, id: impl Into<Vec<u8>>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Capabilities instead of the key type's default ones.
    pub fn capabilities(mut self, capabilities: Capabilities) -> Self {
        self.capabilities = Some(capabilities);
        self
    }

    /// Attributes laid over the default template (of a secret key, or of both halves of
    /// a key pair); [`Template::without`] removes a default so the token decides
    /// (python's `DEFAULT`).
    pub fn template(mut self, template: Template) -> Self {
        self.template = template;
        self
    }

    /// Attributes for the public half of a key pair only (python's `public_template`),
    /// laid over the rest.
    pub fn public_template(mut self, template: Template) -> Self {
        self.public_template = template;
        self
    }

    /// Attributes for the private half of a key pair only (python's
    /// `private_template`), laid over the rest: `ALWAYS_AUTHENTICATE`, say, which a
    /// public key cannot carry.
    pub fn private_template(mut self, template: Template) -> Self {
        self.private_template = template;
        self
    }

    /// A generation mechanism instead of the key type's default.
    pub fn mechanism(mut self, mechanism: MechanismType) -> Self {
        self.mechanism = Some(mechanism);
        self
    }
}

fn defaults(key_type: KeyType) -> Result<KeyDefaults> {
    key_defaults(key_type).ok_or_else(|| {
        Error::InvalidArgument(
            format!("p11 has no defaults for {key_type}: give a mechanism").into(),
        )
    })
}

/// The capability attributes `wanted` sets, of the ones a key of this class can have.
pub(crate) fn capability_template(
    capabilities: Capabilities,
    of: &[(Capabilities, A)],
) -> Template {
    of.iter()
        .map(|(capability, ty)| (*ty, capabilities.contains(*capability).into()))
        .collect()
}

const SECRET_CAPABILITIES: &[(Capabilities, A)] = &[
    (Capabilities::ENCRYPT, A::ENCRYPT),
    (Capabilities::DECRYPT, A::DECRYPT),
    (Capabilities::SIGN, A::SIGN),
    (Capabilities::VERIFY, A::VERIFY),
    (Capabilities::WRAP, A::WRAP),
    (Capabilities::UNWRAP, A::UNWRAP),
    (Capabilities::DERIVE, A::DERIVE),
];
pub(crate) const PUBLIC_CAPABILITIES: &[(Capabilities, A)] = &[
    (Capabilities::ENCRYPT, A::ENCRYPT),
    (Capabilities::VERIFY, A::VERIFY),
    (Capabilities::WRAP, A::WRAP),
];
pub(crate) const PRIVATE_CAPABILITIES: &[(Capabilities, A)] = &[
    (Capabilities::DECRYPT, A::DECRYPT),
    (Capabilities::SIGN, A::SIGN),
    (Capabilities::UNWRAP, A::UNWRAP),
    (Capabilities::DERIVE, A::DERIVE),
];

impl KeyOptions {
    /// What every generated object of `class` gets: TOKEN, label, id.
    fn common(&self, class: ObjectClass, key_type: KeyType) -> Template {
        let template = Template::new()
            .with(A::CLASS, class)
            .with(A::KEY_TYPE, key_type)
            .with(A::TOKEN, self.store);
        with_label_and_id(template, &self.label, &self.id)
    }

    /// Secret and private keys: PRIVATE, SENSITIVE, not EXTRACTABLE, unless overridden.
    fn secret(template: Template) -> Template {
        template
            .with(A::PRIVATE, true)
            .with(A::SENSITIVE, true)
            .with(A::EXTRACTABLE, false)
    }
}

/// A core session as a facade one (no login recorded: [`Session::login`] is `None`).
impl From<p11_core::Session> for Session {
    fn from(session: p11_core::Session) -> Self {
        Session::new(session, None)
    }
}

impl From<Session> for p11_core::Session {
    fn from(session: Session) -> Self {
        session.core().clone()
    }
}

impl Session {
    pub(crate) fn new(session: p11_core::Session, login: Option<p11_core::Login>) -> Session {
        Session {
            inner: Arc::new(Inner {
                session,
                login,
                mechanisms: OnceLock::new(),
            }),
        }
    }

    /// What the login at opening did: [`Login::Checked`](p11_core::Login::Checked) when the
    /// module checked the PIN, [`Login::AlreadyLoggedIn`](p11_core::Login::AlreadyLoggedIn)
    /// when another session had logged the token in (then the PIN was not checked);
    /// `None` when no login was asked for.
    pub fn login(&self) -> Option<p11_core::Login> {
        self.inner.login
    }

    /// The core session, for everything the facade does not wrap.
    pub fn core(&self) -> &p11_core::Session {
        &self.inner.session
    }

    /// Whether the token offers `mechanism` (its list is read once per session).
    pub fn has_mechanism(&self, mechanism: MechanismType) -> Result<bool> {
        if let Some(list) = self.inner.mechanisms.get() {
            return Ok(list.contains(&mechanism));
        }
        let list = self.core().slot().mechanisms()?;
        let has = list.contains(&mechanism);
        let _ = self.inner.mechanisms.set(list);
        Ok(has)
    }

    /// Generates a secret key of `key_type` and `bits` (ignored for DES2/DES3), with the
    /// type's default mechanism and capabilities, `SENSITIVE` and not `EXTRACTABLE`
    /// (python's `generate_key`).
    pub fn generate_key(
        &self,
        key_type: KeyType,
        bits: usize,
        options: &KeyOptions,
    ) -> Result<SecretKey> {
        let defaults = defaults(key_type)?;
        let capabilities = options.capabilities.unwrap_or(defaults.capabilities);
        let mut template = KeyOptions::secret(options.common(ObjectClass::SECRET_KEY, key_type))
            .merge(&capability_template(capabilities, SECRET_CAPABILITIES));
        if !matches!(key_type, KeyType::DES2 | KeyType::DES3) {
            if bits % 8 != 0 {
                return Err(Error::InvalidArgument(
                    format!("{key_type} keys are whole bytes: {bits} bits is not a multiple of 8")
                        .into(),
                ));
            }
            template.set(A::VALUE_LEN, (bits / 8) as u64);
        }
        let template = template.merge(&options.template);
        let mechanism = Mechanism::new(options.mechanism.unwrap_or(defaults.generate));
        let object = self.core().generate_key(&mechanism, &template)?;
        Ok(SecretKey::new(self.clone(), object, key_type))
    }

    /// Generates a key pair of `key_type` and `bits` (python's `generate_keypair`): RSA
    /// with exponent 65537; DSA and DH from freshly generated domain parameters of that
    /// size; EC on the NIST curve of that size (256, 384, 521); EC_EDWARDS 255 is Ed25519.
    pub fn generate_keypair(
        &self,
        key_type: KeyType,
        bits: usize,
        options: &KeyOptions,
    ) -> Result<(PublicKey, PrivateKey)> {
        let parameters = match key_type {
            KeyType::RSA => Template::new()
                .with(A::MODULUS_BITS, bits as u64)
                .with(A::PUBLIC_EXPONENT, vec![1u8, 0, 1]),
            KeyType::DSA | KeyType::DH | KeyType::X9_42_DH => {
                return self
                    .generate_domain_parameters(key_type, bits, &KeyOptions::new())?
                    .generate_keypair(options);
            }
            KeyType::EC | KeyType::EC_EDWARDS => {
                let name = match (key_type, bits) {
                    (KeyType::EC, 256) => "secp256r1",
                    (KeyType::EC, 384) => "secp384r1",
                    (KeyType::EC, 521) => "secp521r1",
                    (KeyType::EC_EDWARDS, 255 | 256) => "Ed25519",
                    (KeyType::EC_EDWARDS, 448) => "Ed448",
                    _ => {
                        return Err(Error::InvalidArgument(
                            format!(
                                "no curve of {bits} bits for {key_type}: give domain parameters"
                            )
                            .into(),
                        ))
                    }
                };
                let params = EcParameters::named(name)
                    .and_then(|p| p.to_der())
                    .map_err(|e| Error::Encoding {
                        what: "EC parameters",
                        source: Box::new(e),
                    })?;
                Template::new().with(A::EC_PARAMS, params)
            }
            _ => Template::new(),
        };
        self.generate_keypair_from(key_type, &parameters, options)
    }

    /// A key pair from parameter attributes (`EC_PARAMS`, or `PRIME`/`SUBPRIME`/`BASE`).
    pub(crate) fn generate_keypair_from(
        &self,
        key_type: KeyType,
        parameters: &Template,
        options: &KeyOptions,
    ) -> Result<(PublicKey, PrivateKey)> {
        let defaults = defaults(key_type)?;
        let capabilities = options.capabilities.unwrap_or(defaults.capabilities);
        let public = options
            .common(ObjectClass::PUBLIC_KEY, key_type)
            .with(A::PRIVATE, false)
            .merge(&capability_template(capabilities, PUBLIC_CAPABILITIES))
            .merge(parameters)
            .merge(&options.template)
            .merge(&options.public_template);
        let private = KeyOptions::secret(options.common(ObjectClass::PRIVATE_KEY, key_type))
            .merge(&capability_template(capabilities, PRIVATE_CAPABILITIES))
            .merge(&options.template)
            .merge(&options.private_template);
        let mechanism = Mechanism::new(options.mechanism.unwrap_or(defaults.generate));
        let (public, private) = self
            .core()
            .generate_keypair(&mechanism, &public, &private)?;
        Ok((
            PublicKey::new(self.clone(), public, key_type),
            PrivateKey::new(self.clone(), private, key_type),
        ))
    }

    /// Generates domain parameters of `bits` for DSA, DH or X9.42 DH on the token
    /// (python's `generate_domain_parameters`).
    pub fn generate_domain_parameters(
        &self,
        key_type: KeyType,
        bits: usize,
        options: &KeyOptions,
    ) -> Result<DomainParameters> {
        let generate = defaults(key_type)?.parameters.ok_or_else(|| {
            Error::InvalidArgument(format!("{key_type} has no parameter generation").into())
        })?;
        // Domain parameters have a label but no id in PKCS#11 (SoftHSM refuses one).
        let template = with_label_and_id(
            Template::new()
                .with(A::TOKEN, options.store)
                .with(A::PRIME_BITS, bits as u64),
            &options.label,
            &None,
        )
        .merge(&options.template);
        let parameters = self.core().generate_domain_parameters(
            key_type,
            &Mechanism::new(options.mechanism.unwrap_or(generate)),
            &template,
        )?;
        Ok(DomainParameters::new(self.clone(), parameters))
    }

    /// Domain parameters from their attributes (python's `create_domain_parameters`):
    /// kept here when `local`, else created on the token (stored when `store`).
    pub fn create_domain_parameters(
        &self,
        key_type: KeyType,
        attributes: Template,
        local: bool,
        store: bool,
    ) -> Result<DomainParameters> {
        let local_parameters = p11_core::DomainParameters::Local {
            key_type,
            attributes,
        };
        let parameters = if local {
            local_parameters
        } else {
            local_parameters.store(self.core(), &Template::new().with(A::TOKEN, store))?
        };
        Ok(DomainParameters::new(self.clone(), parameters))
    }

    /// The one key of kind `K` matching `query` (python's `get_key`):
    /// [`Error::NoSuchKey`] when none does, [`Error::MultipleObjects`] when several do.
    ///
    /// ```no_run
    /// # fn f(session: &p11::Session) -> p11::Result<()> {
    /// use p11::{KeyQuery, KeyType, SecretKey};
    /// let key: SecretKey = session.get_key(&KeyQuery::new().key_type(KeyType::AES).label("backup"))?;
    /// # Ok(()) }
    /// ```
    pub fn get_key<K: KeyKind>(&self, query: &KeyQuery) -> Result<K> {
        let template = query.template().with(A::CLASS, K::CLASS);
        let object = self.core().get_key(&template)?;
        K::from_object(self.clone(), object)
    }

    /// Every key of kind `K` matching `query`, as they are found (python's
    /// `get_objects` narrowed to keys of one class).
    ///
    /// # Errors
    /// The module's error beginning the search; each item, the module's error reading
    /// the key's class and type.
    pub fn get_keys<K: KeyKind>(
        &self,
        query: &KeyQuery,
    ) -> Result<impl Iterator<Item = Result<K>> + '_> {
        let template = query.template().with(A::CLASS, K::CLASS);
        let found = self.core().find_objects(&template)?;
        Ok(found.map(move |object| K::from_object(self.clone(), object?)))
    }

    /// Every object matching `template` (python's `get_objects`).
    pub fn get_objects(&self, template: &Template) -> Result<Vec<p11_core::Object>> {
        self.core().get_objects(template)
    }

    /// Creates an object from `template` (python's `create_object`).
    pub fn create_object(&self, template: &Template) -> Result<p11_core::Object> {
        self.core().create_object(template)
    }

    /// `nbits` random bits from the token (python's convention), as `nbits / 8` bytes.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) when `nbits` is not a
    /// multiple of 8; as [`p11_core::Session::generate_random`].
    pub fn generate_random(&self, nbits: usize) -> Result<Vec<u8>> {
        if nbits % 8 != 0 {
            return Err(p11_core::Error::InvalidArgument(
                format!("random data comes in whole bytes: {nbits} bits is not a multiple of 8")
                    .into(),
            ));
        }
        self.core().generate_random(nbits / 8)
    }

    /// Mixes `seed` into the token's generator.
    pub fn seed_random(&self, seed: &[u8]) -> Result<()> {
        self.core().seed_random(seed)
    }

    /// The digest of `data` with `mechanism` (`SHA256`, ...).
    pub fn digest(&self, data: &[u8], mechanism: MechanismType) -> Result<Vec<u8>> {
        self.core().digest(&Mechanism::new(mechanism), data)
    }

    /// The digest of the concatenation of `chunks`, in parts (python's
    /// `digest(iterable)`): bytes, and secret keys whose value is digested inside the
    /// token ([`DigestPart`]).
    pub fn digest_chunks<'a, I>(&self, chunks: I, mechanism: MechanismType) -> Result<Vec<u8>>
    where
        I: IntoIterator,
        I::Item: Into<DigestPart<'a>>,
    {
        let mut digest = self.core().begin_digest(&Mechanism::new(mechanism))?;
        for part in chunks {
            match part.into() {
                DigestPart::Data(data) => digest.update(data)?,
                DigestPart::Key(key) => digest.update_key(crate::Key::object(key))?,
            }
        }
        digest.finish()
    }
}

/// One part of a digest made in parts: data, or a secret key's value digested inside the
/// token (`C_DigestKey`), as python's `session.digest((data, key, ...))`.
#[derive(Clone, Copy, Debug)]
pub enum DigestPart<'a> {
    /// Bytes.
    Data(&'a [u8]),
    /// A secret key, whose value never leaves the token.
    Key(&'a crate::SecretKey),
}

impl<'a> From<&'a [u8]> for DigestPart<'a> {
    fn from(data: &'a [u8]) -> Self {
        DigestPart::Data(data)
    }
}

impl<'a, const N: usize> From<&'a [u8; N]> for DigestPart<'a> {
    fn from(data: &'a [u8; N]) -> Self {
        DigestPart::Data(data)
    }
}

impl<'a> From<&'a Vec<u8>> for DigestPart<'a> {
    fn from(data: &'a Vec<u8>) -> Self {
        DigestPart::Data(data)
    }
}

impl<'a> From<&'a crate::SecretKey> for DigestPart<'a> {
    fn from(key: &'a crate::SecretKey) -> Self {
        DigestPart::Key(key)
    }
}
