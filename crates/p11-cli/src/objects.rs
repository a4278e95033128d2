//! Objects: listing (with URIs), finding one by URI or label, generating keys, deleting,
//! importing and exporting PEM/DER.

use crate::connect::{Connection, Login};
use crate::output::{spec_name, text, Output};
use anyhow::{bail, Context, Result};
use p11::asn1::pem;
use p11::mechanisms::{MlDsaParameterSet, MlKemParameterSet, SlhDsaParameterSet};
use p11::{AttributeType as A, KeyType, Object, ObjectOptions, Session, Storage, Template, Uri};
use serde_json::{json, Value};
use std::fmt::Write;
use std::path::PathBuf;

/// The template a URI or a label names.
fn template_of(spec: &str) -> Result<Template> {
    if spec.starts_with("pkcs11:") {
        let uri: Uri = spec.parse().context("not a valid PKCS#11 URI")?;
        Ok(uri.object_template())
    } else {
        Ok(Template::new().with(A::LABEL, spec))
    }
}

/// The one object `spec` (a URI or a label) names, of one of the classes `wanted` takes.
pub fn find(session: &Session, spec: &str, wanted: impl Fn(&Object) -> bool) -> Result<Object> {
    let found: Vec<Object> = session
        .get_objects(&template_of(spec)?)?
        .into_iter()
        .filter(|object| wanted(object))
        .collect();
    match found.len() {
        1 => Ok(found.into_iter().next().context("one object")?),
        0 => bail!("no suitable object matches {spec:?} (`p11 objects` lists them)"),
        n => bail!("{n} objects match {spec:?}: name one by its URI (`p11 objects`)"),
    }
}

fn describe(object: &Object) -> Result<Value> {
    let values = object.get_present(&[A::CLASS, A::LABEL, A::ID])?;
    let field = |i: usize| values.get(i).cloned().flatten();
    let class = match field(0) {
        Some(p11::AttributeValue::ObjectClass(class)) => class.to_string(),
        _ => String::new(),
    };
    let label = match field(1) {
        Some(p11::AttributeValue::Text(label)) => label,
        _ => String::new(),
    };
    let id = match field(2) {
        Some(p11::AttributeValue::Bytes(id)) => hex::encode(id.as_slice()),
        _ => String::new(),
    };
    let mut described = json!({
        "class": class,
        "key_type": object.key_type().map(|t| t.to_string()),
        "label": label,
        "id": id,
        "uri": object.uri()?.to_string(),
    });
    if let Some(key) = key_of(object) {
        // Size and access in one read.
        let values = object.get_present(&[
            A::MODULUS,
            A::EC_PARAMS,
            A::VALUE_LEN,
            A::PARAMETER_SET,
            A::SENSITIVE,
            A::EXTRACTABLE,
            A::TOKEN,
            A::PRIVATE,
        ])?;
        let (sizes, flags) = values.split_at(values.len().min(4));
        described["size"] = json!(size_of(key.key_type(), sizes));
        described["usage"] = json!(usage(key.capabilities()?));
        described["access"] = json!(access(flags));
    }
    Ok(described)
}

/// The key of a key object.
pub fn key_of(object: &Object) -> Option<&dyn p11::Key> {
    match object {
        Object::SecretKey(key) => Some(key),
        Object::PublicKey(key) => Some(key),
        Object::PrivateKey(key) => Some(key),
        _ => None,
    }
}

/// A key's size as people name it, from its MODULUS, EC_PARAMS, VALUE_LEN and
/// PARAMETER_SET: RSA bits, a curve, a secret key's bits, a post-quantum parameter set;
/// empty when the token does not say.
fn size_of(key_type: KeyType, values: &[Option<p11::AttributeValue>]) -> String {
    let field = |i: usize| values.get(i).cloned().flatten();
    match key_type {
        KeyType::RSA => match field(0) {
            Some(p11::AttributeValue::Bytes(n)) => {
                format!("{} bits", n.iter().skip_while(|b| **b == 0).count() * 8)
            }
            _ => String::new(),
        },
        KeyType::EC | KeyType::EC_EDWARDS | KeyType::EC_MONTGOMERY => match field(1) {
            Some(p11::AttributeValue::Bytes(der)) => p11::asn1::ec::EcParameters::from_der(&der)
                .ok()
                .and_then(|p| p.curve().ok().map(|c| c.name().to_owned()))
                .unwrap_or_else(|| "explicit curve".to_owned()),
            _ => String::new(),
        },
        KeyType::ML_DSA | KeyType::ML_KEM | KeyType::SLH_DSA => match field(3) {
            Some(p11::AttributeValue::Ulong(set)) => {
                // As keygen's --parameter-set takes it: ML-DSA-65, not CKP_ML_DSA_65.
                let spec = match key_type {
                    KeyType::ML_DSA => MlDsaParameterSet::new(set).to_string(),
                    KeyType::ML_KEM => MlKemParameterSet::new(set).to_string(),
                    _ => SlhDsaParameterSet::new(set).to_string(),
                };
                spec.trim_start_matches("CKP_").replace('_', "-")
            }
            _ => String::new(),
        },
        // (Some modules keep 0 for a key they unwrapped: no size then.)
        _ => match field(2) {
            Some(p11::AttributeValue::Ulong(bytes)) if bytes > 0 => {
                format!("{} bits", u128::from(bytes) * 8)
            }
            // ChaCha20 has one key size (RFC 8439), which NSS does not report.
            _ if key_type == KeyType::CHACHA20 => "256 bits".to_owned(),
            _ => String::new(),
        },
    }
}

fn usage(capabilities: p11::Capabilities) -> Vec<String> {
    capabilities
        .iter_names()
        .map(|(name, _)| name.to_ascii_lowercase())
        .collect()
}

/// The access flags that matter for a key, from its SENSITIVE, EXTRACTABLE, TOKEN and
/// PRIVATE: sensitive, extractable, on the token, private (needs a login to see).
fn access(values: &[Option<p11::AttributeValue>]) -> Vec<&'static str> {
    let names = ["sensitive", "extractable", "token", "private"];
    names
        .iter()
        .zip(values)
        .filter(|(_, value)| matches!(value, Some(p11::AttributeValue::Bool(true))))
        .map(|(name, _)| *name)
        .collect()
}

/// Describes and prints `objects`.
pub fn describe_and_print(out: &Output, objects: &[Object]) -> Result<()> {
    let described = objects.iter().map(describe).collect::<Result<Vec<_>>>()?;
    print_objects(out, described);
    Ok(())
}

fn print_objects(out: &Output, mut objects: Vec<Value>) {
    // Sorted: by class, key type, label, id.
    let key = |o: &Value| {
        [&o["class"], &o["key_type"], &o["label"], &o["id"]].map(|v| text(v).to_owned())
    };
    objects.sort_by_key(key);
    out.print(Value::Array(objects), |v| {
        let mut s = String::new();
        for o in v.as_array().into_iter().flatten() {
            let kind = o["key_type"].as_str().unwrap_or(text(&o["class"]));
            let _ = write!(
                s,
                "{:<24} {:<28} id {}",
                kind,
                text(&o["label"]),
                text(&o["id"]),
            );
            if !o["size"].is_null() {
                let words = |v: &Value| -> String {
                    v.as_array()
                        .into_iter()
                        .flatten()
                        .map(|w| text(w).to_owned())
                        .collect::<Vec<_>>()
                        .join(",")
                };
                let _ = write!(
                    s,
                    "\n  {} [{}] [{}]",
                    text(&o["size"]),
                    words(&o["usage"]),
                    words(&o["access"])
                );
            }
            let _ = writeln!(s, "\n  {}", text(&o["uri"]));
        }
        s
    });
}

pub fn list(connection: &Connection, uri: Option<&str>, out: &Output) -> Result<()> {
    let session = connection.session(Login::IfPin)?;
    let template = match uri {
        Some(spec) => template_of(spec)?,
        None => Template::new(),
    };
    let objects = session
        .get_objects(&template)?
        .iter()
        .map(describe)
        .collect::<Result<Vec<_>>>()?;
    print_objects(out, objects);
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct Keygen {
    /// The key type: rsa, ec, ec-edwards (Ed25519), aes, des3, generic-secret, ... (any
    /// CKK_ name); or --curve, or --parameter-set.
    #[arg(long = "type", required_unless_present_any = ["curve", "parameter_set"])]
    key_type: Option<String>,
    /// The size: RSA modulus bits, the EC curve's bits (256, 384, 521; 255 for Ed25519),
    /// secret key bits.
    #[arg(long, required_unless_present_any = ["curve", "parameter_set"])]
    bits: Option<usize>,
    /// A curve by name, for an EC, Edwards or Montgomery key pair: P-256, P-384, P-521,
    /// secp256k1, brainpoolP256r1 (and the other brainpool curves), Ed25519, Ed448,
    /// X25519, X448.
    #[arg(long, conflicts_with_all = ["key_type", "bits", "parameter_set"])]
    curve: Option<String>,
    /// A post-quantum parameter set (PKCS #11 3.2): ML-DSA-44/65/87, ML-KEM-512/768/1024,
    /// SLH-DSA-SHA2-128S and the other SLH-DSA sets.
    #[arg(long, conflicts_with_all = ["key_type", "bits"])]
    parameter_set: Option<String>,
    /// The label.
    #[arg(long)]
    label: String,
    /// The id, in hex.
    #[arg(long)]
    id: Option<String>,
    /// A session key, gone when the command ends, instead of a token key.
    #[arg(long)]
    session_only: bool,
    /// Extractable (so that `wrap` can wrap it); keys are not, unless asked.
    #[arg(long)]
    extractable: bool,
    /// What the key may do, instead of its type's default (comma-separated: encrypt,
    /// decrypt, sign, verify, wrap, unwrap, derive, encapsulate, decapsulate); a pair's
    /// halves take those of their class (the private key sign, the public key verify).
    #[arg(long, value_delimiter = ',')]
    usage: Vec<String>,
}

/// The capabilities `names` (as `p11 objects` shows them) say; `None` for none given.
pub fn usage_of(names: &[String]) -> Result<Option<p11::Capabilities>> {
    if names.is_empty() {
        return Ok(None);
    }
    names
        .iter()
        .map(|name| {
            p11::Capabilities::from_name(&name.trim().to_ascii_uppercase()).with_context(|| {
                format!(
                    "no usage called {name:?} (encrypt, decrypt, sign, verify, wrap, unwrap, \
                     derive, encapsulate, decapsulate)"
                )
            })
        })
        .try_fold(p11::Capabilities::empty(), |all, one| Ok(all | one?))
        .map(Some)
}

/// What to generate: the key type, its size, and the public template's parameters (a
/// curve, a parameter set) where the size does not say them.
fn what_to_generate(args: &Keygen) -> Result<(KeyType, usize, Option<Template>)> {
    if let Some(name) = &args.curve {
        let curve = p11::asn1::ec::curve_by_name(name).map_err(|_| {
            anyhow::anyhow!(
                "no curve called {name:?} (try P-256, P-384, P-521, secp256k1, Ed25519, X25519)"
            )
        })?;
        let canonical = curve.name();
        let key_type = match canonical {
            "Ed25519" | "Ed448" => KeyType::EC_EDWARDS,
            "X25519" | "X448" => KeyType::EC_MONTGOMERY,
            _ => KeyType::EC,
        };
        let params = p11::asn1::ec::EcParameters::named(canonical)?.to_der()?;
        // The curve is in the template: no size.
        let template = Template::new().with(A::EC_PARAMS, params);
        return Ok((key_type, 0, Some(template)));
    }
    if let Some(name) = &args.parameter_set {
        let spec = spec_name(name, "CKP_");
        let (key_type, set) = if let Ok(set) = spec.parse::<MlDsaParameterSet>() {
            (KeyType::ML_DSA, set.raw())
        } else if let Ok(set) = spec.parse::<MlKemParameterSet>() {
            (KeyType::ML_KEM, set.raw())
        } else if let Ok(set) = spec.parse::<SlhDsaParameterSet>() {
            (KeyType::SLH_DSA, set.raw())
        } else {
            bail!(
                "no parameter set called {name:?} (try ML-DSA-65, ML-KEM-768, SLH-DSA-SHA2-128S)"
            );
        };
        let template = Template::new().with(A::PARAMETER_SET, set);
        return Ok((key_type, 0, Some(template)));
    }
    match (&args.key_type, args.bits) {
        (Some(name), Some(bits)) => Ok((key_type(name)?, bits, None)),
        _ => bail!("--type and --bits, or --curve, or --parameter-set"),
    }
}

/// A key type from its CKK_ name, any case, `-` for `_`.
pub fn key_type(name: &str) -> Result<KeyType> {
    let spec = spec_name(name, "CKK_");
    spec.parse::<KeyType>()
        .map_err(|e| anyhow::anyhow!("{e} (try rsa, ec, ec-edwards, aes, generic-secret)"))
}

/// Whether keys of this type come in pairs (`C_GenerateKeyPair`).
fn is_pair(key_type: KeyType) -> bool {
    matches!(
        key_type,
        KeyType::RSA
            | KeyType::EC
            | KeyType::EC_EDWARDS
            | KeyType::EC_MONTGOMERY
            | KeyType::DSA
            | KeyType::DH
            | KeyType::X9_42_DH
            | KeyType::ML_DSA
            | KeyType::ML_KEM
            | KeyType::SLH_DSA
    )
}

/// Options for a token object labelled `label`, with the id `id` (hex) if given.
pub fn token_options(label: &str, id: Option<&str>) -> Result<ObjectOptions> {
    let mut options = ObjectOptions::new().label(label).storage(Storage::Token);
    if let Some(id) = id {
        options = options.id(hex::decode(id).context("--id is not hex")?);
    }
    Ok(options)
}

pub fn keygen(connection: &Connection, args: &Keygen, out: &Output) -> Result<()> {
    let (key_type, bits, parameters) = what_to_generate(args)?;
    let session = connection.session(Login::User)?;
    let mut options = token_options(&args.label, args.id.as_deref())?;
    if args.session_only {
        options = options.storage(Storage::Session);
    }
    if let Some(parameters) = parameters {
        options = options.public_template(parameters);
    }
    if let Some(usage) = usage_of(&args.usage)? {
        options = options.capabilities(usage);
    }
    if args.extractable {
        let extractable = Template::new().with(A::EXTRACTABLE, true);
        options = options
            .template(extractable.clone())
            .private_template(extractable);
    }
    let made: Vec<Object> = if is_pair(key_type) {
        let (public, private) = session.generate_keypair(key_type, bits, &options)?;
        vec![Object::PublicKey(public), Object::PrivateKey(private)]
    } else {
        vec![Object::SecretKey(
            session.generate_key(key_type, bits, &options)?,
        )]
    };
    let objects = made.iter().map(describe).collect::<Result<Vec<_>>>()?;
    print_objects(out, objects);
    Ok(())
}

pub fn delete(connection: &Connection, spec: &str, out: &Output) -> Result<()> {
    let session = connection.session(Login::IfPin)?;
    let object = find(&session, spec, |_| true)?;
    let uri = object.uri()?.to_string();
    object.destroy()?;
    out.print(json!({ "deleted": uri }), |v| {
        format!("deleted {}", text(&v["deleted"]))
    });
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct Import {
    /// The PEM or DER file; `-` for standard input.
    #[arg(long = "in")]
    input: PathBuf,
    /// What a DER file holds: public (SubjectPublicKeyInfo), private (PKCS #8), sec1 (an
    /// EC private key), pkcs1 (an RSA private key) or certificate; PEM says so itself.
    /// secret: the file is a secret key's raw bytes (with --type).
    #[arg(long)]
    kind: Option<String>,
    /// A secret key's type (aes, chacha20, generic-secret, ...), for --kind secret.
    #[arg(long = "type", requires = "kind")]
    key_type: Option<String>,
    /// The label.
    #[arg(long)]
    label: String,
    /// The id, in hex.
    #[arg(long)]
    id: Option<String>,
}

pub fn import(connection: &Connection, args: &Import, out: &Output) -> Result<()> {
    let bytes = crate::crypto::read(&args.input)?;
    if args.kind.as_deref() == Some("secret") {
        return import_secret(connection, args, &bytes, out);
    }
    if args.key_type.is_some() {
        bail!("--type is for --kind secret (other keys say their type themselves)");
    }
    let (kind, der) = match std::str::from_utf8(&bytes)
        .ok()
        .filter(|text| text.contains("-----BEGIN"))
    {
        Some(text) => {
            let (label, der) = pem::decode(text).context("reading the PEM block")?;
            let der = zeroize::Zeroizing::new(der);
            match label.as_str() {
                "PUBLIC KEY" => ("public".to_owned(), der),
                "PRIVATE KEY" => ("private".to_owned(), der),
                "EC PRIVATE KEY" => ("private".to_owned(), sec1_as_pkcs8(&der)?),
                "RSA PRIVATE KEY" => ("private".to_owned(), pkcs1_as_pkcs8(&der)?),
                "CERTIFICATE" => ("certificate".to_owned(), der),
                other => bail!(
                    "a PEM {other:?} block: p11 imports PUBLIC KEY, PRIVATE KEY (PKCS #8), \
                     EC PRIVATE KEY (SEC 1), RSA PRIVATE KEY (PKCS #1) and CERTIFICATE"
                ),
            }
        }
        None => {
            let kind = args.kind.clone().context(
                "a DER file: say what it holds with --kind \
                 public|private|sec1|pkcs1|certificate (or secret, for a key's raw bytes)",
            )?;
            match kind.as_str() {
                "sec1" => ("private".to_owned(), sec1_as_pkcs8(&bytes)?),
                "pkcs1" => ("private".to_owned(), pkcs1_as_pkcs8(&bytes)?),
                _ => (kind, bytes.clone()),
            }
        }
    };
    let session = connection.session(Login::User)?;
    let options = token_options(&args.label, args.id.as_deref())?;
    let object = match kind.as_str() {
        "public" => Object::PublicKey(session.import_public_key(&der, &options)?),
        "private" => Object::PrivateKey(session.import_private_key(&der, &options)?),
        "certificate" => Object::Certificate(session.import_certificate(&der, &options)?),
        other => bail!("--kind {other:?}: public, private or certificate"),
    };
    print_objects(out, vec![describe(&object)?]);
    Ok(())
}

/// A secret key's raw bytes as a token key (sensitive, not extractable, as generated
/// ones are), of the `--type` given.
fn import_secret(connection: &Connection, args: &Import, value: &[u8], out: &Output) -> Result<()> {
    let name = args
        .key_type
        .as_deref()
        .context("--kind secret needs the key's --type (aes, chacha20, generic-secret, ...)")?;
    let key_type = key_type(name)?;
    anyhow::ensure!(!value.is_empty(), "the secret key's file is empty");
    if value.starts_with(b"-----BEGIN") {
        bail!("--kind secret takes a key's raw bytes, and this file is PEM");
    }
    let session = connection.session(Login::User)?;
    let options = token_options(&args.label, args.id.as_deref())?;
    let template = options.secret_key_template(key_type).with(A::VALUE, value);
    let object = session.create_object(&template)?;
    print_objects(out, vec![describe(&object)?]);
    Ok(())
}

/// A SEC 1 `ECPrivateKey` (OpenSSL's `EC PRIVATE KEY`, which names its curve) as PKCS #8.
fn sec1_as_pkcs8(der: &[u8]) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    let key = p11::asn1::ec::EcPrivateKey::from_der(der)
        .context("reading a SEC 1 EC private key (ECPrivateKey DER)")?;
    anyhow::ensure!(
        key.parameters.is_some(),
        "the EC private key names no curve (SEC 1 leaves it optional; PKCS #8 carries it)"
    );
    Ok(p11::asn1::PrivateKey::Ec(key).to_pkcs8_der()?)
}

/// A PKCS #1 `RSAPrivateKey` (OpenSSL's `RSA PRIVATE KEY`) as PKCS #8.
fn pkcs1_as_pkcs8(der: &[u8]) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    let key = p11::asn1::RsaPrivateKey::from_der(der)
        .context("reading a PKCS #1 RSA private key (RSAPrivateKey DER)")?;
    Ok(p11::asn1::PrivateKey::Rsa(key).to_pkcs8_der()?)
}

#[derive(Debug, clap::Args)]
pub struct Export {
    /// The public key or certificate: a PKCS #11 URI or a label.
    object: String,
    /// DER instead of PEM.
    #[arg(long)]
    der: bool,
    /// Where to write it (else stdout, PEM only).
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn export(connection: &Connection, args: &Export, out: &Output) -> Result<()> {
    let session = connection.session(Login::IfPin)?;
    let object = find(&session, &args.object, |o| {
        matches!(o, Object::PublicKey(_) | Object::Certificate(_))
    })?;
    let (label, der) = match &object {
        Object::PublicKey(key) => ("PUBLIC KEY", key.to_spki_der()?),
        Object::Certificate(certificate) => ("CERTIFICATE", certificate.value()?),
        _ => bail!("only public keys and certificates export"),
    };
    let bytes = if args.der {
        der
    } else {
        pem::encode(label, &der)?.into_bytes()
    };
    match &args.out {
        Some(path) => {
            std::fs::write(path, &bytes).with_context(|| format!("writing {}", path.display()))?;
            out.print(json!({ "written": path.display().to_string() }), |v| {
                format!("wrote {}", text(&v["written"]))
            });
        }
        None if args.der => bail!("DER is binary: give --out FILE"),
        None => out.print(json!({ "pem": String::from_utf8_lossy(&bytes) }), |v| {
            text(&v["pem"]).to_owned()
        }),
    }
    Ok(())
}
