//! RSA, DSA, ECDSA and EdDSA: sign and verify, encrypt and decrypt.

use p11_core::mechanisms::{Mgf, OaepParams};
use p11_core::{
    AttributeType as A, Mechanism, MechanismType as M, Object, ReturnValue, Session, Template,
};
use p11_tests::vectors::{ED25519, P256, P384, P521};
use p11_tests::{shared, user_session};

fn rsa_pair(session: &Session, bits: u64) -> (Object, Object) {
    p11_tests::rsa_pair(
        session,
        bits,
        Template::new().with(A::ENCRYPT, true).with(A::VERIFY, true),
        Template::new().with(A::DECRYPT, true).with(A::SIGN, true),
    )
}

fn assert_signs(session: &Session, mechanism: &Mechanism, pair: &(Object, Object), data: &[u8]) {
    let signature = session.sign(mechanism, &pair.1, data).unwrap();
    assert!(
        session
            .verify(mechanism, &pair.0, data, &signature)
            .unwrap(),
        "{mechanism}"
    );
    let mut wrong = signature.clone();
    wrong[signature.len() / 2] ^= 0x40;
    assert!(
        !session.verify(mechanism, &pair.0, data, &wrong).unwrap(),
        "{mechanism}: altered"
    );
    assert!(
        !session
            .verify(mechanism, &pair.0, data, &signature[1..])
            .unwrap(),
        "{mechanism}: truncated"
    );
    // The same signature, made in parts.
    if mechanism
        .mechanism_type()
        .profile()
        .is_some_and(|p| p.multi_part)
    {
        let mut signer = session.begin_sign(mechanism, &pair.1).unwrap();
        for part in data.chunks(7) {
            signer.update(part).unwrap();
        }
        let streamed = signer.finish().unwrap();
        let mut verifier = session.begin_verify(mechanism, &pair.0).unwrap();
        verifier.update(data).unwrap();
        assert!(verifier.finish(&streamed).unwrap(), "{mechanism}: streamed");
    }
}

#[test]
fn rsa_pkcs1_oaep_and_raw_encryption() {
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::offers(&session, &[M::RSA_PKCS_KEY_PAIR_GEN, M::RSA_PKCS]) {
        return;
    }
    let (public, private) = rsa_pair(&session, 2048);
    let message = b"attack at dawn";
    let pkcs1 = Mechanism::new(M::RSA_PKCS);
    let encrypted = session.encrypt(&pkcs1, &public, message).unwrap();
    assert_eq!(encrypted.len(), 256);
    assert_eq!(
        session.decrypt(&pkcs1, &private, &encrypted).unwrap(),
        message
    );

    let oaep = Mechanism::new(M::RSA_PKCS_OAEP);
    let encrypted = session.encrypt(&oaep, &public, message).unwrap();
    assert_eq!(
        session.decrypt(&oaep, &private, &encrypted).unwrap(),
        message
    );

    // OAEP with a label, and with SHA-256: SoftHSM 2.6 refuses both (CKR_ARGUMENTS_BAD).
    let label = b"context label";
    let variants = [
        ("a label", OaepParams::sha1().with_label(label)),
        ("SHA-256", OaepParams::new(M::SHA256, Mgf::MGF1_SHA256)),
    ];
    for (what, params) in variants {
        let variant = Mechanism::with(M::RSA_PKCS_OAEP, params);
        match session.encrypt(&variant, &public, message) {
            Ok(encrypted) => {
                assert_eq!(
                    session.decrypt(&variant, &private, &encrypted).unwrap(),
                    message
                );
                assert!(
                    session.decrypt(&oaep, &private, &encrypted).is_err(),
                    "{what} ignored"
                );
            }
            Err(e) if e.return_value() == Some(ReturnValue::ArgumentsBad) => {
                println!("skipped OAEP with {what}: the module refuses it ({e})");
            }
            Err(e) => panic!("OAEP with {what}: {e}"),
        }
    }

    // Raw RSA: a block as long as the modulus, below it.
    let mut block = vec![0u8; 256];
    block[1..]
        .iter_mut()
        .enumerate()
        .for_each(|(i, b)| *b = i as u8);
    let raw = Mechanism::new(M::RSA_X_509);
    let encrypted = session.encrypt(&raw, &public, &block).unwrap();
    assert_eq!(session.decrypt(&raw, &private, &encrypted).unwrap(), block);
}

#[test]
fn rsa_data_too_long_is_a_typed_error() {
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::offers(&session, &[M::RSA_PKCS_KEY_PAIR_GEN, M::RSA_PKCS]) {
        return;
    }
    let (public, _) = rsa_pair(&session, 1024);
    let err = session
        .encrypt(&Mechanism::new(M::RSA_PKCS), &public, &[7u8; 200])
        .unwrap_err();
    // PKCS#11 says CKR_DATA_LEN_RANGE; SoftHSM 2.6 answers CKR_GENERAL_ERROR, kryoptic
    // CKR_DEVICE_ERROR.
    assert!(
        matches!(
            err.return_value(),
            Some(ReturnValue::DataLenRange | ReturnValue::GeneralError | ReturnValue::DeviceError)
        ),
        "{err}"
    );
    // The session is free for the next encryption.
    assert!(session
        .encrypt(&Mechanism::new(M::RSA_PKCS), &public, b"ok")
        .is_ok());
}

#[test]
fn rsa_signatures_with_every_hash_and_pss() {
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::offers(
        &session,
        &[
            M::RSA_PKCS,
            M::RSA_PKCS_PSS,
            M::SHA1_RSA_PKCS,
            M::SHA1_RSA_PKCS_PSS,
            M::SHA224_RSA_PKCS,
            M::SHA224_RSA_PKCS_PSS,
            M::SHA256_RSA_PKCS,
            M::SHA256_RSA_PKCS_PSS,
            M::SHA384_RSA_PKCS,
            M::SHA384_RSA_PKCS_PSS,
            M::SHA512_RSA_PKCS,
            M::SHA512_RSA_PKCS_PSS,
            M::SHA_1,
        ],
    ) {
        return;
    }
    let pair = rsa_pair(&session, 2048);
    let data = b"the data to sign, long enough to span several parts";
    for mechanism in [
        M::SHA1_RSA_PKCS,
        M::SHA224_RSA_PKCS,
        M::SHA256_RSA_PKCS,
        M::SHA384_RSA_PKCS,
        M::SHA512_RSA_PKCS,
        M::SHA1_RSA_PKCS_PSS,
        M::SHA224_RSA_PKCS_PSS,
        M::SHA256_RSA_PKCS_PSS,
        M::SHA384_RSA_PKCS_PSS,
        M::SHA512_RSA_PKCS_PSS,
    ] {
        assert_signs(&session, &Mechanism::new(mechanism), &pair, data);
    }
    // Raw PKCS#1 v1.5 signs what it is given (here a DigestInfo-sized blob), PSS a digest.
    assert_signs(&session, &Mechanism::new(M::RSA_PKCS), &pair, &[3u8; 51]);
    let digest = session.digest(&Mechanism::new(M::SHA_1), data).unwrap();
    assert_signs(&session, &Mechanism::new(M::RSA_PKCS_PSS), &pair, &digest);
    // PKCS#1 v1.5 signatures are deterministic.
    let sha256 = Mechanism::new(M::SHA256_RSA_PKCS);
    assert_eq!(
        session.sign(&sha256, &pair.1, data).unwrap(),
        session.sign(&sha256, &pair.1, data).unwrap()
    );
}

#[test]
fn dsa_signatures_raw_and_hashed() {
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::offers(
        &session,
        &[M::DSA_PARAMETER_GEN, M::DSA_KEY_PAIR_GEN, M::DSA],
    ) {
        return;
    }
    let parameters = session
        .generate_domain_parameters(
            p11_core::KeyType::DSA,
            &Mechanism::new(M::DSA_PARAMETER_GEN),
            &Template::new().with(A::PRIME_BITS, 1024u64),
        )
        .unwrap();
    let pair = parameters
        .generate_keypair(
            &session,
            &Mechanism::new(M::DSA_KEY_PAIR_GEN),
            &Template::new().with(A::VERIFY, true),
            &Template::new().with(A::SIGN, true),
        )
        .unwrap();
    let digest = session
        .digest(&Mechanism::new(M::SHA_1), b"message")
        .unwrap();
    assert_signs(&session, &Mechanism::new(M::DSA), &pair, &digest);
    let offered = f.token.slot().mechanisms().unwrap();
    for hashed in [
        M::DSA_SHA1,
        M::DSA_SHA224,
        M::DSA_SHA256,
        M::DSA_SHA384,
        M::DSA_SHA512,
    ] {
        if offered.contains(&hashed) {
            assert_signs(
                &session,
                &Mechanism::new(hashed),
                &pair,
                b"message in parts",
            );
        } else {
            println!("skipped {hashed}: the module lacks it");
        }
    }
    let signature = session
        .sign(&Mechanism::new(M::DSA), &pair.1, &digest)
        .unwrap();
    assert_eq!(signature.len(), 40, "r || s, 20 bytes each");
}

#[test]
fn ecdsa_on_p256_p384_p521() {
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::offers(&session, &[M::EC_KEY_PAIR_GEN, M::ECDSA]) {
        return;
    }
    for (curve, half) in [(P256, 32), (P384, 48), (P521, 66)] {
        let pair = p11_tests::ec_pair(
            &session,
            curve,
            Template::new().with(A::VERIFY, true),
            Template::new().with(A::SIGN, true),
        );
        let digest = session
            .digest(&Mechanism::new(M::SHA256), b"message")
            .unwrap();
        assert_signs(&session, &Mechanism::new(M::ECDSA), &pair, &digest);
        let signature = session
            .sign(&Mechanism::new(M::ECDSA), &pair.1, &digest)
            .unwrap();
        assert_eq!(signature.len(), 2 * half, "r || s");
    }
}

#[test]
fn ed25519_signatures() {
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::offers(&session, &[M::EC_EDWARDS_KEY_PAIR_GEN, M::EDDSA]) {
        return;
    }
    let pair = p11_tests::ec_pair(
        &session,
        ED25519,
        Template::new().with(A::VERIFY, true),
        Template::new().with(A::SIGN, true),
    );
    let eddsa = Mechanism::new(M::EDDSA);
    assert_signs(&session, &eddsa, &pair, b"message");
    let signature = session.sign(&eddsa, &pair.1, b"message").unwrap();
    assert_eq!(signature.len(), 64);
    assert_eq!(
        signature,
        session.sign(&eddsa, &pair.1, b"message").unwrap(),
        "deterministic"
    );
}

#[test]
fn always_authenticate_keys_sign_with_their_pin() {
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::offers(&session, &[M::SHA256_RSA_PKCS]) {
        return;
    }
    let (public, private) = p11_tests::rsa_pair(
        &session,
        1024,
        Template::new().with(A::VERIFY, true),
        Template::new()
            .with(A::SIGN, true)
            .with(A::ALWAYS_AUTHENTICATE, true),
    );
    let mechanism = Mechanism::new(M::SHA256_RSA_PKCS);
    let signature = session
        .sign(&mechanism, private.with_pin(f.env.pin.as_str()), b"data")
        .unwrap();
    assert!(session
        .verify(&mechanism, &public, b"data", &signature)
        .unwrap());
    match session.sign(&mechanism, &private, b"data") {
        Err(e) => assert_eq!(e.return_value(), Some(ReturnValue::UserNotLoggedIn), "{e}"),
        Ok(_) => println!("the module does not enforce CKA_ALWAYS_AUTHENTICATE"),
    }
    // A wrong PIN fails the operation, and leaves the session usable.
    let err = session
        .sign(&mechanism, private.with_pin("0000"), b"data")
        .expect_err("a wrong PIN for the key signed");
    assert_eq!(err.return_value(), Some(ReturnValue::PinIncorrect), "{err}");
    assert!(session
        .sign(&mechanism, private.with_pin(f.env.pin.as_str()), b"data")
        .is_ok());
}
