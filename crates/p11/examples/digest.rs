//! Digesting data, a stream, and a key's value inside the token.
use p11::{
    AttributeType as A, DigestPart, Key, KeyOptions, KeyType, Library, Mechanism,
    MechanismType as M, OpenOptions, Template, TokenFilter,
};
use std::env::var;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lib = Library::load(var("PKCS11_MODULE")?)?;
    let token = lib.get_token(&TokenFilter::new().label(var("PKCS11_TOKEN_LABEL")?))?;
    let session = token.open(&OpenOptions::new().user_pin(var("PKCS11_TOKEN_PIN")?))?;
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();

    println!(
        "SHA-256(\"abc\") = {}",
        hex(&session.digest(b"abc", M::SHA256)?)
    );
    let mut stream = session.core().begin_digest(&Mechanism::new(M::SHA256))?;
    for part in [&b"a"[..], b"b", b"c"] {
        stream.update(part)?;
    }
    println!("the same, in parts   = {}", hex(&stream.finish()?));

    let readable = Template::new()
        .with(A::SENSITIVE, false)
        .with(A::EXTRACTABLE, true);
    let key = session.generate_key(KeyType::AES, 128, &KeyOptions::new().template(readable))?;
    let inside = session.digest_chunks([DigestPart::Key(&key)], M::SHA256)?;
    let value = key.get(A::VALUE)?;
    let outside = session.digest(value.as_bytes().unwrap_or_default(), M::SHA256)?;
    assert_eq!(inside, outside);
    println!("SHA-256 of the key, in the token = {}", hex(&inside));
    Ok(())
}
