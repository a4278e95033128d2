//! Concurrency: one session shared by threads. Operations hold the session while they
//! run, so threads never interleave them, and no lock is needed in user code.
use p11::{Decrypt, Encrypt, KeyType, Library, ObjectOptions, OpenOptions, TokenFilter};
use std::env::var;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lib = Library::load(var("PKCS11_MODULE")?)?;
    let token = lib.get_token(&TokenFilter::new().label(var("PKCS11_TOKEN_LABEL")?))?;
    let session = token.open(&OpenOptions::new().user_pin(var("PKCS11_TOKEN_PIN")?))?;
    let key = session.generate_key(KeyType::AES, 256, &ObjectOptions::new())?;

    std::thread::scope(|s| -> Result<(), Box<dyn std::error::Error>> {
        let workers: Vec<_> = (0..8u8)
            .map(|thread| {
                let key = &key;
                s.spawn(move || -> p11::Result<()> {
                    let iv = [thread; 16];
                    for round in 0..100u32 {
                        let data = format!("thread {thread}, round {round}");
                        let sealed = key.with_param(&iv).encrypt(data.as_bytes())?;
                        assert_eq!(key.with_param(&iv).decrypt(&sealed)?, data.as_bytes());
                    }
                    Ok(())
                })
            })
            .collect();
        for worker in workers {
            worker.join().map_err(|_| "a thread panicked")??;
        }
        Ok(())
    })?;
    println!("8 threads x 100 encryptions through one session, all correct");
    Ok(())
}
