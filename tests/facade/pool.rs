//! Pooled sessions on the test token: threads sign with one key found once, each in a
//! session of its own; a replaced key is found again; a pool whose token was logged out
//! logs its new sessions in again.

use p11::pool::Pool;
use p11::{
    Key, KeyQuery, KeyType, Library, ObjectOptions, OpenOptions, PrivateKey, PublicKey, Sign,
    Storage, Token, TokenFilter, Verify,
};
use std::collections::HashSet;
use std::sync::Mutex;

fn token(env: &p11_tests::TestEnv) -> Token {
    let lib = Library::load_with(&env.module, p11_tests::init_args(env)).unwrap();
    lib.get_token(&TokenFilter::new().label(&*env.label))
        .unwrap()
}

/// A pool on the test token, its sessions logged in where the token takes a login.
fn pool<G>(f: &p11_tests::Fixture<G>, size: u32) -> Pool {
    let options = OpenOptions::new().rw();
    let options = if f.login {
        options.user_pin(f.env.pin.as_str())
    } else {
        options
    };
    // The fixture's own session may have the token logged in: the pool's PIN is the
    // same, trusted as such.
    Pool::builder()
        .max_size(size)
        .token(&token(&f.env), options)
        .trust_existing_login()
        .build()
        .unwrap()
}

/// Whether the pool's token makes and signs with EC keys (printing why not).
fn offers_ec(pool: &Pool) -> bool {
    let used = [
        p11::MechanismType::EC_KEY_PAIR_GEN,
        p11::MechanismType::ECDSA,
    ];
    pool.run(|session| Ok(p11_tests::offers(session, &used)))
        .unwrap()
}

/// An EC key pair made through the pool, as `storage` says (a session object is seen by
/// every session of the application while the session that made it stays open).
fn ec_pair(pool: &Pool, label: &str, storage: Storage) -> (PublicKey, PrivateKey) {
    let options = ObjectOptions::new().label(label).storage(storage);
    pool.run(|session| session.generate_keypair(KeyType::EC, 256, &options))
        .unwrap()
}

#[test]
fn threads_sign_with_one_pooled_key_each_in_a_session_of_its_own() {
    let f = p11_tests::shared();
    let pool = pool(&f, 3);
    if !offers_ec(&pool) {
        return;
    }
    let label = format!("pool-{}", std::process::id());
    let (public, _private) = ec_pair(&pool, &label, Storage::Session);
    let key = pool.key::<PrivateKey>(KeyQuery::new().label(&label).key_type(KeyType::EC));
    let sessions = Mutex::new(HashSet::new());
    // In the first round the threads meet in pairs while holding their sessions, so that
    // two are out at once however the machine schedules them.
    let pairs = std::sync::Barrier::new(2);
    std::thread::scope(|scope| {
        for thread in 0..6u8 {
            let (key, public, sessions, pairs) = (&key, &public, &sessions, &pairs);
            scope.spawn(move || {
                for round in 0..5u8 {
                    let data = [thread, round];
                    // Once per thread, even if a stale handle runs the work again.
                    let mut meet = round == 0;
                    let signature = key
                        .run(|key| {
                            sessions.lock().unwrap().insert(key.session().handle());
                            if std::mem::take(&mut meet) {
                                pairs.wait();
                            }
                            key.sign(&data)
                        })
                        .unwrap();
                    assert!(public.verify(&data, &signature).unwrap());
                }
            });
        }
    });
    let used = sessions.into_inner().unwrap().len();
    assert!(
        (2..=3).contains(&used),
        "6 threads on a pool of 3 used {used} sessions"
    );
    assert_eq!(pool.tokens(), 1);
    assert!(pool.resting().is_empty());
}

#[test]
fn a_replaced_pooled_key_is_found_again() {
    let f = p11_tests::shared();
    let pool = pool(&f, 2);
    if !offers_ec(&pool) {
        return;
    }
    let label = format!("pool-replaced-{}", std::process::id());
    let (first_public, first) = ec_pair(&pool, &label, Storage::Session);
    let key = pool.key::<PrivateKey>(KeyQuery::new().label(&label));
    let signature = key.run(|key| key.sign(b"first")).unwrap();
    assert!(first_public.verify(b"first", &signature).unwrap());
    first.destroy().unwrap();
    first_public.destroy().unwrap();
    let (second_public, _second) = ec_pair(&pool, &label, Storage::Session);
    let signature = key.run(|key| key.sign(b"second")).unwrap();
    assert!(second_public.verify(b"second", &signature).unwrap());
}

#[test]
fn a_pool_logged_out_behind_its_back_logs_in_again() {
    let f = p11_tests::exclusive();
    if !f.logs_in() {
        return;
    }
    let pool = pool(&f, 2);
    if !offers_ec(&pool) {
        return;
    }
    let label = format!("pool-logout-{}", std::process::id());
    // A token object: the sessions that made it will be dropped.
    let (public, private) = ec_pair(&pool, &label, Storage::Token);
    let key = pool.key::<PrivateKey>(KeyQuery::new().label(&label));
    key.run(|key| key.sign(b"logged in")).unwrap();
    // Login state is the token's: one logout logs out every pooled session.
    pool.get().unwrap().logout().unwrap();
    // The health check on checkout drops the logged-out sessions and opens new ones;
    // SoftHSM gives private objects new handles at the new login, so the key is found
    // again too.
    let signature = key.run(|key| key.sign(b"again")).unwrap();
    assert!(public.verify(b"again", &signature).unwrap());
    key.run(|key| key.clone().destroy()).unwrap();
    public.destroy().unwrap();
    drop(private);
}

#[test]
fn a_pool_refuses_a_pin_it_cannot_check_unless_told_to_trust_the_login() {
    let f = p11_tests::shared();
    if !f.login {
        println!("skipped: the token takes no login");
        return;
    }
    // Another session has the token logged in: a wrong PIN would go unchecked.
    let logged_in = p11_tests::user_session(&f);
    let wrong = OpenOptions::new().rw().user_pin("not the PIN");
    let err = Pool::builder()
        .max_size(1)
        .token(&token(&f.env), wrong.clone())
        .build()
        .unwrap_err();
    if err.return_value() == Some(p11::ReturnValue::PinIncorrect) {
        // A module that checks the PIN at every login refuses it as wrong: no less.
        println!("the module checks the PIN of a second login: {err}");
        return;
    }
    assert!(matches!(err, p11::Error::PinNotChecked), "{err}");
    // Told to trust the login, the pool takes it (and could not tell the PIN is wrong).
    let pool = Pool::builder()
        .max_size(1)
        .token(&token(&f.env), wrong)
        .trust_existing_login()
        .build()
        .unwrap();
    assert_eq!(pool.tokens(), 1);
    drop((pool, logged_in));
}

#[test]
fn a_pool_without_tokens_or_room_is_refused() {
    let f = p11_tests::shared();
    let err = Pool::builder().build().unwrap_err();
    assert!(
        matches!(err, p11::Error::PoolSize { tokens: 0, .. }),
        "{err}"
    );
    let err = Pool::builder()
        .max_size(0)
        .token(&token(&f.env), OpenOptions::new())
        .build()
        .unwrap_err();
    assert!(
        matches!(
            err,
            p11::Error::PoolSize {
                size: 0,
                tokens: 1,
                ..
            }
        ),
        "{err}"
    );
}
