//! Module quirks the facade handles, reproduced by the fault module.

use crate::control::{control, fixture, FOREVER};
use p11::{KeyType, ObjectOptions, OpenOptions, Sign, Verify};
use p11_core::sys::CKR_MECHANISM_INVALID;

/// NSS lists `AES_CMAC` and signs with it but refuses `C_VerifyInit`: the facade checks
/// such a MAC by computing it, and still tells a wrong one.
#[test]
fn a_mac_the_token_will_not_check_is_checked_by_computing_it() {
    let f = fixture();
    let token = f.facade_token();
    let session = token
        .open(&OpenOptions::new().rw().user_pin(f.pin.as_str()))
        .unwrap();
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
/// SoftHSM, under the fault module, leaves `DERIVE` false when not told, but grants
/// `ENCRYPT` to a public key.
#[test]
fn a_pair_refused_for_its_false_capabilities_is_made_without_them_and_checked() {
    use p11::{AttributeType as A, Capabilities, Key};
    use p11_core::sys::CKR_GENERAL_ERROR;
    let f = fixture();
    let token = f.facade_token();
    let session = token
        .open(&OpenOptions::new().rw().user_pin(f.pin.as_str()))
        .unwrap();
    let objects = || {
        f.session
            .find_objects(&p11_core::Template::new())
            .unwrap()
            .count()
    };

    // Denied only what the module does not grant unasked: made again, and it stands.
    let all_but_derive = Capabilities::ENCRYPT
        | Capabilities::DECRYPT
        | Capabilities::SIGN
        | Capabilities::VERIFY
        | Capabilities::WRAP
        | Capabilities::UNWRAP;
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
    let before = objects();
    control().set("C_GenerateKeyPair", "fail", CKR_GENERAL_ERROR, 0, 1);
    let sign_only = ObjectOptions::new().capabilities(Capabilities::SIGN | Capabilities::VERIFY);
    let err = session
        .generate_keypair(KeyType::EC, 256, &sign_only)
        .unwrap_err();
    assert!(
        err.to_string().contains("CKA_ENCRYPT") && err.to_string().contains("destroyed"),
        "{err}"
    );
    assert_eq!(objects(), before);
    control().clear();
    drop((private, session));
    f.finish(());
}
