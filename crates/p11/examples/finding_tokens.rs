//! Finding tokens: every slot and its token, then one token by label, and the errors a
//! search can end with.
use p11::Error;
use p11::{Library, MechanismType, TokenFilter};
use std::env::var;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lib = Library::load(var("PKCS11_MODULE")?)?;
    for slot in lib.get_slots(true)? {
        let token = slot.get_token()?;
        let description = slot.info()?.slot_description;
        println!("slot {description:?}: token {:?}", token.label());
    }
    let label = var("PKCS11_TOKEN_LABEL")?;
    let token = lib.get_token(&TokenFilter::new().label(&*label))?;
    println!("found {:?} by label", token.label());
    let with_aes = lib.get_tokens(&TokenFilter::new().mechanisms([MechanismType::AES_KEY_GEN]))?;
    println!("{} token(s) can generate AES keys", with_aes.len());
    match lib.get_token(&TokenFilter::new().label("no such token")) {
        Err(e @ Error::NoSuchToken { .. }) => println!("{e}"),
        other => println!("unexpected: {other:?}"),
    }
    Ok(())
}
