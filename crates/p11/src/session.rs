//! Sessions: key generation with python-pkcs11's defaults and secure templates, domain
//! parameters, searching, random and digests.

use crate::defaults::{default_mechanism, Capabilities};
use crate::keys::{DomainParameters, KeyKind, Made, PrivateKey, PublicKey, SecretKey};
use crate::object::Object;
use crate::options::{ObjectOptions, ALL_CAPABILITIES};
use p11_asn1::ec::EcParameters;
use p11_core::Function;
use p11_core::{
    AttributeType as A, AttributeValue, Digest, Error, KeyType, Mechanism, MechanismType,
    ObjectClass, Operation, Pin, Result, ReturnValue, SessionHandle, SessionInfo, Template,
};

/// A session on a token (python-pkcs11's `Session`). Cheap to clone and `Send + Sync`:
/// share it between threads; keys made or found through it keep it open.
///
/// ```no_run
/// # fn demo(session: &p11::Session) -> p11::Result<()> {
/// use p11::{KeyType, MechanismType, ObjectOptions};
/// let key = session.generate_key(KeyType::AES, 256, &ObjectOptions::new())?;
/// let random = session.generate_random(256)?; // bits, as python-pkcs11 counts them
/// let hash = session.digest(MechanismType::SHA256, b"data")?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Session {
    session: p11_core::Session,
    /// What the login at opening did, when there was one.
    login: Option<p11_core::Login>,
    /// What the token has been seen to make as asked, through this session.
    pub(crate) honoured: crate::as_asked::Honoured,
}

/// tpm2-pkcs11's manufacturer in `C_GetInfo`: the module that refuses capabilities set
/// to false (see `generate_keypair_granting_less`).
const TPM2_PKCS11: &str = "tpm2-software.github.io";

/// What [`Session::get_key`] and [`Session::get_keys`] look for: any of key type,
/// label, id, capabilities and other attributes (python's `get_key(key_type=, label=,
/// id=, **attrs)`). The class comes from the kind of key asked for.
///
/// ```no_run
/// # fn demo(session: &p11::Session) -> p11::Result<()> {
/// use p11::{Capabilities, Key, KeyQuery, KeyType, PrivateKey, SecretKey};
/// // Exactly one: none or several is an error.
/// let signing: PrivateKey = session.get_key(&KeyQuery::new().label("release signing"))?;
/// // Every AES key that may encrypt.
/// let query = KeyQuery::new().key_type(KeyType::AES).capable_of(Capabilities::ENCRYPT);
/// for key in session.get_keys::<SecretKey>(&query)? {
///     println!("{}", key?.label()?);
/// }
/// # Ok(()) }
/// ```
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
    #[must_use]
    pub fn key_type(mut self, key_type: KeyType) -> Self {
        self.key_type = Some(key_type);
        self
    }

    /// With this label.
    #[must_use]
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// With this id.
    #[must_use]
    pub fn id(mut self, id: impl Into<Vec<u8>>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Able to do all of these ("the RSA key that can sign"): each sets its attribute
    /// (`SIGN`, `DECRYPT`, ...) to true in the search.
    #[must_use]
    pub fn capable_of(mut self, capabilities: Capabilities) -> Self {
        self.capabilities = Some(self.capabilities.unwrap_or(Capabilities::empty()) | capabilities);
        self
    }

    /// With these attribute values too.
    #[must_use]
    pub fn attributes(mut self, attributes: Template) -> Self {
        self.attributes = attributes;
        self
    }

    /// The key a PKCS#11 URI names: its `object` (label), `id` and `type` (which must
    /// be the kind asked for: a search for another kind is [`Error::WrongClass`]).
    #[must_use]
    pub fn uri(mut self, uri: &p11_core::Uri) -> Self {
        self.attributes = std::mem::take(&mut self.attributes).merge(&uri.object_template());
        self
    }

    /// The search for keys of `class`: [`Error::WrongClass`] when the query pins another
    /// (a URI's `type=public` asked of private keys).
    fn template_for(&self, class: ObjectClass) -> Result<Template> {
        let template = self.template();
        match template.get(A::CLASS) {
            Some(AttributeValue::ObjectClass(asked)) if *asked != class => Err(Error::WrongClass {
                expected: class,
                actual: *asked,
            }),
            _ => Ok(template.with(A::CLASS, class)),
        }
    }

    fn template(&self) -> Template {
        let mut template = Template::new();
        if let Some(key_type) = self.key_type {
            template.set(A::KEY_TYPE, key_type);
        }
        let wanted = self.capabilities.unwrap_or(Capabilities::empty());
        for (capability, ty) in &ALL_CAPABILITIES {
            if wanted.contains(*capability) {
                template.set(*ty, true);
            }
        }
        if let Some(label) = &self.label {
            template.set(A::LABEL, label.as_str());
        }
        if let Some(id) = &self.id {
            template.set(A::ID, id.clone());
        }
        template.merge(&self.attributes)
    }
}

/// The mechanism `options` asks for, else the key type's default for `operation`.
fn mechanism_for(
    options: &ObjectOptions,
    key_type: KeyType,
    operation: Operation,
) -> Result<MechanismType> {
    options
        .chosen_mechanism()
        .or_else(|| default_mechanism(key_type, operation))
        .ok_or(Error::NoDefaultMechanism {
            key_type,
            operation,
        })
}

/// `VALUE_LEN` for a secret key of `bits` (none for DES2/DES3, whose length is their type).
pub(crate) fn with_value_len(key_type: KeyType, bits: usize) -> Result<Template> {
    if matches!(key_type, KeyType::DES2 | KeyType::DES3) {
        return Ok(Template::new());
    }
    if !bits.is_multiple_of(8) {
        return Err(Error::NotWholeBytes { bits });
    }
    Ok(Template::new().with(A::VALUE_LEN, (bits / 8) as u64))
}

/// What domain parameters take of `options`: class, storage, label and template.
fn domain_parameters_template(options: &ObjectOptions) -> Result<Template> {
    if options.has_id() {
        return Err(Error::InvalidArgument(
            "domain parameters have no id in PKCS #11: give a label".into(),
        ));
    }
    Ok(options.object_template(ObjectClass::DOMAIN_PARAMETERS))
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
            session,
            login,
            honoured: Default::default(),
        }
    }

    /// What the login at opening did: [`Login::Checked`] when the module checked the
    /// PIN, [`Login::AlreadyLoggedIn`] when another session had logged the token in
    /// (then the PIN was not checked); `None` when no login was asked for.
    ///
    /// [`Login::Checked`]: crate::Login::Checked
    /// [`Login::AlreadyLoggedIn`]: crate::Login::AlreadyLoggedIn
    pub fn login(&self) -> Option<crate::Login> {
        self.login
    }

    /// Logs the token out (python's `session.close()` logs out too; PKCS#11 logs out
    /// every session of this process on the token).
    ///
    /// # Errors
    /// The module's error from `C_Logout` (`CKR_USER_NOT_LOGGED_IN`, ...).
    pub fn logout(&self) -> Result<()> {
        self.session.logout()
    }

    /// Closes the session now, logging out first when it is the token's last logged-in
    /// one (as dropping it would), and says what went wrong. Keys and operations made
    /// through it answer [`Error::SessionClosed`] afterwards.
    ///
    /// # Errors
    /// The module's error from `C_Logout` or `C_CloseSession`.
    pub fn close(self) -> Result<()> {
        self.session.close()
    }

    /// Sets the user's PIN (python's `init_pin`, `C_InitPIN`), in a read/write session
    /// logged in as the security officer.
    ///
    /// # Errors
    /// The module's error (`CKR_USER_NOT_LOGGED_IN` without the SO logged in, ...).
    pub fn init_pin(&self, pin: impl Into<Pin>) -> Result<()> {
        self.session.init_pin(pin)
    }

    /// Changes the logged-in user's PIN from `old` to `new` (python's `set_pin`,
    /// `C_SetPIN`), in a read/write session.
    ///
    /// # Errors
    /// The module's error (`CKR_PIN_INCORRECT` for a wrong `old`, ...).
    pub fn set_pin(&self, old: impl Into<Pin>, new: impl Into<Pin>) -> Result<()> {
        self.session.set_pin(old, new)
    }

    /// The module's handle of the session: which session it is, for logs and for telling
    /// sessions apart.
    pub fn handle(&self) -> SessionHandle {
        self.session.handle()
    }

    /// The slot of the session's token (python's `session.token.slot`).
    pub fn slot(&self) -> crate::Slot {
        crate::Slot::from(self.session.slot().clone())
    }

    /// The session's state and flags as the module reports them (`C_GetSessionInfo`).
    ///
    /// # Errors
    /// The module's error.
    pub fn info(&self) -> Result<SessionInfo> {
        self.session.info()
    }

    /// The core session: the escape hatch to what the facade does not wrap.
    pub fn core(&self) -> &p11_core::Session {
        &self.session
    }

    /// Whether the token offers `mechanism` (its list is read once per slot).
    ///
    /// # Errors
    /// The module's error from `C_GetMechanismList`, the first time for the slot.
    pub fn has_mechanism(&self, mechanism: MechanismType) -> Result<bool> {
        self.session.has_mechanism(mechanism)
    }

    /// Generates a secret key of `key_type` and `bits` (ignored for DES2/DES3), with the
    /// type's default mechanism and capabilities, `SENSITIVE` and not `EXTRACTABLE`
    /// (python's `generate_key`): the template is
    /// [`ObjectOptions::secret_key_template`] with `VALUE_LEN`.
    ///
    /// The first key a session makes with each storage, sensitivity and extractability
    /// (and with a label) is read back: a token that made it otherwise than asked (a
    /// token object for a session one, as OpenSC's OpenPGP card does) gets it destroyed
    /// and an error, rather than a key that is not what the caller believes.
    ///
    /// # Errors
    /// [`Error::NotWholeBytes`] for a length that is not whole bytes;
    /// [`Error::NoDefaultMechanism`] for a key type
    /// without a default mechanism (give one); [`Error::InvalidResponse`] for a key made
    /// otherwise than asked; the module's error.
    pub fn generate_key(
        &self,
        key_type: KeyType,
        bits: usize,
        options: &ObjectOptions,
    ) -> Result<SecretKey> {
        let mechanism = mechanism_for(options, key_type, Operation::Generate)?;
        let template =
            with_value_len(key_type, bits)?.merge(&options.secret_key_template(key_type));
        let object = self
            .core()
            .generate_key(&Mechanism::new(mechanism), &template)?;
        let object = self
            .honoured
            .check(object, &template, Function::GenerateKey)?;
        Ok(SecretKey::made(self.clone(), object, key_type))
    }

    /// Generates a key pair of `key_type` and `bits` (python's `generate_keypair`): RSA
    /// with exponent 65537; DSA and DH from freshly generated domain parameters of that
    /// size; EC on the NIST curve of that size (256, 384, 521); EC_EDWARDS 255 is Ed25519;
    /// any named curve (secp256k1, brainpool, X25519 for EC_MONTGOMERY) when the options'
    /// public template carries its `EC_PARAMS`, the size then unused.
    /// ML-DSA, ML-KEM and SLH-DSA keys take 0 bits and their parameter set from the
    /// options' public template, as python-pkcs11 does:
    ///
    /// ```no_run
    /// # fn demo(session: &p11::Session) -> p11::Result<()> {
    /// use p11::mechanisms::MlDsaParameterSet;
    /// use p11::{AttributeType as A, KeyType, ObjectOptions, Template};
    /// let options = ObjectOptions::new()
    ///     .public_template(Template::new().with(A::PARAMETER_SET, MlDsaParameterSet::ML_DSA_65));
    /// let (public, private) = session.generate_keypair(KeyType::ML_DSA, 0, &options)?;
    /// # Ok(()) }
    /// ```
    ///
    /// The templates are [`ObjectOptions::public_key_template`] and
    /// [`private_key_template`](ObjectOptions::private_key_template) with the parameters.
    ///
    /// # Errors
    /// [`Error::NoCurve`] for a size with no curve; [`Error::SizedByParameterSet`] for a
    /// post-quantum key without a parameter set, or with bits;
    /// [`Error::NoDefaultMechanism`] for a key type without a default mechanism;
    /// [`Error::InvalidResponse`] for a half made otherwise than asked (as
    /// [`generate_key`](Self::generate_key) checks) or a pair granted a capability
    /// refused; the module's error.
    pub fn generate_keypair(
        &self,
        key_type: KeyType,
        bits: usize,
        options: &ObjectOptions,
    ) -> Result<(PublicKey, PrivateKey)> {
        let parameters = match key_type {
            KeyType::RSA => Template::new()
                .with(A::MODULUS_BITS, bits as u64)
                .with(A::PUBLIC_EXPONENT, vec![1u8, 0, 1]),
            KeyType::DSA | KeyType::DH | KeyType::X9_42_DH => {
                return self
                    .generate_domain_parameters(key_type, bits, &ObjectOptions::new())?
                    .generate_keypair(options);
            }
            // A curve the options name (any named curve, `EC_PARAMS` in the public
            // template): the size says nothing more.
            KeyType::EC | KeyType::EC_EDWARDS | KeyType::EC_MONTGOMERY
                if options.public_attribute(A::EC_PARAMS).is_some() =>
            {
                Template::new()
            }
            KeyType::EC | KeyType::EC_EDWARDS => {
                let name = match (key_type, bits) {
                    (KeyType::EC, 256) => "secp256r1",
                    (KeyType::EC, 384) => "secp384r1",
                    (KeyType::EC, 521) => "secp521r1",
                    (KeyType::EC_EDWARDS, 255 | 256) => "Ed25519",
                    (KeyType::EC_EDWARDS, 448) => "Ed448",
                    _ => return Err(Error::NoCurve { key_type, bits }),
                };
                let params = EcParameters::named(name)
                    .and_then(|p| p.to_der())
                    .map_err(|e| Error::Encoding {
                        what: "EC parameters",
                        source: Box::new(e),
                    })?;
                Template::new().with(A::EC_PARAMS, params)
            }
            // Their size is the parameter set, as python-pkcs11 0.10.1 takes it.
            KeyType::ML_DSA | KeyType::ML_KEM | KeyType::SLH_DSA => {
                if options.public_attribute(A::PARAMETER_SET).is_none() || bits != 0 {
                    return Err(Error::SizedByParameterSet { key_type });
                }
                Template::new()
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
        options: &ObjectOptions,
    ) -> Result<(PublicKey, PrivateKey)> {
        let mechanism = mechanism_for(options, key_type, Operation::Generate)?;
        let public = parameters
            .clone()
            .merge(&options.public_key_template(key_type));
        let private = options.private_key_template(key_type);
        let mechanism = Mechanism::new(mechanism);
        let (made_public, made_private) =
            match self.core().generate_keypair(&mechanism, &public, &private) {
                Ok(pair) => pair,
                Err(e) => self.generate_keypair_granting_less(&mechanism, &public, &private, e)?,
            };
        // Each half held to its template.
        let (public, private) = crate::as_asked::hold_pair(
            (made_public, made_private),
            |made| {
                self.honoured
                    .check(made, &public, Function::GenerateKeyPair)
            },
            |made| {
                self.honoured
                    .check(made, &private, Function::GenerateKeyPair)
            },
        )?;
        Ok((
            PublicKey::made(self.clone(), public, key_type),
            PrivateKey::made(self.clone(), private, key_type),
        ))
    }

    /// After `refused`: tpm2-pkcs11 refuses a capability set to false that its TPM key
    /// cannot carry (`CKR_GENERAL_ERROR`, "inconsistent attributes"). There (known by
    /// the library's manufacturer, [`TPM2_PKCS11`]) the pair is made once more without
    /// the capabilities asked false, then held to them: one the module granted anyway
    /// destroys the pair and is an error. Other refusals, and every refusal of other
    /// modules (a transient `CKR_GENERAL_ERROR` says nothing of the template), stand.
    fn generate_keypair_granting_less(
        &self,
        mechanism: &Mechanism,
        public: &Template,
        private: &Template,
        refused: Error,
    ) -> Result<(p11_core::Object, p11_core::Object)> {
        let denied = |template: &Template| -> Vec<A> {
            ALL_CAPABILITIES
                .iter()
                .map(|(_, ty)| *ty)
                .filter(|ty| template.get(*ty) == Some(&AttributeValue::Bool(false)))
                .collect()
        };
        let (public_denied, private_denied) = (denied(public), denied(private));
        let retry = matches!(
            refused.return_value(),
            Some(ReturnValue::GeneralError | ReturnValue::TemplateInconsistent)
        );
        if !retry || (public_denied.is_empty() && private_denied.is_empty()) {
            return Err(refused);
        }
        let module = self.core().slot().module().info();
        if !module.is_ok_and(|info| info.manufacturer_id == TPM2_PKCS11) {
            return Err(refused);
        }
        let without = |template: &Template, denied: &[A]| {
            denied
                .iter()
                .fold(template.clone(), |template, ty| template.without(*ty))
        };
        let Ok(made) = self.core().generate_keypair(
            mechanism,
            &without(public, &public_denied),
            &without(private, &private_denied),
        ) else {
            return Err(refused);
        };
        // Held to the capabilities refused, which it was not told.
        let no = AttributeValue::Bool(false);
        let asked_false = |denied: &[A]| denied.iter().map(|ty| (*ty, &no)).collect::<Vec<_>>();
        let function = Function::GenerateKeyPair;
        crate::as_asked::hold_pair(
            made,
            |made| crate::as_asked::hold(made, &asked_false(&public_denied), function),
            |made| crate::as_asked::hold(made, &asked_false(&private_denied), function),
        )
    }

    /// Generates domain parameters of `bits` for DSA, DH or X9.42 DH on the token
    /// (python's `generate_domain_parameters`), with the options' storage, label and
    /// template.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an id (domain parameters have none in PKCS #11)
    /// or a key type without parameter generation; the module's error.
    pub fn generate_domain_parameters(
        &self,
        key_type: KeyType,
        bits: usize,
        options: &ObjectOptions,
    ) -> Result<DomainParameters> {
        let mechanism = mechanism_for(options, key_type, Operation::GenerateDomainParameters)?;
        let template = Template::new()
            .with(A::PRIME_BITS, bits as u64)
            .merge(&domain_parameters_template(options)?);
        let parameters = self.core().generate_domain_parameters(
            key_type,
            &Mechanism::new(mechanism),
            &template,
        )?;
        Ok(DomainParameters::new(self.clone(), parameters))
    }

    /// Domain parameters from their attributes, kept here rather than on the token
    /// (python's `create_domain_parameters(..., local=True)`): keys generated from them
    /// carry the attributes in their template.
    pub fn local_domain_parameters(
        &self,
        key_type: KeyType,
        attributes: Template,
    ) -> DomainParameters {
        DomainParameters::new(
            self.clone(),
            p11_core::DomainParameters::Local {
                key_type,
                attributes,
            },
        )
    }

    /// Domain parameters from their attributes, created on the token as the options
    /// say (python's `create_domain_parameters(..., store=)`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an id (domain parameters have none); the module's
    /// error.
    pub fn create_domain_parameters(
        &self,
        key_type: KeyType,
        attributes: Template,
        options: &ObjectOptions,
    ) -> Result<DomainParameters> {
        let parameters = p11_core::DomainParameters::Local {
            key_type,
            attributes,
        }
        .store(self.core(), &domain_parameters_template(options)?)?;
        Ok(DomainParameters::new(self.clone(), parameters))
    }

    /// The one key of kind `K` matching `query` (python's `get_key`):
    /// [`Error::NoSuchKey`] when none does (or the one found was destroyed by another
    /// session before its key type was read), [`Error::MultipleObjects`] when several
    /// do. As for [`get_keys`](Self::get_keys), no read beyond the search when `query`
    /// names the key type.
    ///
    /// ```no_run
    /// # fn f(session: &p11::Session) -> p11::Result<()> {
    /// use p11::{KeyQuery, KeyType, SecretKey};
    /// let key: SecretKey = session.get_key(&KeyQuery::new().key_type(KeyType::AES).label("backup"))?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::NoSuchKey`] when none matches, [`Error::MultipleObjects`] when several
    /// do; [`Error::WrongClass`] when the query names another kind (a URI's `type`); the
    /// module's error from the search or the read of the key's class.
    pub fn get_key<K: KeyKind>(&self, query: &KeyQuery) -> Result<K> {
        let template = query.template_for(K::CLASS)?;
        let object = self.core().get_key(&template)?;
        // Gone since it was found: none matches now.
        K::from_found(self.clone(), object, &template).unwrap_or(Err(Error::NoSuchKey(template)))
    }

    /// Every key of kind `K` matching `query`, as they are found (python's
    /// `get_objects` narrowed to keys of one class). A found key costs no call beyond the
    /// search when `query` names its key type; otherwise one read of its key type (and a
    /// key destroyed by another session before that read is not found). Its capabilities
    /// are read when first asked.
    ///
    /// # Errors
    /// [`Error::WrongClass`] when the query names another kind (a URI's `type`); the
    /// module's error beginning the search; each item, the module's error reading the
    /// key's class and type.
    pub fn get_keys<K: KeyKind>(
        &self,
        query: &KeyQuery,
    ) -> Result<impl Iterator<Item = Result<K>> + '_> {
        let template = query.template_for(K::CLASS)?;
        let found = self.core().find_objects(&template)?;
        Ok(found.filter_map(move |object| match object {
            Ok(object) => K::from_found(self.clone(), object, &template),
            Err(e) => Some(Err(e)),
        }))
    }

    /// Every object matching `template`, typed by class (python's `get_objects`). What
    /// `template` pins (`CKA_CLASS`, and `CKA_KEY_TYPE` for keys) is not read again:
    /// then a found object costs no call beyond the search; otherwise one read of its
    /// class and key type (and an object destroyed by another session before that read
    /// is not found).
    ///
    /// # Errors
    /// The module's error searching or reading an object's class.
    pub fn get_objects(&self, template: &Template) -> Result<Vec<Object>> {
        self.core()
            .get_objects(template)?
            .into_iter()
            .filter_map(|object| Object::found(self, object, template))
            .collect()
    }

    /// Creates an object from `template`, typed by class (python's `create_object`).
    ///
    /// # Errors
    /// The module's error.
    pub fn create_object(&self, template: &Template) -> Result<Object> {
        Object::new(self, self.core().create_object(template)?)
    }

    /// `nbits` random bits from the token (python's convention), as `nbits / 8` bytes.
    ///
    /// # Errors
    /// [`Error::NotWholeBytes`](crate::Error::NotWholeBytes) when `nbits` is not a
    /// multiple of 8; as [`p11_core::Session::generate_random`].
    pub fn generate_random(&self, nbits: usize) -> Result<Vec<u8>> {
        if !nbits.is_multiple_of(8) {
            return Err(Error::NotWholeBytes { bits: nbits });
        }
        self.core().generate_random(nbits / 8)
    }

    /// Mixes `seed` into the token's generator.
    ///
    /// # Errors
    /// The module's error from `C_SeedRandom` (`CKR_RANDOM_SEED_NOT_SUPPORTED` on many
    /// tokens).
    pub fn seed_random(&self, seed: &[u8]) -> Result<()> {
        self.core().seed_random(seed)
    }

    /// The digest of `data` with `mechanism` (`SHA256`, ...).
    ///
    /// # Errors
    /// The module's error.
    pub fn digest(&self, mechanism: MechanismType, data: &[u8]) -> Result<Vec<u8>> {
        // A digest mechanism takes no parameter: none of `Mechanism::new`'s defaults.
        let mechanism = Mechanism::with(mechanism, p11_core::mechanisms::Parameter::None);
        self.core().digest(&mechanism, data)
    }

    /// A digest in parts (python's `digest(iterable)`): [`Digester::update`] with data,
    /// [`Digester::update_key`] with a secret key whose value is digested inside the
    /// token, then [`Digester::finish`]; also an `io::Write`.
    ///
    /// ```no_run
    /// # fn demo(session: &p11::Session, key: &p11::SecretKey) -> p11::Result<()> {
    /// let mut digest = session.digester(p11::MechanismType::SHA256)?;
    /// digest.update(b"header")?;
    /// digest.update_key(key)?;
    /// let hash = digest.finish()?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// The module's error from `C_DigestInit`.
    pub fn digester(&self, mechanism: MechanismType) -> Result<Digester> {
        Ok(Digester {
            digest: self.core().begin_digest(&Mechanism::new(mechanism))?,
        })
    }
}

/// A digest in parts ([`Session::digester`]). Owns its session: it can be kept or moved
/// to another thread. Dropped unfinished, it cancels the operation.
#[derive(Debug)]
#[must_use = "an operation does nothing until used, and cancels when dropped"]
pub struct Digester {
    digest: Digest,
}

impl Digester {
    /// Adds `data`.
    ///
    /// # Errors
    /// The module's error from `C_DigestUpdate`.
    pub fn update(&mut self, data: &[u8]) -> Result<()> {
        self.digest.update(data)
    }

    /// Adds the value of `key`, inside the token (`C_DigestKey`): it never leaves it.
    ///
    /// # Errors
    /// The module's error from `C_DigestKey` (`CKR_KEY_INDIGESTIBLE`, ...).
    pub fn update_key(&mut self, key: &crate::SecretKey) -> Result<()> {
        self.digest.update_key(crate::Key::core(key))
    }

    /// Ends the operation: the digest.
    ///
    /// # Errors
    /// The module's error from `C_DigestFinal`.
    pub fn finish(self) -> Result<Vec<u8>> {
        self.digest.finish()
    }
}

/// As the core digest writes: each write one `C_DigestUpdate`.
impl std::io::Write for Digester {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.digest.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.digest.flush()
    }
}
