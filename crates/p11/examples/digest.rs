//! Digesting data, a stream, and a key's value inside the token.
use p11::{
    AttributeType as A, Key, KeyType, Library, MechanismType as M, ObjectOptions, OpenOptions,
    Template, TokenFilter,
};
use std::env::var;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lib = Library::load(var("PKCS11_MODULE")?)?;
    let token = lib.get_token(&TokenFilter::new().label(var("PKCS11_TOKEN_LABEL")?))?;
    let session = token.open(&OpenOptions::new().user_pin(var("PKCS11_TOKEN_PIN")?))?;
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();

    println!(
        "SHA-256(\"abc\") = {}",
        hex(&session.digest(M::SHA256, b"abc")?)
    );
    let mut stream = session.digester(M::SHA256)?;
    for part in [&b"a"[..], b"b", b"c"] {
        stream.update(part)?;
    }
    println!("the same, in parts   = {}", hex(&stream.finish()?));

    let readable = Template::new()
        .with(A::SENSITIVE, false)
        .with(A::EXTRACTABLE, true);
    let key = session.generate_key(KeyType::AES, 128, &ObjectOptions::new().template(readable))?;
    let mut inside = session.digester(M::SHA256)?;
    inside.update_key(&key)?;
    let inside = inside.finish()?;
    let value: Vec<u8> = key.get(A::VALUE)?;
    let outside = session.digest(M::SHA256, &value)?;
    assert_eq!(inside, outside);
    println!("SHA-256 of the key, in the token = {}", hex(&inside));
    Ok(())
}
