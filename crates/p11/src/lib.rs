//! p11: PKCS #11 (Cryptoki) HSMs, smartcards and software tokens, the way python-pkcs11
//! does it — the logical structure of an HSM, useful defaults, secure templates — with
//! Rust's types: signing with a public key does not compile.
//!
//! ```no_run
//! use p11::{Encrypt, KeyType, Library, ObjectOptions, OpenOptions, TokenFilter};
//!
//! let lib = Library::load(std::env::var("PKCS11_MODULE").unwrap_or_default())?;
//! let token = lib.get_token(&TokenFilter::new().label("DEMO"))?;
//! let session = token.open(&OpenOptions::new().user_pin("1234"))?;
//! let key = session.generate_key(KeyType::AES, 256, &ObjectOptions::new())?;
//! let iv = session.generate_random(128)?;
//! let crypttext = key.with_param(&iv).encrypt(b"INPUT DATA")?;
//! # Ok::<(), p11::Error>(())
//! ```
//!
//! The layers below are re-exported: [`p11_core`] (modules, sessions, objects,
//! operations) and [`asn1`] (DER codecs).
#![deny(missing_docs)]
#![warn(clippy::missing_errors_doc)]

mod as_asked;
mod defaults;
mod keys;
mod library;
mod object;
mod options;
#[cfg(feature = "pool")]
pub mod pool;
pub mod python;
#[cfg(feature = "rcgen")]
pub mod rcgen;
#[cfg(feature = "rustcrypto")]
pub mod rustcrypto;
#[cfg(feature = "rustls")]
pub mod rustls;
mod session;
mod signing;
pub mod util;

pub use defaults::{default_capabilities, default_mechanism, Capabilities};
pub use keys::{
    Decapsulate, Decrypt, Derive, DomainParameters, Encapsulate, Encrypt, Key, KeyKind,
    MechanismChoice, PrivateKey, PublicKey, SecretKey, Sign, Unwrap, Verify, With, Wrap,
};
pub use library::{Library, OpenOptions, Slot, Token, PIN_FILE_MAX};
pub use object::Object;
pub use options::{ObjectOptions, Storage};
pub use session::{Digester, KeyQuery, Session};
pub use signing::{Signer, Verifier};
pub use util::Certificate;

pub use p11_asn1 as asn1;
pub use p11_core;
pub use p11_core::{
    mechanisms, AttributeKind, AttributeMapper, AttributeType, AttributeValue, Cipher,
    CipherChunks, CipherReader, CipherWriter, Error, FromAttribute, FromAttributes, Function,
    InitArgs, KeyType, LibraryInfo, Login, Mechanism, MechanismFlags, MechanismInfo, MechanismType,
    MessageDecryptor, MessageEncryptor, MessageParts, MessageSigner, MessageVerifier, ObjectClass,
    ObjectHandle, Operation, Pin, PinSourceProblem, Result, ReturnValue, SessionHandle,
    SessionInfo, SessionState, SignedMessage, SlotFlags, SlotId, SlotInfo, Template, TokenFilter,
    TokenFlags, TokenInfo, Uri, UriError, UserType, VerifiedMessage, Version,
};

/// The crate README's example, compiled as a doc test (it ships with the package).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
