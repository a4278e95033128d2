//! The idioms a facade user writes, next to the raw function-list calls doing the same
//! work, in one run, against the token `cargo xtask bench` makes (SoftHSM): the default
//! signing path of each key type (the combined mechanism, or the hash and raw signature
//! where SoftHSM composes). A key's typed bulk read (`Key::get_all`, which is the core's
//! `Object::get_all`) is measured in p11-core's `operations` bench.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
#![allow(clippy::undocumented_unsafe_blocks)] // raw baselines: plain C calls on live buffers

use criterion::{criterion_group, criterion_main, Criterion};
use p11::p11_core::sys::*;
use p11::{Key, KeyType, MechanismType as M, ObjectOptions, Sign};
use std::hint::black_box;

mod support;
use support::{raw_sign, raw_single, session};

/// `C_DigestInit` + `C_Digest`.
pub fn raw_digest(
    list: &CK_FUNCTION_LIST,
    h: CK_SESSION_HANDLE,
    hash: CK_MECHANISM_TYPE,
    data: &[u8],
) -> Vec<u8> {
    raw_single(
        hash,
        |m| unsafe { list.C_DigestInit.unwrap()(h, m) },
        |d, n, out, len| unsafe { list.C_Digest.unwrap()(h, d, n, out, len) },
        data,
        64,
    )
}

fn default_signing(c: &mut Criterion) {
    let session = session();
    let list = session.core().slot().module().raw_function_list();
    let h = session.core().handle().raw();
    let data = [0x5Au8; 64];
    let options = ObjectOptions::new();

    let secrets = [
        ("AES (AES_CMAC)", KeyType::AES, 256, M::AES_CMAC, 16),
        (
            "generic secret (SHA256_HMAC)",
            KeyType::GENERIC_SECRET,
            256,
            M::SHA256_HMAC,
            32,
        ),
    ];
    for (name, key_type, bits, mechanism, size) in secrets {
        if !session.has_mechanism(mechanism).unwrap() {
            println!("{name}: skipped, the token has no {mechanism}");
            continue;
        }
        let key = session.generate_key(key_type, bits, &options).unwrap();
        let o = key.object().handle().raw();
        let mut group = c.benchmark_group(format!("facade default sign: {name}"));
        group.bench_function("p11", |b| b.iter(|| black_box(key.sign(&data).unwrap())));
        group.bench_function("raw", |b| {
            b.iter(|| black_box(raw_sign(list, h, mechanism.ck(), o, &data, size)))
        });
        group.finish();
    }

    let pairs = [
        (
            "RSA-2048 (SHA512_RSA_PKCS)",
            KeyType::RSA,
            2048,
            M::SHA512_RSA_PKCS,
            256,
        ),
        (
            "EC P-256 (ECDSA_SHA512)",
            KeyType::EC,
            256,
            M::ECDSA_SHA512,
            64,
        ),
        ("Ed25519 (EDDSA)", KeyType::EC_EDWARDS, 255, M::EDDSA, 64),
    ];
    for (name, key_type, bits, mechanism, size) in pairs {
        let Ok((_, private)) = session.generate_keypair(key_type, bits, &options) else {
            println!("{name}: skipped, the token cannot generate the key");
            continue;
        };
        let o = private.object().handle().raw();
        // What the raw caller does on this token: the combined mechanism, or the hash
        // then the raw signature where the token lacks it (SoftHSM's ECDSA: the only
        // composition among these keys).
        let composed = !session.has_mechanism(mechanism).unwrap();
        let mut group = c.benchmark_group(format!(
            "facade default sign: {name}{}",
            if composed { ", composed" } else { "" }
        ));
        group.bench_function("p11", |b| {
            b.iter(|| black_box(private.sign(&data).unwrap()))
        });
        group.bench_function("raw", |b| {
            b.iter(|| {
                black_box(if composed {
                    let digest = raw_digest(list, h, CKM_SHA512, &data);
                    raw_sign(list, h, CKM_ECDSA, o, &digest, size)
                } else {
                    raw_sign(list, h, mechanism.ck(), o, &data, size)
                })
            })
        });
        group.finish();
    }
}

criterion_group!(benches, default_signing);
criterion_main!(benches);
