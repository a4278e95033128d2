use aes::cipher::{BlockEncrypt, KeyInit};
use p11_core::mechanisms::{AesCbcEncryptDataParams, Ecdh1DeriveParams, KeyDerivationStringData};
use p11_core::{AttributeType as A, KeyType, Mechanism, MechanismType as M, ObjectClass, Template};
use p11_tests::vectors::{hex, P256, RFC3526_2048_PRIME};
use p11_tests::{shared, user_session};

fn extractable_aes(session: &p11_core::Session, value: Option<&[u8]>) -> p11_core::Object {
    let template = Template::new()
        .with(A::SENSITIVE, false)
        .with(A::EXTRACTABLE, true)
        .with(A::DECRYPT, true)
        .with(A::DERIVE, true);
    match value {
        Some(value) => session
            .create_object(
                &template
                    .with(A::CLASS, ObjectClass::SECRET_KEY)
                    .with(A::KEY_TYPE, KeyType::AES)
                    .with(A::VALUE, value),
            )
            .unwrap(),
        None => session
            .generate_key(
                &Mechanism::new(M::AES_KEY_GEN),
                &template.with(A::VALUE_LEN, 16u64),
            )
            .unwrap(),
    }
}

fn unwrapped_aes_template() -> Template {
    Template::new()
        .with(A::CLASS, ObjectClass::SECRET_KEY)
        .with(A::KEY_TYPE, KeyType::AES)
        .with(A::ENCRYPT, true)
        .with(A::SENSITIVE, false)
        .with(A::EXTRACTABLE, true)
}

fn derived_secret(len: u64) -> Template {
    Template::new()
        .with(A::CLASS, ObjectClass::SECRET_KEY)
        .with(A::KEY_TYPE, KeyType::GENERIC_SECRET)
        .with(A::VALUE_LEN, len)
        .with(A::SENSITIVE, false)
        .with(A::EXTRACTABLE, true)
}

fn value(object: &p11_core::Object) -> Vec<u8> {
    object
        .get_attribute(A::VALUE)
        .unwrap()
        .as_bytes()
        .unwrap()
        .to_vec()
}

/// The same key: equal values, and what one encrypts the other decrypts.
fn assert_same_key(a: &p11_core::Object, b: &p11_core::Object) {
    assert_eq!(value(a).len(), 16);
    assert_eq!(value(a), value(b));
    let session = a.session();
    let iv = [1u8; 16];
    let cbc = Mechanism::with_iv(M::AES_CBC_PAD, &iv).unwrap();
    let encrypted = session
        .encrypt(&cbc, b, b"made by the unwrapped key")
        .unwrap();
    assert_eq!(
        session.decrypt(&cbc, a, &encrypted).unwrap(),
        b"made by the unwrapped key"
    );
}

#[test]
fn aes_key_wrap_round_trips_a_key() {
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::offers(&session, &[M::AES_KEY_GEN, M::AES_KEY_WRAP]) {
        return;
    }
    let kek = session
        .generate_key(
            &Mechanism::new(M::AES_KEY_GEN),
            &Template::new()
                .with(A::VALUE_LEN, 32u64)
                .with(A::WRAP, true)
                .with(A::UNWRAP, true),
        )
        .unwrap();
    let key = extractable_aes(&session, None);
    let wrap = Mechanism::new(M::AES_KEY_WRAP);
    let wrapped = session.wrap_key(&wrap, &kek, &key).unwrap();
    assert_eq!(wrapped.len(), 16 + 8, "RFC 3394 adds one 8-byte block");
    assert_ne!(&wrapped[..16], &value(&key)[..]);
    let unwrapped = session
        .unwrap_key(&wrap, &kek, &wrapped, &unwrapped_aes_template())
        .unwrap();
    assert_same_key(&key, &unwrapped);
}

#[test]
fn rsa_oaep_wraps_and_unwraps_a_key() {
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::offers(&session, &[M::RSA_PKCS_OAEP, M::AES_CBC_PAD]) {
        return;
    }
    let (public, private) = p11_tests::rsa_pair(
        &session,
        2048,
        Template::new().with(A::WRAP, true),
        Template::new().with(A::UNWRAP, true),
    );
    let key = extractable_aes(&session, None);
    let oaep = Mechanism::new(M::RSA_PKCS_OAEP);
    let wrapped = session.wrap_key(&oaep, &public, &key).unwrap();
    assert_eq!(wrapped.len(), 256);
    let unwrapped = session
        .unwrap_key(&oaep, &private, &wrapped, &unwrapped_aes_template())
        .unwrap();
    assert_same_key(&key, &unwrapped);
}

#[test]
fn dh_derivation_gives_both_parties_the_same_secret() {
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::offers(&session, &[M::DH_PKCS_KEY_PAIR_GEN, M::DH_PKCS_DERIVE]) {
        return;
    }
    let parameters = Template::new()
        .with(A::PRIME, hex(RFC3526_2048_PRIME))
        .with(A::BASE, vec![2u8]);
    let pair = || {
        session
            .generate_keypair(
                &Mechanism::new(M::DH_PKCS_KEY_PAIR_GEN),
                &parameters,
                &Template::new().with(A::DERIVE, true),
            )
            .unwrap()
    };
    let (alice_public, alice_private) = pair();
    let (bob_public, bob_private) = pair();
    let alice_value = value(&alice_public);
    let bob_value = value(&bob_public);
    let alice_secret = session
        .derive_key(
            &Mechanism::with(
                M::DH_PKCS_DERIVE,
                p11_core::mechanisms::Parameter::Bytes(&bob_value),
            ),
            &alice_private,
            &derived_secret(32),
        )
        .unwrap();
    let bob_secret = session
        .derive_key(
            &Mechanism::with(
                M::DH_PKCS_DERIVE,
                p11_core::mechanisms::Parameter::Bytes(&alice_value),
            ),
            &bob_private,
            &derived_secret(32),
        )
        .unwrap();
    assert_eq!(value(&alice_secret), value(&bob_secret));
    let made = value(&alice_secret).len();
    assert_eq!(
        made, 32,
        "the module made a {made}-byte secret where CKA_VALUE_LEN asked for 32"
    );
}

#[test]
fn ecdh_with_the_peer_point_raw_and_der_wrapped() {
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::offers(&session, &[M::ECDH1_DERIVE]) {
        return;
    }
    let pair = || {
        p11_tests::ec_pair(
            &session,
            P256,
            Template::new(),
            Template::new().with(A::DERIVE, true),
        )
    };
    let (alice_public, alice_private) = pair();
    let (bob_public, bob_private) = pair();
    // CKA_EC_POINT is DER: 04 41 || 04 || X || Y. The raw point drops the 2-byte header.
    let alice_der = value_of(&alice_public, A::EC_POINT);
    let bob_der = value_of(&bob_public, A::EC_POINT);
    assert_eq!(&bob_der[..2], [0x04, 0x41]);
    let (alice_raw, bob_raw) = (&alice_der[2..], &bob_der[2..]);

    let derive = |private: &p11_core::Object, peer: &[u8]| {
        let mechanism = Mechanism::with(M::ECDH1_DERIVE, Ecdh1DeriveParams::new(peer));
        value(
            &session
                .derive_key(&mechanism, private, &derived_secret(32))
                .unwrap(),
        )
    };
    let alice_from_raw = derive(&alice_private, bob_raw);
    let alice_from_der = derive(&alice_private, &bob_der);
    let bob_from_raw = derive(&bob_private, alice_raw);
    assert_eq!(alice_from_raw, bob_from_raw);
    assert_eq!(alice_from_raw, alice_from_der);
}

fn value_of(object: &p11_core::Object, ty: A) -> Vec<u8> {
    object
        .get_attribute(ty)
        .unwrap()
        .as_bytes()
        .unwrap()
        .to_vec()
}

fn aes_ecb(key: &[u8], block: &[u8]) -> [u8; 16] {
    let cipher = aes::Aes128::new_from_slice(key).unwrap();
    let mut block = aes::Block::clone_from_slice(block);
    cipher.encrypt_block(&mut block);
    block.into()
}

#[test]
fn aes_ecb_and_cbc_encrypt_data_derive_the_encryption_of_the_data() {
    let f = shared();
    let session = user_session(&f);
    let used = [M::AES_ECB_ENCRYPT_DATA, M::AES_CBC_ENCRYPT_DATA, M::AES_ECB];
    if !p11_tests::offers(&session, &used) {
        return;
    }
    let base_value: Vec<u8> = (0u8..16).collect();
    let base = extractable_aes(&session, Some(&base_value));
    let data: Vec<u8> = (100u8..132).collect();

    let ecb = Mechanism::with(
        M::AES_ECB_ENCRYPT_DATA,
        KeyDerivationStringData::new(&data[..16]),
    );
    let derived = session
        .derive_key(&ecb, &base, &derived_secret(16))
        .unwrap();
    assert_eq!(value(&derived), aes_ecb(&base_value, &data[..16]));

    let iv = [7u8; 16];
    let cbc = Mechanism::with(
        M::AES_CBC_ENCRYPT_DATA,
        AesCbcEncryptDataParams::new(iv, &data),
    );
    let derived = session
        .derive_key(&cbc, &base, &derived_secret(32))
        .unwrap();
    let mut expected = Vec::new();
    let mut chain = iv;
    for block in data.chunks(16) {
        let input: Vec<u8> = block.iter().zip(chain).map(|(a, b)| a ^ b).collect();
        chain = aes_ecb(&base_value, &input);
        expected.extend(chain);
    }
    assert_eq!(value(&derived), expected);
}

/// SP 800-108 in counter and in feedback mode with HMAC-SHA256 (typed parameters): the
/// token derives what the standard's formula gives, computed here with RustCrypto's HMAC.
#[test]
fn sp800_108_counter_and_feedback_derive_what_the_formula_gives() {
    use hmac::{Hmac, Mac};
    use p11_core::mechanisms::{
        CounterFormat, DkmLength, PrfData, Sp800108FeedbackParams, Sp800108Params,
    };
    let f = shared();
    let session = user_session(&f);
    let used = [
        M::SP800_108_COUNTER_KDF,
        M::SP800_108_FEEDBACK_KDF,
        M::SHA256_HMAC,
    ];
    if !p11_tests::offers(&session, &used) {
        return;
    }
    let secret = [0x3cu8; 32];
    let base = session
        .create_object(
            &Template::new()
                .with(A::CLASS, ObjectClass::SECRET_KEY)
                .with(A::KEY_TYPE, KeyType::GENERIC_SECRET)
                .with(A::VALUE, secret)
                .with(A::DERIVE, true),
        )
        .unwrap();
    let prf = |input: &[&[u8]]| {
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&secret).unwrap();
        for piece in input {
            mac.update(piece);
        }
        mac.finalize().into_bytes().to_vec()
    };
    let (label, context) = (b"p11 label".as_slice(), b"p11 context".as_slice());
    let bits_256 = 256u32.to_be_bytes();

    // Counter mode: K(1) = PRF(key, [1]_32 || label || 0x00 || context || [L]_32).
    let counter = Sp800108Params::new(
        M::SHA256_HMAC,
        &[
            PrfData::Counter(CounterFormat::big_endian(32)),
            PrfData::Bytes(label),
            PrfData::Bytes(&[0]),
            PrfData::Bytes(context),
            PrfData::DkmLength(DkmLength::SumOfKeys, CounterFormat::big_endian(32)),
        ],
    );
    let derived = session
        .derive_key(
            &Mechanism::with(M::SP800_108_COUNTER_KDF, counter),
            &base,
            &derived_secret(32),
        )
        .unwrap();
    let expected = prf(&[&1u32.to_be_bytes(), label, &[0], context, &bits_256]);
    assert_eq!(value(&derived), expected);

    // Feedback mode: K(1) = PRF(key, IV || label || 0x00 || context || [L]_32).
    let iv = [0x5au8; 32];
    let feedback = Sp800108FeedbackParams::new(
        M::SHA256_HMAC,
        &[
            PrfData::Feedback,
            PrfData::Bytes(label),
            PrfData::Bytes(&[0]),
            PrfData::Bytes(context),
            PrfData::DkmLength(DkmLength::SumOfKeys, CounterFormat::big_endian(32)),
        ],
        &iv,
    );
    let derived = session
        .derive_key(
            &Mechanism::with(M::SP800_108_FEEDBACK_KDF, feedback),
            &base,
            &derived_secret(32),
        )
        .unwrap();
    let expected = prf(&[&iv, label, &[0], context, &bits_256]);
    assert_eq!(value(&derived), expected);
}

/// Authenticated wrapping (PKCS#11 3.2): AES-GCM wraps a key with associated data; the
/// key unwraps with the same data only.
#[test]
fn an_authenticated_wrap_unwraps_with_its_associated_data_only() {
    use p11_core::mechanisms::GcmParams;
    use p11_core::MechanismFlags;
    let f = shared();
    let session = user_session(&f);
    let v3_2 = p11_core::Version { major: 3, minor: 2 };
    if f.module.interface_version() < v3_2 {
        println!("skipped: authenticated wrapping is PKCS#11 3.2; the module offers less");
        return;
    }
    let flags = session
        .slot()
        .mechanism_info(M::AES_GCM)
        .map(|info| info.flags)
        .unwrap_or(MechanismFlags::empty());
    if !flags.contains(MechanismFlags::WRAP | MechanismFlags::UNWRAP) {
        println!("skipped: the token does not wrap with {}", M::AES_GCM);
        return;
    }
    let kek = extractable_aes(&session, None);
    let key = extractable_aes(&session, None);
    fn gcm(iv: &mut [u8; 12]) -> Mechanism<'_> {
        Mechanism::with(M::AES_GCM, GcmParams::new(iv, &[], 128).unwrap())
    }
    let mut iv = [6u8; 12];
    let wrapped =
        match session.wrap_key_authenticated(&gcm(&mut iv), &kek, &key, b"key for service A") {
            Ok(wrapped) => wrapped,
            // kryoptic 1.5 has the 3.2 function in its list, and answers that it has not.
            Err(e) if e.return_value() == Some(p11_core::ReturnValue::FunctionNotSupported) => {
                println!("skipped: the module does not implement C_WrapKeyAuthenticated: {e}");
                return;
            }
            Err(e) => panic!("{e}"),
        };
    assert_eq!(wrapped.len(), 16 + 16, "the key, then the tag");
    let mut iv = [6u8; 12];
    let unwrapped = session
        .unwrap_key_authenticated(
            &gcm(&mut iv),
            &kek,
            &wrapped,
            &unwrapped_aes_template(),
            b"key for service A",
        )
        .unwrap();
    assert_same_key(&key, &unwrapped);
    let mut iv = [6u8; 12];
    assert!(session
        .unwrap_key_authenticated(
            &gcm(&mut iv),
            &kek,
            &wrapped,
            &unwrapped_aes_template(),
            b"key for service B",
        )
        .is_err());
}

fn generic_secret(session: &p11_core::Session, value: &[u8]) -> p11_core::Object {
    session
        .create_object(
            &Template::new()
                .with(A::CLASS, ObjectClass::SECRET_KEY)
                .with(A::KEY_TYPE, KeyType::GENERIC_SECRET)
                .with(A::VALUE, value)
                .with(A::DERIVE, true)
                .with(A::SENSITIVE, false)
                .with(A::EXTRACTABLE, true),
        )
        .unwrap()
}

/// `CONCATENATE_BASE_AND_KEY` with the second key named by a typed parameter: the new
/// key's value is the base key's, then the other's.
#[test]
fn concatenating_two_keys_appends_the_second() {
    use p11_core::mechanisms::KeyHandle;
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::offers(&session, &[M::CONCATENATE_BASE_AND_KEY]) {
        return;
    }
    let base = generic_secret(&session, &[0x11; 16]);
    let other = generic_secret(&session, &[0x22; 8]);
    let concatenate = Mechanism::with(M::CONCATENATE_BASE_AND_KEY, KeyHandle::from(&other));
    let joined = session
        .derive_key(&concatenate, &base, &derived_secret(24))
        .unwrap();
    assert_eq!(value(&joined), [[0x11; 16].as_slice(), &[0x22; 8]].concat());
}

/// `EXTRACT_KEY_FROM_KEY` with a typed bit index: the new key is the base key's bits
/// from that index on, wrapping round its end.
#[test]
fn extracting_a_key_takes_bits_from_the_index() {
    use p11_core::mechanisms::ExtractParams;
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::offers(&session, &[M::EXTRACT_KEY_FROM_KEY]) {
        return;
    }
    let base_value: Vec<u8> = (0u8..16).map(|i| i.wrapping_mul(37) ^ 0xA5).collect();
    let base = generic_secret(&session, &base_value);
    let bit = 12;
    let extract = Mechanism::with(M::EXTRACT_KEY_FROM_KEY, ExtractParams::new(bit));
    let extracted = session
        .derive_key(&extract, &base, &derived_secret(16))
        .unwrap();
    let bits = base_value.len() * 8;
    let bit_at = |i: usize| (base_value[i / 8] >> (7 - i % 8)) & 1;
    let expected: Vec<u8> = (0..16)
        .map(|byte| {
            (0..8).fold(0u8, |acc, b| {
                (acc << 1) | bit_at((bit as usize + byte * 8 + b) % bits)
            })
        })
        .collect();
    assert_eq!(value(&extracted), expected);
}
