//! A PKCS#11 module for p11's fault tests: it loads the module named by
//! `PKCS11_FAULT_TARGET` (else `PKCS11_MODULE`), passes every call to it, and misbehaves
//! where a test asks: fails the Nth call of a function, lies about output lengths and
//! counts, answers `CKR_BUFFER_TOO_SMALL` forever, fails attribute reads without marking
//! an attribute, or is slow. It also keeps the set of open sessions, so that a test can
//! see that every session p11 opened was closed.
//!
//! Tests steer it through the `p11fault_*` functions it exports beside
//! `C_GetFunctionList` (loaded into the same process, it is the same instance p11 calls).
//!
//! For the vendor-fork test it also stands in for a vendor's module: it records the
//! mechanism (type and parameter bytes) of the last `C_EncryptInit`/`C_SignInit`/
//! `C_DeriveKey`, and,
//! once asked, keeps vendor-range attributes of the objects made through it to itself
//! (the real module would refuse them) and answers them when read.
//!
//! For the message-signing tests it offers, once asked, a PKCS#11 3.0 interface whose
//! message-signing functions it makes from the real module's 2.40 ones (`messages.rs`).
#![allow(non_snake_case)] // the wrappers carry the names of the functions they wrap

use p11_sys::*;
use std::collections::{HashMap, HashSet};
use std::ffi::{c_char, c_int, CStr};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

/// A misbehaviour.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Fault {
    /// Return this value without calling through.
    Fail(CK_RV),
    /// Call through, then return this value instead of the module's (a module that did
    /// the call, ending its operation, and answered an error: NSS's wrong HMAC).
    FailAfter(CK_RV),
    /// `CKR_BUFFER_TOO_SMALL` asking for one byte more than given, without calling through.
    TooSmall,
    /// Call through, then claim one byte more than the room given.
    LengthPlusOne,
    /// Call through, then claim 2^40 bytes.
    LengthHuge,
    /// Call through, then claim `CK_UNAVAILABLE_INFORMATION`.
    LengthUnavailable,
    /// Call through, then claim the whole room given was written.
    ReportRoom,
    /// Call through, then claim this many items more than the room given.
    OverCount(CK_ULONG),
    /// Sleep this many milliseconds, then call through.
    Slow(u64),
    /// Call through, then say every attribute is empty (a module that answers an empty
    /// value for an unset one).
    Empty,
    /// Call through, then leave this value out of the list (a mechanism the module
    /// does not offer).
    Hide(CK_ULONG),
    /// Make a token object whatever the template says (OpenSC's OpenPGP card).
    ForceToken,
    /// Without calling through, mark every attribute unavailable and return this value
    /// (an object that changed under the read).
    Unavailable(CK_RV),
    /// Call through, then name tpm2-pkcs11's manufacturer (`C_GetInfo`).
    AsTpm2,
    /// Make the private key not sensitive whatever the template says
    /// (`C_GenerateKeyPair`).
    NotSensitive,
    /// Call through, then report `CKA_SENSITIVE` false (`C_GetAttributeValue`: OpenSC's
    /// OpenPGP card, whose keys never leave it).
    SaysNotSensitive,
}

#[derive(Debug)]
struct Rule {
    function: String,
    fault: Fault,
    /// Calls to let through before the fault applies.
    skip: u64,
    /// Faulty calls left; `u64::MAX` for ever.
    times: u64,
}

#[derive(Default)]
struct State {
    rules: Vec<Rule>,
    calls: HashMap<String, u64>,
    open: HashSet<CK_SESSION_HANDLE>,
    opened: u64,
    closed: u64,
    /// The last mechanism an `*Init` call was given: its type and parameter bytes.
    last_mechanism: Option<(CK_MECHANISM_TYPE, Vec<u8>)>,
    /// Whether vendor-range attributes are kept here rather than passed on.
    keep_vendor_attributes: bool,
    /// The vendor-range attributes kept, per object.
    vendor_attributes: HashMap<CK_OBJECT_HANDLE, Vec<(CK_ATTRIBUTE_TYPE, Vec<u8>)>>,
    /// The message-based operations made here, per session (`messages.rs`).
    messages: HashMap<CK_SESSION_HANDLE, messages::MessageOp>,
}

static STATE: Mutex<Option<State>> = Mutex::new(None);

fn state() -> MutexGuard<'static, Option<State>> {
    STATE.lock().unwrap_or_else(PoisonError::into_inner)
}

fn with_state<T>(f: impl FnOnce(&mut State) -> T) -> T {
    f(state().get_or_insert_with(State::default))
}

/// Counts the call and says which fault, if any, applies to it.
fn take(function: &str) -> Option<Fault> {
    with_state(|s| {
        *s.calls.entry(function.to_owned()).or_default() += 1;
        let rule = s
            .rules
            .iter_mut()
            .find(|r| r.function == function && r.times > 0)?;
        if rule.skip > 0 {
            rule.skip -= 1;
            return None;
        }
        if rule.times != u64::MAX {
            rule.times -= 1;
        }
        Some(rule.fault)
    })
}

/// The real module's function list, loaded on first use and kept for the process.
struct Real {
    list: &'static CK_FUNCTION_LIST,
    ours: &'static CK_FUNCTION_LIST,
}

// SAFETY: both lists are read-only tables of function pointers, never written after
// they are made.
unsafe impl Send for Real {}
// SAFETY: as above.
unsafe impl Sync for Real {}

static REAL: OnceLock<Option<Real>> = OnceLock::new();

fn real() -> Option<&'static Real> {
    REAL.get_or_init(load).as_ref()
}

fn load() -> Option<Real> {
    let path =
        std::env::var_os("PKCS11_FAULT_TARGET").or_else(|| std::env::var_os("PKCS11_MODULE"))?;
    // SAFETY: loading the module the tests name; kept loaded for the process.
    let library = unsafe { libloading::Library::new(path) }.ok()?;
    let library: &'static libloading::Library = Box::leak(Box::new(library));
    // SAFETY: the symbol has the type PKCS#11 gives it.
    let get = unsafe {
        library
            .get::<unsafe extern "C" fn(CK_FUNCTION_LIST_PTR_PTR) -> CK_RV>(b"C_GetFunctionList\0")
    }
    .ok()?;
    let mut list: CK_FUNCTION_LIST_PTR = std::ptr::null_mut();
    // SAFETY: `list` is a writable out-pointer.
    if unsafe { get(&mut list) } != CKR_OK {
        return None;
    }
    // SAFETY: on CKR_OK the module points `list` at a list it keeps while loaded, which
    // is for ever here.
    let list: &'static CK_FUNCTION_LIST = unsafe { list.as_ref() }?;
    let mut ours = *list;
    install(&mut ours);
    Some(Real {
        list,
        ours: Box::leak(Box::new(ours)),
    })
}

/// The module's entry point: the real module's list with the wrapped functions in place.
///
/// # Safety
/// `list` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn C_GetFunctionList(list: CK_FUNCTION_LIST_PTR_PTR) -> CK_RV {
    if list.is_null() {
        return CKR_ARGUMENTS_BAD;
    }
    match real() {
        Some(real) => {
            // SAFETY: checked non-NULL; the caller's promise that it is writable.
            unsafe { *list = real.ours as *const CK_FUNCTION_LIST as CK_FUNCTION_LIST_PTR };
            CKR_OK
        }
        None => CKR_GENERAL_ERROR,
    }
}

fn text(p: *const c_char) -> Option<String> {
    if p.is_null() {
        return None;
    }
    // SAFETY: the tests pass NUL-terminated strings.
    Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

/// Adds a rule: `function` (e.g. `C_Sign`) misbehaves as `fault` says (`fail`,
/// `fail_after`, `too_small`, `length+1`, `length_huge`, `length_unavailable`,
/// `report_room`, `over_count`, `slow`, `hide`, `empty`, `force_token`, `unavailable`, `as_tpm2`, `not_sensitive`, `says_not_sensitive`), with `arg` (the return value, the extra count, the milliseconds,
/// the item to leave out of a list), after `skip` good calls, `times` times
/// (`u64::MAX`: for ever). 0 on success, -1 for an unknown fault.
///
/// # Safety
/// Both strings must be NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn p11fault_set(
    function: *const c_char,
    fault: *const c_char,
    arg: u64,
    skip: u64,
    times: u64,
) -> c_int {
    let (Some(function), Some(fault)) = (text(function), text(fault)) else {
        return -1;
    };
    let fault = match fault.as_str() {
        "fail" => Fault::Fail(arg as CK_RV),
        "fail_after" => Fault::FailAfter(arg as CK_RV),
        "too_small" => Fault::TooSmall,
        "length+1" => Fault::LengthPlusOne,
        "length_huge" => Fault::LengthHuge,
        "length_unavailable" => Fault::LengthUnavailable,
        "over_count" => Fault::OverCount(arg as CK_ULONG),
        "slow" => Fault::Slow(arg),
        "hide" => Fault::Hide(arg as CK_ULONG),
        "empty" => Fault::Empty,
        "report_room" => Fault::ReportRoom,
        "force_token" => Fault::ForceToken,
        "unavailable" => Fault::Unavailable(arg as CK_RV),
        "as_tpm2" => Fault::AsTpm2,
        "not_sensitive" => Fault::NotSensitive,
        "says_not_sensitive" => Fault::SaysNotSensitive,
        _ => return -1,
    };
    with_state(|s| {
        s.rules.push(Rule {
            function,
            fault,
            skip,
            times,
        })
    });
    0
}

/// Removes every rule and resets the call counts.
#[no_mangle]
pub extern "C" fn p11fault_clear() {
    with_state(|s| {
        s.rules.clear();
        s.calls.clear();
    });
}

/// Keeps vendor-range attributes of objects made from now on here (`on` non-zero), so
/// that a module which does not know them still makes the object, and they read back.
#[no_mangle]
pub extern "C" fn p11fault_keep_vendor_attributes(on: c_int) {
    with_state(|s| s.keep_vendor_attributes = on != 0);
}

/// The last mechanism given to `C_EncryptInit`, `C_SignInit` or `C_DeriveKey`: its type in `*ty`, its
/// parameter's bytes copied to `buffer` (up to `room`); returns the parameter's length,
/// or -1 when no mechanism was given yet.
///
/// # Safety
/// `ty` must be writable, `buffer` writable for `room` bytes.
#[no_mangle]
pub unsafe extern "C" fn p11fault_last_mechanism(
    ty: *mut CK_MECHANISM_TYPE,
    buffer: *mut u8,
    room: usize,
) -> i64 {
    let Some((mechanism, parameter)) = with_state(|s| s.last_mechanism.clone()) else {
        return -1;
    };
    // SAFETY: the caller's promise.
    unsafe {
        *ty = mechanism;
        std::ptr::copy_nonoverlapping(parameter.as_ptr(), buffer, parameter.len().min(room));
    }
    parameter.len() as i64
}

/// How many times `function` was called since the last clear.
///
/// # Safety
/// `function` must be NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn p11fault_calls(function: *const c_char) -> u64 {
    let Some(function) = text(function) else {
        return 0;
    };
    with_state(|s| s.calls.get(&function).copied().unwrap_or(0))
}

/// Sessions opened and closed (successful calls) since the module was loaded, and how
/// many are open now.
///
/// # Safety
/// The three pointers must be writable.
#[no_mangle]
pub unsafe extern "C" fn p11fault_sessions(opened: *mut u64, closed: *mut u64, open: *mut u64) {
    let (o, c, n) = with_state(|s| (s.opened, s.closed, s.open.len() as u64));
    // SAFETY: the caller's promise.
    unsafe {
        *opened = o;
        *closed = c;
        *open = n;
    }
}

/// Calls through to the real module's `$f`.
macro_rules! forward {
    ($f:ident ( $($arg:expr),* )) => {
        match real().and_then(|r| r.list.$f) {
            // SAFETY: the wrapper's caller gave these arguments for this very function.
            Some(f) => unsafe { f($($arg),*) },
            None => CKR_FUNCTION_NOT_SUPPORTED,
        }
    };
}

/// Wrappers whose faults are `fail`, `fail_after` and `slow` only.
macro_rules! plain {
    ($($f:ident ( $($arg:ident : $ty:ty),* );)*) => {$(
        unsafe extern "C" fn $f($($arg: $ty),*) -> CK_RV {
            match take(stringify!($f)) {
                Some(Fault::Fail(rv)) => rv,
                Some(Fault::FailAfter(rv)) => {
                    forward!($f($($arg),*));
                    rv
                }
                Some(Fault::Slow(ms)) => {
                    std::thread::sleep(Duration::from_millis(ms));
                    forward!($f($($arg),*))
                }
                _ => forward!($f($($arg),*)),
            }
        }
    )*};
}

/// Wrappers of functions that write output and its length (`out`, `out_len`).
macro_rules! output {
    ($($f:ident ( $($arg:ident : $ty:ty),* ) => $out:ident, $out_len:ident;)*) => {$(
        unsafe extern "C" fn $f($($arg: $ty),*) -> CK_RV {
            let fault = take(stringify!($f));
            let room = if $out_len.is_null() {
                0
            } else {
                // SAFETY: a non-NULL length pointer is readable, as PKCS#11 requires.
                unsafe { *$out_len }
            };
            let rv = match fault {
                Some(Fault::Fail(rv)) => return rv,
                Some(Fault::TooSmall) if !$out.is_null() && !$out_len.is_null() => {
                    // SAFETY: as above, and writable.
                    unsafe { *$out_len = room + 1 };
                    return CKR_BUFFER_TOO_SMALL;
                }
                Some(Fault::Slow(ms)) => {
                    std::thread::sleep(Duration::from_millis(ms));
                    forward!($f($($arg),*))
                }
                _ => forward!($f($($arg),*)),
            };
            if rv == CKR_OK && !$out.is_null() && !$out_len.is_null() {
                let claim = match fault {
                    Some(Fault::LengthPlusOne) => Some(room + 1),
                    Some(Fault::LengthHuge) => Some(1 << 40),
                    Some(Fault::LengthUnavailable) => Some(CK_UNAVAILABLE_INFORMATION),
                    // It filled its buffer, it says, whatever it wrote (tpm2-pkcs11's
                    // RSA encryption).
                    Some(Fault::ReportRoom) => Some(room),
                    _ => None,
                };
                if let Some(claim) = claim {
                    // SAFETY: as above.
                    unsafe { *$out_len = claim };
                }
            }
            rv
        }
    )*};
}

plain! {
    C_GetSlotInfo(slot: CK_SLOT_ID, info: CK_SLOT_INFO_PTR);
    C_GetTokenInfo(slot: CK_SLOT_ID, info: CK_TOKEN_INFO_PTR);
    C_Login(h: CK_SESSION_HANDLE, user: CK_USER_TYPE, pin: CK_UTF8CHAR_PTR, len: CK_ULONG);
    C_Logout(h: CK_SESSION_HANDLE);
    C_GetSessionInfo(h: CK_SESSION_HANDLE, info: CK_SESSION_INFO_PTR);
    C_FindObjectsInit(h: CK_SESSION_HANDLE, t: CK_ATTRIBUTE_PTR, n: CK_ULONG);
    C_FindObjectsFinal(h: CK_SESSION_HANDLE);
    C_DestroyObject(h: CK_SESSION_HANDLE, o: CK_OBJECT_HANDLE);
    C_SetAttributeValue(h: CK_SESSION_HANDLE, o: CK_OBJECT_HANDLE, t: CK_ATTRIBUTE_PTR, n: CK_ULONG);
    C_DecryptInit(h: CK_SESSION_HANDLE, m: CK_MECHANISM_PTR, k: CK_OBJECT_HANDLE);
    C_SignUpdate(h: CK_SESSION_HANDLE, d: CK_BYTE_PTR, n: CK_ULONG);
    C_VerifyInit(h: CK_SESSION_HANDLE, m: CK_MECHANISM_PTR, k: CK_OBJECT_HANDLE);
    C_Verify(h: CK_SESSION_HANDLE, d: CK_BYTE_PTR, n: CK_ULONG, s: CK_BYTE_PTR, sn: CK_ULONG);
    C_VerifyUpdate(h: CK_SESSION_HANDLE, d: CK_BYTE_PTR, n: CK_ULONG);
    C_VerifyFinal(h: CK_SESSION_HANDLE, s: CK_BYTE_PTR, sn: CK_ULONG);
    C_DigestInit(h: CK_SESSION_HANDLE, m: CK_MECHANISM_PTR);
    C_DigestUpdate(h: CK_SESSION_HANDLE, d: CK_BYTE_PTR, n: CK_ULONG);
    C_GenerateRandom(h: CK_SESSION_HANDLE, d: CK_BYTE_PTR, n: CK_ULONG);
}

output! {
    C_Encrypt(h: CK_SESSION_HANDLE, d: CK_BYTE_PTR, n: CK_ULONG, out: CK_BYTE_PTR, out_len: CK_ULONG_PTR) => out, out_len;
    C_EncryptUpdate(h: CK_SESSION_HANDLE, d: CK_BYTE_PTR, n: CK_ULONG, out: CK_BYTE_PTR, out_len: CK_ULONG_PTR) => out, out_len;
    C_EncryptFinal(h: CK_SESSION_HANDLE, out: CK_BYTE_PTR, out_len: CK_ULONG_PTR) => out, out_len;
    C_Decrypt(h: CK_SESSION_HANDLE, d: CK_BYTE_PTR, n: CK_ULONG, out: CK_BYTE_PTR, out_len: CK_ULONG_PTR) => out, out_len;
    C_DecryptUpdate(h: CK_SESSION_HANDLE, d: CK_BYTE_PTR, n: CK_ULONG, out: CK_BYTE_PTR, out_len: CK_ULONG_PTR) => out, out_len;
    C_DecryptFinal(h: CK_SESSION_HANDLE, out: CK_BYTE_PTR, out_len: CK_ULONG_PTR) => out, out_len;
    C_Sign(h: CK_SESSION_HANDLE, d: CK_BYTE_PTR, n: CK_ULONG, out: CK_BYTE_PTR, out_len: CK_ULONG_PTR) => out, out_len;
    C_SignFinal(h: CK_SESSION_HANDLE, out: CK_BYTE_PTR, out_len: CK_ULONG_PTR) => out, out_len;
    C_Digest(h: CK_SESSION_HANDLE, d: CK_BYTE_PTR, n: CK_ULONG, out: CK_BYTE_PTR, out_len: CK_ULONG_PTR) => out, out_len;
    C_DigestFinal(h: CK_SESSION_HANDLE, out: CK_BYTE_PTR, out_len: CK_ULONG_PTR) => out, out_len;
    C_WrapKey(h: CK_SESSION_HANDLE, m: CK_MECHANISM_PTR, w: CK_OBJECT_HANDLE, k: CK_OBJECT_HANDLE, out: CK_BYTE_PTR, out_len: CK_ULONG_PTR) => out, out_len;
}

/// Counts and lists: `over_count` claims more items than the room given (`max` for
/// `C_FindObjects`, the count passed in for the others).
macro_rules! counted {
    ($($f:ident ( $($arg:ident : $ty:ty),* ) => $list:ident, $count:ident $(, $max:ident)?;)*) => {$(
        unsafe extern "C" fn $f($($arg: $ty),*) -> CK_RV {
            let fault = take(stringify!($f));
            if let Some(Fault::Fail(rv)) = fault {
                return rv;
            }
            #[allow(unused_variables)] // replaced by `max` where there is one
            let room: CK_ULONG = if $count.is_null() {
                0
            } else {
                // SAFETY: a non-NULL count is readable, as PKCS#11 requires.
                unsafe { *$count }
            };
            $( let room = $max; )?
            let rv = forward!($f($($arg),*));
            if let (Some(Fault::OverCount(extra)), CKR_OK) = (fault, rv) {
                if !$list.is_null() && !$count.is_null() {
                    // SAFETY: a non-NULL count is writable.
                    unsafe { *$count = room + extra };
                }
            }
            if let (Some(Fault::Hide(value)), CKR_OK) = (fault, rv) {
                if !$list.is_null() && !$count.is_null() {
                    // SAFETY: the module wrote `*$count` items (at most `room`) to the
                    // list, which is writable for them; the count is writable.
                    unsafe {
                        let items = std::slice::from_raw_parts_mut($list, (*$count).min(room) as usize);
                        let mut kept = 0;
                        for i in 0..items.len() {
                            if items[i] != value {
                                items[kept] = items[i];
                                kept += 1;
                            }
                        }
                        *$count = kept as CK_ULONG;
                    }
                }
            }
            rv
        }
    )*};
}

counted! {
    C_FindObjects(h: CK_SESSION_HANDLE, list: CK_OBJECT_HANDLE_PTR, max: CK_ULONG, count: CK_ULONG_PTR) => list, count, max;
    C_GetSlotList(present: CK_BBOOL, list: CK_SLOT_ID_PTR, count: CK_ULONG_PTR) => list, count;
    C_GetMechanismList(slot: CK_SLOT_ID, list: CK_MECHANISM_TYPE_PTR, count: CK_ULONG_PTR) => list, count;
}

/// Keeps the mechanism's type and parameter bytes as the last one given.
fn record_mechanism(m: CK_MECHANISM_PTR) {
    if m.is_null() {
        return;
    }
    // SAFETY: a non-NULL mechanism pointer is readable, as PKCS#11 requires.
    let mechanism = unsafe { &*m };
    let parameter = if mechanism.pParameter.is_null() {
        Vec::new()
    } else {
        // SAFETY: the caller's parameter is `ulParameterLen` readable bytes.
        unsafe {
            std::slice::from_raw_parts(
                mechanism.pParameter as *const u8,
                mechanism.ulParameterLen as usize,
            )
        }
        .to_vec()
    };
    with_state(|s| s.last_mechanism = Some((mechanism.mechanism, parameter)));
}

/// Wrappers of `*Init` functions: the mechanism recorded, then as `plain!`.
macro_rules! init {
    ($($f:ident ( $($arg:ident : $ty:ty),* ) => $m:ident;)*) => {$(
        unsafe extern "C" fn $f($($arg: $ty),*) -> CK_RV {
            record_mechanism($m);
            match take(stringify!($f)) {
                Some(Fault::Fail(rv)) => rv,
                _ => forward!($f($($arg),*)),
            }
        }
    )*};
}

init! {
    C_EncryptInit(h: CK_SESSION_HANDLE, m: CK_MECHANISM_PTR, k: CK_OBJECT_HANDLE) => m;
    C_SignInit(h: CK_SESSION_HANDLE, m: CK_MECHANISM_PTR, k: CK_OBJECT_HANDLE) => m;
    C_DeriveKey(h: CK_SESSION_HANDLE, m: CK_MECHANISM_PTR, b: CK_OBJECT_HANDLE, t: CK_ATTRIBUTE_PTR, n: CK_ULONG, o: CK_OBJECT_HANDLE_PTR) => m;
}

/// The template without its vendor-range attributes, and those (copied), when vendor
/// attributes are kept here; else the template as given.
fn split_vendor(
    t: CK_ATTRIBUTE_PTR,
    n: CK_ULONG,
) -> (Vec<CK_ATTRIBUTE>, Vec<(CK_ATTRIBUTE_TYPE, Vec<u8>)>) {
    if t.is_null() {
        return (Vec::new(), Vec::new());
    }
    // SAFETY: the caller's template holds `n` readable attributes.
    let template = unsafe { std::slice::from_raw_parts(t, n as usize) };
    if !with_state(|s| s.keep_vendor_attributes) {
        return (template.to_vec(), Vec::new());
    }
    let (vendor, standard): (Vec<_>, Vec<_>) =
        template.iter().partition(|a| a.type_ >= CKA_VENDOR_DEFINED);
    let vendor = vendor
        .iter()
        .map(|a: &CK_ATTRIBUTE| {
            let bytes = if a.pValue.is_null() {
                Vec::new()
            } else {
                // SAFETY: each value is `ulValueLen` readable bytes.
                unsafe { std::slice::from_raw_parts(a.pValue as *const u8, a.ulValueLen as usize) }
                    .to_vec()
            };
            (a.type_, bytes)
        })
        .collect();
    (standard, vendor)
}

fn keep_vendor(handle: CK_OBJECT_HANDLE, vendor: Vec<(CK_ATTRIBUTE_TYPE, Vec<u8>)>) {
    if !vendor.is_empty() {
        with_state(|s| s.vendor_attributes.insert(handle, vendor));
    }
}

/// Makes an object through `make` with the vendor-range attributes of the template kept
/// here (when asked), and keeps them for the new handle.
fn make_keeping_vendor(
    function: &str,
    t: CK_ATTRIBUTE_PTR,
    n: CK_ULONG,
    o: CK_OBJECT_HANDLE_PTR,
    make: impl FnOnce(CK_ATTRIBUTE_PTR, CK_ULONG) -> CK_RV,
) -> CK_RV {
    let fault = take(function);
    if let Some(Fault::Fail(rv)) = fault {
        return rv;
    }
    let (mut standard, vendor) = split_vendor(t, n);
    if fault == Some(Fault::ForceToken) {
        static TRUE: CK_BBOOL = CK_TRUE;
        for attribute in standard.iter_mut().filter(|a| a.type_ == CKA_TOKEN) {
            // The module only reads template values.
            attribute.pValue = &TRUE as *const CK_BBOOL as CK_VOID_PTR;
            attribute.ulValueLen = 1;
        }
    }
    let rv = make(standard.as_mut_ptr(), standard.len() as CK_ULONG);
    if rv == CKR_OK && !o.is_null() {
        // SAFETY: the module wrote the new handle there.
        keep_vendor(unsafe { *o }, vendor);
    }
    rv
}

/// `not_sensitive` here makes the private key with `CKA_SENSITIVE` false, whatever was
/// asked (a module that does not do as told).
unsafe extern "C" fn C_GenerateKeyPair(
    h: CK_SESSION_HANDLE,
    m: CK_MECHANISM_PTR,
    t: CK_ATTRIBUTE_PTR,
    n: CK_ULONG,
    t2: CK_ATTRIBUTE_PTR,
    n2: CK_ULONG,
    o: CK_OBJECT_HANDLE_PTR,
    o2: CK_OBJECT_HANDLE_PTR,
) -> CK_RV {
    match take("C_GenerateKeyPair") {
        Some(Fault::Fail(rv)) => rv,
        Some(Fault::NotSensitive) if !t2.is_null() => {
            static FALSE: CK_BBOOL = CK_FALSE;
            // SAFETY: the caller's private template holds `n2` attributes.
            let mut private = unsafe { std::slice::from_raw_parts(t2, n2 as usize) }.to_vec();
            for attribute in private.iter_mut().filter(|a| a.type_ == CKA_SENSITIVE) {
                // The module only reads template values.
                attribute.pValue = &FALSE as *const CK_BBOOL as CK_VOID_PTR;
                attribute.ulValueLen = 1;
            }
            forward!(C_GenerateKeyPair(
                h,
                m,
                t,
                n,
                private.as_mut_ptr(),
                n2,
                o,
                o2
            ))
        }
        _ => forward!(C_GenerateKeyPair(h, m, t, n, t2, n2, o, o2)),
    }
}

unsafe extern "C" fn C_CreateObject(
    h: CK_SESSION_HANDLE,
    t: CK_ATTRIBUTE_PTR,
    n: CK_ULONG,
    o: CK_OBJECT_HANDLE_PTR,
) -> CK_RV {
    make_keeping_vendor("C_CreateObject", t, n, o, |t, n| {
        forward!(C_CreateObject(h, t, n, o))
    })
}

unsafe extern "C" fn C_GenerateKey(
    h: CK_SESSION_HANDLE,
    m: CK_MECHANISM_PTR,
    t: CK_ATTRIBUTE_PTR,
    n: CK_ULONG,
    o: CK_OBJECT_HANDLE_PTR,
) -> CK_RV {
    make_keeping_vendor("C_GenerateKey", t, n, o, |t, n| {
        forward!(C_GenerateKey(h, m, t, n, o))
    })
}

/// Vendor attributes kept here answered from what was kept, the rest by the module.
unsafe fn get_with_vendor(
    h: CK_SESSION_HANDLE,
    o: CK_OBJECT_HANDLE,
    t: CK_ATTRIBUTE_PTR,
    n: CK_ULONG,
    kept: Vec<(CK_ATTRIBUTE_TYPE, Vec<u8>)>,
) -> CK_RV {
    // SAFETY: the caller's template holds `n` attributes, writable.
    let template = unsafe { std::slice::from_raw_parts_mut(t, n as usize) };
    let mut rv = CKR_OK;
    let mut standard = Vec::new();
    for (i, attribute) in template.iter_mut().enumerate() {
        let Some((_, value)) = kept.iter().find(|(ty, _)| *ty == attribute.type_) else {
            standard.push(i);
            continue;
        };
        if attribute.pValue.is_null() {
            attribute.ulValueLen = value.len() as CK_ULONG;
        } else if (attribute.ulValueLen as usize) < value.len() {
            attribute.ulValueLen = CK_UNAVAILABLE_INFORMATION;
            rv = CKR_BUFFER_TOO_SMALL;
        } else {
            // SAFETY: the buffer holds `ulValueLen` >= value.len() writable bytes.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    value.as_ptr(),
                    attribute.pValue as *mut u8,
                    value.len(),
                )
            };
            attribute.ulValueLen = value.len() as CK_ULONG;
        }
    }
    if !standard.is_empty() {
        let mut rest: Vec<CK_ATTRIBUTE> = standard.iter().map(|&i| template[i]).collect();
        let theirs = forward!(C_GetAttributeValue(
            h,
            o,
            rest.as_mut_ptr(),
            rest.len() as CK_ULONG
        ));
        for (&i, answered) in standard.iter().zip(&rest) {
            template[i].ulValueLen = answered.ulValueLen;
        }
        if theirs != CKR_OK {
            rv = theirs;
        }
    }
    rv
}

/// `fail` here returns the value without touching the template: no attribute is marked
/// unavailable, and the buffers keep whatever they held.
unsafe extern "C" fn C_GetAttributeValue(
    h: CK_SESSION_HANDLE,
    o: CK_OBJECT_HANDLE,
    t: CK_ATTRIBUTE_PTR,
    n: CK_ULONG,
) -> CK_RV {
    let kept = with_state(|s| s.vendor_attributes.get(&o).cloned());
    if let (Some(kept), false) = (kept, t.is_null()) {
        // SAFETY: the caller's arguments, passed on.
        return unsafe { get_with_vendor(h, o, t, n, kept) };
    }
    match take("C_GetAttributeValue") {
        Some(Fault::Fail(rv)) => rv,
        Some(Fault::SaysNotSensitive) => {
            let rv = forward!(C_GetAttributeValue(h, o, t, n));
            if !t.is_null() {
                // SAFETY: the caller's template holds `n` attributes, writable.
                let attributes = unsafe { std::slice::from_raw_parts_mut(t, n as usize) };
                for a in attributes.iter_mut().filter(|a| a.type_ == CKA_SENSITIVE) {
                    if a.ulValueLen == 1 && !a.pValue.is_null() {
                        // SAFETY: the module just wrote one byte there.
                        unsafe { *(a.pValue as *mut CK_BBOOL) = CK_FALSE };
                    }
                }
            }
            rv
        }
        Some(Fault::Unavailable(rv)) => {
            if !t.is_null() {
                // SAFETY: the caller's template holds `n` attributes, writable.
                let attributes = unsafe { std::slice::from_raw_parts_mut(t, n as usize) };
                for attribute in attributes {
                    attribute.ulValueLen = CK_UNAVAILABLE_INFORMATION;
                }
            }
            rv
        }
        Some(Fault::Empty) => {
            let rv = forward!(C_GetAttributeValue(h, o, t, n));
            if rv == CKR_OK && !t.is_null() {
                // SAFETY: the caller's template holds `n` attributes, writable.
                let attributes = unsafe { std::slice::from_raw_parts_mut(t, n as usize) };
                for attribute in attributes {
                    attribute.ulValueLen = 0;
                }
            }
            rv
        }
        _ => forward!(C_GetAttributeValue(h, o, t, n)),
    }
}

unsafe extern "C" fn C_OpenSession(
    slot: CK_SLOT_ID,
    flags: CK_FLAGS,
    app: CK_VOID_PTR,
    notify: CK_NOTIFY,
    h: CK_SESSION_HANDLE_PTR,
) -> CK_RV {
    if let Some(Fault::Fail(rv)) = take("C_OpenSession") {
        return rv;
    }
    let rv = forward!(C_OpenSession(slot, flags, app, notify, h));
    if rv == CKR_OK && !h.is_null() {
        // SAFETY: the module wrote the handle there.
        let handle = unsafe { *h };
        with_state(|s| {
            s.opened += 1;
            s.open.insert(handle);
        });
    }
    rv
}

unsafe extern "C" fn C_CloseSession(h: CK_SESSION_HANDLE) -> CK_RV {
    if let Some(Fault::Fail(rv)) = take("C_CloseSession") {
        return rv;
    }
    let rv = forward!(C_CloseSession(h));
    if rv == CKR_OK {
        with_state(|s| {
            s.messages.remove(&h);
            if s.open.remove(&h) {
                s.closed += 1;
            }
        });
    }
    rv
}

unsafe extern "C" fn C_CloseAllSessions(slot: CK_SLOT_ID) -> CK_RV {
    if let Some(Fault::Fail(rv)) = take("C_CloseAllSessions") {
        return rv;
    }
    let rv = forward!(C_CloseAllSessions(slot));
    if rv == CKR_OK {
        // Tests use one slot: every open session was on it.
        with_state(|s| {
            s.closed += s.open.len() as u64;
            s.open.clear();
            s.messages.clear();
        });
    }
    rv
}

/// `as_tpm2` here makes the module say it is tpm2-pkcs11, whose quirks p11 knows by name.
unsafe extern "C" fn C_GetInfo(info: CK_INFO_PTR) -> CK_RV {
    match take("C_GetInfo") {
        Some(Fault::Fail(rv)) => rv,
        Some(Fault::AsTpm2) => {
            let rv = forward!(C_GetInfo(info));
            if rv == CKR_OK && !info.is_null() {
                let name = b"tpm2-software.github.io";
                // SAFETY: the caller's CK_INFO, writable, just filled by the module.
                let id = unsafe { &mut (*info).manufacturerID };
                id.fill(b' ');
                id[..name.len()].copy_from_slice(name);
            }
            rv
        }
        _ => forward!(C_GetInfo(info)),
    }
}

unsafe extern "C" fn C_Finalize(reserved: CK_VOID_PTR) -> CK_RV {
    if let Some(Fault::Fail(rv)) = take("C_Finalize") {
        return rv;
    }
    let rv = forward!(C_Finalize(reserved));
    if rv == CKR_OK {
        with_state(|s| {
            s.closed += s.open.len() as u64;
            s.open.clear();
            s.messages.clear();
        });
    }
    rv
}

unsafe extern "C" fn C_Initialize(args: CK_VOID_PTR) -> CK_RV {
    match take("C_Initialize") {
        Some(Fault::Fail(rv)) => rv,
        _ => forward!(C_Initialize(args)),
    }
}

/// Puts the wrappers in place of the real module's functions.
fn install(list: &mut CK_FUNCTION_LIST) {
    macro_rules! put {
        ($($f:ident),*) => {$( list.$f = Some($f); )*};
    }
    put!(
        C_Initialize,
        C_Finalize,
        C_GetInfo,
        C_GetSlotList,
        C_GetSlotInfo,
        C_GetTokenInfo,
        C_GetMechanismList,
        C_OpenSession,
        C_CloseSession,
        C_CloseAllSessions,
        C_GetSessionInfo,
        C_Login,
        C_Logout,
        C_CreateObject,
        C_DestroyObject,
        C_GetAttributeValue,
        C_SetAttributeValue,
        C_FindObjectsInit,
        C_FindObjects,
        C_FindObjectsFinal,
        C_EncryptInit,
        C_Encrypt,
        C_EncryptUpdate,
        C_EncryptFinal,
        C_DecryptInit,
        C_Decrypt,
        C_DecryptUpdate,
        C_DecryptFinal,
        C_DigestInit,
        C_Digest,
        C_DigestUpdate,
        C_DigestFinal,
        C_SignInit,
        C_Sign,
        C_SignUpdate,
        C_SignFinal,
        C_VerifyInit,
        C_Verify,
        C_VerifyUpdate,
        C_VerifyFinal,
        C_GenerateKey,
        C_GenerateKeyPair,
        C_WrapKey,
        C_DeriveKey,
        C_GenerateRandom
    );
}

mod messages;
