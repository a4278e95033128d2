//! Keys the token already holds, made before the test (a smart card's keys are made once,
//! with its admin PIN, into fixed slots: OpenSC's OpenPGP card here): found by kind and
//! capability, used with the facade's defaults, and paired with their public halves by
//! `CKA_ID`.

use crate::defaults::session;
use p11::{
    AttributeType as A, Capabilities, Key, KeyQuery, KeyType, MechanismType as M, PrivateKey,
    PublicKey, Sign, Verify,
};

#[test]
fn rsa_keys_the_token_holds_sign_and_their_public_halves_verify() {
    let f = session();
    if !p11_tests::offers(&f.session, &[M::RSA_PKCS]) {
        return;
    }
    let signing = KeyQuery::new()
        .key_type(KeyType::RSA)
        .capable_of(Capabilities::SIGN);
    let held: Vec<PrivateKey> = f
        .session
        .get_keys(&signing)
        .unwrap()
        .collect::<p11::Result<_>>()
        .unwrap();
    let mut used = 0;
    for private in &held {
        let id = private.id().unwrap();
        if id.is_empty() {
            println!("an RSA key with no CKA_ID to pair it by: left out");
            continue;
        }
        let publics: Vec<PublicKey> = f
            .session
            .get_keys(&KeyQuery::new().key_type(KeyType::RSA).id(id.clone()))
            .unwrap()
            .collect::<p11::Result<_>>()
            .unwrap();
        let Some(public) = publics.first() else {
            println!("the RSA key {id:02x?} has no public half on the token: left out");
            continue;
        };
        // A key may ask for its PIN on every use (an OpenPGP card's, or another test's).
        let signature = if private.get::<bool>(A::ALWAYS_AUTHENTICATE).unwrap_or(false) {
            private.with_pin(f.env().pin.as_str()).sign(b"held")
        } else {
            private.sign(b"held")
        }
        .unwrap();
        assert!(public.verify(b"held", &signature).unwrap(), "{id:02x?}");
        assert!(!public.verify(b"other", &signature).unwrap(), "{id:02x?}");
        used += 1;
    }
    if used == 0 {
        println!("skipped: the token holds no RSA signing key with its public half");
    }
}
