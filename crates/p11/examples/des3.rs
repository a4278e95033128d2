//! The seed's 3DES example: generate a DES3 key, encrypt with a random IV.
use p11::{Decrypt, Encrypt, KeyType, Library, ObjectOptions, OpenOptions, TokenFilter};
use std::env::var;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lib = Library::load(var("PKCS11_MODULE")?)?;
    let token = lib.get_token(&TokenFilter::new().label(var("PKCS11_TOKEN_LABEL")?))?;
    let data = b"INPUT DATA";

    let session = token.open(&OpenOptions::new().user_pin(var("PKCS11_TOKEN_PIN")?))?;
    let key = session.generate_key(KeyType::DES3, 0, &ObjectOptions::new())?;
    let iv = session.generate_random(64)?; // DES blocks are fixed at 64 bits
    let crypttext = key.with_param(&iv).encrypt(data)?;

    assert_eq!(key.with_param(&iv).decrypt(&crypttext)?, data);
    println!("DES3-CBC-PAD: {} bytes of ciphertext", crypttext.len());
    Ok(())
}
