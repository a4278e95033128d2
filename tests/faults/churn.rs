//! Objects that change or vanish between a search and the reads that follow it: under
//! session churn (other threads opening sessions, making session objects, dropping
//! them) a search answers what the module says, and nothing p11 made up.

use crate::control::{control, fixture, FOREVER};
use p11::{KeyQuery, KeyType, ObjectOptions, OpenOptions, SecretKey, Template};
use p11_core::sys::*;
use p11_core::{AttributeType as A, Error, ObjectClass, ReturnValue};
use p11_tests::import_secret;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A read of several attributes that marks them all unavailable, then gives each when
/// asked alone (the object changed under the first read): the values, not an error the
/// module never returned.
#[test]
fn an_attribute_given_when_asked_alone_is_its_value_not_a_made_up_error() {
    let f = fixture();
    let key = import_secret(&f.session, KeyType::AES, &[3u8; 16]);
    key.set_attributes(&p11_core::Template::new().with(A::LABEL, "changing"))
        .unwrap();
    control().set(
        "C_GetAttributeValue",
        "unavailable",
        CKR_ATTRIBUTE_TYPE_INVALID,
        0,
        1,
    );
    let values = key.get_attributes(&[A::CLASS, A::LABEL]).unwrap();
    assert_eq!(
        values[0].as_ref().unwrap(),
        &p11_core::AttributeValue::ObjectClass(ObjectClass::SECRET_KEY)
    );
    assert_eq!(values[1].as_ref().unwrap().as_text(), Some("changing"));

    // CKR_OK with the value marked unavailable, once: asked again, the value; for ever:
    // p11 says the module's answer is invalid, and invents no return value for it.
    control().set("C_GetAttributeValue", "unavailable", CKR_OK, 0, 1);
    assert_eq!(
        key.get_attribute(A::LABEL).unwrap().as_text(),
        Some("changing")
    );
    control().set("C_GetAttributeValue", "unavailable", CKR_OK, 0, FOREVER);
    let err = key.get_attribute(A::LABEL).unwrap_err();
    assert!(
        matches!(err, Error::InvalidResponse { .. }) && err.return_value().is_none(),
        "{err:?}"
    );
    control().clear();
    f.finish(key);
}

/// A found object whose read says its handle is gone (`CKR_OBJECT_HANDLE_INVALID`, at
/// once or when asked again after SoftHSM's `CKR_GENERAL_ERROR`) is not found; an object
/// still there keeps its error.
#[test]
fn an_object_gone_between_the_search_and_its_read_is_not_found() {
    let f = fixture();
    let session = f.facade_session();
    let label = format!("vanishing-{}", std::process::id());
    let options = ObjectOptions::new().label(label.as_str());
    let keys: Vec<SecretKey> = (0..2)
        .map(|_| session.generate_key(KeyType::AES, 128, &options).unwrap())
        .collect();
    let query = KeyQuery::new().label(label.as_str());
    let template = Template::new().with(A::LABEL, label.as_str());

    control().set(
        "C_GetAttributeValue",
        "fail",
        CKR_OBJECT_HANDLE_INVALID,
        0,
        1,
    );
    assert_eq!(session.get_objects(&template).unwrap().len(), 1);
    control().set(
        "C_GetAttributeValue",
        "fail",
        CKR_OBJECT_HANDLE_INVALID,
        0,
        1,
    );
    let found: Vec<_> = session.get_keys::<SecretKey>(&query).unwrap().collect();
    assert_eq!(found.len(), 1);
    assert!(found[0].is_ok());

    // SoftHSM's answer to a read racing the destruction, then the handle's end.
    control().set("C_GetAttributeValue", "fail", CKR_GENERAL_ERROR, 0, 1);
    control().set(
        "C_GetAttributeValue",
        "fail",
        CKR_OBJECT_HANDLE_INVALID,
        0,
        1,
    );
    assert_eq!(session.get_objects(&template).unwrap().len(), 1);

    // Still there: asked again, it is found; failing every time, the first error stands.
    control().set("C_GetAttributeValue", "fail", CKR_GENERAL_ERROR, 0, 1);
    assert_eq!(session.get_objects(&template).unwrap().len(), 2);
    control().set("C_GetAttributeValue", "fail", CKR_GENERAL_ERROR, 0, 1);
    control().set(
        "C_GetAttributeValue",
        "fail",
        CKR_ATTRIBUTE_VALUE_INVALID,
        0,
        FOREVER,
    );
    let err = session.get_objects(&template).unwrap_err();
    assert_eq!(err.return_value(), Some(ReturnValue::GeneralError), "{err}");
    control().clear();

    // The one key found, gone: none matches.
    let one = KeyQuery::new()
        .label(label.as_str())
        .id(b"none of the others");
    let only = session
        .generate_key(
            KeyType::AES,
            128,
            &options.clone().id(b"none of the others".as_slice()),
        )
        .unwrap();
    control().set(
        "C_GetAttributeValue",
        "fail",
        CKR_OBJECT_HANDLE_INVALID,
        0,
        1,
    );
    let err = session.get_key::<SecretKey>(&one).unwrap_err();
    assert!(matches!(err, Error::NoSuchKey(_)), "{err:?}");
    control().clear();
    drop((keys, found, only, session));
    f.finish(());
}

/// Threads open sessions, make session objects and close them, while this one searches:
/// every search succeeds, and finds at least the objects that stay.
#[test]
fn searches_hold_while_other_sessions_come_and_go() {
    let f = fixture();
    let token = f.facade_token();
    let session = f.facade_session();
    let label = format!("staying-{}", std::process::id());
    let staying: Vec<SecretKey> = (0..3)
        .map(|_| {
            session
                .generate_key(
                    KeyType::AES,
                    128,
                    &ObjectOptions::new().label(label.as_str()),
                )
                .unwrap()
        })
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let churners: Vec<_> = (0..2)
        .map(|_| {
            let (token, stop, pin) = (token.clone(), stop.clone(), f.pin.clone());
            std::thread::spawn(move || {
                let mut rounds = 0;
                while !stop.load(Ordering::Relaxed) {
                    let session = token
                        .open(&OpenOptions::new().rw().user_pin(pin.as_str()))
                        .unwrap();
                    for _ in 0..4 {
                        session
                            .generate_key(KeyType::AES, 128, &ObjectOptions::new())
                            .unwrap();
                    }
                    drop(session); // its session objects go with it
                    rounds += 1;
                }
                rounds
            })
        })
        .collect();
    let classes = Template::new().with(A::CLASS, ObjectClass::SECRET_KEY);
    let query = KeyQuery::new().label(label.as_str());
    for _ in 0..150 {
        let all = session.get_objects(&classes).unwrap();
        assert!(all.len() >= staying.len());
        let mine: Vec<SecretKey> = session
            .get_keys::<SecretKey>(&query)
            .unwrap()
            .collect::<p11::Result<_>>()
            .unwrap();
        assert_eq!(mine.len(), staying.len());
    }
    stop.store(true, Ordering::Relaxed);
    let rounds: usize = churners.into_iter().map(|t| t.join().unwrap()).sum();
    assert!(rounds > 0, "the other sessions came and went meanwhile");
    drop((staying, session));
    f.finish(());
}
