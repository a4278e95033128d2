use p11_core::{Access, Session, UserType};
use p11_tests::shared;
use std::collections::HashSet;
use std::sync::Mutex;

#[test]
fn eight_threads_open_sessions_and_draw_random_from_one_module() {
    let f = shared();
    if !f.has_rng() {
        return;
    }
    let draws = Mutex::new(HashSet::new());
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                let session = f.token.open(Access::ReadOnly).unwrap();
                if f.login {
                    session.login(UserType::USER, f.env.pin.as_str()).unwrap();
                }
                for _ in 0..100 {
                    let bytes = session.generate_random(128).unwrap();
                    assert!(
                        draws.lock().unwrap().insert(bytes),
                        "a 128-bit draw repeated"
                    );
                }
            });
        }
    });
    assert_eq!(draws.lock().unwrap().len(), 800);
}

#[test]
fn eight_threads_share_one_session() {
    fn assert_shareable<T: Send + Sync>() {}
    assert_shareable::<Session>();
    assert_shareable::<p11_core::Module>();
    assert_shareable::<p11_core::Token>();

    let f = shared();
    if !f.has_rng() {
        return;
    }
    let session = f.token.open(Access::ReadOnly).unwrap();
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..100 {
                    assert_eq!(session.generate_random(64).unwrap().len(), 64);
                }
                assert!(session.info().is_ok());
            });
        }
    });
}

/// A stream moved to another thread: there, starting a second operation on the session
/// is an error (not a wait for itself), while the thread that began it, starting one,
/// waits its turn rather than failing.
#[test]
fn an_operation_moved_to_another_thread_belongs_to_that_thread() {
    use p11_core::{KeyType, Mechanism, MechanismType as M};
    use std::sync::mpsc;
    let f = shared();
    let session = p11_tests::user_session(&f);
    if !f.has_rng() || !p11_tests::offers(&session, &[M::AES_CBC_PAD, M::SHA256]) {
        return;
    }
    let key = p11_tests::import_secret(&session, KeyType::AES, &[9u8; 16]);
    let cbc = || Mechanism::with_iv(M::AES_CBC_PAD, &[0u8; 16]).unwrap();
    let expected = session.encrypt(&cbc(), &key, &[1u8; 40]).unwrap();

    let mut stream = session.begin_encrypt(&cbc(), &key).unwrap();
    let (started, waiting) = mpsc::channel();
    std::thread::scope(|s| {
        let (session, key) = (&session, &key);
        let mover = s.spawn(move || {
            let mut out = Vec::new();
            out.extend(stream.update_vec(&[1u8; 20]).unwrap());
            // This thread now holds the session through `stream`.
            // Calls that are not operations go on as usual.
            assert_eq!(session.generate_random(8).unwrap().len(), 8);
            let err = session
                .digest(&Mechanism::new(M::SHA256), b"x")
                .unwrap_err();
            assert!(
                matches!(
                    err,
                    p11_core::Error::OperationInProgress(p11_core::Operation::Digest)
                ),
                "{err:?}"
            );
            started.send(()).unwrap();
            // Give the first thread time to queue behind us.
            std::thread::sleep(std::time::Duration::from_millis(100));
            out.extend(stream.update_vec(&[1u8; 20]).unwrap());
            out.extend(stream.finish().unwrap());
            out
        });
        waiting.recv().unwrap();
        // The thread that began the stream gave it away: it waits for it, then runs.
        let again = session.encrypt(&cbc(), key, &[1u8; 40]).unwrap();
        assert_eq!(again, expected);
        assert_eq!(mover.join().unwrap(), expected);
    });
}

/// A stream sent to another thread that has not used it yet: the sender, still its
/// last user, waits for it rather than being refused.
#[test]
fn a_stream_sent_away_is_waited_for_before_the_receiver_uses_it() {
    use p11_core::{KeyType, Mechanism, MechanismType as M};
    use std::sync::mpsc;
    let f = shared();
    let session = p11_tests::user_session(&f);
    if !p11_tests::offers(&session, &[M::AES_CBC_PAD, M::SHA256]) {
        return;
    }
    let key = p11_tests::import_secret(&session, KeyType::AES, &[5u8; 16]);
    let cbc = Mechanism::with_iv(M::AES_CBC_PAD, &[0u8; 16]).unwrap();
    let expected = session.encrypt(&cbc, &key, &[2u8; 40]).unwrap();
    let stream = session.begin_encrypt(&cbc, &key).unwrap();
    let (send, receive) = mpsc::channel();
    std::thread::scope(|s| {
        let worker = s.spawn(move || {
            let mut stream: p11_core::Cipher = receive.recv().unwrap();
            // Busy elsewhere before it first touches the stream.
            std::thread::sleep(std::time::Duration::from_millis(50));
            let mut out = stream.update_vec(&[2u8; 40]).unwrap();
            out.extend(stream.finish().unwrap());
            out
        });
        send.send(stream).unwrap();
        // Not refused: the stream is the worker's now, and this digest waits its turn.
        let digest = session.digest(&Mechanism::new(M::SHA256), b"after the hand-over");
        assert_eq!(digest.unwrap().len(), 32);
        assert_eq!(worker.join().unwrap(), expected);
    });
}

/// Threads queueing for one session's operation are served in turn: none is starved.
#[test]
fn threads_sharing_a_session_take_turns() {
    use p11_core::{Mechanism, MechanismType as M};
    use std::sync::atomic::{AtomicBool, Ordering};
    let f = shared();
    let session = f.token.open(Access::ReadOnly).unwrap();
    if !p11_tests::offers(&session, &[M::SHA256]) {
        return;
    }
    let stop = AtomicBool::new(false);
    let counts: Vec<usize> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    let mut done = 0usize;
                    while !stop.load(Ordering::Relaxed) {
                        let digest = session.digest(&Mechanism::new(M::SHA256), b"turns");
                        assert_eq!(digest.unwrap().len(), 32);
                        done += 1;
                    }
                    done
                })
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(500));
        stop.store(true, Ordering::Relaxed);
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let total: usize = counts.iter().sum();
    let least = counts.iter().min().copied().unwrap_or(0);
    // First come, first served: each of 4 threads gets a fair share (at least a tenth).
    assert!(least * 10 >= total, "unfair shares: {counts:?}");
}

/// Operations own what they use: they can be stored, returned and moved to other threads.
#[test]
fn operations_are_owned_values_that_move_between_threads() {
    fn owned_and_sendable<T: Send + 'static>() {}
    owned_and_sendable::<p11_core::Cipher>();
    owned_and_sendable::<p11_core::Signer>();
    owned_and_sendable::<p11_core::Verifier>();
    owned_and_sendable::<p11_core::Digest>();
    owned_and_sendable::<p11_core::Dual>();
    owned_and_sendable::<p11_core::FindObjects>();
    owned_and_sendable::<p11_core::CipherChunks<std::vec::IntoIter<Vec<u8>>>>();
    owned_and_sendable::<p11_core::CipherWriter<Vec<u8>>>();
    owned_and_sendable::<p11_core::CipherReader<std::io::Cursor<Vec<u8>>>>();

    // A stream returned from a function, stored beside its key, finished elsewhere.
    struct Sealer {
        key: p11_core::Object,
        stream: p11_core::Cipher,
    }
    fn sealer(session: &Session) -> Sealer {
        let key = p11_tests::import_secret(session, p11_core::KeyType::AES, &[5u8; 16]);
        let mechanism =
            p11_core::Mechanism::with_iv(p11_core::MechanismType::AES_CBC_PAD, &[0u8; 16]).unwrap();
        let stream = session.begin_encrypt(&mechanism, &key).unwrap();
        Sealer { key, stream }
    }
    let f = shared();
    let session = p11_tests::user_session(&f);
    if !p11_tests::offers(&session, &[p11_core::MechanismType::AES_CBC_PAD]) {
        return;
    }
    let mut sealer = sealer(&session);
    let mut out = [0u8; 64];
    // A module may hold back a whole block until it knows whether more follows
    // (openCryptoki does): only the total is fixed.
    let n = sealer.stream.update(&[1u8; 20], &mut out).unwrap();
    assert!(n == 0 || n == 16, "{n} bytes out of 20 in");
    let rest = std::thread::spawn(move || {
        let rest = sealer.stream.finish().unwrap();
        (sealer.key, rest)
    })
    .join()
    .unwrap();
    assert_eq!(n + rest.1.len(), 32);
}
