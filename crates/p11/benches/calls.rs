//! One facade path, many times, for `cargo xtask callgrind` (as p11-core's `calls`):
//! arguments PATH COUNT, where PATH is `hmac-p11`, `hmac-raw`, `cmac-p11` or `cmac-raw`
//! — a key's default signing of 64 bytes (`SHA256_HMAC`, `AES_CMAC`), the cheapest
//! signatures and so the ones where p11's own cost shows most — or `ecdsa-p11`,
//! `ecdsa-raw`, `ecdsa-pool`: P-256 `ECDSA` of a digest in the key's own session, the
//! raw way, and through a one-session pool (with the `pool` feature); or `mldsa-p11`,
//! `mldsa-raw`: deterministic ML-DSA-65 of 64 bytes on the post-quantum token
//! (`PKCS11_PQ_*`), the same work every call.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
#![allow(clippy::undocumented_unsafe_blocks)] // raw baselines: plain C calls on live buffers

use p11::{Key, KeyType, Mechanism, MechanismType as M, ObjectOptions, Sign};
use std::hint::black_box;

mod support;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (path, count) = match args.as_slice() {
        [path, count] => (path.as_str(), count.parse::<usize>().expect("a count")),
        _ => panic!("usage: calls PATH COUNT"),
    };
    let (family, side) = path.split_once('-').expect("PATH is FAMILY-SIDE");
    if family == "mldsa" {
        return ml_dsa(side, count);
    }
    if family == "random" || family == "digest" {
        return small(family, side, count);
    }
    let (key_type, bits, mechanism, size) = match family {
        "hmac" => (KeyType::GENERIC_SECRET, 256, M::SHA256_HMAC, 32),
        "cmac" => (KeyType::AES, 256, M::AES_CMAC, 16),
        "ecdsa" => (KeyType::EC, 256, M::ECDSA, 64),
        other => panic!("unknown path {other}"),
    };
    let session = support::session();
    let list = session.core().slot().module().raw_function_list();
    let h = session.core().handle().raw();
    let label = format!("calls-{}", std::process::id());
    let options = ObjectOptions::new().label(&label);
    let key = if key_type == KeyType::EC {
        let (_, private) = session.generate_keypair(key_type, bits, &options).unwrap();
        Signing::Private(private)
    } else {
        Signing::Secret(session.generate_key(key_type, bits, &options).unwrap())
    };
    let o = key.handle().raw();
    let data = [0x5Au8; 64];
    let data = if family == "ecdsa" {
        &data[..32]
    } else {
        &data[..]
    };
    let with = Mechanism::new(mechanism);
    match side {
        "p11" => {
            // The default mechanism where there is one (HMAC, CMAC), as users sign.
            let ecdsa = family == "ecdsa";
            for _ in 0..count {
                black_box(if ecdsa {
                    key.sign_using(&with, data).unwrap()
                } else {
                    key.sign(data).unwrap()
                });
            }
        }
        "raw" => {
            for _ in 0..count {
                black_box(support::raw_sign(list, h, mechanism.ck(), o, data, size));
            }
        }
        #[cfg(feature = "pool")]
        "pool" => {
            let Signing::Private(_) = key else {
                panic!("the pool path signs with ECDSA")
            };
            let pool = p11::pool::Pool::builder()
                .max_size(1)
                .token(&support::token(), p11::OpenOptions::new())
                .build()
                .unwrap();
            let query = p11::KeyQuery::new().label(&label);
            let pooled = pool.key::<p11::PrivateKey>(query);
            for _ in 0..count {
                black_box(
                    pooled
                        .run(|key| key.with_mechanism(&with).sign(data))
                        .unwrap(),
                );
            }
        }
        other => panic!("unknown side {other}"),
    }
}

/// The small calls as a facade user writes them, each returning a new `Vec`: 32 random
/// bytes (`generate_random(256)`), SHA-256 of 64 bytes (`digest`); the raw side calls
/// the function list into a buffer on the stack, the floor.
fn small(family: &str, side: &str, count: usize) {
    let session = support::session();
    let list = session.core().slot().module().raw_function_list();
    let h = session.core().handle().raw();
    let data = [0x5Au8; 64];
    let mut out = [0u8; 32];
    for _ in 0..count {
        match (family, side) {
            ("random", "p11") => {
                black_box(session.generate_random(256).unwrap());
            }
            ("random", "raw") => unsafe {
                let rv = list.C_GenerateRandom.unwrap()(h, out.as_mut_ptr(), 32);
                assert_eq!(rv, p11::p11_core::sys::CKR_OK);
                black_box(&out);
            },
            ("digest", "p11") => {
                black_box(session.digest(M::SHA256, &data).unwrap());
            }
            ("digest", "raw") => {
                black_box(facade_digest_raw(list, h, &data, &mut out));
            }
            other => panic!("unknown path {other:?}"),
        }
    }
}

/// `C_DigestInit(SHA256)` + `C_Digest` into `out`.
fn facade_digest_raw(
    list: &p11::p11_core::sys::CK_FUNCTION_LIST,
    h: p11::p11_core::sys::CK_SESSION_HANDLE,
    data: &[u8],
    out: &mut [u8; 32],
) -> usize {
    use p11::p11_core::sys::*;
    let mut mechanism = CK_MECHANISM {
        mechanism: CKM_SHA256,
        pParameter: std::ptr::null_mut(),
        ulParameterLen: 0,
    };
    let mut len = 32 as CK_ULONG;
    unsafe {
        assert_eq!(list.C_DigestInit.unwrap()(h, &mut mechanism), CKR_OK);
        let rv = list.C_Digest.unwrap()(
            h,
            data.as_ptr() as *mut u8,
            data.len() as CK_ULONG,
            out.as_mut_ptr(),
            &mut len,
        );
        assert_eq!(rv, CKR_OK);
    }
    len as usize
}

/// Deterministic ML-DSA-65, `count` times.
fn ml_dsa(side: &str, count: usize) {
    use p11::mechanisms::{Hedge, SignAdditionalContext};
    let session = support::session_from("PKCS11_PQ");
    let list = session.core().slot().module().raw_function_list();
    let h = session.core().handle().raw();
    // One fixed key (from its seed), so that every run signs with the same key and
    // does the same work: a generated key would change the rejection rounds.
    let seed = p11::asn1::PostQuantumPrivateKey::new(
        p11::asn1::PostQuantumAlgorithm::MlDsa65,
        Some(&[0x65; 32]),
        None,
    )
    .unwrap();
    let pkcs8 = p11::asn1::PrivateKey::PostQuantum(seed)
        .to_pkcs8_der()
        .unwrap();
    let private = session
        .import_private_key(&pkcs8, &ObjectOptions::new())
        .unwrap();
    let o = private.handle().raw();
    let data = [0x5Au8; 64];
    for _ in 0..count {
        black_box(match side {
            "p11" => private
                .with_param(SignAdditionalContext::new(Hedge::Deterministic, &[]))
                .sign(&data)
                .unwrap(),
            "raw" => support::raw_sign_ml_dsa_deterministic(list, h, o, &data),
            other => panic!("unknown side {other}"),
        });
    }
}

/// A secret or a private key: what the paths sign with.
enum Signing {
    Secret(p11::SecretKey),
    Private(p11::PrivateKey),
}

impl Signing {
    fn handle(&self) -> p11::ObjectHandle {
        match self {
            Signing::Secret(key) => key.handle(),
            Signing::Private(key) => key.handle(),
        }
    }

    fn sign(&self, data: &[u8]) -> p11::Result<Vec<u8>> {
        match self {
            Signing::Secret(key) => key.sign(data),
            Signing::Private(key) => key.sign(data),
        }
    }

    fn sign_using(&self, mechanism: &Mechanism, data: &[u8]) -> p11::Result<Vec<u8>> {
        match self {
            Signing::Secret(key) => key.with_mechanism(mechanism).sign(data),
            Signing::Private(key) => key.with_mechanism(mechanism).sign(data),
        }
    }
}
