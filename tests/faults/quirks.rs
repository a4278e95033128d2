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
