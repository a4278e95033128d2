//! Module quirks the facade handles, reproduced by the fault module.

use crate::control::{control, fixture, FOREVER};
use p11::{KeyType, ObjectOptions, Sign, Verify};
use p11_core::sys::CKR_MECHANISM_INVALID;

/// NSS lists `AES_CMAC` and signs with it but refuses `C_VerifyInit`: the facade checks
/// such a MAC by computing it, and still tells a wrong one.
#[test]
fn a_mac_the_token_will_not_check_is_checked_by_computing_it() {
    let f = fixture();
    let session = f.facade_session();
    for (key_type, bits) in [(KeyType::AES, 256), (KeyType::GENERIC_SECRET, 256)] {
        let key = session
            .generate_key(key_type, bits, &ObjectOptions::new())
            .unwrap();
        let mac = key.sign(b"authentic").unwrap();
        control().clear();
        control().set("C_VerifyInit", "fail", CKR_MECHANISM_INVALID, 0, FOREVER);
        assert!(key.verify(b"authentic", &mac).unwrap(), "{key_type}");
        assert!(!key.verify(b"forged", &mac).unwrap(), "{key_type}");
        assert!(!key.verify(b"authentic", &mac[1..]).unwrap(), "{key_type}");
        assert_eq!(
            control().calls("C_Sign"),
            3,
            "{key_type}: computed each time"
        );
        control().clear();
    }
    drop(session);
    f.finish(());
}

/// tpm2-pkcs11 refuses a capability set to false that its key cannot carry
/// (`CKR_GENERAL_ERROR`): the facade makes the pair again without those, then holds the
/// module to them — a capability it granted anyway destroys the pair and is an error.
/// SoftHSM, under the fault module that says it is tpm2-pkcs11, leaves `DERIVE` false
/// when not told, but grants `ENCRYPT` to a public key.
#[test]
fn a_pair_refused_for_its_false_capabilities_is_made_without_them_and_checked() {
    use p11::{AttributeType as A, Capabilities, Key};
    use p11_core::sys::CKR_GENERAL_ERROR;
    let f = fixture();
    let session = f.facade_session();

    // Denied only what the module does not grant unasked: made again, and it stands.
    let all_but_derive = Capabilities::ENCRYPT
        | Capabilities::DECRYPT
        | Capabilities::SIGN
        | Capabilities::VERIFY
        | Capabilities::WRAP
        | Capabilities::UNWRAP;
    control().set("C_GetInfo", "as_tpm2", 0, 0, FOREVER);
    control().set("C_GenerateKeyPair", "fail", CKR_GENERAL_ERROR, 0, 1);
    let (_, private) = session
        .generate_keypair(
            KeyType::EC,
            256,
            &ObjectOptions::new().capabilities(all_but_derive),
        )
        .unwrap();
    assert_eq!(control().calls("C_GenerateKeyPair"), 2, "made once more");
    assert!(!private.get::<bool>(A::DERIVE).unwrap());
    assert!(private.sign(b"made again").is_ok());
    control().clear();

    // Denied what the module grants unasked: nothing is left behind.
    let before = f.object_count();
    control().set("C_GetInfo", "as_tpm2", 0, 0, FOREVER);
    control().set("C_GenerateKeyPair", "fail", CKR_GENERAL_ERROR, 0, 1);
    let sign_only = ObjectOptions::new().capabilities(Capabilities::SIGN | Capabilities::VERIFY);
    let err = session
        .generate_keypair(KeyType::EC, 256, &sign_only)
        .unwrap_err();
    assert!(
        err.to_string().contains("CKA_ENCRYPT") && err.to_string().contains("destroyed"),
        "{err}"
    );
    assert_eq!(f.object_count(), before);
    control().clear();
    drop((private, session));
    f.finish(());
}

/// Elsewhere a refusal is the module's word, not a verdict on the template: a transient
/// `CKR_GENERAL_ERROR` is returned as it is — no second pair made, no accusation.
#[test]
fn a_transient_refusal_of_a_pair_is_the_modules_error_not_a_second_try() {
    use p11::{Capabilities, Error, ReturnValue};
    use p11_core::sys::CKR_GENERAL_ERROR;
    let f = fixture();
    let session = f.facade_session();
    control().set("C_GenerateKeyPair", "fail", CKR_GENERAL_ERROR, 0, 1);
    let sign_only = ObjectOptions::new().capabilities(Capabilities::SIGN | Capabilities::VERIFY);
    let err = session
        .generate_keypair(KeyType::EC, 256, &sign_only)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Module {
                rv: ReturnValue::GeneralError,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(control().calls("C_GenerateKeyPair"), 1, "tried once");
    // The next try, the fault gone, makes the pair asked for.
    assert!(session
        .generate_keypair(KeyType::EC, 256, &sign_only)
        .is_ok());
    drop(session);
    f.finish(());
}

/// OpenSC's OpenPGP card makes a token object when a session object is asked: the facade
/// reads back what matters the first time a session asks for it, and refuses (and
/// destroys) a key made otherwise, rather than let a persistent key pass for an
/// ephemeral one; a token that honours it is trusted after the first key.
#[test]
fn a_key_made_otherwise_than_asked_is_refused_and_destroyed() {
    use p11::{AttributeType as A, Template};
    let f = fixture();
    let open = || f.facade_session();
    let label = format!("forced-{}", std::process::id());
    let options = ObjectOptions::new().label(label.as_str());
    let on_token = || {
        f.session
            .find_objects(
                &Template::new()
                    .with(A::LABEL, label.as_str())
                    .with(A::TOKEN, true),
            )
            .unwrap()
            .count()
    };

    let session = open();
    control().set("C_GenerateKey", "force_token", 0, 0, 1);
    let err = session
        .generate_key(KeyType::AES, 128, &options)
        .unwrap_err();
    assert!(
        err.to_string().contains("CKA_TOKEN") && err.to_string().contains("destroyed"),
        "{err}"
    );
    assert_eq!(on_token(), 0, "the token object was destroyed");

    // Honoured once, trusted after: no read for the next key.
    let reads = control().calls("C_GetAttributeValue");
    session.generate_key(KeyType::AES, 128, &options).unwrap();
    let checked = control().calls("C_GetAttributeValue");
    assert!(checked > reads, "the first key asked so is read back");
    session.generate_key(KeyType::AES, 128, &options).unwrap();
    assert_eq!(control().calls("C_GetAttributeValue"), checked);
    control().clear();
    drop(session);
    f.finish(());
}

/// Cards differ on the peer's ECDH point (raw only, DER only): refused one way, the
/// facade gives it the other once. The fault module refuses the first call; the second
/// carries the point DER-wrapped (67 bytes for P-256, where 65 were given), and both
/// parties still reach the same secret.
#[test]
fn an_ecdh_point_refused_one_way_is_given_the_other() {
    use p11::mechanisms::Ecdh1DeriveParams;
    use p11::{AttributeType as A, Derive, Key, Template};
    use p11_core::sys::CKR_MECHANISM_PARAM_INVALID;
    let f = fixture();
    let session = f.facade_session();
    let pair = || {
        session
            .generate_keypair(KeyType::EC, 256, &ObjectOptions::new())
            .unwrap()
    };
    let raw_point = |public: &p11::PublicKey| {
        p11::asn1::ec::decode_ec_point(&public.get::<Vec<u8>>(A::EC_POINT).unwrap()).unwrap()
    };
    let ((alice_public, alice), (bob_public, bob)) = (pair(), pair());
    let readable = ObjectOptions::new().template(
        Template::new()
            .with(A::SENSITIVE, false)
            .with(A::EXTRACTABLE, true),
    );
    let secret = |key: &p11::SecretKey| key.get::<Vec<u8>>(A::VALUE).unwrap();

    let bob_point = raw_point(&bob_public);
    assert_eq!(bob_point.len(), 65);
    control().set("C_DeriveKey", "fail", CKR_MECHANISM_PARAM_INVALID, 0, 1);
    let at_alice = alice
        .with_param(Ecdh1DeriveParams::new(&bob_point))
        .derive_key(KeyType::GENERIC_SECRET, 256, &readable)
        .unwrap();
    assert_eq!(control().calls("C_DeriveKey"), 2, "tried again");
    let (_, params) = control().last_mechanism();
    let public_len = u64::from_ne_bytes(params[24..32].try_into().unwrap());
    assert_eq!(public_len, 67, "the point DER-wrapped");
    control().clear();

    let at_bob = bob
        .with_param(Ecdh1DeriveParams::new(&raw_point(&alice_public)))
        .derive_key(KeyType::GENERIC_SECRET, 256, &readable)
        .unwrap();
    assert_eq!(secret(&at_alice), secret(&at_bob));

    // Another refusal is no encoding's: passed on, no second call.
    control().clear();
    control().set(
        "C_DeriveKey",
        "fail",
        p11_core::sys::CKR_KEY_HANDLE_INVALID,
        0,
        1,
    );
    assert!(alice
        .with_param(Ecdh1DeriveParams::new(&bob_point))
        .derive_key(KeyType::GENERIC_SECRET, 256, &readable)
        .is_err());
    assert_eq!(control().calls("C_DeriveKey"), 1);
    control().clear();
    f.finish((
        alice_public,
        alice,
        bob_public,
        bob,
        at_alice,
        at_bob,
        session,
    ));
}

/// NSS answers a wrong HMAC with `CKR_DEVICE_ERROR` from `C_Verify`: the facade computes
/// the MAC again and compares, so a wrong MAC is false and a right one true — and a
/// device that really failed fails the computation too, which is the error given.
#[test]
fn a_mac_answered_with_a_device_error_is_checked_by_computing_it() {
    use p11_core::sys::CKR_DEVICE_ERROR;
    let f = fixture();
    let session = f.facade_session();
    let key = session
        .generate_key(KeyType::GENERIC_SECRET, 256, &ObjectOptions::new())
        .unwrap();
    let mac = key.sign(b"authentic").unwrap();
    control().clear();
    control().set("C_Verify", "fail_after", CKR_DEVICE_ERROR, 0, FOREVER);
    assert!(key.verify(b"authentic", &mac).unwrap());
    assert!(!key.verify(b"forged", &mac).unwrap());
    control().set("C_Sign", "fail", CKR_DEVICE_ERROR, 0, FOREVER);
    let err = key.verify(b"authentic", &mac).unwrap_err();
    assert_eq!(
        err.return_value(),
        Some(p11_core::ReturnValue::DeviceError),
        "{err}"
    );
    control().clear();
    drop((key, session));
    f.finish(());
}

/// OpenSC's OpenPGP card reports its keys not sensitive, though no part of their secret
/// ever reads: the facade holds a private key to that, not to the flag. A key whose
/// secret does read is refused, and both halves destroyed — the error says so of each.
#[test]
fn a_private_key_is_held_to_its_secret_staying_in_not_to_its_flag() {
    use p11::{AttributeType as A, Key};
    let f = fixture();
    let session = f.facade_session();
    control().set("C_GetAttributeValue", "says_not_sensitive", 0, 0, FOREVER);
    let (public, private) = session
        .generate_keypair(KeyType::EC, 256, &ObjectOptions::new())
        .unwrap();
    assert!(
        !private.get::<bool>(A::SENSITIVE).unwrap(),
        "reported false"
    );
    control().clear();
    let signature = private.sign(b"kept in").unwrap();
    assert!(public.verify(b"kept in", &signature).unwrap());

    // Extractable (to be wrapped) and, against what was asked, not sensitive: its value
    // reads in the clear.
    let before = f.object_count();
    control().set("C_GenerateKeyPair", "not_sensitive", 0, 0, 1);
    let wrappable =
        ObjectOptions::new().private_template(p11::Template::new().with(A::EXTRACTABLE, true));
    let err = session
        .generate_keypair(KeyType::EC, 256, &wrappable)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "CKA_SENSITIVE is false where true was asked, and its secret reads in the clear"
        ) && err.contains("it was destroyed")
            && err.contains("its public key was destroyed"),
        "{err}"
    );
    assert_eq!(f.object_count(), before, "neither half left behind");
    control().clear();
    drop((public, private, session));
    f.finish(());
}
