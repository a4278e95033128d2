//! Post-quantum keys (PKCS#11 3.2, as python-pkcs11 0.10.1 has them): an ML-DSA-65
//! signature, and an ML-KEM-768 key exchange that gives both ends the same AES key.
//! `cargo xtask demo` runs it on kryoptic; a token without the mechanisms says so.
use p11::mechanisms::{MlDsaParameterSet, MlKemParameterSet};
use p11::{
    AttributeType as A, Decapsulate, Decrypt, Encapsulate, Encrypt, KeyType, Library,
    MechanismType as M, ObjectOptions, OpenOptions, Sign, Template, TokenFilter, Verify,
};
use std::env::var;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lib = Library::load(var("PKCS11_MODULE")?)?;
    let token = lib.get_token(&TokenFilter::new().label(var("PKCS11_TOKEN_LABEL")?))?;
    let session = token.open(&OpenOptions::new().user_pin(var("PKCS11_TOKEN_PIN")?))?;
    for m in [M::ML_DSA_KEY_PAIR_GEN, M::ML_KEM_KEY_PAIR_GEN] {
        if !session.has_mechanism(m)? {
            println!("this token has no {m}: nothing to show (cargo xtask kryoptic makes one)");
            return Ok(());
        }
    }

    // The parameter set is the key's size.
    let ml_dsa_65 = ObjectOptions::new()
        .public_template(Template::new().with(A::PARAMETER_SET, MlDsaParameterSet::ML_DSA_65));
    let (public, private) = session.generate_keypair(KeyType::ML_DSA, 0, &ml_dsa_65)?;
    let signature = private.sign(b"a message for the future")?;
    println!("ML-DSA-65 signature: {} bytes", signature.len());
    assert!(public.verify(b"a message for the future", &signature)?);
    // Anyone can check it with the public key, exported as SubjectPublicKeyInfo.
    let spki = public.to_spki_der()?;
    println!(
        "ML-DSA-65 public key: {} bytes of SubjectPublicKeyInfo",
        spki.len()
    );

    // Alice publishes an ML-KEM public key; Bob encapsulates an AES key to it and sends
    // the ciphertext; Alice decapsulates the same key.
    let ml_kem_768 = ObjectOptions::new()
        .public_template(Template::new().with(A::PARAMETER_SET, MlKemParameterSet::ML_KEM_768));
    let (alice_public, alice_private) =
        session.generate_keypair(KeyType::ML_KEM, 0, &ml_kem_768)?;
    let (ciphertext, bobs_key) =
        alice_public.encapsulate_key(KeyType::AES, 256, &ObjectOptions::new())?;
    println!("ML-KEM-768 ciphertext: {} bytes", ciphertext.len());
    let alices_key =
        alice_private.decapsulate_key(&ciphertext, KeyType::AES, 256, &ObjectOptions::new())?;

    let iv = session.generate_random(128)?;
    let secret = bobs_key.with_param(&iv).encrypt(b"attack at dawn")?;
    let plain = alices_key.with_param(&iv).decrypt(&secret)?;
    assert_eq!(plain, b"attack at dawn");
    println!("Alice read Bob's message with the key they share");
    Ok(())
}
