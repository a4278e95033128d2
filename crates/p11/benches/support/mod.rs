//! What the facade's bench binaries share: the token session, and the raw calls p11's
//! side is compared with.

use p11::p11_core::sys::*;
use p11::{Library, OpenOptions, Session, TokenFilter};

/// How the token is reached when not directly (`cargo xtask bench --rpc` sets it), for
/// the benches' group names: "" or, say, " through p11-kit's RPC".
#[allow(dead_code)] // not every bench binary names its groups by it
pub fn via() -> String {
    std::env::var("P11_BENCH_VIA")
        .map(|via| format!(" {via}"))
        .unwrap_or_default()
}

/// A read-write, logged-in session on the token `cargo xtask bench` made.
pub fn session() -> Session {
    session_from("PKCS11")
}

/// A read-write, logged-in session on the token that `{prefix}_MODULE`,
/// `{prefix}_TOKEN_LABEL` and `{prefix}_TOKEN_PIN` name.
pub fn session_from(prefix: &str) -> Session {
    let var = |name: &str| {
        let name = format!("{prefix}_{name}");
        std::env::var(&name).unwrap_or_else(|_| {
            panic!("{name} is not set: run the benches with `cargo xtask bench`")
        })
    };
    let lib = Library::load(var("MODULE")).unwrap();
    let token = lib
        .get_token(&TokenFilter::new().label(var("TOKEN_LABEL")))
        .unwrap();
    token
        .open(&OpenOptions::new().rw().user_pin(var("TOKEN_PIN")))
        .unwrap()
}

/// The token `cargo xtask bench` made.
#[allow(dead_code)] // not every bench binary pools
pub fn token() -> p11::Token {
    p11::Token::from(session().core().slot().token().unwrap())
}

/// A single-part operation the raw way: `init` with `mechanism` (no parameter), then
/// `call` on `data` into a Vec of `size`, trimmed.
pub fn raw_single(
    mechanism: CK_MECHANISM_TYPE,
    init: impl FnOnce(&mut CK_MECHANISM) -> CK_RV,
    call: impl FnOnce(*mut u8, CK_ULONG, *mut u8, &mut CK_ULONG) -> CK_RV,
    data: &[u8],
    size: usize,
) -> Vec<u8> {
    let mut mechanism = CK_MECHANISM {
        mechanism,
        pParameter: std::ptr::null_mut(),
        ulParameterLen: 0,
    };
    assert_eq!(init(&mut mechanism), CKR_OK);
    let mut out = vec![0u8; size];
    let mut len = size as CK_ULONG;
    let rv = call(
        data.as_ptr() as *mut u8,
        data.len() as CK_ULONG,
        out.as_mut_ptr(),
        &mut len,
    );
    assert_eq!(rv, CKR_OK);
    out.truncate(len as usize);
    out
}

/// `C_SignInit` + `C_Sign`.
pub fn raw_sign(
    list: &CK_FUNCTION_LIST,
    h: CK_SESSION_HANDLE,
    mechanism: CK_MECHANISM_TYPE,
    key: CK_OBJECT_HANDLE,
    data: &[u8],
    size: usize,
) -> Vec<u8> {
    raw_single(
        mechanism,
        |m| unsafe { list.C_SignInit.unwrap()(h, m, key) },
        |d, n, out, len| unsafe { list.C_Sign.unwrap()(h, d, n, out, len) },
        data,
        size,
    )
}

/// Deterministic ML-DSA (`CKM_ML_DSA` with `CKH_DETERMINISTIC_REQUIRED` and no context)
/// the raw way: the same work every call, unlike hedged signing.
#[allow(dead_code)] // not every bench binary signs with ML-DSA
pub fn raw_sign_ml_dsa_deterministic(
    list: &CK_FUNCTION_LIST,
    h: CK_SESSION_HANDLE,
    key: CK_OBJECT_HANDLE,
    data: &[u8],
) -> Vec<u8> {
    let mut deterministic = CK_SIGN_ADDITIONAL_CONTEXT {
        hedgeVariant: CKH_DETERMINISTIC_REQUIRED,
        pContext: std::ptr::null_mut(),
        ulContextLen: 0,
    };
    raw_single(
        CKM_ML_DSA,
        |m| {
            m.pParameter = (&mut deterministic as *mut CK_SIGN_ADDITIONAL_CONTEXT).cast();
            m.ulParameterLen = size_of::<CK_SIGN_ADDITIONAL_CONTEXT>() as CK_ULONG;
            unsafe { list.C_SignInit.unwrap()(h, m, key) }
        },
        |d, n, out, len| unsafe { list.C_Sign.unwrap()(h, d, n, out, len) },
        data,
        3309,
    )
}
