//! Wrapping and unwrapping keys: an AES key under another AES key (AES_KEY_WRAP), and
//! under an RSA key (OAEP).
use p11::{
    AttributeType as A, Decrypt, Encrypt, KeyOptions, KeyType, Library, OpenOptions, Template,
    TokenFilter, Unwrap, Wrap,
};
use std::env::var;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lib = Library::load(var("PKCS11_MODULE")?)?;
    let token = lib.get_token(&TokenFilter::new().label(var("PKCS11_TOKEN_LABEL")?))?;
    let session = token.open(&OpenOptions::new().user_pin(var("PKCS11_TOKEN_PIN")?))?;
    // The key to move must be extractable; it stays sensitive.
    let key = session.generate_key(
        KeyType::AES,
        128,
        &KeyOptions::new().template(Template::new().with(A::EXTRACTABLE, true)),
    )?;
    let iv = [0u8; 16];
    let crypttext = key.encrypt_param(b"wrapped and back", iv.as_slice())?;

    let kek = session.generate_key(KeyType::AES, 256, &KeyOptions::new())?;
    let wrapped = kek.wrap_key(&key)?;
    let unwrapped = kek.unwrap_key(KeyType::AES, &wrapped, &Template::new())?;
    println!(
        "AES_KEY_WRAP: {} bytes; the unwrapped key decrypts: {:?}",
        wrapped.len(),
        String::from_utf8_lossy(&unwrapped.decrypt_param(&crypttext, iv.as_slice())?)
    );

    let (public, private) = session.generate_keypair(KeyType::RSA, 2048, &KeyOptions::new())?;
    let wrapped = public.wrap_key(&key)?;
    let unwrapped = private.unwrap_key(KeyType::AES, &wrapped, &Template::new())?;
    println!(
        "RSA OAEP wrap: {} bytes; the unwrapped key decrypts: {:?}",
        wrapped.len(),
        String::from_utf8_lossy(&unwrapped.decrypt_param(&crypttext, iv.as_slice())?)
    );
    Ok(())
}
