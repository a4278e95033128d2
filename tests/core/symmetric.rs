//! AES, DES3, HMAC and digests, against published test vectors.

use p11_core::mechanisms::{CtrParams, GcmParams};
use p11_core::{KeyType, Mechanism, MechanismType as M, ReturnValue};
use p11_tests::vectors::hex;
use p11_tests::{import_secret, shared, user_session};

const NIST_KEY: &str = "2b7e151628aed2a6abf7158809cf4f3c";
const NIST_PLAIN: &str = "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51";

#[test]
fn aes_ecb_and_cbc_match_sp800_38a() {
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::offers(&session, &[M::AES_CBC, M::AES_ECB]) {
        return;
    }
    let key = import_secret(&session, KeyType::AES, &hex(NIST_KEY));
    let plain = hex(NIST_PLAIN);
    let ecb = session
        .encrypt(&Mechanism::new(M::AES_ECB), &key, &plain)
        .unwrap();
    assert_eq!(
        ecb,
        hex("3ad77bb40d7a3660a89ecaf32466ef97f5d3d58503b9699de785895a96fdbaaf")
    );
    let iv = hex("000102030405060708090a0b0c0d0e0f");
    let cbc = Mechanism::with_iv(M::AES_CBC, &iv).unwrap();
    let encrypted = session.encrypt(&cbc, &key, &plain).unwrap();
    assert_eq!(
        encrypted,
        hex("7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2")
    );
    assert_eq!(session.decrypt(&cbc, &key, &encrypted).unwrap(), plain);
}

#[test]
fn aes_ctr_matches_sp800_38a() {
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::offers(&session, &[M::AES_CTR]) {
        return;
    }
    let key = import_secret(&session, KeyType::AES, &hex(NIST_KEY));
    let mut counter = [0u8; 16];
    counter.copy_from_slice(&hex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"));
    let ctr = Mechanism::with(M::AES_CTR, CtrParams::new(counter, 128));
    let encrypted = session.encrypt(&ctr, &key, &hex(NIST_PLAIN)).unwrap();
    assert_eq!(
        encrypted,
        hex("874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff")
    );
    assert_eq!(
        session.decrypt(&ctr, &key, &encrypted).unwrap(),
        hex(NIST_PLAIN)
    );
}

/// python-pkcs11's `CTRParams(nonce)`: nonce, zeros, a counter from 1 in the bytes after
/// the nonce. The expected value was computed by OpenSSL (Python's `cryptography`).
#[test]
fn aes_ctr_from_a_nonce_counts_from_one_after_it() {
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::offers(&session, &[M::AES_CTR]) {
        return;
    }
    let key = import_secret(&session, KeyType::AES, &hex(NIST_KEY));
    let params = CtrParams::from_nonce(&hex("f0f1f2f3f4f5f6f7f8f9fafb")).unwrap();
    let ctr = Mechanism::with(M::AES_CTR, params);
    let encrypted = session.encrypt(&ctr, &key, &hex(NIST_PLAIN)).unwrap();
    assert_eq!(
        encrypted,
        hex("288028c71599c5a8dd53c2671b86b813ab25397ad21f8b4b94892b65cf891edd")
    );
    assert_eq!(
        session.decrypt(&ctr, &key, &encrypted).unwrap(),
        hex(NIST_PLAIN)
    );
    assert!(CtrParams::from_nonce(&[0; 16]).is_err());
}

/// GCM IVs other than 12 bytes are GCM too (hashed into the first counter block):
/// test case 6 of the GCM specification, a 60-byte IV.
#[test]
fn aes_gcm_takes_an_iv_longer_than_twelve_bytes() {
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::offers(&session, &[M::AES_GCM]) {
        return;
    }
    let key = import_secret(
        &session,
        KeyType::AES,
        &hex("feffe9928665731c6d6a8f9467308308"),
    );
    let plain = hex(concat!(
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72",
        "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
    ));
    let aad = hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
    let mut iv = hex(concat!(
        "9313225df88406e555909c5aff5269aa6a7a9538534f7da1e4c303d2a318a728",
        "c3c0c95156809539fcf0e2429a6b525416aedbf5a0de6a57a637b39b"
    ));
    let gcm = Mechanism::with(M::AES_GCM, GcmParams::new(&mut iv, &aad, 128).unwrap());
    let encrypted = match session.encrypt(&gcm, &key, &plain) {
        Ok(encrypted) => encrypted,
        Err(e) if e.return_value() == Some(ReturnValue::MechanismParamInvalid) => {
            println!("skipped: the token refuses GCM IVs of 60 bytes ({e})");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    assert_eq!(
        encrypted,
        hex(concat!(
            "8ce24998625615b603a033aca13fb894be9112a5c3a211a8ba262a3cca7e2ca7",
            "01e4a9a4fba43c90ccdcb281d48c7c6fd62875d2aca417034c34aee5",
            "619cc5aefffe0bfa462af43c1699d050"
        ))
    );
    assert_eq!(session.decrypt(&gcm, &key, &encrypted).unwrap(), plain);
}

#[test]
fn aes_gcm_matches_the_gcm_specification_and_rejects_a_bad_tag() {
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::offers(&session, &[M::AES_GCM]) {
        return;
    }
    let key = import_secret(
        &session,
        KeyType::AES,
        &hex("feffe9928665731c6d6a8f9467308308"),
    );
    let plain = hex(concat!(
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72",
        "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
    ));
    let aad = hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
    let mut iv = hex("cafebabefacedbaddecaf888");
    let encrypted = {
        let gcm = Mechanism::with(M::AES_GCM, GcmParams::new(&mut iv, &aad, 128).unwrap());
        session.encrypt(&gcm, &key, &plain).unwrap()
    };
    // Test case 4: ciphertext, then the 128-bit tag.
    let expected = hex(concat!(
        "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e",
        "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
        "5bc94fbc3221a5db94fae95ae7121a47"
    ));
    assert_eq!(encrypted, expected);
    let gcm = Mechanism::with(M::AES_GCM, GcmParams::new(&mut iv, &aad, 128).unwrap());
    assert_eq!(session.decrypt(&gcm, &key, &encrypted).unwrap(), plain);

    let mut tampered = encrypted.clone();
    *tampered.last_mut().unwrap() ^= 1;
    let err = session.decrypt(&gcm, &key, &tampered).unwrap_err();
    // PKCS#11 3.0 says CKR_AEAD_DECRYPT_FAILED; older modules answer otherwise
    // (SoftHSM 2.6: CKR_GENERAL_ERROR).
    assert!(
        matches!(
            err.return_value(),
            Some(
                ReturnValue::AeadDecryptFailed
                    | ReturnValue::EncryptedDataInvalid
                    | ReturnValue::GeneralError
            )
        ),
        "{err}"
    );
}

#[test]
fn aes_cmac_and_hmac_sha256_match_their_rfcs() {
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::offers(&session, &[M::AES_CMAC, M::SHA256_HMAC]) {
        return;
    }
    let aes = import_secret(&session, KeyType::AES, &hex(NIST_KEY));
    let message = hex("6bc1bee22e409f96e93d7e117393172a");
    let cmac = Mechanism::new(M::AES_CMAC);
    let tag = session.sign(&cmac, &aes, &message).unwrap();
    assert_eq!(
        tag,
        hex("070a16b46b4d4144f79bdd9dd04a287c"),
        "RFC 4493 example 2"
    );
    assert!(session.verify(&cmac, &aes, &message, &tag).unwrap());
    assert!(!session.verify(&cmac, &aes, b"other", &tag).unwrap());

    // RFC 4231 test case 1 with a 32-byte key (SoftHSM takes HMAC-SHA256 keys of 32 to
    // 64 bytes only, and imported ones only as CKK_SHA256_HMAC); the expected MAC is
    // from `openssl dgst -sha256 -mac HMAC`.
    let key = import_secret(&session, KeyType::SHA256_HMAC, &[0x0b; 32]);
    let data = b"Hi There";
    let hmac = Mechanism::new(M::SHA256_HMAC);
    let mac = session.sign(&hmac, &key, data).unwrap();
    assert_eq!(
        mac,
        hex("198a607eb44bfbc69903a0f1cf2bbdc5ba0aa3f3d9ae3c1c7a3b1696a0b68cf7")
    );
    assert!(session.verify(&hmac, &key, data, &mac).unwrap());
    assert!(
        !session.verify(&hmac, &key, data, &mac[..31]).unwrap(),
        "short MAC"
    );
}

#[test]
fn des3_cbc_pad_round_trips() {
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::offers(&session, &[M::DES3_KEY_GEN, M::DES3_CBC_PAD]) {
        return;
    }
    let key = session
        .generate_key(
            &Mechanism::new(M::DES3_KEY_GEN),
            &p11_core::Template::new()
                .with(p11_core::AttributeType::ENCRYPT, true)
                .with(p11_core::AttributeType::DECRYPT, true),
        )
        .unwrap();
    let iv = [9u8; 8];
    let mechanism = Mechanism::with_iv(M::DES3_CBC_PAD, &iv).unwrap();
    for len in [0, 1, 7, 8, 9, 100] {
        let plain: Vec<u8> = (0..len as u8).collect();
        let encrypted = session.encrypt(&mechanism, &key, &plain).unwrap();
        assert_eq!(encrypted.len(), (len / 8 + 1) * 8);
        assert_eq!(
            session.decrypt(&mechanism, &key, &encrypted).unwrap(),
            plain
        );
    }
}

#[test]
fn digests_match_known_values_as_bytes_and_as_a_stream() {
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::offers(
        &session,
        &[M::SHA_1, M::SHA224, M::SHA256, M::SHA384, M::SHA512],
    ) {
        return;
    }
    let cases = [
        (M::SHA_1, "a9993e364706816aba3e25717850c26c9cd0d89d"),
        (M::SHA224, "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7"),
        (M::SHA256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            M::SHA384,
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7",
        ),
        (
            M::SHA512,
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        ),
    ];
    for (mechanism, expected) in cases {
        let mechanism = Mechanism::new(mechanism);
        assert_eq!(
            session.digest(&mechanism, b"abc").unwrap(),
            hex(expected),
            "{mechanism}"
        );
        let mut stream = session.begin_digest(&mechanism).unwrap();
        for part in [&b"a"[..], b"", b"bc"] {
            stream.update(part).unwrap();
        }
        assert_eq!(
            stream.finish().unwrap(),
            hex(expected),
            "{mechanism} streamed"
        );
        let mut reader: &[u8] = b"abc";
        let mut writer = session.begin_digest(&mechanism).unwrap();
        std::io::copy(&mut reader, &mut writer).unwrap();
        assert_eq!(
            writer.finish().unwrap(),
            hex(expected),
            "{mechanism} through io::copy"
        );
    }
}

#[test]
fn a_key_can_be_digested_among_data() {
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::offers(&session, &[M::SHA256]) || !p11_tests::keeps_secret_keys(&session) {
        return;
    }
    let value = [0x5au8; 32];
    let key = session
        .create_object(
            &p11_core::Template::new()
                .with(
                    p11_core::AttributeType::CLASS,
                    p11_core::ObjectClass::SECRET_KEY,
                )
                .with(p11_core::AttributeType::KEY_TYPE, KeyType::GENERIC_SECRET)
                .with(p11_core::AttributeType::VALUE, value)
                .with(p11_core::AttributeType::SENSITIVE, false),
        )
        .unwrap();
    let sha256 = Mechanism::new(M::SHA256);
    let mut digest = session.begin_digest(&sha256).unwrap();
    digest.update(b"before").unwrap();
    digest.update_key(&key).unwrap();
    digest.update(b"after").unwrap();
    let mut expected_input = b"before".to_vec();
    expected_input.extend(value);
    expected_input.extend(b"after");
    assert_eq!(
        digest.finish().unwrap(),
        session.digest(&sha256, &expected_input).unwrap()
    );
}

/// ChaCha20 with typed parameters (counter and nonce) gives what RustCrypto's ChaCha20
/// gives for RFC 8439's key, nonce and counter 1 — and decrypts back.
#[test]
fn chacha20_matches_rfc_8439() {
    use chacha20::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};
    use p11_core::mechanisms::ChaCha20Params;
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::offers(&session, &[M::CHACHA20]) {
        return;
    }
    let key_bytes: Vec<u8> = (0u8..32).collect();
    let nonce = [0, 0, 0, 0, 0, 0, 0, 0x4a, 0, 0, 0, 0];
    let plain = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip \
                  for the future, sunscreen would be it.";
    let key = import_secret(&session, KeyType::CHACHA20, &key_bytes);
    let counter = 1u32.to_le_bytes();
    let mechanism = Mechanism::with(M::CHACHA20, ChaCha20Params::new(&counter, &nonce).unwrap());
    let sealed = session.encrypt(&mechanism, &key, plain).unwrap();

    let mut expected = plain.to_vec();
    let mut reference = chacha20::ChaCha20::new(key_bytes.as_slice().into(), (&nonce).into());
    reference.seek(64u64);
    reference.apply_keystream(&mut expected);
    assert_eq!(sealed, expected);
    assert_eq!(session.decrypt(&mechanism, &key, &sealed).unwrap(), plain);
}

/// One-shot ChaCha20-Poly1305 with typed parameters (nonce and additional data) gives
/// what RustCrypto's gives for RFC 8439's AEAD example (section 2.8.2), tag included;
/// decrypts back; and a changed tag or changed additional data is refused.
#[test]
fn chacha20_poly1305_matches_rfc_8439() {
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    use p11_core::mechanisms::ChaCha20Poly1305Params;
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::offers(&session, &[M::CHACHA20_POLY1305]) {
        return;
    }
    let key_bytes: Vec<u8> = (0x80u8..0xa0).collect();
    let nonce = [7, 0, 0, 0, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47];
    let aad = [
        0x50, 0x51, 0x52, 0x53, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7,
    ];
    let plain = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip \
                  for the future, sunscreen would be it.";
    let key = import_secret(&session, KeyType::CHACHA20, &key_bytes);
    fn aead<'a>(nonce: &'a [u8], aad: &'a [u8]) -> Mechanism<'a> {
        let params = ChaCha20Poly1305Params::new(nonce, aad).unwrap();
        Mechanism::with(M::CHACHA20_POLY1305, params)
    }
    let with = |aad| aead(&nonce, aad);
    let sealed = session.encrypt(&with(&aad), &key, plain).unwrap();

    let reference = chacha20poly1305::ChaCha20Poly1305::new_from_slice(&key_bytes).unwrap();
    let expected = reference
        .encrypt(
            &chacha20poly1305::Nonce::from(nonce),
            Payload {
                msg: plain,
                aad: &aad,
            },
        )
        .unwrap();
    assert_eq!(sealed, expected, "ciphertext and tag");
    assert_eq!(session.decrypt(&with(&aad), &key, &sealed).unwrap(), plain);
    let mut forged = sealed.clone();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    assert!(
        session.decrypt(&with(&aad), &key, &forged).is_err(),
        "a changed tag"
    );
    assert!(
        session
            .decrypt(&with(b"other data"), &key, &sealed)
            .is_err(),
        "changed additional data"
    );
}
