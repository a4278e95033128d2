//! Token keys as RustCrypto signers: signatures made on the token verify with
//! RustCrypto's own verifiers, and with keys decoded from p11's SubjectPublicKeyInfo.

use crate::defaults::session;
use p11::rustcrypto::signature::{Keypair, Signer, Verifier};
use p11::rustcrypto::spki::{DecodePublicKey, EncodePublicKey};
use p11::rustcrypto::{
    ed25519, ed25519_dalek, p256, p384, rsa, sha2, EcdsaSigner, Ed25519Signer, RsaPkcs1v15Signer,
    RsaPssSigner,
};
use p11::{KeyType, MechanismType as M};

#[test]
fn ecdsa_signatures_verify_with_rustcrypto() {
    let f = session();
    if !p11_tests::offers(&f.session, &[M::EC_KEY_PAIR_GEN, M::ECDSA]) {
        return;
    }
    let (public, private) = f
        .session
        .generate_keypair(KeyType::EC, 256, &f.options())
        .unwrap();
    let signer = EcdsaSigner::<p256::NistP256>::new(private, &public).unwrap();
    let fixed: p256::ecdsa::Signature = signer.try_sign(b"to the point").unwrap();
    let der: p256::ecdsa::DerSignature = signer.try_sign(b"to the point").unwrap();
    let verifying = signer.verifying_key();
    verifying.verify(b"to the point", &fixed).unwrap();
    verifying.verify(b"to the point", &der).unwrap();
    assert!(verifying.verify(b"beside the point", &fixed).is_err());
    // The same key, decoded from what p11 encodes.
    let decoded = p256::ecdsa::VerifyingKey::from_public_key_der(
        public.to_public_key_der().unwrap().as_bytes(),
    )
    .unwrap();
    assert_eq!(decoded, verifying);

    let (public, private) = f
        .session
        .generate_keypair(KeyType::EC, 384, &f.options())
        .unwrap();
    let signer = EcdsaSigner::<p384::NistP384>::new(private, &public).unwrap();
    let signature: p384::ecdsa::Signature = signer.try_sign(b"P-384").unwrap();
    signer.verifying_key().verify(b"P-384", &signature).unwrap();
    // A P-384 key is no P-256 signer.
    let (public, private) = f
        .session
        .generate_keypair(KeyType::EC, 384, &f.options())
        .unwrap();
    assert!(EcdsaSigner::<p256::NistP256>::new(private, &public).is_err());
}

#[test]
fn rsa_pkcs1_and_pss_signatures_verify_with_rustcrypto() {
    let f = session();
    if !p11_tests::offers(
        &f.session,
        &[M::RSA_PKCS_KEY_PAIR_GEN, M::RSA_PKCS, M::RSA_PKCS_PSS],
    ) {
        return;
    }
    let (public, private) = f
        .session
        .generate_keypair(KeyType::RSA, 2048, &f.options())
        .unwrap();
    let pkcs1 = RsaPkcs1v15Signer::<sha2::Sha256>::new(private.clone(), &public).unwrap();
    let signature: rsa::pkcs1v15::Signature = pkcs1.try_sign(b"rsa").unwrap();
    pkcs1.verifying_key().verify(b"rsa", &signature).unwrap();
    assert!(pkcs1.verifying_key().verify(b"asr", &signature).is_err());

    let pss = RsaPssSigner::<sha2::Sha256>::new(private, &public).unwrap();
    let signature: rsa::pss::Signature = pss.try_sign(b"salted").unwrap();
    pss.verifying_key().verify(b"salted", &signature).unwrap();
    // PSS is randomised: another signature, as valid.
    let again: rsa::pss::Signature = pss.try_sign(b"salted").unwrap();
    assert_ne!(signature, again);
    pss.verifying_key().verify(b"salted", &again).unwrap();
}

#[test]
fn ed25519_signatures_verify_with_dalek() {
    let f = session();
    if !p11_tests::offers(&f.session, &[p11::MechanismType::EDDSA]) {
        return;
    }
    let (public, private) = f
        .session
        .generate_keypair(KeyType::EC_EDWARDS, 255, &f.options())
        .unwrap();
    let signer = Ed25519Signer::new(private, &public).unwrap();
    let signature: ed25519::Signature = signer.try_sign(b"edwards").unwrap();
    let verifying: ed25519_dalek::VerifyingKey = signer.verifying_key();
    verifying.verify_strict(b"edwards", &signature).unwrap();
    assert!(verifying.verify(b"edward", &signature).is_err());
}
