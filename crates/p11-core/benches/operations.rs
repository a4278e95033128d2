//! Each path through p11, next to the same work done through the raw function list, in
//! one run, against the token `cargo xtask bench` makes (SoftHSM).
//!
//! Every pair produces the same result: where p11 returns a `Vec`, the raw side fills
//! one too, as code calling the function list directly would.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
#![allow(clippy::undocumented_unsafe_blocks)] // raw baselines: plain C calls on live buffers

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use p11_core::sys::*;
use p11_core::{
    Access, AttributeType as A, Mechanism, MechanismType as M, Module, Object, ObjectClass,
    Session, Template, TokenFilter, UserType,
};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

mod support;

/// Counts allocations, to show the streaming path's memory does not grow with the stream.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);
static PEAK_BYTES: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        let live = LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK_BYTES.fetch_max(live, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

struct Fixture {
    session: Session,
    aes: Object,
    rsa: Object,
    ec: Object,
}

fn fixture() -> Fixture {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!("{name} is not set: run the benches with `cargo xtask bench`")
        })
    };
    let module = Module::load(var("PKCS11_MODULE")).unwrap();
    let token = module
        .get_token(&TokenFilter::new().label(var("PKCS11_TOKEN_LABEL")))
        .unwrap();
    let session = token.open(Access::ReadWrite).unwrap();
    session
        .login(UserType::USER, var("PKCS11_TOKEN_PIN"))
        .unwrap();
    let aes = session
        .generate_key(
            &Mechanism::new(M::AES_KEY_GEN),
            &Template::new()
                .with(A::VALUE_LEN, 32u64)
                .with(A::ENCRYPT, true)
                .with(A::LABEL, "bench aes")
                .with(A::ID, b"bench"),
        )
        .unwrap();
    let (_, rsa) = session
        .generate_keypair(
            &Mechanism::new(M::RSA_PKCS_KEY_PAIR_GEN),
            &Template::new()
                .with(A::MODULUS_BITS, 2048u64)
                .with(A::PUBLIC_EXPONENT, [1u8, 0, 1]),
            &Template::new().with(A::SIGN, true),
        )
        .unwrap();
    let p256 = [0x06u8, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
    let (_, ec) = session
        .generate_keypair(
            &Mechanism::new(M::EC_KEY_PAIR_GEN),
            &Template::new().with(A::EC_PARAMS, p256),
            &Template::new().with(A::SIGN, true),
        )
        .unwrap();
    Fixture {
        session,
        aes,
        rsa,
        ec,
    }
}

fn raw_mechanism(mechanism: &Mechanism) -> CK_MECHANISM {
    mechanism.raw()
}

/// `C_*Init` then the single-part call into a new Vec of `size`, trimmed: the raw way.
fn raw_single(
    init: impl FnOnce() -> CK_RV,
    call: impl FnOnce(*mut u8, &mut CK_ULONG) -> CK_RV,
    size: usize,
) -> Vec<u8> {
    assert_eq!(init(), CKR_OK);
    let mut out = vec![0u8; size];
    let mut len = size as CK_ULONG;
    assert_eq!(call(out.as_mut_ptr(), &mut len), CKR_OK);
    out.truncate(len as usize);
    out
}

fn single_part(c: &mut Criterion) {
    let f = fixture();
    let s = &f.session;
    let list = s.slot().module().raw_function_list();
    let h = s.handle().raw();

    let mut group = c.benchmark_group("random 32 B");
    group.bench_function("p11", |b| {
        b.iter(|| black_box(s.generate_random(32).unwrap()))
    });
    group.bench_function("raw", |b| {
        b.iter(|| {
            let mut out = vec![0u8; 32];
            let rv = unsafe { list.C_GenerateRandom.unwrap()(h, out.as_mut_ptr(), 32) };
            assert_eq!(rv, CKR_OK);
            black_box(out)
        })
    });
    group.finish();

    let mut group = c.benchmark_group("random 32 B into a buffer");
    let mut buffer = [0u8; 32];
    group.bench_function("p11", |b| {
        b.iter(|| {
            s.fill_random(&mut buffer).unwrap();
            black_box(&buffer);
        })
    });
    group.bench_function("raw", |b| {
        b.iter(|| {
            let rv = unsafe { list.C_GenerateRandom.unwrap()(h, buffer.as_mut_ptr(), 32) };
            assert_eq!(rv, CKR_OK);
            black_box(&buffer);
        })
    });
    group.finish();

    let data = [0x5au8; 64];
    let sha256 = Mechanism::new(M::SHA256);
    let mut group = c.benchmark_group("SHA-256 of 64 B into a buffer");
    group.bench_function("p11", |b| {
        b.iter(|| black_box(s.digest_into(&sha256, &data, &mut buffer).unwrap()))
    });
    group.bench_function("raw", |b| {
        b.iter(|| unsafe {
            let mut m = raw_mechanism(&sha256);
            assert_eq!(list.C_DigestInit.unwrap()(h, &mut m), CKR_OK);
            let mut len = 32 as CK_ULONG;
            let rv = list.C_Digest.unwrap()(
                h,
                data.as_ptr() as *mut u8,
                64,
                buffer.as_mut_ptr(),
                &mut len,
            );
            assert_eq!(rv, CKR_OK);
            black_box(len)
        })
    });
    group.finish();

    let mut group = c.benchmark_group("SHA-256 of 64 B");
    group.bench_function("p11", |b| {
        b.iter(|| black_box(s.digest(&sha256, &data).unwrap()))
    });
    group.bench_function("raw", |b| {
        b.iter(|| {
            let mut m = raw_mechanism(&sha256);
            black_box(raw_single(
                || unsafe { list.C_DigestInit.unwrap()(h, &mut m) },
                |out, len| unsafe {
                    list.C_Digest.unwrap()(h, data.as_ptr() as *mut u8, 64, out, len)
                },
                32,
            ))
        })
    });
    group.finish();

    let iv = [0u8; 16];
    let cbc_pad = Mechanism::with_iv(M::AES_CBC_PAD, &iv).unwrap();
    let kib = vec![0x33u8; 1024];
    let mut group = c.benchmark_group("AES-256-CBC-PAD 1 KiB encrypt");
    group.throughput(Throughput::Bytes(1024));
    group.bench_function("p11", |b| {
        b.iter(|| black_box(s.encrypt(&cbc_pad, &f.aes, &kib).unwrap()))
    });
    group.bench_function("raw", |b| {
        b.iter(|| {
            let mut m = raw_mechanism(&cbc_pad);
            black_box(raw_single(
                || unsafe { list.C_EncryptInit.unwrap()(h, &mut m, f.aes.handle().raw()) },
                |out, len| unsafe {
                    list.C_Encrypt.unwrap()(h, kib.as_ptr() as *mut u8, 1024, out, len)
                },
                1040,
            ))
        })
    });
    group.finish();

    let rsa = Mechanism::new(M::SHA256_RSA_PKCS);
    let mut group = c.benchmark_group("RSA-2048 SHA256_RSA_PKCS sign");
    group.bench_function("p11", |b| {
        b.iter(|| black_box(s.sign(&rsa, &f.rsa, &data).unwrap()))
    });
    group.bench_function("raw", |b| {
        b.iter(|| {
            let mut m = raw_mechanism(&rsa);
            black_box(raw_single(
                || unsafe { list.C_SignInit.unwrap()(h, &mut m, f.rsa.handle().raw()) },
                |out, len| unsafe {
                    list.C_Sign.unwrap()(h, data.as_ptr() as *mut u8, 64, out, len)
                },
                256,
            ))
        })
    });
    group.finish();

    let ecdsa = Mechanism::new(M::ECDSA);
    let digest = [0x11u8; 32];
    let mut group = c.benchmark_group("EC P-256 ECDSA sign");
    group.bench_function("p11", |b| {
        b.iter(|| black_box(s.sign(&ecdsa, &f.ec, &digest).unwrap()))
    });
    group.bench_function("raw", |b| {
        b.iter(|| {
            let mut m = raw_mechanism(&ecdsa);
            black_box(raw_single(
                || unsafe { list.C_SignInit.unwrap()(h, &mut m, f.ec.handle().raw()) },
                |out, len| unsafe {
                    list.C_Sign.unwrap()(h, digest.as_ptr() as *mut u8, 32, out, len)
                },
                64,
            ))
        })
    });
    group.finish();
}

/// Reads CLASS, KEY_TYPE, VALUE_LEN (fixed sizes) and LABEL, ID (variable) the raw way:
/// lengths first, then values.
fn raw_five_attributes(
    list: &CK_FUNCTION_LIST,
    h: CK_SESSION_HANDLE,
    key: CK_OBJECT_HANDLE,
) -> Vec<Vec<u8>> {
    let types = [CKA_CLASS, CKA_KEY_TYPE, CKA_VALUE_LEN, CKA_LABEL, CKA_ID];
    let mut template: Vec<CK_ATTRIBUTE> = types
        .iter()
        .map(|t| CK_ATTRIBUTE {
            type_: *t,
            pValue: std::ptr::null_mut(),
            ulValueLen: 0,
        })
        .collect();
    let get = list.C_GetAttributeValue.unwrap();
    assert_eq!(unsafe { get(h, key, template.as_mut_ptr(), 5) }, CKR_OK);
    let mut values: Vec<Vec<u8>> = template
        .iter()
        .map(|a| vec![0u8; a.ulValueLen as usize])
        .collect();
    for (a, v) in template.iter_mut().zip(values.iter_mut()) {
        a.pValue = v.as_mut_ptr() as CK_VOID_PTR;
    }
    assert_eq!(unsafe { get(h, key, template.as_mut_ptr(), 5) }, CKR_OK);
    values
}

fn attributes_and_search(c: &mut Criterion) {
    let f = fixture();
    let s = &f.session;
    let list = s.slot().module().raw_function_list();
    let h = s.handle().raw();

    let types = [A::CLASS, A::KEY_TYPE, A::VALUE_LEN, A::LABEL, A::ID];
    let mut group = c.benchmark_group("5 attributes of one key");
    group.bench_function("p11", |b| {
        b.iter(|| black_box(f.aes.get_attributes(&types).unwrap()))
    });
    group.bench_function("raw", |b| {
        b.iter(|| black_box(raw_five_attributes(list, h, f.aes.handle().raw())))
    });
    group.finish();

    // What a user writes for several attributes at once (the facade's `Key::get_all`
    // is this call): fixed-size ones, one read on both sides.
    let mut group = c.benchmark_group("5 fixed-size attributes of one key, typed");
    group.bench_function("p11", |b| b.iter(|| black_box(support::typed_read(&f.aes))));
    group.bench_function("raw", |b| {
        b.iter(|| black_box(support::raw_typed_read(list, h, f.aes.handle().raw())))
    });
    group.finish();

    let application = "bench-search";
    for i in 0..2000u32 {
        s.create_object(
            &Template::new()
                .with(A::CLASS, ObjectClass::DATA)
                .with(A::APPLICATION, application)
                .with(A::LABEL, format!("object {i}")),
        )
        .unwrap();
    }
    let query = Template::new()
        .with(A::CLASS, ObjectClass::DATA)
        .with(A::APPLICATION, application);
    let mut group = c.benchmark_group("find 2000 objects and read each label");
    group.sample_size(10);
    group.bench_function("p11", |b| {
        b.iter(|| {
            let labels: Vec<_> = s
                .get_objects(&query)
                .unwrap()
                .iter()
                .map(|o| o.get_attribute(A::LABEL).unwrap())
                .collect();
            assert_eq!(labels.len(), 2000);
            black_box(labels)
        })
    });
    let class = CKO_DATA.to_ne_bytes();
    group.bench_function("raw", |b| {
        b.iter(|| {
            let mut find = [
                CK_ATTRIBUTE {
                    type_: CKA_CLASS,
                    pValue: class.as_ptr() as CK_VOID_PTR,
                    ulValueLen: class.len() as CK_ULONG,
                },
                CK_ATTRIBUTE {
                    type_: CKA_APPLICATION,
                    pValue: application.as_ptr() as CK_VOID_PTR,
                    ulValueLen: application.len() as CK_ULONG,
                },
            ];
            unsafe {
                assert_eq!(
                    list.C_FindObjectsInit.unwrap()(h, find.as_mut_ptr(), 2),
                    CKR_OK
                );
                let mut handles = Vec::new();
                let mut batch = [0 as CK_OBJECT_HANDLE; 64];
                loop {
                    let mut n: CK_ULONG = 0;
                    assert_eq!(
                        list.C_FindObjects.unwrap()(h, batch.as_mut_ptr(), 64, &mut n),
                        CKR_OK
                    );
                    if n == 0 {
                        break;
                    }
                    handles.extend_from_slice(&batch[..n as usize]);
                }
                assert_eq!(list.C_FindObjectsFinal.unwrap()(h), CKR_OK);
                let labels: Vec<Vec<u8>> = handles
                    .iter()
                    .map(|o| {
                        let mut a = CK_ATTRIBUTE {
                            type_: CKA_LABEL,
                            pValue: std::ptr::null_mut(),
                            ulValueLen: 0,
                        };
                        let get = list.C_GetAttributeValue.unwrap();
                        assert_eq!(get(h, *o, &mut a, 1), CKR_OK);
                        let mut v = vec![0u8; a.ulValueLen as usize];
                        a.pValue = v.as_mut_ptr() as CK_VOID_PTR;
                        assert_eq!(get(h, *o, &mut a, 1), CKR_OK);
                        v
                    })
                    .collect();
                assert_eq!(labels.len(), 2000);
                black_box(labels)
            }
        })
    });
    group.finish();
}

const CHUNK: usize = 64 * 1024;

/// Streams `total` bytes through p11's multi-part encryption in 64 KiB chunks, into one
/// reused output buffer.
fn p11_stream(
    s: &Session,
    mechanism: &Mechanism,
    key: &Object,
    total: usize,
    chunk: &[u8],
    out: &mut [u8],
) {
    let mut cipher = s.begin_encrypt(mechanism, key).unwrap();
    for _ in 0..total / CHUNK {
        black_box(cipher.update(chunk, out).unwrap());
    }
    black_box(cipher.finish_into(out).unwrap());
}

fn streaming(c: &mut Criterion) {
    let f = fixture();
    let s = &f.session;
    let list = s.slot().module().raw_function_list();
    let h = s.handle().raw();
    let iv = [0u8; 16];
    let cbc_pad = Mechanism::with_iv(M::AES_CBC_PAD, &iv).unwrap();
    let chunk = vec![0x77u8; CHUNK];
    let mut out = vec![0u8; CHUNK + 16];
    const TOTAL: usize = 256 << 20;

    // Memory: allocations and peak heap while streaming 16 MiB and 256 MiB.
    for total in [16 << 20, TOTAL] {
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        PEAK_BYTES.store(LIVE_BYTES.load(Ordering::Relaxed), Ordering::Relaxed);
        let base = LIVE_BYTES.load(Ordering::Relaxed);
        p11_stream(s, &cbc_pad, &f.aes, total, &chunk, &mut out);
        println!(
            "streaming {} MiB: {} allocations, peak heap growth {} bytes",
            total >> 20,
            ALLOCATIONS.load(Ordering::Relaxed) - before,
            PEAK_BYTES.load(Ordering::Relaxed) - base
        );
    }

    let mut group = c.benchmark_group("AES-CBC-PAD stream of 256 MiB in 64 KiB chunks");
    group.throughput(Throughput::Bytes(TOTAL as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.bench_function("p11", |b| {
        b.iter_batched_ref(
            || out.clone(),
            |out| p11_stream(s, &cbc_pad, &f.aes, TOTAL, &chunk, out),
            BatchSize::PerIteration,
        )
    });
    group.bench_function("raw", |b| {
        b.iter_batched_ref(
            || out.clone(),
            |out| unsafe {
                let mut m = raw_mechanism(&cbc_pad);
                assert_eq!(
                    list.C_EncryptInit.unwrap()(h, &mut m, f.aes.handle().raw()),
                    CKR_OK
                );
                for _ in 0..TOTAL / CHUNK {
                    let mut len = out.len() as CK_ULONG;
                    let rv = list.C_EncryptUpdate.unwrap()(
                        h,
                        chunk.as_ptr() as *mut u8,
                        CHUNK as CK_ULONG,
                        out.as_mut_ptr(),
                        &mut len,
                    );
                    assert_eq!(rv, CKR_OK);
                    black_box(len);
                }
                let mut len = out.len() as CK_ULONG;
                assert_eq!(
                    list.C_EncryptFinal.unwrap()(h, out.as_mut_ptr(), &mut len),
                    CKR_OK
                );
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

/// The chunk iterator over 64 MiB in 64 KiB chunks: one reused output buffer, lent.
fn chunk_iterator(c: &mut Criterion) {
    let f = fixture();
    let s = &f.session;
    let list = s.slot().module().raw_function_list();
    let h = s.handle().raw();
    let iv = [0u8; 16];
    let cbc_pad = Mechanism::with_iv(M::AES_CBC_PAD, &iv).unwrap();
    let chunk = vec![0x77u8; CHUNK];
    const TOTAL: usize = 64 << 20;
    let chunks = || std::iter::repeat_n(chunk.as_slice(), TOTAL / CHUNK);
    let p11 = || {
        let mut stream = s.begin_encrypt(&cbc_pad, &f.aes).unwrap().stream(chunks());
        while let Some(out) = stream.next_chunk() {
            black_box(out.unwrap());
        }
    };
    // Allocations per chunk: the first chunk sizes the buffer, the rest reuse it.
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    p11();
    println!(
        "chunk iterator, {} chunks: {} allocations in all",
        TOTAL / CHUNK,
        ALLOCATIONS.load(Ordering::Relaxed) - before
    );
    let mut group = c.benchmark_group("chunk iterator, 64 MiB in 64 KiB chunks");
    group.throughput(Throughput::Bytes(TOTAL as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("p11", |b| b.iter(p11));
    let mut out = vec![0u8; CHUNK + 16];
    group.bench_function("raw", |b| {
        b.iter(|| unsafe {
            let mut m = raw_mechanism(&cbc_pad);
            let rv = list.C_EncryptInit.unwrap()(h, &mut m, f.aes.handle().raw());
            assert_eq!(rv, CKR_OK);
            for part in chunks() {
                let mut len = out.len() as CK_ULONG;
                let rv = list.C_EncryptUpdate.unwrap()(
                    h,
                    part.as_ptr() as *mut u8,
                    CHUNK as CK_ULONG,
                    out.as_mut_ptr(),
                    &mut len,
                );
                assert_eq!(rv, CKR_OK);
                black_box(&out[..len as usize]);
            }
            let mut len = out.len() as CK_ULONG;
            let rv = list.C_EncryptFinal.unwrap()(h, out.as_mut_ptr(), &mut len);
            assert_eq!(rv, CKR_OK);
            black_box(&out[..len as usize]);
        })
    });
    group.finish();
}

/// The process's CPU time (user and system) so far.
fn cpu_time() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    assert_eq!(
        unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) },
        0
    );
    let usage = unsafe { usage.assume_init() };
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime))
}

/// Four threads digesting through one shared session (taking turns on its operation)
/// against four threads with a session each: the CPU time 4 × `PER_THREAD` digests cost
/// (a shared session runs one operation at a time, so its wall time on two cores is
/// bound to be about twice; what it must not do is burn CPU switching threads).
fn shared_session(c: &mut Criterion) {
    const PER_THREAD: u64 = 2000;
    let f = fixture();
    let token = f.session.slot().token().unwrap();
    let own: Vec<Session> = (0..4)
        .map(|_| token.open(Access::ReadOnly).unwrap())
        .collect();
    let data = [0x5au8; 64];
    let run = |sessions: &[&Session], iters: u64| {
        let started = cpu_time();
        std::thread::scope(|scope| {
            for session in sessions {
                let session = *session;
                scope.spawn(move || {
                    let sha256 = Mechanism::new(M::SHA256);
                    let mut out = [0u8; 32];
                    for _ in 0..iters * PER_THREAD {
                        black_box(session.digest_into(&sha256, &data, &mut out).unwrap());
                    }
                });
            }
        });
        cpu_time() - started
    };
    let mut group = c.benchmark_group("CPU time of 4 threads x 2000 SHA-256, one session vs four");
    group.sample_size(10);
    group.bench_function("p11", |b| {
        b.iter_custom(|iters| run(&[&f.session; 4], iters))
    });
    group.bench_function("raw", |b| {
        b.iter_custom(|iters| run(&own.iter().collect::<Vec<_>>(), iters))
    });
    group.finish();
}

/// Four threads signing (ECDSA P-256) through one shared session, p11 taking turns on
/// its operation, against the same four threads around a `Mutex` that guards the raw
/// calls on one session: CPU time and wall time of 4 × `PER_THREAD` signatures.
fn shared_session_signing(c: &mut Criterion) {
    const PER_THREAD: u64 = 200;
    let f = fixture();
    let list = f.session.slot().module().raw_function_list();
    let h = f.session.handle().raw();
    let data = [0x5au8; 32];
    let guarded = std::sync::Mutex::new(());
    let p11_sign = || {
        let mut out = [0u8; 64];
        let ecdsa = Mechanism::new(M::ECDSA);
        black_box(f.session.sign_into(&ecdsa, &f.ec, &data, &mut out).unwrap());
    };
    let raw_sign = || {
        let _turn = guarded.lock().unwrap();
        let mut m = raw_mechanism(&Mechanism::new(M::ECDSA));
        let mut out = [0u8; 64];
        let mut len = 64 as CK_ULONG;
        unsafe {
            assert_eq!(
                list.C_SignInit.unwrap()(h, &mut m, f.ec.handle().raw()),
                CKR_OK
            );
            let rv = list.C_Sign.unwrap()(
                h,
                data.as_ptr() as *mut u8,
                data.len() as CK_ULONG,
                out.as_mut_ptr(),
                &mut len,
            );
            assert_eq!(rv, CKR_OK);
        }
        black_box(&out[..len as usize]);
    };
    let run = |sign: &(dyn Fn() + Sync), iters: u64, cpu: bool| {
        let (cpu_started, wall_started) = (cpu_time(), std::time::Instant::now());
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..iters * PER_THREAD {
                        sign();
                    }
                });
            }
        });
        if cpu {
            cpu_time() - cpu_started
        } else {
            wall_started.elapsed()
        }
    };
    interleaved(&p11_sign, &raw_sign, 5 * PER_THREAD);
    for (what, cpu) in [("CPU", true), ("wall", false)] {
        let mut group = c.benchmark_group(format!(
            "{what} time of 4 threads x {PER_THREAD} ECDSA P-256 on one session, p11 vs a Mutex"
        ));
        group.sample_size(10);
        group.bench_function("p11", |b| b.iter_custom(|iters| run(&p11_sign, iters, cpu)));
        group.bench_function("raw", |b| b.iter_custom(|iters| run(&raw_sign, iters, cpu)));
        group.finish();
    }
}

/// Rounds of 4 threads × `per_thread` calls of `p11` and of `raw` taking turns (so that
/// the machine's drift hits both alike): prints the p11/raw ratios of CPU time, wall
/// time and voluntary context switches, median and range over the rounds.
fn interleaved(p11: &(dyn Fn() + Sync), raw: &(dyn Fn() + Sync), per_thread: u64) {
    const ROUNDS: usize = 21;
    let measure = |call: &(dyn Fn() + Sync)| {
        let (cpu, wall, switched) = (cpu_time(), std::time::Instant::now(), switches());
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| (0..per_thread).for_each(|_| call()));
            }
        });
        let calls = (4 * per_thread) as f64;
        [
            (cpu_time() - cpu).as_secs_f64(),
            wall.elapsed().as_secs_f64(),
            (switches() - switched) as f64 / calls,
        ]
    };
    let mut ratios = [(); 3].map(|()| Vec::with_capacity(ROUNDS));
    let mut per_call = [(); 2].map(|()| Vec::with_capacity(ROUNDS));
    for _ in 0..ROUNDS {
        let (p, r) = (measure(p11), measure(raw));
        for (i, ratios) in ratios.iter_mut().enumerate() {
            ratios.push(p[i] / r[i]);
        }
        per_call[0].push(p[2]);
        per_call[1].push(r[2]);
    }
    let summary = |values: &mut Vec<f64>| {
        values.sort_by(f64::total_cmp);
        format!(
            "{:.3} ({:.3}–{:.3})",
            values[ROUNDS / 2],
            values[0],
            values[ROUNDS - 1]
        )
    };
    let [cpu, wall, switched] = &mut ratios;
    let [p11_switches, raw_switches] = &mut per_call;
    println!(
        "4 threads x {per_thread} on one session, {ROUNDS} interleaved rounds, p11/Mutex: \
         CPU {}, wall {}, voluntary switches per call {} (p11 {}, Mutex {})",
        summary(cpu),
        summary(wall),
        summary(switched),
        summary(p11_switches),
        summary(raw_switches)
    );
}

/// The process's voluntary context switches so far.
fn switches() -> i64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    assert_eq!(
        unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) },
        0
    );
    let usage = unsafe { usage.assume_init() };
    usage.ru_nvcsw
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = single_part, attributes_and_search, streaming, chunk_iterator, shared_session,
        shared_session_signing
}
criterion_main!(benches);
