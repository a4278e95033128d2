//! Finding objects: keys by label and id, and every object matching a template.
use p11::{
    AttributeType as A, Key, KeyQuery, KeyType, Library, ObjectClass, ObjectOptions, OpenOptions,
    SecretKey, Template, TokenFilter,
};
use std::env::var;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lib = Library::load(var("PKCS11_MODULE")?)?;
    let token = lib.get_token(&TokenFilter::new().label(var("PKCS11_TOKEN_LABEL")?))?;
    let session = token.open(&OpenOptions::new().rw().user_pin(var("PKCS11_TOKEN_PIN")?))?;
    for label in ["alpha", "beta", "gamma"] {
        session.generate_key(
            KeyType::AES,
            128,
            &ObjectOptions::new()
                .label(label)
                .id(label.as_bytes().to_vec()),
        )?;
    }
    let beta: SecretKey = session.get_key(&KeyQuery::new().key_type(KeyType::AES).label("beta"))?;
    println!("get_key by label: {:?}, id {:?}", beta.label()?, beta.id()?);
    let secret_keys =
        session.get_objects(&Template::new().with(A::CLASS, ObjectClass::SECRET_KEY))?;
    println!("{} secret keys visible to this session", secret_keys.len());
    Ok(())
}
