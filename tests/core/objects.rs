use p11_core::{
    AttributeType as A, AttributeValue, Date, Error, KeyType, Mechanism, MechanismType,
    ObjectClass, ObjectKind, ReturnValue, Template,
};
use p11_tests::{shared, unique_label, user_session};
use std::collections::HashSet;

fn aes_key_template(label: &str) -> Template {
    Template::new()
        .with(A::CLASS, ObjectClass::SECRET_KEY)
        .with(A::KEY_TYPE, KeyType::AES)
        .with(A::LABEL, label)
        .with(A::VALUE, [0x11u8; 16])
        .with(A::ENCRYPT, true)
        .with(A::SENSITIVE, false)
        .with(A::EXTRACTABLE, true)
}

#[test]
fn each_value_kind_round_trips_through_a_real_object() {
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::keeps_secret_keys(&session) {
        return;
    }
    let label = unique_label("kinds");
    let start = Date::new(2024, 2, 29).unwrap();
    let end = Date::new(2031, 12, 31).unwrap();
    // Not PRIVATE: SoftHSM 2.6 stores dates in the clear but tries to decrypt them when
    // reading them back from a private object, and fails (CKR_GENERAL_ERROR).
    let key = session
        .create_object(
            &aes_key_template(&label)
                .with(A::PRIVATE, false)
                .with(A::SIGN, false)
                .with(A::ID, b"\x00\x01\xfe\xff")
                .with(A::START_DATE, start)
                .with(A::END_DATE, end)
                .with(
                    A::ALLOWED_MECHANISMS,
                    vec![MechanismType::AES_CBC_PAD, MechanismType::AES_GCM],
                ),
        )
        .unwrap();
    let values = key
        .get_attributes(&[
            A::CLASS,
            A::KEY_TYPE,
            A::LABEL,
            A::ID,
            A::VALUE_LEN,
            A::ENCRYPT,
            A::SIGN,
            A::START_DATE,
            A::END_DATE,
            A::ALLOWED_MECHANISMS,
            A::VALUE,
        ])
        .unwrap();
    let values: Vec<AttributeValue> = values.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        values[0],
        AttributeValue::ObjectClass(ObjectClass::SECRET_KEY)
    );
    assert_eq!(values[1], AttributeValue::KeyType(KeyType::AES));
    assert_eq!(values[2].as_text(), Some(label.as_str()));
    assert_eq!(values[3].as_bytes(), Some(&b"\x00\x01\xfe\xff"[..]));
    assert_eq!(values[4].as_ulong(), Some(16));
    assert_eq!(values[5].as_bool(), Some(true));
    assert_eq!(values[6].as_bool(), Some(false));
    assert_eq!(values[7], AttributeValue::Date(Some(start)));
    assert_eq!(values[8], AttributeValue::Date(Some(end)));
    assert_eq!(
        values[9],
        AttributeValue::Mechanisms(vec![MechanismType::AES_CBC_PAD, MechanismType::AES_GCM])
    );
    assert_eq!(values[10].as_bytes(), Some(&[0x11u8; 16][..]));
    assert_eq!(key.kind().unwrap(), ObjectKind::SecretKey);
}

#[test]
fn big_integers_and_ulongs_come_back_from_an_rsa_key() {
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::offers(&session, &[MechanismType::RSA_PKCS_KEY_PAIR_GEN]) {
        return;
    }
    let exponent = [0x01, 0x00, 0x01];
    let (public, _private) = session
        .generate_keypair(
            &Mechanism::new(MechanismType::RSA_PKCS_KEY_PAIR_GEN),
            &Template::new()
                .with(A::MODULUS_BITS, 1024u64)
                .with(A::PUBLIC_EXPONENT, exponent),
            &Template::new(),
        )
        .unwrap();
    let modulus = public.get_attribute(A::MODULUS).unwrap();
    let modulus = modulus.as_bytes().unwrap();
    assert_eq!(modulus.len(), 128);
    assert!(
        modulus[0] & 0x80 != 0,
        "a 1024-bit modulus has its top bit set"
    );
    assert_eq!(
        public.get_attribute(A::PUBLIC_EXPONENT).unwrap().as_bytes(),
        Some(&exponent[..])
    );
    assert_eq!(
        public.get_attribute(A::MODULUS_BITS).unwrap().as_ulong(),
        Some(1024)
    );
}

#[test]
fn a_wrap_template_round_trips_as_a_nested_template() {
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::keeps_secret_keys(&session) {
        return;
    }
    let label = unique_label("wrap-template");
    let nested = Template::new()
        .with(A::CLASS, ObjectClass::SECRET_KEY)
        .with(A::KEY_TYPE, KeyType::AES)
        .with(A::EXTRACTABLE, true);
    let key = session
        .create_object(&aes_key_template(&label).with(A::WRAP_TEMPLATE, nested.clone()))
        .unwrap();
    match key.get_attribute(A::WRAP_TEMPLATE) {
        Ok(AttributeValue::Template(read)) => {
            for (ty, value) in nested.iter() {
                assert_eq!(read.get(ty), Some(value), "{ty}");
            }
        }
        // kryoptic says the nested template's length but not its members' types, and
        // refuses the second call; the module's error, not a guess, is what p11 gives.
        Err(e) if e.return_value() == Some(ReturnValue::TemplateInconsistent) => {
            println!("the module does not tell the nested attributes ({e})");
        }
        other => panic!("expected a template, got {other:?}"),
    }
}

/// A sensitive AES-256 key labelled `label`.
fn sensitive_aes(session: &p11_core::Session, label: &str) -> p11_core::Object {
    session
        .generate_key(
            &Mechanism::new(MechanismType::AES_KEY_GEN),
            &Template::new()
                .with(A::VALUE_LEN, 32u64)
                .with(A::SENSITIVE, true)
                .with(A::LABEL, label),
        )
        .unwrap()
}

#[test]
fn unreadable_attributes_are_reported_one_by_one() {
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::offers(&session, &[MechanismType::AES_KEY_GEN]) {
        return;
    }
    let key = sensitive_aes(&session, "sensitive");
    let values = key
        .get_attributes(&[A::LABEL, A::VALUE, A::MODULUS, A::VALUE_LEN])
        .unwrap();
    assert_eq!(values[0].as_ref().unwrap().as_text(), Some("sensitive"));
    assert_eq!(
        values[1].as_ref().unwrap_err().return_value(),
        Some(ReturnValue::AttributeSensitive)
    );
    assert_eq!(
        values[2].as_ref().unwrap_err().return_value(),
        Some(ReturnValue::AttributeTypeInvalid)
    );
    assert_eq!(values[3].as_ref().unwrap().as_ulong(), Some(32));
    let alone = key.get_attribute(A::VALUE).unwrap_err();
    assert_eq!(
        alone.to_string(),
        "C_GetAttributeValue failed: CKR_ATTRIBUTE_SENSITIVE \
         (the attribute is sensitive and cannot be read)"
    );
}

/// What reading would give, asked without buffers: lengths, and why not where not —
/// each of several unreadable ones told apart.
#[test]
fn attribute_info_gives_lengths_and_why_not_without_reading() {
    use p11_core::AttributeInfo;
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::offers(&session, &[MechanismType::AES_KEY_GEN]) {
        return;
    }
    let key = sensitive_aes(&session, "seven ch");
    let info = key
        .attribute_info(&[A::LABEL, A::VALUE, A::MODULUS, A::ENCRYPT])
        .unwrap();
    assert_eq!(info[0], AttributeInfo::Available(8));
    assert_eq!(info[1], AttributeInfo::Sensitive);
    assert_eq!(info[2], AttributeInfo::TypeInvalid);
    assert_eq!(info[3], AttributeInfo::Available(1));
    assert_eq!(
        key.attribute_info(&[A::VALUE]).unwrap(),
        [AttributeInfo::Sensitive]
    );
}

#[test]
fn attributes_can_be_changed() {
    let f = shared();
    let session = user_session(&f);
    let Some(object) = p11_tests::plain_object(&session, &unique_label("before")) else {
        return;
    };
    // An id for a key, an application for a data object (which has no id).
    let second = if object.class().unwrap() == ObjectClass::DATA {
        A::APPLICATION
    } else {
        A::ID
    };
    let value = if second == A::ID {
        AttributeValue::from(b"new-id".as_slice())
    } else {
        AttributeValue::from("new-app")
    };
    object
        .set_attributes(
            &Template::new()
                .with(A::LABEL, "after")
                .with(second, value.clone()),
        )
        .unwrap();
    let values = object.get_attributes(&[A::LABEL, second]).unwrap();
    assert_eq!(values[0].as_ref().unwrap().as_text(), Some("after"));
    assert_eq!(values[1].as_ref().unwrap(), &value);
}

#[test]
fn a_search_over_1000_objects_returns_exactly_them() {
    let f = shared();
    let session = user_session(&f);
    let application = unique_label("search");
    let mut created = HashSet::new();
    for i in 0..1000u32 {
        let object = session
            .create_object(
                &Template::new()
                    .with(A::CLASS, ObjectClass::DATA)
                    .with(A::APPLICATION, application.as_str())
                    .with(A::VALUE, i.to_be_bytes()),
            )
            .unwrap();
        created.insert(object.handle());
    }
    let query = Template::new()
        .with(A::CLASS, ObjectClass::DATA)
        .with(A::APPLICATION, application.as_str());
    let found: Vec<_> = session.get_objects(&query).unwrap();
    assert_eq!(found.len(), 1000);
    let found: HashSet<_> = found.iter().map(|o| o.handle()).collect();
    assert_eq!(found, created);
}

#[test]
fn dropping_a_search_early_does_not_block_the_next() {
    let f = shared();
    let session = user_session(&f);
    let application = unique_label("early");
    let query = Template::new().with(A::APPLICATION, application.as_str());
    for _ in 0..100 {
        session
            .create_object(&query.clone().with(A::CLASS, ObjectClass::DATA))
            .unwrap();
    }
    let mut search = session.find_objects(&query).unwrap();
    for _ in 0..3 {
        search.next().unwrap().unwrap();
    }
    drop(search);
    assert_eq!(session.find_objects(&query).unwrap().count(), 100);
}

#[test]
fn get_key_finds_one_and_reports_none_and_several() {
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::keeps_secret_keys(&session) {
        return;
    }
    let label = unique_label("get-key");
    let key = session.create_object(&aes_key_template(&label)).unwrap();
    let query = Template::new()
        .with(A::CLASS, ObjectClass::SECRET_KEY)
        .with(A::KEY_TYPE, KeyType::AES)
        .with(A::LABEL, label.as_str());
    assert_eq!(session.get_key(&query).unwrap().handle(), key.handle());

    let missing = session.get_key(&query.clone().with(A::LABEL, "no such key"));
    assert!(matches!(missing, Err(Error::NoSuchKey(_))), "{missing:?}");
    // The search is shown by attribute name and value.
    let shown = missing.unwrap_err().to_string();
    assert!(
        shown.contains("CKA_LABEL=\"no such key\"") && shown.contains("CKA_CLASS=CKO_SECRET_KEY"),
        "{shown}"
    );

    session.create_object(&aes_key_template(&label)).unwrap();
    let several = session.get_key(&query);
    assert!(
        matches!(several, Err(Error::MultipleObjects(_))),
        "{several:?}"
    );
}

#[test]
fn copy_makes_a_new_object_and_destroy_removes_it() {
    let f = shared();
    let session = user_session(&f);
    let label = unique_label("original");
    let Some(original) = p11_tests::plain_object(&session, &label) else {
        return;
    };
    let copy = original
        .copy(&Template::new().with(A::LABEL, format!("{label}-copy")))
        .unwrap();
    assert_ne!(copy.handle(), original.handle());
    assert_eq!(
        copy.get_attribute(A::LABEL).unwrap().as_text(),
        Some(format!("{label}-copy").as_str())
    );
    assert_eq!(
        copy.get_attribute(A::VALUE).unwrap(),
        original.get_attribute(A::VALUE).unwrap()
    );
    match original.size() {
        Ok(size) => assert!(size > 0),
        Err(e) => assert!(e.is_not_supported(), "{e}"),
    }
    let handle = copy.handle();
    copy.destroy().unwrap();
    let gone = session.object(handle).get_attribute(A::LABEL).unwrap_err();
    assert_eq!(gone.return_value(), Some(ReturnValue::ObjectHandleInvalid));
    let query = Template::new().with(A::LABEL, format!("{label}-copy"));
    assert_eq!(session.get_objects(&query).unwrap().len(), 0);
}

#[test]
fn a_value_of_the_wrong_kind_is_refused_before_the_call() {
    let f = shared();
    let session = user_session(&f);
    let err = session
        .create_object(&Template::new().with(A::CLASS, "secret key"))
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::AttributeKind {
                attribute: A::CLASS,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_label_that_is_not_utf8_reads_back_as_its_bytes_and_finds_the_object() {
    let f = shared();
    let session = p11_tests::user_session(&f);
    let label = [0x66u8, 0xff, 0xfe, 0x6f];
    let Some(key) = p11_tests::plain_object(&session, &unique_label("not-utf8")) else {
        return;
    };
    match key.set_attributes(&Template::new().with(A::LABEL, label.as_slice())) {
        Ok(()) => {}
        // CKA_LABEL is UTF-8 by the standard; kryoptic holds modules to it.
        Err(e) if e.return_value() == Some(ReturnValue::AttributeValueInvalid) => {
            println!("the module refuses a label that is not UTF-8 ({e})");
            return;
        }
        Err(e) => panic!("{e}"),
    }
    let read = key.get_attribute(A::LABEL).unwrap();
    assert_eq!(read.as_bytes(), Some(label.as_slice()), "{read:?}");
    let found = session
        .get_objects(&Template::new().with(A::LABEL, read))
        .unwrap();
    assert_eq!(found, [key]);
}

#[test]
fn typed_reads_give_rust_values_and_refuse_the_wrong_kind() {
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::keeps_secret_keys(&session) {
        return;
    }
    let key = p11_tests::import_secret(&session, KeyType::AES, &[3u8; 16]);
    key.set_attributes(&Template::new().with(A::LABEL, "typed").with(A::ID, b"k1"))
        .unwrap();
    assert_eq!(key.get::<String>(A::LABEL).unwrap(), "typed");
    assert_eq!(key.get::<u64>(A::VALUE_LEN).unwrap(), 16);
    assert!(key.get::<bool>(A::ENCRYPT).unwrap());
    let (class, key_type, label, id): (ObjectClass, KeyType, String, Vec<u8>) = key
        .get_all([A::CLASS, A::KEY_TYPE, A::LABEL, A::ID])
        .unwrap();
    assert_eq!((class, key_type), (ObjectClass::SECRET_KEY, KeyType::AES));
    assert_eq!((label.as_str(), id.as_slice()), ("typed", b"k1".as_slice()));
    let err = key.get::<bool>(A::LABEL).unwrap_err();
    assert!(
        matches!(
            err,
            Error::AttributeKind {
                attribute: A::LABEL,
                ..
            }
        ),
        "{err:?}"
    );
    // A failed attribute in a bulk read is the error.
    let err = key
        .get_all::<(ObjectClass, ObjectClass)>([A::CLASS, A::MODULUS])
        .unwrap_err();
    assert_eq!(err.return_value(), Some(ReturnValue::AttributeTypeInvalid));
    // All of fixed size (read into words in one call), one of them absent.
    let err = key
        .get_all::<(ObjectClass, u64)>([A::CLASS, A::MODULUS_BITS])
        .unwrap_err();
    assert_eq!(err.return_value(), Some(ReturnValue::AttributeTypeInvalid));
}

#[test]
fn an_object_names_itself_by_uri_and_the_uri_finds_it() {
    use p11_core::{TokenFilter, Uri};
    let f = shared();
    let session = user_session(&f);
    let label = unique_label("uri object; with % and ?");
    let Some(key) = p11_tests::plain_object(&session, &label) else {
        return;
    };
    let is_key = key.class().unwrap() == ObjectClass::SECRET_KEY;
    if is_key {
        key.set_attributes(&Template::new().with(A::ID, vec![0u8, 0xff, b';']))
            .unwrap();
    }
    let written = key.uri().unwrap().to_string();
    assert!(written.starts_with("pkcs11:token="), "{written}");
    if is_key {
        assert!(written.contains("type=secret-key"), "{written}");
        assert!(written.contains("id=%00%FF%3B"), "{written}");
    } else {
        assert!(written.contains("type=data"), "{written}");
    }
    assert!(written.contains("%20with%20%25%20and%20%3F"), "{written}");

    let uri: Uri = written.parse().unwrap();
    let token = f.module.get_token(&TokenFilter::new().uri(&uri)).unwrap();
    assert_eq!(token.slot(), f.token.slot());
    let found = session.get_objects(&uri.object_template()).unwrap();
    assert_eq!(found, [key]);

    // The slot and library attributes are checked too.
    let mut elsewhere = uri.clone();
    elsewhere.slot_id = Some(f.token.slot().id().raw() + 1);
    assert!(f
        .module
        .get_token(&TokenFilter::new().uri(&elsewhere))
        .is_err());
    let mut other_library = uri.clone();
    other_library.library_manufacturer = Some("nobody".into());
    assert!(f
        .module
        .get_token(&TokenFilter::new().uri(&other_library))
        .is_err());
    let mut this_library = uri;
    this_library.library_version = Some(f.module.info().unwrap().library_version);
    assert!(f
        .module
        .get_token(&TokenFilter::new().uri(&this_library))
        .is_ok());
}

/// PKCS#11 3.0's profile objects: the profiles a token says it implements, each once,
/// each a valid id (standard ones print by name). Tokens without them (2.x) list none.
#[test]
fn a_token_names_the_profiles_it_implements() {
    use p11_core::ProfileId;
    let f = p11_tests::shared();
    let session = p11_tests::user_session(&f);
    let profiles = session.profiles().unwrap();
    if profiles.is_empty() {
        println!("skipped: the token has no profile objects");
        return;
    }
    assert!(!profiles.contains(&ProfileId::INVALID_ID), "{profiles:?}");
    let mut unique = profiles.clone();
    unique.sort_by_key(|p| p.raw());
    unique.dedup();
    assert_eq!(unique.len(), profiles.len(), "{profiles:?}");
    for profile in &profiles {
        let standard = profile.raw() < ProfileId::VENDOR_DEFINED.raw();
        assert_eq!(
            profile.to_string().starts_with("CKP_"),
            standard,
            "{profile:?}"
        );
    }
    println!("profiles: {profiles:?}");
}
