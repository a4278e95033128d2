//! The library, its tokens, and opening sessions: python-pkcs11's `lib`, `Token.open`.

use crate::session::Session;
use p11_core::{
    Access, AttributeMapper, Error, InitArgs, Module, Pin, Result, TokenFilter, TokenInfo, Uri,
    UserType,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A loaded PKCS #11 library (python-pkcs11's `pkcs11.lib`). Cheap to clone; the same
/// path loaded twice shares one initialisation.
///
/// ```no_run
/// # fn demo() -> p11::Result<()> {
/// let lib = p11::Library::load("/usr/lib/softhsm/libsofthsm2.so")?;
/// println!("{}", lib.info()?.manufacturer_id);
/// for token in lib.get_tokens(&p11::TokenFilter::new())? {
///     println!("{}", token.info()?.label);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Library {
    module: Module,
}

impl Library {
    /// Loads and initialises the module at `path`.
    ///
    /// # Errors
    /// [`Error::Load`] when the file cannot be loaded; [`Error::NotAModule`] when it
    /// exports no PKCS#11 entry point; the module's error from `C_Initialize`.
    pub fn load(path: impl AsRef<Path>) -> Result<Library> {
        Ok(Library {
            module: Module::load(path)?,
        })
    }

    /// Loads it with other `C_Initialize` arguments (NSS's `pReserved` string, ...).
    ///
    /// # Errors
    /// As [`load`](Self::load); [`Error::InitArgsConflict`] when the module is loaded
    /// already with other arguments.
    pub fn load_with(path: impl AsRef<Path>, args: InitArgs) -> Result<Library> {
        Ok(Library {
            module: Module::load_with(path, args)?,
        })
    }

    /// Loads the module a PKCS#11 URI names: its `module-path` (a file, or a folder to
    /// look for `module-name` in), else `module-name` in the usual module folders
    /// (`/usr/lib/<multiarch>/pkcs11`, `/usr/lib/pkcs11`, `/usr/lib64/pkcs11`, the
    /// library folders and their subfolders), as `lib<name>.so` or `<name>.so`. A URI
    /// carries no init string: a module this process has loaded already is shared as it
    /// was initialised (NSS's softoken, say, loaded with its `configdir`).
    ///
    /// ```no_run
    /// use p11::{Library, OpenOptions, TokenFilter, Uri};
    /// let uri: Uri = "pkcs11:token=TEST;object=server?module-name=softhsm2&pin-value=1234".parse()?;
    /// let lib = Library::load_uri(&uri)?;
    /// let session = lib.get_token(&TokenFilter::new().uri(&uri))?.open(&OpenOptions::new().uri(&uri)?)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::ModuleNotFound`] for a URI that names no module, or one not found;
    /// as [`load`](Self::load).
    pub fn load_uri(uri: &Uri) -> Result<Library> {
        Ok(Library {
            module: Module::join_or_load(module_of(uri)?)?,
        })
    }

    /// The core module, for everything else it offers (slots, mechanism info, events).
    pub fn module(&self) -> &Module {
        &self.module
    }

    /// The slots; with `token_present`, only those holding a token (python's
    /// `get_slots`).
    ///
    /// # Errors
    /// The module's error from `C_GetSlotList`.
    pub fn get_slots(&self, token_present: bool) -> Result<Vec<Slot>> {
        Ok(self
            .module
            .get_slots(token_present)?
            .into_iter()
            .map(Slot::from)
            .collect())
    }

    /// Waits for a slot event (python's `wait_for_slot_event`); without `blocking`,
    /// [`Error::NoEvent`](p11_core::Error::NoEvent) when nothing happened.
    ///
    /// # Errors
    /// As above; the module's error from `C_WaitForSlotEvent`.
    pub fn wait_for_slot_event(&self, blocking: bool) -> Result<Slot> {
        self.module.wait_for_slot_event(blocking).map(Slot::from)
    }

    /// Finalises and initialises the library again (python's `reinitialize`). Sessions
    /// from before answer [`Error::SessionClosed`](p11_core::Error::SessionClosed).
    ///
    /// # Errors
    /// As [`Module::reinitialize`].
    pub fn reinitialize(&self) -> Result<()> {
        self.module.reinitialize()
    }

    /// Finalises the library now (python's `finalize`), saying what went wrong; other
    /// handles become inert, and loading the path again initialises it afresh.
    ///
    /// # Errors
    /// As [`Module::finalize`].
    pub fn finalize(self) -> Result<()> {
        self.module.finalize()
    }

    /// Whether the library is initialised (python's `initialized`).
    pub fn initialized(&self) -> bool {
        self.module.is_initialized()
    }

    /// Cryptoki version, manufacturer, description and library version (python's
    /// `cryptoki_version`, `manufacturer_id`, `library_description`, `library_version`).
    ///
    /// # Errors
    /// The module's error from `C_GetInfo`.
    pub fn info(&self) -> Result<p11_core::LibraryInfo> {
        self.module.info()
    }

    /// The one token matching `filter` (python's `get_token(token_label=...)`).
    ///
    /// # Errors
    /// [`Error::NoSuchToken`] when none matches, [`Error::MultipleTokens`] when several
    /// do; the module's error reading the slots and tokens.
    pub fn get_token(&self, filter: &TokenFilter) -> Result<Token> {
        Ok(Token {
            token: self.module.get_token(filter)?,
        })
    }

    /// Every token matching `filter`.
    ///
    /// # Errors
    /// The module's error reading the slots and tokens.
    pub fn get_tokens(&self, filter: &TokenFilter) -> Result<Vec<Token>> {
        Ok(self
            .module
            .get_tokens(filter)?
            .into_iter()
            .map(|token| Token { token })
            .collect())
    }
}

/// A slot (python-pkcs11's `Slot`): where a token sits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    slot: p11_core::Slot,
}

impl Slot {
    /// The token in the slot (python's `slot.get_token()`).
    ///
    /// # Errors
    /// The module's error (`CKR_TOKEN_NOT_PRESENT`, ...).
    pub fn get_token(&self) -> Result<Token> {
        self.slot.token().map(Token::from)
    }

    /// What the slot says of itself (python's `slot_description`, `manufacturer_id`,
    /// `flags`, versions).
    ///
    /// # Errors
    /// The module's error from `C_GetSlotInfo`.
    pub fn info(&self) -> Result<p11_core::SlotInfo> {
        self.slot.info()
    }

    /// The mechanisms the slot's token offers (python's `slot.get_mechanisms()`).
    ///
    /// # Errors
    /// The module's error from `C_GetMechanismList`.
    pub fn get_mechanisms(&self) -> Result<Vec<p11_core::MechanismType>> {
        self.slot.mechanisms()
    }

    /// What `mechanism` can do on the slot's token, and its key sizes (python's
    /// `slot.get_mechanism_info`).
    ///
    /// # Errors
    /// The module's error from `C_GetMechanismInfo` (`CKR_MECHANISM_INVALID`, ...).
    pub fn get_mechanism_info(
        &self,
        mechanism: p11_core::MechanismType,
    ) -> Result<p11_core::MechanismInfo> {
        self.slot.mechanism_info(mechanism)
    }

    /// The slot's id (python's `slot_id`).
    pub fn id(&self) -> p11_core::SlotId {
        self.slot.id()
    }

    /// Initialises the token in this slot (python's `init_token`, `C_InitToken`): every
    /// object on it is destroyed, `label` (at most 32 bytes) names it, `so_pin` becomes
    /// its security officer's PIN. The user's PIN is set afterwards with
    /// [`Session::init_pin`] in a session logged in as the security officer.
    ///
    /// # Errors
    /// [`Error::TooLarge`] for a label over 32 bytes; the module's error
    /// (`CKR_PIN_INCORRECT` for a token initialised before with another SO PIN, ...).
    pub fn init_token(&self, so_pin: impl Into<Pin>, label: &str) -> Result<Token> {
        Ok(Token {
            token: self.slot.init_token(so_pin, label)?,
        })
    }

    /// The core slot: the escape hatch to what the facade does not wrap.
    pub fn core(&self) -> &p11_core::Slot {
        &self.slot
    }
}

impl From<p11_core::Slot> for Slot {
    fn from(slot: p11_core::Slot) -> Self {
        Slot { slot }
    }
}

impl From<Slot> for p11_core::Slot {
    fn from(slot: Slot) -> Self {
        slot.slot
    }
}

/// A token (python-pkcs11's `Token`).
///
/// ```no_run
/// # fn demo(lib: &p11::Library) -> p11::Result<()> {
/// use p11::{OpenOptions, TokenFilter};
/// let token = lib.get_token(&TokenFilter::new().label("DEMO"))?;
/// let session = token.open(&OpenOptions::new().rw().user_pin("1234"))?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Token {
    token: p11_core::Token,
}

impl From<p11_core::Token> for Token {
    fn from(token: p11_core::Token) -> Self {
        Token { token }
    }
}

impl From<Token> for p11_core::Token {
    fn from(token: Token) -> Self {
        token.token
    }
}

/// How to open a session (python's `Token.open(rw, user_pin, so_pin, user_type)`).
/// The default is read-only and not logged in.
///
/// ```no_run
/// # fn demo(token: &p11::Token) -> p11::Result<()> {
/// use p11::OpenOptions;
/// // Read-only, logged in as the user: enough to use keys.
/// let user = token.open(&OpenOptions::new().user_pin("1234"))?;
/// // Read-write as the security officer: to set the user's PIN.
/// let admin = token.open(&OpenOptions::new().rw().so_pin("12345678"))?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    rw: bool,
    user_pin: Option<Pin>,
    so_pin: Option<Pin>,
    user_type: Option<UserType>,
    protected: bool,
    mapper: Option<Arc<dyn AttributeMapper>>,
}

/// Where a URI's module is.
fn module_of(uri: &Uri) -> Result<PathBuf> {
    let path = uri.module_path.as_deref().map(PathBuf::from);
    let Some(name) = uri.module_name.as_deref() else {
        return match path {
            Some(file) if !file.is_dir() => Ok(file),
            _ => Err(Error::ModuleNotFound {
                name: None,
                searched: Vec::new(),
            }),
        };
    };
    if name.contains('/') {
        return Err(Error::ModuleNotFound {
            name: Some(name.to_owned()),
            searched: Vec::new(),
        });
    }
    let mut folders: Vec<PathBuf> = path.into_iter().filter(|p| p.is_dir()).collect();
    if folders.is_empty() {
        let multiarch = std::fs::read_dir("/usr/lib")
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().ends_with("-linux-gnu"));
        for lib in multiarch.chain([PathBuf::from("/usr/lib"), PathBuf::from("/usr/lib64")]) {
            folders.push(lib.join("pkcs11"));
            // Modules that keep a folder of their own (/usr/lib/softhsm/libsofthsm2.so).
            let own = std::fs::read_dir(&lib).into_iter().flatten().flatten();
            folders.extend(own.map(|e| e.path()).filter(|p| p.is_dir()));
            folders.push(lib);
        }
    }
    let files = [format!("lib{name}.so"), format!("{name}.so")];
    folders
        .iter()
        .flat_map(|folder| files.iter().map(move |file| folder.join(file)))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| Error::ModuleNotFound {
            name: Some(name.to_owned()),
            searched: folders.clone(),
        })
}

/// The most bytes p11 reads from a `pin-source` file: PINs are short (tokens here take
/// at most 255 bytes), and a larger file is a mistake, not a PIN.
pub const PIN_FILE_MAX: usize = 1024;

/// The PIN in the file `source` names, its trailing newlines dropped; read into one
/// buffer that is wiped, so that no copy is left in freed memory.
fn read_pin_source(source: &str) -> Result<Pin> {
    use p11_core::PinSourceProblem as Problem;
    use std::io::Read;
    let refuse = |problem| Error::PinSource {
        pin_source: source.chars().take(256).collect(),
        problem,
    };
    let path = source.strip_prefix("file:").unwrap_or(source);
    if path.contains(':') && !path.starts_with('/') {
        return Err(refuse(Problem::NotLocal));
    }
    // Looked at before it is opened: opening a FIFO waits for a writer.
    let metadata = std::fs::metadata(path).map_err(|e| refuse(Problem::Unreadable(e)))?;
    if !metadata.is_file() {
        return Err(refuse(Problem::NotAFile));
    }
    let mut file = std::fs::File::open(path).map_err(|e| refuse(Problem::Unreadable(e)))?;
    // One more byte than allowed tells a file too long (it may have grown since).
    let mut buffer = zeroize::Zeroizing::new([0u8; PIN_FILE_MAX + 1]);
    let mut len = 0;
    while len < buffer.len() {
        match file.read(&mut buffer[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(refuse(Problem::Unreadable(e))),
        }
    }
    if len > PIN_FILE_MAX {
        return Err(refuse(Problem::TooLong { max: PIN_FILE_MAX }));
    }
    let mut pin = &buffer[..len];
    while let [rest @ .., b'\n' | b'\r'] = pin {
        pin = rest;
    }
    Ok(Pin::from(pin))
}

impl OpenOptions {
    #[cfg(feature = "pool")]
    /// Whether a session opened so is logged in (a PIN, or the protected path).
    pub(crate) fn logs_in(&self) -> bool {
        self.user_pin.is_some() || self.so_pin.is_some() || self.protected
    }

    /// Read-only, nobody logged in.
    pub fn new() -> Self {
        Self::default()
    }

    /// Logged in as the user with the PIN a PKCS#11 URI gives: its `pin-value`, or the
    /// file its `pin-source` names (`file:/path` or a plain path; a trailing newline is
    /// not part of the PIN). Only a regular file of at most [`PIN_FILE_MAX`] bytes is
    /// read: a FIFO, a device or a directory is refused without being opened.
    ///
    /// # Errors
    /// [`Error::PinSource`] for a `pin-source` that names no local file, a file that is
    /// no regular one, one longer than a PIN, or one that cannot be read.
    pub fn uri(self, uri: &Uri) -> Result<Self> {
        if let Some(pin) = &uri.pin_value {
            return Ok(self.user_pin(pin.as_str()));
        }
        let Some(source) = &uri.pin_source else {
            return Ok(self);
        };
        Ok(self.user_pin(read_pin_source(source)?))
    }

    /// Read/write.
    #[must_use]
    pub fn rw(mut self) -> Self {
        self.rw = true;
        self
    }

    /// Log in as the user with this PIN.
    #[must_use]
    pub fn user_pin(mut self, pin: impl Into<Pin>) -> Self {
        self.user_pin = Some(pin.into());
        self
    }

    /// Log in as the security officer with this PIN (needs [`rw`](Self::rw)).
    #[must_use]
    pub fn so_pin(mut self, pin: impl Into<Pin>) -> Self {
        self.so_pin = Some(pin.into());
        self
    }

    /// Log in through the token's protected authentication path (PIN pad).
    #[must_use]
    pub fn protected_authentication(mut self) -> Self {
        self.protected = true;
        self
    }

    /// Read the session's attributes as `mapper` says (python's `attribute_mapper=`):
    /// vendor attributes' kinds, a module's nonstandard encodings.
    #[must_use]
    pub fn attribute_mapper(mut self, mapper: Arc<dyn AttributeMapper>) -> Self {
        self.mapper = Some(mapper);
        self
    }

    /// Log in as this user type (vendor types allowed) instead of the one the PIN implies.
    #[must_use]
    pub fn user_type(mut self, user_type: UserType) -> Self {
        self.user_type = Some(user_type);
        self
    }
}

impl Token {
    /// The token's label.
    pub fn label(&self) -> &str {
        self.token.label()
    }

    /// What the token says of itself (python's `token.manufacturer_id`, `model`,
    /// `serial`, `flags`, PIN lengths, free memory, ...), read now.
    ///
    /// # Errors
    /// The module's error from `C_GetTokenInfo`.
    pub fn info(&self) -> Result<TokenInfo> {
        self.token.info()
    }

    /// The core token: the escape hatch to what the facade does not wrap.
    pub fn core(&self) -> &p11_core::Token {
        &self.token
    }

    /// The slot the token is in (python's `token.slot`).
    pub fn slot(&self) -> Slot {
        Slot::from(self.token.slot().clone())
    }

    /// Opens a session as `options` say, and logs in when a PIN is given.
    ///
    /// PKCS#11 login state belongs to the token: when another session of this process
    /// has logged it in already, the module does not check the PIN given here, and the
    /// session opens all the same. [`Session::login`] says which happened —
    /// [`Login::Checked`] or [`Login::AlreadyLoggedIn`] — for a caller that opens a
    /// session to check a PIN.
    ///
    /// [`Login::Checked`]: crate::Login::Checked
    /// [`Login::AlreadyLoggedIn`]: crate::Login::AlreadyLoggedIn
    ///
    /// # Errors
    /// The module's error opening the session or logging in (`CKR_PIN_INCORRECT`, ...).
    pub fn open(&self, options: &OpenOptions) -> Result<Session> {
        let access = if options.rw {
            Access::ReadWrite
        } else {
            Access::ReadOnly
        };
        let session = self.token.open(access)?;
        if let Some(mapper) = &options.mapper {
            session.set_attribute_mapper(mapper.clone())?;
        }
        let default_type = if options.so_pin.is_some() {
            UserType::SO
        } else {
            UserType::USER
        };
        let user_type = options.user_type.unwrap_or(default_type);
        let login = if let Some(pin) = options.so_pin.as_ref().or(options.user_pin.as_ref()) {
            Some(session.login(user_type, pin)?)
        } else if options.protected {
            Some(session.login_protected(user_type)?)
        } else {
            None
        };
        Ok(Session::new(session, login))
    }
}
