//! The one error type of p11, and the mapping of return values onto it.

use crate::attribute::{AttributeKind, AttributeType, ObjectClass};
use crate::template::Template;
use p11_mechanisms::open_enum::{self, UnknownName};
use p11_mechanisms::MechanismType;
use p11_sys::{CKR_OK, CKR_VENDOR_DEFINED, CK_RV};
use std::borrow::Cow;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crate::generated::functions::Function;
pub use crate::generated::return_values::ReturnValue;
use crate::generated::return_values::NAMES;

/// What went wrong: in the module (a return value and the function that gave it), or on
/// this side of the call (loading, a search that found no token, a bad argument).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A module function returned something other than `CKR_OK`.
    #[error("{}", module_message(*function, *rv, *mechanism))]
    Module {
        /// The C function that failed, e.g. [`Function::Login`].
        function: Function,
        /// What it returned.
        rv: ReturnValue,
        /// The mechanism of the operation, where there was one.
        mechanism: Option<MechanismType>,
    },
    /// The module file could not be loaded (missing, unreadable, not a shared library).
    #[error("cannot load PKCS#11 module {}: {reason}", path.display())]
    Load {
        /// The path as given.
        path: PathBuf,
        /// What the file system or the dynamic loader said (shown in the message, so
        /// not repeated as its source).
        reason: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A module named by a URI's `module-name` is in none of the folders searched (or
    /// the URI names no module at all: no name, and no `module-path` file).
    #[error("{}", module_not_found(name.as_deref(), searched))]
    ModuleNotFound {
        /// The `module-name`, when the URI gives one.
        name: Option<String>,
        /// The folders searched, in order.
        searched: Vec<PathBuf>,
    },
    /// The file is a shared library but exports no PKCS#11 entry point.
    #[error(
        "{} is not a PKCS#11 module: it exports neither C_GetInterface nor C_GetFunctionList",
        path.display()
    )]
    NotAModule {
        /// The path as given.
        path: PathBuf,
    },
    /// The module is already loaded in this process with other `C_Initialize` arguments.
    #[error(
        "{} is already loaded with other initialisation arguments; \
         drop every handle to it first, or load it with the same arguments",
        path.display()
    )]
    InitArgsConflict {
        /// The path as given.
        path: PathBuf,
    },
    /// The module's function list has no such function (a NULL entry, or a PKCS#11 3.x
    /// function on an older module).
    #[error("the module does not provide {0}")]
    NotSupported(Function),
    /// No token matched a search.
    #[error(
        "no token matches {filter}; the tokens present are {}",
        labels(available)
    )]
    NoSuchToken {
        /// The search, described.
        filter: String,
        /// The labels of the tokens present.
        available: Vec<String>,
    },
    /// Several tokens matched a search that wanted exactly one.
    #[error("{count} tokens match {filter}, expected exactly one")]
    MultipleTokens {
        /// How many matched.
        count: usize,
        /// The search, described.
        filter: String,
    },
    /// No key matched a search that wanted exactly one: the search's attributes.
    #[error("no key matches {0}")]
    NoSuchKey(Template),
    /// Several objects matched a search that wanted exactly one: the search's attributes.
    #[error("several objects match {0}, expected exactly one")]
    MultipleObjects(Template),
    /// An operation this thread last used holds the session (a search, a stream), so
    /// waiting for it would wait forever; finish or drop it first. (An operation used by
    /// another thread is waited for instead.) Says what was being started.
    #[error(
        "an operation this thread uses holds the session; finish or drop it before starting \
         another ({0})"
    )]
    OperationInProgress(p11_mechanisms::Operation),
    /// This thread is inside a call into the module (an operation's drop, say) and asked
    /// for what waits for every call to end: the function named would wait for itself.
    #[error("{0} waits for every call into the module to end, and this thread is inside one")]
    CallInProgress(Function),
    /// No session could be had: a pool's wait ran out, or every token of a cluster
    /// failed; the pool's own error, where it gave one, is the source.
    #[error("no session available")]
    NoSession(#[source] Option<Box<dyn std::error::Error + Send + Sync>>),
    /// A non-blocking wait for a slot event found none.
    #[error("no slot event is pending")]
    NoEvent,
    /// The facade was asked for a key type's default mechanism for an operation it has
    /// none for: give a mechanism (`with_mechanism`).
    #[error("{key_type} keys have no default {operation} mechanism: give one")]
    NoDefaultMechanism {
        /// The key's type.
        key_type: p11_mechanisms::KeyType,
        /// The operation asked for.
        operation: p11_mechanisms::Operation,
    },
    /// A PIN was given for an operation that never asks for one (only decryption and
    /// signing with a key marked `CKA_ALWAYS_AUTHENTICATE` do).
    #[error("a PIN was given for {0}, which takes none")]
    PinNotUsed(p11_mechanisms::Operation),
    /// A key of `bits` was asked for where lengths are whole bytes.
    #[error("{bits} bits is not a whole number of bytes")]
    NotWholeBytes {
        /// The length asked for.
        bits: usize,
    },
    /// A key pair of a size no named curve of the key type has was asked for.
    #[error("no curve of {bits} bits for {key_type} keys: give domain parameters")]
    NoCurve {
        /// The key type.
        key_type: p11_mechanisms::KeyType,
        /// The size asked for.
        bits: usize,
    },
    /// A post-quantum key pair was asked for by size: its parameter set
    /// (`CKA_PARAMETER_SET` in the public template) is its size, and 0 bits are given.
    #[error(
        "{key_type} keys take their size from CKA_PARAMETER_SET in the public template \
         (e.g. MlDsaParameterSet::ML_DSA_65), with 0 bits"
    )]
    SizedByParameterSet {
        /// The key type.
        key_type: p11_mechanisms::KeyType,
    },
    /// A key's curve is none p11 knows by name (explicit parameters, or an OID it lacks).
    #[error("the {key_type} key's curve is none p11 knows by name")]
    UnknownCurve {
        /// The key type.
        key_type: p11_mechanisms::KeyType,
    },
    /// A post-quantum key's `CKA_PARAMETER_SET` is none p11 knows.
    #[error("{key_type} keys have no parameter set {set} that p11 knows")]
    UnknownParameterSet {
        /// The key type.
        key_type: p11_mechanisms::KeyType,
        /// The value the token gave.
        set: u64,
    },
    /// p11 has no way to do this with keys of this type.
    #[error("p11 cannot {action} {key_type} keys")]
    KeyTypeUnsupported {
        /// The key type.
        key_type: p11_mechanisms::KeyType,
        /// What was asked, as a verb phrase ("tell the length of").
        action: &'static str,
    },
    /// A key in a document p11 cannot make a token object of.
    #[error("p11 cannot import {0}")]
    ImportUnsupported(&'static str),
    /// A template lacks an attribute the call needs.
    #[error("the template has no {0}")]
    MissingAttribute(AttributeType),
    /// A value is beyond what the call can carry: a length or number above the module's
    /// `CK_ULONG` (32 bits on Windows), or a bound PKCS#11 sets.
    #[error("{what} is {value}, more than {max}")]
    TooLarge {
        /// What is too large.
        what: &'static str,
        /// Its value.
        value: u64,
        /// The most allowed.
        max: u64,
    },
    /// An output buffer has less room than the operation may write.
    #[error("room for {room} bytes; this may write {needed}")]
    BufferTooSmall {
        /// The room given.
        room: usize,
        /// What may be written.
        needed: usize,
    },
    /// The operation already failed (an earlier write or read through it), and ended.
    #[error("the operation failed earlier and has ended")]
    AlreadyFailed,
    /// A message in parts was dropped before its end, so the module is still in it: drop
    /// the message-based operation (which cancels it) and begin another.
    #[error(
        "a message in parts was dropped before its end, so the module is still in it: \
         drop this operation (which cancels it) and begin another"
    )]
    MessageUnfinished,
    /// An object or key was used through a session on another token (or module), where
    /// its handle names something else or nothing.
    #[error("an object is only valid on its own token, and the session is on another")]
    OtherToken,
    /// The session already has an attribute mapper (it is set once).
    #[error("the session already has an attribute mapper")]
    MapperAlreadySet,
    /// A pool was configured with no token, no room for a session, or more idle
    /// sessions than its size.
    #[error(
        "a pool of {size} sessions ({idle} idle) on {tokens} tokens cannot be: it needs a \
         token, room for a session and no more idle sessions than its size"
    )]
    PoolSize {
        /// Its maximum size.
        size: u32,
        /// The idle sessions it keeps.
        idle: u32,
        /// Its tokens.
        tokens: usize,
    },
    /// A PIN could not be checked: the token was logged in already by another session
    /// of this process (PKCS#11 answers that login without looking at the PIN), and the
    /// caller asked for a checked one.
    #[error(
        "the token was logged in already by another session of this process, so the PIN \
         was not checked: log that session out first, or trust the existing login"
    )]
    PinNotChecked,
    /// A URI's `pin-source` gives no PIN: it names no local file, or a file that is no
    /// regular one (a FIFO, a device, a directory), or one too long to be a PIN, or one
    /// that cannot be read.
    #[error("pin-source {pin_source:?}: {problem}")]
    PinSource {
        /// The `pin-source` as the URI gives it.
        pin_source: String,
        /// What is wrong with it.
        #[source]
        problem: PinSourceProblem,
    },
    /// A caller's argument was refused before any call to the module, with the reason;
    /// for mistakes no other variant names.
    #[error("invalid argument: {0}")]
    InvalidArgument(Cow<'static, str>),
    /// A mechanism parameter was refused before any call to the module.
    #[error("invalid mechanism parameter")]
    Parameter(#[from] p11_mechanisms::ParameterError),
    /// An attribute's value is not of the kind the attribute takes (given in a template,
    /// or read from a module).
    #[error("{attribute} takes a {expected:?} value, not {found}")]
    AttributeKind {
        /// The attribute.
        attribute: AttributeType,
        /// The kind it takes.
        expected: AttributeKind,
        /// What was there instead.
        found: String,
    },
    /// An object is not of the class an operation needs.
    #[error("the object is a {actual}, not a {expected}")]
    WrongClass {
        /// The class needed.
        expected: ObjectClass,
        /// The object's class.
        actual: ObjectClass,
    },
    /// Encoding or decoding a value (DER, PEM) failed.
    #[error("cannot encode or decode {what}")]
    Encoding {
        /// What was being encoded or decoded.
        what: &'static str,
        /// The codec's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The module closed the session (`C_CloseAllSessions`, `C_Finalize` through
    /// [`Module::reinitialize`](crate::Module::reinitialize) or
    /// [`Module::finalize`](crate::Module::finalize)), or [`Session::close`](crate::Session::close)
    /// did: its handle may name another session now, so p11 never uses it again.
    #[error("the session was closed (by close_all_sessions, close, or finalizing or re-initialising the module); open a new one")]
    SessionClosed,
    /// The module was finalised ([`Module::finalize`](crate::Module::finalize), or a
    /// [`Module::reinitialize`](crate::Module::reinitialize) whose `C_Initialize` failed).
    #[error(
        "the module is not initialised (it was finalised); load it again, or retry reinitialize"
    )]
    Finalized,
    /// Reading or writing the stream an operation passes its data to failed.
    #[error("the inner stream failed")]
    Io(#[source] std::io::Error),
    /// An allocation p11 was asked to make could not be made.
    #[error("cannot allocate {0} bytes")]
    OutOfMemory(usize),
    /// The module answered with something PKCS#11 does not allow (a length beyond its
    /// buffer, an absurd count, ...).
    #[error("{function} returned an invalid answer: {what}")]
    InvalidResponse {
        /// The C function that answered.
        function: Function,
        /// What was wrong with the answer.
        what: String,
    },
}

/// Why a URI's `pin-source` gives no PIN ([`Error::PinSource`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PinSourceProblem {
    /// It names no local file (only `file:` sources and plain paths are read).
    #[error("it names no local file (p11 reads file: sources and plain paths)")]
    NotLocal,
    /// The file is no regular file: a FIFO, a device, a directory. p11 does not open
    /// it (a FIFO would block, a device read without end).
    #[error("it is no regular file (a FIFO, a device or a directory)")]
    NotAFile,
    /// The file holds more than a PIN can be.
    #[error("it holds more than {max} bytes, more than any PIN")]
    TooLong {
        /// The most p11 reads.
        max: usize,
    },
    /// The file cannot be read.
    #[error("it cannot be read")]
    Unreadable(#[source] std::io::Error),
}

/// `Result` with p11's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Names `mechanism` in a module error that has none yet.
    pub(crate) fn with_mechanism(mut self, mechanism: MechanismType) -> Self {
        if let Error::Module {
            mechanism: m @ None,
            ..
        } = &mut self
        {
            *m = Some(mechanism);
        }
        self
    }

    /// The module's return value, when the module is what failed.
    pub fn return_value(&self) -> Option<ReturnValue> {
        match self {
            Error::Module { rv, .. } => Some(*rv),
            _ => None,
        }
    }

    /// Whether the module lacks the function or refuses it as unsupported: the answer a
    /// capability probe looks for.
    pub fn is_not_supported(&self) -> bool {
        matches!(
            self,
            Error::NotSupported(_)
                | Error::Module {
                    rv: ReturnValue::FunctionNotSupported,
                    ..
                }
        )
    }

    /// Whether the module says its token or device is gone (`CKR_DEVICE_REMOVED`,
    /// `CKR_TOKEN_NOT_PRESENT`): the answer after which a cluster tries another token.
    pub fn is_token_gone(&self) -> bool {
        matches!(
            self.return_value(),
            Some(ReturnValue::DeviceRemoved | ReturnValue::TokenNotPresent)
        )
    }

    /// Whether the module refuses an object or key handle as invalid: the object is gone,
    /// or (on a module that scopes handles to sessions) must be found again.
    pub fn is_stale_handle(&self) -> bool {
        matches!(
            self.return_value(),
            Some(ReturnValue::ObjectHandleInvalid | ReturnValue::KeyHandleInvalid)
        )
    }

    pub(crate) fn invalid_response(function: Function, what: impl Into<String>) -> Self {
        Error::InvalidResponse {
            function,
            what: what.into(),
        }
    }
}

/// `CKR_VENDOR_DEFINED`, as the `u64` return values are to Rust.
#[allow(clippy::unnecessary_cast)] // CK_RV is u64 on LP64 targets
const VENDOR_DEFINED: u64 = CKR_VENDOR_DEFINED as u64;

/// `Ok` for `CKR_OK`, otherwise the error naming `function`.
pub(crate) fn check(rv: CK_RV, function: Function) -> Result<()> {
    if rv == CKR_OK {
        Ok(())
    } else {
        Err(Error::Module {
            function,
            rv: ReturnValue::from_ck(rv),
            mechanism: None,
        })
    }
}

fn labels(available: &[String]) -> String {
    if available.is_empty() {
        return "none".into();
    }
    let quoted: Vec<String> = available.iter().map(|l| Quoted(l).to_string()).collect();
    quoted.join(", ")
}

/// Text a caller or a module gave, quoted in an error message: at most [`Quoted::MAX`]
/// characters of it, then how long it was, so that a message never grows with its input
/// (a 1 MiB label).
pub(crate) struct Quoted<'a>(pub(crate) &'a str);

impl Quoted<'_> {
    /// The most characters shown.
    const MAX: usize = 64;
}

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.char_indices().nth(Self::MAX) {
            None => write!(f, "{:?}", self.0),
            Some((cut, _)) => write!(
                f,
                "{:?}… ({} bytes)",
                self.0.get(..cut).unwrap_or_default(),
                self.0.len()
            ),
        }
    }
}

/// `C_SignInit with CKM_ECDSA_SHA256 failed: CKR_MECHANISM_INVALID (the token does not
/// offer this mechanism)`.
/// At most three of the folders searched are named, and how many more there were.
fn module_not_found(name: Option<&str>, searched: &[PathBuf]) -> String {
    let Some(name) = name else {
        return "the URI names no module: give module-path (a file) or module-name".into();
    };
    if searched.is_empty() {
        return format!("module-name {name:?} is a name, not a path: give module-path for a file");
    }
    let shown: Vec<String> = searched
        .iter()
        .take(3)
        .map(|p| p.display().to_string())
        .collect();
    let more = match searched.len().saturating_sub(3) {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    format!(
        "no module named {name:?} (lib{name}.so or {name}.so) in {}{more}",
        shown.join(", ")
    )
}

fn module_message(function: Function, rv: ReturnValue, mechanism: Option<MechanismType>) -> String {
    let mut message = String::from(function.name());
    if let Some(mechanism) = mechanism {
        message.push_str(&format!(" with {mechanism}"));
    }
    message.push_str(&format!(" failed: {rv}"));
    // Key generation refused to a logged-in user: smart cards (OpenSC's OpenPGP card)
    // make keys only with their SO (admin) PIN.
    let making_keys = matches!(function, Function::GenerateKey | Function::GenerateKeyPair);
    let hint = match rv {
        ReturnValue::UserNotLoggedIn if making_keys => Some(
            "log in first; a smart card may make keys only with the security officer \
             (its admin PIN) logged in",
        ),
        _ => rv.hint(),
    };
    if let Some(hint) = hint {
        message.push_str(&format!(" ({hint})"));
    }
    message
}

impl ReturnValue {
    /// What the value usually means for the caller, for the common ones.
    pub fn hint(self) -> Option<&'static str> {
        use ReturnValue as R;
        Some(match self {
            R::MechanismInvalid => "the token does not offer this mechanism",
            R::MechanismParamInvalid => "the token refuses this mechanism parameter",
            R::KeyTypeInconsistent => "the key is of the wrong type for this mechanism",
            R::KeyFunctionNotPermitted => "the key's attributes do not allow this use",
            R::KeyHandleInvalid | R::ObjectHandleInvalid => {
                "the object does not exist (any more) for this session"
            }
            R::PinIncorrect => "wrong PIN",
            R::PinLocked => "the PIN is locked",
            R::UserNotLoggedIn => "log in first",
            R::UserAlreadyLoggedIn => "the token is logged in already",
            R::SessionReadOnly => "open a read/write session",
            R::SessionHandleInvalid | R::SessionClosed => "the session is closed",
            R::OperationActive => "another operation is active on the session",
            R::OperationNotInitialized => "no operation of this kind was begun",
            R::TemplateIncomplete => "the template lacks an attribute the object needs",
            R::TemplateInconsistent => "the template's attributes contradict each other",
            R::AttributeTypeInvalid => "the object has no such attribute",
            R::AttributeSensitive => "the attribute is sensitive and cannot be read",
            R::AttributeValueInvalid => "an attribute's value is invalid",
            R::AttributeReadOnly => "the attribute cannot be set",
            R::DataLenRange => "the input's length is wrong for this mechanism",
            R::EncryptedDataLenRange => "the ciphertext's length is wrong for this mechanism",
            R::EncryptedDataInvalid => "the ciphertext is invalid",
            R::SignatureInvalid => "the signature does not verify",
            R::SignatureLenRange => "the signature's length is wrong",
            R::TokenNotPresent => "there is no token in the slot",
            R::CryptokiNotInitialized => "the module is not initialised",
            R::FunctionNotSupported => "the module does not implement this function",
            R::BufferTooSmall => "the output buffer was too small",
            R::DeviceError => "the device failed",
            R::GeneralError => "the module failed without saying why",
            R::ArgumentsBad => "the module refused the arguments",
            R::RandomSeedNotSupported => "the token's generator takes no seed",
            _ => return None,
        })
    }
}

impl ReturnValue {
    /// Gives a vendor value a name, so that it prints and parses by it (a fork's own
    /// `CKR_` values, say). Spec names keep their values.
    pub fn register_name(name: &'static str, value: u64) {
        open_enum::register(&REGISTERED, name, value);
    }
}

/// Names given to vendor return values at run time.
static REGISTERED: open_enum::Registry = std::sync::RwLock::new(Vec::new());

/// The spec name, else a registered name; an unnamed value as `CKR_VENDOR_DEFINED+0x…`
/// or in hex.
impl fmt::Display for ReturnValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let raw = u64::from(*self);
        let name = self
            .name()
            .or_else(|| open_enum::registered_name(&REGISTERED, raw));
        open_enum::write_name(f, raw, name, "CKR_", VENDOR_DEFINED)
    }
}

/// Parses a spec name (any alias), a registered name, `CKR_VENDOR_DEFINED+0x…`, or a
/// number.
impl FromStr for ReturnValue {
    type Err = UnknownName;

    fn from_str(s: &str) -> std::result::Result<Self, UnknownName> {
        let registered = open_enum::registered(&REGISTERED);
        let names = NAMES.iter().copied().chain(registered);
        open_enum::parse_name(s, names, "return value", "CKR_", VENDOR_DEFINED).map(Self::from)
    }
}

impl fmt::Display for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_values_round_trip_and_keep_vendor_values() {
        for raw in [
            p11_sys::CKR_OK,
            p11_sys::CKR_PIN_INCORRECT,
            p11_sys::CKR_OPERATION_CANCEL_FAILED,
            0xCE53_4351,
            0x7777,
        ] {
            assert_eq!(u64::from(ReturnValue::from(raw)), raw);
        }
        assert_eq!(
            ReturnValue::from(0xCE53_4351),
            ReturnValue::Other(0xCE53_4351)
        );
    }

    #[test]
    fn module_errors_name_the_function_and_the_code() {
        let err = check(p11_sys::CKR_PIN_INCORRECT, Function::Login).unwrap_err();
        assert_eq!(
            err.to_string(),
            "C_Login failed: CKR_PIN_INCORRECT (wrong PIN)"
        );
        let err = check(p11_sys::CKR_MECHANISM_INVALID, Function::SignInit)
            .unwrap_err()
            .with_mechanism(MechanismType::ECDSA_SHA256);
        assert_eq!(
            err.to_string(),
            "C_SignInit with CKM_ECDSA_SHA256 failed: CKR_MECHANISM_INVALID \
             (the token does not offer this mechanism)"
        );
        assert_eq!(err.return_value(), Some(ReturnValue::MechanismInvalid));
        let vendor = check(0x8000_0042, Function::Initialize).unwrap_err();
        assert_eq!(
            vendor.to_string(),
            "C_Initialize failed: CKR_VENDOR_DEFINED+0x42"
        );
        assert!(check(CKR_OK, Function::Finalize).is_ok());
    }

    #[test]
    fn key_generation_refused_to_the_user_says_a_card_may_want_its_so() {
        let err = check(p11_sys::CKR_USER_NOT_LOGGED_IN, Function::GenerateKeyPair).unwrap_err();
        assert!(err.to_string().contains("security officer"), "{err}");
        let err = check(p11_sys::CKR_USER_NOT_LOGGED_IN, Function::Sign).unwrap_err();
        assert!(err.to_string().ends_with("(log in first)"), "{err}");
    }

    #[test]
    fn return_values_parse_and_vendor_ones_take_registered_names() {
        assert_eq!(
            "CKR_PIN_INCORRECT".parse::<ReturnValue>(),
            Ok(ReturnValue::PinIncorrect)
        );
        assert_eq!("0xA0".parse::<ReturnValue>(), Ok(ReturnValue::PinIncorrect));
        let quota = ReturnValue::from(VENDOR_DEFINED + 0x51);
        assert_eq!(quota.to_string(), "CKR_VENDOR_DEFINED+0x51");
        assert_eq!(quota.to_string().parse::<ReturnValue>(), Ok(quota));
        ReturnValue::register_name("CKR_ACME_QUOTA_EXCEEDED", VENDOR_DEFINED + 0x51);
        assert_eq!(quota.to_string(), "CKR_ACME_QUOTA_EXCEEDED");
        assert_eq!("CKR_ACME_QUOTA_EXCEEDED".parse::<ReturnValue>(), Ok(quota));
        assert!("CKR_NO_SUCH_THING".parse::<ReturnValue>().is_err());
    }

    #[test]
    fn not_supported_covers_both_forms() {
        assert!(Error::NotSupported(Function::LoginUser).is_not_supported());
        assert!(check(
            p11_sys::CKR_FUNCTION_NOT_SUPPORTED,
            Function::WaitForSlotEvent
        )
        .unwrap_err()
        .is_not_supported());
        assert!(!check(p11_sys::CKR_GENERAL_ERROR, Function::Login)
            .unwrap_err()
            .is_not_supported());
    }
}
