use p11::mechanisms::Ecdh1DeriveParams;
use p11::{
    AttributeType as A, Capabilities, Decrypt, Derive, Encrypt, Key, KeyType, Library,
    MechanismType as M, ObjectOptions, OpenOptions, Operation, Session, Sign, Storage, Template,
    TokenFilter, Unwrap, Verify, Wrap,
};
use p11_tests::concat;

pub struct Fixture {
    pub session: Session,
    _guard: p11_tests::Fixture<std::sync::RwLockReadGuard<'static, ()>>,
}

/// A facade session on the test token, logged in (holding the shared test lock).
pub fn session() -> Fixture {
    let guard = p11_tests::shared();
    let lib = Library::load_with(&guard.env.module, p11_tests::init_args(&guard.env)).unwrap();
    let token = lib
        .get_token(&TokenFilter::new().label(&*guard.env.label))
        .unwrap();
    let options = OpenOptions::new().rw();
    let options = if guard.login {
        options.user_pin(guard.env.pin.as_str())
    } else {
        options
    };
    let session = token.open(&options).unwrap();
    Fixture {
        session,
        _guard: guard,
    }
}

impl Fixture {
    /// The test environment.
    pub fn env(&self) -> &p11_tests::TestEnv {
        &self._guard.env
    }

    /// Options for the keys a test makes: python's defaults, as token objects where the
    /// token makes no session keys (tpm2-pkcs11; its store is made afresh for each run,
    /// which takes them away).
    pub fn options(&self) -> ObjectOptions {
        if p11_tests::keeps_session_keys(&self._guard) {
            ObjectOptions::new()
        } else {
            ObjectOptions::new().storage(Storage::Token)
        }
    }

    /// As [`p11_tests::Fixture::logs_in`].
    pub fn logs_in(&self) -> bool {
        self._guard.logs_in()
    }

    /// As [`p11_tests::Fixture::has_rng`].
    pub fn has_rng(&self) -> bool {
        self._guard.has_rng()
    }
}

/// Whether the token offers every default mechanism of `key_type` (making the key,
/// encrypting, signing, wrapping, deriving with it), printing what it lacks when not.
pub fn offers_defaults(f: &Fixture, key_type: KeyType) -> bool {
    if p11::default_capabilities(key_type).is_none() {
        println!("skipped: p11 has no defaults for {key_type}");
        return false;
    }
    let used: Vec<M> = [
        Operation::Generate,
        Operation::Encrypt,
        Operation::Sign,
        Operation::Wrap,
        Operation::Derive,
    ]
    .into_iter()
    .filter_map(|operation| p11::default_mechanism(key_type, operation))
    .collect();
    p11_tests::offers(&f.session, &used)
}

fn flag(key: &impl Key, ty: A) -> bool {
    key.get::<bool>(ty).unwrap()
}

#[test]
fn generated_secret_keys_are_private_sensitive_and_not_extractable() {
    let f = session();
    if !p11_tests::offers(&f.session, &[M::AES_KEY_GEN]) {
        return;
    }
    let key = f
        .session
        .generate_key(KeyType::AES, 128, &f.options().label("facade"))
        .unwrap();
    assert!(flag(&key, A::PRIVATE) && flag(&key, A::SENSITIVE));
    assert!(!flag(&key, A::EXTRACTABLE) && !flag(&key, A::TOKEN));
    assert_eq!(key.label().unwrap(), "facade");
    assert!(
        key.get::<Vec<u8>>(A::VALUE).is_err(),
        "a sensitive key hides its value"
    );
    for ty in [
        A::ENCRYPT,
        A::DECRYPT,
        A::SIGN,
        A::VERIFY,
        A::WRAP,
        A::UNWRAP,
    ] {
        assert!(flag(&key, ty), "{ty}");
    }
    assert!(!flag(&key, A::DERIVE), "AES keys do not derive by default");
}

#[test]
fn a_template_extends_the_defaults_and_can_remove_them() {
    let f = session();
    if !p11_tests::offers(&f.session, &[M::AES_KEY_GEN]) {
        return;
    }
    let options = f
        .options()
        .template(
            Template::new()
                .with(A::EXTRACTABLE, true)
                .without(A::SENSITIVE),
        )
        .capabilities(Capabilities::ENCRYPT | Capabilities::DECRYPT);
    assert_eq!(
        options.secret_key_template(KeyType::AES).get(A::SENSITIVE),
        None
    );
    let key = f.session.generate_key(KeyType::AES, 256, &options).unwrap();
    assert!(flag(&key, A::EXTRACTABLE));
    // SENSITIVE left to the token: SoftHSM defaults to false, and the value is readable;
    // kryoptic to true.
    if flag(&key, A::SENSITIVE) {
        println!("the token makes secret keys sensitive unless told otherwise");
    } else {
        assert_eq!(key.get::<Vec<u8>>(A::VALUE).unwrap().len(), 32);
    }
    assert!(!flag(&key, A::SIGN), "capabilities replaced");
    let (public, private) = f
        .session
        .generate_keypair(
            KeyType::RSA,
            1024,
            &f.options().storage(Storage::Token).id(b"pair".to_vec()),
        )
        .unwrap();
    assert!(flag(&public, A::TOKEN) && flag(&private, A::TOKEN));
    assert!(!flag(&public, A::PRIVATE) && flag(&private, A::SENSITIVE));
    assert_eq!(private.get::<Vec<u8>>(A::ID).unwrap(), b"pair".as_slice());
    public.destroy().unwrap();
    private.destroy().unwrap();
}

#[test]
fn aes_and_des3_defaults_encrypt_sign_and_wrap() {
    let f = session();
    for (key_type, bits, block) in [
        (KeyType::AES, 256, 16),
        (KeyType::DES3, 0, 8),
        (KeyType::DES2, 0, 8),
    ] {
        if !offers_defaults(&f, key_type) {
            continue;
        }
        let key = f
            .session
            .generate_key(key_type, bits, &f.options())
            .unwrap();
        let iv = f.session.generate_random(block * 8).unwrap();
        let crypttext = key.with_param(&iv).encrypt(b"some data").unwrap();
        assert_eq!(
            crypttext.len(),
            (9 / block + 1) * block,
            "{key_type}: CBC_PAD"
        );
        assert_eq!(
            key.with_param(&iv).decrypt(&crypttext).unwrap(),
            b"some data"
        );
        let mac = key.sign(b"some data").unwrap();
        assert_eq!(mac.len(), block, "{key_type}: CMAC");
        assert!(key.verify(b"some data", &mac).unwrap());
        assert!(!key.verify(b"other data", &mac).unwrap());
        let short_iv = [0u8; 3];
        assert!(
            key.with_param(short_iv.as_slice()).encrypt(b"x").is_err(),
            "IV length checked"
        );
    }
    if !p11_tests::offers(&f.session, &[M::AES_KEY_WRAP]) {
        return;
    }
    let kek = f
        .session
        .generate_key(KeyType::AES, 256, &f.options())
        .unwrap();
    let key = f
        .session
        .generate_key(
            KeyType::AES,
            128,
            &f.options()
                .template(Template::new().with(A::EXTRACTABLE, true)),
        )
        .unwrap();
    let wrapped = kek.wrap_key(&key).unwrap();
    let unwrapped = kek
        .unwrap_key::<p11::SecretKey>(KeyType::AES, &wrapped, &f.options())
        .unwrap();
    let iv = [5u8; 16];
    let crypttext = key.with_param(&iv).encrypt(b"same key").unwrap();
    assert_eq!(
        unwrapped.with_param(&iv).decrypt(&crypttext).unwrap(),
        b"same key"
    );
    assert!(
        flag(&unwrapped, A::SENSITIVE),
        "unwrapped keys are sensitive by default"
    );
}

#[test]
fn rsa_defaults_oaep_sha512_signatures_and_wrapping() {
    let f = session();
    let used = [M::SHA512_RSA_PKCS, M::AES_KEY_GEN, M::AES_CBC_PAD];
    if !offers_defaults(&f, KeyType::RSA) || !p11_tests::offers(&f.session, &used) {
        return;
    }
    let (public, private) = f
        .session
        .generate_keypair(KeyType::RSA, 2048, &f.options())
        .unwrap();
    let crypttext = public.encrypt(b"one block").unwrap();
    assert_eq!(private.decrypt(&crypttext).unwrap(), b"one block");
    let signature = private.sign(b"data").unwrap();
    assert!(public.verify(b"data", &signature).unwrap());
    // The default is SHA512_RSA_PKCS: the same bytes as asking for it.
    let explicit = private
        .with_mechanism(p11::Mechanism::new(M::SHA512_RSA_PKCS))
        .sign(b"data")
        .unwrap();
    assert_eq!(signature, explicit);
    let key = f
        .session
        .generate_key(
            KeyType::AES,
            128,
            &f.options()
                .template(Template::new().with(A::EXTRACTABLE, true)),
        )
        .unwrap();
    let wrapped = public.wrap_key(&key).unwrap();
    assert_eq!(wrapped.len(), 256);
    let unwrapped = private
        .unwrap_key::<p11::SecretKey>(KeyType::AES, &wrapped, &f.options())
        .unwrap();
    let iv = [9u8; 16];
    let crypttext = key.with_param(&iv).encrypt(b"same key").unwrap();
    assert_eq!(
        unwrapped.with_param(&iv).decrypt(&crypttext).unwrap(),
        b"same key"
    );
}

#[test]
fn dsa_ec_and_eddsa_sign_with_their_defaults() {
    let f = session();
    for (key_type, bits) in [
        (KeyType::DSA, 1024),
        (KeyType::EC, 256),
        (KeyType::EC, 384),
        (KeyType::EC_EDWARDS, 255),
    ] {
        let needed: Vec<M> = [Operation::Generate, Operation::GenerateDomainParameters]
            .into_iter()
            .filter_map(|operation| p11::default_mechanism(key_type, operation))
            .collect();
        if !p11_tests::offers(&f.session, &needed) {
            continue;
        }
        let (public, private) = f
            .session
            .generate_keypair(key_type, bits, &f.options())
            .unwrap();
        let signature = private.sign(b"message").unwrap();
        assert!(public.verify(b"message", &signature).unwrap(), "{key_type}");
        assert!(
            !public.verify(b"massage", &signature).unwrap(),
            "{key_type}"
        );
    }
    let err = f
        .session
        .generate_keypair(KeyType::EC, 200, &f.options())
        .unwrap_err();
    assert!(
        matches!(
            err,
            p11::Error::NoCurve {
                key_type: KeyType::EC,
                bits: 200
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("no curve of 200 bits"), "{err}");
}

#[test]
fn dh_and_ecdh_derive_with_their_defaults() {
    let f = session();
    if !p11_tests::offers(&f.session, &[M::EC_KEY_PAIR_GEN, M::ECDH1_DERIVE]) {
        return;
    }
    let readable = f.options().template(
        Template::new()
            .with(A::SENSITIVE, false)
            .with(A::EXTRACTABLE, true),
    );
    let (a_public, a_private) = f
        .session
        .generate_keypair(KeyType::EC, 256, &f.options())
        .unwrap();
    let (b_public, b_private) = f
        .session
        .generate_keypair(KeyType::EC, 256, &f.options())
        .unwrap();
    let point = |key: &p11::PublicKey| {
        p11::asn1::ec::decode_ec_point(&key.get::<Vec<u8>>(A::EC_POINT).unwrap()).unwrap()
    };
    let (a_point, b_point) = (point(&a_public), point(&b_public));
    let a = a_private
        .with_param(Ecdh1DeriveParams::new(&b_point))
        .derive_key(KeyType::AES, 256, &readable)
        .unwrap();
    let b = b_private
        .with_param(Ecdh1DeriveParams::new(&a_point))
        .derive_key(KeyType::AES, 256, &readable)
        .unwrap();
    assert_eq!(
        a.get::<Vec<u8>>(A::VALUE).unwrap(),
        b.get::<Vec<u8>>(A::VALUE).unwrap()
    );
    assert_eq!(a.get::<Vec<u8>>(A::VALUE).unwrap().len(), 32);

    if !p11_tests::offers(&f.session, &[M::DH_PKCS_PARAMETER_GEN]) {
        return;
    }
    let parameters = f
        .session
        .generate_domain_parameters(KeyType::DH, 512, &f.options())
        .unwrap();
    let (a_public, a_private) = parameters.generate_keypair(&f.options()).unwrap();
    let (b_public, b_private) = parameters.generate_keypair(&f.options()).unwrap();
    let value = |key: &p11::PublicKey| key.get::<Vec<u8>>(A::VALUE).unwrap().to_vec();
    let (a_value, b_value) = (value(&a_public), value(&b_public));
    let a = a_private
        .with_param(b_value.as_slice())
        .derive_key(KeyType::AES, 128, &readable)
        .unwrap();
    let b = b_private
        .with_param(a_value.as_slice())
        .derive_key(KeyType::AES, 128, &readable)
        .unwrap();
    assert_eq!(
        a.get::<Vec<u8>>(A::VALUE).unwrap(),
        b.get::<Vec<u8>>(A::VALUE).unwrap()
    );
}

#[test]
fn generic_secrets_mac_with_hmac_sha256() {
    let f = session();
    if !p11_tests::offers(&f.session, &[M::GENERIC_SECRET_KEY_GEN, M::SHA256_HMAC]) {
        return;
    }
    let key = f
        .session
        .generate_key(KeyType::GENERIC_SECRET, 256, &f.options())
        .unwrap();
    let mac = key.sign(b"data").unwrap();
    assert_eq!(mac.len(), 32);
    assert!(key.verify(b"data", &mac).unwrap());
    assert!(
        !key.verify(b"other data", &mac).unwrap(),
        "a MAC of other data"
    );
    let mut wrong = mac.clone();
    wrong[0] ^= 1;
    assert!(!key.verify(b"data", &wrong).unwrap(), "a wrong MAC");
    assert!(
        flag(&key, A::DERIVE),
        "a usable capability (python-pkcs11 gives none)"
    );
    let err = key.encrypt(b"data").unwrap_err();
    assert!(
        err.to_string().contains("no default encryption mechanism"),
        "{err}"
    );
}

#[test]
fn ecdsa_with_a_hash_composes_where_the_token_lacks_it() {
    let f = session();
    if !p11_tests::offers(&f.session, &[M::EC_KEY_PAIR_GEN, M::ECDSA]) {
        return;
    }
    // ECDSA: SoftHSM has no ECDSA_SHA256, so this composes; the raw mechanism verifies
    // the digest it signed.
    let (public, private) = f
        .session
        .generate_keypair(KeyType::EC, 256, &f.options())
        .unwrap();
    let signature = private
        .with_mechanism(p11::Mechanism::new(M::ECDSA_SHA256))
        .sign(b"data")
        .unwrap();
    let digest = f.session.digest(M::SHA256, b"data").unwrap();
    let raw = p11::Mechanism::new(M::ECDSA);
    assert!(public
        .with_mechanism(&raw)
        .verify(&digest, &signature)
        .unwrap());
    // Streaming composes the same way: chunks through `io::Write`, then one verify.
    let combined = p11::Mechanism::new(M::ECDSA_SHA256);
    let mut signer = private.with_mechanism(&combined).signer().unwrap();
    std::io::copy(&mut &b"da"[..], &mut signer).unwrap();
    signer.update(b"ta").unwrap();
    let streamed = signer.finish().unwrap();
    assert!(public
        .with_mechanism(&raw)
        .verify(&digest, &streamed)
        .unwrap());
    let mut verifier = public.with_mechanism(&combined).verifier().unwrap();
    verifier.update(b"d").unwrap();
    verifier.update(b"ata").unwrap();
    assert!(verifier.finish(&streamed).unwrap());
    let mut verifier = public.with_mechanism(&combined).verifier().unwrap();
    verifier.update(b"other").unwrap();
    assert!(!verifier.finish(&streamed).unwrap());
}

#[test]
fn streaming_equals_single_part_for_each_operation() {
    let f = session();
    if !offers_defaults(&f, KeyType::AES) || !p11_tests::offers(&f.session, &[M::SHA256]) {
        return;
    }
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
    let chunks = || data.chunks(4096);
    // Encryption: the chunk iterator gives the single-part ciphertext.
    let key = f
        .session
        .generate_key(KeyType::AES, 256, &f.options())
        .unwrap();
    let iv = [3u8; 16];
    let single = key.with_param(&iv).encrypt(&data).unwrap();
    let streamed = concat(key.with_param(&iv).encryptor().unwrap().stream(chunks())).unwrap();
    assert_eq!(streamed, single);
    let back = concat(
        key.with_param(&iv)
            .decryptor()
            .unwrap()
            .stream(single.chunks(1000)),
    )
    .unwrap();
    assert_eq!(back, data);
    // Signatures: composed (ECDSA_SHA512 on SoftHSM) and native (SHA512_RSA_PKCS).
    let (public, private) = f
        .session
        .generate_keypair(KeyType::EC, 256, &f.options())
        .unwrap();
    let signature = sign_parts(&private, chunks()).unwrap();
    assert!(public.verify(&data, &signature).unwrap());
    assert!(verify_parts(&public, chunks(), &signature).unwrap());
    let (public, private) = f
        .session
        .generate_keypair(KeyType::RSA, 1024, &f.options())
        .unwrap();
    assert_eq!(
        sign_parts(&private, chunks()).unwrap(),
        private.sign(&data).unwrap()
    );
    assert!(!verify_parts(
        &public,
        data.chunks(7).skip(1),
        &private.sign(&data).unwrap()
    )
    .unwrap());
    // MACs and digests.
    assert_eq!(
        sign_parts(&key, chunks()).unwrap(),
        key.sign(&data).unwrap()
    );
    let mut digest = f.session.digester(M::SHA256).unwrap();
    for chunk in chunks() {
        digest.update(chunk).unwrap();
    }
    assert_eq!(
        digest.finish().unwrap(),
        f.session.digest(M::SHA256, &data).unwrap()
    );
    // An io::Write: io::copy digests a whole reader.
    let mut digest = f.session.digester(M::SHA256).unwrap();
    std::io::copy(&mut data.as_slice(), &mut digest).unwrap();
    assert_eq!(
        digest.finish().unwrap(),
        f.session.digest(M::SHA256, &data).unwrap()
    );
}

#[test]
fn sessions_and_keys_are_shared_between_threads() {
    fn shareable<T: Send + Sync + Clone>() {}
    shareable::<Session>();
    shareable::<p11::SecretKey>();
    shareable::<p11::PublicKey>();
    shareable::<p11::PrivateKey>();
    let f = session();
    if !offers_defaults(&f, KeyType::AES) {
        return;
    }
    let key = f
        .session
        .generate_key(KeyType::AES, 128, &f.options())
        .unwrap();
    std::thread::scope(|s| {
        for thread in 0..4u8 {
            let key = key.clone();
            s.spawn(move || {
                let iv = [thread; 16];
                for _ in 0..50 {
                    let sealed = key.with_param(&iv).encrypt(&[thread; 40]).unwrap();
                    assert_eq!(key.with_param(&iv).decrypt(&sealed).unwrap(), [thread; 40]);
                }
            });
        }
    });
}

#[test]
fn key_and_random_sizes_that_are_not_whole_bytes_are_refused() {
    let f = session();
    if !f.has_rng() {
        return;
    }
    let err = f
        .session
        .generate_key(KeyType::AES, 129, &f.options())
        .unwrap_err();
    assert!(
        matches!(err, p11::Error::NotWholeBytes { bits: 129 }),
        "{err}"
    );
    let err = f.session.generate_random(7).unwrap_err();
    assert!(
        matches!(err, p11::Error::NotWholeBytes { bits: 7 }),
        "{err}"
    );
    assert_eq!(f.session.generate_random(256).unwrap().len(), 32);
}

#[test]
fn opening_with_a_wrong_pin_while_logged_in_elsewhere_says_so() {
    let f = session();
    if !f.logs_in() {
        return;
    }
    // `f.session` is logged in: the module does not check the next PIN.
    let token = Library::load_with(&f.env().module, p11_tests::init_args(f.env()))
        .unwrap()
        .get_token(&TokenFilter::new().label(&*f.env().label))
        .unwrap();
    let other = token.open(&OpenOptions::new().user_pin("wrong")).unwrap();
    assert_eq!(other.login(), Some(p11::Login::AlreadyLoggedIn));
    assert!(matches!(
        f.session.login(),
        Some(p11::Login::Checked | p11::Login::AlreadyLoggedIn)
    ));
    let unlogged = token.open(&OpenOptions::new()).unwrap();
    assert_eq!(unlogged.login(), None);
}

#[test]
fn the_library_finalizes_on_request_and_says_whether_it_is_initialized() {
    let guard = p11_tests::exclusive();
    let env = guard.env.clone();
    let _lock = guard.into_guard();
    let lib = Library::load_with(&env.module, p11_tests::init_args(&env)).unwrap();
    let other = lib.clone();
    assert!(lib.initialized());
    lib.finalize().unwrap();
    assert!(!other.initialized());
    assert!(matches!(other.info(), Err(p11::Error::Finalized)));
    let again = Library::load_with(&env.module, p11_tests::init_args(&env)).unwrap();
    assert!(again.initialized() && again.info().is_ok());
}

#[test]
fn streams_skip_empty_chunks_so_a_short_stream_decrypts_again() {
    let f = session();
    if !offers_defaults(&f, KeyType::AES) {
        return;
    }
    let key = f
        .session
        .generate_key(KeyType::AES, 128, &f.options())
        .unwrap();
    let iv = [9u8; 16];
    // Shorter than a block: the updates give nothing, the final call everything.
    let parts: Vec<&[u8]> = vec![b"", b"short", b"", b" input", b""];
    let mut stream = key.with_param(&iv).encryptor().unwrap().stream(parts);
    let mut chunks = Vec::new();
    while let Some(chunk) = stream.next_chunk() {
        chunks.push(chunk.unwrap().to_vec());
    }
    assert!(
        chunks.iter().all(|c| !c.is_empty()),
        "an empty chunk came out"
    );
    let ciphertext = chunks.concat();
    assert_eq!(
        ciphertext,
        key.with_param(&iv).encrypt(b"short input").unwrap()
    );
    // Fed back with empty chunks in between (SoftHSM refuses an empty decrypt update).
    let back: Vec<&[u8]> = vec![b"", &ciphertext[..3], b"", &ciphertext[3..], b""];
    let plain = concat(key.with_param(&iv).decryptor().unwrap().stream(back)).unwrap();
    assert_eq!(plain, b"short input");
}

#[test]
fn key_pairs_take_a_template_for_each_half() {
    let f = session();
    if !p11_tests::offers(&f.session, &[M::RSA_PKCS_KEY_PAIR_GEN]) {
        return;
    }
    let options = f
        .options()
        .template(Template::new().with(A::LABEL, "both halves"))
        .private_template(Template::new().with(A::ALWAYS_AUTHENTICATE, true))
        .public_template(Template::new().with(A::ID, b"pub only"));
    let (public, private) = f
        .session
        .generate_keypair(KeyType::RSA, 1024, &options)
        .unwrap();
    assert!(flag(&private, A::ALWAYS_AUTHENTICATE));
    assert_eq!(private.label().unwrap(), "both halves");
    assert_eq!(public.label().unwrap(), "both halves");
    assert_eq!(
        public.get::<Vec<u8>>(A::ID).unwrap(),
        b"pub only".as_slice()
    );
    match private.get::<Vec<u8>>(A::ID) {
        Ok(id) => assert_ne!(id, b"pub only".as_slice()),
        // kryoptic gives a key made without an id no CKA_ID at all.
        Err(e) if e.return_value() == Some(p11::ReturnValue::AttributeTypeInvalid) => {}
        Err(e) => panic!("{e}"),
    }
    // An ALWAYS_AUTHENTICATE key signs and decrypts with its PIN (python's `pin=`).
    let signature = private
        .with_pin(f.env().pin.as_str())
        .sign(b"data")
        .unwrap();
    assert!(public.verify(b"data", &signature).unwrap());
    let secret = public.encrypt(b"for the key's eyes").unwrap();
    assert_eq!(
        private
            .with_pin(f.env().pin.as_str())
            .decrypt(&secret)
            .unwrap(),
        b"for the key's eyes"
    );
    let err = private
        .with_pin("not the pin")
        .sign(b"data")
        .expect_err("a wrong PIN for the key signed");
    assert_eq!(
        err.return_value(),
        Some(p11::ReturnValue::PinIncorrect),
        "{err}"
    );
}

#[test]
fn generated_domain_parameters_carry_the_label_asked_for() {
    let f = session();
    let options = f.options().label("dh params");
    if !p11_tests::offers(&f.session, &[M::DH_PKCS_PARAMETER_GEN]) {
        return;
    }
    let parameters = f
        .session
        .generate_domain_parameters(KeyType::DH, 512, &options)
        .unwrap();
    assert!(
        parameters.is_stored(),
        "generated parameters live on the token"
    );
    assert_eq!(parameters.get::<String>(A::LABEL).unwrap(), "dh params");
}

#[test]
fn keys_tell_their_id_and_length() {
    let f = session();
    if !p11_tests::offers(&f.session, &[M::AES_KEY_GEN, M::RSA_PKCS_KEY_PAIR_GEN]) {
        return;
    }
    let options = f.options().id(b"k-7".to_vec());
    let aes = f.session.generate_key(KeyType::AES, 192, &options).unwrap();
    assert_eq!(aes.id().unwrap(), b"k-7");
    assert_eq!(aes.key_length().unwrap(), 192);
    if p11_tests::offers(&f.session, &[M::DES3_KEY_GEN]) {
        let des3 = f
            .session
            .generate_key(KeyType::DES3, 192, &f.options())
            .unwrap();
        assert_eq!(des3.key_length().unwrap(), 192);
    }
    let (public, private) = f
        .session
        .generate_keypair(KeyType::RSA, 1024, &options)
        .unwrap();
    assert_eq!(public.key_length().unwrap(), 1024);
    assert_eq!(private.key_length().unwrap(), 1024);
    assert_eq!(private.id().unwrap(), b"k-7");
    if !p11_tests::offers(&f.session, &[M::EC_KEY_PAIR_GEN]) {
        return;
    }
    let (public, _) = f
        .session
        .generate_keypair(KeyType::EC, 384, &f.options())
        .unwrap();
    assert_eq!(public.key_length().unwrap(), 384);
}

#[test]
fn digests_mix_data_and_keys_digested_inside_the_token() {
    let f = session();
    if !p11_tests::offers(&f.session, &[M::AES_KEY_GEN, M::SHA256]) {
        return;
    }
    // A key whose value may be read, to check the digest against.
    let readable = f.options().template(
        Template::new()
            .with(A::SENSITIVE, false)
            .with(A::EXTRACTABLE, true),
    );
    let key = f
        .session
        .generate_key(KeyType::AES, 128, &readable)
        .unwrap();
    let value = key.get::<Vec<u8>>(A::VALUE).unwrap().to_vec();
    let mut digest = f.session.digester(M::SHA256).unwrap();
    digest.update(b"before").unwrap();
    digest.update_key(&key).unwrap();
    digest.update(b"after").unwrap();
    let digest = digest.finish().unwrap();
    let expected = f
        .session
        .digest(
            M::SHA256,
            &[b"before".as_slice(), &value, b"after"].concat(),
        )
        .unwrap();
    assert_eq!(digest, expected);
}

#[test]
fn the_facade_is_closed_from_library_to_slots_tokens_and_sessions() {
    let f = session();
    let lib = Library::load_with(&f.env().module, p11_tests::init_args(f.env())).unwrap();
    let slots = lib.get_slots(true).unwrap();
    let slot = slots
        .iter()
        .find(|s| s.get_token().unwrap().label() == f.env().label)
        .expect("the test token's slot");
    assert_eq!(
        slot.get_mechanisms().unwrap(),
        f.session.slot().get_mechanisms().unwrap()
    );
    let token = slot.get_token().unwrap();
    assert_eq!(token.slot(), *slot);
    let session = token.open(&OpenOptions::new()).unwrap();
    // Core values convert to facade ones and back.
    let core: p11::p11_core::Session = session.clone().into();
    let again = Session::from(core.clone());
    assert_eq!(again.core().handle(), session.core().handle());
    let core_token: p11::p11_core::Token = token.clone().into();
    assert_eq!(p11::Token::from(core_token).label(), token.label());
    assert_eq!(p11::Slot::from(slot.core().clone()), *slot);
}

#[test]
fn keys_are_found_by_capability_and_listed_by_kind() {
    let f = session();
    if !p11_tests::offers(&f.session, &[M::RSA_PKCS_KEY_PAIR_GEN]) {
        return;
    }
    let label = p11_tests::unique_label("two rsa");
    let signing = f
        .options()
        .label(label.as_str())
        .capabilities(Capabilities::SIGN | Capabilities::VERIFY);
    let decrypting = f
        .options()
        .label(label.as_str())
        .capabilities(Capabilities::DECRYPT | Capabilities::ENCRYPT);
    let (_, signer) = f
        .session
        .generate_keypair(KeyType::RSA, 1024, &signing)
        .unwrap();
    let (_, decrypter) = f
        .session
        .generate_keypair(KeyType::RSA, 1024, &decrypting)
        .unwrap();
    let query = p11::KeyQuery::new()
        .key_type(KeyType::RSA)
        .label(label.as_str());
    // Class and key type alone are ambiguous here.
    assert!(f.session.get_key::<p11::PrivateKey>(&query).is_err());
    let found: p11::PrivateKey = f
        .session
        .get_key(&query.clone().capable_of(Capabilities::SIGN))
        .unwrap();
    assert_eq!(found, signer);
    let found: p11::PrivateKey = f
        .session
        .get_key(&query.clone().capable_of(Capabilities::DECRYPT))
        .unwrap();
    assert_eq!(found, decrypter);
    let all: Vec<p11::PrivateKey> = f
        .session
        .get_keys(&query)
        .unwrap()
        .collect::<p11::Result<_>>()
        .unwrap();
    assert_eq!(all.len(), 2);
    let public: Vec<p11::PublicKey> = f
        .session
        .get_keys(&query)
        .unwrap()
        .collect::<p11::Result<_>>()
        .unwrap();
    assert_eq!(public.len(), 2);
}

#[test]
fn domain_parameters_refuse_an_id_they_cannot_carry() {
    let f = session();
    let err = f
        .session
        .generate_domain_parameters(KeyType::DH, 512, &f.options().id(b"x".to_vec()))
        .unwrap_err();
    assert!(
        matches!(&err, p11::Error::InvalidArgument(why) if why.contains("no id")),
        "{err}"
    );
}

#[test]
fn private_keys_unwrap_as_private_keys_that_sign() {
    let f = session();
    let mechanism = p11::Mechanism::new(M::AES_KEY_WRAP_PAD);
    if !f.session.has_mechanism(M::AES_KEY_WRAP_PAD).unwrap() {
        println!("skipped: the token has no AES_KEY_WRAP_PAD");
        return;
    }
    let kek = f
        .session
        .generate_key(KeyType::AES, 256, &f.options())
        .unwrap();
    let extractable = f
        .options()
        .private_template(Template::new().with(A::EXTRACTABLE, true));
    let (public, private) = f
        .session
        .generate_keypair(KeyType::EC, 256, &extractable)
        .unwrap();
    let wrapped = kek.with_mechanism(&mechanism).wrap_key(&private).unwrap();
    let unwrapped: p11::PrivateKey = kek
        .with_mechanism(&mechanism)
        .unwrap_key(KeyType::EC, &wrapped, &f.options().label("unwrapped"))
        .unwrap();
    let (class, sensitive, sign): (p11::ObjectClass, bool, bool) = unwrapped
        .get_all([A::CLASS, A::SENSITIVE, A::SIGN])
        .unwrap();
    assert_eq!(class, p11::ObjectClass::PRIVATE_KEY);
    assert!(sensitive && sign, "the private-key template's defaults");
    assert_eq!(unwrapped.label().unwrap(), "unwrapped");
    let signature = unwrapped.sign(b"unwrapped").unwrap();
    assert!(public.verify(b"unwrapped", &signature).unwrap());
}

#[test]
fn copies_change_what_the_options_ask_and_keep_the_rest() {
    let f = session();
    if !offers_defaults(&f, KeyType::AES) {
        return;
    }
    let key = f
        .session
        .generate_key(KeyType::AES, 128, &f.options().label("original"))
        .unwrap();
    let copy = key
        .copy(&f.options().label("copy").id(b"c".to_vec()))
        .unwrap();
    assert_eq!(copy.label().unwrap(), "copy");
    assert_eq!(copy.id().unwrap(), b"c");
    assert_eq!(key.label().unwrap(), "original");
    let (sensitive, token): (bool, bool) = copy.get_all([A::SENSITIVE, A::TOKEN]).unwrap();
    assert!(sensitive && !token, "kept from the original");
    let iv = [3u8; 16];
    let sealed = copy.with_param(&iv).encrypt(b"same value").unwrap();
    assert_eq!(key.with_param(&iv).decrypt(&sealed).unwrap(), b"same value");
}

#[test]
fn a_change_sets_what_the_options_ask_and_capabilities_are_read_afresh() {
    let f = session();
    if !offers_defaults(&f, KeyType::AES) {
        return;
    }
    let mut key = f
        .session
        .generate_key(KeyType::AES, 128, &f.options().label("unchanged"))
        .unwrap();
    assert!(key.capabilities().unwrap().contains(Capabilities::SIGN));
    key.change(
        &ObjectOptions::new()
            .label("changed")
            .capabilities(Capabilities::ENCRYPT | Capabilities::DECRYPT),
    )
    .unwrap();
    assert_eq!(key.label().unwrap(), "changed");
    assert_eq!(
        key.capabilities().unwrap(),
        Capabilities::ENCRYPT | Capabilities::DECRYPT,
        "read again after the change, not the kept value"
    );
    let (sign, sensitive): (bool, bool) = key.get_all([A::SIGN, A::SENSITIVE]).unwrap();
    assert!(
        !sign && sensitive,
        "only the capabilities and label changed"
    );
    assert!(key.sign(b"no longer").is_err());
}

#[test]
fn the_templates_p11_sends_are_public_and_fresh() {
    let options = ObjectOptions::new()
        .storage(Storage::Token)
        .label("t")
        .id(b"i".to_vec())
        .capabilities(Capabilities::SIGN | Capabilities::VERIFY)
        .private_template(Template::new().with(A::ALWAYS_AUTHENTICATE, true));
    let public = options.public_key_template(KeyType::EC);
    let private = options.private_key_template(KeyType::EC);
    let secret = options.secret_key_template(KeyType::AES);
    let get = |t: &Template, ty| t.get(ty).cloned();
    for t in [&public, &private, &secret] {
        assert_eq!(get(t, A::TOKEN), Some(true.into()));
        assert_eq!(get(t, A::LABEL), Some("t".into()));
        assert_eq!(get(t, A::ID), Some(b"i".to_vec().into()));
    }
    assert_eq!(get(&public, A::VERIFY), Some(true.into()));
    assert_eq!(get(&public, A::ENCRYPT), Some(false.into()));
    assert_eq!(
        get(&public, A::SIGN),
        None,
        "no private capability on a public key"
    );
    assert_eq!(get(&public, A::ALWAYS_AUTHENTICATE), None);
    assert_eq!(get(&private, A::SIGN), Some(true.into()));
    assert_eq!(get(&private, A::ALWAYS_AUTHENTICATE), Some(true.into()));
    assert_eq!(get(&private, A::SENSITIVE), Some(true.into()));
    assert_eq!(get(&secret, A::DECRYPT), Some(false.into()));
    assert_eq!(get(&secret, A::ALWAYS_AUTHENTICATE), None);
    // Each call builds anew: changing one template leaves the next as it was.
    let mut changed = options.public_key_template(KeyType::EC);
    changed.set(A::LABEL, "changed");
    assert_eq!(options.public_key_template(KeyType::EC), public);
}

#[test]
fn objects_found_or_created_come_back_typed_by_class() {
    let f = session();
    if !p11_tests::offers(&f.session, &[M::EC_KEY_PAIR_GEN, M::ECDSA]) {
        return;
    }
    let label = "typed objects";
    let options = f.options().label(label);
    let secret = f.session.generate_key(KeyType::AES, 128, &options).unwrap();
    f.session
        .generate_keypair(KeyType::EC, 256, &options)
        .unwrap();
    let data = f
        .session
        .create_object(
            &Template::new()
                .with(A::CLASS, p11::ObjectClass::DATA)
                .with(A::LABEL, label)
                .with(A::VALUE, b"plain data".to_vec()),
        )
        .unwrap();
    assert!(matches!(data, p11::Object::Other(_)));
    let found = f
        .session
        .get_objects(&Template::new().with(A::LABEL, label))
        .unwrap();
    let kinds: Vec<&str> = found
        .iter()
        .map(|object| match object {
            p11::Object::SecretKey(_) => "secret",
            p11::Object::PublicKey(_) => "public",
            p11::Object::PrivateKey(_) => "private",
            p11::Object::Other(_) => "other",
            _ => "unexpected",
        })
        .collect();
    for kind in ["secret", "public", "private", "other"] {
        assert_eq!(kinds.iter().filter(|k| **k == kind).count(), 1, "{kinds:?}");
    }
    let typed_secret = found
        .iter()
        .find_map(|object| match object {
            p11::Object::SecretKey(key) => Some(key),
            _ => None,
        })
        .unwrap();
    assert_eq!(typed_secret, &secret);
    assert_eq!(typed_secret.session().handle(), f.session.handle());
}

/// Signs the parts through the key's stream, as python's `sign(iterable)`.
fn sign_parts<'a>(
    key: &impl Sign,
    parts: impl IntoIterator<Item = &'a [u8]>,
) -> p11::Result<Vec<u8>> {
    let mut signer = key.signer()?;
    for part in parts {
        signer.update(part)?;
    }
    signer.finish()
}

/// Verifies the parts through the key's stream, as python's `verify(iterable, signature)`.
fn verify_parts<'a>(
    key: &impl Verify,
    parts: impl IntoIterator<Item = &'a [u8]>,
    signature: &[u8],
) -> p11::Result<bool> {
    let mut verifier = key.verifier()?;
    for part in parts {
        verifier.update(part)?;
    }
    verifier.finish(signature)
}
