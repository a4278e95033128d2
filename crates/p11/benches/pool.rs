//! Signing from several threads through a session pool, next to the same threads each
//! holding a session of its own and calling the function list directly: the floor a
//! pool could reach. Each iteration is one signature; the threads share the iterations,
//! so the times are per signature of the whole group (their inverse is the throughput).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
#![allow(clippy::undocumented_unsafe_blocks)] // raw baselines: plain C calls on live buffers

use criterion::{criterion_group, criterion_main, Criterion};
use p11::pool::Pool;
use p11::{
    Key, KeyKind, KeyQuery, KeyType, Mechanism, MechanismType as M, ObjectOptions, OpenOptions,
    PrivateKey, Sign, Token,
};
use std::hint::black_box;
use std::time::{Duration, Instant};

mod support;
use support::{raw_sign, session};

/// Runs `work(thread)` `iters` times in all, shared by `threads` threads; the time is
/// scaled to exactly `iters` calls.
fn parallel(threads: usize, iters: u64, work: impl Fn(usize) + Sync) -> Duration {
    let each = iters.div_ceil(threads as u64).max(1);
    let work = &work;
    let start = Instant::now();
    std::thread::scope(|scope| {
        for thread in 0..threads {
            scope.spawn(move || {
                for _ in 0..each {
                    work(thread);
                }
            });
        }
    });
    start
        .elapsed()
        .mul_f64(iters as f64 / (each * threads as u64) as f64)
}

fn pooled_signing(c: &mut Criterion) {
    let session = session();
    let token = Token::from(session.core().slot().token().unwrap());
    let pin = std::env::var("PKCS11_TOKEN_PIN").unwrap();
    let list = session.core().slot().module().raw_function_list();
    let keys = [
        (
            "RSA-2048 (SHA256_RSA_PKCS)",
            KeyType::RSA,
            2048,
            M::SHA256_RSA_PKCS,
            vec![0x5Au8; 64],
            256,
        ),
        // SoftHSM has no hashing ECDSA: both sides sign a digest.
        (
            "EC P-256 (ECDSA)",
            KeyType::EC,
            256,
            M::ECDSA,
            vec![0x5Au8; 32],
            64,
        ),
    ];
    for (name, key_type, bits, mechanism, data, size) in keys {
        let label = format!("pool-bench-{}", key_type);
        // A session object of `session`, which every session of the process sees.
        let (_public, private) = session
            .generate_keypair(key_type, bits, &ObjectOptions::new().label(&label))
            .unwrap();
        let o = private.handle().raw();
        for threads in [1usize, 4, 8] {
            let pool = Pool::builder()
                .max_size(threads as u32)
                .token(&token, OpenOptions::new().user_pin(pin.as_str()))
                .trust_existing_login()
                .build()
                .unwrap();
            let key = pool.key::<PrivateKey>(KeyQuery::new().label(&label).key_type(key_type));
            let own: Vec<_> = (0..threads)
                .map(|_| token.open(&OpenOptions::new()).unwrap())
                .collect();
            let handles: Vec<_> = own.iter().map(|s| s.handle().raw()).collect();
            let mut group = c.benchmark_group(format!(
                "pool sign{}: {name}, {threads} threads",
                support::via()
            ));
            group.bench_function("p11", |b| {
                b.iter_custom(|iters| {
                    parallel(threads, iters, |_| {
                        black_box(
                            key.run(|key| {
                                key.with_mechanism(Mechanism::new(mechanism)).sign(&data)
                            })
                            .unwrap(),
                        );
                    })
                })
            });
            let own_keys: Vec<_> = own.iter().map(|s| private.in_session(s).unwrap()).collect();
            group.bench_function("own", |b| {
                b.iter_custom(|iters| {
                    parallel(threads, iters, |thread| {
                        let key = &own_keys[thread];
                        black_box(
                            key.with_mechanism(Mechanism::new(mechanism))
                                .sign(&data)
                                .unwrap(),
                        );
                    })
                })
            });
            group.bench_function("raw", |b| {
                b.iter_custom(|iters| {
                    parallel(threads, iters, |thread| {
                        black_box(raw_sign(
                            list,
                            handles[thread],
                            mechanism.ck(),
                            o,
                            &data,
                            size,
                        ));
                    })
                })
            });
            group.finish();
        }
    }
}

criterion_group!(benches, pooled_signing);
criterion_main!(benches);
