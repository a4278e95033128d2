//! Streaming a file through AES: encrypt a file chunk by chunk into another (an
//! `io::Write` adapter, one buffer reused), then decrypt it back through an `io::Read`.
use p11::{Decrypt, Encrypt, KeyType, Library, ObjectOptions, OpenOptions, TokenFilter};
use std::env::var;
use std::io::{copy, Read};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lib = Library::load(var("PKCS11_MODULE")?)?;
    let token = lib.get_token(&TokenFilter::new().label(var("PKCS11_TOKEN_LABEL")?))?;
    let session = token.open(&OpenOptions::new().user_pin(var("PKCS11_TOKEN_PIN")?))?;
    let key = session.generate_key(KeyType::AES, 256, &ObjectOptions::new())?;
    let iv = session.generate_random(128)?;

    let dir = std::env::temp_dir();
    let (plain, sealed) = (
        dir.join("p11-example-plain"),
        dir.join("p11-example-sealed"),
    );
    let contents: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&plain, &contents)?;

    let mut writer = key
        .with_param(&iv)
        .encryptor()?
        .writer(std::fs::File::create(&sealed)?);
    copy(&mut std::fs::File::open(&plain)?, &mut writer)?;
    writer.finish()?;

    let mut decrypted = Vec::new();
    key.with_param(&iv)
        .decryptor()?
        .reader(std::fs::File::open(&sealed)?)
        .read_to_end(&mut decrypted)?;
    assert_eq!(decrypted, contents);
    println!(
        "streamed {} bytes through AES-CBC-PAD and back",
        contents.len()
    );
    std::fs::remove_file(plain)?;
    std::fs::remove_file(sealed)?;
    Ok(())
}
