//! Generating keys: stored keys with labels and ids, templates that extend or remove the
//! secure defaults, key pairs of each type, and domain parameters.
use p11::{
    AttributeType as A, Capabilities, Key, KeyType, Library, ObjectOptions, OpenOptions, Storage,
    Template, TokenFilter,
};
use std::env::var;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lib = Library::load(var("PKCS11_MODULE")?)?;
    let token = lib.get_token(&TokenFilter::new().label(var("PKCS11_TOKEN_LABEL")?))?;
    let session = token.open(&OpenOptions::new().rw().user_pin(var("PKCS11_TOKEN_PIN")?))?;

    let stored = session.generate_key(
        KeyType::AES,
        256,
        &ObjectOptions::new()
            .storage(Storage::Token)
            .label("stored key")
            .id(vec![1, 2, 3]),
    )?;
    println!(
        "stored AES key: token object {:?}",
        stored.get::<bool>(A::TOKEN)?
    );
    // A key whose value may leave the token: extend the template, drop SENSITIVE.
    let exportable = Template::new()
        .with(A::EXTRACTABLE, true)
        .without(A::SENSITIVE);
    let key = session.generate_key(
        KeyType::AES,
        128,
        &ObjectOptions::new().template(exportable),
    )?;
    println!(
        "exportable AES key: {} bytes of value",
        key.get::<Vec<u8>>(A::VALUE)?.len()
    );
    let mac_only = ObjectOptions::new().capabilities(Capabilities::SIGN | Capabilities::VERIFY);
    session.generate_key(KeyType::GENERIC_SECRET, 256, &mac_only)?;
    for (key_type, bits) in [
        (KeyType::RSA, 2048),
        (KeyType::DSA, 1024),
        (KeyType::EC, 384),
        (KeyType::EC_EDWARDS, 255),
    ] {
        let (public, _private) = session.generate_keypair(key_type, bits, &ObjectOptions::new())?;
        println!(
            "{key_type} key pair of {bits} bits: public key type {:?}",
            public.key_type()
        );
    }
    let parameters = session.generate_domain_parameters(KeyType::DH, 512, &ObjectOptions::new())?;
    let (_public, _private) = parameters.generate_keypair(&ObjectOptions::new())?;
    println!("DH key pair from fresh 512-bit parameters");
    stored.destroy()?;
    Ok(())
}
