//! Encrypting with other mechanisms: AES-GCM with additional data, AES-ECB, RSA PKCS #1
//! v1.5 and OAEP with SHA-256 parameters.
use p11::mechanisms::{GcmParams, Mgf, OaepParams};
use p11::{
    Decrypt, Encrypt, KeyType, Library, Mechanism, MechanismType as M, ObjectOptions, OpenOptions,
    TokenFilter,
};
use std::env::var;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lib = Library::load(var("PKCS11_MODULE")?)?;
    let token = lib.get_token(&TokenFilter::new().label(var("PKCS11_TOKEN_LABEL")?))?;
    let session = token.open(&OpenOptions::new().user_pin(var("PKCS11_TOKEN_PIN")?))?;
    let key = session.generate_key(KeyType::AES, 256, &ObjectOptions::new())?;

    let mut nonce = session.generate_random(96)?;
    let sealed = key
        .with_mechanism(Mechanism::with(
            M::AES_GCM,
            GcmParams::new(&mut nonce, b"header", 128)?,
        ))
        .encrypt(b"secret")?;
    let opened = key
        .with_mechanism(Mechanism::with(
            M::AES_GCM,
            GcmParams::new(&mut nonce, b"header", 128)?,
        ))
        .decrypt(&sealed)?;
    println!(
        "AES-GCM: {} bytes sealed (tag included), opened: {:?}",
        sealed.len(),
        String::from_utf8_lossy(&opened)
    );

    let block = key
        .with_mechanism(Mechanism::new(M::AES_ECB))
        .encrypt(&[7u8; 16])?;
    println!(
        "AES-ECB of one block: {} bytes (identical blocks encrypt identically)",
        block.len()
    );

    let (public, private) = session.generate_keypair(KeyType::RSA, 2048, &ObjectOptions::new())?;
    let pkcs1 = Mechanism::new(M::RSA_PKCS);
    println!(
        "RSA PKCS #1 v1.5: {:?}",
        String::from_utf8_lossy(
            &private
                .with_mechanism(&pkcs1)
                .decrypt(&public.with_mechanism(&pkcs1).encrypt(b"hello")?)?
        )
    );
    let sha256 = Mechanism::with(
        M::RSA_PKCS_OAEP,
        OaepParams::new(M::SHA256, Mgf::MGF1_SHA256),
    );
    match public.with_mechanism(&sha256).encrypt(b"hello") {
        Ok(c) => println!(
            "RSA OAEP-SHA256: {:?}",
            String::from_utf8_lossy(&private.with_mechanism(&sha256).decrypt(&c)?)
        ),
        Err(e) => println!("RSA OAEP-SHA256 refused by this token: {e}"),
    }
    Ok(())
}
