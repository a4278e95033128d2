//! The idioms a facade user writes, next to the raw function-list calls doing the same
//! work, in one run, against the token `cargo xtask bench` makes (SoftHSM): the default
//! signing path of each key type (the combined mechanism, or the hash and raw signature
//! where SoftHSM composes). A key's typed bulk read (`Key::get_all`, which is the core's
//! `Object::get_all`) is measured in p11-core's `operations` bench.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
#![allow(clippy::undocumented_unsafe_blocks)] // raw baselines: plain C calls on live buffers

use criterion::{criterion_group, criterion_main, Criterion};
use p11::p11_core::sys::*;
use p11::{Key, KeyType, MechanismType as M, ObjectOptions, Sign, Template};
use std::hint::black_box;

mod support;
use support::{raw_sign, raw_sign_ml_dsa_deterministic, raw_single, session};

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
    let h = session.handle().raw();
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
        let o = key.handle().raw();
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
        let o = private.handle().raw();
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

/// A template's attributes as the raw caller lays them out: flags as `CK_BBOOL`s, numbers
/// and the open enums as `CK_ULONG`s, each in storage that `words` keeps alive.
fn raw_attributes(template: &Template, words: &mut Vec<CK_ULONG>) -> Vec<CK_ATTRIBUTE> {
    use p11::AttributeValue as V;
    words.clear();
    words.reserve(template.len());
    let mut layout = Vec::new();
    for (ty, value) in template.iter() {
        let (word, len) = match value {
            V::Bool(b) => (CK_ULONG::from(*b), 1),
            V::Ulong(n) => (*n as CK_ULONG, size_of::<CK_ULONG>()),
            V::ObjectClass(c) => (c.raw() as CK_ULONG, size_of::<CK_ULONG>()),
            V::KeyType(k) => (k.raw() as CK_ULONG, size_of::<CK_ULONG>()),
            other => panic!("the bench lays out flags and numbers only, not {other:?}"),
        };
        words.push(word);
        layout.push((ty.raw() as CK_ATTRIBUTE_TYPE, len));
    }
    layout
        .into_iter()
        .zip(words.iter_mut())
        .map(|((type_, len), word)| CK_ATTRIBUTE {
            type_,
            pValue: word as *mut CK_ULONG as CK_VOID_PTR,
            ulValueLen: len as CK_ULONG,
        })
        .collect()
}

/// ML-DSA-65 signing and ML-KEM-768 encapsulation, default paths, on the token
/// `PKCS11_PQ_MODULE` names (`cargo xtask bench` makes one on kryoptic), else the main
/// one when it has them.
fn post_quantum(c: &mut Criterion) {
    use p11::mechanisms::{Hedge, MlDsaParameterSet, MlKemParameterSet, SignAdditionalContext};
    use p11::{AttributeType as A, Encapsulate};
    let session = match std::env::var_os("PKCS11_PQ_MODULE") {
        Some(_) => support::session_from("PKCS11_PQ"),
        None => session(),
    };
    let list = session.core().slot().module().raw_function_list();
    let h = session.handle().raw();
    if !session.has_mechanism(M::ML_DSA).unwrap() || !session.has_mechanism(M::ML_KEM).unwrap() {
        println!("post-quantum: skipped, the token has no ML-DSA or ML-KEM");
        return;
    }
    let with_set = |set: u64| {
        ObjectOptions::new().public_template(Template::new().with(A::PARAMETER_SET, set))
    };
    let data = [0x5Au8; 64];

    let (_, private) = session
        .generate_keypair(
            KeyType::ML_DSA,
            0,
            &with_set(MlDsaParameterSet::ML_DSA_65.raw()),
        )
        .unwrap();
    let o = private.handle().raw();
    let mut group = c.benchmark_group("facade post-quantum: ML-DSA-65 sign");
    group.bench_function("p11", |b| {
        b.iter(|| black_box(private.sign(&data).unwrap()))
    });
    group.bench_function("raw", |b| {
        b.iter(|| black_box(raw_sign(list, h, CKM_ML_DSA, o, &data, 3309)))
    });
    group.finish();

    // Hedged signing draws fresh randomness, and ML-DSA's rejection loop runs a random
    // number of rounds (its time varies by ±13 % here): the deterministic variant does
    // the same work every call, so what differs between the sides is p11.
    let mut group = c.benchmark_group("facade post-quantum: ML-DSA-65 sign, deterministic");
    group.bench_function("p11", |b| {
        b.iter(|| {
            let context = SignAdditionalContext::new(Hedge::Deterministic, &[]);
            black_box(private.with_param(context).sign(&data).unwrap())
        })
    });
    group.bench_function("raw", |b| {
        b.iter(|| black_box(raw_sign_ml_dsa_deterministic(list, h, o, &data)))
    });
    group.finish();

    let (public, _) = session
        .generate_keypair(
            KeyType::ML_KEM,
            0,
            &with_set(MlKemParameterSet::ML_KEM_768.raw()),
        )
        .unwrap();
    let o = public.handle().raw();
    let options = ObjectOptions::new();
    // What the facade sends, laid out the raw way; each new key destroyed on both sides.
    let template = options.secret_key_template(KeyType::GENERIC_SECRET);
    let mut words = Vec::new();
    let mut attributes = raw_attributes(&template, &mut words);
    let mut group = c.benchmark_group("facade post-quantum: ML-KEM-768 encapsulate");
    group.bench_function("p11", |b| {
        b.iter(|| {
            let (ciphertext, key) = public
                .encapsulate_key(KeyType::GENERIC_SECRET, 0, &options)
                .unwrap();
            key.clone().destroy().unwrap();
            black_box(ciphertext)
        })
    });
    group.bench_function("raw", |b| {
        b.iter(|| unsafe {
            let mut mechanism = CK_MECHANISM {
                mechanism: CKM_ML_KEM,
                pParameter: std::ptr::null_mut(),
                ulParameterLen: 0,
            };
            let encapsulate = list_3_2(list).C_EncapsulateKey.unwrap();
            let mut len: CK_ULONG = 0;
            let mut key: CK_OBJECT_HANDLE = 0;
            let (a, n) = (attributes.as_mut_ptr(), attributes.len() as CK_ULONG);
            let rv = encapsulate(
                h,
                &mut mechanism,
                o,
                a,
                n,
                std::ptr::null_mut(),
                &mut len,
                &mut key,
            );
            assert_eq!(rv, CKR_OK);
            let mut ciphertext = vec![0u8; len as usize];
            let rv = encapsulate(
                h,
                &mut mechanism,
                o,
                a,
                n,
                ciphertext.as_mut_ptr(),
                &mut len,
                &mut key,
            );
            assert_eq!(rv, CKR_OK);
            ciphertext.truncate(len as usize);
            assert_eq!(list.C_DestroyObject.unwrap()(h, key), CKR_OK);
            black_box(ciphertext)
        })
    });
    group.finish();
}

/// The module's 3.2 function list: the one it gave for the 3.2 interface begins with
/// the 2.40 one.
fn list_3_2(list: &CK_FUNCTION_LIST) -> &CK_FUNCTION_LIST_3_2 {
    assert!(
        list.version.major >= 3 && list.version.minor >= 2,
        "a 3.2 list"
    );
    unsafe { &*(list as *const CK_FUNCTION_LIST as *const CK_FUNCTION_LIST_3_2) }
}

/// The raw search a C program writes: `C_FindObjectsInit`, `C_FindObjects` in batches
/// of 256 until it answers none, `C_FindObjectsFinal`; then each label read into a
/// 256-byte buffer in one call.
fn raw_find_labels(
    list: &CK_FUNCTION_LIST,
    h: CK_SESSION_HANDLE,
    template: &mut [CK_ATTRIBUTE],
) -> Vec<String> {
    unsafe {
        assert_eq!(
            list.C_FindObjectsInit.unwrap()(h, template.as_mut_ptr(), template.len() as CK_ULONG),
            CKR_OK
        );
    }
    let mut found = Vec::new();
    let mut batch = [0 as CK_OBJECT_HANDLE; 256];
    loop {
        let mut count: CK_ULONG = 0;
        unsafe {
            assert_eq!(
                list.C_FindObjects.unwrap()(h, batch.as_mut_ptr(), 256, &mut count),
                CKR_OK
            );
        }
        if count == 0 {
            break;
        }
        found.extend_from_slice(&batch[..count as usize]);
    }
    unsafe { assert_eq!(list.C_FindObjectsFinal.unwrap()(h), CKR_OK) };
    found
        .iter()
        .map(|o| {
            let mut label = [0u8; 256];
            let mut attribute = CK_ATTRIBUTE {
                type_: CKA_LABEL,
                pValue: label.as_mut_ptr().cast(),
                ulValueLen: 256,
            };
            unsafe {
                assert_eq!(
                    list.C_GetAttributeValue.unwrap()(h, *o, &mut attribute, 1),
                    CKR_OK
                );
            }
            String::from_utf8_lossy(&label[..attribute.ulValueLen as usize]).into_owned()
        })
        .collect()
}

/// A search for N keys of one application, each label read: the idiom (`get_keys` with
/// the key type named, then `label()`) next to the raw calls.
fn search(c: &mut Criterion) {
    use p11::{KeyQuery, SecretKey};
    let session = session();
    let list = session.core().slot().module().raw_function_list();
    let h = session.handle().raw();
    for n in [100usize, 2000] {
        let id = format!("bench-search-{n}-{}", std::process::id());
        let made: Vec<SecretKey> = (0..n)
            .map(|i| {
                session
                    .generate_key(
                        KeyType::AES,
                        128,
                        &ObjectOptions::new()
                            .id(id.as_bytes())
                            .label(format!("key {i}")),
                    )
                    .unwrap()
            })
            .collect();
        let query = KeyQuery::new().key_type(KeyType::AES).id(id.as_bytes());
        let mut group = c.benchmark_group(format!(
            "facade search{}: {n} keys, each label read",
            support::via()
        ));
        group.sample_size(10);
        group.bench_function("p11", |b| {
            b.iter(|| {
                let labels: Vec<String> = session
                    .get_keys::<SecretKey>(&query)
                    .unwrap()
                    .map(|key| key.unwrap().label().unwrap())
                    .collect();
                assert_eq!(labels.len(), n);
                black_box(labels)
            })
        });
        let mut class = CKO_SECRET_KEY;
        let mut key_type = CKK_AES;
        let mut id_bytes = id.clone().into_bytes();
        let mut template = [
            CK_ATTRIBUTE {
                type_: CKA_CLASS,
                pValue: (&mut class as *mut CK_ULONG).cast(),
                ulValueLen: std::mem::size_of::<CK_ULONG>() as CK_ULONG,
            },
            CK_ATTRIBUTE {
                type_: CKA_KEY_TYPE,
                pValue: (&mut key_type as *mut CK_ULONG).cast(),
                ulValueLen: std::mem::size_of::<CK_ULONG>() as CK_ULONG,
            },
            CK_ATTRIBUTE {
                type_: CKA_ID,
                pValue: id_bytes.as_mut_ptr().cast(),
                ulValueLen: id_bytes.len() as CK_ULONG,
            },
        ];
        group.bench_function("raw", |b| {
            b.iter(|| {
                let labels = raw_find_labels(list, h, &mut template);
                assert_eq!(labels.len(), n);
                black_box(labels)
            })
        });
        group.finish();
        drop(made);
    }
}

criterion_group!(benches, search, default_signing, post_quantum);
criterion_main!(benches);
