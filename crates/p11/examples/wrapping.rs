//! Wrapping and unwrapping keys: an AES key under another AES key (AES_KEY_WRAP), and
//! under an RSA key (OAEP).
use p11::{
    AttributeType as A, Decrypt, Encrypt, KeyType, Library, ObjectOptions, OpenOptions, SecretKey,
    Template, TokenFilter, Unwrap, Wrap,
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
        &ObjectOptions::new().template(Template::new().with(A::EXTRACTABLE, true)),
    )?;
    let iv = [0u8; 16];
    let crypttext = key.with_param(&iv).encrypt(b"wrapped and back")?;

    let kek = session.generate_key(KeyType::AES, 256, &ObjectOptions::new())?;
    let wrapped = kek.wrap_key(&key)?;
    let unwrapped: SecretKey = kek.unwrap_key(KeyType::AES, &wrapped, &ObjectOptions::new())?;
    println!(
        "AES_KEY_WRAP: {} bytes; the unwrapped key decrypts: {:?}",
        wrapped.len(),
        String::from_utf8_lossy(&unwrapped.with_param(&iv).decrypt(&crypttext)?)
    );

    let (public, private) = session.generate_keypair(KeyType::RSA, 2048, &ObjectOptions::new())?;
    let wrapped = public.wrap_key(&key)?;
    let unwrapped: SecretKey = private.unwrap_key(KeyType::AES, &wrapped, &ObjectOptions::new())?;
    println!(
        "RSA OAEP wrap: {} bytes; the unwrapped key decrypts: {:?}",
        wrapped.len(),
        String::from_utf8_lossy(&unwrapped.with_param(&iv).decrypt(&crypttext)?)
    );
    Ok(())
}
