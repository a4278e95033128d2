use p11_core::{
    Error, MechanismFlags, MechanismType, ReturnValue, SlotFlags, TokenFilter, TokenFlags,
};
use p11_tests::shared;

#[test]
fn slots_include_the_test_token_and_any_free_one() {
    let f = shared();
    let all = f.module.get_slots(false).unwrap();
    let present = f.module.get_slots(true).unwrap();
    assert!(present.contains(f.token.slot()), "{present:?}");
    assert!(all.len() >= present.len());
    let info = f.token.slot().info().unwrap();
    assert!(info.flags.contains(SlotFlags::TOKEN_PRESENT));
    assert!(!info.slot_description.is_empty());
    // SoftHSM always lists one slot whose token is not initialised yet; other modules
    // list only their configured tokens.
    let uninitialised = all
        .iter()
        .filter(|slot| {
            slot.token()
                .and_then(|t| t.info())
                .is_ok_and(|info| !info.flags.contains(TokenFlags::TOKEN_INITIALIZED))
        })
        .count();
    if all.len() >= 2 {
        assert!(uninitialised < all.len(), "the test token is initialised");
    } else {
        println!("one slot only: no free one to find");
    }
}

#[test]
fn token_info_describes_the_test_token() {
    let f = shared();
    let info = f.token.info().unwrap();
    assert_eq!(info.label, f.env.label);
    assert_eq!(f.token.label(), f.env.label);
    assert_eq!(f.token.serial(), info.serial_number);
    assert!(!info.serial_number.is_empty());
    assert!(info.flags.contains(TokenFlags::TOKEN_INITIALIZED));
    // A token with logins has its user PIN set; p11-kit's trust token has neither.
    assert_eq!(
        info.flags.contains(TokenFlags::LOGIN_REQUIRED),
        info.flags.contains(TokenFlags::USER_PIN_INITIALIZED),
        "{info:?}"
    );
    // kryoptic says 0 for no maximum (and a minimum of 8 it does not hold to); NSS 0
    // for no minimum.
    assert!(
        info.max_pin_len == 0 || info.min_pin_len <= info.max_pin_len,
        "{info:?}"
    );
}

#[test]
fn get_token_finds_the_token_by_label_serial_flags_and_mechanisms() {
    let f = shared();
    let by_label = f
        .module
        .get_token(&TokenFilter::new().label(&*f.env.label))
        .unwrap();
    assert_eq!(by_label.slot(), f.token.slot());
    // A serial names one token where the module's serials differ (NSS gives both its
    // tokens the same one): then exactly that one, else every token bearing it.
    let serial = TokenFilter::new().serial(f.token.serial());
    let bearing = f.module.get_tokens(&serial).unwrap();
    assert!(bearing.iter().any(|t| t.slot() == f.token.slot()));
    assert!(bearing.iter().all(|t| t.serial() == f.token.serial()));
    match f.module.get_token(&serial) {
        Ok(by_serial) => assert_eq!(by_serial.slot(), f.token.slot()),
        Err(Error::MultipleTokens { count, .. }) => assert_eq!(count, bearing.len()),
        Err(e) => panic!("{e}"),
    }
    let by_flags_and_mechanisms = f
        .module
        .get_tokens(
            &TokenFilter::new()
                .token_flags(
                    f.token.info().unwrap().flags
                        & (TokenFlags::TOKEN_INITIALIZED | TokenFlags::USER_PIN_INITIALIZED),
                )
                .slot_flags(SlotFlags::TOKEN_PRESENT)
                // The first three the token lists.
                .mechanisms(f.token.slot().mechanisms().unwrap().into_iter().take(3)),
        )
        .unwrap();
    assert!(
        by_flags_and_mechanisms
            .iter()
            .any(|t| t.slot() == f.token.slot()),
        "{by_flags_and_mechanisms:?}"
    );
    assert!(by_flags_and_mechanisms.iter().all(|t| t
        .info()
        .unwrap()
        .flags
        .contains(TokenFlags::TOKEN_INITIALIZED)));
}

#[test]
fn a_required_mechanism_the_token_lacks_excludes_it() {
    let f = shared();
    let offered = f.token.slot().mechanisms().unwrap();
    // One the token does not list: SoftHSM has no SHA-3, kryoptic no DES3.
    let Some(lacking) = [
        MechanismType::SHA3_256,
        MechanismType::DES3_KEY_GEN,
        MechanismType::ML_DSA,
        MechanismType::new(0x8000_7e57),
    ]
    .into_iter()
    .find(|m| !offered.contains(m)) else {
        println!("skipped: the token lists every candidate");
        return;
    };
    let filter = TokenFilter::new()
        .label(&*f.env.label)
        .mechanisms([MechanismType::AES_KEY_GEN, lacking]);
    match f.module.get_token(&filter) {
        Err(Error::NoSuchToken { filter, available }) => {
            assert!(filter.contains(&lacking.to_string()), "{filter}");
            // The error lists the tokens that are there.
            assert!(available.contains(&f.env.label), "{available:?}");
        }
        other => panic!("expected NoSuchToken, got {other:?}"),
    }
}

#[test]
fn get_token_reports_no_token_and_several_tokens() {
    let f = shared();
    let none = f
        .module
        .get_token(&TokenFilter::new().label("no such token here"));
    assert!(matches!(none, Err(Error::NoSuchToken { .. })), "{none:?}");
    // The test token and SoftHSM's free slot both hold a token.
    let tokens = f.module.get_slots(true).unwrap().len();
    match f.module.get_token(&TokenFilter::new()) {
        Err(Error::MultipleTokens { count, .. }) => assert_eq!(count, tokens),
        Ok(only) if tokens == 1 => {
            assert_eq!(only.slot(), f.token.slot());
            println!("one token only: no ambiguity to report");
        }
        other => panic!("expected MultipleTokens, got {other:?}"),
    }
}

#[test]
fn mechanism_info_gives_key_sizes_and_flags_for_key_generation() {
    let f = shared();
    let slot = f.token.slot();
    let mechanisms = slot.mechanisms().unwrap();
    for m in [
        MechanismType::AES_KEY_GEN,
        MechanismType::RSA_PKCS_KEY_PAIR_GEN,
    ] {
        if !mechanisms.contains(&m) {
            println!("skipped: the token does not list {m}");
            return;
        }
    }
    let aes = slot.mechanism_info(MechanismType::AES_KEY_GEN).unwrap();
    assert!(aes.flags.contains(MechanismFlags::GENERATE));
    assert!(
        aes.min_key_size <= 16 && aes.max_key_size >= 32,
        "AES sizes in bytes: {aes:?}"
    );
    let rsa = slot
        .mechanism_info(MechanismType::RSA_PKCS_KEY_PAIR_GEN)
        .unwrap();
    assert!(rsa.flags.contains(MechanismFlags::GENERATE_KEY_PAIR));
    assert!(
        rsa.min_key_size <= 2048 && rsa.max_key_size >= 2048,
        "RSA sizes in bits: {rsa:?}"
    );
    if !mechanisms.contains(&MechanismType::EC_KEY_PAIR_GEN) {
        println!("skipped the EC sizes: the token does not list CKM_EC_KEY_PAIR_GEN");
        return;
    }
    let ec = slot.mechanism_info(MechanismType::EC_KEY_PAIR_GEN).unwrap();
    assert!(ec.flags.contains(MechanismFlags::GENERATE_KEY_PAIR));
    assert!(
        ec.min_key_size <= 256 && ec.max_key_size >= 521,
        "EC sizes in bits: {ec:?}"
    );
    assert!(!ec.flags.contains(MechanismFlags::ENCRYPT));
}

#[test]
fn mechanism_info_for_an_unsupported_mechanism_is_mechanism_invalid() {
    let f = shared();
    let err = f
        .token
        .slot()
        .mechanism_info(MechanismType::new(0x8000_7777))
        .unwrap_err();
    assert_eq!(
        err.return_value(),
        Some(ReturnValue::MechanismInvalid),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "C_GetMechanismInfo failed: CKR_MECHANISM_INVALID \
         (the token does not offer this mechanism)"
    );
}

#[test]
fn a_non_blocking_wait_for_slot_events_returns_at_once() {
    let f = shared();
    // SoftHSM does not implement C_WaitForSlotEvent; a module that does may have an
    // event pending (OpenSC reports the card's insertion once) or none. Either way the
    // call returns at once: with the slot of a pending event, NoEvent, or not supported.
    let started = std::time::Instant::now();
    match f.module.wait_for_slot_event(false) {
        Ok(slot) => assert!(
            f.module.get_slots(false).unwrap().contains(&slot),
            "{slot:?} is none of the module's slots"
        ),
        Err(Error::NoEvent) => {}
        Err(e) if e.is_not_supported() => println!("the module lacks slot events: {e}"),
        Err(e) => panic!("expected an event, NoEvent or not supported, got {e}"),
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}
