//! Conversions between DER (through [`p11_asn1`]) and PKCS #11 attribute templates:
//! python-pkcs11's `pkcs11.util` — importing keys and certificates made elsewhere, and
//! exporting public keys as SubjectPublicKeyInfo or PEM.

use crate::defaults::Capabilities;
use crate::keys::{Key, Made, PrivateKey, PublicKey};
use crate::options::{
    capabilities_or_defaults, set_capabilities, ObjectOptions, PRIVATE_CAPABILITIES,
    PUBLIC_CAPABILITIES,
};
use crate::session::Session;
use p11_asn1::dh::{DhParameters, X942DhParameters};
use p11_asn1::dsa::DsaParameters;
use p11_asn1::ec::{self, EcParameters};
use p11_asn1::{pem, CertificateInfo, PostQuantumAlgorithm, RsaPublicKey};
use p11_core::Function;
use p11_core::{
    AttributeType as A, AttributeValue, CertificateType, Date, Error, KeyType, Object, ObjectClass,
    Result, Template,
};

pub(crate) fn asn1_error(e: p11_asn1::Asn1Error) -> Error {
    Error::Encoding {
        what: "a DER value",
        source: Box::new(e),
    }
}

/// The key type and attributes (`MODULUS`, `EC_PARAMS`/`EC_POINT`, `PRIME`/`BASE`/`VALUE`,
/// ...) of a public key, for `C_CreateObject` (python's `decode_*_public_key(der,
/// capabilities)`), with the public capabilities of `capabilities` (the key type's
/// defaults when `None`). EC points go in DER-wrapped, as `CKA_EC_POINT` holds them;
/// Edwards keys raw, wrapped likewise.
///
/// # Errors
/// [`Error::Encoding`] for parameters that cannot be encoded; [`Error::ImportUnsupported`]
/// for a DSA key without its parameters.
pub fn decode_public_key(
    key: &p11_asn1::PublicKey,
    capabilities: Option<Capabilities>,
) -> Result<Template> {
    with_capabilities(
        public_key_attributes(key)?,
        capabilities,
        PUBLIC_CAPABILITIES,
    )
}

/// The key type's capability attributes (of those `of` lists) laid over `template`.
fn with_capabilities(
    mut template: Template,
    capabilities: Option<Capabilities>,
    of: &[(Capabilities, A)],
) -> Result<Template> {
    let Some(AttributeValue::KeyType(key_type)) = template.get(A::KEY_TYPE).cloned() else {
        return Err(Error::MissingAttribute(A::KEY_TYPE));
    };
    let capabilities =
        capabilities_or_defaults(capabilities, key_type).unwrap_or(Capabilities::empty());
    set_capabilities(&mut template, capabilities, of);
    Ok(template)
}

fn public_key_attributes(key: &p11_asn1::PublicKey) -> Result<Template> {
    use p11_asn1::PublicKey as K;
    let base = |key_type: KeyType| {
        Template::new()
            .with(A::CLASS, ObjectClass::PUBLIC_KEY)
            .with(A::KEY_TYPE, key_type)
    };
    let curve = |name: &str| ec::encode_named_curve_parameters(name).map_err(asn1_error);
    let point = |raw: &[u8]| ec::encode_ec_point(raw).map_err(asn1_error);
    Ok(match key {
        K::Rsa(rsa) => base(KeyType::RSA)
            .with(A::MODULUS, rsa.modulus.clone())
            .with(A::PUBLIC_EXPONENT, rsa.public_exponent.clone()),
        K::Dsa {
            parameters: Some(p),
            y,
        } => base(KeyType::DSA)
            .with(A::PRIME, p.p.clone())
            .with(A::SUBPRIME, p.q.clone())
            .with(A::BASE, p.g.clone())
            .with(A::VALUE, y.clone()),
        K::Dh { parameters, y } => base(KeyType::DH)
            .with(A::PRIME, parameters.prime.clone())
            .with(A::BASE, parameters.base.clone())
            .with(A::VALUE, y.clone()),
        K::X942Dh { parameters, y } => base(KeyType::X9_42_DH)
            .with(A::PRIME, parameters.prime.clone())
            .with(A::BASE, parameters.base.clone())
            .with(A::SUBPRIME, parameters.subprime.clone())
            .with(A::VALUE, y.clone()),
        K::Ec {
            parameters,
            point: raw,
        } => base(KeyType::EC)
            .with(A::EC_PARAMS, parameters.to_der().map_err(asn1_error)?)
            .with(A::EC_POINT, point(raw)?),
        K::Ed25519(raw) => base(KeyType::EC_EDWARDS)
            .with(A::EC_PARAMS, curve("Ed25519")?)
            .with(A::EC_POINT, point(raw)?),
        K::Ed448(raw) => base(KeyType::EC_EDWARDS)
            .with(A::EC_PARAMS, curve("Ed448")?)
            .with(A::EC_POINT, point(raw)?),
        K::X25519(raw) => base(KeyType::EC_MONTGOMERY)
            .with(A::EC_PARAMS, curve("X25519")?)
            .with(A::EC_POINT, point(raw)?),
        K::X448(raw) => base(KeyType::EC_MONTGOMERY)
            .with(A::EC_PARAMS, curve("X448")?)
            .with(A::EC_POINT, point(raw)?),
        K::PostQuantum { algorithm, key } => {
            let (key_type, set) = parameter_set(*algorithm)?;
            base(key_type)
                .with(A::PARAMETER_SET, set)
                .with(A::VALUE, key.clone())
        }
        _ => {
            return Err(Error::ImportUnsupported(
                "DSA public keys without their domain parameters",
            ))
        }
    })
}

/// The key type and attributes of a private key, for `C_CreateObject` (python's
/// `decode_rsa_private_key(der, capabilities)`, `decode_ec_private_key`), sensitive and
/// not extractable, with the private capabilities of `capabilities` (the key type's
/// defaults when `None`). EC keys need their curve.
///
/// # Errors
/// [`Error::Encoding`] for parameters that cannot be encoded; [`Error::ImportUnsupported`]
/// for an EC key without its curve or a key kind p11 cannot import.
pub fn decode_private_key(
    key: &p11_asn1::PrivateKey,
    capabilities: Option<Capabilities>,
) -> Result<Template> {
    with_capabilities(
        private_key_attributes(key)?,
        capabilities,
        PRIVATE_CAPABILITIES,
    )
}

fn private_key_attributes(key: &p11_asn1::PrivateKey) -> Result<Template> {
    use p11_asn1::PrivateKey as K;
    let base = |key_type: KeyType| {
        Template::new()
            .with(A::CLASS, ObjectClass::PRIVATE_KEY)
            .with(A::KEY_TYPE, key_type)
            .with(A::PRIVATE, true)
            .with(A::SENSITIVE, true)
            .with(A::EXTRACTABLE, false)
    };
    let secret = |b: &[u8]| b.to_vec();
    Ok(match key {
        K::Rsa(rsa) => base(KeyType::RSA)
            .with(A::MODULUS, rsa.modulus.clone())
            .with(A::PUBLIC_EXPONENT, rsa.public_exponent.clone())
            .with(A::PRIVATE_EXPONENT, secret(&rsa.private_exponent))
            .with(A::PRIME_1, secret(&rsa.prime_1))
            .with(A::PRIME_2, secret(&rsa.prime_2))
            .with(A::EXPONENT_1, secret(&rsa.exponent_1))
            .with(A::EXPONENT_2, secret(&rsa.exponent_2))
            .with(A::COEFFICIENT, secret(&rsa.coefficient)),
        K::Ec(ec) => {
            let parameters = ec
                .parameters
                .as_ref()
                .ok_or_else(|| Error::ImportUnsupported("EC private keys without their curve"))?;
            base(KeyType::EC)
                .with(A::EC_PARAMS, parameters.to_der().map_err(asn1_error)?)
                .with(A::VALUE, secret(&ec.private_key))
        }
        K::Ed25519(seed) => base(KeyType::EC_EDWARDS)
            .with(
                A::EC_PARAMS,
                ec::encode_named_curve_parameters("Ed25519").map_err(asn1_error)?,
            )
            .with(A::VALUE, secret(seed)),
        K::PostQuantum(key) => {
            let (key_type, set) = parameter_set(key.algorithm())?;
            let mut template = base(key_type).with(A::PARAMETER_SET, set);
            if let Some(seed) = key.seed() {
                template.set(A::SEED, secret(seed));
            }
            if let Some(value) = key.key() {
                template.set(A::VALUE, secret(value));
            }
            template
        }
        _ => return Err(Error::ImportUnsupported("this kind of private key")),
    })
}

/// The PKCS #11 key type and `CKA_PARAMETER_SET` number of a post-quantum parameter set.
fn parameter_set(algorithm: PostQuantumAlgorithm) -> Result<(KeyType, u64)> {
    use p11_core::mechanisms::{
        MlDsaParameterSet as D, MlKemParameterSet as K, SlhDsaParameterSet as S,
    };
    use PostQuantumAlgorithm as P;
    let dsa = |set: D| (KeyType::ML_DSA, set.raw());
    let kem = |set: K| (KeyType::ML_KEM, set.raw());
    let slh = |set: S| (KeyType::SLH_DSA, set.raw());
    Ok(match algorithm {
        P::MlDsa44 => dsa(D::ML_DSA_44),
        P::MlDsa65 => dsa(D::ML_DSA_65),
        P::MlDsa87 => dsa(D::ML_DSA_87),
        P::MlKem512 => kem(K::ML_KEM_512),
        P::MlKem768 => kem(K::ML_KEM_768),
        P::MlKem1024 => kem(K::ML_KEM_1024),
        P::SlhDsaSha2_128s => slh(S::SLH_DSA_SHA2_128S),
        P::SlhDsaSha2_128f => slh(S::SLH_DSA_SHA2_128F),
        P::SlhDsaSha2_192s => slh(S::SLH_DSA_SHA2_192S),
        P::SlhDsaSha2_192f => slh(S::SLH_DSA_SHA2_192F),
        P::SlhDsaSha2_256s => slh(S::SLH_DSA_SHA2_256S),
        P::SlhDsaSha2_256f => slh(S::SLH_DSA_SHA2_256F),
        P::SlhDsaShake128s => slh(S::SLH_DSA_SHAKE_128S),
        P::SlhDsaShake128f => slh(S::SLH_DSA_SHAKE_128F),
        P::SlhDsaShake192s => slh(S::SLH_DSA_SHAKE_192S),
        P::SlhDsaShake192f => slh(S::SLH_DSA_SHAKE_192F),
        P::SlhDsaShake256s => slh(S::SLH_DSA_SHAKE_256S),
        P::SlhDsaShake256f => slh(S::SLH_DSA_SHAKE_256F),
        _ => {
            return Err(Error::ImportUnsupported(
                "this post-quantum algorithm: PKCS #11 has no parameter set for it",
            ))
        }
    })
}

/// The post-quantum parameter set of a key type and `CKA_PARAMETER_SET` number.
fn post_quantum_algorithm(key_type: KeyType, set: u64) -> Result<PostQuantumAlgorithm> {
    PostQuantumAlgorithm::ALL
        .into_iter()
        .find(|a| parameter_set(*a).ok() == Some((key_type, set)))
        .ok_or(Error::UnknownParameterSet { key_type, set })
}

/// The attributes of DSA domain parameters (python's `decode_dsa_domain_parameters`).
pub fn dsa_parameters_template(parameters: &DsaParameters) -> Template {
    Template::new()
        .with(A::PRIME, parameters.p.clone())
        .with(A::SUBPRIME, parameters.q.clone())
        .with(A::BASE, parameters.g.clone())
}

/// The attributes of PKCS #3 DH parameters.
pub fn dh_parameters_template(parameters: &DhParameters) -> Template {
    Template::new()
        .with(A::PRIME, parameters.prime.clone())
        .with(A::BASE, parameters.base.clone())
}

/// The attributes of X9.42 DH parameters (python's `decode_x9_42_dh_domain_parameters`).
pub fn x942_parameters_template(parameters: &X942DhParameters) -> Template {
    Template::new()
        .with(A::PRIME, parameters.prime.clone())
        .with(A::BASE, parameters.base.clone())
        .with(A::SUBPRIME, parameters.subprime.clone())
}

fn bytes(object: &Object, ty: A) -> Result<Vec<u8>> {
    match object.get_attribute(ty)? {
        AttributeValue::Bytes(b) => Ok(b.to_vec()),
        other => Err(Error::AttributeKind {
            attribute: ty,
            expected: p11_core::AttributeKind::Bytes,
            found: format!("{other:?}"),
        }),
    }
}

/// The typed public key of a public key object (python's `encode_*_public_key` input).
///
/// # Errors
/// The module's error reading the key's attributes; [`Error::UnknownCurve`] or
/// [`Error::KeyTypeUnsupported`] for a key p11 cannot describe; [`Error::Encoding`].
pub fn public_key_of(key: &PublicKey) -> Result<p11_asn1::PublicKey> {
    use p11_asn1::PublicKey as K;
    let o = key.core();
    Ok(match key.key_type() {
        KeyType::RSA => K::Rsa(RsaPublicKey {
            modulus: bytes(o, A::MODULUS)?,
            public_exponent: bytes(o, A::PUBLIC_EXPONENT)?,
        }),
        KeyType::DSA => K::Dsa {
            parameters: Some(DsaParameters {
                p: bytes(o, A::PRIME)?,
                q: bytes(o, A::SUBPRIME)?,
                g: bytes(o, A::BASE)?,
            }),
            y: bytes(o, A::VALUE)?,
        },
        KeyType::DH => K::Dh {
            parameters: DhParameters {
                prime: bytes(o, A::PRIME)?,
                base: bytes(o, A::BASE)?,
                private_value_length: None,
            },
            y: bytes(o, A::VALUE)?,
        },
        KeyType::X9_42_DH => K::X942Dh {
            parameters: X942DhParameters {
                prime: bytes(o, A::PRIME)?,
                base: bytes(o, A::BASE)?,
                subprime: bytes(o, A::SUBPRIME)?,
                cofactor: None,
                validation: None,
            },
            y: bytes(o, A::VALUE)?,
        },
        KeyType::EC | KeyType::EC_EDWARDS | KeyType::EC_MONTGOMERY => {
            let parameters =
                EcParameters::from_der(&bytes(o, A::EC_PARAMS)?).map_err(asn1_error)?;
            let stored = bytes(o, A::EC_POINT)?;
            let curve = parameters.curve().ok();
            // DER-wrapped as the standard says; some modules store Edwards points raw.
            let raw = match curve {
                Some(curve) => ec::ec_point_from_attribute(&stored, curve),
                None => ec::decode_ec_point(&stored).unwrap_or(stored),
            };
            match (key.key_type(), curve.map(|c| c.name())) {
                (KeyType::EC, _) => K::Ec {
                    parameters,
                    point: raw,
                },
                (_, Some("Ed25519")) => K::Ed25519(raw),
                (_, Some("Ed448")) => K::Ed448(raw),
                (_, Some("X25519")) => K::X25519(raw),
                (_, Some("X448")) => K::X448(raw),
                (key_type, _) => return Err(Error::UnknownCurve { key_type }),
            }
        }
        KeyType::ML_DSA | KeyType::ML_KEM | KeyType::SLH_DSA => K::PostQuantum {
            algorithm: post_quantum_algorithm(key.key_type(), o.get(A::PARAMETER_SET)?)?,
            key: bytes(o, A::VALUE)?,
        },
        key_type => {
            return Err(Error::KeyTypeUnsupported {
                key_type,
                action: "export the public key of",
            })
        }
    })
}

impl PublicKey {
    /// This public key as SubjectPublicKeyInfo DER (python's `encode_*_public_key`).
    ///
    /// # Errors
    /// As [`public_key_of`]; [`Error::Encoding`] when it cannot be encoded.
    pub fn to_spki_der(&self) -> Result<Vec<u8>> {
        public_key_of(self)?.to_spki_der().map_err(asn1_error)
    }

    /// This public key as a `PUBLIC KEY` PEM block.
    ///
    /// # Errors
    /// As [`to_spki_der`](Self::to_spki_der).
    pub fn to_pem(&self) -> Result<String> {
        pem::encode("PUBLIC KEY", &self.to_spki_der()?).map_err(asn1_error)
    }
}

/// Which attributes a certificate template carries.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum CertificateAttributes {
    /// Class, type, subject, issuer, serial number and value (python's default). Some
    /// tokens (openCryptoki 3.8) refuse a certificate object with dates.
    #[default]
    Basic,
    /// Also the validity dates and the key identifiers (`HASH_OF_SUBJECT_PUBLIC_KEY` from
    /// the subject key identifier, `HASH_OF_ISSUER_PUBLIC_KEY` from the authority key
    /// identifier), where the certificate has them (python's `extended_set=True`).
    Extended,
}

/// The attributes of a certificate object for a DER X.509 certificate (python's
/// `decode_x509_certificate(der, extended_set)`).
///
/// # Errors
/// [`Error::Encoding`] when `der` is not an X.509 certificate.
pub fn certificate_template(der: &[u8], set: CertificateAttributes) -> Result<Template> {
    let info = CertificateInfo::from_der(der).map_err(asn1_error)?;
    let mut template = Template::new()
        .with(A::CLASS, ObjectClass::CERTIFICATE)
        .with(A::CERTIFICATE_TYPE, CertificateType::X_509)
        .with(A::SUBJECT, info.subject)
        .with(A::ISSUER, info.issuer)
        .with(A::SERIAL_NUMBER, info.serial_number)
        .with(A::VALUE, info.value);
    if set == CertificateAttributes::Extended {
        let date = |d: p11_asn1::Date| Date::new(d.year, d.month, d.day);
        if let Some(start) = date(info.not_before) {
            template.set(A::START_DATE, start);
        }
        if let Some(end) = date(info.not_after) {
            template.set(A::END_DATE, end);
        }
        if let Some(ski) = info.subject_key_identifier {
            template.set(A::HASH_OF_SUBJECT_PUBLIC_KEY, ski);
        }
        if let Some(aki) = info.authority_key_identifier {
            template.set(A::HASH_OF_ISSUER_PUBLIC_KEY, aki);
        }
    }
    Ok(template)
}

impl Session {
    /// Imports a public key made elsewhere (SubjectPublicKeyInfo DER) as `options` say:
    /// its attributes under [`ObjectOptions::public_key_template`] (the key type's
    /// default public capabilities unless the options give others).
    ///
    /// # Errors
    /// [`Error::Encoding`] when `spki` is no public key p11 reads; the module's error.
    pub fn import_public_key(&self, spki: &[u8], options: &ObjectOptions) -> Result<PublicKey> {
        let key = p11_asn1::PublicKey::from_spki_der(spki).map_err(asn1_error)?;
        let (object, key_type) = self.import(public_key_attributes(&key)?, options)?;
        Ok(PublicKey::made(self.clone(), object, key_type))
    }

    /// Imports a private key made elsewhere (PKCS #8 `PrivateKeyInfo` DER: RSA, EC,
    /// Ed25519, ML-DSA, ML-KEM, SLH-DSA) as `options` say: its attributes under
    /// [`ObjectOptions::private_key_template`] (sensitive, not extractable, the key
    /// type's default private capabilities unless the options say otherwise).
    ///
    /// # Errors
    /// [`Error::Encoding`] when `pkcs8` is no private key p11 reads; the module's error.
    pub fn import_private_key(&self, pkcs8: &[u8], options: &ObjectOptions) -> Result<PrivateKey> {
        let key = p11_asn1::PrivateKey::from_pkcs8_der(pkcs8).map_err(asn1_error)?;
        let (object, key_type) = self.import(private_key_attributes(&key)?, options)?;
        Ok(PrivateKey::made(self.clone(), object, key_type))
    }

    /// Creates a key from its attributes (class and key type among them) under the
    /// options' template for that class.
    fn import(&self, attributes: Template, options: &ObjectOptions) -> Result<(Object, KeyType)> {
        let (Some(AttributeValue::ObjectClass(class)), Some(AttributeValue::KeyType(key_type))) = (
            attributes.get(A::CLASS).cloned(),
            attributes.get(A::KEY_TYPE).cloned(),
        ) else {
            let missing = if attributes.get(A::CLASS).is_none() {
                A::CLASS
            } else {
                A::KEY_TYPE
            };
            return Err(Error::MissingAttribute(missing));
        };
        let template = attributes.merge(&options.key_template(class, key_type));
        let object = self.core().create_object(&template)?;
        Ok((
            self.honoured
                .check(object, &template, Function::CreateObject)?,
            key_type,
        ))
    }

    /// Imports an X.509 certificate (DER) as a certificate object with the basic
    /// attributes (python's default), made as `options` say (storage, label, id,
    /// template); [`certificate_template`] with [`CertificateAttributes::Extended`] and
    /// [`ObjectOptions::template`] add the dates and key identifiers.
    ///
    /// # Errors
    /// [`Error::Encoding`] when `der` is not an X.509 certificate; the module's error.
    pub fn import_certificate(&self, der: &[u8], options: &ObjectOptions) -> Result<Certificate> {
        let template = certificate_template(der, CertificateAttributes::Basic)?
            .merge(&options.object_template(ObjectClass::CERTIFICATE));
        Ok(Certificate {
            object: self.core().create_object(&template)?,
        })
    }

    /// The certificate objects matching `template` (its class is added).
    ///
    /// # Errors
    /// The module's error from the search.
    pub fn get_certificates(&self, template: &Template) -> Result<Vec<Certificate>> {
        let template = template.clone().with(A::CLASS, ObjectClass::CERTIFICATE);
        Ok(self
            .core()
            .get_objects(&template)?
            .into_iter()
            .map(|object| Certificate { object })
            .collect())
    }
}

/// A certificate object (python-pkcs11's `Certificate`). Equal to another value for the
/// same object through the same session.
///
/// ```no_run
/// # fn demo(session: &p11::Session) -> p11::Result<()> {
/// use p11::Template;
/// for cert in session.get_certificates(&Template::new())? {
///     let info = cert.info()?; // subject, issuer (DER), serial, validity, key ids
///     println!("valid {:?} to {:?}", info.not_before, info.not_after);
///     let der = cert.value()?;
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Certificate {
    object: Object,
}

impl Certificate {
    pub(crate) fn new(object: Object) -> Certificate {
        Certificate { object }
    }

    /// The core object underneath: the escape hatch to what the facade does not wrap.
    pub fn core(&self) -> &Object {
        &self.object
    }

    /// One attribute, typed (python's `certificate[Attribute.X]`).
    ///
    /// # Errors
    /// The module's error; [`Error::AttributeKind`] when the value is of another kind.
    pub fn get<T: p11_core::FromAttribute>(&self, ty: A) -> Result<T> {
        self.object.get(ty)
    }

    /// The certificate's DER (`CKA_VALUE`).
    ///
    /// # Errors
    /// The module's error reading `CKA_VALUE`.
    pub fn value(&self) -> Result<Vec<u8>> {
        bytes(&self.object, A::VALUE)
    }

    /// Its fields and public key, decoded from the value.
    ///
    /// # Errors
    /// As [`value`](Self::value); [`Error::Encoding`] for DER that is no certificate.
    pub fn info(&self) -> Result<CertificateInfo> {
        CertificateInfo::from_der(&self.value()?).map_err(asn1_error)
    }

    /// Destroys the object on the token.
    ///
    /// # Errors
    /// The module's error from `C_DestroyObject`.
    pub fn destroy(self) -> Result<()> {
        self.object.destroy()
    }
}
