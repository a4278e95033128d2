//! Post-quantum keys checked against RustCrypto's independent implementations
//! (`ml-dsa`, `ml-kem`, `slh-dsa`): p11-asn1 writes and reads the same SubjectPublicKeyInfo
//! and PKCS #8 bytes; token signatures verify there and RustCrypto's here; keys made
//! there import into the token and sign byte for byte alike (deterministic variants);
//! encapsulations made on either side decapsulate to the same secret on the other. The
//! token tests run where it lists the mechanisms (kryoptic) and say why they skip
//! elsewhere.

use crate::defaults::session;
use crate::post_quantum::{offers, pair};
use ml_dsa::pkcs8::{DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ml_dsa::signature::{Keypair, Signer, Verifier};
use ml_dsa::MlDsa65;
use ml_kem::{Decapsulate, Encapsulate, KeyExport, MlKem768};
use p11::asn1::{PostQuantumAlgorithm as Pq, PrivateKey, PublicKey};
use p11::mechanisms::{Hedge, SignAdditionalContext};
use p11::{
    AttributeType as A, Decapsulate as _, Encapsulate as _, Key, KeyType, Mechanism,
    MechanismType as M, ObjectOptions, Sign, Template, Verify,
};
use slh_dsa::Sha2_128f;

/// A private key RustCrypto made, imported from its PKCS #8 DER.
fn import_pkcs8(session: &p11::Session, der: &[u8]) -> p11::PrivateKey {
    session
        .import_private_key(der, &ObjectOptions::new())
        .unwrap()
}

fn ml_dsa_key() -> ml_dsa::SigningKey<MlDsa65> {
    ml_dsa::SigningKey::<MlDsa65>::from_seed(&[0x44; 32].into())
}

fn ml_kem_key() -> ml_kem::DecapsulationKey<MlKem768> {
    ml_kem::DecapsulationKey::<MlKem768>::from_seed([0x4b; 64].into())
}

fn slh_dsa_key() -> slh_dsa::SigningKey<Sha2_128f> {
    slh_dsa::SigningKey::<Sha2_128f>::slh_keygen_internal(&[1; 16], &[2; 16], &[3; 16])
}

/// p11-asn1 reads RustCrypto's encodings as the right algorithm and key, and writes
/// them again byte for byte.
fn same_encodings(algorithm: Pq, spki: &[u8], raw_public: &[u8], pkcs8: &[u8]) {
    let public = PublicKey::from_spki_der(spki).unwrap();
    assert_eq!(
        public,
        PublicKey::PostQuantum {
            algorithm,
            key: raw_public.to_vec()
        },
        "{algorithm}"
    );
    assert_eq!(public.to_spki_der().unwrap(), spki, "{algorithm}");
    let private = PrivateKey::from_pkcs8_der(pkcs8).unwrap();
    assert!(
        matches!(&private, PrivateKey::PostQuantum(k) if k.algorithm() == algorithm),
        "{algorithm}: {private:?}"
    );
    assert_eq!(&*private.to_pkcs8_der().unwrap(), pkcs8, "{algorithm}");
}

#[test]
fn p11_asn1_writes_the_post_quantum_encodings_rustcrypto_writes() {
    let dsa = ml_dsa_key();
    let verifying = dsa.verifying_key();
    same_encodings(
        Pq::MlDsa65,
        verifying.to_public_key_der().unwrap().as_bytes(),
        &verifying.encode(),
        dsa.to_pkcs8_der().unwrap().as_bytes(),
    );
    let kem = ml_kem_key();
    same_encodings(
        Pq::MlKem768,
        kem.encapsulation_key()
            .to_public_key_der()
            .unwrap()
            .as_bytes(),
        &kem.encapsulation_key().to_bytes(),
        kem.to_pkcs8_der().unwrap().as_bytes(),
    );
    let slh = slh_dsa_key();
    same_encodings(
        Pq::SlhDsaSha2_128f,
        slh.as_ref().to_public_key_der().unwrap().as_bytes(),
        &slh.as_ref().to_vec(),
        slh.to_pkcs8_der().unwrap().as_bytes(),
    );
    // The seed forms carry the seeds RustCrypto was given.
    let PrivateKey::PostQuantum(key) =
        PrivateKey::from_pkcs8_der(ml_kem_key().to_pkcs8_der().unwrap().as_bytes()).unwrap()
    else {
        unreachable!("checked above")
    };
    assert_eq!(key.seed(), Some(&[0x4b; 64][..]));
    assert_eq!(key.key(), None);
}

fn deterministic(mechanism: M, context: &[u8]) -> Mechanism<'_> {
    Mechanism::with(
        mechanism,
        SignAdditionalContext::new(Hedge::Deterministic, context),
    )
}

#[test]
fn ml_dsa_signatures_cross_between_the_token_and_rustcrypto() {
    let f = session();
    if !offers(&f.session, &[M::ML_DSA_KEY_PAIR_GEN, M::ML_DSA]) {
        return;
    }
    use p11::mechanisms::MlDsaParameterSet;
    // The token's key, its public half read by RustCrypto from p11's SPKI.
    let (public, private) = pair(
        &f.session,
        KeyType::ML_DSA,
        MlDsaParameterSet::ML_DSA_65.raw(),
    );
    let theirs =
        ml_dsa::VerifyingKey::<MlDsa65>::from_public_key_der(&public.to_spki_der().unwrap())
            .unwrap();
    let signature = private.sign(b"made on the token").unwrap();
    let signature = ml_dsa::Signature::<MlDsa65>::try_from(signature.as_slice()).unwrap();
    theirs.verify(b"made on the token", &signature).unwrap();
    assert!(theirs.verify(b"made elsewhere", &signature).is_err());
    let with_context = private
        .with_mechanism(deterministic(M::ML_DSA, b"ctx"))
        .sign(b"in context")
        .unwrap();
    let with_context = ml_dsa::Signature::<MlDsa65>::try_from(with_context.as_slice()).unwrap();
    assert!(theirs.verify_with_context(b"in context", b"ctx", &with_context));
    assert!(!theirs.verify_with_context(b"in context", b"other", &with_context));

    // RustCrypto's key, imported from PKCS #8 (its seed form): the token's deterministic
    // signature is RustCrypto's, byte for byte.
    let key = ml_dsa_key();
    let imported = import_pkcs8(&f.session, key.to_pkcs8_der().unwrap().as_bytes());
    assert_eq!(imported.key_type(), KeyType::ML_DSA);
    let ours = imported
        .with_mechanism(deterministic(M::ML_DSA, b"ctx"))
        .sign(b"same bytes")
        .unwrap();
    let expected = key
        .expanded_key()
        .sign_deterministic(b"same bytes", b"ctx")
        .unwrap();
    assert_eq!(ours, expected.encode().to_vec());
    // And RustCrypto's public key, imported from SPKI, verifies RustCrypto's signature.
    let spki = key.verifying_key().to_public_key_der().unwrap();
    let their_public = f
        .session
        .import_public_key(spki.as_bytes(), &ObjectOptions::new())
        .unwrap();
    let signature = key.sign(b"made by RustCrypto").encode().to_vec();
    assert!(their_public
        .verify(b"made by RustCrypto", &signature)
        .unwrap());
    assert!(!their_public.verify(b"changed", &signature).unwrap());
}

#[test]
fn slh_dsa_signatures_cross_between_the_token_and_rustcrypto() {
    let f = session();
    if !offers(&f.session, &[M::SLH_DSA_KEY_PAIR_GEN, M::SLH_DSA]) {
        return;
    }
    use p11::mechanisms::SlhDsaParameterSet;
    let (public, private) = pair(
        &f.session,
        KeyType::SLH_DSA,
        SlhDsaParameterSet::SLH_DSA_SHA2_128F.raw(),
    );
    let theirs =
        slh_dsa::VerifyingKey::<Sha2_128f>::from_public_key_der(&public.to_spki_der().unwrap())
            .unwrap();
    let signature = private.sign(b"made on the token").unwrap();
    let signature = slh_dsa::Signature::<Sha2_128f>::try_from(signature.as_slice()).unwrap();
    theirs.verify(b"made on the token", &signature).unwrap();
    assert!(theirs.verify(b"made elsewhere", &signature).is_err());

    // RustCrypto's key from PKCS #8: deterministic SLH-DSA is one signature per message.
    let key = slh_dsa_key();
    let imported = import_pkcs8(&f.session, key.to_pkcs8_der().unwrap().as_bytes());
    let ours = imported
        .with_mechanism(deterministic(M::SLH_DSA, b""))
        .sign(b"same bytes")
        .unwrap();
    let expected: slh_dsa::Signature<Sha2_128f> = key.sign(b"same bytes");
    assert_eq!(ours, expected.to_vec());
}

/// A template for the shared secret that lets the test read it.
fn readable() -> ObjectOptions {
    ObjectOptions::new().template(
        Template::new()
            .with(A::SENSITIVE, false)
            .with(A::EXTRACTABLE, true),
    )
}

fn value(key: &impl Key) -> Vec<u8> {
    key.get::<Vec<u8>>(A::VALUE).unwrap()
}

#[test]
fn ml_kem_secrets_agree_between_the_token_and_rustcrypto() {
    let f = session();
    if !offers(&f.session, &[M::ML_KEM_KEY_PAIR_GEN, M::ML_KEM]) {
        return;
    }
    use p11::mechanisms::MlKemParameterSet;
    // RustCrypto encapsulates to the token's public key; the token decapsulates.
    let (public, private) = pair(
        &f.session,
        KeyType::ML_KEM,
        MlKemParameterSet::ML_KEM_768.raw(),
    );
    let theirs =
        ml_kem::EncapsulationKey::<MlKem768>::from_public_key_der(&public.to_spki_der().unwrap())
            .unwrap();
    let (ciphertext, shared) = theirs.encapsulate();
    let received = private
        .decapsulate_key(&ciphertext, KeyType::GENERIC_SECRET, 0, &readable())
        .unwrap();
    assert_eq!(value(&received), shared.to_vec());

    // The token encapsulates to RustCrypto's public key (imported from SPKI); RustCrypto
    // decapsulates.
    let key = ml_kem_key();
    let spki = key.encapsulation_key().to_public_key_der().unwrap();
    let their_public = f
        .session
        .import_public_key(spki.as_bytes(), &ObjectOptions::new())
        .unwrap();
    let (ciphertext, sent) = their_public
        .encapsulate_key(KeyType::GENERIC_SECRET, 0, &readable())
        .unwrap();
    let shared = key.decapsulate_slice(&ciphertext).unwrap();
    assert_eq!(value(&sent), shared.to_vec());

    // RustCrypto's private key, imported from PKCS #8, decapsulates what RustCrypto sent.
    let imported = import_pkcs8(&f.session, key.to_pkcs8_der().unwrap().as_bytes());
    let (ciphertext, shared) = key.encapsulation_key().encapsulate();
    let received = imported
        .decapsulate_key(&ciphertext, KeyType::GENERIC_SECRET, 0, &readable())
        .unwrap();
    assert_eq!(value(&received), shared.to_vec());
}
