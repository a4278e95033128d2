//! Message-based encryption through the facade: a secret key's default AEAD for
//! records, each with its own IV and tag, on tokens whose mechanism info says they do it.

use crate::defaults::session;
use p11::mechanisms::GcmMessageParams;
use p11::MechanismFlags;
use p11::{Decrypt, Encrypt, KeyType, MechanismType as M};

#[test]
fn aes_keys_seal_and_open_records_with_gcm_by_default() {
    let f = session();
    let flags = f
        .session
        .slot()
        .get_mechanism_info(M::AES_GCM)
        .map(|info| info.flags)
        .unwrap_or(MechanismFlags::empty());
    if !flags.contains(MechanismFlags::MESSAGE_ENCRYPT | MechanismFlags::MESSAGE_DECRYPT) {
        println!(
            "skipped: the token does not encrypt messages with {}",
            M::AES_GCM
        );
        return;
    }
    let key = f
        .session
        .generate_key(KeyType::AES, 256, &f.options())
        .unwrap();
    let records: [(&[u8], [u8; 12]); 2] = [(b"first", [1; 12]), (b"second record", [2; 12])];
    let mut writer = key.message_encryptor().unwrap();
    let sealed: Vec<(Vec<u8>, [u8; 16])> = records
        .iter()
        .map(|(plain, iv)| {
            let mut tag = [0u8; 16];
            let ciphertext = writer
                .encrypt(&mut GcmMessageParams::new(iv, &mut tag), b"aad", plain)
                .unwrap();
            (ciphertext, tag)
        })
        .collect();
    writer.finish().unwrap();
    let mut reader = key.message_decryptor().unwrap();
    for ((plain, iv), (ciphertext, tag)) in records.iter().zip(&sealed) {
        let opened = reader
            .decrypt(
                &mut GcmMessageParams::to_decrypt(iv, tag),
                b"aad",
                ciphertext,
            )
            .unwrap();
        assert_eq!(opened, *plain);
    }
    reader.finish().unwrap();
    // A key type without a default AEAD says so.
    if !p11_tests::offers(&f.session, &[M::GENERIC_SECRET_KEY_GEN]) {
        return;
    }
    let hmac = f
        .session
        .generate_key(KeyType::GENERIC_SECRET, 256, &f.options())
        .unwrap();
    assert!(matches!(
        hmac.message_encryptor(),
        Err(p11::Error::NoDefaultMechanism {
            key_type: KeyType::GENERIC_SECRET,
            operation: p11::Operation::MessageEncrypt
        })
    ));
}
