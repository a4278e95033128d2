//! The idioms a facade user writes, next to the raw function-list calls doing the same
//! work, in one run, against the token `cargo xtask bench` makes (SoftHSM): the default
//! signing path of each key type (the combined mechanism, or the hash and raw signature
//! where SoftHSM composes). A key's typed bulk read (`Key::get_all`, which is the core's
//! `Object::get_all`) is measured in p11-core's `operations` bench.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
#![allow(clippy::undocumented_unsafe_blocks)] // raw baselines: plain C calls on live buffers

use criterion::{criterion_group, criterion_main, Criterion};
use p11::p11_core::sys::*;
use p11::{
    Key, KeyType, Library, MechanismType as M, ObjectOptions, OpenOptions, Session, Sign,
    TokenFilter,
};
use std::hint::black_box;

fn session() -> Session {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!("{name} is not set: run the benches with `cargo xtask bench`")
        })
    };
    let lib = Library::load(var("PKCS11_MODULE")).unwrap();
    let token = lib
        .get_token(&TokenFilter::new().label(var("PKCS11_TOKEN_LABEL")))
        .unwrap();
    token
        .open(&OpenOptions::new().rw().user_pin(var("PKCS11_TOKEN_PIN")))
        .unwrap()
}

/// A single-part operation the raw way: `init` with `mechanism` (no parameter), then
/// `call` on `data` into a Vec of `size`, trimmed.
fn raw_single(
    mechanism: CK_MECHANISM_TYPE,
    init: impl FnOnce(&mut CK_MECHANISM) -> CK_RV,
    call: impl FnOnce(*mut u8, CK_ULONG, *mut u8, &mut CK_ULONG) -> CK_RV,
    data: &[u8],
    size: usize,
) -> Vec<u8> {
    let mut mechanism = CK_MECHANISM {
        mechanism,
        pParameter: std::ptr::null_mut(),
        ulParameterLen: 0,
    };
    assert_eq!(init(&mut mechanism), CKR_OK);
    let mut out = vec![0u8; size];
    let mut len = size as CK_ULONG;
    let rv = call(
        data.as_ptr() as *mut u8,
        data.len() as CK_ULONG,
        out.as_mut_ptr(),
        &mut len,
    );
    assert_eq!(rv, CKR_OK);
    out.truncate(len as usize);
    out
}

/// `C_SignInit` + `C_Sign`.
fn raw_sign(
    list: &CK_FUNCTION_LIST,
    h: CK_SESSION_HANDLE,
    mechanism: CK_MECHANISM_TYPE,
    key: CK_OBJECT_HANDLE,
    data: &[u8],
    size: usize,
) -> Vec<u8> {
    raw_single(
        mechanism,
        |m| unsafe { list.C_SignInit.unwrap()(h, m, key) },
        |d, n, out, len| unsafe { list.C_Sign.unwrap()(h, d, n, out, len) },
        data,
        size,
    )
}

/// `C_DigestInit` + `C_Digest`.
fn raw_digest(
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
