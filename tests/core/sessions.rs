use p11_core::{
    Access, Error, ReturnValue, SessionFlags, SessionState, TokenFilter, TokenFlags, UserType,
};
use p11_tests::{exclusive, shared};

#[test]
fn sessions_open_read_only_or_read_write() {
    let f = shared();
    let ro = f.token.open(Access::ReadOnly).unwrap();
    let info = ro.info().unwrap();
    assert_eq!(info.slot_id, f.token.slot().id());
    assert!(!info.flags.contains(SessionFlags::RW_SESSION));
    assert_eq!(ro.access(), Access::ReadOnly);
    let rw = f.token.open(Access::ReadWrite).unwrap();
    assert!(rw.info().unwrap().flags.contains(SessionFlags::RW_SESSION));
    assert_ne!(ro.handle(), rw.handle());
}

#[test]
fn user_login_changes_the_session_state() {
    let f = shared();
    if !f.logs_in() {
        return;
    }
    let session = f.token.open(Access::ReadWrite).unwrap();
    session.login(UserType::USER, f.env.pin.as_str()).unwrap();
    assert_eq!(
        session.info().unwrap().state,
        SessionState::RW_USER_FUNCTIONS
    );
    // Logging in again while logged in (here or in another session) is not an error.
    session.login(UserType::USER, f.env.pin.as_bytes()).unwrap();
}

#[test]
fn a_wrong_pin_is_pin_incorrect() {
    let f = exclusive();
    if !f.logs_in() {
        return;
    }
    let session = f.token.open(Access::ReadOnly).unwrap();
    let err = session.login(UserType::USER, "not the pin").unwrap_err();
    assert_eq!(err.return_value(), Some(ReturnValue::PinIncorrect), "{err}");
    assert_eq!(
        err.to_string(),
        "C_Login failed: CKR_PIN_INCORRECT (wrong PIN)"
    );
    session.login(UserType::USER, f.env.pin.as_str()).unwrap();
    assert_eq!(
        session.info().unwrap().state,
        SessionState::RO_USER_FUNCTIONS
    );
}

#[test]
fn so_login_needs_a_read_write_session() {
    let f = exclusive();
    let Some(so_pin) = f.env.so_pin() else {
        return;
    };
    let session = f.token.open(Access::ReadWrite).unwrap();
    session.login(UserType::SO, so_pin).unwrap();
    assert_eq!(session.info().unwrap().state, SessionState::RW_SO_FUNCTIONS);
    // While the SO is logged in, the user cannot be.
    let err = session
        .login(UserType::USER, f.env.pin.as_str())
        .unwrap_err();
    assert_eq!(
        err.return_value(),
        Some(ReturnValue::UserAnotherAlreadyLoggedIn)
    );
}

#[test]
fn dropping_one_of_two_logged_in_sessions_keeps_the_other_logged_in() {
    let f = exclusive();
    if !f.logs_in() {
        return;
    }
    let first = f.token.open(Access::ReadOnly).unwrap();
    let second = f.token.open(Access::ReadOnly).unwrap();
    first.login(UserType::USER, f.env.pin.as_str()).unwrap();
    second.login(UserType::USER, f.env.pin.as_str()).unwrap();
    drop(first);
    assert_eq!(
        second.info().unwrap().state,
        SessionState::RO_USER_FUNCTIONS
    );
    drop(second);
    let third = f.token.open(Access::ReadOnly).unwrap();
    assert_eq!(third.info().unwrap().state, SessionState::RO_PUBLIC_SESSION);
}

#[test]
fn a_session_logged_in_before_a_logout_does_not_log_out_a_later_login_when_dropped() {
    let f = exclusive();
    if !f.logs_in() {
        return;
    }
    let before = f.token.open(Access::ReadOnly).unwrap();
    let logging_out = f.token.open(Access::ReadOnly).unwrap();
    before.login(UserType::USER, f.env.pin.as_str()).unwrap();
    logging_out.logout().unwrap();
    let after = f.token.open(Access::ReadOnly).unwrap();
    after.login(UserType::USER, f.env.pin.as_str()).unwrap();
    // `before` counted in the login `logout` ended: closing it is no last logout.
    drop(before);
    assert_eq!(after.info().unwrap().state, SessionState::RO_USER_FUNCTIONS);
    drop(logging_out);
    assert_eq!(after.info().unwrap().state, SessionState::RO_USER_FUNCTIONS);
    drop(after);
    let fresh = f.token.open(Access::ReadOnly).unwrap();
    assert_eq!(fresh.info().unwrap().state, SessionState::RO_PUBLIC_SESSION);
}

#[test]
fn logout_returns_to_public_state() {
    let f = exclusive();
    if !f.logs_in() {
        return;
    }
    let session = f.token.open(Access::ReadOnly).unwrap();
    let other = f.token.open(Access::ReadOnly).unwrap();
    session.login(UserType::USER, f.env.pin.as_str()).unwrap();
    assert_eq!(other.info().unwrap().state, SessionState::RO_USER_FUNCTIONS);
    session.logout().unwrap();
    // Login state is the token's: the other session is logged out too.
    assert_eq!(
        session.info().unwrap().state,
        SessionState::RO_PUBLIC_SESSION
    );
    assert_eq!(other.info().unwrap().state, SessionState::RO_PUBLIC_SESSION);
}

#[test]
fn sessions_close_when_dropped() {
    let f = exclusive();
    let session = f.token.open(Access::ReadOnly).unwrap();
    let handle = session.handle();
    let before = f.token.info().unwrap().session_count;
    drop(session);
    match (before, f.token.info().unwrap().session_count) {
        (Some(before), Some(after)) if before > 0 => assert_eq!(after, before - 1),
        // SoftHSM does not count sessions, kryoptic says 0 with one open: ask the
        // module about the dropped handle.
        _ => {
            let mut info = p11_core::sys::CK_SESSION_INFO::default();
            let get_info = f.module.raw_function_list().C_GetSessionInfo.unwrap();
            // SAFETY: `info` is writable; the handle is a plain number to the module.
            let rv = unsafe { get_info(handle.raw(), &mut info) };
            assert_eq!(ReturnValue::from(rv), ReturnValue::SessionHandleInvalid);
        }
    }
}

#[test]
fn close_all_sessions_closes_them_and_leaves_the_values_inert() {
    let f = exclusive();
    let a = f.token.open(Access::ReadOnly).unwrap();
    let b = f.token.open(Access::ReadWrite).unwrap();
    f.token.slot().close_all_sessions().unwrap();
    for s in [&a, &b] {
        assert!(matches!(s.info().unwrap_err(), Error::SessionClosed));
        assert!(s.is_closed());
    }
    let fresh = f.token.open(Access::ReadOnly).unwrap();
    drop((a, b));
    assert!(
        fresh.info().is_ok(),
        "dropping stale sessions closed a new one"
    );
}

#[test]
fn set_pin_changes_the_user_pin_and_back() {
    let f = exclusive();
    if !f.logs_in() {
        return;
    }
    let session = f.token.open(Access::ReadWrite).unwrap();
    session.login(UserType::USER, f.env.pin.as_str()).unwrap();
    session.set_pin(f.env.pin.as_str(), "987654").unwrap();
    session.logout().unwrap();
    let err = session
        .login(UserType::USER, f.env.pin.as_str())
        .unwrap_err();
    assert_eq!(err.return_value(), Some(ReturnValue::PinIncorrect));
    session.login(UserType::USER, "987654").unwrap();
    session.set_pin("987654", f.env.pin.as_str()).unwrap();
    session.logout().unwrap();
    session.login(UserType::USER, f.env.pin.as_str()).unwrap();
}

#[test]
fn init_pin_as_so_sets_the_user_pin() {
    let f = exclusive();
    let Some(so_pin) = f.env.so_pin() else {
        return;
    };
    let session = f.token.open(Access::ReadWrite).unwrap();
    session.login(UserType::SO, so_pin).unwrap();
    session.init_pin("55555555").unwrap();
    session.logout().unwrap();
    session.login(UserType::USER, "55555555").unwrap();
    session.logout().unwrap();
    session.login(UserType::SO, so_pin).unwrap();
    session.init_pin(f.env.pin.as_str()).unwrap();
    session.logout().unwrap();
    session.login(UserType::USER, f.env.pin.as_str()).unwrap();
}

#[test]
fn init_token_on_the_free_slot_makes_a_new_token() {
    let f = exclusive();
    let Some(so_pin) = f.env.so_pin() else {
        return;
    };
    let Some(free) = f.module.get_slots(true).unwrap().into_iter().find(|slot| {
        slot.token()
            .and_then(|t| t.info())
            .is_ok_and(|i| !i.flags.contains(TokenFlags::TOKEN_INITIALIZED))
    }) else {
        // SoftHSM always lists one; kryoptic's slots are the configured ones.
        println!("skipped: the module lists no slot with an uninitialised token");
        return;
    };
    let random = f
        .token
        .open(Access::ReadOnly)
        .unwrap()
        .generate_random(4)
        .unwrap();
    let label = format!(
        "fresh-{:02x}{:02x}{:02x}{:02x}",
        random[0], random[1], random[2], random[3]
    );
    let too_long = free.init_token(so_pin, &"x".repeat(33)).unwrap_err();
    assert!(
        matches!(
            too_long,
            p11_core::Error::TooLarge {
                value: 33,
                max: 32,
                ..
            }
        ),
        "{too_long}"
    );

    let token = free.init_token(so_pin, &label).unwrap();
    assert_eq!(token.label(), label);
    let info = token.info().unwrap();
    assert!(info.flags.contains(TokenFlags::TOKEN_INITIALIZED));
    assert!(!info.flags.contains(TokenFlags::USER_PIN_INITIALIZED));
    // SoftHSM moves the new token to a slot of its own: find it by its label.
    let found = f
        .module
        .get_token(&TokenFilter::new().label(&*label))
        .unwrap();
    let session = found.open(Access::ReadWrite).unwrap();
    session.login(UserType::SO, so_pin).unwrap();
    session.init_pin("4321").unwrap();
    session.logout().unwrap();
    session.login(UserType::USER, "4321").unwrap();
}

#[test]
fn a_pkcs11_3_function_on_a_2_40_module_is_not_supported() {
    let f = shared();
    if f.module.interface_version().major >= 3 {
        println!("skipped: the module offers PKCS#11 3.x, C_LoginUser exists");
        return;
    }
    let session = f.token.open(Access::ReadOnly).unwrap();
    let err = session
        .login_user(UserType::USER, f.env.pin.as_str(), "user")
        .unwrap_err();
    assert!(
        matches!(
            err,
            p11_core::Error::NotSupported(p11_core::Function::LoginUser)
        ),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "the module does not provide C_LoginUser");
}

/// PKCS#11 3.2's validation indicator: the flags the last operation met are flags of
/// the token's validation objects (none where it has none); without the 3.2 interface
/// p11 says the function is missing.
#[test]
fn the_last_operation_meets_only_validations_the_token_lists() {
    use p11_core::{AttributeType as A, Error, Mechanism, MechanismType as M, ObjectClass};
    let f = p11_tests::shared();
    let session = p11_tests::user_session(&f);
    if !p11_tests::offers(&session, &[M::SHA256]) {
        return;
    }
    session
        .digest(&Mechanism::new(M::SHA256), b"validated?")
        .unwrap();
    let v3_2 = p11_core::Version { major: 3, minor: 2 };
    if f.module.interface_version() < v3_2 {
        let err = session.last_validation_flags().unwrap_err();
        assert!(
            matches!(
                err,
                Error::NotSupported(p11_core::Function::GetSessionValidationFlags)
            ),
            "{err:?}"
        );
        return;
    }
    let flags = session.last_validation_flags().unwrap();
    let listed = session
        .get_objects(&p11_core::Template::new().with(A::CLASS, ObjectClass::VALIDATION))
        .unwrap()
        .iter()
        .map(|o| o.get::<u64>(A::VALIDATION_FLAG).unwrap())
        .fold(0, |all, flag| all | flag);
    assert_eq!(flags & !listed, 0, "{flags:#x} met, {listed:#x} listed");
}
