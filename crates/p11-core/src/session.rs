//! Sessions: opening, logging in and out, PINs, and closing on drop.

use crate::error::{Error, Result};
use crate::handle::{SessionHandle, SlotId};
use crate::info::{widen, SessionFlags};
use crate::lock::OperationLock;
use crate::mapper::AttributeMapper;
use crate::module::{lock_sessions, Gate, ModuleInner, SessionBook};
use crate::pin::Pin;
use crate::slot::Slot;
use crate::{call, MechanismType, Operation, ReturnValue};
use p11_sys::*;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

/// Whether a session may change the token (create, modify, destroy token objects).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub enum Access {
    /// Read-only (python-pkcs11's default).
    #[default]
    ReadOnly,
    /// Read/write.
    ReadWrite,
}

p11_mechanisms::open_enum!(
    /// Who logs in (`CK_USER_TYPE`): `SO`, `USER`, `CONTEXT_SPECIFIC` (re-authentication
    /// for one operation on an `ALWAYS_AUTHENTICATE` key), vendor types welcome.
    UserType: CK_USER_TYPE, "CKU_", "user type", u64::MAX,
    crate::generated::user_types::NAMES
);

p11_mechanisms::open_enum!(
    /// The state of a session (`CK_STATE`): read-only or read/write, and who is logged in.
    SessionState: CK_STATE, "CKS_", "session state", u64::MAX,
    crate::generated::session_states::NAMES
);

/// What a session is (`C_GetSessionInfo`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    /// The slot it is on.
    pub slot_id: SlotId,
    /// Its login state.
    pub state: SessionState,
    /// Read/write or read-only.
    pub flags: SessionFlags,
    /// A device-specific error code.
    pub device_error: u64,
}

/// What a login did. PKCS#11 login state belongs to the token: when another session of
/// this process is logged in already, the module answers `CKR_USER_ALREADY_LOGGED_IN`
/// without checking the PIN, so an application that logs in to check a PIN must look
/// for [`Login::Checked`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Login {
    /// The module checked the PIN and logged the token in.
    Checked,
    /// The token was logged in already (by another session); the PIN was not checked.
    AlreadyLoggedIn,
}

/// A session on a token.
///
/// `Send + Sync`: share it between threads by reference (scoped threads), by cloning it,
/// or in an `Arc`. PKCS#11 modules initialised with OS locking (the default) accept calls
/// on one session from several threads. What must not interleave is an operation, from
/// its `*Init` to its end (a search, an encryption, a stream): each holds the session
/// while it runs, and other operations wait their turn: asleep, as cheap as a mutex,
/// with the longest waiter handed the session at least every 5 ms, so none starves.
///
/// The hold belongs to the operation value, which may be stored, returned or moved to
/// another thread. A thread that starts an operation while one it has used itself holds
/// the session waits a moment (250 ms) for another thread to take that operation up — a
/// stream it sent away, say — and otherwise gets [`Error::OperationInProgress`] instead
/// of waiting for itself.
///
/// Cheap to clone: clones (and the objects and operations made through it) share the one
/// PKCS#11 session, which closes when the last of them is dropped, or at once with
/// [`close`](Self::close). Closing logs out first when this session logged in and is
/// the last logged-in session p11 has on the token (PKCS#11 login state is per token).
#[derive(Clone)]
pub struct Session {
    inner: Arc<SessionInner>,
}

pub(crate) struct SessionInner {
    slot: Slot,
    handle: CK_SESSION_HANDLE,
    access: Access,
    /// Set when the module closed the session (`C_CloseAllSessions`, `C_Finalize`) or
    /// `close` did: the handle may name another session now, and is never used again.
    /// Changed only with the module's lifecycle held exclusively or the session book
    /// locked inside a gate, so a call that checked it under a gate is safe.
    closed: AtomicBool,
    /// The slot's login generation this session counts in, plus one (0: it counts in
    /// none): a logout through any session starts a new generation.
    login: AtomicU64,
    /// Held by an operation from its `*Init` to its end. One for all kinds: modules
    /// such as SoftHSM run one operation at a time per session, searches included.
    operation: OperationLock<Unfinished>,
    /// The kind of the last operation a failed call ended, as PKCS#11 says it does: a
    /// module that kept it anyway (tpm2-pkcs11 after a failed `C_Decrypt`) answers the
    /// next `*Init` with `CKR_OPERATION_ACTIVE`, and this says what to end.
    failed_last: Mutex<Option<OperationKind>>,
    /// The slot's mechanism list, taken once from the slot's cache.
    mechanisms: OnceLock<Arc<[MechanismType]>>,
    /// How attribute values are read, when not p11's own way.
    mapper: OnceLock<Arc<dyn AttributeMapper>>,
}

impl SessionInner {
    pub(crate) fn mark_closed(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.login.store(0, Ordering::SeqCst);
    }
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
    MessageEncrypt,
    MessageDecrypt,
    MessageSign,
    MessageVerify,
    VerifySignature,
}

impl OperationKind {
    /// The public name of the kind, for errors.
    fn operation(self) -> Operation {
        match self {
            OperationKind::Find => Operation::Find,
            OperationKind::Encrypt => Operation::Encrypt,
            OperationKind::Decrypt => Operation::Decrypt,
            OperationKind::Sign => Operation::Sign,
            OperationKind::Verify => Operation::Verify,
            OperationKind::Digest => Operation::Digest,
            OperationKind::MessageEncrypt => Operation::MessageEncrypt,
            OperationKind::MessageDecrypt => Operation::MessageDecrypt,
            OperationKind::MessageSign => Operation::MessageSign,
            OperationKind::MessageVerify => Operation::MessageVerify,
            OperationKind::VerifySignature => Operation::VerifySignature,
        }
    }
}

/// An operation left active in the module, to be cancelled by the next holder.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Unfinished {
    pub(crate) kind: OperationKind,
    pub(crate) updated: bool,
}

/// The session's operation, held; released (to the next in line) when dropped. Borrows
/// the session for an operation that ends within one call of p11's, or owns a clone of
/// it for one that lives on (a stream, a search), which then needs no lifetime.
pub(crate) struct OperationGuard<'s> {
    session: Held<'s>,
}

enum Held<'s> {
    Borrowed(&'s Session),
    Owned(Session),
}

impl<'s> OperationGuard<'s> {
    pub(crate) fn session(&self) -> &Session {
        match &self.session {
            Held::Borrowed(session) => session,
            Held::Owned(session) => session,
        }
    }

    /// The same hold, owning a clone of the session.
    pub(crate) fn into_owned(self) -> OperationGuard<'static> {
        let owned = OperationGuard {
            session: Held::Owned(self.session().clone()),
        };
        // The hold passes to `owned`: this value must not release it.
        std::mem::forget(self);
        owned
    }

    /// Records that the current thread uses the operation (so that it gets an error,
    /// not a wait, should it start another on the session meanwhile).
    pub(crate) fn touch(&self) {
        self.session().inner.operation.touch();
    }

    /// Leaves an operation p11 could not end for the next holder to cancel.
    pub(crate) fn leave_unfinished(&self, unfinished: Unfinished) {
        self.session().inner.operation.leave(unfinished);
    }
}

impl Drop for OperationGuard<'_> {
    fn drop(&mut self) {
        self.session().inner.operation.release();
    }
}

impl Session {
    pub(crate) fn open(slot: Slot, access: Access) -> Result<Session> {
        let mut flags = CKF_SERIAL_SESSION;
        if access == Access::ReadWrite {
            flags |= CKF_RW_SESSION;
        }
        let module = slot.module().clone();
        let gate = module.inner().enter()?;
        let mut handle: CK_SESSION_HANDLE = 0;
        let mut book = lock_sessions(module.inner());
        // SAFETY: no application pointer or callback is given; `handle` is writable.
        unsafe {
            call!(
                gate,
                C_OpenSession(
                    slot.id().ulong(),
                    flags,
                    std::ptr::null_mut(),
                    None,
                    &mut handle
                )
            )
        }?;
        let session = Session {
            inner: Arc::new(SessionInner {
                slot,
                handle,
                access,
                closed: AtomicBool::new(false),
                login: AtomicU64::new(0),
                operation: OperationLock::default(),
                failed_last: Mutex::new(None),
                mechanisms: OnceLock::new(),
                mapper: OnceLock::new(),
            }),
        };
        let sessions = &mut book.slots.entry(session.slot().id()).or_default().sessions;
        sessions.retain(|s| s.strong_count() > 0);
        sessions.push(Arc::downgrade(&session.inner));
        Ok(session)
    }

    pub(crate) fn module_inner(&self) -> &ModuleInner {
        self.inner.slot.module_inner()
    }

    /// Enters the module for calls on this session: `Err(SessionClosed)` when the module
    /// closed it, `Err(Finalized)` when the module is not initialised.
    #[inline]
    pub(crate) fn enter(&self) -> Result<Gate<'_>> {
        let gate = self.module_inner().enter()?;
        if self.inner.closed.load(Ordering::SeqCst) {
            return Err(Error::SessionClosed);
        }
        Ok(gate)
    }

    pub(crate) fn raw_handle(&self) -> CK_SESSION_HANDLE {
        self.inner.handle
    }

    /// The session handle, for calls p11 does not wrap.
    pub fn handle(&self) -> SessionHandle {
        SessionHandle::from_ulong(self.inner.handle)
    }

    /// The slot of the session's token.
    pub fn slot(&self) -> &Slot {
        &self.inner.slot
    }

    /// Reads this session's attributes (on every object, in every clone) as `mapper`
    /// says, from now on (python's `AttributeMapper`). Set once: a session's values
    /// read one way throughout.
    ///
    /// # Errors
    /// [`Error::MapperAlreadySet`] when the session already has a mapper.
    pub fn set_attribute_mapper(&self, mapper: Arc<dyn AttributeMapper>) -> Result<()> {
        self.inner
            .mapper
            .set(mapper)
            .map_err(|_| Error::MapperAlreadySet)
    }

    /// The session's attribute mapper, if one was set.
    pub fn attribute_mapper(&self) -> Option<&dyn AttributeMapper> {
        self.inner.mapper.get().map(|m| &**m)
    }

    /// Whether the token offers `mechanism`: the slot's list, read once for the slot
    /// ([`Slot::has_mechanism`]) and kept by the session, so that asking costs a search
    /// of a sorted list.
    ///
    /// # Errors
    /// The module's error from `C_GetMechanismList`, on the slot's first call.
    pub fn has_mechanism(&self, mechanism: MechanismType) -> Result<bool> {
        let list = match self.inner.mechanisms.get() {
            Some(list) => list,
            None => {
                let list = self.slot().cached_mechanisms()?;
                self.inner.mechanisms.get_or_init(|| list)
            }
        };
        Ok(list.binary_search(&mechanism).is_ok())
    }

    /// Read-only or read/write.
    pub fn access(&self) -> Access {
        self.inner.access
    }

    /// Whether the session was closed: by [`Slot::close_all_sessions`], or by finalising
    /// or re-initialising its module. A closed session answers [`Error::SessionClosed`].
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::SeqCst)
    }

    /// Takes the session's operation for one of `kind`: waits while another operation
    /// holds it, fails when that operation was last used by this thread. Ends first an
    /// operation an earlier holder could not end.
    #[inline]
    /// Records that a failed call ended an operation of `kind` (or should have).
    pub(crate) fn failed_operation(&self, kind: OperationKind) {
        *self
            .inner
            .failed_last
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(kind);
    }

    /// The kind of the last operation a failed call ended, taken.
    pub(crate) fn take_failed_operation(&self) -> Option<OperationKind> {
        self.inner
            .failed_last
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    #[inline]
    pub(crate) fn hold_operation(&self, kind: OperationKind) -> Result<OperationGuard<'_>> {
        let lock = &self.inner.operation;
        if !lock.acquire() {
            return Err(Error::OperationInProgress(kind.operation()));
        }
        let guard = OperationGuard {
            session: Held::Borrowed(self),
        };
        if let Some(unfinished) = lock.take_left() {
            if !crate::operation::cancel(self, unfinished) {
                guard.leave_unfinished(unfinished);
            }
        }
        Ok(guard)
    }

    /// The validations the session's last operation met (`C_GetSessionValidationFlags`
    /// with `CKS_LAST_VALIDATION_OK`, PKCS#11 3.2): the `CKA_VALIDATION_FLAG` bits of
    /// the token's validation objects (a FIPS 140-3 validation, say) whose rules that
    /// operation followed; 0 for none. Ask right after the operation: any later call on
    /// the session may change it.
    ///
    /// # Errors
    /// [`Error::NotSupported`] without the 3.2 interface; the module's error;
    /// [`Error::SessionClosed`].
    pub fn last_validation_flags(&self) -> Result<u64> {
        let gate = self.enter()?;
        let mut flags: CK_FLAGS = 0;
        // SAFETY: `flags` is a writable CK_FLAGS.
        unsafe {
            call!(
                gate,
                v3_2 C_GetSessionValidationFlags(
                    self.raw_handle(),
                    CKS_LAST_VALIDATION_OK,
                    &mut flags
                )
            )
        }?;
        Ok(widen(flags))
    }

    /// The session's state as the module reports it.
    ///
    /// # Errors
    /// The module's error from `C_GetSessionInfo`; [`Error::SessionClosed`].
    pub fn info(&self) -> Result<SessionInfo> {
        let gate = self.enter()?;
        let mut info = CK_SESSION_INFO::default();
        // SAFETY: `info` is a writable CK_SESSION_INFO.
        unsafe { call!(gate, C_GetSessionInfo(self.raw_handle(), &mut info)) }?;
        Ok(SessionInfo {
            slot_id: SlotId::from_ulong(info.slotID),
            state: SessionState::from_ck(info.state),
            flags: SessionFlags::from_bits_retain(widen(info.flags)),
            device_error: widen(info.ulDeviceError),
        })
    }

    /// Logs in as `user` with `pin` (text or bytes).
    ///
    /// Login state belongs to the token, not the session: when another session of this
    /// process is already logged in as the same user, the module does not check the PIN,
    /// and the answer is [`Login::AlreadyLoggedIn`]. [`UserType::CONTEXT_SPECIFIC`]
    /// re-authenticates for the next operation only.
    ///
    /// # Errors
    /// The module's error from `C_Login` (`CKR_PIN_INCORRECT`, ...).
    pub fn login(&self, user: UserType, pin: impl Into<Pin>) -> Result<Login> {
        let pin = pin.into();
        let (pin, len) = pin.as_raw()?;
        self.login_raw(user, pin, len)
    }

    /// Logs in as `user` through the token's protected authentication path (a PIN pad or
    /// similar, `CKF_PROTECTED_AUTHENTICATION_PATH`): no PIN goes through the call.
    ///
    /// # Errors
    /// The module's error from `C_Login`.
    pub fn login_protected(&self, user: UserType) -> Result<Login> {
        self.login_raw(user, std::ptr::null_mut(), 0)
    }

    /// Logs in as a named user (`C_LoginUser`, PKCS#11 3.0).
    ///
    /// # Errors
    /// [`Error::NotSupported`] on modules before 3.0; the module's error.
    pub fn login_user(&self, user: UserType, pin: impl Into<Pin>, username: &str) -> Result<Login> {
        let pin = pin.into();
        let (pin, pin_len) = pin.as_raw()?;
        let name_len = crate::template::ulong_len(username.len(), "the user name's length")?;
        let gate = self.enter()?;
        let book = lock_sessions(self.module_inner());
        // SAFETY: both buffers are valid for their lengths and only read by the module.
        let result = unsafe {
            call!(
                gate,
                v3 C_LoginUser(
                    self.raw_handle(),
                    user.ck(),
                    pin,
                    pin_len,
                    username.as_ptr() as CK_UTF8CHAR_PTR,
                    name_len
                )
            )
        };
        self.count_login(user, result, book)
    }

    fn login_raw(&self, user: UserType, pin: CK_UTF8CHAR_PTR, len: CK_ULONG) -> Result<Login> {
        let gate = self.enter()?;
        let book = lock_sessions(self.module_inner());
        // SAFETY: `pin` is NULL with length 0 (protected path) or valid for `len` bytes,
        // only read by the module.
        let result = unsafe { call!(gate, C_Login(self.raw_handle(), user.ck(), pin, len)) };
        self.count_login(user, result, book)
    }

    /// Records a successful login in the slot's book (while the caller still holds it).
    fn count_login(
        &self,
        user: UserType,
        result: Result<()>,
        mut book: MutexGuard<'_, SessionBook>,
    ) -> Result<Login> {
        let login = match result {
            Ok(()) => Login::Checked,
            Err(e) if e.return_value() == Some(ReturnValue::UserAlreadyLoggedIn) => {
                Login::AlreadyLoggedIn
            }
            Err(e) => return Err(e),
        };
        if user != UserType::CONTEXT_SPECIFIC {
            let slot = book.slots.entry(self.slot().id()).or_default();
            let mark = slot.login_generation + 1;
            if self.inner.login.swap(mark, Ordering::SeqCst) != mark {
                slot.logins += 1;
            }
        }
        Ok(login)
    }

    /// Logs out. PKCS#11 logs out the token, that is every session of this process on it.
    ///
    /// # Errors
    /// The module's error from `C_Logout` (`CKR_USER_NOT_LOGGED_IN`, ...).
    pub fn logout(&self) -> Result<()> {
        let gate = self.enter()?;
        let mut book = lock_sessions(self.module_inner());
        let _sweep = write(&self.module_inner().object_sweep);
        // SAFETY: a plain call on a session handle.
        unsafe { call!(gate, C_Logout(self.raw_handle())) }?;
        // Every session of the process is logged out: none counts any more, whatever it
        // recorded (closing one must not log out a later login).
        if let Some(slot) = book.slots.get_mut(&self.slot().id()) {
            slot.logins = 0;
            slot.login_generation += 1;
        }
        self.inner.login.store(0, Ordering::SeqCst);
        Ok(())
    }

    /// Sets the user's PIN (`C_InitPIN`): needs a read/write session with the SO logged in.
    ///
    /// # Errors
    /// The module's error from `C_InitPIN`.
    pub fn init_pin(&self, pin: impl Into<Pin>) -> Result<()> {
        let pin = pin.into();
        let (pin, len) = pin.as_raw()?;
        let gate = self.enter()?;
        // SAFETY: the PIN is valid for `len` bytes and only read.
        unsafe { call!(gate, C_InitPIN(self.raw_handle(), pin, len)) }
    }

    /// Changes the PIN of whoever is logged in (the user when nobody is), `C_SetPIN`.
    ///
    /// # Errors
    /// The module's error from `C_SetPIN`.
    pub fn set_pin(&self, old: impl Into<Pin>, new: impl Into<Pin>) -> Result<()> {
        let (old, new) = (old.into(), new.into());
        let (old, old_len) = old.as_raw()?;
        let (new, new_len) = new.as_raw()?;
        let gate = self.enter()?;
        // SAFETY: both PINs are valid for their lengths and only read.
        unsafe {
            call!(
                gate,
                C_SetPIN(self.raw_handle(), old, old_len, new, new_len)
            )
        }
    }

    /// Closes the session now (logging out first as dropping would), and says what went
    /// wrong. Clones of this session, and objects and operations made through it, answer
    /// [`Error::SessionClosed`] afterwards.
    ///
    /// # Errors
    /// The module's error from `C_Logout` or `C_CloseSession`; [`Error::SessionClosed`]
    /// when the session was closed already.
    pub fn close(self) -> Result<()> {
        self.inner.close()
    }
}

impl SessionInner {
    /// Logs out when this is the token's last logged-in session, then closes. With other
    /// clones alive (on other threads, perhaps mid-call), runs with every call drained,
    /// so that none of them reaches the handle once the module may have reused it.
    fn close(self: &Arc<Self>) -> Result<()> {
        let module = self.slot.module_inner();
        if Arc::strong_count(self) > 1 {
            return module.exclusive(|gate, book| self.close_in(gate, book));
        }
        let gate = module.enter()?;
        let mut book = lock_sessions(module);
        self.close_in(&gate, &mut book)
    }

    fn close_in(&self, gate: &Gate<'_>, book: &mut SessionBook) -> Result<()> {
        if self.closed.swap(true, Ordering::SeqCst) {
            return Err(Error::SessionClosed);
        }
        let slot = book.slots.entry(self.slot.id()).or_default();
        // Logging out and closing free session objects: no search gathers them meanwhile.
        let _sweep = write(&self.slot.module_inner().object_sweep);
        let mut logout = Ok(());
        let counted = self.login.swap(0, Ordering::SeqCst) == slot.login_generation + 1;
        if counted && slot.logins > 0 {
            slot.logins -= 1;
            if slot.logins == 0 {
                // SAFETY: a plain call on our own, still open, session handle.
                logout = unsafe { call!(gate, C_Logout(self.handle)) };
            }
        }
        // SAFETY: as above; nothing uses the handle after this (`closed` is set).
        let closed = unsafe { call!(gate, C_CloseSession(self.handle)) };
        logout.and(closed)
    }
}

fn write(lock: &std::sync::RwLock<()>) -> std::sync::RwLockWriteGuard<'_, ()> {
    lock.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Drop for SessionInner {
    fn drop(&mut self) {
        if self.closed.load(Ordering::SeqCst) {
            return;
        }
        let module = self.slot.module_inner();
        if let Ok(gate) = module.enter() {
            let _ = self.close_in(&gate, &mut lock_sessions(module));
        }
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("handle", &self.handle())
            .field("slot", &self.slot().id())
            .field("access", &self.access())
            .field("closed", &self.is_closed())
            .finish()
    }
}
