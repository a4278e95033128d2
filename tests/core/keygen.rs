use p11_core::{
    Access, AttributeType as A, DomainParameters, KeyType, Mechanism, MechanismType as M,
    ObjectClass, ObjectKind, Template, UserType,
};
use p11_tests::vectors::{hex, ED25519, P256, P384, P521, RFC3526_2048_PRIME};
use p11_tests::{shared, unique_label, user_session};

fn readable_secret() -> Template {
    Template::new()
        .with(A::SENSITIVE, false)
        .with(A::EXTRACTABLE, true)
}

#[test]
fn aes_keys_of_each_size() {
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::offers(&session, &[M::AES_KEY_GEN]) {
        return;
    }
    for bytes in [16u64, 24, 32] {
        let key = session
            .generate_key(
                &Mechanism::new(M::AES_KEY_GEN),
                &readable_secret().with(A::VALUE_LEN, bytes),
            )
            .unwrap();
        let values = key
            .get_attributes(&[A::KEY_TYPE, A::VALUE_LEN, A::VALUE, A::LOCAL])
            .unwrap();
        assert_eq!(values[0].as_ref().unwrap(), &KeyType::AES.into());
        assert_eq!(values[1].as_ref().unwrap().as_ulong(), Some(bytes));
        assert_eq!(
            values[2].as_ref().unwrap().as_bytes().map(<[u8]>::len),
            Some(bytes as usize)
        );
        assert_eq!(
            values[3].as_ref().unwrap().as_bool(),
            Some(true),
            "generated on the token"
        );
    }
}

#[test]
fn des2_des3_and_generic_secret_keys() {
    let f = shared();
    let session = user_session(&f);
    for (mechanism, key_type, len) in [
        (M::DES2_KEY_GEN, KeyType::DES2, 16),
        (M::DES3_KEY_GEN, KeyType::DES3, 24),
    ] {
        if !p11_tests::offers(&session, &[mechanism]) {
            continue;
        }
        let key = session
            .generate_key(&Mechanism::new(mechanism), &readable_secret())
            .unwrap();
        assert_eq!(key.get_attribute(A::KEY_TYPE).unwrap(), key_type.into());
        assert_eq!(
            key.get_attribute(A::VALUE)
                .unwrap()
                .as_bytes()
                .unwrap()
                .len(),
            len
        );
    }
    if !p11_tests::offers(&session, &[M::GENERIC_SECRET_KEY_GEN]) {
        return;
    }
    let secret = session
        .generate_key(
            &Mechanism::new(M::GENERIC_SECRET_KEY_GEN),
            &readable_secret().with(A::VALUE_LEN, 48u64),
        )
        .unwrap();
    assert_eq!(
        secret.get_attribute(A::KEY_TYPE).unwrap(),
        KeyType::GENERIC_SECRET.into()
    );
    assert_eq!(
        secret
            .get_attribute(A::VALUE)
            .unwrap()
            .as_bytes()
            .unwrap()
            .len(),
        48
    );
}

#[test]
fn rsa_key_pairs_with_a_given_public_exponent() {
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::offers(&session, &[M::RSA_PKCS_KEY_PAIR_GEN]) {
        return;
    }
    for (bits, exponent) in [(1024u64, vec![0x03]), (2048, vec![0x01, 0x00, 0x01])] {
        let (public, private) = session
            .generate_keypair(
                &Mechanism::new(M::RSA_PKCS_KEY_PAIR_GEN),
                &Template::new()
                    .with(A::MODULUS_BITS, bits)
                    .with(A::PUBLIC_EXPONENT, exponent.clone()),
                &Template::new().with(A::SIGN, true),
            )
            .unwrap();
        assert_eq!(public.kind().unwrap(), ObjectKind::PublicKey);
        assert_eq!(private.kind().unwrap(), ObjectKind::PrivateKey);
        let modulus = public.get_attribute(A::MODULUS).unwrap();
        assert_eq!(modulus.as_bytes().unwrap().len() as u64 * 8, bits);
        assert_eq!(
            public.get_attribute(A::PUBLIC_EXPONENT).unwrap().as_bytes(),
            Some(&exponent[..])
        );
        assert_eq!(private.get_attribute(A::MODULUS).unwrap(), modulus);
    }
}

#[test]
fn dsa_from_generated_and_from_given_domain_parameters() {
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::offers(&session, &[M::DSA_PARAMETER_GEN, M::DSA_KEY_PAIR_GEN]) {
        return;
    }
    let stored = session
        .generate_domain_parameters(
            KeyType::DSA,
            &Mechanism::new(M::DSA_PARAMETER_GEN),
            &Template::new().with(A::PRIME_BITS, 1024u64),
        )
        .unwrap();
    let DomainParameters::Stored { object, .. } = &stored else {
        panic!("generated parameters are an object");
    };
    assert_eq!(object.kind().unwrap(), ObjectKind::DomainParameters);
    assert_eq!(
        object.get_attribute(A::CLASS).unwrap(),
        ObjectClass::DOMAIN_PARAMETERS.into()
    );
    let parameters = stored.attributes().unwrap();
    assert_eq!(
        parameters.get(A::PRIME).unwrap().as_bytes().unwrap().len(),
        128
    );
    assert_eq!(
        parameters
            .get(A::SUBPRIME)
            .unwrap()
            .as_bytes()
            .unwrap()
            .len(),
        20
    );

    let keygen = Mechanism::new(M::DSA_KEY_PAIR_GEN);
    let (public, _) = stored
        .generate_keypair(&session, &keygen, &Template::new(), &Template::new())
        .unwrap();
    assert_eq!(
        public.get_attribute(A::PRIME).unwrap(),
        *parameters.get(A::PRIME).unwrap()
    );

    // The same parameters given from here, never stored on the token.
    let local = DomainParameters::Local {
        key_type: KeyType::DSA,
        attributes: parameters.clone(),
    };
    let (public, private) = local
        .generate_keypair(&session, &keygen, &Template::new(), &Template::new())
        .unwrap();
    assert_eq!(
        public.get_attribute(A::BASE).unwrap(),
        *parameters.get(A::BASE).unwrap()
    );
    assert_eq!(
        private.get_attribute(A::KEY_TYPE).unwrap(),
        KeyType::DSA.into()
    );
}

#[test]
fn dh_from_rfc3526_parameters_local_and_stored() {
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::offers(&session, &[M::DH_PKCS_KEY_PAIR_GEN]) {
        return;
    }
    let local = DomainParameters::Local {
        key_type: KeyType::DH,
        attributes: Template::new()
            .with(A::PRIME, hex(RFC3526_2048_PRIME))
            .with(A::BASE, vec![2u8]),
    };
    let keygen = Mechanism::new(M::DH_PKCS_KEY_PAIR_GEN);
    let (public, _) = local
        .generate_keypair(&session, &keygen, &Template::new(), &Template::new())
        .unwrap();
    let value = public.get_attribute(A::VALUE).unwrap();
    assert!(value.as_bytes().unwrap().len() <= 256);
    assert_eq!(
        public.get_attribute(A::PRIME).unwrap().as_bytes(),
        Some(&hex(RFC3526_2048_PRIME)[..])
    );

    // A token that makes no DH parameters keeps none either (kryoptic refuses the
    // object with CKR_TEMPLATE_INCONSISTENT).
    if !p11_tests::offers(&session, &[M::DH_PKCS_PARAMETER_GEN]) {
        return;
    }
    let stored = local
        .store(&session, &Template::new().with(A::LABEL, "rfc3526"))
        .unwrap();
    let DomainParameters::Stored { object, .. } = &stored else {
        panic!("store gives stored parameters");
    };
    assert_eq!(object.kind().unwrap(), ObjectKind::DomainParameters);
    let (public, _) = stored
        .generate_keypair(&session, &keygen, &Template::new(), &Template::new())
        .unwrap();
    assert_eq!(
        public.get_attribute(A::BASE).unwrap().as_bytes(),
        Some(&[2u8][..])
    );
}

#[test]
fn ec_key_pairs_on_p256_p384_p521() {
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::offers(&session, &[M::EC_KEY_PAIR_GEN]) {
        return;
    }
    // The public point, DER-wrapped: OCTET STRING of 04 || X || Y.
    for (curve, point_len) in [(P256, 65), (P384, 97), (P521, 133)] {
        let (public, private) = session
            .generate_keypair(
                &Mechanism::new(M::EC_KEY_PAIR_GEN),
                &Template::new().with(A::EC_PARAMS, curve),
                &Template::new().with(A::DERIVE, true),
            )
            .unwrap();
        let point = public.get_attribute(A::EC_POINT).unwrap();
        let point = point.as_bytes().unwrap();
        assert_eq!(point[0], 0x04, "an OCTET STRING");
        assert_eq!(
            &point[point.len() - point_len..][..1],
            [0x04],
            "uncompressed"
        );
        assert_eq!(
            private.get_attribute(A::EC_PARAMS).unwrap().as_bytes(),
            Some(curve)
        );
    }
}

#[test]
fn ed25519_key_pair() {
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::offers(&session, &[M::EC_EDWARDS_KEY_PAIR_GEN]) {
        return;
    }
    let (public, private) = session
        .generate_keypair(
            &Mechanism::new(M::EC_EDWARDS_KEY_PAIR_GEN),
            &Template::new().with(A::EC_PARAMS, ED25519),
            &Template::new(),
        )
        .unwrap();
    assert_eq!(
        public.get_attribute(A::KEY_TYPE).unwrap(),
        KeyType::EC_EDWARDS.into()
    );
    // DER (an OCTET STRING of 32 bytes, SoftHSM) or the raw 32 bytes (kryoptic): p11
    // reads either as the point.
    let point = public.get_attribute(A::EC_POINT).unwrap();
    let point = point.as_bytes().unwrap();
    let ed25519 = p11::asn1::ec::curve_by_name("Ed25519").unwrap();
    let raw = p11::asn1::ec::ec_point_from_attribute(point, ed25519);
    assert_eq!(raw.len(), 32, "an Ed25519 point");
    assert!(
        point.len() == 32 || point.len() == 34,
        "{} bytes",
        point.len()
    );
    assert_eq!(private.kind().unwrap(), ObjectKind::PrivateKey);
}

#[test]
fn a_token_key_outlives_its_session_and_a_session_key_does_not() {
    let f = shared();
    let first = user_session(&f);
    if !p11_tests::offers(&first, &[M::AES_KEY_GEN]) {
        return;
    }
    let token_label = unique_label("token-key");
    let session_label = unique_label("session-key");
    let aes = Mechanism::new(M::AES_KEY_GEN);
    first
        .generate_key(
            &aes,
            &Template::new()
                .with(A::VALUE_LEN, 16u64)
                .with(A::TOKEN, true)
                .with(A::LABEL, token_label.as_str()),
        )
        .unwrap();
    first
        .generate_key(
            &aes,
            &Template::new()
                .with(A::VALUE_LEN, 16u64)
                .with(A::LABEL, session_label.as_str()),
        )
        .unwrap();
    drop(first);

    let second = f.token.open(Access::ReadWrite).unwrap();
    second.login(UserType::USER, f.env.pin.as_str()).unwrap();
    let stored = second
        .get_key(&Template::new().with(A::LABEL, token_label.as_str()))
        .unwrap();
    assert_eq!(
        stored.get_attribute(A::TOKEN).unwrap().as_bool(),
        Some(true)
    );
    let gone = second
        .get_objects(&Template::new().with(A::LABEL, session_label.as_str()))
        .unwrap();
    assert!(gone.is_empty(), "a session key survived its session");
    stored.destroy().unwrap();
}
