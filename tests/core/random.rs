use p11_core::{Access, Error, ReturnValue};
use p11_tests::shared;

#[test]
fn random_comes_in_the_number_of_bits_asked_for() {
    let f = shared();
    let session = f.token.open(Access::ReadOnly).unwrap();
    for bits in [0, 8, 128, 256, 8 * 1000] {
        assert_eq!(session.generate_random(bits).unwrap().len(), bits / 8);
    }
    let a = session.generate_random(256).unwrap();
    let b = session.generate_random(256).unwrap();
    assert_ne!(a, b, "two 256-bit draws were equal");
    assert!(a.iter().any(|byte| *byte != 0));
    let mut buffer = [0u8; 64];
    session.fill_random(&mut buffer).unwrap();
    assert!(buffer.iter().any(|byte| *byte != 0));
}

#[test]
fn a_bit_count_that_is_not_whole_bytes_is_refused() {
    let f = shared();
    let session = f.token.open(Access::ReadOnly).unwrap();
    let err = session.generate_random(7).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    assert!(
        err.to_string().contains("7 bits is not a multiple of 8"),
        "{err}"
    );
}

#[test]
fn seeding_the_generator_is_accepted_or_refused_by_name() {
    let f = shared();
    let session = f.token.open(Access::ReadOnly).unwrap();
    match session.seed_random(b"some extra entropy") {
        Ok(()) => assert_eq!(session.generate_random(128).unwrap().len(), 16),
        Err(e) => assert_eq!(
            e.return_value(),
            Some(ReturnValue::RandomSeedNotSupported),
            "{e}"
        ),
    }
}
