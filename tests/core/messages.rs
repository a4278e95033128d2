//! Message-based encryption (PKCS#11 3.0): AES-GCM and ChaCha20-Poly1305 records, each
//! with its own IV and tag, on tokens whose mechanism info says they do it (kryoptic);
//! elsewhere the tests say why they skip.

use p11_core::mechanisms::{
    CcmMessageParams, ChaCha20Poly1305MessageParams, GcmMessageParams, GcmParams, IvGenerator,
};
use p11_core::{
    AttributeType as A, Error, KeyType, Mechanism, MechanismFlags, MechanismType as M, Session,
    Template,
};
use p11_tests::{import_secret, shared, user_session};

/// Whether the token says it encrypts messages with `mechanism`.
fn encrypts_messages(session: &Session, mechanism: M) -> bool {
    let flags = session
        .slot()
        .mechanism_info(mechanism)
        .map(|info| info.flags)
        .unwrap_or(MechanismFlags::empty());
    let both = MechanismFlags::MESSAGE_ENCRYPT | MechanismFlags::MESSAGE_DECRYPT;
    if !flags.contains(both) {
        println!("skipped: the token does not encrypt messages with {mechanism}");
    }
    flags.contains(both)
}

#[test]
fn gcm_records_each_with_their_own_iv_and_tag() {
    let f = shared();
    let session = user_session(&f);
    if !encrypts_messages(&session, M::AES_GCM) {
        return;
    }
    let key = import_secret(&session, KeyType::AES, &[0x42; 32]);
    let gcm = Mechanism::new(M::AES_GCM);
    let records: [(&[u8], &[u8], [u8; 12]); 2] = [
        (b"first record", b"header 1", [1; 12]),
        (b"the second record", b"header 2", [2; 12]),
    ];
    let mut sealed = Vec::new();
    let mut writer = session.begin_message_encrypt(&gcm, &key).unwrap();
    for (plain, aad, iv) in &records {
        let mut tag = [0u8; 16];
        let ciphertext = writer
            .encrypt(&mut GcmMessageParams::new(iv, &mut tag), aad, plain)
            .unwrap();
        assert_eq!(ciphertext.len(), plain.len());
        assert_ne!(tag, [0u8; 16], "the token wrote the tag");
        sealed.push((ciphertext, tag));
    }
    writer.finish().unwrap();

    // Each record is what single-part GCM makes of it: ciphertext, then the tag.
    for ((plain, aad, iv), (ciphertext, tag)) in records.iter().zip(&sealed) {
        let mut iv = *iv;
        let single = Mechanism::with(M::AES_GCM, GcmParams::new(&mut iv, aad, 128).unwrap());
        let joined = [ciphertext.as_slice(), tag].concat();
        assert_eq!(session.decrypt(&single, &key, &joined).unwrap(), *plain);
    }

    let mut reader = session.begin_message_decrypt(&gcm, &key).unwrap();
    // A tampered tag fails; modules differ on whether the operation survives it
    // (kryoptic ends it), so the records are opened by a fresh one.
    let (ciphertext, tag) = &sealed[0];
    let mut bad_tag = *tag;
    bad_tag[0] ^= 1;
    let err = reader
        .decrypt(
            &mut GcmMessageParams::to_decrypt(&records[0].2, &bad_tag),
            records[0].1,
            ciphertext,
        )
        .unwrap_err();
    assert!(matches!(err, Error::Module { .. }), "{err}");
    drop(reader);
    let mut reader = session.begin_message_decrypt(&gcm, &key).unwrap();
    for ((plain, aad, iv), (ciphertext, tag)) in records.iter().zip(&sealed) {
        let opened = reader
            .decrypt(&mut GcmMessageParams::to_decrypt(iv, tag), aad, ciphertext)
            .unwrap();
        assert_eq!(opened, *plain);
    }
    reader.finish().unwrap();
}

#[test]
fn a_generated_iv_comes_back_in_the_callers_buffer() {
    let f = shared();
    let session = user_session(&f);
    if !encrypts_messages(&session, M::AES_GCM) {
        return;
    }
    let key = import_secret(&session, KeyType::AES, &[0x24; 16]);
    let gcm = Mechanism::new(M::AES_GCM);
    let mut writer = session.begin_message_encrypt(&gcm, &key).unwrap();
    let (mut iv, mut tag) = ([0u8; 12], [0u8; 16]);
    let ciphertext = writer
        .encrypt(
            &mut GcmMessageParams::generated(&mut iv, 0, IvGenerator::Random, &mut tag),
            b"",
            b"a record",
        )
        .unwrap();
    // Dropped unfinished: cancelled, and the session takes the next operation.
    drop(writer);
    assert_ne!(iv, [0u8; 12], "the token wrote the IV it made");
    let mut reader = session.begin_message_decrypt(&gcm, &key).unwrap();
    let opened = reader
        .decrypt(
            &mut GcmMessageParams::to_decrypt(&iv, &tag),
            b"",
            &ciphertext,
        )
        .unwrap();
    assert_eq!(opened, b"a record");
}

#[test]
fn ccm_records_carry_their_length_nonce_and_mac() {
    let f = shared();
    let session = user_session(&f);
    if !encrypts_messages(&session, M::AES_CCM) {
        return;
    }
    let key = import_secret(&session, KeyType::AES, &[0x33; 16]);
    let ccm = Mechanism::new(M::AES_CCM);
    let plain = b"a counted record";
    let (nonce, mut mac) = ([5u8; 12], [0u8; 16]);
    let mut writer = session.begin_message_encrypt(&ccm, &key).unwrap();
    let sealed = writer
        .encrypt(
            &mut CcmMessageParams::new(plain.len(), &nonce, &mut mac),
            b"aad",
            plain,
        )
        .unwrap();
    writer.finish().unwrap();
    assert_ne!(mac, [0u8; 16], "the token wrote the MAC");
    let mut reader = session.begin_message_decrypt(&ccm, &key).unwrap();
    let opened = reader
        .decrypt(
            &mut CcmMessageParams::to_decrypt(sealed.len(), &nonce, &mac),
            b"aad",
            &sealed,
        )
        .unwrap();
    assert_eq!(opened, plain);
}

#[test]
fn chacha20_poly1305_records() {
    let f = shared();
    let session = user_session(&f);
    if !encrypts_messages(&session, M::CHACHA20_POLY1305) {
        return;
    }
    let key = session
        .generate_key(
            &Mechanism::new(M::CHACHA20_KEY_GEN),
            &Template::new()
                .with(A::VALUE_LEN, 32u64)
                .with(A::TOKEN, false)
                .with(A::ENCRYPT, true)
                .with(A::DECRYPT, true),
        )
        .unwrap();
    let mechanism = Mechanism::new(M::CHACHA20_POLY1305);
    let (nonce, mut tag) = ([9u8; 12], [0u8; 16]);
    let mut writer = session.begin_message_encrypt(&mechanism, &key).unwrap();
    let ciphertext = writer
        .encrypt(
            &mut ChaCha20Poly1305MessageParams::new(&nonce, &mut tag),
            b"aad",
            b"stream cipher record",
        )
        .unwrap();
    writer.finish().unwrap();
    let mut reader = session.begin_message_decrypt(&mechanism, &key).unwrap();
    let opened = reader
        .decrypt(
            &mut ChaCha20Poly1305MessageParams::to_decrypt(&nonce, &tag),
            b"aad",
            &ciphertext,
        )
        .unwrap();
    assert_eq!(opened, b"stream cipher record");
    let err = reader
        .decrypt(
            &mut ChaCha20Poly1305MessageParams::to_decrypt(&nonce, &tag),
            b"other aad",
            &ciphertext,
        )
        .unwrap_err();
    assert!(matches!(err, Error::Module { .. }), "{err}");
    // Whatever state the failure left, dropping it leaves the session ready.
    drop(reader);
    assert!(session.begin_message_decrypt(&mechanism, &key).is_ok());
}

#[test]
fn a_module_without_pkcs11_3_says_so() {
    let f = shared();
    if f.module.interface_version().major >= 3 {
        println!("skipped: the module offers PKCS#11 3.x");
        return;
    }
    let session = user_session(&f);
    if !p11_tests::keeps_secret_keys(&session) {
        return;
    }
    let key = import_secret(&session, KeyType::AES, &[1; 16]);
    let err = session
        .begin_message_encrypt(&Mechanism::new(M::AES_GCM), &key)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotSupported(p11_core::Function::MessageEncryptInit)
        ),
        "{err:?}"
    );
}

/// A message in parts (`C_*MessageBegin`, `C_*MessageNext`): the same ciphertext and tag
/// as the message whole, decrypted in parts again; a tampered tag fails at the end; a
/// message left unfinished makes its operation refuse further use.
#[test]
fn gcm_messages_in_parts_equal_whole_messages() {
    let f = shared();
    let session = user_session(&f);
    if !encrypts_messages(&session, M::AES_GCM) {
        return;
    }
    let key = import_secret(&session, KeyType::AES, &[0x24; 32]);
    let gcm = Mechanism::new(M::AES_GCM);
    let (iv, aad) = ([9u8; 12], b"header");
    let plain: Vec<u8> = (0u8..100).collect();

    let mut writer = session.begin_message_encrypt(&gcm, &key).unwrap();
    let mut whole_tag = [0u8; 16];
    let whole = writer
        .encrypt(&mut GcmMessageParams::new(&iv, &mut whole_tag), aad, &plain)
        .unwrap();
    let mut tag = [0u8; 16];
    let mut params = GcmMessageParams::new(&iv, &mut tag);
    let mut parts = match writer.begin_message(&mut params, aad) {
        Ok(parts) => parts,
        Err(e) if e.is_not_supported() => {
            println!("skipped: the module has no messages in parts: {e}");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let mut sealed = Vec::new();
    for chunk in plain[..90].chunks(30) {
        sealed.extend(parts.update(chunk).unwrap());
    }
    sealed.extend(parts.finish(&plain[90..]).unwrap());
    assert_eq!(sealed, whole);
    assert_eq!(tag, whole_tag);
    writer.finish().unwrap();

    let mut reader = session.begin_message_decrypt(&gcm, &key).unwrap();
    let mut params = GcmMessageParams::to_decrypt(&iv, &tag);
    let mut parts = reader.begin_message(&mut params, aad).unwrap();
    let mut opened = parts.update(&sealed[..50]).unwrap();
    opened.extend(parts.finish(&sealed[50..]).unwrap());
    assert_eq!(opened, plain);
    reader.finish().unwrap();

    let mut bad_tag = tag;
    bad_tag[0] ^= 1;
    let mut reader = session.begin_message_decrypt(&gcm, &key).unwrap();
    let mut params = GcmMessageParams::to_decrypt(&iv, &bad_tag);
    let mut parts = reader.begin_message(&mut params, aad).unwrap();
    let _ = parts.update(&sealed[..50]);
    assert!(matches!(
        parts.finish(&sealed[50..]),
        Err(Error::Module { .. })
    ));
    drop(reader);

    let mut writer = session.begin_message_encrypt(&gcm, &key).unwrap();
    let mut tag = [0u8; 16];
    let mut params = GcmMessageParams::new(&[3u8; 12], &mut tag);
    let mut parts = writer.begin_message(&mut params, aad).unwrap();
    parts.update(&plain[..10]).unwrap();
    drop(parts);
    let err = writer
        .encrypt(
            &mut GcmMessageParams::new(&[4u8; 12], &mut [0u8; 16]),
            aad,
            &plain,
        )
        .unwrap_err();
    assert!(matches!(err, Error::MessageUnfinished), "{err}");
    drop(writer);
    // The session is free again.
    let mut writer = session.begin_message_encrypt(&gcm, &key).unwrap();
    let mut tag = [0u8; 16];
    writer
        .encrypt(
            &mut GcmMessageParams::new(&[5u8; 12], &mut tag),
            aad,
            &plain,
        )
        .unwrap();
    writer.finish().unwrap();
}
