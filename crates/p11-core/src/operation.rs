//! What every cryptographic operation shares: holding the session's operation of its
//! kind, cancelling it when dropped unfinished, and sizing output buffers.

use crate::error::{Error, Result};
use crate::pin::Pin;
use crate::session::{OperationGuard, OperationKind, Session, UserType};
use crate::{call, ReturnValue};
use p11_sys::*;

/// The most output p11 allocates for one call.
const MAX_OUTPUT: usize = 1 << 30;

/// An operation begun with `C_*Init` and not yet ended: it holds the session's operation
/// of its kind, and cancels it when dropped unfinished.
pub(crate) struct Active<'s> {
    session: &'s Session,
    kind: OperationKind,
    /// A second operation begun with it (dual-function), cancelled with it.
    also: Option<OperationKind>,
    finished: bool,
    _hold: OperationGuard<'s>,
}

impl<'s> Active<'s> {
    /// Takes the session's operation of `kind` and runs `init` (the `C_*Init` call).
    pub(crate) fn begin(
        session: &'s Session,
        kind: OperationKind,
        init: impl FnOnce() -> Result<()>,
    ) -> Result<Active<'s>> {
        let hold = session.hold_operation(kind)?;
        init()?;
        Ok(Active {
            session,
            kind,
            also: None,
            finished: false,
            _hold: hold,
        })
    }

    /// Also cancels `kind` when dropped unfinished (for dual-function operations).
    pub(crate) fn also_cancels(mut self, kind: OperationKind) -> Self {
        self.also = Some(kind);
        self
    }

    /// Records that calls which end the operation(s) were made, whatever they returned.
    pub(crate) fn mark_ended(&mut self) {
        self.finished = true;
    }

    pub(crate) fn session(&self) -> &'s Session {
        self.session
    }

    /// Records the outcome of a call that ends the operation (the single-part call, or
    /// `*Final`): PKCS#11 ends it on anything but `CKR_BUFFER_TOO_SMALL`.
    pub(crate) fn ended_by<T>(&mut self, result: Result<T>) -> Result<T> {
        if !matches!(&result, Err(e) if e.return_value() == Some(ReturnValue::BufferTooSmall)) {
            self.finished = true;
        }
        result
    }

    /// Records the outcome of an update: an error other than `CKR_BUFFER_TOO_SMALL` ends
    /// the operation too.
    pub(crate) fn updated_by<T>(&mut self, result: Result<T>) -> Result<T> {
        if matches!(&result, Err(e) if e.return_value() != Some(ReturnValue::BufferTooSmall)) {
            self.finished = true;
        }
        result
    }

    /// Logs in for this operation only, for keys with `CKA_ALWAYS_AUTHENTICATE`: PKCS#11
    /// asks for it right after the `*Init` call.
    pub(crate) fn authenticate(&self, pin: Pin) -> Result<()> {
        self.session.login(UserType::CONTEXT_SPECIFIC, pin)
    }
}

impl Drop for Active<'_> {
    fn drop(&mut self) {
        if !self.finished {
            cancel(self.session, self.kind);
            if let Some(also) = self.also {
                cancel(self.session, also);
            }
        }
    }
}

/// Ends the session's active operation of `kind`: with `C_SessionCancel` where the module
/// has PKCS#11 3.0, otherwise by finishing it into a throwaway buffer (or, for verify,
/// against a throwaway signature), which ends it whatever the outcome.
pub(crate) fn cancel(session: &Session, kind: OperationKind) {
    let module = session.module_inner();
    let handle = session.handle();
    let flag = match kind {
        OperationKind::Find => CKF_FIND_OBJECTS,
        OperationKind::Encrypt => CKF_ENCRYPT,
        OperationKind::Decrypt => CKF_DECRYPT,
        OperationKind::Sign => CKF_SIGN,
        OperationKind::Verify => CKF_VERIFY,
        OperationKind::Digest => CKF_DIGEST,
    };
    // SAFETY: plain values.
    if unsafe { call!(module, v3 C_SessionCancel(handle, flag)) }.is_ok() {
        return;
    }
    let finish = |buffer: CK_BYTE_PTR, len: &mut CK_ULONG| {
        // SAFETY: `buffer` is writable for `*len` bytes (see `output_vec`).
        unsafe {
            match kind {
                OperationKind::Encrypt => call!(module, C_EncryptFinal(handle, buffer, len)),
                OperationKind::Decrypt => call!(module, C_DecryptFinal(handle, buffer, len)),
                OperationKind::Sign => call!(module, C_SignFinal(handle, buffer, len)),
                OperationKind::Digest => call!(module, C_DigestFinal(handle, buffer, len)),
                OperationKind::Verify => call!(module, C_VerifyFinal(handle, buffer, *len)),
                OperationKind::Find => call!(module, C_FindObjectsFinal(handle)),
            }
        }
    };
    let _ = zeroize::Zeroizing::new(output_vec("cancel", Some(64), finish).unwrap_or_default());
}

/// `io::Write` for an operation that takes data with `update`, so that `io::copy`
/// feeds it a whole reader.
macro_rules! write_by_update {
    ($($ty:ident),*) => {$(
        impl std::io::Write for $ty<'_> {
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

/// Runs `call(buffer, &mut len)`, a PKCS#11 function that writes variable output, into a
/// new vector: one call into `bound` bytes when the caller knows an upper bound,
/// otherwise a length query first. A module that answers `CKR_BUFFER_TOO_SMALL` gets the
/// buffer it asks for; one that claims more than the buffer holds is an error.
pub(crate) fn output_vec(
    function: &'static str,
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
    loop {
        let mut output = vec![0u8; size];
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
}

/// Runs `call` into the caller's `output`; the number of bytes written.
pub(crate) fn output_into(
    function: &'static str,
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

fn checked_size(function: &'static str, len: CK_ULONG) -> Result<usize> {
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
        let out = output_vec("C_Sign", Some(512), |buffer, len| {
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
        let out = output_vec("C_Sign", Some(16), |_, len| {
            sizes.push(*len);
            if *len < 100 {
                *len = 100;
                return check(CKR_BUFFER_TOO_SMALL, "C_Sign");
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
        let out = output_vec("C_Digest", None, |buffer, len| {
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
        let err = output_vec("C_Encrypt", Some(16), |_, len| {
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
        let err = output_into("C_EncryptUpdate", &mut small, |_, len| {
            *len = 5;
            Ok(())
        })
        .unwrap_err();
        assert!(matches!(err, Error::InvalidResponse { .. }));
    }
}
