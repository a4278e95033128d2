//! Keys changed, wrapped, unwrapped and derived: `set`, `wrap`, `unwrap`, `derive`.

use crate::connect::{Connection, Login};
use crate::objects::{describe_and_print, find, key_of, key_type, token_options, usage_of};
use crate::output::Output;
use anyhow::{bail, Context, Result};
use p11::mechanisms::Ecdh1DeriveParams;
use p11::{
    AttributeType as A, Derive as _, Object, ObjectOptions, SecretKey, Template, Unwrap as _,
    Wrap as _,
};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Set {
    /// The object: a PKCS #11 URI or a label.
    object: String,
    /// A new label.
    #[arg(long)]
    label: Option<String>,
    /// A new id, in hex.
    #[arg(long)]
    id: Option<String>,
    /// Keys: what the key may do from now on (comma-separated, as `keygen --usage`); the
    /// usages of its class not named are turned off. Many tokens refuse to turn one back
    /// on.
    #[arg(long, value_delimiter = ',')]
    usage: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct Wrap {
    /// The wrapping key (AES: AES key wrap; RSA public key: OAEP): a URI or a label.
    #[arg(long)]
    key: String,
    /// The key to wrap (it must be extractable): a URI or a label.
    #[arg(long)]
    target: String,
    /// Where to write the wrapped key.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct Unwrap {
    /// The unwrapping key (AES, or an RSA private key): a URI or a label.
    #[arg(long)]
    key: String,
    /// The wrapped key's file.
    #[arg(long = "in")]
    input: PathBuf,
    /// The secret key's type (aes, generic-secret, ...).
    #[arg(long = "type")]
    key_type: String,
    /// The new key's label.
    #[arg(long)]
    label: String,
    /// The new key's id, in hex.
    #[arg(long)]
    id: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct Derive {
    /// Our EC private key: a URI or a label.
    #[arg(long)]
    key: String,
    /// The other party's public key: a PEM or DER SubjectPublicKeyInfo file.
    #[arg(long)]
    peer: PathBuf,
    /// The derived secret key's type (aes, generic-secret, ...).
    #[arg(long = "type")]
    key_type: String,
    /// Its size in bits.
    #[arg(long)]
    bits: usize,
    /// Its label.
    #[arg(long)]
    label: String,
}

/// Changes an object's label or id, or a key's usage.
pub fn set(connection: &Connection, args: &Set, out: &Output) -> Result<()> {
    let usage = usage_of(&args.usage)?;
    if args.label.is_none() && args.id.is_none() && usage.is_none() {
        bail!("nothing to set: give --label, --id or --usage");
    }
    let session = connection.session(Login::User)?;
    let mut object = find(&session, &args.object, |_| true)?;
    let mut changes = Template::new();
    if let Some(label) = &args.label {
        changes = changes.with(A::LABEL, label.as_str());
    }
    if let Some(id) = &args.id {
        changes = changes.with(A::ID, hex::decode(id).context("--id is not hex")?);
    }
    let mut options = ObjectOptions::new().template(changes.clone());
    if let Some(usage) = usage {
        options = options.capabilities(usage);
    }
    match &mut object {
        Object::SecretKey(key) => key.change(&options)?,
        Object::PublicKey(key) => key.change(&options)?,
        Object::PrivateKey(key) => key.change(&options)?,
        _ if usage.is_some() => bail!("--usage is for keys"),
        other => other.set_attributes(&changes)?,
    }
    // Described as the token now has it (every attribute is read afresh).
    describe_and_print(out, &[object])
}

/// Wraps an extractable key under another, by the wrapping key's default mechanism.
pub fn wrap(connection: &Connection, args: &Wrap, out: &Output) -> Result<()> {
    let session = connection.session(Login::User)?;
    let target = find(&session, &args.target, |o| {
        matches!(o, Object::SecretKey(_) | Object::PrivateKey(_))
    })?;
    let target = key_of(&target).context("only secret and private keys are wrapped")?;
    let wrapped = match find(&session, &args.key, |o| {
        matches!(o, Object::SecretKey(_) | Object::PublicKey(_))
    })? {
        Object::SecretKey(key) => key.wrap_key(target)?,
        Object::PublicKey(key) => key.wrap_key(target)?,
        _ => bail!("only secret and public keys wrap"),
    };
    crate::crypto::bytes_out(out, Some(&args.out), "wrapped", &wrapped, |n| {
        format!("a {n}-byte wrapped key")
    })
}

/// Unwraps a secret key onto the token.
pub fn unwrap(connection: &Connection, args: &Unwrap, out: &Output) -> Result<()> {
    let session = connection.session(Login::User)?;
    let wrapped = crate::crypto::read(&args.input)?;
    let key_type = key_type(&args.key_type)?;
    let options = token_options(&args.label, args.id.as_deref())?;
    let made: SecretKey = match find(&session, &args.key, |o| {
        matches!(o, Object::SecretKey(_) | Object::PrivateKey(_))
    })? {
        Object::SecretKey(key) => key.unwrap_key(key_type, &wrapped, &options)?,
        Object::PrivateKey(key) => key.unwrap_key(key_type, &wrapped, &options)?,
        _ => bail!("only secret and private keys unwrap"),
    };
    describe_and_print(out, &[Object::SecretKey(made)])
}

/// ECDH: a secret key from our private key and the peer's public key.
pub fn derive(connection: &Connection, args: &Derive, out: &Output) -> Result<()> {
    let bytes =
        std::fs::read(&args.peer).with_context(|| format!("reading {}", args.peer.display()))?;
    let der = match std::str::from_utf8(&bytes)
        .ok()
        .filter(|t| t.contains("-----BEGIN"))
    {
        Some(text) => {
            p11::asn1::pem::decode(text)
                .context("reading the PEM block")?
                .1
        }
        None => bytes,
    };
    let peer = p11::asn1::PublicKey::from_spki_der(&der).context("reading the peer's key")?;
    let point = match peer {
        p11::asn1::PublicKey::Ec { point, .. } => point,
        p11::asn1::PublicKey::X25519(key) => key,
        _ => bail!("--peer must be an EC or X25519 public key"),
    };
    let session = connection.session(Login::User)?;
    let Object::PrivateKey(private) =
        find(&session, &args.key, |o| matches!(o, Object::PrivateKey(_)))?
    else {
        bail!("{:?} names no private key", args.key);
    };
    let key_type = key_type(&args.key_type)?;
    let made = private
        .with_param(Ecdh1DeriveParams::new(&point))
        .derive_key(key_type, args.bits, &token_options(&args.label, None)?)?;
    describe_and_print(out, &[Object::SecretKey(made)])
}
