//! `p11`: PKCS #11 tokens from the command line, on the p11 crates. Lists what a module
//! offers, makes and finds keys (named by PKCS #11 URIs), signs, verifies, encrypts and
//! decrypts files (streamed, with a progress bar), imports and exports PEM/DER, and sets
//! tokens and PINs up. Human output by default, `--json` for scripts.
#![deny(missing_docs)]

mod certify;
mod connect;
mod crypto;
mod keys;
mod objects;
mod output;
mod sealed;
mod tokens;

use clap::{Parser, Subcommand};
use connect::Connection;
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit statuses, as `--help` states them.
mod status {
    /// A signature or MAC did not verify.
    pub const INVALID: u8 = 1;
    /// The command line was not understood.
    pub const USAGE: u8 = 2;
    /// The module, the token or a file failed (the error says which).
    pub const FAILED: u8 = 3;
}

/// The help heading of the options every command takes, listed after the command's own.
const GLOBAL: &str = "Module and token (every command)";

/// PKCS #11 tokens from the command line.
#[derive(Debug, Parser)]
#[command(
    name = "p11",
    version,
    about,
    after_help = "Exit status: 0 done; 1 a signature or MAC did not verify; 2 the command \
                  line was not understood; 3 the module, the token or a file failed."
)]
struct Cli {
    /// The PKCS #11 module (a shared library).
    #[arg(long, env = "PKCS11_MODULE", global = true, help_heading = GLOBAL)]
    module: Option<PathBuf>,
    /// The `C_Initialize` argument string some modules need (NSS: "configdir='sql:DIR'").
    #[arg(long, env = "PKCS11_INIT_ARGS", global = true, help_heading = GLOBAL)]
    init_args: Option<String>,
    /// The token: its label, or a PKCS #11 URI (`pkcs11:token=...`).
    #[arg(long, env = "PKCS11_TOKEN_LABEL", global = true, help_heading = GLOBAL)]
    token: Option<String>,
    /// The user PIN (else a URI's pin-value or pin-source, else a prompt).
    #[arg(long, env = "PKCS11_TOKEN_PIN", global = true, hide_env_values = true, help_heading = GLOBAL)]
    pin: Option<String>,
    /// The security officer's PIN, for init-token and init-pin.
    #[arg(
        long,
        env = "PKCS11_TOKEN_SO_PIN",
        global = true,
        hide_env_values = true,
        help_heading = GLOBAL
    )]
    so_pin: Option<String>,
    /// Print JSON instead of text.
    #[arg(long, global = true, help_heading = GLOBAL)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// What the module says of itself.
    Info,
    /// The module's slots.
    Slots,
    /// The tokens present, with their URIs.
    Tokens,
    /// The token's mechanisms, their key sizes and operations.
    Mechanisms,
    /// The token's objects, with their URIs; only those a URI names, if given.
    Objects {
        /// A PKCS #11 URI naming the objects (label, id, class).
        uri: Option<String>,
    },
    /// Generates a key or key pair on the token.
    Keygen(objects::Keygen),
    /// Deletes the one object a URI or label names.
    Delete {
        /// The object: a PKCS #11 URI or a label.
        object: String,
    },
    /// Signs a file (or MACs it) with a private or secret key.
    Sign(crypto::Sign),
    /// Verifies a signature over a file.
    Verify(crypto::Verify),
    /// Encrypts a file: AES and ChaCha20 keys seal it (AES-GCM or ChaCha20-Poly1305 in
    /// checked chunks, streamed); raw modes on asking; public keys one part (RSA OAEP).
    Encrypt(crypto::Crypt),
    /// Decrypts what `encrypt` wrote (a sealed file only if every chunk checks out).
    Decrypt(crypto::Crypt),
    /// Imports a public key, a private key (PKCS #8, SEC 1, PKCS #1) or a certificate
    /// from PEM or DER; or a secret key from its raw bytes.
    Import(objects::Import),
    /// Exports a public key (SubjectPublicKeyInfo) or certificate as PEM or DER.
    Export(objects::Export),
    /// Initialises the token in a slot (erasing it), with a label and SO PIN.
    InitToken(tokens::InitToken),
    /// Sets the user PIN as the security officer: after init-token, or to unlock a
    /// locked one.
    InitPin(tokens::NewPin),
    /// Changes the user PIN.
    SetPin(tokens::NewPin),
    /// Random bytes from the token's generator.
    Random(crypto::Random),
    /// A file's digest, computed on the token (as `sha256sum` prints it).
    Hash(crypto::Hash),
    /// Changes an object's label or id.
    Set(keys::Set),
    /// Wraps an extractable key under another (AES key wrap, RSA OAEP).
    Wrap(keys::Wrap),
    /// Unwraps a secret key onto the token.
    Unwrap(keys::Unwrap),
    /// Derives a secret key by ECDH from a private key and the peer's public key.
    Derive(keys::Derive),
    /// A certificate signing request (PKCS #10, PEM) for a token key pair.
    Csr(certify::Request),
    /// A self-signed certificate (PEM) for a token key pair, or a CA's with --ca.
    Certificate(certify::SelfSigned),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(usage) => return output::usage(&usage),
    };
    match run(&cli) {
        Ok(code) => code,
        Err(error) => {
            output::error(&error, cli.json);
            ExitCode::from(status::FAILED)
        }
    }
}

fn run(cli: &Cli) -> anyhow::Result<ExitCode> {
    let connection = Connection::open(cli)?;
    let out = output::Output::new(cli.json);
    match &cli.command {
        Command::Info => tokens::info(&connection, &out)?,
        Command::Slots => tokens::slots(&connection, &out)?,
        Command::Tokens => tokens::tokens(&connection, &out)?,
        Command::Mechanisms => tokens::mechanisms(&connection, &out)?,
        Command::Objects { uri } => objects::list(&connection, uri.as_deref(), &out)?,
        Command::Keygen(args) => objects::keygen(&connection, args, &out)?,
        Command::Delete { object } => objects::delete(&connection, object, &out)?,
        Command::Sign(args) => crypto::sign(&connection, args, &out)?,
        Command::Verify(args) => return crypto::verify(&connection, args, &out),
        Command::Encrypt(args) => crypto::encrypt(&connection, args, &out)?,
        Command::Decrypt(args) => crypto::decrypt(&connection, args, &out)?,
        Command::Import(args) => objects::import(&connection, args, &out)?,
        Command::Export(args) => objects::export(&connection, args, &out)?,
        Command::InitToken(args) => tokens::init_token(&connection, args, &out)?,
        Command::InitPin(args) => tokens::init_pin(&connection, args, &out)?,
        Command::SetPin(args) => tokens::set_pin(&connection, args, &out)?,
        Command::Random(args) => crypto::random(&connection, args, &out)?,
        Command::Hash(args) => crypto::hash(&connection, args, &out)?,
        Command::Set(args) => keys::set(&connection, args, &out)?,
        Command::Wrap(args) => keys::wrap(&connection, args, &out)?,
        Command::Unwrap(args) => keys::unwrap(&connection, args, &out)?,
        Command::Derive(args) => keys::derive(&connection, args, &out)?,
        Command::Csr(args) => certify::request(&connection, args, &out)?,
        Command::Certificate(args) => certify::self_signed(&connection, args, &out)?,
    }
    Ok(ExitCode::SUCCESS)
}
