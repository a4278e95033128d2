use p11_core::{Access, Error, ReturnValue};
use p11_tests::shared;

#[test]
fn random_comes_in_the_number_of_bytes_asked_for() {
    let f = shared();
    if !f.has_rng() {
        return;
    }
    let session = f.token.open(Access::ReadOnly).unwrap();
    for len in [0, 1, 16, 32, 1000] {
        assert_eq!(session.generate_random(len).unwrap().len(), len);
    }
    let a = session.generate_random(32).unwrap();
    let b = session.generate_random(32).unwrap();
    assert_ne!(a, b, "two 256-bit draws were equal");
    assert!(a.iter().any(|byte| *byte != 0));
    let mut buffer = [0u8; 64];
    session.fill_random(&mut buffer).unwrap();
    assert!(buffer.iter().any(|byte| *byte != 0));
}

#[test]
fn an_absurd_length_is_an_error_not_an_abort() {
    let f = shared();
    if !f.has_rng() {
        return;
    }
    let session = f.token.open(Access::ReadOnly).unwrap();
    let err = session.generate_random(1 << 62).unwrap_err();
    assert!(
        matches!(err, Error::OutOfMemory(n) if n == 1 << 62),
        "{err:?}"
    );
    // The session is fine afterwards.
    assert_eq!(session.generate_random(16).unwrap().len(), 16);
}

#[test]
fn seeding_the_generator_is_accepted_or_refused_by_name() {
    let f = shared();
    if !f.has_rng() {
        return;
    }
    let session = f.token.open(Access::ReadOnly).unwrap();
    match session.seed_random(b"some extra entropy") {
        Ok(()) => assert_eq!(session.generate_random(16).unwrap().len(), 16),
        // The standard's refusal; kryoptic's OpenSSL refuses added seed as
        // CKR_ARGUMENTS_BAD; OpenSC has no C_SeedRandom at all.
        Err(e) => assert!(
            e.is_not_supported()
                || matches!(
                    e.return_value(),
                    Some(
                        ReturnValue::RandomSeedNotSupported
                            | ReturnValue::ArgumentsBad
                            | ReturnValue::FunctionNotSupported
                    )
                ),
            "{e}"
        ),
    }
}
