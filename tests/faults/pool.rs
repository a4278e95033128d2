//! A pool over two tokens (two members on the test token, behind the fault module) fails
//! over when one says it is gone, rests it, and tries every member when all rest.

use crate::control::{control, fixture, FOREVER};
use p11::pool::Pool;
use p11::{Key, KeyQuery, KeyType, ObjectOptions, OpenOptions, PrivateKey, Sign, Verify};
use p11_core::sys::{CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT};
use std::time::Duration;

#[test]
fn a_cluster_fails_over_when_a_token_is_gone_and_rests_it() {
    let f = fixture();
    let token = f.facade_token();
    let options = OpenOptions::new().rw().user_pin(f.pin.as_str());
    // One session per member, opened on demand: nothing is left opening in the
    // background when the case ends.
    let pool = Pool::builder()
        .max_size(1)
        .min_idle(Some(0))
        .rest(Duration::from_secs(600))
        .token(&token, options.clone())
        .token(&token, options)
        .trust_existing_login()
        .build()
        .unwrap();
    assert_eq!(pool.tokens(), 2);
    let made = ObjectOptions::new().label("cluster");
    let (public, private) = pool
        .run(|session| session.generate_keypair(KeyType::EC, 256, &made))
        .unwrap();
    let key = pool.key::<PrivateKey>(KeyQuery::new().label("cluster"));

    // The next member says its device was removed: the call runs again on the other.
    control().clear();
    control().set("C_SignInit", "fail", CKR_DEVICE_REMOVED, 0, 1);
    let signature = key.run(|key| key.sign(b"failover")).unwrap();
    assert!(public.verify(b"failover", &signature).unwrap());
    assert_eq!(control().calls("C_SignInit"), 2);
    let resting = pool.resting();
    assert_eq!(resting.len(), 1, "{resting:?}");

    // While it rests, every call goes to the member in service.
    control().clear();
    for _ in 0..4 {
        key.run(|key| key.sign(b"steady")).unwrap();
    }
    assert_eq!(control().calls("C_SignInit"), 4);
    assert_eq!(pool.resting(), resting);

    // Both gone: the module's error, and both rest.
    control().set("C_SignInit", "fail", CKR_TOKEN_NOT_PRESENT, 0, FOREVER);
    let err = key.run(|key| key.sign(b"gone")).unwrap_err();
    assert!(err.is_token_gone(), "{err}");
    assert_eq!(pool.resting().len(), 2);

    // Back again: with every member resting, each is tried anyway.
    control().clear();
    let signature = key.run(|key| key.sign(b"back")).unwrap();
    assert!(public.verify(b"back", &signature).unwrap());

    // Any other error is the caller's answer, with no failover.
    control().clear();
    control().set(
        "C_SignInit",
        "fail",
        p11_core::sys::CKR_FUNCTION_FAILED,
        0,
        1,
    );
    let err = key.run(|key| key.sign(b"failed")).unwrap_err();
    assert!(!err.is_token_gone(), "{err}");
    assert_eq!(control().calls("C_SignInit"), 1);

    drop(key);
    drop(public);
    private.destroy().unwrap();
    drop(pool);
    f.wait_for_open_sessions(1);
    f.finish(());
}

/// A pooled session's health is checked when a call fails as a lost session would, not
/// on every checkout; a lost one is replaced and the call run once more, and while
/// sessions keep being lost each new one waits longer — a few sessions opened in 1.5 s
/// of failing calls, not thousands.
#[test]
fn lost_sessions_are_found_by_their_calls_and_replaced_with_a_back_off() {
    let f = fixture();
    let token = f.facade_token();
    let pool = Pool::builder()
        .max_size(2)
        .min_idle(Some(0))
        .wait(Duration::from_millis(1500))
        .token(&token, OpenOptions::new().rw().user_pin(f.pin.as_str()))
        .trust_existing_login()
        .build()
        .unwrap();
    control().clear();
    for _ in 0..10 {
        pool.run(|session| session.generate_random(256)).unwrap();
    }
    assert_eq!(
        control().calls("C_GetSessionInfo"),
        0,
        "no check on checkout"
    );

    // Every session lost (its calls answer CKR_SESSION_HANDLE_INVALID, its health
    // check fails), calls made as fast as they fail.
    control().clear();
    let lost = p11_core::sys::CKR_SESSION_HANDLE_INVALID;
    control().set("C_GenerateRandom", "fail", lost, 0, FOREVER);
    control().set("C_GetSessionInfo", "fail", lost, 0, FOREVER);
    let started = std::time::Instant::now();
    let mut calls = 0;
    while started.elapsed() < Duration::from_millis(1500) {
        // Every session met is lost: no healthy one to run the call again in.
        let err = pool
            .run(|session| session.generate_random(256))
            .unwrap_err();
        assert!(matches!(err, p11::Error::NoSession(_)), "{err:?}");
        calls += 1;
    }
    let opened = control().calls("C_OpenSession");
    assert!(
        (1..=20).contains(&opened),
        "{opened} sessions opened for {calls} failing calls in 1.5 s"
    );
    // Healthy again; then one session lost: it is replaced and the call runs once more
    // in the new one.
    control().clear();
    assert!(pool.run(|session| session.generate_random(256)).is_ok());
    control().clear();
    control().set("C_GenerateRandom", "fail", lost, 0, 1);
    control().set("C_GetSessionInfo", "fail", lost, 0, 1);
    assert_eq!(
        pool.run(|session| session.generate_random(256))
            .unwrap()
            .len(),
        32
    );
    assert_eq!(control().calls("C_OpenSession"), 1, "one new session");
    control().clear();
    drop(pool);
    f.wait_for_open_sessions(1);
    f.finish(());
}
