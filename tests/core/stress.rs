//! Stress: sixteen threads share one session, mixing streams, signatures, searches and
//! attribute reads, while another thread re-initialises the module under them a fixed
//! number of times. The workers run for `P11_STRESS_SECONDS` (5 by default) and past the
//! last re-initialisation; a watchdog aborts the run on a hang.

use p11_core::{
    Access, AttributeType as A, Error, KeyType, Mechanism, MechanismType as M, Object, ObjectClass,
    Session, Template, Token, UserType,
};
use p11_tests::{exclusive, vectors};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// How often the module is re-initialised under the workers.
const REINITIALISATIONS: u32 = 20;

/// The session and keys the workers share; made again after each re-initialisation.
struct World {
    session: Session,
    aes: Object,
    ec: (Object, Object),
}

impl World {
    fn make(token: &Token, pin: &str) -> Result<World, Error> {
        let session = token.open(Access::ReadWrite)?;
        session.login(UserType::USER, pin)?;
        let aes = session.create_object(
            &Template::new()
                .with(A::CLASS, ObjectClass::SECRET_KEY)
                .with(A::KEY_TYPE, KeyType::AES)
                .with(A::VALUE, [4u8; 32])
                .with(A::ENCRYPT, true),
        )?;
        let ec = session.generate_keypair(
            &Mechanism::new(M::EC_KEY_PAIR_GEN),
            &Template::new()
                .with(A::EC_PARAMS, vectors::P256)
                .with(A::VERIFY, true),
            &Template::new().with(A::SIGN, true),
        )?;
        Ok(World { session, aes, ec })
    }
}

/// One operation of the mix; `Ok` or a typed error.
fn work(world: &World, i: u64) -> Result<(), Error> {
    let s = &world.session;
    let cbc = Mechanism::with_iv(M::AES_CBC_PAD, &[0u8; 16])?;
    match i % 5 {
        0 => {
            let mut stream = s.begin_encrypt(&cbc, &world.aes)?;
            let mut out = [0u8; 64];
            for _ in 0..3 {
                stream.update(&[7u8; 32], &mut out)?;
            }
            assert_eq!(stream.finish()?.len(), 16);
        }
        1 => {
            let signature = s.sign(&Mechanism::new(M::ECDSA), &world.ec.1, &[3u8; 32])?;
            let ok = s.verify(
                &Mechanism::new(M::ECDSA),
                &world.ec.0,
                &[3u8; 32],
                &signature,
            )?;
            assert!(ok, "a fresh signature did not verify");
        }
        2 => {
            let found = s
                .find_objects(&Template::new().with(A::CLASS, ObjectClass::SECRET_KEY))?
                .count();
            assert!(found >= 1);
        }
        3 => {
            let values = world
                .aes
                .get_attributes(&[A::CLASS, A::KEY_TYPE, A::VALUE_LEN])?;
            for value in values {
                value?;
            }
        }
        _ => {
            let mut digest = s.begin_digest(&Mechanism::new(M::SHA256))?;
            digest.update(b"stress")?;
            assert_eq!(digest.finish()?.len(), 32);
        }
    }
    Ok(())
}

#[test]
fn sixteen_threads_share_a_session_while_the_module_is_reinitialised() {
    let f = exclusive();
    let probe = p11_tests::user_session(&f);
    let used = [M::AES_CBC_PAD, M::EC_KEY_PAIR_GEN, M::ECDSA];
    if !p11_tests::offers(&probe, &used) {
        return;
    }
    drop(probe);
    let seconds: u64 = std::env::var("P11_STRESS_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let done = Arc::new(AtomicBool::new(false));
    {
        let done = done.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(seconds + 120));
            if !done.load(Ordering::SeqCst) {
                eprintln!("stress: no progress after {}s: a hang", seconds + 120);
                std::process::abort();
            }
        });
    }
    let world = RwLock::new(Arc::new(World::make(&f.token, &f.env.pin).unwrap()));
    let (ok, closed, ok_after) = (AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0));
    // A fixed number of re-initialisations, not a time: under valgrind one takes
    // ~100 ms, and a count bounded by time was a flaky assertion.
    let reinitialised = AtomicBool::new(false);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    std::thread::scope(|s| {
        for t in 0..16u64 {
            let (world, ok, closed, ok_after) = (&world, &ok, &closed, &ok_after);
            let reinitialised = &reinitialised;
            let (token, pin) = (&f.token, f.env.pin.as_str());
            s.spawn(move || {
                let (mut i, mut recovered) = (t, false);
                // Each worker runs until it has succeeded once after the last
                // re-initialisation: one that cannot recover trips the watchdog.
                while Instant::now() < deadline || !recovered {
                    let after = reinitialised.load(Ordering::SeqCst);
                    let current = world.read().unwrap().clone();
                    match work(&current, i) {
                        Ok(()) => {
                            ok.fetch_add(1, Ordering::Relaxed);
                            if after {
                                ok_after.fetch_add(1, Ordering::Relaxed);
                                recovered = true;
                            }
                        }
                        Err(Error::SessionClosed | Error::Finalized) => {
                            closed.fetch_add(1, Ordering::Relaxed);
                            // Make the world again, unless another thread did.
                            let mut shared = world.write().unwrap();
                            if Arc::ptr_eq(&shared, &current) {
                                if let Ok(fresh) = World::make(token, pin) {
                                    *shared = Arc::new(fresh);
                                }
                            }
                        }
                        Err(e) => panic!("an error other than a closed session: {e}"),
                    }
                    i += 1;
                }
            });
        }
        let (module, reinitialised) = (&f.module, &reinitialised);
        s.spawn(move || {
            for _ in 0..REINITIALISATIONS {
                module.reinitialize().unwrap();
                std::thread::sleep(Duration::from_millis(5));
            }
            reinitialised.store(true, Ordering::SeqCst);
        });
    });
    done.store(true, Ordering::SeqCst);
    let (ok, closed, ok_after) = (ok.into_inner(), closed.into_inner(), ok_after.into_inner());
    eprintln!(
        "stress: {ok} operations ({ok_after} after the last of {REINITIALISATIONS} \
         re-initialisations), {closed} met a closed session"
    );
    // Each re-initialisation closes the shared session under the workers.
    assert!(closed > 0, "no worker met a closed session");
}
