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
    /// `PKCS11_TOKEN_SO_PIN`; unset for a token without a security officer (NSS's).
    pub so_pin: Option<String>,
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
        so_pin: std::env::var("PKCS11_TOKEN_SO_PIN").ok(),
        init_args: std::env::var("PKCS11_INIT_ARGS").ok(),
    }
}

impl TestEnv {
    /// The SO PIN; `None`, saying why the test skips, for a token that has none.
    pub fn so_pin(&self) -> Option<&str> {
        if self.so_pin.is_none() {
            println!("skipped: the token has no security officer (no PKCS11_TOKEN_SO_PIN)");
        }
        self.so_pin.as_deref()
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
    /// Whether the token wants a login (`CKF_LOGIN_REQUIRED`); p11-kit's trust token
    /// has none.
    pub login: bool,
    /// Held for the test's duration, released last.
    _guard: G,
}

fn fixture<G>(guard: G) -> Fixture<G> {
    let env = env();
    let module = Module::load_with(&env.module, init_args(&env)).expect("loading the test module");
    let token = module
        .get_token(&TokenFilter::new().label(env.label.as_str()))
        .expect("finding the test token");
    let login = token
        .info()
        .expect("reading the token info")
        .flags
        .contains(p11_core::TokenFlags::LOGIN_REQUIRED);
    Fixture {
        env,
        module,
        token,
        login,
        _guard: guard,
    }
}

impl<G> Fixture<G> {
    /// Whether the token has logins to test; says why the test skips when not.
    pub fn logs_in(&self) -> bool {
        if !self.login {
            println!("skipped: the token takes no login (no CKF_LOGIN_REQUIRED)");
        }
        self.login
    }

    /// Whether the token has a random generator (`CKF_RNG`); says why the test skips
    /// when not.
    pub fn has_rng(&self) -> bool {
        let rng = self
            .token
            .info()
            .expect("reading the token info")
            .flags
            .contains(p11_core::TokenFlags::RNG);
        if !rng {
            println!("skipped: the token has no random generator (no CKF_RNG)");
        }
        rng
    }

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

/// A read/write session on the test token, logged in as the user where the token takes
/// a login.
pub fn user_session<G>(f: &Fixture<G>) -> p11_core::Session {
    let session = f
        .token
        .open(p11_core::Access::ReadWrite)
        .expect("opening a session");
    if f.login {
        session
            .login(p11_core::UserType::USER, f.env.pin.as_str())
            .expect("logging in");
    }
    session
}

/// A session of either layer, asked what its token offers through that layer's own
/// API: the probes by which the suites skip.
pub trait Probe {
    /// Whether the mechanism list names `mechanism`.
    fn lists(&self, mechanism: p11_core::MechanismType) -> bool;
    /// Whether the token answers `C_GetMechanismInfo` for it (some list less than they do).
    fn has_info(&self, mechanism: p11_core::MechanismType) -> bool;
    /// Whether it digests with it.
    fn digests(&self, mechanism: p11_core::MechanismType) -> bool;
}

impl Probe for p11_core::Session {
    fn lists(&self, mechanism: p11_core::MechanismType) -> bool {
        self.has_mechanism(mechanism)
            .expect("reading the mechanism list")
    }
    fn has_info(&self, mechanism: p11_core::MechanismType) -> bool {
        self.slot().mechanism_info(mechanism).is_ok()
    }
    fn digests(&self, mechanism: p11_core::MechanismType) -> bool {
        self.digest(&p11_core::Mechanism::new(mechanism), b"")
            .is_ok()
    }
}

impl Probe for p11::Session {
    fn lists(&self, mechanism: p11_core::MechanismType) -> bool {
        self.has_mechanism(mechanism)
            .expect("reading the mechanism list")
    }
    fn has_info(&self, mechanism: p11_core::MechanismType) -> bool {
        self.slot().get_mechanism_info(mechanism).is_ok()
    }
    fn digests(&self, mechanism: p11_core::MechanismType) -> bool {
        self.digest(mechanism, b"").is_ok()
    }
}

/// The capability probe the tests skip by: whether the token offers every one of
/// `mechanisms` — lists it, describes it when asked (`C_GetMechanismInfo`), or, for a
/// digest, starts one (NSS's key database token hashes with mechanisms it neither lists
/// nor describes) — printing which one it lacks when not.
pub fn offers(session: &impl Probe, mechanisms: &[p11_core::MechanismType]) -> bool {
    use p11_core::mechanisms::Operations;
    for m in mechanisms {
        let listed = session.lists(*m);
        let digest = m
            .profile()
            .is_some_and(|p| p.operations.contains(Operations::DIGEST));
        let works = listed || session.has_info(*m) || (digest && session.digests(*m));
        if !works {
            println!("skipped: the token does not offer {m}");
            return false;
        }
    }
    true
}

/// Whether the token keeps secret keys: it offers a mechanism that works with one. A
/// certificate store (p11-kit's trust module) or a smart card without symmetric keys
/// (OpenSC's OpenPGP card) refuses them. Says why the test skips when not.
pub fn keeps_secret_keys(session: &impl Probe) -> bool {
    use p11_core::MechanismType as M;
    const SECRET: [M; 10] = [
        M::AES_KEY_GEN,
        M::AES_ECB,
        M::AES_CBC,
        M::AES_CBC_PAD,
        M::AES_GCM,
        M::DES3_KEY_GEN,
        M::DES3_ECB,
        M::GENERIC_SECRET_KEY_GEN,
        M::SHA256_HMAC,
        M::SHA_1_HMAC,
    ];
    let keeps = SECRET.iter().any(|m| session.lists(*m));
    if !keeps {
        println!("skipped: the token offers no mechanism for secret keys, so it keeps none");
    }
    keeps
}

/// An object whose attributes a test reads and changes: an AES key (value readable)
/// where the token takes one, else a data object (p11-kit's trust store, a smart card,
/// tpm2-pkcs11 — which lists AES but creates no AES key — keep those); `None`, saying
/// why the test skips, where the token makes neither.
pub fn plain_object(session: &p11_core::Session, label: &str) -> Option<p11_core::Object> {
    use p11_core::{AttributeType as A, KeyType, MechanismType as M, ObjectClass, Template};
    let keeps_keys = [M::AES_KEY_GEN, M::AES_ECB, M::AES_CBC, M::AES_CBC_PAD]
        .iter()
        .any(|m| session.lists(*m));
    if keeps_keys {
        let key = Template::new()
            .with(A::CLASS, ObjectClass::SECRET_KEY)
            .with(A::KEY_TYPE, KeyType::AES)
            .with(A::VALUE, [0x11u8; 16])
            .with(A::ENCRYPT, true)
            .with(A::SENSITIVE, false)
            .with(A::EXTRACTABLE, true)
            .with(A::LABEL, label);
        match session.create_object(&key) {
            Ok(object) => return Some(object),
            // The module's refusal (of the class, the template): a data object then.
            Err(e) if e.return_value().is_some() => {}
            Err(e) => panic!("creating an AES key: {e}"),
        }
    }
    let data = Template::new()
        .with(A::CLASS, ObjectClass::DATA)
        .with(A::APPLICATION, "p11-tests")
        .with(A::VALUE, b"plain data".as_slice())
        .with(A::LABEL, label);
    match session.create_object(&data) {
        Ok(object) => Some(object),
        Err(e) => {
            println!(
                "skipped: the token keeps no secret key for us, and no data object either ({e})"
            );
            None
        }
    }
}

/// Whether the token makes session key pairs: tpm2-pkcs11 refuses `CKA_TOKEN` false in a
/// key-pair template (`CKR_ATTRIBUTE_VALUE_INVALID`). Asked once per process, by making
/// one (dropped at once, as session objects go with their session).
pub fn keeps_session_keys<G>(f: &Fixture<G>) -> bool {
    use p11_core::{AttributeType as A, Mechanism, MechanismType as M, ReturnValue, Template};
    static KEEPS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *KEEPS.get_or_init(|| {
        let session = user_session(f);
        let session_only = Template::new().with(A::TOKEN, false);
        // Listed, not `offers`: this probe is no test's reason to skip.
        let listed = |m| session.has_mechanism(m).unwrap_or(false);
        let made = if listed(M::EC_KEY_PAIR_GEN) {
            session.generate_keypair(
                &Mechanism::new(M::EC_KEY_PAIR_GEN),
                &session_only.clone().with(A::EC_PARAMS, vectors::P256),
                &session_only,
            )
        } else if listed(M::RSA_PKCS_KEY_PAIR_GEN) {
            session.generate_keypair(
                &Mechanism::new(M::RSA_PKCS_KEY_PAIR_GEN),
                &session_only
                    .clone()
                    .with(A::MODULUS_BITS, 2048u64)
                    .with(A::PUBLIC_EXPONENT, [1u8, 0, 1]),
                &session_only,
            )
        } else {
            return true;
        };
        !matches!(made, Err(e) if e.return_value() == Some(ReturnValue::AttributeValueInvalid))
    })
}

/// A label no other test (or run) uses: the process, the time and a count (not the
/// token's RNG, which some tokens lack).
pub fn unique_label(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let count = COUNT.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{}-{nanos:x}-{count}", std::process::id())
}

/// Known values for keys and domain parameters.
pub mod vectors {
    /// DER `ECParameters` (named curve OIDs) for `CKA_EC_PARAMS`.
    pub const P256: &[u8] = &[0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
    /// secp384r1.
    pub const P384: &[u8] = &[0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22];
    /// secp521r1.
    pub const P521: &[u8] = &[0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x23];
    /// Ed25519 (id-Ed25519, 1.3.101.112).
    pub const ED25519: &[u8] = &[0x06, 0x03, 0x2B, 0x65, 0x70];

    /// The 2048-bit MODP group of RFC 3526 (group 14), generator 2. Checked with
    /// `openssl dhparam -check`, which names it `modp_2048`.
    pub const RFC3526_2048_PRIME: &str = concat!(
        "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD1",
        "29024E088A67CC74020BBEA63B139B22514A08798E3404DD",
        "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245",
        "E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED",
        "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3D",
        "C2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F",
        "83655D23DCA3AD961C62F356208552BB9ED529077096966D",
        "670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B",
        "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9",
        "DE2BCBF6955817183995497CEA956AE515D2261898FA0510",
        "15728E5A8AACAA68FFFFFFFFFFFFFFFF",
    );

    /// Bytes from hex text (test data only).
    pub fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
            .collect()
    }
}

/// Imports a secret key of `key_type` with this value, usable for every operation.
pub fn import_secret(
    session: &p11_core::Session,
    key_type: p11_core::KeyType,
    value: &[u8],
) -> p11_core::Object {
    use p11_core::{AttributeType as A, ObjectClass, Template};
    let mut template = Template::new()
        .with(A::CLASS, ObjectClass::SECRET_KEY)
        .with(A::KEY_TYPE, key_type)
        .with(A::VALUE, value)
        .with(A::SIGN, true)
        .with(A::VERIFY, true);
    let mac_only = [
        p11_core::KeyType::GENERIC_SECRET,
        p11_core::KeyType::SHA_1_HMAC,
        p11_core::KeyType::SHA256_HMAC,
        p11_core::KeyType::SHA512_HMAC,
    ];
    if !mac_only.contains(&key_type) {
        template = template.with(A::ENCRYPT, true).with(A::DECRYPT, true);
    }
    session
        .create_object(&template)
        .expect("importing a secret key")
}

/// An RSA key pair of `bits` (exponent 65537), with the extra attributes given.
pub fn rsa_pair(
    session: &p11_core::Session,
    bits: u64,
    public: p11_core::Template,
    private: p11_core::Template,
) -> (p11_core::Object, p11_core::Object) {
    use p11_core::{AttributeType as A, Mechanism, MechanismType as M, Template};
    let public = Template::new()
        .with(A::MODULUS_BITS, bits)
        .with(A::PUBLIC_EXPONENT, [1u8, 0, 1])
        .merge(&public);
    session
        .generate_keypair(&Mechanism::new(M::RSA_PKCS_KEY_PAIR_GEN), &public, &private)
        .expect("generating an RSA key pair")
}

/// An EC (or, with Edwards parameters, EdDSA) key pair on the curve `params` names.
pub fn ec_pair(
    session: &p11_core::Session,
    params: &[u8],
    public: p11_core::Template,
    private: p11_core::Template,
) -> (p11_core::Object, p11_core::Object) {
    use p11_core::{AttributeType as A, Mechanism, MechanismType as M, Template};
    let mechanism = if params == vectors::ED25519 {
        M::EC_EDWARDS_KEY_PAIR_GEN
    } else {
        M::EC_KEY_PAIR_GEN
    };
    let public = Template::new().with(A::EC_PARAMS, params).merge(&public);
    session
        .generate_keypair(&Mechanism::new(mechanism), &public, &private)
        .expect("generating an EC key pair")
}

/// Everything a chunk stream gives, concatenated.
pub fn concat<I>(mut stream: p11_core::CipherChunks<I>) -> p11_core::Result<Vec<u8>>
where
    I: Iterator,
    I::Item: AsRef<[u8]>,
{
    let mut out = Vec::new();
    while let Some(chunk) = stream.next_chunk() {
        out.extend_from_slice(chunk?);
    }
    Ok(out)
}

/// The workspace README's example, compiled as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct WorkspaceReadme;

/// The remote-HSM guide's example, compiled as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../docs/remote-hsm.md")]
struct RemoteHsmGuide;
