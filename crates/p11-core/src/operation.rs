//! What every cryptographic operation shares: holding the session's operation of its
//! kind, cancelling it when dropped unfinished, and sizing output buffers.

use crate::error::{Error, Result};
use crate::module::Gate;
use crate::object::KeyUse;
use crate::pin::Pin;
use crate::session::{Login, OperationGuard, OperationKind, Session, Unfinished, UserType};
use crate::Function;
use crate::{call, ReturnValue};
use p11_mechanisms::{Mechanism, MechanismType};
use p11_sys::*;
use zeroize::Zeroize;

/// The most output p11 allocates for one call.
const MAX_OUTPUT: usize = 1 << 30;

/// How often a module may answer `CKR_BUFFER_TOO_SMALL` to one output before p11 takes
/// it for a module that will never be satisfied.
const MAX_ATTEMPTS: usize = 8;

/// An operation begun with `C_*Init` and not yet ended: it holds the session's operation,
/// and cancels it when dropped unfinished. `Active<'static>` owns a session clone, for
/// operations that live on as values; single-part ones borrow the session ([`Single`]).
pub(crate) struct Active<'s> {
    guard: OperationGuard<'s>,
    kind: OperationKind,
    /// Named in the operation's module errors.
    mechanism: MechanismType,
    /// A second operation begun with it (dual-function), cancelled with it.
    also: Option<OperationKind>,
    /// Whether an update was made: then only a final call, not a single-part one, ends it.
    updated: bool,
    finished: bool,
    /// The operation's span: its calls' spans nest in it, naming the mechanism.
    #[cfg(feature = "tracing")]
    span: tracing::Span,
}

#[cfg(feature = "tracing")]
fn operation_span(kind: OperationKind, mechanism: MechanismType) -> tracing::Span {
    tracing::trace_span!(
        "pkcs11_operation",
        kind = ?kind,
        mechanism = %mechanism
    )
}

/// The `C_*Init` call of an operation.
pub(crate) type Init<'a> = &'a dyn Fn(&Gate<'_>, CK_SESSION_HANDLE) -> Result<()>;

impl<'s> Active<'s> {
    /// Takes the session's operation of `kind` and runs `init` (the `C_*Init` call), for
    /// an operation that ends before the caller returns.
    #[inline]
    pub(crate) fn begin(
        session: &'s Session,
        kind: OperationKind,
        mechanism: MechanismType,
        init: Init<'_>,
    ) -> Result<Single<'s>> {
        // The operation first, the gate after: waiting for the operation while holding a
        // gate could wait on a finalize that waits for us.
        let guard = session.hold_operation(kind)?;
        let gate = session.enter()?;
        #[cfg(feature = "tracing")]
        let span = operation_span(kind, mechanism);
        #[cfg(feature = "tracing")]
        let _entered = span.enter();
        Self::init(&gate, session, kind, mechanism, init)?;
        Ok(Single {
            active: Active {
                guard,
                kind,
                mechanism,
                also: None,
                updated: false,
                finished: false,
                #[cfg(feature = "tracing")]
                span: span.clone(),
            },
            gate,
        })
    }

    /// As [`begin`](Self::begin), for an operation value that owns a session clone and
    /// enters the module per call.
    pub(crate) fn begin_owned(
        session: &Session,
        kind: OperationKind,
        mechanism: MechanismType,
        init: Init<'_>,
    ) -> Result<Active<'static>> {
        let guard = session.hold_operation(kind)?;
        #[cfg(feature = "tracing")]
        let span = operation_span(kind, mechanism);
        #[cfg(feature = "tracing")]
        let _entered = span.enter();
        Self::init(&session.enter()?, session, kind, mechanism, init)?;
        Ok(Active {
            guard: guard.into_owned(),
            kind,
            mechanism,
            also: None,
            updated: false,
            finished: false,
            #[cfg(feature = "tracing")]
            span: span.clone(),
        })
    }

    #[inline]
    fn init(
        gate: &Gate<'_>,
        session: &Session,
        kind: OperationKind,
        mechanism: MechanismType,
        init: Init<'_>,
    ) -> Result<()> {
        let handle = session.raw_handle();
        let active = |result: &Result<()>| matches!(result, Err(e) if e.return_value() == Some(ReturnValue::OperationActive));
        let mut result = init(gate, handle);
        if active(&result) {
            // An operation p11 took for ended (the module failed a call without ending
            // it) is in the way: the last one a failure ended, else one of this kind. End
            // it by its final call, then by its single-part one, trying again after each.
            let suspects = session.take_failed_operation().into_iter().chain([kind]);
            'suspects: for suspect in suspects {
                for updated in [true, false] {
                    let _ = cancel(
                        session,
                        Unfinished {
                            kind: suspect,
                            updated,
                        },
                    );
                    result = init(gate, handle);
                    if !active(&result) {
                        break 'suspects;
                    }
                }
            }
        }
        result.map_err(|e| e.with_mechanism(mechanism))
    }

    /// Also cancels `kind` when dropped unfinished (for dual-function operations).
    pub(crate) fn also_cancels(mut self, kind: OperationKind) -> Self {
        self.also = Some(kind);
        self
    }

    pub(crate) fn session(&self) -> &Session {
        self.guard.session()
    }

    /// Runs `call` on the operation's session, from this thread, under `gate` or a new
    /// one.
    #[inline]
    fn run<T>(
        &self,
        gate: Option<&Gate<'_>>,
        call: impl FnOnce(&Gate<'_>, CK_SESSION_HANDLE) -> Result<T>,
    ) -> Result<T> {
        #[cfg(feature = "tracing")]
        let _entered = self.span.enter();
        let session = self.guard.session();
        let handle = session.raw_handle();
        let result = match gate {
            Some(gate) => call(gate, handle),
            None => {
                self.guard.touch();
                call(&session.enter()?, handle)
            }
        };
        result.map_err(|e| e.with_mechanism(self.mechanism))
    }

    /// Runs `call`, a call that ends the operation (the single-part call, or `*Final`),
    /// and records its outcome as [`ended_by`](Self::ended_by) does.
    pub(crate) fn end<T>(
        &mut self,
        call: impl FnOnce(&Gate<'_>, CK_SESSION_HANDLE) -> Result<T>,
    ) -> Result<T> {
        self.end_in(None, call)
    }

    #[inline]
    fn end_in<T>(
        &mut self,
        gate: Option<&Gate<'_>>,
        call: impl FnOnce(&Gate<'_>, CK_SESSION_HANDLE) -> Result<T>,
    ) -> Result<T> {
        let result = self.run(gate, call);
        self.ended_by(result)
    }

    /// Runs `call`, an update, and records its outcome as [`updated_by`](Self::updated_by)
    /// does.
    pub(crate) fn update<T>(
        &mut self,
        call: impl FnOnce(&Gate<'_>, CK_SESSION_HANDLE) -> Result<T>,
    ) -> Result<T> {
        let result = self.run(None, call);
        self.updated_by(result)
    }

    /// Runs `call`, one message of a message-based operation. Its failure is the
    /// message's: modules differ on whether it ends the operation too (kryoptic's do),
    /// so the operation stays recorded as active, and dropping it cancels it.
    pub(crate) fn message<T>(
        &mut self,
        call: impl FnOnce(&Gate<'_>, CK_SESSION_HANDLE) -> Result<T>,
    ) -> Result<T> {
        self.updated = true;
        self.run(None, call)
    }

    /// Runs `call`, which reads the operation without moving it on (its saved state):
    /// neither its success nor its failure ends it.
    pub(crate) fn inspect<T>(
        &self,
        call: impl FnOnce(&Gate<'_>, CK_SESSION_HANDLE) -> Result<T>,
    ) -> Result<T> {
        self.run(None, call)
    }

    /// Records that the operation carries on one saved elsewhere, updates and all.
    pub(crate) fn resumed(mut self) -> Self {
        self.updated = true;
        self
    }

    /// Whether any update (or message) was made: a final call, not a single-part one,
    /// then ends the operation.
    pub(crate) fn updated(&self) -> bool {
        self.updated
    }

    /// Records the outcome of a call that ends the operation (the single-part call, or
    /// `*Final`). PKCS#11 ends it on success and on any error of the module's but
    /// `CKR_BUFFER_TOO_SMALL`; p11's own refusal of the answer (a length beyond the
    /// buffer, say) leaves it active, to be cancelled.
    #[inline]
    fn ended_by<T>(&mut self, result: Result<T>) -> Result<T> {
        if ends(&result) {
            self.finished = true;
            if result.is_err() {
                self.session().failed_operation(self.kind);
            }
        }
        result
    }

    /// Records the outcome of an update: a module error other than
    /// `CKR_BUFFER_TOO_SMALL` ends the operation too.
    fn updated_by<T>(&mut self, result: Result<T>) -> Result<T> {
        self.updated = true;
        if result.is_err() && ends(&result) {
            self.finished = true;
            self.session().failed_operation(self.kind);
        }
        result
    }

    /// Logs in for this operation only, for keys with `CKA_ALWAYS_AUTHENTICATE`: PKCS#11
    /// asks for it right after the `*Init` call.
    pub(crate) fn authenticate(&self, pin: Pin) -> Result<()> {
        self.guard.touch();
        self.session()
            .login(UserType::CONTEXT_SPECIFIC, pin)
            .map(|_: Login| ())
    }
}

/// The `C_*Init` functions that take a mechanism and a key.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum KeyInit {
    Encrypt,
    Decrypt,
    Sign,
    Verify,
    SignRecover,
    VerifyRecover,
    MessageEncrypt,
    MessageDecrypt,
    MessageSign,
    MessageVerify,
}

impl KeyInit {
    fn kind(self) -> OperationKind {
        match self {
            KeyInit::Encrypt => OperationKind::Encrypt,
            KeyInit::Decrypt => OperationKind::Decrypt,
            KeyInit::Sign | KeyInit::SignRecover => OperationKind::Sign,
            KeyInit::Verify | KeyInit::VerifyRecover => OperationKind::Verify,
            KeyInit::MessageEncrypt => OperationKind::MessageEncrypt,
            KeyInit::MessageDecrypt => OperationKind::MessageDecrypt,
            KeyInit::MessageSign => OperationKind::MessageSign,
            KeyInit::MessageVerify => OperationKind::MessageVerify,
        }
    }

    /// The init call with `raw` and `key`.
    fn call(
        self,
        gate: &Gate<'_>,
        handle: CK_SESSION_HANDLE,
        raw: &CK_MECHANISM,
        key: CK_OBJECT_HANDLE,
    ) -> Result<()> {
        let mechanism = raw as *const CK_MECHANISM as CK_MECHANISM_PTR;
        // SAFETY: the mechanism is borrowed for the call and only read; the rest are
        // plain handles.
        unsafe {
            match self {
                KeyInit::Encrypt => call!(gate, C_EncryptInit(handle, mechanism, key)),
                KeyInit::Decrypt => call!(gate, C_DecryptInit(handle, mechanism, key)),
                KeyInit::Sign => call!(gate, C_SignInit(handle, mechanism, key)),
                KeyInit::Verify => call!(gate, C_VerifyInit(handle, mechanism, key)),
                KeyInit::SignRecover => call!(gate, C_SignRecoverInit(handle, mechanism, key)),
                KeyInit::VerifyRecover => call!(gate, C_VerifyRecoverInit(handle, mechanism, key)),
                KeyInit::MessageEncrypt => {
                    call!(gate, v3 C_MessageEncryptInit(handle, mechanism, key))
                }
                KeyInit::MessageDecrypt => {
                    call!(gate, v3 C_MessageDecryptInit(handle, mechanism, key))
                }
                KeyInit::MessageSign => call!(gate, v3 C_MessageSignInit(handle, mechanism, key)),
                KeyInit::MessageVerify => {
                    call!(gate, v3 C_MessageVerifyInit(handle, mechanism, key))
                }
            }
        }
    }
}

impl Session {
    /// Begins an operation with a key that ends within the caller (single-part), and
    /// gives the key's PIN right after the init when one comes with it.
    pub(crate) fn start<'k>(
        &self,
        init: KeyInit,
        mechanism: &Mechanism,
        key: impl Into<KeyUse<'k>>,
    ) -> Result<Single<'_>> {
        let KeyUse { key, pin } = key.into();
        let (raw, key) = (mechanism.raw(), key.raw_handle());
        let call = |gate: &Gate<'_>, handle| init.call(gate, handle, &raw, key);
        let single = Active::begin(self, init.kind(), mechanism.mechanism_type(), &call)?;
        if let Some(pin) = pin {
            single.authenticate(pin)?;
        }
        Ok(single)
    }

    /// Begins an operation with a key that lives on as a value (multi-part), and gives
    /// the key's PIN right after the init when one comes with it.
    pub(crate) fn start_owned<'k>(
        &self,
        init: KeyInit,
        mechanism: &Mechanism,
        key: impl Into<KeyUse<'k>>,
    ) -> Result<Active<'static>> {
        let KeyUse { key, pin } = key.into();
        let (raw, key) = (mechanism.raw(), key.raw_handle());
        let call = |gate: &Gate<'_>, handle| init.call(gate, handle, &raw, key);
        let active = Active::begin_owned(self, init.kind(), mechanism.mechanism_type(), &call)?;
        if let Some(pin) = pin {
            active.authenticate(pin)?;
        }
        Ok(active)
    }
}

/// A single-part operation: begun and ended within one call of p11's, under one gate
/// (no second lock, no session clone).
pub(crate) struct Single<'s> {
    /// Declared first: dropped (and cancelled if unfinished) while the gate is held.
    active: Active<'s>,
    gate: Gate<'s>,
}

impl Single<'_> {
    /// As [`Active::end`], under the kept gate.
    #[inline]
    pub(crate) fn end<T>(
        &mut self,
        call: impl FnOnce(&Gate<'_>, CK_SESSION_HANDLE) -> Result<T>,
    ) -> Result<T> {
        self.active.end_in(Some(&self.gate), call)
    }

    /// As [`Active::authenticate`].
    pub(crate) fn authenticate(&self, pin: Pin) -> Result<()> {
        self.active.authenticate(pin)
    }
}

/// Whether a call's outcome ended the module's operation: success, or an error the
/// module returned other than `CKR_BUFFER_TOO_SMALL`. A closed session or finalised
/// module has no operation left either.
#[inline]
pub(crate) fn ends<T>(result: &Result<T>) -> bool {
    !matches!(result, Err(e) if !error_ends(e))
}

/// Whether an error of an ending call ended the module's operation.
pub(crate) fn error_ends(error: &Error) -> bool {
    match error {
        Error::Module { rv, .. } => *rv != ReturnValue::BufferTooSmall,
        Error::SessionClosed | Error::Finalized => true,
        _ => false,
    }
}

impl Drop for Active<'_> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        for kind in std::iter::once(self.kind).chain(self.also) {
            let unfinished = Unfinished {
                kind,
                updated: self.updated,
            };
            if !cancel(self.guard.session(), unfinished) {
                self.guard.leave_unfinished(unfinished);
            }
        }
    }
}

/// Ends the session's active operation of `kind`: with `C_SessionCancel` where the module
/// has PKCS#11 3.0, otherwise by ending it with a throwaway call — the single-part call
/// on empty input when nothing was fed yet (which also ends single-part-only mechanisms
/// such as ECDSA on 2.40 modules), else the final call — whose outcome does not matter as
/// long as the module ended the operation. `false` when it did not (p11 then leaves it
/// for the next holder to end).
pub(crate) fn cancel(session: &Session, unfinished: Unfinished) -> bool {
    let Ok(gate) = session.enter() else {
        return true; // the session is gone, and its operations with it
    };
    let handle = session.raw_handle();
    let kind = unfinished.kind;
    let flag = match kind {
        OperationKind::Find => Some(CKF_FIND_OBJECTS),
        OperationKind::Encrypt => Some(CKF_ENCRYPT),
        OperationKind::Decrypt => Some(CKF_DECRYPT),
        OperationKind::Sign => Some(CKF_SIGN),
        OperationKind::Verify => Some(CKF_VERIFY),
        OperationKind::Digest => Some(CKF_DIGEST),
        OperationKind::MessageEncrypt => Some(CKF_MESSAGE_ENCRYPT),
        OperationKind::MessageDecrypt => Some(CKF_MESSAGE_DECRYPT),
        OperationKind::MessageSign => Some(CKF_MESSAGE_SIGN),
        OperationKind::MessageVerify => Some(CKF_MESSAGE_VERIFY),
        // C_SessionCancel has no flag for it: it is ended by its own calls.
        OperationKind::VerifySignature => None,
    };
    // SAFETY: plain values.
    if flag.is_some_and(|flag| unsafe { call!(gate, v3 C_SessionCancel(handle, flag)) }.is_ok()) {
        return true;
    }
    // Room for any signature or final block; what lands here is wiped.
    let mut buffer = [0u8; 8192];
    let out = buffer.as_mut_ptr();
    let mut len = buffer.len() as CK_ULONG;
    let empty = buffer.as_mut_ptr(); // with length 0: read nothing
    let single = !unfinished.updated;
    // SAFETY: `out` is writable for `len` bytes; `empty` is read for 0 bytes; the dummy
    // signature is one readable byte.
    let result = unsafe {
        match (kind, single) {
            (OperationKind::Find, _) => call!(gate, C_FindObjectsFinal(handle)),
            (OperationKind::Encrypt, true) => {
                call!(gate, C_Encrypt(handle, empty, 0, out, &mut len))
            }
            (OperationKind::Encrypt, false) => call!(gate, C_EncryptFinal(handle, out, &mut len)),
            (OperationKind::Decrypt, true) => {
                call!(gate, C_Decrypt(handle, empty, 0, out, &mut len))
            }
            (OperationKind::Decrypt, false) => call!(gate, C_DecryptFinal(handle, out, &mut len)),
            (OperationKind::Sign, true) => call!(gate, C_Sign(handle, empty, 0, out, &mut len)),
            (OperationKind::Sign, false) => call!(gate, C_SignFinal(handle, out, &mut len)),
            (OperationKind::Digest, true) => call!(gate, C_Digest(handle, empty, 0, out, &mut len)),
            (OperationKind::Digest, false) => call!(gate, C_DigestFinal(handle, out, &mut len)),
            (OperationKind::Verify, true) => call!(gate, C_Verify(handle, empty, 0, empty, 1)),
            (OperationKind::Verify, false) => call!(gate, C_VerifyFinal(handle, empty, 1)),
            (OperationKind::MessageEncrypt, _) => call!(gate, v3 C_MessageEncryptFinal(handle)),
            (OperationKind::MessageDecrypt, _) => call!(gate, v3 C_MessageDecryptFinal(handle)),
            (OperationKind::MessageSign, _) => call!(gate, v3 C_MessageSignFinal(handle)),
            (OperationKind::MessageVerify, _) => call!(gate, v3 C_MessageVerifyFinal(handle)),
            (OperationKind::VerifySignature, true) => {
                call!(gate, v3_2 C_VerifySignature(handle, empty, 0))
            }
            (OperationKind::VerifySignature, false) => {
                call!(gate, v3_2 C_VerifySignatureFinal(handle))
            }
        }
    };
    buffer.zeroize();
    // A find always ends; otherwise the rules of any ending call.
    kind == OperationKind::Find || ends(&result)
}

/// `io::Write` for an operation that takes data with `update`, so that `io::copy`
/// feeds it a whole reader.
macro_rules! write_by_update {
    ($($ty:ident),*) => {$(
        impl std::io::Write for $ty {
            fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
                self.update(data).map_err(std::io::Error::other)?;
                Ok(data.len())
            }

            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
    )*};
}
pub(crate) use write_by_update;

/// A zeroed vector of `len` bytes, or [`Error::OutOfMemory`] instead of an abort when a
/// caller or a module asks for more than can be had. (Zeroed, not left uninitialised: a
/// module may say it wrote bytes it did not write.)
#[inline]
pub(crate) fn zeroed(len: usize) -> Result<Vec<u8>> {
    // What a digest, a signature or a random draw asks for: one zeroed allocation, no
    // fallible reservation (which costs a fifth of p11's own work on a small call).
    const SMALL: usize = 4096;
    if len <= SMALL {
        // Not `vec![0; len]`: glibc's `calloc` behind it costs more than `malloc` and a
        // `memset` of a few bytes (+120 instructions on a SHA-256 digest, callgrind).
        #[allow(clippy::slow_vector_initialization)]
        let mut bytes = Vec::with_capacity(len);
        bytes.resize(len, 0);
        return Ok(bytes);
    }
    let mut bytes = Vec::new();
    bytes
        .try_reserve_exact(len)
        .map_err(|_| Error::OutOfMemory(len))?;
    bytes.resize(len, 0);
    Ok(bytes)
}

/// As [`output_vec`] with a length query first, for output that may hold secrets: the
/// output comes wiped on drop, and so is any buffer refused as too small on the way.
pub(crate) fn secret_output(
    function: Function,
    call: impl FnMut(CK_BYTE_PTR, &mut CK_ULONG) -> Result<()>,
) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    output_vec(function, None, call).map(zeroize::Zeroizing::new)
}

/// Runs `call(buffer, &mut len)`, a PKCS#11 function that writes variable output, into a
/// new vector: one call into `bound` bytes when the caller knows an upper bound,
/// otherwise a length query first. A module that answers `CKR_BUFFER_TOO_SMALL` gets the
/// buffer it asks for; one that claims more than the buffer holds is an error.
pub(crate) fn output_vec(
    function: Function,
    bound: Option<usize>,
    mut call: impl FnMut(CK_BYTE_PTR, &mut CK_ULONG) -> Result<()>,
) -> Result<Vec<u8>> {
    let mut size = match bound {
        Some(size) => size,
        None => {
            let mut len: CK_ULONG = 0;
            call(std::ptr::null_mut(), &mut len)?;
            checked_size(function, len)?
        }
    };
    for _ in 0..MAX_ATTEMPTS {
        let mut output = zeroed(size)?;
        let mut len = CK_ULONG::try_from(size).unwrap_or(CK_ULONG::MAX);
        match call(output.as_mut_ptr(), &mut len) {
            Ok(()) => {
                let written = checked_size(function, len)?;
                if written > size {
                    return Err(Error::invalid_response(
                        function,
                        format!("{written} bytes written into room for {size}"),
                    ));
                }
                output.truncate(written);
                return Ok(output);
            }
            Err(e) if e.return_value() == Some(ReturnValue::BufferTooSmall) => {
                // Nothing should be in it; a module that wrote anyway leaves no copy.
                output.zeroize();
                let needed = checked_size(function, len)?;
                // A module that does not say how much it needs gets twice the room.
                size = if needed > size {
                    needed
                } else {
                    size.saturating_mul(2).max(64)
                };
                if size > MAX_OUTPUT {
                    return Err(Error::invalid_response(
                        function,
                        "asks for an output beyond 1 GiB",
                    ));
                }
            }
            Err(e) => return Err(e),
        }
    }
    Err(Error::invalid_response(
        function,
        format!("still CKR_BUFFER_TOO_SMALL after {MAX_ATTEMPTS} attempts"),
    ))
}

/// Runs `call` into the caller's `output`; the number of bytes written.
pub(crate) fn output_into(
    function: Function,
    output: &mut [u8],
    call: impl FnOnce(CK_BYTE_PTR, &mut CK_ULONG) -> Result<()>,
) -> Result<usize> {
    let mut len = CK_ULONG::try_from(output.len()).unwrap_or(CK_ULONG::MAX);
    call(output.as_mut_ptr(), &mut len)?;
    let written = checked_size(function, len)?;
    if written > output.len() {
        return Err(Error::invalid_response(
            function,
            format!("{written} bytes written into room for {}", output.len()),
        ));
    }
    Ok(written)
}

fn checked_size(function: Function, len: CK_ULONG) -> Result<usize> {
    usize::try_from(len)
        .ok()
        .filter(|len| *len <= MAX_OUTPUT)
        .ok_or_else(|| Error::invalid_response(function, format!("an output length of {len}")))
}

/// An input slice as pointer and `CK_ULONG` length for a call that only reads it.
pub(crate) fn input(data: &[u8]) -> Result<(CK_BYTE_PTR, CK_ULONG)> {
    let len = crate::template::ulong_len(data.len(), "the input")?;
    Ok((data.as_ptr() as CK_BYTE_PTR, len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::check;

    #[test]
    fn a_known_bound_takes_one_call_and_is_trimmed() {
        let mut calls = 0;
        let out = output_vec(Function::Sign, Some(512), |buffer, len| {
            calls += 1;
            assert!(!buffer.is_null() && *len == 512);
            *len = 256;
            Ok(())
        })
        .unwrap();
        assert_eq!((calls, out.len()), (1, 256));
    }

    #[test]
    fn buffer_too_small_gets_the_room_asked_for() {
        let mut sizes = Vec::new();
        let out = output_vec(Function::Sign, Some(16), |_, len| {
            sizes.push(*len);
            if *len < 100 {
                *len = 100;
                return check(CKR_BUFFER_TOO_SMALL, Function::Sign);
            }
            *len = 100;
            Ok(())
        })
        .unwrap();
        assert_eq!(sizes, [16, 100]);
        assert_eq!(out.len(), 100);
    }

    #[test]
    fn without_a_bound_the_length_is_asked_first() {
        let mut calls = Vec::new();
        let out = output_vec(Function::Digest, None, |buffer, len| {
            calls.push(buffer.is_null());
            *len = 20;
            Ok(())
        })
        .unwrap();
        assert_eq!(calls, [true, false]);
        assert_eq!(out.len(), 20);
    }

    #[test]
    fn a_module_claiming_more_than_it_had_room_for_is_an_error() {
        let err = output_vec(Function::Encrypt, Some(16), |_, len| {
            *len = 17;
            Ok(())
        })
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("17 bytes written into room for 16"),
            "{err}"
        );
        let mut small = [0u8; 4];
        let err = output_into(Function::EncryptUpdate, &mut small, |_, len| {
            *len = 5;
            Ok(())
        })
        .unwrap_err();
        assert!(matches!(err, Error::InvalidResponse { .. }));
    }
}
