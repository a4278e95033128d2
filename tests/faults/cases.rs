//! One case per kind of misbehaviour.

use crate::control::{control, fixture, Fixture, FOREVER};
use p11_core::mechanisms::MechanismType as M;
use p11_core::sys::*;
use p11_core::{AttributeType as A, Error, KeyType, Mechanism, ObjectClass, ReturnValue, Template};
use p11_tests::{ec_pair, import_secret, vectors};

fn aes(session: &p11_core::Session) -> p11_core::Object {
    import_secret(session, KeyType::AES, &[7u8; 32])
}

fn cbc_pad() -> Mechanism<'static> {
    Mechanism::with_iv(M::AES_CBC_PAD, &[1u8; 16]).unwrap()
}

fn invalid_response(err: &Error, function: &str) -> bool {
    matches!(err, Error::InvalidResponse { function: f, .. } if f.name() == function)
}

#[test]
fn lies_about_output_lengths_are_errors_and_the_session_stays_usable() {
    let f = fixture();
    let key = aes(&f.session);
    let expected = f
        .session
        .encrypt(&cbc_pad(), &key, b"sixteen bytes!!!")
        .unwrap();
    for fault in ["length+1", "length_huge", "length_unavailable"] {
        control().set("C_Encrypt", fault, 0, 0, 1);
        let err = f
            .session
            .encrypt(&cbc_pad(), &key, b"sixteen bytes!!!")
            .unwrap_err();
        assert!(invalid_response(&err, "C_Encrypt"), "{fault}: {err}");
        assert_eq!(
            f.session
                .encrypt(&cbc_pad(), &key, b"sixteen bytes!!!")
                .unwrap(),
            expected,
            "{fault}: the session is usable afterwards"
        );
    }
    f.finish(key);
}

#[test]
fn buffer_too_small_for_ever_is_an_error_and_ecdsa_is_ended_afterwards() {
    let f = fixture();
    let (public, private) = ec_pair(&f.session, vectors::P256, Template::new(), Template::new());
    let ecdsa = Mechanism::new(M::ECDSA);
    control().set("C_Sign", "too_small", 0, 0, FOREVER);
    let err = f.session.sign(&ecdsa, &private, &[5u8; 32]).unwrap_err();
    assert!(invalid_response(&err, "C_Sign"), "{err}");
    assert!(err.to_string().contains("CKR_BUFFER_TOO_SMALL"), "{err}");
    // p11 asked a bounded number of times, and its cancel (C_Sign too) was refused.
    assert!(
        control().calls("C_Sign") <= 10,
        "{}",
        control().calls("C_Sign")
    );
    // The module behaves again: the single-part-only ECDSA operation left active is
    // ended by the next holder of the session, and the next signature verifies.
    control().clear();
    let signature = f.session.sign(&ecdsa, &private, &[5u8; 32]).unwrap();
    assert!(f
        .session
        .verify(&ecdsa, &public, &[5u8; 32], &signature)
        .unwrap());
    f.finish((public, private));
}

#[test]
fn an_update_claiming_more_than_its_buffer_cancels_the_stream() {
    let f = fixture();
    let key = aes(&f.session);
    let mut cipher = f.session.begin_encrypt(&cbc_pad(), &key).unwrap();
    control().set("C_EncryptUpdate", "length+1", 0, 0, 1);
    let mut out = [0u8; 64];
    let err = cipher.update(&[0u8; 32], &mut out).unwrap_err();
    assert!(invalid_response(&err, "C_EncryptUpdate"), "{err}");
    drop(cipher);
    // Cancelled by the final call: the next operation starts without OPERATION_ACTIVE.
    assert!(control().calls("C_EncryptFinal") >= 1);
    assert_eq!(f.session.encrypt(&cbc_pad(), &key, b"x").unwrap().len(), 16);
    f.finish(key);
}

#[test]
fn a_failed_call_is_the_module_error_naming_the_function() {
    let f = fixture();
    let key = aes(&f.session);
    let mac = Mechanism::new(M::AES_CMAC);
    control().set("C_SignUpdate", "fail", CKR_DEVICE_ERROR, 2, 1);
    let mut signer = f.session.begin_sign(&mac, &key).unwrap();
    signer.update(b"one").unwrap();
    signer.update(b"two").unwrap();
    let err = signer.update(b"three").unwrap_err();
    assert!(
        matches!(
            err,
            Error::Module {
                function: p11_core::Function::SignUpdate,
                rv: ReturnValue::DeviceError,
                mechanism: Some(M::AES_CMAC)
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "C_SignUpdate with CKM_AES_CMAC failed: CKR_DEVICE_ERROR (the device failed)"
    );
    drop(signer);
    // The fault module failed without ending SoftHSM's operation (a lying module): the
    // next init meets CKR_OPERATION_ACTIVE, ends it and starts afresh.
    assert_eq!(f.session.sign(&mac, &key, b"data").unwrap().len(), 16);
    control().set("C_SignInit", "fail", CKR_KEY_FUNCTION_NOT_PERMITTED, 0, 1);
    let err = f.session.sign(&mac, &key, b"data").unwrap_err();
    assert_eq!(
        err.return_value(),
        Some(ReturnValue::KeyFunctionNotPermitted)
    );
    assert_eq!(f.session.sign(&mac, &key, b"data").unwrap().len(), 16);
    f.finish(key);
}

/// tpm2-pkcs11 keeps its decryption after a failed `C_Decrypt` (the fault module fails
/// it without calling through: SoftHSM's stays active): the next operation, of any kind,
/// meets `CKR_OPERATION_ACTIVE`, ends the kept one by its own means, and runs.
#[test]
fn an_operation_a_module_kept_after_a_failed_call_is_ended_by_the_next_of_any_kind() {
    let f = fixture();
    let key = aes(&f.session);
    let ciphertext = f.session.encrypt(&cbc_pad(), &key, b"kept").unwrap();
    let sha256 = Mechanism::new(M::SHA256);
    let expected = f.session.digest(&sha256, b"next").unwrap();
    for rounds in 0..3 {
        control().set("C_Decrypt", "fail", CKR_DEVICE_ERROR, 0, 1);
        let err = f
            .session
            .decrypt(&cbc_pad(), &key, &ciphertext)
            .unwrap_err();
        assert_eq!(err.return_value(), Some(ReturnValue::DeviceError), "{err}");
        assert_eq!(
            f.session.digest(&sha256, b"next").unwrap(),
            expected,
            "round {rounds}"
        );
        assert!(
            control().calls("C_DigestInit") >= 2,
            "met CKR_OPERATION_ACTIVE first"
        );
        assert_eq!(
            f.session.decrypt(&cbc_pad(), &key, &ciphertext).unwrap(),
            b"kept"
        );
        control().clear();
    }
    f.finish(key);
}

#[test]
fn attribute_errors_without_markers_are_errors_not_values() {
    let f = fixture();
    let key = aes(&f.session);
    key.set_attributes(&Template::new().with(A::LABEL, "marked"))
        .unwrap();
    for rv in [
        CKR_ATTRIBUTE_SENSITIVE,
        CKR_ATTRIBUTE_TYPE_INVALID,
        CKR_BUFFER_TOO_SMALL,
    ] {
        control().set("C_GetAttributeValue", "fail", rv, 0, FOREVER);
        let err = key.class().unwrap_err();
        assert_eq!(err.return_value(), Some(ReturnValue::from(rv)), "{err}");
        let values = key
            .get_attributes(&[A::CLASS, A::LABEL, A::VALUE, A::VALUE_LEN])
            .unwrap();
        for value in values {
            assert_eq!(
                value.unwrap_err().return_value(),
                Some(ReturnValue::from(rv))
            );
        }
        // Fixed-size values read into words on the stack: the same error, not zeros.
        let err = key
            .get_all::<(ObjectClass, bool, u64)>([A::CLASS, A::ENCRYPT, A::VALUE_LEN])
            .unwrap_err();
        assert_eq!(err.return_value(), Some(ReturnValue::from(rv)), "{err}");
        control().clear();
    }
    assert_eq!(key.class().unwrap(), ObjectClass::SECRET_KEY);
    assert_eq!(
        key.get_attribute(A::LABEL).unwrap().as_text(),
        Some("marked")
    );
    f.finish(key);
}

#[test]
fn over_reported_counts_are_errors() {
    let f = fixture();
    let _key = aes(&f.session);
    control().set("C_FindObjects", "over_count", 1, 0, 1);
    let err = f.session.get_objects(&Template::new()).unwrap_err();
    assert!(invalid_response(&err, "C_FindObjects"), "{err}");
    assert!(!f.session.get_objects(&Template::new()).unwrap().is_empty());

    // The first call asks for the count; the second fetches into room for it.
    control().set("C_GetSlotList", "over_count", 3, 1, 1);
    let err = f.module.get_slots(true).unwrap_err();
    assert!(invalid_response(&err, "C_GetSlotList"), "{err}");
    assert!(!f.module.get_slots(true).unwrap().is_empty());

    control().set("C_GetMechanismList", "over_count", 1000, 1, 1);
    let err = f.session.slot().mechanisms().unwrap_err();
    assert!(invalid_response(&err, "C_GetMechanismList"), "{err}");
    assert!(f
        .session
        .slot()
        .mechanisms()
        .unwrap()
        .contains(&M::AES_CBC_PAD));
    f.finish(_key);
}

#[test]
fn reinitialize_waits_for_a_slow_call_in_flight() {
    let f = fixture();
    let key = aes(&f.session);
    control().set("C_Encrypt", "slow", 300, 0, 1);
    let module = f.module.clone();
    let (session, key2) = (f.session.clone(), key.clone());
    let worker = std::thread::spawn(move || session.encrypt(&cbc_pad(), &key2, b"slow"));
    // Let the worker enter its C_Encrypt, then finalise under it if p11 let us.
    while control().calls("C_Encrypt") == 0 {
        std::thread::yield_now();
    }
    module.reinitialize().unwrap();
    let encrypted = worker.join().unwrap();
    assert_eq!(
        encrypted.unwrap().len(),
        16,
        "the call in flight finished first"
    );
    assert!(matches!(
        f.session.encrypt(&cbc_pad(), &key, b"x"),
        Err(Error::SessionClosed)
    ));
    f.finish(key);
}

#[test]
fn a_failed_finalize_leaves_the_module_as_it_was_and_a_retry_owns_it() {
    use p11_core::{Access, SessionState};
    let f = fixture();
    let token = f.session.slot().token().unwrap();
    let other = token.open(Access::ReadOnly).unwrap();
    assert_eq!(control().open_sessions(), 2);
    control().set("C_Finalize", "fail", CKR_GENERAL_ERROR, 0, 1);
    let err = f.module.reinitialize().unwrap_err();
    assert!(
        matches!(
            err,
            Error::Module {
                function: p11_core::Function::Finalize,
                rv: ReturnValue::GeneralError,
                ..
            }
        ),
        "{err:?}"
    );
    // The module kept its sessions and its login: so did p11.
    assert!(f.module.is_initialized());
    assert!(!f.session.is_closed() && !other.is_closed());
    assert_eq!(control().open_sessions(), 2);
    assert_eq!(other.generate_random(8).unwrap().len(), 8);
    assert_eq!(
        f.session.info().unwrap().state,
        SessionState::RW_USER_FUNCTIONS
    );
    // The retry finalises them, owns the module again, and logs nobody in.
    f.module.reinitialize().unwrap();
    assert!(f.session.is_closed() && other.is_closed());
    assert_eq!(control().open_sessions(), 0, "the module closed them");
    let fresh = token.open(Access::ReadOnly).unwrap();
    assert_eq!(fresh.info().unwrap().state, SessionState::RO_PUBLIC_SESSION);
    drop((fresh, other, token));
    let Fixture {
        module, session, ..
    } = f;
    drop(session);
    let finalized = control().calls("C_Finalize");
    drop(module);
    assert_eq!(
        control().calls("C_Finalize"),
        finalized + 1,
        "the module was p11's to finalise"
    );
}

#[test]
fn a_failed_reinitialize_can_be_retried() {
    let f = fixture();
    control().set("C_Initialize", "fail", CKR_GENERAL_ERROR, 0, 1);
    let err = f.module.reinitialize().unwrap_err();
    assert!(
        matches!(
            err,
            Error::Module {
                function: p11_core::Function::Initialize,
                rv: ReturnValue::GeneralError,
                mechanism: None
            }
        ),
        "{err:?}"
    );
    assert!(!f.module.is_initialized());
    assert!(matches!(f.module.info(), Err(Error::Finalized)));
    assert!(matches!(f.session.info(), Err(Error::Finalized)));
    assert!(f.session.is_closed());
    f.module.reinitialize().unwrap();
    assert!(f.module.is_initialized());
    let token = f.session.slot().token().unwrap();
    let fresh = token.open(p11_core::Access::ReadOnly).unwrap();
    assert_eq!(fresh.generate_random(8).unwrap().len(), 8);
    drop(fresh);
    f.finish(());
}

#[test]
fn opens_equal_closes_across_operations_and_errors() {
    let f = fixture();
    let token = f.session.slot().token().unwrap();
    let key = aes(&f.session);
    for i in 0..20u64 {
        let s = token.open(p11_core::Access::ReadOnly).unwrap();
        if i % 3 == 0 {
            control().set("C_Encrypt", "length_huge", 0, 0, 1);
        }
        let key = s.object(key.handle());
        let _ = s.encrypt(&cbc_pad(), &key, b"data");
        if i % 2 == 0 {
            s.close().unwrap();
        }
    }
    drop(key);
    f.finish(());
}

#[test]
fn a_wrong_pin_while_logged_in_elsewhere_is_told_apart() {
    let f = fixture();
    let token = f.session.slot().token().unwrap();
    let other = token.open(p11_core::Access::ReadOnly).unwrap();
    let outcome = other.login(p11_core::UserType::USER, "wrong").unwrap();
    assert_eq!(
        outcome,
        p11_core::Login::AlreadyLoggedIn,
        "the PIN was not checked"
    );
    drop(other);
    f.session.logout().unwrap();
    let again = f
        .session
        .login(p11_core::UserType::USER, f.pin.as_str())
        .unwrap();
    assert_eq!(again, p11_core::Login::Checked);
    f.finish(());
}

/// A facade session on the fixture whose token no longer lists `mechanism` (the module
/// still has it), and an RSA key pair made there.
fn rsa_pair_hiding(
    f: &crate::control::Fixture,
    mechanism: M,
) -> (p11::Session, p11::PublicKey, p11::PrivateKey) {
    use p11::ObjectOptions;
    control().set("C_GetMechanismList", "hide", mechanism.raw(), 0, FOREVER);
    let session = p11::Session::from(f.session.clone());
    assert!(!session.has_mechanism(mechanism).unwrap());
    let (public, private) = session
        .generate_keypair(KeyType::RSA, 1024, &ObjectOptions::new())
        .unwrap();
    (session, public, private)
}

#[test]
fn a_token_without_the_combined_mechanism_gets_the_same_signatures_composed() {
    use p11::{Key, Sign, Verify};
    let f = fixture();
    let (session, public, private) = rsa_pair_hiding(&f, M::SHA256_RSA_PKCS);
    let combined = Mechanism::new(M::SHA256_RSA_PKCS);
    // The module still has it: its own signature is the reference (PKCS #1 v1.5 is
    // deterministic).
    let direct = f.session.sign(&combined, private.core(), b"data").unwrap();
    let digests = control().calls("C_Digest");
    let composed = private.with_mechanism(&combined).sign(b"data").unwrap();
    assert_eq!(composed, direct);
    assert_eq!(control().calls("C_Digest"), digests + 1, "hashed apart");
    let mut signer = private.with_mechanism(&combined).signer().unwrap();
    let updates = control().calls("C_DigestUpdate");
    signer.update(b"da").unwrap();
    signer.update(b"ta").unwrap();
    assert_eq!(control().calls("C_DigestUpdate"), updates + 2);
    assert_eq!(signer.finish().unwrap(), direct);
    assert!(public
        .with_mechanism(&combined)
        .verify(b"data", &direct)
        .unwrap());
    let mut verifier = public.with_mechanism(&combined).verifier().unwrap();
    verifier.update(b"data").unwrap();
    assert!(verifier.finish(&direct).unwrap());
    assert!(!public
        .with_mechanism(&combined)
        .verify(b"other", &direct)
        .unwrap());
    drop((public, private, session));
    f.finish(());
}

/// p11-kit's RPC lists `RSA_PKCS_PSS` but no `SHA*_RSA_PKCS_PSS`: PSS with a hash is
/// composed as the others are, the raw PSS mechanism taking the combined one's
/// parameters. PSS is randomised, so each side checks the other's signatures.
#[test]
fn pss_with_a_hash_is_composed_where_the_token_lacks_it() {
    use p11::{Key, Sign, Verify};
    let f = fixture();
    let (session, public, private) = rsa_pair_hiding(&f, M::SHA256_RSA_PKCS_PSS);
    let combined = Mechanism::new(M::SHA256_RSA_PKCS_PSS);
    let digests = control().calls("C_Digest");
    let composed = private.with_mechanism(&combined).sign(b"data").unwrap();
    assert_eq!(control().calls("C_Digest"), digests + 1, "hashed apart");
    // The module, which still has the combined mechanism, accepts the composed one...
    assert!(f
        .session
        .verify(&combined, public.core(), b"data", &composed)
        .unwrap());
    // ...and the composition accepts the module's, one-shot and streamed.
    let direct = f.session.sign(&combined, private.core(), b"data").unwrap();
    assert!(public
        .with_mechanism(&combined)
        .verify(b"data", &direct)
        .unwrap());
    let mut verifier = public.with_mechanism(&combined).verifier().unwrap();
    verifier.update(b"da").unwrap();
    verifier.update(b"ta").unwrap();
    assert!(verifier.finish(&direct).unwrap());
    assert!(!public
        .with_mechanism(&combined)
        .verify(b"other", &direct)
        .unwrap());
    drop((public, private, session));
    f.finish(());
}

/// Reads `CKA_ID` as text.
#[derive(Debug)]
struct Lenient;

impl p11_core::AttributeMapper for Lenient {
    fn kind(&self, ty: A) -> p11_core::AttributeKind {
        match ty {
            A::ID => p11_core::AttributeKind::Text,
            other => other.kind(),
        }
    }
}

#[test]
fn an_attribute_mapper_reads_what_the_module_encodes_its_own_way() {
    let f = fixture();
    let token = f.session.slot().token().unwrap();
    let mapped = token.open(p11_core::Access::ReadWrite).unwrap();
    mapped
        .set_attribute_mapper(std::sync::Arc::new(Lenient))
        .unwrap();
    assert!(mapped
        .set_attribute_mapper(std::sync::Arc::new(Lenient))
        .is_err());
    let key = mapped
        .create_object(
            &Template::new()
                .with(A::CLASS, ObjectClass::SECRET_KEY)
                .with(A::KEY_TYPE, KeyType::AES)
                .with(A::VALUE, vec![1u8; 16])
                .with(A::ID, "text id"),
        )
        .unwrap();
    assert_eq!(
        key.get_attribute(A::ID).unwrap(),
        p11_core::AttributeValue::Text("text id".into()),
        "ID is text in this session"
    );
    let plain = f.session.object(key.handle());
    assert_eq!(
        plain.get::<Vec<u8>>(A::ID).unwrap(),
        b"text id",
        "and bytes elsewhere"
    );
    drop((key, plain, mapped));
    f.finish(());
}

#[test]
fn an_empty_boolean_reads_as_false_as_python_reads_it() {
    // python-pkcs11's test_treat_empty_bool_as_false: real tokens answer an unset flag
    // with no bytes.
    let f = fixture();
    let key = f
        .session
        .create_object(
            &Template::new()
                .with(A::CLASS, ObjectClass::SECRET_KEY)
                .with(A::KEY_TYPE, KeyType::AES)
                .with(A::VALUE, vec![1u8; 16])
                .with(A::SIGN, true),
        )
        .unwrap();
    assert!(
        key.get::<bool>(A::SIGN).unwrap(),
        "true as the module keeps it"
    );
    control().set("C_GetAttributeValue", "empty", 0, 0, 1);
    assert!(!key.get::<bool>(A::SIGN).unwrap(), "no bytes: false");
    // In a batch, beside a value that cannot be empty: the empty boolean is false, the
    // empty class the module's invalid answer.
    control().set("C_GetAttributeValue", "empty", 0, 0, 1);
    let err = key
        .get_all::<(bool, ObjectClass)>([A::SIGN, A::CLASS])
        .unwrap_err();
    assert!(invalid_response(&err, "C_GetAttributeValue"), "{err}");
    assert!(err.to_string().contains("CKA_CLASS"), "{err}");
    drop(key);
    f.finish(());
}

#[test]
fn a_found_key_reads_only_what_its_query_leaves_open_and_its_capabilities_once() {
    use p11::{Capabilities as C, Key, KeyKind, KeyQuery, ObjectOptions, PublicKey, SecretKey};
    let f = fixture();
    let session = p11::Session::from(f.session.clone());
    let asked = C::ENCRYPT | C::DECRYPT;
    let key = session
        .generate_key(
            KeyType::AES,
            128,
            &ObjectOptions::new().label("capable").capabilities(asked),
        )
        .unwrap();
    // A key p11 made: no read until asked, one read then, none after.
    let reads = control().calls("C_GetAttributeValue");
    assert_eq!(key.capabilities().unwrap(), asked);
    assert_eq!(key.capabilities().unwrap(), asked);
    assert_eq!(
        control().calls("C_GetAttributeValue"),
        reads + 1,
        "read once"
    );
    // A key found: what the query pins (class, key type) is not read again; its key
    // type in one read where the query leaves it open; its capabilities once, if asked.
    let reads = || control().calls("C_GetAttributeValue");
    let before = reads();
    let pinned: SecretKey = session
        .get_key(&KeyQuery::new().label("capable").key_type(KeyType::AES))
        .unwrap();
    assert_eq!(reads(), before, "the query pins class and key type");
    assert_eq!(pinned.key_type(), KeyType::AES);
    assert_eq!(pinned.capabilities().unwrap(), asked);
    assert_eq!(pinned.capabilities().unwrap(), asked);
    assert_eq!(reads(), before + 1, "capabilities read once, when asked");
    let before = reads();
    let found: SecretKey = session.get_key(&KeyQuery::new().label("capable")).unwrap();
    assert_eq!(reads(), before + 1, "class and key type in one read");
    assert_eq!(found.key_type(), KeyType::AES);
    // A short label in one call; a long one by its length, then its value.
    let before = reads();
    assert_eq!(found.label().unwrap(), "capable");
    assert_eq!(reads(), before + 1, "a short label in one call");
    let long = "l".repeat(100);
    found
        .set_attributes(&p11::Template::new().with(A::LABEL, long.as_str()))
        .unwrap();
    let before = reads();
    assert_eq!(found.label().unwrap(), long);
    assert_eq!(reads(), before + 3, "tried short, then length and value");

    // Each half of a pair: what its own flags say, the other class's flags absent.
    let (public, private) = session
        .generate_keypair(KeyType::RSA, 1024, &ObjectOptions::new())
        .unwrap();
    let flags = [
        (C::ENCRYPT, A::ENCRYPT),
        (C::DECRYPT, A::DECRYPT),
        (C::SIGN, A::SIGN),
        (C::VERIFY, A::VERIFY),
        (C::WRAP, A::WRAP),
        (C::UNWRAP, A::UNWRAP),
        (C::DERIVE, A::DERIVE),
    ];
    for key in [&public as &dyn Key, &private] {
        for (capability, flag) in flags {
            let set = key.core().get::<bool>(flag).unwrap_or(false);
            assert_eq!(
                key.capabilities().unwrap().contains(capability),
                set,
                "{flag}"
            );
        }
    }
    assert!(public.capabilities().unwrap().contains(C::VERIFY));
    assert!(private.capabilities().unwrap().contains(C::SIGN));

    // A module failing the bulk read without marking what failed: each is read alone,
    // and the key is still typed right.
    control().set(
        "C_GetAttributeValue",
        "fail",
        CKR_ATTRIBUTE_TYPE_INVALID,
        0,
        1,
    );
    let again: PublicKey = PublicKey::from_object(session.clone(), public.core().clone()).unwrap();
    assert_eq!(
        again.capabilities().unwrap(),
        public.capabilities().unwrap()
    );
    assert_eq!(again.key_type(), KeyType::RSA);
    drop((key, pinned, found, public, private, again, session));
    f.finish(());
}

#[test]
fn rsa_output_is_the_length_the_token_tells_not_the_room_it_claims_to_fill() {
    let f = fixture();
    let (public, private) = p11_tests::rsa_pair(&f.session, 1024, Template::new(), Template::new());
    let pkcs1 = Mechanism::new(M::RSA_PKCS);
    // Like tpm2-pkcs11: every encryption says it filled the buffer it was given.
    control().set("C_Encrypt", "report_room", 0, 0, FOREVER);
    let ciphertext = f.session.encrypt(&pkcs1, &public, b"secret").unwrap();
    control().clear();
    assert_eq!(ciphertext.len(), 128, "a 1024-bit modulus's length");
    assert_eq!(
        f.session.decrypt(&pkcs1, &private, &ciphertext).unwrap(),
        b"secret"
    );
    control().set("C_Sign", "report_room", 0, 0, FOREVER);
    let signature = f.session.sign(&pkcs1, &private, b"data").unwrap();
    control().clear();
    assert_eq!(signature.len(), 128);
    assert!(f
        .session
        .verify(&pkcs1, &public, b"data", &signature)
        .unwrap());
    f.finish((public, private));
}

/// A search fetches as many handles per `C_FindObjects` call as it is told.
#[test]
fn a_search_fetches_the_batch_it_is_told() {
    let f = fixture();
    let label = format!("batched-{}", std::process::id());
    let template = Template::new()
        .with(A::CLASS, ObjectClass::DATA)
        .with(A::LABEL, label.as_str());
    let made: Vec<_> = (0..10)
        .map(|_| f.session.create_object(&template).unwrap())
        .collect();
    let calls = || control().calls("C_FindObjects");
    let before = calls();
    let found = f.session.find_objects(&template).unwrap().count();
    assert_eq!(
        (found, calls() - before),
        (10, 2),
        "64 at a time: the ten, then none"
    );
    let before = calls();
    let three = std::num::NonZeroUsize::new(3).unwrap();
    let found = f
        .session
        .find_objects(&template)
        .unwrap()
        .batch_size(three)
        .count();
    assert_eq!((found, calls() - before), (10, 5), "3, 3, 3, 1, then none");
    drop(made);
    f.finish(());
}

/// A token away for a moment (`CKR_TOKEN_NOT_PRESENT` while it was read) is looked for
/// again, not reported missing beside a list that names it; an error quotes at most a
/// little of what the caller gave (a 1 MiB label).
#[test]
fn a_token_away_for_a_moment_is_found_and_errors_quote_their_input_briefly() {
    use p11_core::TokenFilter;
    let f = fixture();
    let label = p11_tests::env().label;
    control().set("C_GetTokenInfo", "fail", CKR_TOKEN_NOT_PRESENT, 0, 1);
    let token = f
        .module
        .get_token(&TokenFilter::new().label(label.as_str()))
        .unwrap();
    assert_eq!(token.label(), label);
    control().set("C_GetTokenInfo", "fail", CKR_TOKEN_NOT_PRESENT, 0, FOREVER);
    let err = f
        .module
        .get_token(&TokenFilter::new().label(label.as_str()))
        .unwrap_err()
        .to_string();
    assert!(
        err.ends_with("the tokens present are none"),
        "a token it could not read is not listed: {err}"
    );
    control().clear();

    let huge = "x".repeat(1 << 20);
    let too_long = |err: String| {
        assert!(err.len() < 400, "{} bytes: {}…", err.len(), &err[..200]);
        assert!(err.contains("1048576 bytes"), "{err}");
    };
    too_long(
        f.module
            .get_token(&TokenFilter::new().label(huge.as_str()))
            .unwrap_err()
            .to_string(),
    );
    too_long(
        f.session
            .get_key(&Template::new().with(A::LABEL, huge.as_str()))
            .unwrap_err()
            .to_string(),
    );
    too_long(
        format!("pkcs11:{huge}")
            .parse::<p11_core::Uri>()
            .unwrap_err()
            .to_string(),
    );
    f.finish(());
}
