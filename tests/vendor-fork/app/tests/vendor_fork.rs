//! The swap, end to end: p11 built on the p11-sys generated from the vendor's headers
//! carries the vendor's mechanism (with its parameter struct), attribute and return value
//! through the facade to the module and back. The module is p11's fault module over
//! SoftHSM, standing in for the vendor's: it records the mechanism it is given, keeps the
//! vendor attribute SoftHSM would refuse, and answers with the vendor's return value.

use acme_app::{register_names, AcmeAttributes, ACME_KEY_GENERATION, ACME_SEAL};
use p11::mechanisms::StructParameter;
use p11::{
    Encrypt, Key, KeyType, Library, Mechanism, ObjectOptions, OpenOptions, ReturnValue, Template,
    TokenFilter,
};
use p11_sys::{CKR_ACME_QUOTA_EXCEEDED, CK_ACME_SEAL_PARAMS, CK_MECHANISM_TYPE};
use std::ffi::{c_char, c_int, CString};
use std::sync::Arc;

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run `cargo xtask test`"))
}

type Set = unsafe extern "C" fn(*const c_char, *const c_char, u64, u64, u64) -> c_int;
type Keep = unsafe extern "C" fn(c_int);
type Last = unsafe extern "C" fn(*mut CK_MECHANISM_TYPE, *mut u8, usize) -> i64;

#[test]
fn a_vendor_mechanism_attribute_and_return_value_travel_through_the_facade() {
    register_names();
    let module = var("P11_FAULT_MODULE");
    // SAFETY: p11's own test module; loading it runs no initialiser with preconditions.
    let control = unsafe { libloading::Library::new(&module) }.unwrap();
    // SAFETY: the symbols have these types (tests/fault-module/src/lib.rs).
    let (set, keep, last) = unsafe {
        (
            *control.get::<Set>(b"p11fault_set\0").unwrap(),
            *control
                .get::<Keep>(b"p11fault_keep_vendor_attributes\0")
                .unwrap(),
            *control.get::<Last>(b"p11fault_last_mechanism\0").unwrap(),
        )
    };

    let token = Library::load(&module)
        .unwrap()
        .get_token(&TokenFilter::new().label(var("PKCS11_TOKEN_LABEL").as_str()))
        .unwrap();
    let session = token
        .open(
            &OpenOptions::new()
                .rw()
                .user_pin(var("PKCS11_TOKEN_PIN"))
                .attribute_mapper(Arc::new(AcmeAttributes)),
        )
        .unwrap();

    // The attribute: given in the template, kept by the module, read back as a number.
    // SAFETY: a plain setter of the fault module.
    unsafe { keep(1) };
    let options = ObjectOptions::new().template(Template::new().with(ACME_KEY_GENERATION, 7u64));
    let key = session.generate_key(KeyType::AES, 128, &options).unwrap();
    let generation: u64 = key.get(ACME_KEY_GENERATION).unwrap();
    assert_eq!(generation, 7);
    assert_eq!(ACME_KEY_GENERATION.to_string(), "CKA_ACME_KEY_GENERATION");

    // The mechanism and its struct: the module gets the vendor's type and the struct's
    // bytes; it answers with the vendor's return value, which p11 names.
    let function = CString::new("C_EncryptInit").unwrap();
    let fail = CString::new("fail").unwrap();
    // SAFETY: NUL-terminated strings that outlive the call.
    let rc = unsafe {
        set(
            function.as_ptr(),
            fail.as_ptr(),
            CKR_ACME_QUOTA_EXCEEDED as u64,
            0,
            1,
        )
    };
    assert_eq!(rc, 0);
    let mut nonce = [0xA5u8; 12];
    let mut params = CK_ACME_SEAL_PARAMS {
        ulRounds: 20,
        pNonce: nonce.as_mut_ptr(),
        ulNonceLen: nonce.len() as _,
    };
    let seal = Mechanism::with(ACME_SEAL, StructParameter::new(&mut params));
    let err = key.with_mechanism(&seal).encrypt(b"sealed").unwrap_err();
    assert_eq!(
        err.return_value(),
        Some(ReturnValue::from(CKR_ACME_QUOTA_EXCEEDED as u64))
    );
    assert!(
        err.to_string().contains("CKM_ACME_SEAL")
            && err.to_string().contains("CKR_ACME_QUOTA_EXCEEDED"),
        "{err}"
    );
    let mut ty: CK_MECHANISM_TYPE = 0;
    let mut bytes = [0u8; 64];
    // SAFETY: `ty` is writable and `bytes` holds 64 writable bytes.
    let len = unsafe { last(&mut ty, bytes.as_mut_ptr(), bytes.len()) };
    assert_eq!(ty, ACME_SEAL.raw() as CK_MECHANISM_TYPE);
    assert_eq!(len as usize, std::mem::size_of::<CK_ACME_SEAL_PARAMS>());
    let word = |i: usize| u64::from_ne_bytes(bytes[i * 8..i * 8 + 8].try_into().unwrap());
    assert_eq!(word(0), 20, "ulRounds");
    assert_eq!(word(1), nonce.as_ptr() as u64, "pNonce");
    assert_eq!(word(2), 12, "ulNonceLen");
    drop(seal);

    // The names parse back.
    assert_eq!("CKM_ACME_SEAL".parse(), Ok(ACME_SEAL));
    assert_eq!(
        "CKR_ACME_QUOTA_EXCEEDED".parse::<ReturnValue>().unwrap(),
        ReturnValue::from(CKR_ACME_QUOTA_EXCEEDED as u64)
    );
    key.destroy().unwrap();
}
