//! PKCS#11 3.2's post-quantum keys: ML-KEM encapsulation through `C_EncapsulateKey` /
//! `C_DecapsulateKey`, and ML-DSA signatures. Each test runs where the token lists the
//! mechanisms (kryoptic) and says why it skips elsewhere.

use p11_core::mechanisms::{Hedge, MlDsaParameterSet, MlKemParameterSet, SignAdditionalContext};
use p11_core::{
    AttributeType as A, Error, KeyType, Mechanism, MechanismType as M, ObjectClass, Session,
    Template,
};
use p11_tests::{offers, shared, user_session};

/// A session key pair of `key_type` and parameter `set`, the public half allowed
/// `public_use`, the private half `private_use`.
fn pair(
    session: &Session,
    generate: M,
    (key_type, set): (KeyType, u64),
    (public_use, private_use): (A, A),
) -> (p11_core::Object, p11_core::Object) {
    session
        .generate_keypair(
            &Mechanism::new(generate),
            &Template::new()
                .with(A::KEY_TYPE, key_type)
                .with(A::PARAMETER_SET, set)
                .with(A::TOKEN, false)
                .with(public_use, true),
            &Template::new()
                .with(A::TOKEN, false)
                .with(private_use, true),
        )
        .unwrap()
}

#[test]
fn ml_kem_768_encapsulates_a_key_that_decapsulates_to_the_same_value() {
    let f = shared();
    let session = user_session(&f);
    if !offers(&session, &[M::ML_KEM_KEY_PAIR_GEN, M::ML_KEM]) {
        return;
    }
    let (public, private) = pair(
        &session,
        M::ML_KEM_KEY_PAIR_GEN,
        (KeyType::ML_KEM, MlKemParameterSet::ML_KEM_768.raw()),
        (A::ENCAPSULATE, A::DECAPSULATE),
    );
    let set: u64 = public.get(A::PARAMETER_SET).unwrap();
    assert_eq!(MlKemParameterSet::new(set), MlKemParameterSet::ML_KEM_768);
    // Readable, so that the two ends can be compared.
    let secret = Template::new()
        .with(A::CLASS, ObjectClass::SECRET_KEY)
        .with(A::KEY_TYPE, KeyType::GENERIC_SECRET)
        .with(A::TOKEN, false)
        .with(A::SENSITIVE, false)
        .with(A::EXTRACTABLE, true);
    let ml_kem = Mechanism::new(M::ML_KEM);
    let (ciphertext, sent) = session.encapsulate_key(&ml_kem, &public, &secret).unwrap();
    assert_eq!(ciphertext.len(), 1088, "ML-KEM-768's ciphertext");
    let received = session
        .decapsulate_key(&ml_kem, &private, &ciphertext, &secret)
        .unwrap();
    let value = |key: &p11_core::Object| key.get::<Vec<u8>>(A::VALUE).unwrap();
    assert_eq!(value(&sent).len(), 32, "ML-KEM's shared secret");
    assert_eq!(value(&sent), value(&received));

    // Another ciphertext, another key; a damaged one decapsulates to a different key
    // (ML-KEM's implicit rejection) or fails, never to the sent one.
    let (other, _) = session.encapsulate_key(&ml_kem, &public, &secret).unwrap();
    assert_ne!(other, ciphertext);
    let mut damaged = ciphertext.clone();
    damaged[0] ^= 1;
    match session.decapsulate_key(&ml_kem, &private, &damaged, &secret) {
        Ok(key) => assert_ne!(value(&key), value(&sent)),
        Err(e) => assert!(matches!(e, Error::Module { .. }), "{e}"),
    }
}

#[test]
fn ml_dsa_65_signs_and_verifies() {
    let f = shared();
    let session = user_session(&f);
    if !offers(&session, &[M::ML_DSA_KEY_PAIR_GEN, M::ML_DSA]) {
        return;
    }
    let (public, private) = pair(
        &session,
        M::ML_DSA_KEY_PAIR_GEN,
        (KeyType::ML_DSA, MlDsaParameterSet::ML_DSA_65.raw()),
        (A::VERIFY, A::SIGN),
    );
    let ml_dsa = Mechanism::new(M::ML_DSA);
    let signature = session.sign(&ml_dsa, &private, b"post-quantum").unwrap();
    assert_eq!(signature.len(), 3309, "ML-DSA-65's signature");
    assert!(session
        .verify(&ml_dsa, &public, b"post-quantum", &signature)
        .unwrap());
    assert!(!session
        .verify(&ml_dsa, &public, b"post-quantum?", &signature)
        .unwrap());

    // A context string is part of what is signed; deterministic signing repeats itself.
    let with = |context: &'static [u8], hedge| {
        Mechanism::with(M::ML_DSA, SignAdditionalContext::new(hedge, context))
    };
    let first = session
        .sign(&with(b"invoice", Hedge::Deterministic), &private, b"pay 10")
        .unwrap();
    let again = session
        .sign(&with(b"invoice", Hedge::Deterministic), &private, b"pay 10")
        .unwrap();
    assert_eq!(first, again, "deterministic");
    let verify = |m: &Mechanism| session.verify(m, &public, b"pay 10", &first).unwrap();
    assert!(verify(&with(b"invoice", Hedge::Preferred)));
    assert!(
        !verify(&with(b"receipt", Hedge::Preferred)),
        "another context"
    );
    assert!(!verify(&ml_dsa), "no context");
}

#[test]
fn a_module_without_the_3_2_interface_says_so_for_encapsulation() {
    let f = shared();
    let v3_2 = p11_core::Version { major: 3, minor: 2 };
    if f.module.interface_version() >= v3_2 {
        println!("skipped: the module offers PKCS#11 3.2");
        return;
    }
    let session = user_session(&f);
    if !p11_tests::keeps_secret_keys(&session) {
        return;
    }
    let key = p11_tests::import_secret(&session, KeyType::AES, &[1; 16]);
    let err = session
        .encapsulate_key(&Mechanism::new(M::ML_KEM), &key, &Template::new())
        .unwrap_err();
    assert!(
        matches!(err, Error::NotSupported(p11_core::Function::EncapsulateKey)),
        "{err:?}"
    );
}

#[test]
fn a_signature_given_first_verifies_where_the_module_has_pkcs11_3_2() {
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::offers(&session, &[M::EC_KEY_PAIR_GEN, M::ECDSA]) {
        return;
    }
    let (public, private) = p256_pair(&session);
    let ecdsa = Mechanism::new(M::ECDSA);
    let digest = [7u8; 32];
    let signature = session.sign(&ecdsa, &private, &digest).unwrap();
    let v3_2 = p11_core::Version { major: 3, minor: 2 };
    match session.verify_signature(&ecdsa, &public, &digest, &signature) {
        Ok(valid) => {
            assert!(f.module.interface_version() >= v3_2);
            assert!(valid);
            let other = [8u8; 32];
            assert!(!session
                .verify_signature(&ecdsa, &public, &other, &signature)
                .unwrap());
            // The session is free for the next operation.
            assert!(session
                .verify(&ecdsa, &public, &digest, &signature)
                .unwrap());
        }
        Err(e) => {
            assert!(f.module.interface_version() < v3_2, "{e}");
            assert!(
                matches!(
                    e,
                    Error::NotSupported(p11_core::Function::VerifySignatureInit)
                ),
                "{e:?}"
            );
        }
    }
}

/// A P-256 key pair that signs and verifies.
fn p256_pair(session: &Session) -> (p11_core::Object, p11_core::Object) {
    p11_tests::ec_pair(
        session,
        p11_tests::vectors::P256,
        Template::new().with(A::VERIFY, true),
        Template::new().with(A::SIGN, true),
    )
}

/// The same in parts (`C_VerifySignatureUpdate`, `C_VerifySignatureFinal`): a stream that
/// gets the signature first, any chunking, false for other data; dropped unfinished, it
/// leaves the session free.
#[test]
fn a_signature_given_first_verifies_in_parts() {
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::offers(&session, &[M::EC_KEY_PAIR_GEN, M::ECDSA_SHA256]) {
        return;
    }
    let (public, private) = p256_pair(&session);
    let ecdsa = Mechanism::new(M::ECDSA_SHA256);
    let data: Vec<u8> = (0u8..=200).collect();
    let signature = session.sign(&ecdsa, &private, &data).unwrap();
    let v3_2 = p11_core::Version { major: 3, minor: 2 };
    let mut verifier = match session.begin_verify_signature(&ecdsa, &public, &signature) {
        Ok(verifier) => verifier,
        Err(e) => {
            assert!(f.module.interface_version() < v3_2, "{e}");
            assert!(
                matches!(
                    e,
                    Error::NotSupported(p11_core::Function::VerifySignatureInit)
                ),
                "{e:?}"
            );
            return;
        }
    };
    for chunk in data.chunks(37) {
        verifier.update(chunk).unwrap();
    }
    assert!(verifier.finish().unwrap());

    let mut other = session
        .begin_verify_signature(&ecdsa, &public, &signature)
        .unwrap();
    other.update(&data[..100]).unwrap();
    other.update(b"not the rest").unwrap();
    assert!(!other.finish().unwrap());

    let mut abandoned = session
        .begin_verify_signature(&ecdsa, &public, &signature)
        .unwrap();
    abandoned.update(&data[..10]).unwrap();
    drop(abandoned);
    assert!(session.verify(&ecdsa, &public, &data, &signature).unwrap());
}
