//! Certificate requests and self-signed certificates for a token key pair, signed on the
//! token (rcgen through `p11::rcgen`), as PEM that OpenSSL reads.

use crate::connect::{Connection, Login};
use crate::objects::find;
use crate::output::{text, Output};
use anyhow::{bail, Context, Result};
use p11::rcgen::{rcgen, TokenKeyPair};
use p11::{AttributeType as A, Key, KeyQuery, Object, PrivateKey, PublicKey, Session};
use serde_json::json;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Request {
    /// The private key: a PKCS #11 URI or a label (its public key is found by the same
    /// label and id).
    #[arg(long)]
    key: String,
    /// The subject: `CN=name,O=organisation,OU=unit,C=country,ST=state,L=locality`.
    #[arg(long)]
    subject: String,
    /// A DNS name for the subjectAltName extension (repeatable).
    #[arg(long = "dns")]
    dns: Vec<String>,
    /// Where to write the PEM (else stdout).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct SelfSigned {
    #[command(flatten)]
    request: Request,
    /// Days of validity from now.
    #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..=36500))]
    days: u32,
    /// A CA certificate (basicConstraints CA, keyCertSign), to sign others' with the key.
    #[arg(long)]
    ca: bool,
}

/// The key pair `spec` names: the private key, and the public key of the same label
/// and id.
fn key_pair(session: &Session, spec: &str) -> Result<TokenKeyPair> {
    let Object::PrivateKey(private) = find(session, spec, |o| matches!(o, Object::PrivateKey(_)))?
    else {
        bail!("{spec:?} names no private key");
    };
    let public = public_half(session, &private)?;
    Ok(TokenKeyPair::new(private, &public)?)
}

fn public_half(session: &Session, private: &PrivateKey) -> Result<PublicKey> {
    let values = private.core().get_present(&[A::LABEL, A::ID])?;
    let mut query = KeyQuery::new().key_type(private.key_type());
    if let Some(Some(label)) = values.first() {
        query = query.label(label.as_text().unwrap_or_default());
    }
    if let Some(Some(id)) = values.get(1) {
        query = query.id(id.as_bytes().unwrap_or_default());
    }
    session
        .get_key(&query)
        .context("finding the private key's public key (same label and id)")
}

/// `CN=a,O=b` as a distinguished name.
fn subject(text: &str) -> Result<rcgen::DistinguishedName> {
    let mut name = rcgen::DistinguishedName::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((key, value)) = part.split_once('=') else {
            bail!("{part:?} in --subject is not KEY=value");
        };
        let kind = match key.trim().to_ascii_uppercase().as_str() {
            "CN" => rcgen::DnType::CommonName,
            "O" => rcgen::DnType::OrganizationName,
            "OU" => rcgen::DnType::OrganizationalUnitName,
            "C" => rcgen::DnType::CountryName,
            "ST" => rcgen::DnType::StateOrProvinceName,
            "L" => rcgen::DnType::LocalityName,
            other => bail!("--subject takes CN, O, OU, C, ST and L, not {other:?}"),
        };
        name.push(kind, value.trim());
    }
    Ok(name)
}

fn params(request: &Request) -> Result<rcgen::CertificateParams> {
    let mut params = rcgen::CertificateParams::new(request.dns.clone())?;
    params.distinguished_name = subject(&request.subject)?;
    Ok(params)
}

fn write(out: &Output, path: Option<&PathBuf>, what: &str, pem: &str) -> Result<()> {
    match path {
        Some(path) => {
            std::fs::write(path, pem).with_context(|| format!("writing {}", path.display()))?;
            out.print(
                json!({ "written": path.display().to_string(), "what": what }),
                |v| format!("wrote the {} to {}", text(&v["what"]), text(&v["written"])),
            );
        }
        None => out.print(json!({ what: pem }), |_| pem.trim_end().to_owned()),
    }
    Ok(())
}

/// A PKCS #10 request for the key pair, signed on the token.
pub fn request(connection: &Connection, args: &Request, out: &Output) -> Result<()> {
    let session = connection.session(Login::User)?;
    let key = key_pair(&session, &args.key)?;
    let csr = params(args)?.serialize_request(&key)?.pem()?;
    write(out, args.out.as_ref(), "csr", &csr)
}

/// A self-signed certificate for the key pair, signed on the token.
pub fn self_signed(connection: &Connection, args: &SelfSigned, out: &Output) -> Result<()> {
    let session = connection.session(Login::User)?;
    let key = key_pair(&session, &args.request.key)?;
    let mut params = params(&args.request)?;
    params.serial_number = Some(key.random_serial()?);
    let now = std::time::SystemTime::now();
    let days = std::time::Duration::from_secs(u64::from(args.days) * 86_400);
    params.not_before = now.into();
    params.not_after = (now + days).into();
    if args.ca {
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
    }
    let certificate = params.self_signed(&key)?.pem();
    write(out, args.request.out.as_ref(), "certificate", &certificate)
}
