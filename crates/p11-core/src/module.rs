//! Loading a PKCS#11 module, its function lists, and its initialisation.
//!
//! Every call into a module goes through [`call!`](crate::call), which looks the function
//! up in the module's list, serialises the call when the module was not told it may use
//! OS locking, and turns the return value into a [`Result`].

use crate::error::{check, Error, Result};
use crate::info::{padded_text, widen, InitFlags, Version};
use crate::Function;
use p11_sys::*;
use std::cell::Cell;
use std::collections::HashMap;
use std::ffi::CString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::ptr::{self, NonNull};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, Weak};

/// Calls a module function through a [`Gate`]: `call!(gate, C_GetSlotInfo(id, &mut info))`
/// for the 2.40 list, `call!(gate, v3 C_SessionCancel(handle, flags))` for the 3.0 list,
/// `call!(gate, v3_2 C_EncapsulateKey(..))` for the 3.2 list.
///
/// Evaluates to `Result<()>`: `Err(NotSupported)` when the module lacks the function,
/// `Err(Module { .. })` when it returns anything but `CKR_OK`. The call is an unsafe
/// operation: write it inside an `unsafe` block whose `SAFETY` comment says why the
/// arguments are valid for the duration of the call. The gate proves the module is
/// initialised (and the session open) for as long as the call runs.
#[macro_export]
#[doc(hidden)]
macro_rules! call {
    ($gate:expr, $function:ident ( $($arg:expr),* $(,)? )) => {
        match $gate.function_list().$function {
            Some(function) => $crate::module::traced($crate::module::function!($function), || function($($arg),*)),
            None => Err($crate::Error::NotSupported($crate::module::function!($function))),
        }
    };
    ($gate:expr, v3 $function:ident ( $($arg:expr),* $(,)? )) => {
        match $gate.function_list_3_0().and_then(|list| list.$function) {
            Some(function) => $crate::module::traced($crate::module::function!($function), || function($($arg),*)),
            None => Err($crate::Error::NotSupported($crate::module::function!($function))),
        }
    };
    ($gate:expr, v3_2 $function:ident ( $($arg:expr),* $(,)? )) => {
        match $gate.function_list_3_2().and_then(|list| list.$function) {
            Some(function) => $crate::module::traced($crate::module::function!($function), || function($($arg),*)),
            None => Err($crate::Error::NotSupported($crate::module::function!($function))),
        }
    };
}

/// The [`Function`] a function-list field names, found when compiling.
macro_rules! function {
    ($function:ident) => {
        const { $crate::module::function_named(stringify!($function)) }
    };
}
pub(crate) use function;

/// The function whose C name is `name`: for [`function!`], at compile time, where an
/// unknown name fails the build.
pub(crate) const fn function_named(name: &str) -> Function {
    let mut i = 0;
    while i < Function::ALL.len() {
        let candidate = Function::ALL[i];
        if same(candidate.name().as_bytes(), name.as_bytes()) {
            return candidate;
        }
        i += 1;
    }
    // Only ever evaluated in a const block: a name no function has fails the build.
    #[allow(clippy::panic)]
    {
        panic!("no PKCS#11 function has this name")
    }
}

const fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Runs one C call and checks its return value; with the `tracing` feature, inside a
/// span that records the function, the return value and the duration (the arguments,
/// which may be PINs, keys or data, never).
#[inline(always)]
pub(crate) fn traced(function: Function, call: impl FnOnce() -> CK_RV) -> Result<()> {
    #[cfg(feature = "tracing")]
    {
        let span = tracing::trace_span!(
            "pkcs11_call",
            function = function.name(),
            rv = tracing::field::Empty,
            micros = tracing::field::Empty
        );
        let _entered = span.enter();
        let started = std::time::Instant::now();
        let rv = call();
        span.record("rv", tracing::field::display(crate::ReturnValue::from(rv)));
        span.record("micros", started.elapsed().as_micros() as u64);
        check(rv, function)
    }
    #[cfg(not(feature = "tracing"))]
    check(call(), function)
}

/// The most interfaces p11 lists for a module.
const MAX_INTERFACES: usize = 64;

/// An interface a module offers (`CK_INTERFACE`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    /// Its name: `"PKCS 11"` for the standard one, a vendor's own otherwise.
    pub name: String,
    /// The version of its function list, for the standard interface (whose list begins
    /// with one); `None` for a vendor's, whose layout p11 does not know.
    pub version: Option<Version>,
    /// Whether its functions may be called in a forked child (`CKF_INTERFACE_FORK_SAFE`).
    pub fork_safe: bool,
}

impl Interface {
    fn from_raw(raw: &CK_INTERFACE) -> Interface {
        let name = interface_name(raw.pInterfaceName);
        let standard = name.as_bytes() == &PKCS11_INTERFACE_NAME[..PKCS11_INTERFACE_NAME.len() - 1];
        let version = (standard && !raw.pFunctionList.is_null()).then(|| {
            // SAFETY: a standard interface's function list begins with its CK_VERSION,
            // and the module keeps it while loaded.
            Version::from(unsafe { *(raw.pFunctionList as *const CK_VERSION) })
        });
        Interface {
            name,
            version,
            fork_safe: raw.flags & CKF_INTERFACE_FORK_SAFE != 0,
        }
    }
}

/// The interfaces `get_list` (a `C_GetInterfaceList`) gives, asked once with room for
/// [`MAX_INTERFACES`]: no count query first, whose NULL list OpenSC 0.23's pkcs11-spy
/// reads through.
fn interface_list(
    get_list: impl FnOnce(CK_INTERFACE_PTR, CK_ULONG_PTR) -> Result<()>,
) -> Result<Vec<CK_INTERFACE>> {
    let room = MAX_INTERFACES;
    let mut list = vec![
        CK_INTERFACE {
            pInterfaceName: ptr::null_mut(),
            pFunctionList: ptr::null_mut(),
            flags: 0,
        };
        room
    ];
    let mut count = room as CK_ULONG;
    get_list(list.as_mut_ptr(), &mut count)?;
    let answered = usize::try_from(count)
        .ok()
        .filter(|n| *n <= room)
        .ok_or_else(|| {
            Error::invalid_response(
                Function::GetInterfaceList,
                format!("{count} interfaces in room for {room}"),
            )
        })?;
    list.truncate(answered);
    Ok(list)
}

/// A module's NUL-terminated interface name, read up to 256 bytes.
fn interface_name(name: CK_UTF8CHAR_PTR) -> String {
    if name.is_null() {
        return String::new();
    }
    let mut bytes = Vec::new();
    for i in 0..256 {
        // SAFETY: the module gives a NUL-terminated string it keeps while loaded; the
        // read stops at the NUL, and at 256 bytes for a module that forgot it.
        let byte = unsafe { *name.add(i) };
        if byte == 0 {
            break;
        }
        bytes.push(byte);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Arguments for `C_Initialize`.
///
/// The default asks for OS locking (`CKF_OS_LOCKING_OK`), so that the module protects
/// itself when several threads call it. (python-pkcs11 passes no arguments, which lets
/// SoftHSM turn its locking off.) NSS's softoken needs a `reserved` string naming its
/// database.
#[derive(Clone, PartialEq, Eq)]
#[must_use = "a builder does nothing until used"]
pub struct InitArgs {
    flags: InitFlags,
    reserved: Option<CString>,
}

impl Default for InitArgs {
    fn default() -> Self {
        InitArgs {
            flags: InitFlags::OS_LOCKING_OK,
            reserved: None,
        }
    }
}

impl InitArgs {
    /// OS locking, no reserved string.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces the flags. Without `OS_LOCKING_OK` the module may assume one thread at a
    /// time, so p11 then serialises every call to it.
    pub fn flags(mut self, flags: InitFlags) -> Self {
        self.flags = flags;
        self
    }

    /// The `pReserved` string some modules read their configuration from, such as NSS's
    /// `configdir='sql:/path'`. Fails when it contains a NUL byte.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `reserved` contains a NUL byte.
    pub fn reserved(mut self, reserved: &str) -> Result<Self> {
        let reserved = CString::new(reserved).map_err(|_| {
            Error::InvalidArgument("the C_Initialize reserved string contains a NUL byte".into())
        })?;
        self.reserved = Some(reserved);
        Ok(self)
    }

    /// The flags that will be passed.
    pub fn get_flags(&self) -> InitFlags {
        self.flags
    }
}

impl fmt::Debug for InitArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InitArgs")
            .field("flags", &self.flags)
            .field("reserved", &self.reserved.as_ref().map(|_| "<set>"))
            .finish()
    }
}

/// What the library says of itself (`C_GetInfo`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LibraryInfo {
    /// The Cryptoki version the library implements.
    pub cryptoki_version: Version,
    /// Who made the library.
    pub manufacturer_id: String,
    /// Library flags (none are defined by PKCS#11 yet).
    pub flags: u64,
    /// What the library is.
    pub library_description: String,
    /// The library's own version.
    pub library_version: Version,
}

/// A loaded and initialised PKCS#11 module. Cheap to clone: clones share one
/// initialisation, and so does loading the same path again. `C_Finalize` runs, and the
/// library is unloaded, when the last clone (and every slot, token and session made from
/// it) is gone, or at once with [`Module::finalize`].
#[derive(Clone)]
pub struct Module {
    inner: Arc<ModuleInner>,
}

/// The state every handle to one module shares.
pub(crate) struct ModuleInner {
    path: PathBuf,
    init_args: InitArgs,
    functions: FunctionLists,
    /// Every call holds this shared ([`Gate`]); finalising and re-initialising hold it
    /// exclusively, so that no call runs under `C_Finalize`.
    lifecycle: RwLock<Lifecycle>,
    /// Present when the module may not be thread-safe: no OS locking was asked for, or
    /// someone else in the process initialised it with arguments we do not know.
    serial: Option<Mutex<()>>,
    /// The key of its entry in [`LOADED`], once listed there.
    registered_as: Option<PathBuf>,
    sessions: Mutex<SessionBook>,
    /// Held shared while a search gathers objects (`C_FindObjectsInit`), exclusively
    /// while a session closes or the token logs out, which free session objects. SoftHSM
    /// registers a handle for each object a search finds; one registered for an object
    /// being freed outlives it and is later given to a new object at the same address,
    /// and that key's handle then dies with the searching session. Searches start
    /// quickly, so closing waits for little.
    pub(crate) object_sweep: RwLock<()>,
    /// Dropped last, after `Drop::drop` has finalised the module.
    _library: libloading::Library,
}

/// Whether the module is initialised, and by whom.
struct Lifecycle {
    initialized: bool,
    /// Whether the process's `C_Initialize` was ours to undo with `C_Finalize`.
    owned: bool,
}

/// The function lists a module gave us. The pointers stay valid while the library is
/// loaded, which `ModuleInner` guarantees by owning it.
struct FunctionLists {
    v2: NonNull<CK_FUNCTION_LIST>,
    v3_0: Option<NonNull<CK_FUNCTION_LIST_3_0>>,
    v3_2: Option<NonNull<CK_FUNCTION_LIST_3_2>>,
    version: Version,
}

/// What p11 tracks of the sessions it opened, so that dropping one never closes or logs
/// out what belongs to another, and so that sessions a module closed become inert.
#[derive(Default)]
pub(crate) struct SessionBook {
    pub(crate) slots: HashMap<crate::SlotId, SlotBook>,
}

#[derive(Default)]
pub(crate) struct SlotBook {
    /// Open sessions that logged in (PKCS#11 login state is per token, not per session).
    pub(crate) logins: usize,
    /// The token's login generation: a logout ends it (every session is logged out), so
    /// sessions counted in an earlier one no longer count.
    pub(crate) login_generation: u64,
    /// The sessions open on the slot, to mark closed when the module closes them all.
    pub(crate) sessions: Vec<Weak<crate::session::SessionInner>>,
    /// The token's mechanisms, sorted, read once ([`Slot::has_mechanism`]); forgotten
    /// when the module is finalised.
    ///
    /// [`Slot::has_mechanism`]: crate::Slot::has_mechanism
    pub(crate) mechanisms: Option<Arc<[crate::MechanismType]>>,
}

impl SessionBook {
    /// Marks every session closed: the module has closed them (`C_Finalize`).
    fn close_all(&mut self) {
        for slot in self.slots.values_mut() {
            slot.close_all();
        }
        self.slots.clear();
    }
}

impl SlotBook {
    /// Marks the slot's sessions closed: the module has closed them.
    pub(crate) fn close_all(&mut self) {
        for session in self.sessions.drain(..).filter_map(|s| s.upgrade()) {
            session.mark_closed();
        }
        self.logins = 0;
        self.login_generation += 1;
    }
}

// SAFETY: the function lists are read-only tables of function pointers owned by the
// loaded library. The module is thread-safe when initialised with OS locking (the default,
// required for `Sync` by PKCS#11 §5.1.6); otherwise `serial` makes every call exclusive.
// The rest of the state is behind locks.
unsafe impl Send for ModuleInner {}
// SAFETY: as for `Send`.
unsafe impl Sync for ModuleInner {}

/// Every module loaded in this process, by path, so that loading a path twice shares one
/// initialisation. Weak, so that the last `Module` to go finalises; an entry whose module
/// is gone but still listed is being finalised, and a new load of its path waits for
/// [`UNLOADED`] rather than initialising it again under the finaliser's feet.
static LOADED: Mutex<Vec<(PathBuf, Weak<ModuleInner>)>> = Mutex::new(Vec::new());
static UNLOADED: Condvar = Condvar::new();

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

thread_local! {
    /// The modules this thread holds a gate on (0: a free place), so that a nested call
    /// (a drop inside an operation, say) does not take the shared lock twice: a reader
    /// waiting behind a waiting writer would wait for itself. Four places: more modules
    /// nested in one thread are not seen, and take the lock as usual.
    static ENTERED: [Cell<usize>; 4] = const { [const { Cell::new(0) }; 4] };
}

fn entered(module: &ModuleInner) -> bool {
    let me = module as *const ModuleInner as usize;
    ENTERED.with(|places| places.iter().any(|place| place.get() == me))
}

/// Whether this thread holds a gate on `module` already; if not, records that it is
/// taking one (one look at the table for both: entering is on every call's path).
#[inline]
fn nest_or_mark(module: &ModuleInner) -> bool {
    let me = module as *const ModuleInner as usize;
    ENTERED.with(|places| {
        if places.iter().any(|place| place.get() == me) {
            return true;
        }
        if let Some(place) = places.iter().find(|place| place.get() == 0) {
            place.set(me);
        }
        false
    })
}

/// Forgets that this thread holds a gate on `module`.
fn forget_entered(module: &ModuleInner) {
    let me = module as *const ModuleInner as usize;
    ENTERED.with(|places| {
        if let Some(place) = places.iter().find(|place| place.get() == me) {
            place.set(0);
        }
    });
}

/// Permission to call into a module: it is initialised, and stays so while the gate is
/// held (finalize and reinitialize wait for every gate). Calls go through it with
/// [`call!`](crate::call).
pub(crate) struct Gate<'m> {
    module: &'m ModuleInner,
    /// `None` when this thread already held a gate on the module, or for the exclusive
    /// holder's own calls.
    shared: Option<RwLockReadGuard<'m, Lifecycle>>,
    _serial: Option<MutexGuard<'m, ()>>,
}

impl<'m> Gate<'m> {
    /// Enters the module: `Err(Finalized)` when it is not initialised.
    #[inline]
    pub(crate) fn enter(module: &'m ModuleInner) -> Result<Gate<'m>> {
        if nest_or_mark(module) {
            // The outer gate keeps the module initialised, and holds `serial`.
            return Ok(Gate {
                module,
                shared: None,
                _serial: None,
            });
        }
        let shared = module
            .lifecycle
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        if !shared.initialized {
            forget_entered(module);
            return Err(Error::Finalized);
        }
        Ok(Gate {
            module,
            shared: Some(shared),
            _serial: module.serial.as_ref().map(lock),
        })
    }

    /// The gate of the thread that holds the lifecycle exclusively.
    fn exclusive(module: &'m ModuleInner) -> Gate<'m> {
        Gate {
            module,
            shared: None,
            _serial: None,
        }
    }

    /// The 2.40 function list, which every module has (3.x lists begin with it).
    pub(crate) fn function_list(&self) -> &CK_FUNCTION_LIST {
        self.module.function_list()
    }

    /// The 3.0 function list, on modules that offer PKCS#11 3.x.
    pub(crate) fn function_list_3_0(&self) -> Option<&CK_FUNCTION_LIST_3_0> {
        self.module.function_list_3_0()
    }

    /// The 3.2 function list, on modules that offer PKCS#11 3.2.
    pub(crate) fn function_list_3_2(&self) -> Option<&CK_FUNCTION_LIST_3_2> {
        self.module.function_list_3_2()
    }
}

impl Drop for Gate<'_> {
    fn drop(&mut self) {
        if self.shared.is_some() {
            forget_entered(self.module);
        }
    }
}

/// The module's book of sessions, locked. Taken inside a [`Gate`] (never the other way
/// round), and held across the calls that change login or session state, so that two
/// threads never interleave them.
pub(crate) fn lock_sessions(module: &ModuleInner) -> MutexGuard<'_, SessionBook> {
    lock(&module.sessions)
}

impl Module {
    /// Loads the module at `path` and initialises it with OS locking.
    ///
    /// ```no_run
    /// let module = p11_core::Module::load("/usr/lib/softhsm/libsofthsm2.so")?;
    /// println!("{}", module.info()?.library_description);
    /// # Ok::<(), p11_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Load`] when the file cannot be loaded, [`Error::NotAModule`] when it has
    /// no PKCS#11 entry point, the module's error from `C_Initialize`.
    pub fn load(path: impl AsRef<Path>) -> Result<Module> {
        Self::load_with(path, InitArgs::default())
    }

    /// Loads the module at `path` and initialises it with `args`.
    ///
    /// When the same file is already loaded in this process, its handle is shared (and
    /// `args` must match the first load's). Loading runs the library's initialisation
    /// code: load only modules you trust.
    ///
    /// When someone else in the process (another library) has already initialised the
    /// module, p11 cannot know whether it asked for OS locking, so it serialises its own
    /// calls to it, and leaves finalising it to them.
    ///
    /// # Errors
    /// As [`Module::load`]; [`Error::InitArgsConflict`] when the path is loaded with
    /// other arguments.
    pub fn load_with(path: impl AsRef<Path>, args: InitArgs) -> Result<Module> {
        Self::load_or_join(path.as_ref(), Some(args))
    }

    /// The module at `path` as this process has it loaded already, whatever arguments it
    /// was initialised with; else loaded with the default ones. For callers that have no
    /// say in the arguments: a PKCS#11 URI names a module but carries no init string.
    ///
    /// # Errors
    /// As [`Module::load`].
    pub fn join_or_load(path: impl AsRef<Path>) -> Result<Module> {
        Self::load_or_join(path.as_ref(), None)
    }

    /// Shares the loaded module at `given` when its arguments are `args` (any, for
    /// `None`), else loads it with `args` (the default ones for `None`).
    fn load_or_join(given: &Path, args: Option<InitArgs>) -> Result<Module> {
        // A bare file name is for the dynamic loader to search; anything else is one file
        // however it is spelled.
        let key = if given.components().count() > 1 {
            std::fs::canonicalize(given).map_err(|e| Error::Load {
                path: given.to_path_buf(),
                reason: Box::new(e),
            })?
        } else {
            given.to_path_buf()
        };
        let mut loaded = lock(&LOADED);
        while let Some((_, module)) = loaded.iter().find(|(path, _)| *path == key) {
            let Some(inner) = module.upgrade() else {
                // Its last handle is finalising it: wait until that is done.
                loaded = UNLOADED
                    .wait(loaded)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            };
            if args.as_ref().is_none_or(|args| inner.init_args == *args) {
                return Ok(Module { inner });
            }
            // Unlock first: should `inner` be the last handle, its drop takes the lock.
            drop(loaded);
            drop(inner);
            return Err(Error::InitArgsConflict {
                path: given.to_path_buf(),
            });
        }
        let mut inner = ModuleInner::load(given, args.unwrap_or_default())?;
        inner.registered_as = Some(key.clone());
        let inner = Arc::new(inner);
        loaded.push((key, Arc::downgrade(&inner)));
        Ok(Module { inner })
    }

    pub(crate) fn inner(&self) -> &ModuleInner {
        &self.inner
    }

    /// The module's 2.40 function list, for calls p11 does not wrap (with
    /// [`Session::handle`](crate::Session::handle) and [`sys`](crate::sys)). Calling
    /// through it is `unsafe`: PKCS#11's rules for pointers and handles are yours to keep,
    /// and p11's lifecycle gate does not cover such calls.
    pub fn raw_function_list(&self) -> &CK_FUNCTION_LIST {
        self.inner.function_list()
    }

    /// The path the module was loaded from, as first given.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Whether the module has `function`: its entry in the function lists it gave p11
    /// is set (a 2.40 module has no 3.x function, a 3.0 one no 3.2 function).
    pub fn is_supported(&self, function: Function) -> bool {
        let inner = &self.inner;
        function.present(
            inner.function_list(),
            inner.function_list_3_0(),
            inner.function_list_3_2(),
        )
    }

    /// The interfaces the module offers (`C_GetInterfaceList`, PKCS#11 3.x): the standard
    /// `"PKCS 11"` one in each version it has, and any of its vendor's.
    ///
    /// # Errors
    /// [`Error::NotSupported`] on a 2.x module; the module's error (`CKR_BUFFER_TOO_SMALL`
    /// for more than p11 takes, 64); p11's when it answers more interfaces than it had
    /// room for.
    pub fn interfaces(&self) -> Result<Vec<Interface>> {
        let gate = Gate::enter(&self.inner)?;
        let raw = interface_list(|list, count| {
            // SAFETY: `list` is writable for `*count` entries; `count` is writable.
            unsafe { call!(gate, v3 C_GetInterfaceList(list, count)) }
        })?;
        Ok(raw.iter().map(Interface::from_raw).collect())
    }

    /// The version of the function list in use: 2.x from `C_GetFunctionList`, 3.x from
    /// `C_GetInterface`.
    pub fn interface_version(&self) -> Version {
        self.inner.functions.version
    }

    /// Whether the module is initialised: false after [`finalize`](Self::finalize) (on
    /// another handle) or a failed [`reinitialize`](Self::reinitialize).
    pub fn is_initialized(&self) -> bool {
        self.inner
            .lifecycle
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .initialized
    }

    /// The library's description of itself.
    ///
    /// # Errors
    /// The module's error from `C_GetInfo`; [`Error::Finalized`].
    pub fn info(&self) -> Result<LibraryInfo> {
        let gate = self.inner.enter()?;
        let mut info = CK_INFO::default();
        // SAFETY: `info` is a writable CK_INFO for the duration of the call.
        unsafe { call!(gate, C_GetInfo(&mut info)) }?;
        Ok(LibraryInfo {
            cryptoki_version: info.cryptokiVersion.into(),
            manufacturer_id: padded_text(&info.manufacturerID),
            flags: widen(info.flags),
            library_description: padded_text(&info.libraryDescription),
            library_version: info.libraryVersion.into(),
        })
    }

    /// Finalises and initialises the module again, with the same arguments.
    ///
    /// Waits for calls in flight on other threads, and runs with none beside it. Every
    /// session of every handle to this module is gone afterwards (PKCS#11 closes them):
    /// their `Session` values, and objects and operations made through them, answer
    /// [`Error::SessionClosed`] and close nothing when dropped. When `C_Finalize` fails
    /// and the module still answers as initialised, nothing changed: sessions, logins and
    /// objects stay usable, and `reinitialize` can be tried again. When `C_Initialize`
    /// fails, the module stays finalised (calls answer [`Error::Finalized`]) and
    /// `reinitialize` can be tried again.
    ///
    /// # Errors
    /// The module's error from `C_Finalize` or `C_Initialize`;
    /// [`Error::OperationInProgress`] when called from inside one of the module's calls
    /// (a drop handler, say), where waiting for the calls in flight would wait for itself.
    pub fn reinitialize(&self) -> Result<()> {
        self.inner.cycle(true)
    }

    /// Finalises the module now (`C_Finalize`), reporting what went wrong, instead of
    /// quietly when the last handle goes. Other handles, sessions and objects of this
    /// module become inert ([`Error::Finalized`], [`Error::SessionClosed`]); loading the
    /// path again initialises it afresh.
    ///
    /// # Errors
    /// The module's error from `C_Finalize`: where the module still answers as
    /// initialised, other handles and their sessions carry on, and the last handle's drop
    /// finalises it; otherwise they are inert all the same;
    /// [`Error::OperationInProgress`] as for [`reinitialize`](Self::reinitialize).
    pub fn finalize(self) -> Result<()> {
        let result = self.inner.cycle(false);
        if self.is_initialized() {
            // The module kept its state: this handle goes, the others carry on, and the
            // last one finalises it when dropped.
            return result;
        }
        if let Some(key) = &self.inner.registered_as {
            let mut loaded = lock(&LOADED);
            let me = Arc::downgrade(&self.inner);
            loaded.retain(|(path, module)| path != key || !module.ptr_eq(&me));
        }
        result
    }
}

/// Two handles are equal when they share one loaded module.
impl PartialEq for Module {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for Module {}

impl fmt::Debug for Module {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Module")
            .field("path", &self.inner.path)
            .field("interface_version", &self.inner.functions.version)
            .finish()
    }
}

type GetFunctionList = unsafe extern "C" fn(CK_FUNCTION_LIST_PTR_PTR) -> CK_RV;
type GetInterfaceList = unsafe extern "C" fn(CK_INTERFACE_PTR, CK_ULONG_PTR) -> CK_RV;
type GetInterface = unsafe extern "C" fn(
    *mut CK_UTF8CHAR,
    *mut CK_VERSION,
    *mut CK_INTERFACE_PTR,
    CK_FLAGS,
) -> CK_RV;

/// Loads the module's library, never to be unmapped on Unix (`RTLD_NODELETE`): modules
/// leave thread-exit destructors behind (kryoptic's OpenSSL does), which would jump into
/// unmapped code when a thread ends after the last `Module` went.
#[cfg(unix)]
fn open_library(path: &Path) -> std::result::Result<libloading::Library, libloading::Error> {
    use libloading::os::unix::{Library, RTLD_LOCAL, RTLD_NOW};
    // SAFETY: loading a library runs its initialisers; the caller chose the module and
    // PKCS#11 modules have no initialisers with preconditions on us.
    unsafe { Library::open(Some(path), RTLD_NOW | RTLD_LOCAL | libc::RTLD_NODELETE) }
        .map(libloading::Library::from)
}

/// Loads the module's library.
#[cfg(not(unix))]
fn open_library(path: &Path) -> std::result::Result<libloading::Library, libloading::Error> {
    // SAFETY: as above.
    unsafe { libloading::Library::new(path) }
}

impl ModuleInner {
    fn load(path: &Path, init_args: InitArgs) -> Result<ModuleInner> {
        let load_error = |e: libloading::Error| Error::Load {
            path: path.to_path_buf(),
            reason: Box::new(e),
        };
        let library = open_library(path).map_err(load_error)?;
        let functions = FunctionLists::from_library(&library, path)?;
        let mut inner = ModuleInner {
            path: path.to_path_buf(),
            init_args,
            functions,
            lifecycle: RwLock::new(Lifecycle {
                initialized: false,
                owned: false,
            }),
            serial: None,
            registered_as: None,
            sessions: Mutex::new(SessionBook::default()),
            object_sweep: RwLock::new(()),
            _library: library,
        };
        let owned = inner.initialize()?;
        let os_locking = inner.init_args.flags.contains(InitFlags::OS_LOCKING_OK);
        if !owned || !os_locking {
            inner.serial = Some(Mutex::new(()));
        }
        *inner
            .lifecycle
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner) = Lifecycle {
            initialized: true,
            owned,
        };
        Ok(inner)
    }

    /// Enters the module for calls.
    #[inline]
    pub(crate) fn enter(&self) -> Result<Gate<'_>> {
        Gate::enter(self)
    }

    /// `C_Initialize` with this module's arguments. `Ok(false)` when someone else in the
    /// process had initialised it already (then it is not ours to finalise). Called only
    /// with the lifecycle held exclusively (or before anyone can see the module).
    fn initialize(&self) -> Result<bool> {
        let mut args = CK_C_INITIALIZE_ARGS {
            CreateMutex: None,
            DestroyMutex: None,
            LockMutex: None,
            UnlockMutex: None,
            // Flags PKCS#11 defines fit 32 bits: nothing is cut on LLP64 targets.
            flags: self.init_args.flags.bits() as CK_FLAGS,
            pReserved: self
                .init_args
                .reserved
                .as_ref()
                .map_or(ptr::null_mut(), |s| s.as_ptr() as CK_VOID_PTR),
        };
        let gate = Gate::exclusive(self);
        // SAFETY: `args` is a valid CK_C_INITIALIZE_ARGS for the call; its reserved
        // string is owned by `self.init_args` and outlives the module.
        let result = unsafe {
            call!(
                gate,
                C_Initialize(&mut args as *mut CK_C_INITIALIZE_ARGS as CK_VOID_PTR)
            )
        };
        match result {
            Ok(()) => Ok(true),
            Err(Error::Module {
                rv: crate::ReturnValue::CryptokiAlreadyInitialized,
                ..
            }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Runs `f` with every call drained and none beside it: for what invalidates session
    /// handles (closing sessions that other threads may be using).
    pub(crate) fn exclusive<T>(
        &self,
        f: impl FnOnce(&Gate<'_>, &mut SessionBook) -> Result<T>,
    ) -> Result<T> {
        if entered(self) {
            return Err(Error::CallInProgress(Function::CloseSession));
        }
        let state = self
            .lifecycle
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if !state.initialized {
            return Err(Error::Finalized);
        }
        let gate = Gate::exclusive(self);
        let result = f(&gate, &mut lock_sessions(self));
        drop(state);
        result
    }

    /// Finalises the module with every call drained, marks every session closed, and,
    /// with `again`, initialises it anew.
    fn cycle(&self, again: bool) -> Result<()> {
        if entered(self) {
            return Err(Error::CallInProgress(Function::Finalize));
        }
        let mut state = self
            .lifecycle
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let finalized = if state.initialized {
            let gate = Gate::exclusive(self);
            // SAFETY: C_Finalize takes a reserved NULL pointer; no call is in flight.
            let result = unsafe { call!(gate, C_Finalize(ptr::null_mut())) };
            if result.is_err() && still_initialized(&gate) {
                // The module kept everything (sessions, logins): so does p11, and a retry
                // finalises what is still ours.
                return result;
            }
            state.initialized = false;
            lock_sessions(self).close_all();
            result
        } else {
            Ok(())
        };
        if again {
            finalized?;
            state.owned = self.initialize()?;
            state.initialized = true;
            return Ok(());
        }
        finalized
    }

    /// The 2.40 function list, which every module has (3.x lists begin with it).
    fn function_list(&self) -> &CK_FUNCTION_LIST {
        // SAFETY: the module gave us this pointer and keeps it valid while loaded; we own
        // the library, so it is loaded for as long as `self` lives.
        unsafe { self.functions.v2.as_ref() }
    }

    /// The 3.0 function list, on modules that offer PKCS#11 3.x.
    fn function_list_3_0(&self) -> Option<&CK_FUNCTION_LIST_3_0> {
        // SAFETY: as for `function_list`; only set when the interface is 3.x.
        self.functions.v3_0.map(|list| unsafe { list.as_ref() })
    }

    /// The 3.2 function list, on modules that offer PKCS#11 3.2.
    fn function_list_3_2(&self) -> Option<&CK_FUNCTION_LIST_3_2> {
        // SAFETY: as for `function_list`; only set when the interface is 3.2 or later.
        self.functions.v3_2.map(|list| unsafe { list.as_ref() })
    }
}

/// Whether the module still answers as initialised after a failed `C_Finalize`: only
/// `CKR_CRYPTOKI_NOT_INITIALIZED` from `C_GetInfo` says it is not.
fn still_initialized(gate: &Gate<'_>) -> bool {
    let mut info = CK_INFO::default();
    // SAFETY: `info` is a writable CK_INFO for the duration of the call.
    let answer = unsafe { call!(gate, C_GetInfo(&mut info)) };
    !matches!(
        answer,
        Err(Error::Module {
            rv: crate::ReturnValue::CryptokiNotInitialized,
            ..
        })
    )
}

impl Drop for ModuleInner {
    fn drop(&mut self) {
        // An unlisted module is a failed load, which initialised nothing.
        let Some(key) = &self.registered_as else {
            return;
        };
        // Finalise while listed, so that a new load of this path waits for us.
        let mut loaded = lock(&LOADED);
        let state = self
            .lifecycle
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        if state.initialized && state.owned {
            let gate = Gate::exclusive(self);
            // SAFETY: C_Finalize takes a reserved NULL pointer. Nothing is left to use
            // the module: this was the last handle.
            let _ = unsafe { call!(gate, C_Finalize(ptr::null_mut())) };
        }
        loaded.retain(|(path, module)| path != key || module.strong_count() > 0);
        UNLOADED.notify_all();
    }
}

impl FunctionLists {
    /// The newest standard interface the library offers: `C_GetInterface` (PKCS#11 3.x)
    /// where it is exported and answers, else `C_GetFunctionList`.
    fn from_library(library: &libloading::Library, path: &Path) -> Result<FunctionLists> {
        // The list first: choosing from it asks the module nothing it might not expect
        // (OpenSC 0.23's pkcs11-spy crashes on `C_GetInterface` for a version it lacks).
        // SAFETY: the symbol, when present, has the type PKCS#11 gives it.
        let get_list = unsafe { library.get::<GetInterfaceList>(b"C_GetInterfaceList\0") }
            .ok()
            .map(|symbol| *symbol);
        if let Some(lists) = get_list.and_then(Self::from_interface_list) {
            return Ok(lists);
        }
        // SAFETY: as above.
        let get_interface = unsafe { library.get::<GetInterface>(b"C_GetInterface\0") }
            .ok()
            .map(|symbol| *symbol);
        if let Some(get_interface) = get_interface {
            if let Some(lists) = Self::from_interface(get_interface) {
                return Ok(lists);
            }
        }
        // SAFETY: as above.
        let get_function_list = unsafe { library.get::<GetFunctionList>(b"C_GetFunctionList\0") }
            .map(|symbol| *symbol)
            .map_err(|_| Error::NotAModule {
                path: path.to_path_buf(),
            })?;
        let mut list: CK_FUNCTION_LIST_PTR = ptr::null_mut();
        // SAFETY: `list` is a writable out-pointer for the call.
        let rv = unsafe { get_function_list(&mut list) };
        check(rv, Function::GetFunctionList)?;
        let v2 = NonNull::new(list).ok_or_else(|| {
            Error::invalid_response(Function::GetFunctionList, "a NULL function list")
        })?;
        // SAFETY: the module returned a non-NULL list that stays valid while loaded.
        let version = unsafe { v2.as_ref() }.version.into();
        Ok(FunctionLists {
            v2,
            v3_0: None,
            v3_2: None,
            version,
        })
    }

    /// The newest standard "PKCS 11" interface up to 3.2 (the newest p11 knows) in the
    /// module's `C_GetInterfaceList`; `None` when the list is not to be had or has none.
    fn from_interface_list(get_list: GetInterfaceList) -> Option<FunctionLists> {
        let list = interface_list(|list, count| {
            // SAFETY: `list` is writable for `*count` entries; `count` is writable.
            check(unsafe { get_list(list, count) }, Function::GetInterfaceList)
        })
        .ok()?;
        let newest = Version { major: 3, minor: 2 };
        let best = list
            .iter()
            .filter_map(|raw| {
                let interface = Interface::from_raw(raw);
                let version = interface.version.filter(|v| *v <= newest)?;
                Some((version, raw.pFunctionList))
            })
            .max_by_key(|(version, _)| *version)?;
        Self::from_list(best.1)
    }

    /// The standard "PKCS 11" interface: 3.2 (the newest p11 knows) when the module
    /// offers it, else the module's default; `None` when it has none to give.
    fn from_interface(get_interface: GetInterface) -> Option<FunctionLists> {
        let newest = CK_VERSION { major: 3, minor: 2 };
        let interface = Self::interface(get_interface, Some(newest))
            .or_else(|| Self::interface(get_interface, None))?;
        // SAFETY: the module points `interface` at a CK_INTERFACE it owns.
        Self::from_list(unsafe { interface.as_ref() }.pFunctionList)
    }

    /// The lists of a standard interface's function list `list`, by its version.
    fn from_list(list: CK_VOID_PTR) -> Option<FunctionLists> {
        let v2 = NonNull::new(list as CK_FUNCTION_LIST_PTR)?;
        // SAFETY: every function list begins with its CK_VERSION.
        let version: Version = unsafe { v2.as_ref() }.version.into();
        let v3_0 = (version.major >= 3).then(|| v2.cast::<CK_FUNCTION_LIST_3_0>());
        let v3_2 =
            (version >= Version { major: 3, minor: 2 }).then(|| v2.cast::<CK_FUNCTION_LIST_3_2>());
        Some(FunctionLists {
            v2,
            v3_0,
            v3_2,
            version,
        })
    }

    /// `C_GetInterface` for the standard interface of `version` (`None`: the default).
    fn interface(
        get_interface: GetInterface,
        version: Option<CK_VERSION>,
    ) -> Option<NonNull<CK_INTERFACE>> {
        let mut version = version;
        let version_ptr = version
            .as_mut()
            .map_or(ptr::null_mut(), |v| v as *mut CK_VERSION);
        let mut interface: CK_INTERFACE_PTR = ptr::null_mut();
        // SAFETY: the name is a NUL-terminated string the module only reads; the version
        // is NULL or points at a CK_VERSION alive across the call; `interface` is a
        // writable out-pointer.
        let rv = unsafe {
            get_interface(
                PKCS11_INTERFACE_NAME.as_ptr() as *mut CK_UTF8CHAR,
                version_ptr,
                &mut interface,
                0,
            )
        };
        if rv != CKR_OK {
            return None;
        }
        NonNull::new(interface)
    }
}
