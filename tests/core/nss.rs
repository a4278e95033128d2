//! NSS's softoken: a module that will not initialise without a `pReserved` string.

use p11_core::{
    Access, InitArgs, Module, ReturnValue, Session, SessionState, TokenFilter, UserType,
};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// NSS loaded with and without arguments must not overlap: a loaded module refuses a
/// second load with other arguments.
static NSS: Mutex<()> = Mutex::new(());

struct Nss {
    _serial: MutexGuard<'static, ()>,
    module: String,
    init_args: String,
    pin: String,
}

fn nss() -> Nss {
    let var = |name: &str| {
        std::env::var(name)
            .unwrap_or_else(|_| panic!("{name} is not set: run the tests with `cargo xtask test`"))
    };
    Nss {
        _serial: NSS.lock().unwrap_or_else(PoisonError::into_inner),
        module: var("PKCS11_NSS_MODULE"),
        init_args: var("PKCS11_NSS_INIT_ARGS"),
        pin: var("PKCS11_NSS_PIN"),
    }
}

#[test]
fn nss_needs_its_reserved_string_then_lists_slots_and_logs_in() {
    let nss = nss();
    let bare = Module::load(&nss.module).unwrap_err();
    assert_eq!(
        bare.return_value(),
        Some(ReturnValue::ArgumentsBad),
        "{bare}"
    );

    let args = InitArgs::new().reserved(&nss.init_args).unwrap();
    let module = Module::load_with(&nss.module, args).unwrap();
    assert!(module.info().unwrap().manufacturer_id.contains("Mozilla"));
    // NSS exports C_GetInterface: p11 uses its PKCS#11 3.0 function list; it lists
    // that interface, and its own vendor ones beside it.
    assert_eq!(module.interface_version().major, 3);
    let interfaces = module.interfaces().unwrap();
    assert!(
        interfaces
            .iter()
            .any(|i| i.name == "PKCS 11" && i.version == Some(module.interface_version())),
        "{interfaces:?}"
    );
    assert!(
        interfaces
            .iter()
            .any(|i| i.name != "PKCS 11" && i.version.is_none()),
        "NSS's vendor interfaces: {interfaces:?}"
    );
    let slots = module.get_slots(true).unwrap();
    assert_eq!(
        slots.len(),
        2,
        "NSS's crypto services and its key database: {slots:?}"
    );

    // `dbTokenDescription='TEST'` labels the key database's token.
    let token = module.get_token(&TokenFilter::new().label("TEST")).unwrap();
    let session = token.open(Access::ReadOnly).unwrap();
    let err = session.login(UserType::USER, "wrong").unwrap_err();
    assert_eq!(err.return_value(), Some(ReturnValue::PinIncorrect));
    session.login(UserType::USER, nss.pin.as_str()).unwrap();
    assert_eq!(
        session.info().unwrap().state,
        SessionState::RO_USER_FUNCTIONS
    );
    assert_eq!(session.generate_random(16).unwrap().len(), 16);
}

#[test]
fn nss_and_softhsm_are_loaded_side_by_side() {
    let nss = nss();
    let softhsm = p11_tests::shared();
    let args = InitArgs::new().reserved(&nss.init_args).unwrap();
    let module = Module::load_with(&nss.module, args).unwrap();
    assert_ne!(module, softhsm.module);
    assert_ne!(
        module.info().unwrap().manufacturer_id,
        softhsm.module.info().unwrap().manufacturer_id
    );
    let nss_session = module.get_slots(true).unwrap()[0]
        .token()
        .unwrap()
        .open(Access::ReadOnly)
        .unwrap();
    let hsm_session = softhsm.token.open(Access::ReadOnly).unwrap();
    assert_eq!(nss_session.generate_random(8).unwrap().len(), 8);
    assert_eq!(hsm_session.generate_random(8).unwrap().len(), 8);
}

/// A read/write session on NSS's key database token, logged in (with the NSS guard,
/// which keeps other NSS loads out meanwhile).
fn user_session() -> (Nss, Session) {
    let nss = nss();
    let args = InitArgs::new().reserved(&nss.init_args).unwrap();
    let module = Module::load_with(&nss.module, args).unwrap();
    let token = module.get_token(&TokenFilter::new().label("TEST")).unwrap();
    let session = token.open(Access::ReadWrite).unwrap();
    session.login(UserType::USER, nss.pin.as_str()).unwrap();
    (nss, session)
}

#[test]
fn nss_offers_recovery_and_dual_function_operations() {
    let (_nss, session) = user_session();
    let tested = crate::dual::recover_and_dual(&session, "NSS");
    assert!(
        tested.contains(&"sign/verify recover"),
        "NSS signs with recovery: {tested:?}"
    );
}

#[test]
fn nss_decrypts_cbc_pad_streams_in_chunks_of_any_length() {
    let (_nss, session) = user_session();
    crate::streams::any_chunking_works(&session);
}
