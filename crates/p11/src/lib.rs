//! p11: PKCS #11 (Cryptoki) HSMs, smartcards and software tokens, the way python-pkcs11
//! does it — the logical structure of an HSM, useful defaults, secure templates — with
//! Rust's types: signing with a public key does not compile.
//!
//! ```no_run
//! use p11::{
//!     Decrypt, Encrypt, KeyQuery, KeyType, Library, ObjectOptions, OpenOptions, SecretKey,
//!     Sign, Storage, TokenFilter, Verify,
//! };
//!
//! let lib = Library::load(std::env::var("PKCS11_MODULE").unwrap_or_default())?;
//! let token = lib.get_token(&TokenFilter::new().label("DEMO"))?;
//! let session = token.open(&OpenOptions::new().rw().user_pin("1234"))?;
//!
//! // Sign and verify: a P-256 key pair, ECDSA by default (python-pkcs11's defaults).
//! let (public, private) = session.generate_keypair(KeyType::EC, 256, &ObjectOptions::new())?;
//! let signature = private.sign(b"release 1.0")?;
//! assert!(public.verify(b"release 1.0", &signature)?);
//!
//! // Encrypt and decrypt: an AES-256 key kept on the token, AES-CBC-PAD with a random IV.
//! let options = ObjectOptions::new().label("backups").storage(Storage::Token);
//! let key = session.generate_key(KeyType::AES, 256, &options)?;
//! let iv = session.generate_random(128)?;
//! let crypttext = key.with_param(&iv).encrypt(b"INPUT DATA")?;
//! assert_eq!(key.with_param(&iv).decrypt(&crypttext)?, b"INPUT DATA");
//!
//! // Find it again, later or elsewhere: by label, typed by what the search asks for.
//! let found: SecretKey = session.get_key(&KeyQuery::new().label("backups"))?;
//! # Ok::<(), p11::Error>(())
//! ```
//!
//! # Where things are
//!
//! - [`Library`] loads a module; [`Token`]s are found with a [`TokenFilter`] (or a
//!   [`Uri`], RFC 7512) and opened into a [`Session`] with [`OpenOptions`].
//! - Keys come typed: [`SecretKey`], [`PublicKey`], [`PrivateKey`]. What a key can do is
//!   a trait it implements — [`Encrypt`], [`Decrypt`], [`Sign`], [`Verify`], [`Wrap`],
//!   [`Unwrap`], [`Derive`], [`Encapsulate`], [`Decapsulate`] — each with the key type's
//!   default mechanism ([`default_mechanism`]) unless `with_param` or `with_mechanism`
//!   says otherwise.
//! - New objects are described by [`ObjectOptions`] (label, id, storage, capabilities,
//!   templates); searches by [`KeyQuery`] and templates.
//! - [`util`] converts between token objects and DER/PEM (SubjectPublicKeyInfo, PKCS #8,
//!   X.509); [`asn1`] is the codec crate underneath.
//! - [`python`] maps python-pkcs11's names, call by call, to p11's.
//! - The layers below are re-exported: [`p11_core`] (modules, sessions, objects,
//!   operations, the raw function list) and [`mechanisms`].
//!
//! # Features
//!
//! | feature | what it brings |
//! |---|---|
//! | `pool` | [`pool`]: pooled logged-in sessions for servers (on r2d2), one token or a cluster with failover |
//! | `rustls` | [`rustls`](mod@rustls): token keys as rustls `SigningKey`s, for TLS servers and clients |
//! | `rcgen` | [`rcgen`](mod@rcgen): token key pairs as rcgen `SigningKey`s: CSRs, self-signed certificates, a CA on the token |
//! | `rustcrypto` | [`rustcrypto`]: token keys as RustCrypto `signature::Signer`s (ECDSA P-256/P-384, RSA PKCS #1 v1.5 and PSS, Ed25519), public keys as `spki::EncodePublicKey` |
//! | `tracing` | a `tracing` span for every call into a module: function, return value, duration, mechanism — never PINs, keys or data |
//!
//! None is on by default. The rustls, rcgen and RustCrypto crates are re-exported by
//! their modules, so that the versions match.
//!
//! # Examples
//!
//! `cargo xtask demo` runs them all against a fresh SoftHSM token (the post-quantum one
//! on kryoptic); each also runs alone with `PKCS11_MODULE`, `PKCS11_TOKEN_LABEL` and
//! `PKCS11_TOKEN_PIN` set (`cargo run -p p11 --all-features --example NAME`).
//!
//! | example | shows |
//! |---|---|
//! | `aes`, `des3`, `rsa`, `dsa`, `ecdsa`, `dh`, `ecdh` | python-pkcs11's own examples, one per key type |
//! | `generating_keys` | stored keys with labels and ids; templates extended or pruned |
//! | `sign_verify` | each key type's default signing, RSA-PSS, DER signatures for DSA and ECDSA |
//! | `encryption` | AES-GCM with additional data, AES-ECB, RSA PKCS #1 v1.5 and OAEP |
//! | `stream_file` | a file encrypted chunk by chunk, in bounded memory |
//! | `digest` | data, a stream, and a key's value digested inside the token |
//! | `wrapping` | keys wrapped and unwrapped (AES key wrap, RSA OAEP) |
//! | `finding_tokens`, `finding_objects` | slots, tokens, and objects by label, id, template |
//! | `import_export`, `certificates` | SPKI, PKCS #8 and X.509 in and out of the token |
//! | `concurrency` | one session shared by threads |
//! | `pooled_signing` | a signing service on a session pool (`pool`) |
//! | `rustcrypto` | token keys where RustCrypto code expects a signer (`rustcrypto`) |
//! | `tls_server` | a TLS 1.3 server whose key and CA key are on the token (`rustls`, `rcgen`) |
//! | `post_quantum` | ML-DSA and ML-KEM keys through PKCS #11 3.2 |
//!
//! # Modules that differ
//!
//! Tokens disagree with the specification and with each other in small ways; p11 works
//! around what it can (a module's quirks never change the result it gives) and says so
//! in typed errors where it cannot. The repository's `docs/module-quirks.md` lists each
//! module's quirks and p11's answer, and `docs/compatibility.md` the outcome of the test
//! suites on eight modules (SoftHSM, NSS, kryoptic, openCryptoki, tpm2-pkcs11, OpenSC,
//! p11-kit's trust module and its RPC).
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(clippy::missing_errors_doc)]

mod as_asked;
mod defaults;
mod keys;
mod library;
mod object;
mod options;
#[cfg(feature = "pool")]
#[cfg_attr(docsrs, doc(cfg(feature = "pool")))]
pub mod pool;
pub mod python;
#[cfg(feature = "rcgen")]
#[cfg_attr(docsrs, doc(cfg(feature = "rcgen")))]
pub mod rcgen;
#[cfg(feature = "rustcrypto")]
#[cfg_attr(docsrs, doc(cfg(feature = "rustcrypto")))]
pub mod rustcrypto;
#[cfg(feature = "rustls")]
#[cfg_attr(docsrs, doc(cfg(feature = "rustls")))]
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
