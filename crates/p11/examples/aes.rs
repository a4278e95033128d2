//! The seed's AES example: generate an AES-256 key, encrypt with a random IV.
use p11::{Decrypt, Encrypt, KeyType, Library, ObjectOptions, OpenOptions, TokenFilter};
use std::env::var;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lib = Library::load(var("PKCS11_MODULE")?)?;
    let token = lib.get_token(&TokenFilter::new().label(var("PKCS11_TOKEN_LABEL")?))?;
    let data = b"INPUT DATA";

    let session = token.open(&OpenOptions::new().user_pin(var("PKCS11_TOKEN_PIN")?))?;
    let key = session.generate_key(KeyType::AES, 256, &ObjectOptions::new())?;
    let iv = session.generate_random(128)?; // AES blocks are fixed at 128 bits
    let crypttext = key.with_param(&iv).encrypt(data)?;

    assert_eq!(key.with_param(&iv).decrypt(&crypttext)?, data);
    println!(
        "AES-256-CBC-PAD: {} bytes of plaintext, {} of ciphertext",
        data.len(),
        crypttext.len()
    );
    Ok(())
}
