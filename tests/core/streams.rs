//! Multi-part operations: streaming equals single-part, undersized buffers, abandoned
//! operations, and threads sharing a session.

use p11_core::{AttributeType as A, KeyType, Mechanism, MechanismType as M, ReturnValue, Template};
use p11_tests::{concat, import_secret, shared, user_session};
use std::io::{Read, Write};

const IV: [u8; 16] = [0x24; 16];

/// A ciphertext of the wrong length refused as such (kryoptic says `DATA_LEN_RANGE`
/// where the spec says `ENCRYPTED_DATA_LEN_RANGE`).
fn refuses_the_length(err: &p11_core::Error) -> bool {
    matches!(
        err.return_value(),
        Some(
            ReturnValue::EncryptedDataLenRange
                | ReturnValue::EncryptedDataInvalid
                | ReturnValue::DataLenRange
        )
    )
}

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

#[test]
fn cbc_pad_streamed_equals_single_part_for_every_size() {
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::offers(&session, &[M::AES_CBC_PAD]) {
        return;
    }
    let key = import_secret(&session, KeyType::AES, &[0x42; 32]);
    let cbc_pad = Mechanism::with_iv(M::AES_CBC_PAD, &IV).unwrap();
    for len in [0, 1, 15, 16, 17, (1 << 20) + 3] {
        let plain = data(len);
        let single = session.encrypt(&cbc_pad, &key, &plain).unwrap();
        assert_eq!(single.len(), len / 16 * 16 + 16);

        // update/finish into caller buffers, in uneven parts.
        let mut cipher = session.begin_encrypt(&cbc_pad, &key).unwrap();
        let mut streamed = Vec::new();
        let mut out = vec![0u8; cipher.update_bound(4099)];
        for part in plain.chunks(4099) {
            let n = cipher.update(part, &mut out).unwrap();
            streamed.extend_from_slice(&out[..n]);
        }
        let n = cipher.finish_into(&mut out).unwrap();
        streamed.extend_from_slice(&out[..n]);
        assert_eq!(streamed, single, "update/finish, {len} bytes");

        // The chunk iterator, the writer and the reader.
        let chunks = concat(
            session
                .begin_encrypt(&cbc_pad, &key)
                .unwrap()
                .stream(plain.chunks(1000)),
        )
        .unwrap();
        assert_eq!(chunks, single, "stream, {len} bytes");
        let mut writer = session
            .begin_encrypt(&cbc_pad, &key)
            .unwrap()
            .writer(Vec::new());
        writer.write_all(&plain).unwrap();
        assert_eq!(writer.finish().unwrap(), single, "writer, {len} bytes");
        let mut decrypted = Vec::new();
        session
            .begin_decrypt(&cbc_pad, &key)
            .unwrap()
            .reader(single.as_slice())
            .read_to_end(&mut decrypted)
            .unwrap();
        assert_eq!(decrypted, plain, "reader, {len} bytes");
    }
}

/// CBC-PAD streams in chunks of any length, each way, equal the single-part result:
/// p11 gives the module whole blocks (NSS refuses others when decrypting). Shared
/// with the NSS test.
pub fn any_chunking_works(session: &p11_core::Session) {
    let key = import_secret(session, KeyType::AES, &[0x42; 16]);
    let cbc_pad = Mechanism::with_iv(M::AES_CBC_PAD, &IV).unwrap();
    let plain = data(100);
    let single = session.encrypt(&cbc_pad, &key, &plain).unwrap();
    let uneven = |bytes: &[u8]| -> Vec<Vec<u8>> {
        let mut rest = bytes;
        let mut chunks = Vec::new();
        for len in [1, 7, 15, 17, 33, 1, 16].into_iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (chunk, after) = rest.split_at(len.min(rest.len()));
            chunks.push(chunk.to_vec());
            rest = after;
        }
        chunks
    };
    let encrypted = concat(
        session
            .begin_encrypt(&cbc_pad, &key)
            .unwrap()
            .stream(uneven(&plain)),
    )
    .unwrap();
    assert_eq!(encrypted, single, "encrypted in uneven chunks");
    let decrypted = concat(
        session
            .begin_decrypt(&cbc_pad, &key)
            .unwrap()
            .stream(uneven(&single)),
    )
    .unwrap();
    assert_eq!(decrypted, plain, "decrypted in uneven chunks");
    // A ciphertext that is no whole number of blocks: the module's own error, at the end.
    let err = concat(
        session
            .begin_decrypt(&cbc_pad, &key)
            .unwrap()
            .stream(uneven(&single[..single.len() - 1])),
    )
    .unwrap_err();
    assert!(refuses_the_length(&err), "{err}");
}

#[test]
fn cbc_pad_streams_take_chunks_of_any_length() {
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::offers(&session, &[M::AES_CBC_PAD]) {
        return;
    }
    any_chunking_works(&session);
}

#[test]
fn an_undersized_output_buffer_can_be_retried() {
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::offers(&session, &[M::AES_ECB]) {
        return;
    }
    let key = import_secret(&session, KeyType::AES, &[0x42; 16]);
    let ecb = Mechanism::new(M::AES_ECB);
    let plain = data(64);
    let expected = session.encrypt(&ecb, &key, &plain).unwrap();
    let mut cipher = session.begin_encrypt(&ecb, &key).unwrap();
    let mut small = [0u8; 8];
    let err = cipher.update(&plain, &mut small).unwrap_err();
    assert_eq!(
        err.return_value(),
        Some(ReturnValue::BufferTooSmall),
        "{err}"
    );
    let mut enough = vec![0u8; 64];
    let n = cipher.update(&plain, &mut enough).unwrap();
    assert_eq!(&enough[..n], &expected[..]);
    assert_eq!(cipher.finish().unwrap(), b"");
}

#[test]
fn abandoned_operations_leave_the_session_ready_for_the_next() {
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::offers(&session, &[M::AES_CBC_PAD, M::AES_CMAC, M::SHA256]) {
        return;
    }
    let aes = import_secret(&session, KeyType::AES, &[0x42; 16]);
    let cbc_pad = Mechanism::with_iv(M::AES_CBC_PAD, &IV).unwrap();
    let cmac = Mechanism::new(M::AES_CMAC);
    let sha256 = Mechanism::new(M::SHA256);
    let ciphertext = session.encrypt(&cbc_pad, &aes, &data(40)).unwrap();

    let mut encrypting = session.begin_encrypt(&cbc_pad, &aes).unwrap();
    encrypting.update_vec(&data(20)).unwrap();
    drop(encrypting);
    assert_eq!(
        session.encrypt(&cbc_pad, &aes, &data(40)).unwrap(),
        ciphertext
    );

    let mut decrypting = session.begin_decrypt(&cbc_pad, &aes).unwrap();
    decrypting.update_vec(&ciphertext[..17]).unwrap();
    drop(decrypting);
    assert_eq!(
        session.decrypt(&cbc_pad, &aes, &ciphertext).unwrap(),
        data(40)
    );

    let mut signing = session.begin_sign(&cmac, &aes).unwrap();
    signing.update(b"half a message").unwrap();
    drop(signing);
    let tag = session.sign(&cmac, &aes, b"whole").unwrap();
    assert!(session.verify(&cmac, &aes, b"whole", &tag).unwrap());

    let mut verifying = session.begin_verify(&cmac, &aes).unwrap();
    verifying.update(b"part").unwrap();
    drop(verifying);
    assert!(session.verify(&cmac, &aes, b"whole", &tag).unwrap());

    let mut digesting = session.begin_digest(&sha256).unwrap();
    digesting.update(b"abandoned").unwrap();
    drop(digesting);
    assert_eq!(session.digest(&sha256, b"abc").unwrap().len(), 32);

    // An abandoned writer and reader cancel too.
    let mut writer = session
        .begin_encrypt(&cbc_pad, &aes)
        .unwrap()
        .writer(Vec::new());
    writer.write_all(&data(100)).unwrap();
    drop(writer);
    let mut reader = session
        .begin_decrypt(&cbc_pad, &aes)
        .unwrap()
        .reader(ciphertext.as_slice());
    let mut first = [0u8; 4];
    reader.read_exact(&mut first).unwrap();
    drop(reader);
    assert_eq!(
        session.decrypt(&cbc_pad, &aes, &ciphertext).unwrap(),
        data(40)
    );
}

#[test]
fn truncated_ciphertext_and_wrong_signatures_are_errors_and_false() {
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::offers(&session, &[M::AES_CBC_PAD, M::AES_CMAC]) {
        return;
    }
    let aes = import_secret(&session, KeyType::AES, &[0x42; 16]);
    let cbc_pad = Mechanism::with_iv(M::AES_CBC_PAD, &IV).unwrap();
    let ciphertext = session.encrypt(&cbc_pad, &aes, &data(40)).unwrap();
    let err = session
        .decrypt(&cbc_pad, &aes, &ciphertext[..ciphertext.len() - 1])
        .unwrap_err();
    assert!(refuses_the_length(&err), "{err}");
    let cmac = Mechanism::new(M::AES_CMAC);
    assert!(!session.verify(&cmac, &aes, b"data", &[0u8; 16]).unwrap());
    assert!(!session.verify(&cmac, &aes, b"data", &[]).unwrap());
    let mut verifier = session.begin_verify(&cmac, &aes).unwrap();
    verifier.update(b"data").unwrap();
    assert!(!verifier.finish(&[1u8; 16]).unwrap());
}

#[test]
fn eight_threads_share_a_session_for_their_own_encryptions() {
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::offers(&session, &[M::AES_CBC_PAD, M::AES_KEY_GEN]) {
        return;
    }
    let key = session
        .generate_key(
            &Mechanism::new(M::AES_KEY_GEN),
            &Template::new()
                .with(A::VALUE_LEN, 32u64)
                .with(A::ENCRYPT, true)
                .with(A::DECRYPT, true),
        )
        .unwrap();
    std::thread::scope(|s| {
        for thread in 0..8u8 {
            let (session, key) = (&session, &key);
            s.spawn(move || {
                let iv = [thread; 16];
                let mechanism = Mechanism::with_iv(M::AES_CBC_PAD, &iv).unwrap();
                for round in 0..50usize {
                    let plain: Vec<u8> = (0..round + thread as usize)
                        .map(|i| i as u8 ^ thread)
                        .collect();
                    let encrypted = session.encrypt(&mechanism, key, &plain).unwrap();
                    assert_eq!(session.decrypt(&mechanism, key, &encrypted).unwrap(), plain);
                    // A multi-part one too: it holds the session's encryption until done.
                    let mut cipher = session.begin_encrypt(&mechanism, key).unwrap();
                    let mut streamed = cipher.update_vec(&plain).unwrap();
                    streamed.extend(cipher.finish().unwrap());
                    assert_eq!(streamed, encrypted);
                }
            });
        }
    });
}

#[test]
fn a_second_operation_on_the_same_thread_is_an_error_not_a_deadlock() {
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::offers(&session, &[M::AES_ECB]) {
        return;
    }
    let key = import_secret(&session, KeyType::AES, &[0x42; 16]);
    let ecb = Mechanism::new(M::AES_ECB);
    let search = session.find_objects(&Template::new()).unwrap();
    let err = session.encrypt(&ecb, &key, &[0u8; 16]).unwrap_err();
    assert!(
        matches!(
            err,
            p11_core::Error::OperationInProgress(p11_core::Operation::Encrypt)
        ),
        "{err:?}"
    );
    drop(search);
    let cipher = session.begin_encrypt(&ecb, &key).unwrap();
    assert!(session.begin_digest(&Mechanism::new(M::SHA256)).is_err());
    drop(cipher);
    assert_eq!(session.encrypt(&ecb, &key, &[0u8; 16]).unwrap().len(), 16);
}

/// A digest saved midway resumes in another session and ends as if never interrupted;
/// the saved one carries on too. Where the module saves no states (SoftHSM, kryoptic),
/// its answer to `C_GetOperationState` is the probe.
#[test]
fn a_digest_saved_midway_resumes_in_another_session() {
    use sha2::{Digest as _, Sha256};
    let f = shared();
    let session = user_session(&f);
    if !p11_tests::offers(&session, &[M::SHA256]) {
        return;
    }
    let sha256 = Mechanism::new(M::SHA256);
    let mut first = session.begin_digest(&sha256).unwrap();
    first.update(b"saved ").unwrap();
    let state = match first.save_state() {
        Ok(state) => state,
        Err(e)
            if matches!(
                e.return_value(),
                Some(
                    ReturnValue::FunctionNotSupported
                        | ReturnValue::StateUnsaveable
                        | ReturnValue::OperationNotInitialized
                )
            ) =>
        {
            println!("skipped: the module saves no digest state ({e})");
            return;
        }
        Err(e) => panic!("C_GetOperationState: {e}"),
    };
    assert_eq!(state.mechanism(), M::SHA256);
    assert!(!format!("{state:?}").contains(&format!("{:?}", state.as_bytes())));
    // The first digest goes on after the save.
    first.update(b"here").unwrap();
    assert_eq!(
        first.finish().unwrap(),
        Sha256::digest(b"saved here").to_vec()
    );
    // Another session resumes it, twice (a state is not used up), and from kept bytes.
    let other = user_session(&f);
    for state in [
        state.clone(),
        state.clone(),
        p11_core::OperationState::from_bytes(M::SHA256, state.as_bytes()),
    ] {
        let mut resumed = other.resume_digest(&state).unwrap();
        resumed.update(b"there").unwrap();
        assert_eq!(
            resumed.finish().unwrap(),
            Sha256::digest(b"saved there").to_vec()
        );
    }
    // Dropped unfinished, a resumed digest leaves the session free.
    let abandoned = other.resume_digest(&state).unwrap();
    drop(abandoned);
    assert_eq!(
        other.digest(&sha256, b"x").unwrap(),
        Sha256::digest(b"x").to_vec()
    );
    // Bytes the module did not write are refused, not taken for a digest.
    let forged = p11_core::OperationState::from_bytes(M::SHA256, &[0x5a; 16]);
    assert!(other.resume_digest(&forged).is_err());
    assert_eq!(
        other.digest(&sha256, b"y").unwrap(),
        Sha256::digest(b"y").to_vec()
    );
}
