//! The seed's DSA example: generate a DSA-1024 key pair (parameters first), sign.
use p11::{KeyType, Library, ObjectOptions, OpenOptions, Sign, TokenFilter, Verify};
use std::env::var;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lib = Library::load(var("PKCS11_MODULE")?)?;
    let token = lib.get_token(&TokenFilter::new().label(var("PKCS11_TOKEN_LABEL")?))?;
    let data = b"INPUT DATA";

    let session = token.open(&OpenOptions::new().user_pin(var("PKCS11_TOKEN_PIN")?))?;
    let (public, private) = session.generate_keypair(KeyType::DSA, 1024, &ObjectOptions::new())?;
    let signature = private.sign(data)?;

    assert!(public.verify(data, &signature)?);
    println!(
        "DSA (DSA_SHA512, composed where the token lacks it): {}-byte signature",
        signature.len()
    );
    Ok(())
}
