//! Sessions: opening, logging in and out, PINs, and closing on drop.

use crate::error::{Error, Result};
use crate::info::{widen, SessionFlags};
use crate::module::{lock_sessions, ModuleInner, SessionBook};
use crate::pin::Pin;
use crate::slot::Slot;
use crate::{call, ReturnValue};
use p11_sys::*;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

/// Whether a session may change the token (create, modify, destroy token objects).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub enum Access {
    /// Read-only (python-pkcs11's default).
    #[default]
    ReadOnly,
    /// Read/write.
    ReadWrite,
}

/// Who logs in (`CK_USER_TYPE`): an open set, vendor values welcome.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct UserType(CK_USER_TYPE);

impl UserType {
    /// The security officer (`CKU_SO`).
    pub const SO: Self = Self(CKU_SO);
    /// The normal user (`CKU_USER`).
    pub const USER: Self = Self(CKU_USER);
    /// Re-authentication for one operation on an `ALWAYS_AUTHENTICATE` key
    /// (`CKU_CONTEXT_SPECIFIC`).
    pub const CONTEXT_SPECIFIC: Self = Self(CKU_CONTEXT_SPECIFIC);

    /// Any user type, such as a vendor's.
    pub const fn new(raw: CK_USER_TYPE) -> Self {
        Self(raw)
    }

    /// The raw value.
    pub const fn raw(self) -> CK_USER_TYPE {
        self.0
    }
}

/// The state of a session (`CK_STATE`): an open set.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct SessionState(CK_STATE);

impl SessionState {
    /// Read-only, nobody logged in.
    pub const RO_PUBLIC_SESSION: Self = Self(CKS_RO_PUBLIC_SESSION);
    /// Read-only, the user logged in.
    pub const RO_USER_FUNCTIONS: Self = Self(CKS_RO_USER_FUNCTIONS);
    /// Read/write, nobody logged in.
    pub const RW_PUBLIC_SESSION: Self = Self(CKS_RW_PUBLIC_SESSION);
    /// Read/write, the user logged in.
    pub const RW_USER_FUNCTIONS: Self = Self(CKS_RW_USER_FUNCTIONS);
    /// Read/write, the security officer logged in.
    pub const RW_SO_FUNCTIONS: Self = Self(CKS_RW_SO_FUNCTIONS);

    /// The raw value.
    pub const fn raw(self) -> CK_STATE {
        self.0
    }
}

/// What a session is (`C_GetSessionInfo`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    /// The slot it is on.
    pub slot_id: CK_SLOT_ID,
    /// Its login state.
    pub state: SessionState,
    /// Read/write or read-only.
    pub flags: SessionFlags,
    /// A device-specific error code.
    pub device_error: u64,
}

/// A session on a token.
///
/// `Send + Sync`: share it between threads by reference (scoped threads) or in an `Arc`.
/// PKCS#11 modules initialised with OS locking (the default) accept calls on one session
/// from several threads. What must not interleave is an operation, from its `*Init` to
/// its end (a search, an encryption, a stream): each holds the session's operation while
/// it runs, so that another thread's waits for it, and the same thread starting a second
/// one gets [`Error::OperationInProgress`](crate::Error::OperationInProgress).
///
/// Cheap to clone: clones (and the objects found or made through it) share the one
/// PKCS#11 session, which closes when the last of them is dropped. Closing logs out first
/// when this session logged in and is the last logged-in session p11 has on the token
/// (PKCS#11 login state is per token).
#[derive(Clone)]
pub struct Session {
    inner: Arc<SessionInner>,
}

struct SessionInner {
    slot: Slot,
    handle: CK_SESSION_HANDLE,
    access: Access,
    /// The module's and the slot's epochs at opening: after `reinitialize` or
    /// `close_all_sessions` the handle is gone, and may have been reused by another session.
    epochs: (u64, u64),
    /// Whether this session counts in the slot's logins.
    logged_in: AtomicBool,
    /// Held by an operation from its `*Init` to its end. One for all kinds: modules
    /// such as SoftHSM run one operation at a time per session, searches included.
    operation: OperationLock,
}

/// The kinds of operation, each with its own `*Init` and ending.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum OperationKind {
    Find,
    Encrypt,
    Decrypt,
    Sign,
    Verify,
    Digest,
}

/// A session's operation, held by one operation value at a time. Another thread waits
/// for it; the thread that holds it gets an error instead of waiting for itself.
///
/// Uncontended, taking and releasing it is one atomic exchange each; the mutex and
/// condition variable serve only threads that wait.
#[derive(Default)]
struct OperationLock {
    /// The holding thread's token (see [`thread_token`]), 0 when free.
    holder: AtomicU64,
    waiting: AtomicUsize,
    parked: Mutex<()>,
    released: Condvar,
}

/// A number for the current thread, unique in the process, never 0. (`ThreadId` has no
/// stable number, and `thread::current()` costs a reference count.)
fn thread_token() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    thread_local!(static TOKEN: u64 = NEXT.fetch_add(1, Ordering::Relaxed));
    TOKEN.with(|token| *token)
}

/// The session's operation, held; released when dropped.
pub(crate) struct OperationGuard<'s> {
    lock: &'s OperationLock,
}

impl OperationLock {
    fn acquire(&self, kind: OperationKind) -> Result<OperationGuard<'_>> {
        let me = thread_token();
        loop {
            match self
                .holder
                .compare_exchange(0, me, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => return Ok(OperationGuard { lock: self }),
                Err(holder) if holder == me => {
                    return Err(Error::OperationInProgress(
                        format!("{kind:?}").to_lowercase(),
                    ))
                }
                Err(_) => {
                    let parked = self.parked.lock().unwrap_or_else(PoisonError::into_inner);
                    self.waiting.fetch_add(1, Ordering::SeqCst);
                    // Checked after announcing the wait: a release either sees the waiter
                    // and signals, or happened before this check.
                    if self.holder.load(Ordering::SeqCst) != 0 {
                        drop(
                            self.released
                                .wait(parked)
                                .unwrap_or_else(PoisonError::into_inner),
                        );
                    }
                    self.waiting.fetch_sub(1, Ordering::SeqCst);
                }
            }
        }
    }
}

impl Drop for OperationGuard<'_> {
    fn drop(&mut self) {
        self.lock.holder.store(0, Ordering::SeqCst);
        if self.lock.waiting.load(Ordering::SeqCst) > 0 {
            let _parked = self
                .lock
                .parked
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            self.lock.released.notify_all();
        }
    }
}

impl Session {
    pub(crate) fn open(slot: Slot, access: Access) -> Result<Session> {
        let mut flags = CKF_SERIAL_SESSION;
        if access == Access::ReadWrite {
            flags |= CKF_RW_SESSION;
        }
        let module = slot.module_inner();
        let mut handle: CK_SESSION_HANDLE = 0;
        let epochs = {
            let mut book = lock_sessions(module);
            // SAFETY: no application pointer or callback is given; `handle` is writable.
            unsafe {
                call!(
                    module,
                    C_OpenSession(slot.id(), flags, std::ptr::null_mut(), None, &mut handle)
                )
            }?;
            (book.epoch, book.slots.entry(slot.id()).or_default().epoch)
        };
        Ok(Session {
            inner: Arc::new(SessionInner {
                slot,
                handle,
                access,
                epochs,
                logged_in: AtomicBool::new(false),
                operation: OperationLock::default(),
            }),
        })
    }

    pub(crate) fn module_inner(&self) -> &ModuleInner {
        self.inner.slot.module_inner()
    }

    /// The raw session handle, for calls p11 does not wrap.
    pub fn handle(&self) -> CK_SESSION_HANDLE {
        self.inner.handle
    }

    /// The slot of the session's token.
    pub fn slot(&self) -> &Slot {
        &self.inner.slot
    }

    /// Read-only or read/write.
    pub fn access(&self) -> Access {
        self.inner.access
    }

    /// Takes the session's operation for one of `kind`: waits while another thread
    /// holds it, fails when this thread does.
    pub(crate) fn hold_operation(&self, kind: OperationKind) -> Result<OperationGuard<'_>> {
        self.inner.operation.acquire(kind)
    }

    /// The session's state as the module reports it.
    pub fn info(&self) -> Result<SessionInfo> {
        let module = self.module_inner();
        let mut info = CK_SESSION_INFO::default();
        // SAFETY: `info` is a writable CK_SESSION_INFO.
        unsafe { call!(module, C_GetSessionInfo(self.handle(), &mut info)) }?;
        Ok(SessionInfo {
            slot_id: info.slotID,
            state: SessionState(info.state),
            flags: SessionFlags::from_bits_retain(info.flags),
            device_error: widen(info.ulDeviceError),
        })
    }

    /// Logs in as `user` with `pin` (text or bytes).
    ///
    /// Login state belongs to the token, not the session: when another session of this
    /// process is already logged in as the same user, this succeeds without a new login.
    /// [`UserType::CONTEXT_SPECIFIC`] re-authenticates for the next operation only.
    pub fn login(&self, user: UserType, pin: impl Into<Pin>) -> Result<()> {
        let pin = pin.into();
        let (pin, len) = pin.as_raw()?;
        self.login_raw(user, pin, len)
    }

    /// Logs in as `user` through the token's protected authentication path (a PIN pad or
    /// similar, `CKF_PROTECTED_AUTHENTICATION_PATH`): no PIN goes through the call.
    pub fn login_protected(&self, user: UserType) -> Result<()> {
        self.login_raw(user, std::ptr::null_mut(), 0)
    }

    /// Logs in as a named user (`C_LoginUser`, PKCS#11 3.0).
    pub fn login_user(&self, user: UserType, pin: impl Into<Pin>, username: &str) -> Result<()> {
        let pin = pin.into();
        let (pin, pin_len) = pin.as_raw()?;
        let name_len = CK_ULONG::try_from(username.len())
            .map_err(|_| Error::invalid_argument("the user name is too long"))?;
        let module = self.module_inner();
        let book = lock_sessions(module);
        // SAFETY: both buffers are valid for their lengths and only read by the module.
        let result = unsafe {
            call!(
                module,
                v3 C_LoginUser(
                    self.handle(),
                    user.raw(),
                    pin,
                    pin_len,
                    username.as_ptr() as CK_UTF8CHAR_PTR,
                    name_len
                )
            )
        };
        self.count_login(user, result, book)
    }

    fn login_raw(&self, user: UserType, pin: CK_UTF8CHAR_PTR, len: CK_ULONG) -> Result<()> {
        let module = self.module_inner();
        let book = lock_sessions(module);
        // SAFETY: `pin` is NULL with length 0 (protected path) or valid for `len` bytes,
        // only read by the module.
        let result = unsafe { call!(module, C_Login(self.handle(), user.raw(), pin, len)) };
        self.count_login(user, result, book)
    }

    /// Records a successful login in the slot's book (while the caller still holds it).
    fn count_login(
        &self,
        user: UserType,
        result: Result<()>,
        mut book: MutexGuard<'_, SessionBook>,
    ) -> Result<()> {
        match result {
            Ok(()) => {}
            Err(e) if e.return_value() == Some(ReturnValue::UserAlreadyLoggedIn) => {}
            Err(e) => return Err(e),
        }
        if user != UserType::CONTEXT_SPECIFIC && !self.inner.logged_in.swap(true, Ordering::SeqCst)
        {
            book.slots.entry(self.slot().id()).or_default().logins += 1;
        }
        Ok(())
    }

    /// Logs out. PKCS#11 logs out the token, that is every session of this process on it.
    pub fn logout(&self) -> Result<()> {
        let module = self.module_inner();
        let mut book = lock_sessions(module);
        // SAFETY: a plain call on a session handle.
        unsafe { call!(module, C_Logout(self.handle())) }?;
        if let Some(slot) = book.slots.get_mut(&self.slot().id()) {
            slot.logins = 0;
        }
        self.inner.logged_in.store(false, Ordering::SeqCst);
        Ok(())
    }

    /// Sets the user's PIN (`C_InitPIN`): needs a read/write session with the SO logged in.
    pub fn init_pin(&self, pin: impl Into<Pin>) -> Result<()> {
        let pin = pin.into();
        let (pin, len) = pin.as_raw()?;
        let module = self.module_inner();
        // SAFETY: the PIN is valid for `len` bytes and only read.
        unsafe { call!(module, C_InitPIN(self.handle(), pin, len)) }
    }

    /// Changes the PIN of whoever is logged in (the user when nobody is), `C_SetPIN`.
    pub fn set_pin(&self, old: impl Into<Pin>, new: impl Into<Pin>) -> Result<()> {
        let (old, new) = (old.into(), new.into());
        let (old, old_len) = old.as_raw()?;
        let (new, new_len) = new.as_raw()?;
        let module = self.module_inner();
        // SAFETY: both PINs are valid for their lengths and only read.
        unsafe { call!(module, C_SetPIN(self.handle(), old, old_len, new, new_len)) }
    }
}

impl Drop for SessionInner {
    fn drop(&mut self) {
        let module = self.slot.module_inner();
        let mut book = lock_sessions(module);
        let module_epoch = book.epoch;
        let slot = book.slots.entry(self.slot.id()).or_default();
        if (module_epoch, slot.epoch) != self.epochs {
            return; // the handle was closed by reinitialize or close_all_sessions
        }
        if self.logged_in.load(Ordering::SeqCst) && slot.logins > 0 {
            slot.logins -= 1;
            if slot.logins == 0 {
                // SAFETY: a plain call on our own, still open, session handle.
                let _ = unsafe { call!(module, C_Logout(self.handle)) };
            }
        }
        // SAFETY: as above; nothing uses the handle after this.
        let _ = unsafe { call!(module, C_CloseSession(self.handle)) };
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("handle", &self.handle())
            .field("slot", &self.slot().id())
            .field("access", &self.access())
            .finish()
    }
}
