//! Loading a PKCS#11 module, its function lists, and its initialisation.
//!
//! Every call into a module goes through [`call!`](crate::call), which looks the function
//! up in the module's list, serialises the call when the module was not told it may use
//! OS locking, and turns the return value into a [`Result`].

use crate::error::{check, Error, Result};
use crate::info::{padded_text, InitFlags, Version};
use p11_sys::*;
use std::collections::HashMap;
use std::ffi::CString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::ptr::{self, NonNull};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};

/// Calls a module function: `call!(module, C_GetSlotInfo(id, &mut info))` for the 2.40
/// list, `call!(module, v3 C_SessionCancel(handle, flags))` for the 3.0 list.
///
/// Evaluates to `Result<()>`: `Err(NotSupported)` when the module lacks the function,
/// `Err(Module { .. })` when it returns anything but `CKR_OK`. The call is an unsafe
/// operation: write it inside an `unsafe` block whose `SAFETY` comment says why the
/// arguments are valid for the duration of the call.
#[macro_export]
#[doc(hidden)]
macro_rules! call {
    ($module:expr, $function:ident ( $($arg:expr),* $(,)? )) => {
        match $module.function_list().$function {
            Some(function) => {
                let _serial = $module.serialize();
                $crate::error::check(function($($arg),*), stringify!($function))
            }
            None => Err($crate::Error::NotSupported(stringify!($function))),
        }
    };
    ($module:expr, v3 $function:ident ( $($arg:expr),* $(,)? )) => {
        match $module.function_list_3_0().and_then(|list| list.$function) {
            Some(function) => {
                let _serial = $module.serialize();
                $crate::error::check(function($($arg),*), stringify!($function))
            }
            None => Err($crate::Error::NotSupported(stringify!($function))),
        }
    };
}

/// Arguments for `C_Initialize`.
///
/// The default asks for OS locking (`CKF_OS_LOCKING_OK`), so that the module protects
/// itself when several threads call it. (python-pkcs11 passes no arguments, which lets
/// SoftHSM turn its locking off.) NSS's softoken needs a `reserved` string naming its
/// database.
#[derive(Clone, PartialEq, Eq)]
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
    pub fn reserved(mut self, reserved: &str) -> Result<Self> {
        let reserved = CString::new(reserved).map_err(|_| {
            Error::invalid_argument("the C_Initialize reserved string contains a NUL byte")
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
    pub flags: CK_FLAGS,
    /// What the library is.
    pub library_description: String,
    /// The library's own version.
    pub library_version: Version,
}

/// A loaded and initialised PKCS#11 module. Cheap to clone: clones share one
/// initialisation, and so does loading the same path again. `C_Finalize` runs, and the
/// library is unloaded, when the last clone (and every slot, token and session made from
/// it) is gone.
#[derive(Clone)]
pub struct Module {
    inner: Arc<ModuleInner>,
}

/// The state every handle to one module shares.
pub(crate) struct ModuleInner {
    path: PathBuf,
    init_args: InitArgs,
    functions: FunctionLists,
    /// Present when the module may not be thread-safe (no OS locking was asked for).
    serial: Option<Mutex<()>>,
    /// Whether this process's `C_Initialize` was ours to undo with `C_Finalize`.
    owns_initialization: bool,
    /// The key of its entry in [`LOADED`], once listed there.
    registered_as: Option<PathBuf>,
    sessions: Mutex<SessionBook>,
    /// Dropped last, after `Drop::drop` has finalised the module.
    _library: libloading::Library,
}

/// The function lists a module gave us. The pointers stay valid while the library is
/// loaded, which `ModuleInner` guarantees by owning it.
struct FunctionLists {
    v2: NonNull<CK_FUNCTION_LIST>,
    v3_0: Option<NonNull<CK_FUNCTION_LIST_3_0>>,
    version: Version,
}

/// What p11 tracks of the sessions it opened, so that dropping one never closes or logs
/// out what belongs to another.
#[derive(Default)]
pub(crate) struct SessionBook {
    /// Bumped by `reinitialize`: sessions from before it are gone.
    pub(crate) epoch: u64,
    pub(crate) slots: HashMap<CK_SLOT_ID, SlotBook>,
}

#[derive(Default)]
pub(crate) struct SlotBook {
    /// Bumped by `close_all_sessions`: sessions from before it are gone.
    pub(crate) epoch: u64,
    /// Open sessions that logged in (PKCS#11 login state is per token, not per session).
    pub(crate) logins: usize,
}

// SAFETY: the function lists are read-only tables of function pointers owned by the
// loaded library. The module is thread-safe when initialised with OS locking (the default,
// required for `Sync` by PKCS#11 §5.1.6); otherwise `serial` makes every call exclusive.
// The rest of the state is behind mutexes.
unsafe impl Send for ModuleInner {}
// SAFETY: as for `Send`.
unsafe impl Sync for ModuleInner {}

/// Every module loaded in this process, by path, so that loading a path twice shares one
/// initialisation. Weak, so that the last `Module` to go finalises; an entry whose module
/// is gone but still listed is being finalised, and a new load of its path waits for
/// [`UNLOADED`] rather than initialising it again under the finaliser's feet.
static LOADED: Mutex<Vec<(PathBuf, Weak<ModuleInner>)>> = Mutex::new(Vec::new());
static UNLOADED: Condvar = Condvar::new();

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The module's book of sessions, locked. Held across the calls that change login or
/// session state, so that two threads never interleave them.
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
    pub fn load(path: impl AsRef<Path>) -> Result<Module> {
        Self::load_with(path, InitArgs::default())
    }

    /// Loads the module at `path` and initialises it with `args`.
    ///
    /// When the same file is already loaded in this process, its handle is shared (and
    /// `args` must match the first load's). Loading runs the library's initialisation
    /// code: load only modules you trust.
    pub fn load_with(path: impl AsRef<Path>, args: InitArgs) -> Result<Module> {
        let given = path.as_ref();
        // A bare file name is for the dynamic loader to search; anything else is one file
        // however it is spelled.
        let key = if given.components().count() > 1 {
            std::fs::canonicalize(given).map_err(|e| Error::Load {
                path: given.to_path_buf(),
                reason: e.to_string(),
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
            if inner.init_args == args {
                return Ok(Module { inner });
            }
            // Unlock first: should `inner` be the last handle, its drop takes the lock.
            drop(loaded);
            drop(inner);
            return Err(Error::InitArgsConflict {
                path: given.to_path_buf(),
            });
        }
        let mut inner = ModuleInner::load(given, args)?;
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
    /// through it is `unsafe`: PKCS#11's rules for pointers and handles are yours to keep.
    pub fn raw_function_list(&self) -> &CK_FUNCTION_LIST {
        self.inner.function_list()
    }

    /// The path the module was loaded from, as first given.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The version of the function list in use: 2.x from `C_GetFunctionList`, 3.x from
    /// `C_GetInterface`.
    pub fn interface_version(&self) -> Version {
        self.inner.functions.version
    }

    /// The library's description of itself.
    pub fn info(&self) -> Result<LibraryInfo> {
        let module = self.inner();
        let mut info = CK_INFO::default();
        // SAFETY: `info` is a writable CK_INFO for the duration of the call.
        unsafe { call!(module, C_GetInfo(&mut info)) }?;
        Ok(LibraryInfo {
            cryptoki_version: info.cryptokiVersion.into(),
            manufacturer_id: padded_text(&info.manufacturerID),
            flags: info.flags,
            library_description: padded_text(&info.libraryDescription),
            library_version: info.libraryVersion.into(),
        })
    }

    /// Finalises and initialises the module again, with the same arguments.
    ///
    /// Every session of every handle to this module is gone afterwards (PKCS#11 closes
    /// them); their `Session` values become inert and close nothing when dropped.
    pub fn reinitialize(&self) -> Result<()> {
        let module = self.inner();
        let mut sessions = lock(&module.sessions);
        // SAFETY: C_Finalize takes a reserved NULL pointer.
        unsafe { call!(module, C_Finalize(ptr::null_mut())) }?;
        sessions.epoch += 1;
        sessions.slots.clear();
        module.initialize().map(|_| ())
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
type GetInterface = unsafe extern "C" fn(
    *mut CK_UTF8CHAR,
    *mut CK_VERSION,
    *mut CK_INTERFACE_PTR,
    CK_FLAGS,
) -> CK_RV;

impl ModuleInner {
    fn load(path: &Path, init_args: InitArgs) -> Result<ModuleInner> {
        let load_error = |e: libloading::Error| Error::Load {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        // SAFETY: loading a library runs its initialisers; the caller chose the module
        // and PKCS#11 modules have no initialisers with preconditions on us.
        let library = unsafe { libloading::Library::new(path) }.map_err(load_error)?;
        let functions = FunctionLists::from_library(&library, path)?;
        let serial = (!init_args.flags.contains(InitFlags::OS_LOCKING_OK)).then(|| Mutex::new(()));
        let mut inner = ModuleInner {
            path: path.to_path_buf(),
            init_args,
            functions,
            serial,
            owns_initialization: false,
            registered_as: None,
            sessions: Mutex::new(SessionBook::default()),
            _library: library,
        };
        inner.owns_initialization = inner.initialize()?;
        Ok(inner)
    }

    /// `C_Initialize` with this module's arguments. `Ok(false)` when someone else in the
    /// process had initialised it already (then it is not ours to finalise).
    fn initialize(&self) -> Result<bool> {
        let mut args = CK_C_INITIALIZE_ARGS {
            CreateMutex: None,
            DestroyMutex: None,
            LockMutex: None,
            UnlockMutex: None,
            flags: self.init_args.flags.bits(),
            pReserved: self
                .init_args
                .reserved
                .as_ref()
                .map_or(ptr::null_mut(), |s| s.as_ptr() as CK_VOID_PTR),
        };
        // SAFETY: `args` is a valid CK_C_INITIALIZE_ARGS for the call; its reserved
        // string is owned by `self.init_args` and outlives the module.
        let result = unsafe {
            call!(
                self,
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

    /// The 2.40 function list, which every module has (3.x lists begin with it).
    pub(crate) fn function_list(&self) -> &CK_FUNCTION_LIST {
        // SAFETY: the module gave us this pointer and keeps it valid while loaded; we own
        // the library, so it is loaded for as long as `self` lives.
        unsafe { self.functions.v2.as_ref() }
    }

    /// The 3.0 function list, on modules that offer PKCS#11 3.x.
    pub(crate) fn function_list_3_0(&self) -> Option<&CK_FUNCTION_LIST_3_0> {
        // SAFETY: as for `function_list`; only set when the interface is 3.x.
        self.functions.v3_0.map(|list| unsafe { list.as_ref() })
    }

    /// Holds calls exclusive when the module was initialised without OS locking.
    pub(crate) fn serialize(&self) -> Option<MutexGuard<'_, ()>> {
        self.serial.as_ref().map(lock)
    }
}

impl Drop for ModuleInner {
    fn drop(&mut self) {
        // An unlisted module is a failed load, which initialised nothing.
        let Some(key) = &self.registered_as else {
            return;
        };
        // Finalise while listed, so that a new load of this path waits for us.
        let mut loaded = lock(&LOADED);
        if self.owns_initialization {
            // SAFETY: C_Finalize takes a reserved NULL pointer. Nothing is left to use
            // the module: this was the last handle.
            let _ = unsafe { call!(self, C_Finalize(ptr::null_mut())) };
        }
        loaded.retain(|(path, module)| path != key || module.strong_count() > 0);
        UNLOADED.notify_all();
    }
}

impl FunctionLists {
    /// The newest standard interface the library offers: `C_GetInterface` (PKCS#11 3.x)
    /// where it is exported and answers, else `C_GetFunctionList`.
    fn from_library(library: &libloading::Library, path: &Path) -> Result<FunctionLists> {
        // SAFETY: the symbol, when present, has the type PKCS#11 gives it.
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
        check(unsafe { get_function_list(&mut list) }, "C_GetFunctionList")?;
        let v2 = NonNull::new(list)
            .ok_or_else(|| Error::invalid_response("C_GetFunctionList", "a NULL function list"))?;
        // SAFETY: the module returned a non-NULL list that stays valid while loaded.
        let version = unsafe { v2.as_ref() }.version.into();
        Ok(FunctionLists {
            v2,
            v3_0: None,
            version,
        })
    }

    /// The standard "PKCS 11" interface; `None` when the module has none to give.
    fn from_interface(get_interface: GetInterface) -> Option<FunctionLists> {
        let mut interface: CK_INTERFACE_PTR = ptr::null_mut();
        // SAFETY: the name is a NUL-terminated string the module only reads; a NULL
        // version asks for the module's default; `interface` is a writable out-pointer.
        let rv = unsafe {
            get_interface(
                PKCS11_INTERFACE_NAME.as_ptr() as *mut CK_UTF8CHAR,
                ptr::null_mut(),
                &mut interface,
                0,
            )
        };
        if rv != CKR_OK {
            return None;
        }
        // SAFETY: on CKR_OK the module points `interface` at a CK_INTERFACE it owns.
        let list = unsafe { interface.as_ref() }?.pFunctionList;
        let v2 = NonNull::new(list as CK_FUNCTION_LIST_PTR)?;
        // SAFETY: every function list begins with its CK_VERSION.
        let version: Version = unsafe { v2.as_ref() }.version.into();
        let v3_0 = (version.major >= 3).then(|| v2.cast::<CK_FUNCTION_LIST_3_0>());
        Some(FunctionLists { v2, v3_0, version })
    }
}
