//! Property tests: every codec round-trips, and no decoder panics or over-allocates on
//! arbitrary or truncated input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use p11_asn1::dh::{DhParameters, ValidationParameters, X942DhParameters};
use p11_asn1::dsa::{self, DsaParameters};
use p11_asn1::ec::{self, EcParameters, EcPrivateKey, CURVES};
use p11_asn1::{
    biginteger, pem, CertificateInfo, PostQuantumAlgorithm, PostQuantumPrivateKey, PrivateKey,
    PublicKey, RsaPrivateKey, RsaPublicKey,
};
use proptest::prelude::*;
use zeroize::Zeroizing;

/// A canonical unsigned integer: no leading zeros, at least one byte.
fn uint(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 1..=max).prop_map(|b| biginteger(&b))
}

fn secret(max: usize) -> impl Strategy<Value = Zeroizing<Vec<u8>>> {
    uint(max).prop_map(Zeroizing::new)
}

fn rsa_private() -> impl Strategy<Value = RsaPrivateKey> {
    (
        uint(64),
        uint(4),
        secret(64),
        secret(32),
        secret(32),
        secret(32),
        secret(32),
        secret(32),
    )
        .prop_map(
            |(modulus, public_exponent, d, p, q, dp, dq, qinv)| RsaPrivateKey {
                modulus,
                public_exponent,
                private_exponent: d,
                prime_1: p,
                prime_2: q,
                exponent_1: dp,
                exponent_2: dq,
                coefficient: qinv,
            },
        )
}

fn curve_params() -> impl Strategy<Value = EcParameters> {
    (0..CURVES.len()).prop_map(|i| EcParameters::NamedCurve(CURVES[i].object_identifier()))
}

fn public_key() -> impl Strategy<Value = PublicKey> {
    prop_oneof![
        (uint(64), uint(4)).prop_map(|(modulus, public_exponent)| PublicKey::Rsa(RsaPublicKey {
            modulus,
            public_exponent
        })),
        (
            proptest::option::of((uint(64), uint(20), uint(64))),
            uint(64)
        )
            .prop_map(|(p, y)| {
                PublicKey::Dsa {
                    parameters: p.map(|(p, q, g)| DsaParameters { p, q, g }),
                    y,
                }
            }),
        (
            uint(64),
            uint(2),
            proptest::option::of(any::<u64>()),
            uint(64)
        )
            .prop_map(|(prime, base, l, y)| {
                PublicKey::Dh {
                    parameters: DhParameters {
                        prime,
                        base,
                        private_value_length: l.map(|l: u64| trim_u64(l)),
                    },
                    y,
                }
            }),
        (uint(64), uint(2), uint(20), uint(64)).prop_map(|(prime, base, subprime, y)| {
            PublicKey::X942Dh {
                parameters: X942DhParameters {
                    prime,
                    base,
                    subprime,
                    cofactor: None,
                    validation: None,
                },
                y,
            }
        }),
        (curve_params(), prop::collection::vec(any::<u8>(), 1..133))
            .prop_map(|(parameters, point)| PublicKey::Ec { parameters, point }),
        prop::collection::vec(any::<u8>(), 32).prop_map(PublicKey::Ed25519),
        prop::collection::vec(any::<u8>(), 57).prop_map(PublicKey::Ed448),
        prop::collection::vec(any::<u8>(), 32).prop_map(PublicKey::X25519),
        prop::collection::vec(any::<u8>(), 56).prop_map(PublicKey::X448),
        post_quantum().prop_flat_map(|algorithm| {
            prop::collection::vec(any::<u8>(), algorithm.public_key_len())
                .prop_map(move |key| PublicKey::PostQuantum { algorithm, key })
        }),
    ]
}

fn post_quantum() -> impl Strategy<Value = PostQuantumAlgorithm> {
    (0..PostQuantumAlgorithm::ALL.len()).prop_map(|i| PostQuantumAlgorithm::ALL[i])
}

/// A post-quantum private key in each form its algorithm has: seed, key, both.
fn post_quantum_private() -> impl Strategy<Value = PostQuantumPrivateKey> {
    (post_quantum(), 0..3usize).prop_flat_map(|(algorithm, form)| {
        let seed_len = algorithm.seed_len().filter(|_| form != 1);
        let key_len = (form != 0 || seed_len.is_none()).then(|| algorithm.private_key_len());
        (
            prop::collection::vec(any::<u8>(), seed_len.unwrap_or(0)),
            prop::collection::vec(any::<u8>(), key_len.unwrap_or(0)),
        )
            .prop_map(move |(seed, key)| {
                PostQuantumPrivateKey::new(
                    algorithm,
                    seed_len.map(|_| seed.as_slice()),
                    key_len.map(|_| key.as_slice()),
                )
                .unwrap()
            })
    })
}

proptest! {
    #[test]
    fn rsa_keys_round_trip(key in rsa_private()) {
        let der = key.to_der().unwrap();
        let back = RsaPrivateKey::from_der(&der).unwrap();
        prop_assert_eq!(&back, &key);
        prop_assert_eq!(&*back.to_der().unwrap(), &*der);
        let public = key.public_key();
        let der = public.to_der().unwrap();
        prop_assert_eq!(RsaPublicKey::from_der(&der).unwrap(), public);
    }

    #[test]
    fn domain_parameters_round_trip(p in uint(128), q in uint(32), g in uint(128), j in proptest::option::of(uint(16)),
                                   seed in proptest::option::of((prop::collection::vec(any::<u8>(), 0..32), any::<u64>()))) {
        let dsa = DsaParameters { p: p.clone(), q: q.clone(), g: g.clone() };
        prop_assert_eq!(DsaParameters::from_der(&dsa.to_der().unwrap()).unwrap(), dsa);
        let x942 = X942DhParameters {
            prime: p, base: g, subprime: q, cofactor: j,
            validation: seed.map(|(seed, pgen_counter)| ValidationParameters { seed, pgen_counter }),
        };
        let der = x942.to_der().unwrap();
        prop_assert_eq!(X942DhParameters::from_der(&der).unwrap(), x942);
    }

    #[test]
    fn public_keys_round_trip_through_spki(key in public_key()) {
        let der = key.to_spki_der().unwrap();
        let back = PublicKey::from_spki_der(&der).unwrap();
        prop_assert_eq!(&back, &key);
        prop_assert_eq!(back.to_spki_der().unwrap(), der);
    }

    #[test]
    fn signatures_round_trip_with_leading_zeros(curve in 0..CURVES.len(), r in prop::collection::vec(any::<u8>(), 1..=66), s in prop::collection::vec(any::<u8>(), 1..=66)) {
        let curve = &CURVES[curve];
        let half = curve.order_len;
        prop_assume!(r.len() <= half && s.len() <= half);
        let mut raw = vec![0u8; 2 * half];
        raw[half - r.len()..half].copy_from_slice(&r);
        raw[2 * half - s.len()..].copy_from_slice(&s);
        let der = ec::encode_ecdsa_signature(&raw).unwrap();
        prop_assert_eq!(ec::decode_ecdsa_signature(&der, curve).unwrap(), raw.clone());
        let der = dsa::encode_dsa_signature(&raw).unwrap();
        prop_assert_eq!(dsa::decode_dsa_signature(&der, half).unwrap(), raw);
    }

    #[test]
    fn ec_private_keys_and_pkcs8_round_trip(scalar in secret(66), curve in curve_params(), point in proptest::option::of(prop::collection::vec(any::<u8>(), 1..133))) {
        let key = EcPrivateKey { private_key: scalar, parameters: Some(curve), public_key: point };
        let der = key.to_der().unwrap();
        prop_assert_eq!(EcPrivateKey::from_der(&der).unwrap(), key.clone());
        let pkcs8 = PrivateKey::Ec(key);
        prop_assert_eq!(PrivateKey::from_pkcs8_der(&pkcs8.to_pkcs8_der().unwrap()).unwrap(), pkcs8);
    }

    #[test]
    fn post_quantum_private_keys_round_trip_through_pkcs8(key in post_quantum_private()) {
        let key = PrivateKey::PostQuantum(key);
        let der = key.to_pkcs8_der().unwrap();
        let back = PrivateKey::from_pkcs8_der(&der).unwrap();
        prop_assert_eq!(&back, &key);
        prop_assert_eq!(&*back.to_pkcs8_der().unwrap(), &*der);
    }

    #[test]
    fn points_and_pem_round_trip(point in prop::collection::vec(any::<u8>(), 0..200), der in prop::collection::vec(any::<u8>(), 0..500)) {
        prop_assert_eq!(ec::decode_ec_point(&ec::encode_ec_point(&point).unwrap()).unwrap(), point);
        if der.is_empty() {
            prop_assert!(pem::encode("PUBLIC KEY", &der).is_err());
        } else {
            let text = pem::encode("PUBLIC KEY", &der).unwrap();
            prop_assert_eq!(pem::decode(&text).unwrap(), ("PUBLIC KEY".to_owned(), der));
        }
    }

    /// Every decoder, on arbitrary bytes: an error or a value, never a panic.
    #[test]
    fn decoders_survive_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = RsaPublicKey::from_der(&bytes);
        let _ = RsaPrivateKey::from_der(&bytes);
        let _ = DsaParameters::from_der(&bytes);
        let _ = DhParameters::from_der(&bytes);
        let _ = X942DhParameters::from_der(&bytes);
        let _ = EcParameters::from_der(&bytes);
        let _ = EcPrivateKey::from_der(&bytes);
        let _ = PrivateKey::from_pkcs8_der(&bytes);
        let _ = PublicKey::from_spki_der(&bytes);
        let _ = CertificateInfo::from_der(&bytes);
        let _ = ec::decode_ec_point(&bytes);
        let _ = ec::decode_ecdsa_signature(&bytes, &CURVES[2]);
        let _ = dsa::decode_dsa_signature(&bytes, 20);
        let _ = dsa::decode_public_value(&bytes);
        let _ = pem::decode(&String::from_utf8_lossy(&bytes));
    }

    /// Valid encodings cut short, or with a byte appended, are errors.
    #[test]
    fn truncated_or_extended_input_is_an_error(key in public_key(), cut in any::<prop::sample::Index>(), extra in any::<u8>()) {
        let der = key.to_spki_der().unwrap();
        let cut = cut.index(der.len());
        prop_assert!(PublicKey::from_spki_der(&der[..cut]).is_err());
        let mut longer = der.clone();
        longer.push(extra);
        prop_assert!(PublicKey::from_spki_der(&longer).is_err());
    }
}

#[test]
fn an_absurd_length_is_an_error_not_an_allocation() {
    // SEQUENCE claiming 2^62 bytes of content.
    let claim = [0x30, 0x88, 0x40, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x01, 0x01];
    assert!(RsaPublicKey::from_der(&claim).is_err());
    assert!(PublicKey::from_spki_der(&claim).is_err());
    assert!(CertificateInfo::from_der(&claim).is_err());
}

#[test]
fn unknown_curves_and_algorithms_are_named_errors() {
    let oid = [0x06, 0x03, 0x2a, 0x03, 0x04]; // 1.2.3.4
    let params = EcParameters::from_der(&oid).unwrap();
    let err = params.curve().unwrap_err();
    assert_eq!(err.to_string(), "unknown curve 1.2.3.4");
    assert!(ec::curve_by_name("secp999r1").is_err());
    assert_eq!(ec::curve_by_name("prime256v1").unwrap().name(), "secp256r1");
    assert_eq!(ec::curve_by_name("P-384").unwrap().order_len, 48);
}

#[test]
fn both_ec_point_encodings_are_handled() {
    let raw: Vec<u8> = std::iter::once(4).chain(1..=64).collect();
    let der = ec::encode_ec_point(&raw).unwrap();
    assert_eq!(&der[..2], [0x04, 0x41]);
    assert_eq!(ec::decode_ec_point(&der).unwrap(), raw);
    assert!(ec::decode_ec_point(&raw).is_err(), "a raw point is not DER");
}

#[test]
fn implicit_and_specified_parameters_decode() {
    assert_eq!(
        EcParameters::from_der(&[0x05, 0x00]).unwrap(),
        EcParameters::ImplicitlyCa
    );
    assert_eq!(EcParameters::ImplicitlyCa.to_der().unwrap(), [0x05, 0x00]);
    let specified = [0x30, 0x03, 0x02, 0x01, 0x01];
    assert_eq!(
        EcParameters::from_der(&specified).unwrap(),
        EcParameters::Specified(specified.to_vec())
    );
    assert!(EcParameters::from_der(&[0x04, 0x00]).is_err());
}

/// A `u64` as minimal unsigned big-endian bytes (`[0]` for zero), as decoding gives it.
fn trim_u64(value: u64) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(7);
    bytes[first..].to_vec()
}
