//! The safe core of p11: PKCS#11 (Cryptoki) modules, slots, tokens and sessions.
//!
//! Every `unsafe` call into a module lives in this crate, behind safe methods; return
//! values become one [`Error`] type that names the failing C function.
//!
//! ```no_run
//! use p11_core::{Access, Module, TokenFilter, UserType};
//!
//! let module = Module::load(std::env::var("PKCS11_MODULE").unwrap_or_default())?;
//! let token = module.get_token(&TokenFilter::new().label("TEST"))?;
//! let session = token.open(Access::ReadOnly)?;
//! session.login(UserType::USER, "1234")?;
//! let nonce = session.generate_random(128)?;
//! assert_eq!(nonce.len(), 16);
//! # Ok::<(), p11_core::Error>(())
//! ```
//!
//! # Modules
//! [`Module::load`] opens a module and calls `C_Initialize` with `CKF_OS_LOCKING_OK`;
//! [`Module::load_with`] takes other [`InitArgs`] (NSS's softoken needs a reserved string).
//! Loading the same file twice shares one initialisation; different modules load side by
//! side; `C_Finalize` runs when the last handle goes. PKCS#11 3.x modules are used through
//! `C_GetInterface`, older ones through `C_GetFunctionList`.
//!
//! # Threads and lifecycle
//! [`Module`], [`Slot`], [`Token`] and [`Session`] are `Send + Sync`. Share a session
//! between threads by reference (`std::thread::scope`) or by cloning it; the module does
//! its own locking, and login state is kept per token as PKCS#11 defines it. Operations
//! ([`Cipher`], [`Signer`], [`Digest`], [`FindObjects`], ...) own a session clone and
//! their hold on it: store them, return them, move them to another thread. Operations
//! on one session take turns, first come first served.
//!
//! Every call holds a shared hold on the module's initialisation: [`Module::reinitialize`]
//! and [`Module::finalize`] wait for the calls in flight, and sessions from before answer
//! [`Error::SessionClosed`] afterwards.
//!
//! # Locks, in the order they are taken
//! A thread that holds one of these takes only those below it, never one above: that
//! order is what keeps p11 free of deadlocks of its own.
//!
//! | lock | where | held | why |
//! |---|---|---|---|
//! | the loaded-modules list | `module.rs`, `LOADED` | while a module is loaded or unloaded | loading a path twice shares one `C_Initialize`; a load waits for an unload of the same path in progress |
//! | the operation hold | `lock.rs`, `OperationLock`, one per session | from an operation's `*Init` to its end (a stream's, a search's whole life) | PKCS#11 runs one operation per session at a time; waiters are served in turn, and a thread that used the holder last is refused, once no other thread took it up within a grace of 250 ms, rather than left waiting for itself ([`Error::OperationInProgress`]) |
//! | re-entrancy | `module.rs`, the thread-local `ENTERED` | not a lock: the modules this thread holds a gate on | a nested call (a drop inside an operation) must not take the lifecycle lock again: a reader behind a waiting writer would wait for itself |
//! | the lifecycle | `module.rs`, `lifecycle: RwLock` | shared by every call (a gate); exclusively by finalize, reinitialize and closing a session other threads use | no call runs under `C_Finalize`, and no handle is closed under a call using it |
//! | serial | `module.rs`, `serial: Mutex` | for every call, only for a module not known to be thread-safe | PKCS#11 §5.1.6: a module initialised without OS locking may not be called from two threads at once |
//! | the session book | `module.rs`, `sessions: Mutex<SessionBook>` | while sessions open, close, log in and log out | login state is the token's: p11 counts the sessions that logged in, so closing one logs out only the last |
//! | the object sweep | `module.rs`, `object_sweep: RwLock` | shared by `C_FindObjectsInit`; exclusively by closing a session and logging out | SoftHSM registers a handle per object a search finds; one registered for a session object being freed would outlive it and later die with an unrelated key |
//!
//! The operation hold is the only one held across calls of the caller's, so it comes
//! first; the others are held for one call into the module at most. The operation
//! hold's models (loom, every interleaving of hand-over, barging, a hold moved between
//! threads and an operation left to cancel) run in `cargo xtask test`.
//!
//! # Coverage of PKCS#11 3.2
//! p11 uses the newest function list a module offers (3.2, 3.0 or 2.40; see
//! [`Module::interfaces`]) and calls 99 of the 104 functions of
//! `CK_FUNCTION_LIST_3_2` ([`Function`]; [`Module::is_supported`] says what a module
//! has). These it leaves out, for the reason given (a test keeps this table true):
//!
//! | function | why not |
//! |---|---|
//! | `C_GetFunctionStatus`, `C_CancelFunction` | legacy: PKCS#11 has them answer `CKR_FUNCTION_NOT_PARALLEL` |
//! | `C_AsyncComplete`, `C_AsyncGetID`, `C_AsyncJoin` | 3.2's asynchronous calls write their output after returning, so p11's buffers, lent only for a call, would need owning ones kept until completion; no module here answers `CKR_PENDING` to build and test that against |
//!
//! # Features
//! `tracing`: a span per C call (function, return value, duration) inside the
//! operation's span (its mechanism); never PINs, keys or data.
//!
//! # Secrets
//! PINs are [`Pin`]s: taken as text or bytes, zeroed when dropped, never printed.
#![deny(missing_docs)]
#![warn(clippy::missing_errors_doc)]

mod attribute;
mod crypt;
mod digest;
mod dual;
mod error;
mod find;
mod handle;
mod info;
mod kem;
mod keys;
mod lists;
mod lock;
mod mapper;
mod message;
mod message_sign;
mod module;
mod object;
mod operation;
mod pin;
mod random;
mod session;
mod sign;
mod slot;
mod template;
mod token;
mod typed;
mod uri;

mod generated {
    pub(crate) mod attribute_types;
    pub(crate) mod certificate_types;
    pub(crate) mod functions;
    pub(crate) mod object_classes;
    pub(crate) mod profile_ids;
    pub(crate) mod return_values;
    pub(crate) mod session_states;
    pub(crate) mod user_types;
}

pub use attribute::{
    AttributeKind, AttributeType, AttributeValue, CertificateType, Date, ObjectClass, ProfileId,
};
pub use crypt::{Cipher, CipherChunks, CipherReader, CipherWriter, Direction};
pub use digest::{Digest, OperationState};
pub use dual::{Dual, DualKind};
pub use error::{Error, PinSourceProblem, Result, ReturnValue};
pub use find::FindObjects;
pub use generated::functions::Function;
pub use handle::{ObjectHandle, SessionHandle, SlotId};
pub use info::{
    InitFlags, MechanismFlags, SessionFlags, SessionLimit, SlotFlags, TokenFlags, Version,
};
pub use keys::DomainParameters;
pub use mapper::AttributeMapper;
pub use message::{MessageDecryptor, MessageEncryptor, MessageParts};
pub use message_sign::{MessageSigner, MessageVerifier, SignedMessage, VerifiedMessage};
pub use module::{InitArgs, Interface, LibraryInfo, Module};
pub use object::{AttributeInfo, KeyUse, Object, ObjectKind};
pub use p11_mechanisms::{KeyType, Mechanism, MechanismType, Operation};
pub use pin::Pin;
pub use session::{Access, Login, Session, SessionInfo, SessionState, UserType};
pub use sign::{SignatureVerifier, Signer, Verifier};
pub use slot::{MechanismInfo, Slot, SlotInfo};
pub use template::Template;
pub use token::{Token, TokenFilter, TokenInfo};
pub use typed::{FromAttribute, FromAttributes};
pub use uri::{Uri, UriError};

/// Mechanisms, their profiles and typed parameters.
pub use p11_mechanisms as mechanisms;
/// The raw bindings, for what this crate does not wrap.
pub use p11_sys as sys;
pub use zeroize::Zeroizing;

/// The crate README's example, compiled as a doc test (it ships with the package).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
