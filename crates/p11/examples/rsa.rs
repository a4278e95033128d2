//! The seed's RSA example: generate an RSA-2048 key pair, encrypt one block (OAEP).
use p11::{Decrypt, Encrypt, KeyType, Library, ObjectOptions, OpenOptions, TokenFilter};
use std::env::var;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lib = Library::load(var("PKCS11_MODULE")?)?;
    let token = lib.get_token(&TokenFilter::new().label(var("PKCS11_TOKEN_LABEL")?))?;
    let data = b"INPUT DATA";

    let session = token.open(&OpenOptions::new().user_pin(var("PKCS11_TOKEN_PIN")?))?;
    let (public, private) = session.generate_keypair(KeyType::RSA, 2048, &ObjectOptions::new())?;
    let crypttext = public.encrypt(data)?;

    assert_eq!(private.decrypt(&crypttext)?, data);
    println!("RSA-2048 OAEP: {} bytes of ciphertext", crypttext.len());
    Ok(())
}
