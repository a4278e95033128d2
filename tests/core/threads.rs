use p11_core::{Access, Session, UserType};
use p11_tests::shared;
use std::collections::HashSet;
use std::sync::Mutex;

#[test]
fn eight_threads_open_sessions_and_draw_random_from_one_module() {
    let f = shared();
    let draws = Mutex::new(HashSet::new());
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                let session = f.token.open(Access::ReadOnly).unwrap();
                session.login(UserType::USER, f.env.pin.as_str()).unwrap();
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
