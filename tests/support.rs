//! What the integration tests share: the token the xtask made, and a lock that keeps the
//! tests that change the token's state (PINs, logins as SO, re-initialisation) from
//! running alongside the others.
#![allow(clippy::expect_used, clippy::panic)]

use p11_core::{InitArgs, Module, Token, TokenFilter};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The test token, as `cargo xtask test` (or `cargo xtask softhsm`) describes it.
#[derive(Debug, Clone)]
pub struct TestEnv {
    /// `PKCS11_MODULE`: the module's path.
    pub module: String,
    /// `PKCS11_TOKEN_LABEL`.
    pub label: String,
    /// `PKCS11_TOKEN_PIN`.
    pub pin: String,
    /// `PKCS11_TOKEN_SO_PIN`.
    pub so_pin: String,
    /// `PKCS11_INIT_ARGS`: an optional `pReserved` string for `C_Initialize`.
    pub init_args: Option<String>,
}

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: run the tests with `cargo xtask test`, or source the \
             output of `cargo xtask softhsm DIR` first"
        )
    })
}

/// The environment the xtask exported.
pub fn env() -> TestEnv {
    TestEnv {
        module: var("PKCS11_MODULE"),
        label: var("PKCS11_TOKEN_LABEL"),
        pin: var("PKCS11_TOKEN_PIN"),
        so_pin: var("PKCS11_TOKEN_SO_PIN"),
        init_args: std::env::var("PKCS11_INIT_ARGS").ok(),
    }
}

/// The `C_Initialize` arguments the test module takes.
pub fn init_args(env: &TestEnv) -> InitArgs {
    match &env.init_args {
        Some(reserved) => InitArgs::new()
            .reserved(reserved)
            .expect("PKCS11_INIT_ARGS has a NUL byte"),
        None => InitArgs::new(),
    }
}

static TOKEN_STATE: RwLock<()> = RwLock::new(());

/// The test module and token, for a test that leaves the token as it found it and does
/// not mind other tests' sessions.
#[derive(Debug)]
pub struct Fixture<G> {
    /// The environment.
    pub env: TestEnv,
    /// The loaded module.
    pub module: Module,
    /// The test token.
    pub token: Token,
    /// Held for the test's duration, released last.
    _guard: G,
}

fn fixture<G>(guard: G) -> Fixture<G> {
    let env = env();
    let module = Module::load_with(&env.module, init_args(&env)).expect("loading the test module");
    let token = module
        .get_token(&TokenFilter::new().label(env.label.as_str()))
        .expect("finding the test token");
    Fixture {
        env,
        module,
        token,
        _guard: guard,
    }
}

impl<G> Fixture<G> {
    /// Drops the module and token (finalising the module when no other handle is left)
    /// but keeps the lock.
    pub fn into_guard(self) -> G {
        self._guard
    }
}

/// For tests that may run alongside others.
pub fn shared() -> Fixture<RwLockReadGuard<'static, ()>> {
    fixture(TOKEN_STATE.read().unwrap_or_else(PoisonError::into_inner))
}

/// For tests that change the token's state or count its sessions: no other test runs
/// meanwhile.
pub fn exclusive() -> Fixture<RwLockWriteGuard<'static, ()>> {
    fixture(TOKEN_STATE.write().unwrap_or_else(PoisonError::into_inner))
}
