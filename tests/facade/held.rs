//! Keys the token holds for keeps: made as python-pkcs11's OpenSC example makes them, or
//! before the test (a smart card's keys are made once, with its admin PIN, into fixed
//! slots: OpenSC's OpenPGP card here); found by kind and capability, used with the
//! facade's defaults, and paired with their public halves by `CKA_ID`.

use crate::defaults::session;
use p11::{
    AttributeType as A, Capabilities, Error, Key, KeyQuery, KeyType, Library, Mechanism,
    MechanismType as M, ObjectOptions, OpenOptions, PrivateKey, PublicKey, ReturnValue, Sign,
    Storage, TokenFilter, Verify,
};
use std::process::Command;

/// python-pkcs11's OpenSC example (`generate_keypair(KeyType.RSA, 2048, store=True,
/// label=...)`): a token key pair that signs, its signature verified by OpenSSL with the
/// exported public key. A smart card makes keys only with its admin PIN logged in
/// (OpenSC's OpenPGP card answers the user `CKR_USER_NOT_LOGGED_IN`), into a free key
/// slot (`CKA_ID` 03 on that card; its set-up leaves it free), and reports the private
/// key not sensitive though its secret never leaves the card: the facade holds it to
/// what matters, that no part of the secret reads in the clear. Named to run before the
/// test of the keys the token held already, which then finds this one too.
#[test]
fn a_key_pair_made_for_keeps_signs_and_openssl_verifies_it() {
    let f = p11_tests::exclusive();
    if Command::new("openssl").arg("version").output().is_err() {
        println!("skipped: no `openssl` command");
        return;
    }
    let lib = Library::load_with(&f.env.module, p11_tests::init_args(&f.env)).unwrap();
    let token = lib
        .get_token(&TokenFilter::new().label(f.env.label.as_str()))
        .unwrap();
    let open_as_user = || {
        let options = OpenOptions::new().rw();
        if f.login {
            token.open(&options.user_pin(f.env.pin.as_str()))
        } else {
            token.open(&options)
        }
        .unwrap()
    };
    let user = open_as_user();
    if !p11_tests::offers(&user, &[M::RSA_PKCS_KEY_PAIR_GEN, M::SHA256_RSA_PKCS]) {
        return;
    }
    let id = format!("\x03{}", std::process::id()).into_bytes();
    let id = if token.info().unwrap().model == "PKCS#15 emulated" {
        vec![3] // the card's key slots are its only ids
    } else {
        id
    };
    let options = ObjectOptions::new()
        .storage(Storage::Token)
        .label("My RSA Keypair")
        .id(id.clone());
    let made = match user.generate_keypair(KeyType::RSA, 2048, &options) {
        Err(Error::Module {
            rv: ReturnValue::UserNotLoggedIn,
            ..
        }) => {
            let Some(so_pin) = f.env.so_pin() else {
                return;
            };
            println!("the token makes keys with its SO logged in");
            let so = token.open(&OpenOptions::new().rw().so_pin(so_pin)).unwrap();
            so.generate_keypair(KeyType::RSA, 2048, &options)
        }
        other => other,
    };
    let (public, private) = made.unwrap();
    assert!(
        private.get::<bool>(A::TOKEN).unwrap(),
        "kept on the token, as asked"
    );
    for secret in [A::PRIVATE_EXPONENT, A::PRIME_1, A::PRIME_2] {
        assert!(
            private.get::<Vec<u8>>(secret).is_err(),
            "{secret} is secret"
        );
    }
    drop((public, private, user));
    // The OpenPGP card's module serves keys C_GenerateKeyPair just made wrongly until it
    // is initialised again (C_Sign answers CKR_ARGUMENTS_BAD): as a new process would.
    lib.reinitialize().unwrap();
    let user = open_as_user();
    let query = KeyQuery::new().key_type(KeyType::RSA).id(id.clone());
    let private: PrivateKey = user.get_key(&query).unwrap();
    let public: PublicKey = user.get_key(&query).unwrap();
    let sha256 = Mechanism::new(M::SHA256_RSA_PKCS);
    let signature = if private.get::<bool>(A::ALWAYS_AUTHENTICATE).unwrap_or(false) {
        private
            .with_mechanism(&sha256)
            .with_pin(f.env.pin.as_str())
            .sign(b"made for keeps")
    } else {
        private.with_mechanism(&sha256).sign(b"made for keeps")
    }
    .unwrap();

    let dir = std::env::temp_dir().join(format!("p11-held-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("public.pem"), public.to_pem().unwrap()).unwrap();
    std::fs::write(dir.join("data"), b"made for keeps").unwrap();
    std::fs::write(dir.join("signature"), &signature).unwrap();
    let verify = |data: &str| {
        Command::new("openssl")
            .args(["dgst", "-sha256", "-verify", "public.pem", "-signature"])
            .args(["signature", data])
            .current_dir(&dir)
            .output()
            .unwrap()
    };
    let out = verify("data");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(dir.join("other"), b"made for keeps, then changed").unwrap();
    assert!(
        !verify("other").status.success(),
        "another text does not verify"
    );
    let _ = std::fs::remove_dir_all(&dir);
    if id.len() > 1 {
        // A token that destroys keys takes this one away again.
        let _ = (private.destroy(), public.destroy());
    }
}

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
