//! Post-quantum keys through the facade, with python-pkcs11 0.10.1's defaults: ML-DSA
//! signs with ML_DSA, ML-KEM encapsulates with ML_KEM, SLH-DSA signs with SLH_DSA. Run
//! where the token lists the mechanisms (kryoptic); elsewhere each says why it skips.

use crate::defaults::session;
use p11::mechanisms::{MlDsaParameterSet, MlKemParameterSet, SlhDsaParameterSet};
use p11::{
    AttributeType as A, Capabilities, Decapsulate, Encapsulate, Error, Key, KeyType,
    MechanismType as M, ObjectOptions, PrivateKey, PublicKey, Session, Sign, Template, Verify,
};

/// The facade session's mechanisms, probed as the core tests do.
pub(crate) fn offers(session: &Session, mechanisms: &[M]) -> bool {
    p11_tests::offers(session, mechanisms)
}

pub(crate) fn with_parameter_set(set: u64) -> ObjectOptions {
    ObjectOptions::new().public_template(Template::new().with(A::PARAMETER_SET, set))
}

/// A post-quantum session key pair of `key_type` with parameter set `set`.
pub(crate) fn pair(session: &Session, key_type: KeyType, set: u64) -> (PublicKey, PrivateKey) {
    session
        .generate_keypair(key_type, 0, &with_parameter_set(set))
        .unwrap()
}

#[test]
fn post_quantum_keys_need_a_parameter_set_not_a_size() {
    let f = session();
    for key_type in [KeyType::ML_DSA, KeyType::ML_KEM, KeyType::SLH_DSA] {
        let err = f
            .session
            .generate_keypair(key_type, 0, &ObjectOptions::new())
            .unwrap_err();
        assert!(
            matches!(&err, Error::SizedByParameterSet { key_type: k } if *k == key_type),
            "{err}"
        );
        assert!(err.to_string().contains("CKA_PARAMETER_SET"), "{err}");
        let err = f
            .session
            .generate_keypair(key_type, 256, &with_parameter_set(2))
            .unwrap_err();
        assert!(
            matches!(&err, Error::SizedByParameterSet { key_type: k } if *k == key_type),
            "{err}"
        );
        assert!(err.to_string().contains("0 bits"), "{err}");
    }
}

#[test]
fn ml_dsa_and_slh_dsa_sign_with_their_defaults() {
    let f = session();
    let sets = [
        (
            KeyType::ML_DSA,
            M::ML_DSA_KEY_PAIR_GEN,
            MlDsaParameterSet::ML_DSA_65.raw(),
        ),
        (
            KeyType::SLH_DSA,
            M::SLH_DSA_KEY_PAIR_GEN,
            SlhDsaParameterSet::SLH_DSA_SHA2_128F.raw(),
        ),
    ];
    for (key_type, generate, set) in sets {
        if !offers(&f.session, &[generate]) {
            continue;
        }
        let (public, private) = pair(&f.session, key_type, set);
        assert_eq!(
            public.capabilities().unwrap(),
            Capabilities::VERIFY,
            "{key_type}"
        );
        assert_eq!(
            private.capabilities().unwrap(),
            Capabilities::SIGN,
            "{key_type}"
        );
        let signature = private.sign(b"post-quantum").unwrap();
        assert!(public.verify(b"post-quantum", &signature).unwrap());
        assert!(!public.verify(b"post-quantum!", &signature).unwrap());
        let mut signer = private.signer().unwrap();
        signer.update(b"post-").unwrap();
        signer.update(b"quantum").unwrap();
        let streamed = signer.finish().unwrap();
        assert!(public.verify(b"post-quantum", &streamed).unwrap());
    }
}

#[test]
fn ml_kem_sends_a_key_that_both_ends_hold() {
    let f = session();
    if !offers(&f.session, &[M::ML_KEM_KEY_PAIR_GEN, M::ML_KEM]) {
        return;
    }
    let (public, private) = pair(
        &f.session,
        KeyType::ML_KEM,
        MlKemParameterSet::ML_KEM_768.raw(),
    );
    assert_eq!(public.capabilities().unwrap(), Capabilities::ENCAPSULATE);
    assert_eq!(private.capabilities().unwrap(), Capabilities::DECAPSULATE);
    // The shared secret as an HMAC key: equal keys give equal MACs, and neither end
    // needs to read the (sensitive) value.
    let (ciphertext, sent) = public
        .encapsulate_key(KeyType::GENERIC_SECRET, 0, &ObjectOptions::new())
        .unwrap();
    assert_eq!(ciphertext.len(), 1088);
    let received = private
        .decapsulate_key(
            &ciphertext,
            KeyType::GENERIC_SECRET,
            0,
            &ObjectOptions::new(),
        )
        .unwrap();
    assert!(sent.capabilities().unwrap().contains(Capabilities::SIGN));
    assert_eq!(
        sent.sign(b"hello").unwrap(),
        received.sign(b"hello").unwrap()
    );
    assert!(flag_is(&received, A::SENSITIVE, true));
    // A length asked for is the key's length.
    let (ciphertext, aes) = public
        .encapsulate_key(KeyType::AES, 256, &ObjectOptions::new())
        .unwrap();
    assert_eq!(aes.key_length().unwrap(), 256);
    let again = private
        .decapsulate_key(&ciphertext, KeyType::AES, 256, &ObjectOptions::new())
        .unwrap();
    assert_eq!(again.key_type(), KeyType::AES);
}

fn flag_is(key: &impl Key, ty: A, value: bool) -> bool {
    key.get::<bool>(ty).unwrap() == value
}
