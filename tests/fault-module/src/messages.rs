//! PKCS#11 3.0 for the tests of message-based signing, which no module here has: on
//! request (`p11fault_offer_interface_3_0`) the module offers a 3.0 interface whose
//! message-signing and -verifying functions it makes itself from the real module's
//! 2.40 ones — each message one `C_SignInit`…`C_Sign` (or `C_SignUpdate`s and
//! `C_SignFinal`) with the operation's mechanism and key. The other 3.0 functions are
//! absent (NULL), so p11 takes the module for one without them.

use super::*;
use std::sync::atomic::{AtomicBool, Ordering};

static OFFER_3_0: AtomicBool = AtomicBool::new(false);

/// Offers the 3.0 interface through `C_GetInterface` (`on` non-zero) for the modules
/// loaded from now on; else `C_GetInterface` says it has none.
#[no_mangle]
pub extern "C" fn p11fault_offer_interface_3_0(on: c_int) {
    OFFER_3_0.store(on != 0, Ordering::SeqCst);
}

/// A message-based operation in a session.
pub(crate) struct MessageOp {
    verify: bool,
    mechanism: CK_MECHANISM_TYPE,
    parameter: Vec<u8>,
    key: CK_OBJECT_HANDLE,
    /// A signature made and not yet handed over (after a length query).
    pending: Option<Vec<u8>>,
    /// Inside a message in parts: the real module's operation is active.
    in_message: bool,
}

/// The interface, made once: the wrapped 2.40 list's functions, then ours.
struct Interface(CK_INTERFACE);

// SAFETY: it points at a static name and a leaked list, never written after it is made.
unsafe impl Send for Interface {}
// SAFETY: as above.
unsafe impl Sync for Interface {}

static NAME: &[u8] = b"PKCS 11\0";

fn interface() -> Option<&'static Interface> {
    static INTERFACE: OnceLock<Option<Interface>> = OnceLock::new();
    INTERFACE
        .get_or_init(|| {
            let ours = real()?.ours;
            // SAFETY: all-zero is a list of NULL (`None`) functions.
            let mut list: CK_FUNCTION_LIST_3_0 = unsafe { std::mem::zeroed() };
            // SAFETY: a 3.0 list begins with exactly the fields of a 2.40 one (version,
            // then the same functions in the same order), which are plain values.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    (ours as *const CK_FUNCTION_LIST).cast::<u8>(),
                    (&mut list as *mut CK_FUNCTION_LIST_3_0).cast::<u8>(),
                    size_of::<CK_FUNCTION_LIST>(),
                );
            }
            list.version = CK_VERSION { major: 3, minor: 0 };
            list.C_GetInterfaceList = Some(C_GetInterfaceList);
            list.C_GetInterface = Some(C_GetInterface);
            list.C_MessageSignInit = Some(C_MessageSignInit);
            list.C_SignMessage = Some(C_SignMessage);
            list.C_SignMessageBegin = Some(C_SignMessageBegin);
            list.C_SignMessageNext = Some(C_SignMessageNext);
            list.C_MessageSignFinal = Some(C_MessageSignFinal);
            list.C_MessageVerifyInit = Some(C_MessageVerifyInit);
            list.C_VerifyMessage = Some(C_VerifyMessage);
            list.C_VerifyMessageBegin = Some(C_VerifyMessageBegin);
            list.C_VerifyMessageNext = Some(C_VerifyMessageNext);
            list.C_MessageVerifyFinal = Some(C_MessageVerifyFinal);
            let list: &'static mut CK_FUNCTION_LIST_3_0 = Box::leak(Box::new(list));
            Some(Interface(CK_INTERFACE {
                pInterfaceName: NAME.as_ptr() as *mut CK_CHAR,
                pFunctionList: (list as *mut CK_FUNCTION_LIST_3_0).cast(),
                flags: 0,
            }))
        })
        .as_ref()
}

/// The 3.0 interface, when offered.
///
/// # Safety
/// `list` NULL or writable for `*count` interfaces; `count` writable.
#[no_mangle]
pub unsafe extern "C" fn C_GetInterfaceList(list: CK_INTERFACE_PTR, count: CK_ULONG_PTR) -> CK_RV {
    let Some(interface) = interface().filter(|_| OFFER_3_0.load(Ordering::SeqCst)) else {
        return CKR_FUNCTION_NOT_SUPPORTED;
    };
    if count.is_null() {
        return CKR_ARGUMENTS_BAD;
    }
    // SAFETY: the caller's promise.
    unsafe {
        if !list.is_null() {
            if *count < 1 {
                *count = 1;
                return CKR_BUFFER_TOO_SMALL;
            }
            *list = interface.0;
        }
        *count = 1;
    }
    CKR_OK
}

/// The 3.0 interface, when offered and asked for (by no version, or 3.0).
///
/// # Safety
/// `version` NULL or readable; `interface` writable.
#[no_mangle]
pub unsafe extern "C" fn C_GetInterface(
    _name: CK_UTF8CHAR_PTR,
    version: CK_VERSION_PTR,
    interface_out: CK_INTERFACE_PTR_PTR,
    _flags: CK_FLAGS,
) -> CK_RV {
    let Some(interface) = interface().filter(|_| OFFER_3_0.load(Ordering::SeqCst)) else {
        return CKR_FUNCTION_NOT_SUPPORTED;
    };
    if interface_out.is_null() {
        return CKR_ARGUMENTS_BAD;
    }
    // SAFETY: the caller's promise.
    if let Some(v) = unsafe { version.as_ref() } {
        if (v.major, v.minor) != (3, 0) {
            return CKR_ARGUMENTS_BAD;
        }
    }
    // SAFETY: as above; the interface lives for the process.
    unsafe { *interface_out = &interface.0 as *const CK_INTERFACE as CK_INTERFACE_PTR };
    CKR_OK
}

fn bytes<'a>(p: CK_BYTE_PTR, len: CK_ULONG) -> &'a [u8] {
    if p.is_null() || len == 0 {
        &[]
    } else {
        // SAFETY: the caller's buffer of `len` readable bytes.
        unsafe { std::slice::from_raw_parts(p, len as usize) }
    }
}

fn init(h: CK_SESSION_HANDLE, m: CK_MECHANISM_PTR, k: CK_OBJECT_HANDLE, verify: bool) -> CK_RV {
    if m.is_null() {
        return CKR_ARGUMENTS_BAD;
    }
    // SAFETY: a non-NULL mechanism is readable.
    let mechanism = unsafe { &*m };
    let op = MessageOp {
        verify,
        mechanism: mechanism.mechanism,
        parameter: bytes(mechanism.pParameter.cast(), mechanism.ulParameterLen).to_vec(),
        key: k,
        pending: None,
        in_message: false,
    };
    with_state(|s| {
        if s.messages.contains_key(&h) {
            return CKR_OPERATION_ACTIVE;
        }
        s.messages.insert(h, op);
        CKR_OK
    })
}

/// Begins the real module's single operation for one message.
fn begin_real(h: CK_SESSION_HANDLE) -> CK_RV {
    let Some((verify, mechanism, mut parameter, key)) = with_state(|s| {
        s.messages
            .get(&h)
            .map(|op| (op.verify, op.mechanism, op.parameter.clone(), op.key))
    }) else {
        return CKR_OPERATION_NOT_INITIALIZED;
    };
    let mut raw = CK_MECHANISM {
        mechanism,
        pParameter: if parameter.is_empty() {
            std::ptr::null_mut()
        } else {
            parameter.as_mut_ptr().cast()
        },
        ulParameterLen: parameter.len() as CK_ULONG,
    };
    if verify {
        forward!(C_VerifyInit(h, &mut raw, key))
    } else {
        forward!(C_SignInit(h, &mut raw, key))
    }
}

/// Hands over the signature made for this message, by PKCS#11's rules for output: a
/// length query or too small a buffer keeps it for the next call.
fn deliver(
    h: CK_SESSION_HANDLE,
    signature: Vec<u8>,
    out: CK_BYTE_PTR,
    out_len: CK_ULONG_PTR,
) -> CK_RV {
    let len = signature.len() as CK_ULONG;
    // SAFETY: `out_len` is non-NULL (checked by the callers) and writable; `out`, when
    // non-NULL, is writable for `*out_len` bytes.
    unsafe {
        let room = *out_len;
        *out_len = len;
        if out.is_null() || room < len {
            with_state(|s| {
                s.messages
                    .get_mut(&h)
                    .map(|op| op.pending = Some(signature))
            });
            return if out.is_null() {
                CKR_OK
            } else {
                CKR_BUFFER_TOO_SMALL
            };
        }
        std::ptr::copy_nonoverlapping(signature.as_ptr(), out, signature.len());
    }
    CKR_OK
}

/// The signature the real module gives through `finish` into room for any, or the one
/// kept from a length query.
fn sign_once(
    h: CK_SESSION_HANDLE,
    finish: impl FnOnce(CK_BYTE_PTR, CK_ULONG_PTR) -> CK_RV,
) -> Result<Vec<u8>, CK_RV> {
    if let Some(kept) = with_state(|s| s.messages.get_mut(&h).and_then(|op| op.pending.take())) {
        return Ok(kept);
    }
    let mut buffer = vec![0u8; 8192];
    let mut len = buffer.len() as CK_ULONG;
    match finish(buffer.as_mut_ptr(), &mut len) {
        CKR_OK => {
            buffer.truncate(len as usize);
            Ok(buffer)
        }
        rv => Err(rv),
    }
}

/// `C_*MessageBegin`: the real module's operation for one message in parts.
fn begin_message(function: &str, h: CK_SESSION_HANDLE) -> CK_RV {
    if let Some(rv) = fault(function) {
        return rv;
    }
    let rv = begin_real(h);
    if rv == CKR_OK {
        with_state(|s| s.messages.get_mut(&h).map(|op| op.in_message = true));
    }
    rv
}

fn fault(function: &str) -> Option<CK_RV> {
    match take(function) {
        Some(Fault::Fail(rv)) => Some(rv),
        _ => None,
    }
}

unsafe extern "C" fn C_MessageSignInit(
    h: CK_SESSION_HANDLE,
    m: CK_MECHANISM_PTR,
    k: CK_OBJECT_HANDLE,
) -> CK_RV {
    fault("C_MessageSignInit").unwrap_or_else(|| init(h, m, k, false))
}

unsafe extern "C" fn C_MessageVerifyInit(
    h: CK_SESSION_HANDLE,
    m: CK_MECHANISM_PTR,
    k: CK_OBJECT_HANDLE,
) -> CK_RV {
    fault("C_MessageVerifyInit").unwrap_or_else(|| init(h, m, k, true))
}

unsafe extern "C" fn C_SignMessage(
    h: CK_SESSION_HANDLE,
    _p: CK_VOID_PTR,
    _pn: CK_ULONG,
    d: CK_BYTE_PTR,
    n: CK_ULONG,
    s: CK_BYTE_PTR,
    sn: CK_ULONG_PTR,
) -> CK_RV {
    if let Some(rv) = fault("C_SignMessage") {
        return rv;
    }
    if sn.is_null() {
        return CKR_ARGUMENTS_BAD;
    }
    let signature = sign_once(h, |out, len| match begin_real(h) {
        CKR_OK => forward!(C_Sign(h, d, n, out, len)),
        rv => rv,
    });
    match signature {
        Ok(signature) => deliver(h, signature, s, sn),
        Err(rv) => rv,
    }
}

unsafe extern "C" fn C_SignMessageBegin(
    h: CK_SESSION_HANDLE,
    _p: CK_VOID_PTR,
    _pn: CK_ULONG,
) -> CK_RV {
    begin_message("C_SignMessageBegin", h)
}

unsafe extern "C" fn C_SignMessageNext(
    h: CK_SESSION_HANDLE,
    _p: CK_VOID_PTR,
    _pn: CK_ULONG,
    d: CK_BYTE_PTR,
    n: CK_ULONG,
    s: CK_BYTE_PTR,
    sn: CK_ULONG_PTR,
) -> CK_RV {
    if let Some(rv) = fault("C_SignMessageNext") {
        return rv;
    }
    if sn.is_null() {
        return forward!(C_SignUpdate(h, d, n));
    }
    let signature = sign_once(h, |out, len| match forward!(C_SignUpdate(h, d, n)) {
        CKR_OK => forward!(C_SignFinal(h, out, len)),
        rv => rv,
    });
    with_state(|st| st.messages.get_mut(&h).map(|op| op.in_message = false));
    match signature {
        Ok(signature) => deliver(h, signature, s, sn),
        Err(rv) => rv,
    }
}

/// Ends a message-based operation, and the real module's operation of a message left
/// in parts.
fn end(h: CK_SESSION_HANDLE, verify: bool) -> CK_RV {
    let Some(op) = with_state(|s| s.messages.remove(&h)) else {
        return CKR_OPERATION_NOT_INITIALIZED;
    };
    if op.in_message {
        let mut buffer = [0u8; 8192];
        let mut len = buffer.len() as CK_ULONG;
        let _ = if verify {
            forward!(C_VerifyFinal(h, buffer.as_mut_ptr(), 1))
        } else {
            forward!(C_SignFinal(h, buffer.as_mut_ptr(), &mut len))
        };
    }
    CKR_OK
}

unsafe extern "C" fn C_MessageSignFinal(h: CK_SESSION_HANDLE) -> CK_RV {
    fault("C_MessageSignFinal").unwrap_or_else(|| end(h, false))
}

unsafe extern "C" fn C_MessageVerifyFinal(h: CK_SESSION_HANDLE) -> CK_RV {
    fault("C_MessageVerifyFinal").unwrap_or_else(|| end(h, true))
}

unsafe extern "C" fn C_VerifyMessage(
    h: CK_SESSION_HANDLE,
    _p: CK_VOID_PTR,
    _pn: CK_ULONG,
    d: CK_BYTE_PTR,
    n: CK_ULONG,
    s: CK_BYTE_PTR,
    sn: CK_ULONG,
) -> CK_RV {
    if let Some(rv) = fault("C_VerifyMessage") {
        return rv;
    }
    match begin_real(h) {
        CKR_OK => forward!(C_Verify(h, d, n, s, sn)),
        rv => rv,
    }
}

unsafe extern "C" fn C_VerifyMessageBegin(
    h: CK_SESSION_HANDLE,
    _p: CK_VOID_PTR,
    _pn: CK_ULONG,
) -> CK_RV {
    begin_message("C_VerifyMessageBegin", h)
}

unsafe extern "C" fn C_VerifyMessageNext(
    h: CK_SESSION_HANDLE,
    _p: CK_VOID_PTR,
    _pn: CK_ULONG,
    d: CK_BYTE_PTR,
    n: CK_ULONG,
    s: CK_BYTE_PTR,
    sn: CK_ULONG,
) -> CK_RV {
    if let Some(rv) = fault("C_VerifyMessageNext") {
        return rv;
    }
    let rv = forward!(C_VerifyUpdate(h, d, n));
    if s.is_null() || rv != CKR_OK {
        return rv;
    }
    with_state(|st| st.messages.get_mut(&h).map(|op| op.in_message = false));
    forward!(C_VerifyFinal(h, s, sn))
}
