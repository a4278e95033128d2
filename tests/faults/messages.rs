//! Message-based signing and verification (PKCS#11 3.0), through the fault module's 3.0
//! interface — no module here signs messages itself. HMAC-SHA256 per message, whole
//! and in parts, checked against RustCrypto's HMAC; wrong MACs are `false`; a message
//! left in parts makes its operation refuse more, and dropping it cancels it.

use crate::control::{control, fixture_3_0};
use hmac::{Hmac, Mac};
use p11_core::mechanisms::NoMessageParameter;
use p11_core::{Error, KeyType, Mechanism, MechanismType as M, ReturnValue};
use sha2::Sha256;

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

const KEY: [u8; 32] = [0x6b; 32];

#[test]
fn messages_are_signed_and_verified_whole_and_in_parts() {
    let f = fixture_3_0();
    assert_eq!(
        f.module.interface_version(),
        p11_core::Version { major: 3, minor: 0 }
    );
    let key = p11_tests::import_secret(&f.session, KeyType::GENERIC_SECRET, &KEY);
    let mechanism = Mechanism::new(M::SHA256_HMAC);

    let mut signer = f.session.begin_message_sign(&mechanism, &key).unwrap();
    let none = &mut NoMessageParameter;
    assert_eq!(signer.sign(none, b"first").unwrap(), hmac(&KEY, b"first"));
    assert_eq!(signer.sign(none, b"second").unwrap(), hmac(&KEY, b"second"));
    let mut parts = signer.begin_message(none).unwrap();
    parts.update(b"in ").unwrap();
    parts.update(b"three ").unwrap();
    assert_eq!(
        parts.finish(b"parts").unwrap(),
        hmac(&KEY, b"in three parts")
    );
    // The operation goes on after a message in parts.
    assert_eq!(signer.sign(none, b"third").unwrap(), hmac(&KEY, b"third"));
    signer.finish().unwrap();
    assert_eq!(control().calls("C_MessageSignFinal"), 1);

    let mut verifier = f.session.begin_message_verify(&mechanism, &key).unwrap();
    let mac = hmac(&KEY, b"checked");
    assert!(verifier.verify(none, b"checked", &mac).unwrap());
    assert!(!verifier.verify(none, b"changed", &mac).unwrap());
    let mut parts = verifier.begin_message(none).unwrap();
    parts.update(b"check").unwrap();
    assert!(parts.finish(b"ed", &mac).unwrap());
    let mut parts = verifier.begin_message(none).unwrap();
    parts.update(b"change").unwrap();
    assert!(!parts.finish(b"d", &mac).unwrap());
    assert!(verifier.verify(none, b"checked", &mac).unwrap());
    verifier.finish().unwrap();
    f.finish(key);
}

#[test]
fn a_message_left_in_parts_stops_its_operation_and_dropping_it_cancels() {
    let f = fixture_3_0();
    let key = p11_tests::import_secret(&f.session, KeyType::GENERIC_SECRET, &KEY);
    let mechanism = Mechanism::new(M::SHA256_HMAC);
    let mut signer = f.session.begin_message_sign(&mechanism, &key).unwrap();
    let none = &mut NoMessageParameter;
    let mut parts = signer.begin_message(none).unwrap();
    parts.update(b"never ended").unwrap();
    drop(parts);
    let err = signer.sign(none, b"more").unwrap_err();
    assert!(matches!(err, Error::MessageUnfinished), "{err:?}");
    drop(signer);
    // Dropped, the operation was ended (no C_SessionCancel here: C_MessageSignFinal),
    // and the session takes a new one.
    assert_eq!(control().calls("C_MessageSignFinal"), 1);
    let mut signer = f.session.begin_message_sign(&mechanism, &key).unwrap();
    assert_eq!(signer.sign(none, b"again").unwrap(), hmac(&KEY, b"again"));
    signer.finish().unwrap();
    f.finish(key);
}

#[test]
fn a_failed_message_is_the_module_error_naming_the_function() {
    let f = fixture_3_0();
    let key = p11_tests::import_secret(&f.session, KeyType::GENERIC_SECRET, &KEY);
    let mechanism = Mechanism::new(M::SHA256_HMAC);
    let mut signer = f.session.begin_message_sign(&mechanism, &key).unwrap();
    control().set("C_SignMessage", "fail", CKR_DEVICE_ERROR, 0, 1);
    let err = signer.sign(&mut NoMessageParameter, b"x").unwrap_err();
    assert_eq!(err.return_value(), Some(ReturnValue::DeviceError), "{err}");
    assert!(err.to_string().contains("C_SignMessage"), "{err}");
    drop(signer);
    // Without the 3.0 interface the functions are missing, and p11 says so.
    f.finish(key);
    let f = crate::control::fixture();
    let key = p11_tests::import_secret(&f.session, KeyType::GENERIC_SECRET, &KEY);
    let err = f.session.begin_message_sign(&mechanism, &key).unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotSupported(p11_core::Function::MessageSignInit)
        ),
        "{err:?}"
    );
    f.finish(key);
}

const CKR_DEVICE_ERROR: u64 = 0x30;

/// The facade's message signer takes the key type's default (HMAC-SHA256 for a generic
/// secret), as its one-shot `sign` does.
#[test]
fn the_facade_signs_messages_with_the_key_types_default() {
    use p11::{ObjectOptions, OpenOptions, Sign, Verify};
    let f = fixture_3_0();
    let session = f
        .facade_token()
        .open(&OpenOptions::new().rw().user_pin(f.pin.as_str()))
        .unwrap();
    let key = session
        .generate_key(KeyType::GENERIC_SECRET, 256, &ObjectOptions::new())
        .unwrap();
    let mut signer = key.message_signer().unwrap();
    let none = &mut NoMessageParameter;
    let mac = signer.sign(none, b"one of many").unwrap();
    signer.finish().unwrap();
    assert_eq!(mac, key.sign(b"one of many").unwrap());
    let mut verifier = key.message_verifier().unwrap();
    assert!(verifier.verify(none, b"one of many", &mac).unwrap());
    assert!(!verifier.verify(none, b"one of few", &mac).unwrap());
    verifier.finish().unwrap();
    drop((key, session));
    f.finish(());
}
