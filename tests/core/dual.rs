//! Signatures with recovery and dual-function operations, where a module offers them:
//! a capability probe decides, and says so when it skips.

use p11_core::{
    AttributeType as A, DualKind, Error, Mechanism, MechanismType as M, Session, Template,
};

fn unsupported(e: &Error) -> bool {
    e.is_not_supported() || e.return_value() == Some(p11_core::ReturnValue::MechanismInvalid)
}

/// Runs on any logged-in read/write session; returns what it could test.
pub fn recover_and_dual(session: &Session, module: &str) -> Vec<&'static str> {
    let mut tested = Vec::new();
    let (public, private) = p11_tests::rsa_pair(
        session,
        1024,
        Template::new().with(A::VERIFY_RECOVER, true),
        Template::new().with(A::SIGN_RECOVER, true),
    );
    let pkcs1 = Mechanism::new(M::RSA_PKCS);
    match session.sign_recover(&pkcs1, &private, b"recover me") {
        Ok(signature) => {
            assert_eq!(signature.len(), 128);
            let recovered = session.verify_recover(&pkcs1, &public, &signature).unwrap();
            assert_eq!(recovered, b"recover me");
            let mut wrong = signature.clone();
            wrong[5] ^= 1;
            assert!(session.verify_recover(&pkcs1, &public, &wrong).is_err());
            tested.push("sign/verify recover");
        }
        Err(e) if unsupported(&e) => println!("{module}: skipped signing with recovery: {e}"),
        Err(e) => panic!("{module}: sign_recover: {e}"),
    }

    let key = session
        .generate_key(
            &Mechanism::new(M::AES_KEY_GEN),
            &Template::new()
                .with(A::VALUE_LEN, 16u64)
                .with(A::ENCRYPT, true)
                .with(A::DECRYPT, true),
        )
        .unwrap();
    let iv = [3u8; 16];
    let cbc = Mechanism::with_iv(M::AES_CBC_PAD, &iv).unwrap();
    let sha256 = Mechanism::new(M::SHA256);
    let plain = vec![0x61u8; 100];
    match session.begin_dual(DualKind::DigestEncrypt, &cbc, &key, &sha256, None) {
        Ok(mut dual) => {
            let mut out = vec![0u8; 128];
            // Both inits may succeed on a module without the dual functions
            // (openCryptoki 3.8): then the update says so.
            match dual.update(&plain, &mut out) {
                Ok(n) => {
                    let (rest, digest) = dual.finish(None).unwrap();
                    let mut ciphertext = out[..n].to_vec();
                    ciphertext.extend(rest);
                    assert_eq!(ciphertext, session.encrypt(&cbc, &key, &plain).unwrap());
                    assert_eq!(digest, session.digest(&sha256, &plain).unwrap());
                    tested.push("digest-encrypt");
                }
                Err(e) if unsupported(&e) => {
                    println!("{module}: skipped dual-function: {e}")
                }
                Err(e) => panic!("{module}: C_DigestEncryptUpdate: {e}"),
            }
        }
        // Without dual-function operations the second init finds the first active.
        Err(e)
            if unsupported(&e)
                || e.return_value() == Some(p11_core::ReturnValue::OperationActive) =>
        {
            println!("{module}: skipped dual-function: {e}")
        }
        Err(e) => panic!("{module}: begin_dual: {e}"),
    }
    // Whatever happened, the session is free for the next operation.
    assert_eq!(session.digest(&sha256, b"abc").unwrap().len(), 32);
    tested
}

#[test]
fn recover_and_dual_function_on_softhsm() {
    let f = p11_tests::shared();
    let session = p11_tests::user_session(&f);
    if !p11_tests::offers(&session, &[M::RSA_PKCS_KEY_PAIR_GEN, M::AES_KEY_GEN]) {
        return;
    }
    let tested = recover_and_dual(&session, "SoftHSM");
    println!("SoftHSM offers: {tested:?}");
}
