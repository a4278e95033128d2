//! Signing, verifying, encrypting and decrypting files with token keys, by the key type's
//! default mechanism (python-pkcs11's) unless told otherwise.

use crate::connect::{Connection, Login};
use crate::objects::find;
use crate::output::{spec_name, text, Output};
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use p11::{
    Decrypt, Encrypt, Key, KeyType, Mechanism, MechanismType, Object, Sign as _, Verify as _,
};
use serde_json::json;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Sign {
    /// The private or secret key: a PKCS #11 URI or a label.
    #[arg(long)]
    key: String,
    /// The file to sign; `-` for standard input.
    #[arg(long = "in")]
    input: PathBuf,
    /// Where to write the signature (else it is printed in hex).
    #[arg(long)]
    out: Option<PathBuf>,
    /// A mechanism without parameters (CKM_ name), instead of the key type's default
    /// (python-pkcs11's): EC ECDSA_SHA512, DSA DSA_SHA512, RSA SHA512_RSA_PKCS,
    /// Ed25519 EDDSA, AES AES_CMAC, generic secret SHA256_HMAC.
    #[arg(long)]
    mechanism: Option<String>,
    /// How ECDSA and DSA signatures are written: der (as OpenSSL writes and reads
    /// them) or raw (r || s, as PKCS #11 gives them). Other signatures have one form.
    #[arg(long, value_enum, default_value_t = Format::Der)]
    format: Format,
    /// PSS mechanisms: the salt's length in bytes, instead of the hash's (0: a
    /// deterministic signature; OpenSSL's `-sigopt rsa_pss_saltlen:N`).
    #[arg(long, requires = "mechanism")]
    salt_len: Option<usize>,
}

/// The most `random` draws: a bound on what a caller's number allocates.
const RANDOM_MAX: i64 = 1 << 20;

#[derive(Debug, clap::Args)]
pub struct Random {
    /// How many bytes (at most 1 MiB).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=RANDOM_MAX))]
    bytes: u32,
    /// Where to write them (else they are printed in hex).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct Hash {
    /// The file to digest; `-` for standard input.
    #[arg(long = "in")]
    input: PathBuf,
    /// The digest mechanism (CKM_ name): SHA256 unless given.
    #[arg(long, default_value = "SHA256")]
    mechanism: String,
}

/// How an ECDSA or DSA signature is encoded in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A DER `SEQUENCE { r, s }` (OpenSSL's, X.509's).
    Der,
    /// `r || s`, each half the order's length (PKCS #11's).
    Raw,
}

#[derive(Debug, clap::Args)]
pub struct Verify {
    /// The public or secret key: a PKCS #11 URI or a label.
    #[arg(long)]
    key: String,
    /// The signed file; `-` for standard input.
    #[arg(long = "in")]
    input: PathBuf,
    /// The signature file.
    #[arg(long)]
    signature: PathBuf,
    /// A mechanism without parameters (CKM_ name), instead of the key type's default
    /// (as `sign`'s).
    #[arg(long)]
    mechanism: Option<String>,
    /// How an ECDSA or DSA signature is encoded: der or raw (as `sign` writes them);
    /// without it, DER when the file is DER, else raw.
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// PSS mechanisms: the salt's length in bytes, instead of the hash's (as `sign`'s).
    #[arg(long, requires = "mechanism")]
    salt_len: Option<usize>,
}

#[derive(Debug, clap::Args)]
pub struct Crypt {
    /// The key: a PKCS #11 URI or a label.
    #[arg(long)]
    key: String,
    /// The input file; `-` for standard input.
    #[arg(long = "in")]
    input: PathBuf,
    /// The output file; `-` for standard output. A file appears only when the whole
    /// input went through (decrypt: every chunk checked).
    #[arg(long)]
    out: PathBuf,
    /// A raw block-cipher mode for secret keys (AES_CBC_PAD, DES3_CBC_PAD: the IV first,
    /// then the data), which carries no integrity. Without it, an AES or ChaCha20 key
    /// seals the file in p11's authenticated format (AES-GCM or ChaCha20-Poly1305 in
    /// chunks; docs/file-format.md).
    #[arg(long)]
    mechanism: Option<String>,
    /// RSA keys: OAEP's hash (and MGF1's): sha1 (the default, python-pkcs11's and
    /// OpenSSL's), sha256, sha384, sha512.
    #[arg(long, value_enum)]
    oaep_hash: Option<OaepHash>,
}

/// OAEP's hash, MGF1's too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OaepHash {
    /// SHA-1.
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl OaepHash {
    /// The hash mechanism.
    fn hash(self) -> MechanismType {
        match self {
            OaepHash::Sha1 => MechanismType::SHA_1,
            OaepHash::Sha256 => MechanismType::SHA256,
            OaepHash::Sha384 => MechanismType::SHA384,
            OaepHash::Sha512 => MechanismType::SHA512,
        }
    }

    /// RSA-OAEP with this hash, MGF1 over it.
    fn mechanism(self) -> Mechanism<'static> {
        use p11::mechanisms::{Mgf, OaepParams};
        let hash = self.hash();
        // Every hash above has its MGF1.
        let mgf = Mgf::mgf1_for(hash).unwrap_or(Mgf::MGF1_SHA1);
        Mechanism::with(MechanismType::RSA_PKCS_OAEP, OaepParams::new(hash, mgf))
    }
}

/// A mechanism type from its CKM_ name (any case, with or without the prefix).
fn mechanism_type(name: &str) -> Result<MechanismType> {
    spec_name(name, "CKM_")
        .parse()
        .map_err(|e| anyhow::anyhow!("{e} (`p11 mechanisms` lists the token's)"))
}

/// The mechanism `name` names, with its default parameter, or PSS parameters with a salt
/// of `salt_len` bytes.
fn mechanism(name: Option<&str>, salt_len: Option<usize>) -> Result<Option<Mechanism<'static>>> {
    name.map(|name| {
        let ty = mechanism_type(name)?;
        let Some(salt_len) = salt_len else {
            return Ok(Mechanism::new(ty));
        };
        let pss = p11::mechanisms::PssParams::for_mechanism(ty)
            .with_context(|| format!("--salt-len is for PSS mechanisms, not {ty}"))?;
        Ok(Mechanism::with(ty, pss.with_salt_len(salt_len)))
    })
    .transpose()
}

/// A whole file, or standard input for `-`, in memory wiped when dropped.
pub fn read(path: &Path) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    let mut bytes = zeroize::Zeroizing::new(Vec::new());
    let (mut input, _) = reader(path)?;
    input
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(bytes)
}

pub fn sign(connection: &Connection, args: &Sign, out: &Output) -> Result<()> {
    let session = connection.session(Login::User)?;
    let key = find(&session, &args.key, |o| {
        matches!(o, Object::PrivateKey(_) | Object::SecretKey(_))
    })?;
    let data = read(&args.input)?;
    let with = mechanism(args.mechanism.as_deref(), args.salt_len)?;
    let signature = match (&key, &with) {
        (Object::PrivateKey(key), Some(m)) => key.with_mechanism(m).sign(&data)?,
        (Object::PrivateKey(key), None) => key.sign(&data)?,
        (Object::SecretKey(key), Some(m)) => key.with_mechanism(m).sign(&data)?,
        (Object::SecretKey(key), None) => key.sign(&data)?,
        _ => bail!("only private and secret keys sign"),
    };
    let signature = match (args.format, pair_kind(&key)) {
        (Format::Der, Some(DerKind::Ecdsa)) => p11::asn1::ec::encode_ecdsa_signature(&signature)?,
        (Format::Der, Some(DerKind::Dsa)) => p11::asn1::dsa::encode_dsa_signature(&signature)?,
        _ => signature,
    };
    bytes_out(out, args.out.as_deref(), "signature", &signature, |n| {
        format!("a {n}-byte signature")
    })
}

/// `bytes` written to `path` (saying so, as `what(length)`), or printed in hex as the
/// JSON field `field`.
pub fn bytes_out(
    out: &Output,
    path: Option<&Path>,
    field: &str,
    bytes: &[u8],
    what: impl Fn(usize) -> String,
) -> Result<()> {
    match path {
        Some(path) => {
            std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?;
            out.print(
                json!({ "written": path.display().to_string(), "length": bytes.len() }),
                |v| format!("wrote {} to {}", what(bytes.len()), text(&v["written"])),
            );
        }
        None => out.print(json!({ field: hex::encode(bytes) }), |v| {
            text(&v[field]).to_owned()
        }),
    }
    Ok(())
}

pub fn random(connection: &Connection, args: &Random, out: &Output) -> Result<()> {
    let bytes = usize::try_from(args.bytes)?;
    let session = connection.session(Login::IfPin)?;
    let random = zeroize::Zeroizing::new(session.generate_random(bytes * 8)?);
    bytes_out(out, args.out.as_deref(), "random", &random, |n| {
        format!("{n} random bytes")
    })
}

/// The file streamed through the token's digest, in parts (any size, bounded memory).
pub fn hash(connection: &Connection, args: &Hash, out: &Output) -> Result<()> {
    let ty = mechanism_type(&args.mechanism)?;
    let session = connection.session(Login::IfPin)?;
    let mut digester = session.digester(ty)?;
    let name = args.input.display().to_string();
    let (mut input, _) = reader(&args.input)?;
    std::io::copy(&mut input, &mut digester)?;
    let digest = hex::encode(digester.finish()?);
    out.print(json!({ "digest": digest, "file": name }), |v| {
        format!("{}  {}", text(&v["digest"]), text(&v["file"]))
    });
    Ok(())
}

/// The signature families with a DER form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DerKind {
    Ecdsa,
    Dsa,
}

/// Whether `key`'s signatures have a DER form (EC and DSA keys).
fn pair_kind(key: &Object) -> Option<DerKind> {
    let key_type = match key {
        Object::PrivateKey(key) => key.key_type(),
        Object::PublicKey(key) => key.key_type(),
        _ => return None,
    };
    match key_type {
        KeyType::EC => Some(DerKind::Ecdsa),
        KeyType::DSA => Some(DerKind::Dsa),
        _ => None,
    }
}

/// The `r || s` PKCS #11 verifies, from a signature file in `format` (or, without one,
/// DER when it decodes as DER for this key, else the file as it is).
fn as_raw(key: &Object, signature: Vec<u8>, format: Option<Format>) -> Result<Vec<u8>> {
    let Some(kind) = pair_kind(key) else {
        if format == Some(Format::Der) {
            bail!("only ECDSA and DSA signatures have a DER form");
        }
        return Ok(signature);
    };
    if format == Some(Format::Raw) {
        return Ok(signature);
    }
    let Object::PublicKey(public) = key else {
        return Ok(signature);
    };
    let decoded = match (kind, p11::util::public_key_of(public)?) {
        (DerKind::Ecdsa, p11::asn1::PublicKey::Ec { parameters, .. }) => {
            let curve = parameters.curve()?;
            p11::asn1::ec::decode_ecdsa_signature(&signature, curve)
        }
        (
            DerKind::Dsa,
            p11::asn1::PublicKey::Dsa {
                parameters: Some(parameters),
                ..
            },
        ) => {
            let half = parameters.q.len() - usize::from(parameters.q.first() == Some(&0));
            p11::asn1::dsa::decode_dsa_signature(&signature, half)
        }
        _ => return Ok(signature),
    };
    match (decoded, format) {
        (Ok(raw), _) => Ok(raw),
        (Err(e), Some(Format::Der)) => Err(anyhow::anyhow!("the signature is not DER: {e}")),
        // Not DER: the raw form.
        (Err(_), _) => Ok(signature),
    }
}

/// Exit status 0 for a good signature, 1 for a bad one.
pub fn verify(connection: &Connection, args: &Verify, out: &Output) -> Result<ExitCode> {
    let session = connection.session(Login::IfPin)?;
    let key = find(&session, &args.key, |o| {
        matches!(o, Object::PublicKey(_) | Object::SecretKey(_))
    })?;
    let data = read(&args.input)?;
    let signature = read(&args.signature)?;
    let signature = as_raw(&key, signature.to_vec(), args.format)?;
    let with = mechanism(args.mechanism.as_deref(), args.salt_len)?;
    let valid = match (&key, &with) {
        (Object::PublicKey(key), Some(m)) => key.with_mechanism(m).verify(&data, &signature)?,
        (Object::PublicKey(key), None) => key.verify(&data, &signature)?,
        (Object::SecretKey(key), Some(m)) => key.with_mechanism(m).verify(&data, &signature)?,
        (Object::SecretKey(key), None) => key.verify(&data, &signature)?,
        _ => bail!("only public and secret keys verify"),
    };
    out.print(json!({ "valid": valid }), |_| {
        if valid {
            "signature valid"
        } else {
            "signature INVALID"
        }
        .into()
    });
    Ok(if valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(crate::status::INVALID)
    })
}

/// The IV length of a secret key type's block cipher: its block size.
fn iv_len(key_type: KeyType) -> Result<usize> {
    Ok(match key_type {
        KeyType::AES => 16,
        KeyType::DES | KeyType::DES2 | KeyType::DES3 => 8,
        other => bail!("raw modes take AES and DES3 keys; not {other}"),
    })
}

/// Where a command reads: a file (its length known, for the progress bar) or stdin.
fn reader(path: &Path) -> Result<(Box<dyn Read>, Option<u64>)> {
    if path.as_os_str() == "-" {
        return Ok((Box::new(std::io::stdin().lock()), None));
    }
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let len = file.metadata().map(|m| m.len()).ok();
    Ok((Box::new(file), len))
}

/// Runs `write` into the output: stdout, or a file that appears (by rename) only when
/// `write` succeeded and is removed otherwise.
fn to_output(path: &Path, write: impl FnOnce(&mut dyn Write) -> Result<u64>) -> Result<u64> {
    if path.as_os_str() == "-" {
        let mut stdout = std::io::stdout().lock();
        return write(&mut stdout);
    }
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let file = create(&partial)?;
    let mut buffered = std::io::BufWriter::new(file);
    let result = write(&mut buffered).and_then(|n| {
        buffered.flush()?;
        Ok(n)
    });
    drop(buffered);
    match result {
        Ok(n) => {
            std::fs::rename(&partial, path)
                .with_context(|| format!("renaming {} to {}", partial.display(), path.display()))?;
            Ok(n)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

/// `input` (of `len` bytes, when known) through `work` into the output `path` (see
/// [`to_output`]), with a progress bar on stderr (hidden when stderr is no terminal or
/// the length is unknown); what `work` says it wrote.
fn through(
    input: Box<dyn Read>,
    len: Option<u64>,
    path: &Path,
    work: impl FnOnce(&mut dyn Read, &mut dyn Write) -> Result<u64>,
) -> Result<u64> {
    let bar = match len {
        Some(len) => ProgressBar::new(len),
        None => ProgressBar::hidden(),
    };
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {eta}")
    {
        bar.set_style(style);
    }
    let mut input = bar.wrap_read(input);
    let written = to_output(path, |output| work(&mut input, output))?;
    bar.finish_and_clear();
    Ok(written)
}

fn create(path: &Path) -> Result<File> {
    File::create(path).with_context(|| format!("creating {}", path.display()))
}

fn done(out: &Output, args: &Crypt, written: u64) {
    if args.out.as_os_str() == "-" {
        return; // the output is the data
    }
    out.print(
        json!({ "written": args.out.display().to_string(), "length": written }),
        |v| format!("wrote {} bytes to {}", v["length"], text(&v["written"])),
    );
}

/// A raw mode's mechanism type, with a warning that it has no integrity.
fn raw_mode(name: &str) -> Result<MechanismType> {
    let ty = mechanism_type(name)?;
    if crate::sealed::Aead::ALL
        .iter()
        .any(|aead| aead.mechanism_type() == ty)
    {
        bail!(
            "{ty} is how p11 seals files, in checked chunks, by the key's type: leave out \
             --mechanism (it names the raw modes: AES_CBC_PAD, DES3_CBC_PAD)"
        );
    }
    eprintln!(
        "warning: {ty} carries no integrity: a changed file decrypts to changed data \
         (without --mechanism, p11 seals files with AES-GCM or ChaCha20-Poly1305)"
    );
    Ok(ty)
}

/// The most an RSA-OAEP encryption with `hash` takes with `key`: its modulus less twice
/// the hash and 2 bytes.
fn rsa_room(key: &p11::PublicKey, hash: OaepHash) -> Result<Option<usize>> {
    Ok(match p11::util::public_key_of(key)? {
        p11::asn1::PublicKey::Rsa(rsa) => {
            let modulus = rsa.modulus.iter().skip_while(|b| **b == 0).count();
            let hash_len = hash.hash().digest_len().unwrap_or(0);
            Some(modulus.saturating_sub(2 * hash_len + 2))
        }
        _ => None,
    })
}

/// Secret keys: AES seals the input in p11's authenticated format; a raw mode
/// (--mechanism) writes the IV (random, from the token) then the input through it.
/// Public keys: one part, by the key type's default (RSA: OAEP).
pub fn encrypt(connection: &Connection, args: &Crypt, out: &Output) -> Result<()> {
    let session = connection.session(Login::User)?;
    let key = find(&session, &args.key, |o| {
        matches!(o, Object::PublicKey(_) | Object::SecretKey(_))
    })?;
    let written = match key {
        Object::SecretKey(key) => {
            let (input, len) = reader(&args.input)?;
            match &args.mechanism {
                Some(name) => {
                    let ty = raw_mode(name)?;
                    let iv = session.generate_random(iv_len(key.key_type())? * 8)?;
                    let mechanism = Mechanism::with_iv(ty, &iv)?;
                    through(input, len, &args.out, |input, output| {
                        output.write_all(&iv)?;
                        let mut writer = key.with_mechanism(&mechanism).encryptor()?.writer(output);
                        let n = std::io::copy(input, &mut writer)?;
                        writer.finish()?.flush()?;
                        Ok(n + iv.len() as u64)
                    })?
                }
                None => {
                    let aead = crate::sealed::Aead::for_key(key.key_type()).with_context(|| {
                        format!(
                            "p11 seals files with AES keys (AES-GCM) and ChaCha20 keys \
                             (ChaCha20-Poly1305); for a {} key give a raw mode (--mechanism \
                             DES3_CBC_PAD), which carries no integrity",
                            key.key_type()
                        )
                    })?;
                    let uri = key.core().uri().map(|u| u.to_string()).unwrap_or_default();
                    let random = session.generate_random(56)?;
                    let mut prefix = [0u8; 7];
                    prefix.copy_from_slice(
                        random
                            .get(..7)
                            .context("the token's random draw was short")?,
                    );
                    through(input, len, &args.out, |mut input, output| {
                        crate::sealed::seal(&key, aead, &uri, prefix, &mut input, output)
                    })?
                }
            }
        }
        Object::PublicKey(key) => {
            let data = read(&args.input)?;
            let hash = args.oaep_hash.unwrap_or(OaepHash::Sha1);
            if let Some(room) = rsa_room(&key, hash)? {
                if data.len() > room {
                    bail!(
                        "RSA-OAEP with this key encrypts at most {room} bytes, and the input is \
                         {}: seal files with an AES key (and wrap that key with RSA)",
                        data.len()
                    );
                }
            }
            let sealed = match args.oaep_hash {
                Some(hash) => key.with_mechanism(hash.mechanism()).encrypt(&data)?,
                None => key.encrypt(&data)?,
            };
            to_output(&args.out, |output| {
                output.write_all(&sealed)?;
                Ok(sealed.len() as u64)
            })?
        }
        _ => bail!("only public and secret keys encrypt"),
    };
    done(out, args, written);
    Ok(())
}

/// What [`encrypt`] wrote, back: a sealed file only once every chunk checked out.
pub fn decrypt(connection: &Connection, args: &Crypt, out: &Output) -> Result<()> {
    let session = connection.session(Login::User)?;
    let key = find(&session, &args.key, |o| {
        matches!(o, Object::PrivateKey(_) | Object::SecretKey(_))
    })?;
    let written = match key {
        Object::SecretKey(key) => {
            let (mut input, len) = reader(&args.input)?;
            match &args.mechanism {
                Some(name) => {
                    let ty = raw_mode(name)?;
                    let mut iv = vec![0u8; iv_len(key.key_type())?];
                    input.read_exact(&mut iv).context(
                        "the input is shorter than its IV: not what `p11 encrypt` wrote",
                    )?;
                    let mechanism = Mechanism::with_iv(ty, &iv)?;
                    let len = len.map(|len| len.saturating_sub(iv.len() as u64));
                    through(input, len, &args.out, |input, output| {
                        let mut counted = Counted {
                            inner: output,
                            written: 0,
                        };
                        let mut writer = key
                            .with_mechanism(&mechanism)
                            .decryptor()?
                            .writer(&mut counted);
                        std::io::copy(input, &mut writer)?;
                        writer.finish()?.flush()?;
                        Ok(counted.written)
                    })?
                }
                None => through(input, len, &args.out, |mut input, output| {
                    crate::sealed::open(&key, &mut input, output)
                })?,
            }
        }
        Object::PrivateKey(key) => {
            let data = read(&args.input)?;
            let plain = zeroize::Zeroizing::new(match args.oaep_hash {
                Some(hash) => key.with_mechanism(hash.mechanism()).decrypt(&data)?,
                None => key.decrypt(&data)?,
            });
            to_output(&args.out, |output| {
                output.write_all(plain.as_slice())?;
                Ok(plain.len() as u64)
            })?
        }
        _ => bail!("only private and secret keys decrypt"),
    };
    done(out, args, written);
    Ok(())
}

/// A writer that counts what passes through it.
struct Counted<'w> {
    inner: &'w mut dyn Write,
    written: u64,
}

impl Write for Counted<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(bytes)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
