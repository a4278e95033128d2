//! `cargo xtask compat [MODULE...]`: the real-module suites (p11-tests' `core` and
//! `facade`) on each module the xtask can set up, every outcome kept in
//! `target/compat/<module>.json`, and `docs/compatibility.md` written from all that are
//! there: which feature works on which module, and what the module said where not.

use crate::tokens::{self, TokenEnv};
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The modules `compat` sets up, in table order.
pub const MODULES: [&str; 8] = [
    "softhsm",
    "nss",
    "kryoptic",
    "opencryptoki",
    "tpm2",
    "opensc",
    "p11-kit-trust",
    "p11-kit-remote",
];

/// Rows for modules no machine here can run, kept as python-pkcs11's table has them.
const NOT_RUN: [(&str, &str); 2] = [
    ("Thales nCipher", "hardware HSM; no emulator"),
    (
        "Nitrokey HSM / SmartCard-HSM",
        "hardware token (OpenSC's module is run above, on an emulated OpenPGP card)",
    ),
];

/// A failure that is the module's own: in `module`, one of `tests` (or any), when what
/// the test said contains `said` — the function and return value the module answered
/// (`function: Decrypt, rv: GeneralError`), or the exact behaviour a test asserted —
/// so that a p11 regression in the same test is never taken for the module's.
struct Fault {
    module: &'static str,
    /// The tests it explains; none named: any test.
    tests: &'static [&'static str],
    said: &'static str,
    /// What the module does, as measured (by p11's raw calls, a C probe or the module's
    /// own log): the table's note.
    what: &'static str,
}

/// The modules' own failures. A failure not explained here is p11's until shown
/// otherwise, and fails the run.
const MODULE_FAULTS: &[Fault] = &[
    Fault {
        module: "opencryptoki",
        tests: &["core::objects::a_wrap_template_round_trips_as_a_nested_template"],
        said: "function: CreateObject, rv: AttributeTypeInvalid",
        what: "openCryptoki 3.8 refuses `CKA_WRAP_TEMPLATE` in `C_CreateObject` \
         (`CKR_ATTRIBUTE_TYPE_INVALID`)",
    },
    Fault {
        module: "opencryptoki",
        tests: &["core::objects::each_value_kind_round_trips_through_a_real_object"],
        said: "function: CreateObject, rv: AttributeTypeInvalid",
        what: "openCryptoki 3.8 refuses `CKA_ALLOWED_MECHANISMS` in `C_CreateObject` \
         (`CKR_ATTRIBUTE_TYPE_INVALID`)",
    },
    Fault {
        module: "opencryptoki",
        tests: &["core::objects::typed_reads_give_rust_values_and_refuse_the_wrong_kind"],
        said: "function: GetAttributeValue, rv: AttributeTypeInvalid",
        what: "an AES key made by `C_CreateObject` has no `CKA_VALUE_LEN` on openCryptoki 3.8 \
         (`CKR_ATTRIBUTE_TYPE_INVALID`)",
    },
    Fault {
        module: "opencryptoki",
        tests: &["core::wrap_derive::dh_derivation_gives_both_parties_the_same_secret"],
        said: "the module made a 256-byte secret where CKA_VALUE_LEN asked for 32",
        what: "openCryptoki 3.8's `CKM_DH_PKCS_DERIVE` ignores `CKA_VALUE_LEN`: the secret is the \
         whole 256-byte shared value",
    },
    Fault {
        module: "opencryptoki",
        tests: &["core::wrap_derive::rsa_oaep_wraps_and_unwraps_a_key"],
        said: "function: UnwrapKey, rv: AttributeReadOnly",
        what: "openCryptoki 3.8's `C_UnwrapKey` answers `CKR_ATTRIBUTE_READ_ONLY` to a standard \
         secret-key template (class, key type, encrypt, sensitive, extractable)",
    },
    Fault {
        module: "opencryptoki",
        tests: &["facade::defaults::key_pairs_take_a_template_for_each_half"],
        said: "function: Login, rv: UserTypeInvalid",
        what: "openCryptoki 3.8 has no context-specific login: `C_Login(CKU_CONTEXT_SPECIFIC)` → \
         `CKR_USER_TYPE_INVALID`, so an `ALWAYS_AUTHENTICATE` key cannot be used",
    },
    Fault {
        module: "opencryptoki",
        tests: &["facade::util::certificates_signed_with_rsa_dsa_and_ecdsa_verify_in_the_token"],
        said: "function: CreateObject, rv: AttributeTypeInvalid",
        what: "openCryptoki 3.8 refuses the extended certificate attributes (key identifier \
         hashes) in `C_CreateObject` (`CKR_ATTRIBUTE_TYPE_INVALID`); the basic set, p11's \
         default, imports",
    },
    Fault {
        module: "p11-kit-trust",
        tests: &["core::sessions::sessions_open_read_only_or_read_write"],
        said: "rw.info().unwrap().flags.contains(SessionFlags::RW_SESSION)",
        what: "p11-kit's trust module opens a read/write session when asked but reports every \
         session read-only (no `CKF_RW_SESSION` from `C_GetSessionInfo`)",
    },
    Fault {
        module: "p11-kit-trust",
        tests: &["facade::util::certificates_signed_with_rsa_dsa_and_ecdsa_verify_in_the_token"],
        said: "function: CreateObject, rv: AttributeValueInvalid",
        what: "p11-kit's trust module refuses `CKA_START_DATE`, and on some certificates \
         `CKA_END_DATE`, in `C_CreateObject` (`CKR_ATTRIBUTE_VALUE_INVALID`), though it \
         derives the same dates from the certificate itself; the key-identifier hashes it \
         takes",
    },
    Fault {
        module: "nss",
        tests: &[
            "core::asymmetric::always_authenticate_keys_sign_with_their_pin",
            "facade::defaults::key_pairs_take_a_template_for_each_half",
        ],
        said: "a wrong PIN for the key signed",
        what: "NSS keeps `CKA_ALWAYS_AUTHENTICATE` true but signs without the context-specific \
         login: a wrong PIN given for it signs too",
    },
    Fault {
        module: "nss",
        tests: &["core::asymmetric::dsa_signatures_raw_and_hashed"],
        said: "function: Verify, rv: ArgumentsBad, mechanism: Some(MechanismType(CKM_DSA))",
        what: "NSS answers a DSA signature of the wrong length with `CKR_ARGUMENTS_BAD` from \
         `C_Verify` (the standard: `CKR_SIGNATURE_LEN_RANGE`, which p11 reads as false)",
    },
    Fault {
        module: "nss",
        tests: &["core::asymmetric::ecdsa_on_p256_p384_p521"],
        said: "function: Verify, rv: DataLenRange, mechanism: Some(MechanismType(CKM_ECDSA))",
        what: "NSS answers an ECDSA signature of the wrong length with `CKR_DATA_LEN_RANGE` from \
         `C_Verify` (the standard: `CKR_SIGNATURE_LEN_RANGE`, which p11 reads as false)",
    },
    Fault {
        module: "nss",
        tests: &["core::keygen::aes_keys_of_each_size"],
        said: "generated on the token",
        what: "NSS leaves `CKA_LOCAL` false on keys `C_GenerateKey` made",
    },
    Fault {
        module: "nss",
        tests: &["core::keygen::rsa_key_pairs_with_a_given_public_exponent"],
        said: "function: GenerateKeyPair, rv: ArgumentsBad",
        what: "NSS refuses RSA key generation with the public exponent 3 (`CKR_ARGUMENTS_BAD`)",
    },
    Fault {
        module: "nss",
        tests: &["core::objects::a_wrap_template_round_trips_as_a_nested_template"],
        said: "the module answered with attributes of its own instead of filling the buffers given for them",
        what: "NSS answers a nested template (`CKA_WRAP_TEMPLATE`) by copying its own attribute \
         array, pointers into its memory, over the caller's instead of filling the \
         buffers given; p11 refuses that answer (`Error::InvalidResponse`) rather than \
         read zeros",
    },
    Fault {
        module: "nss",
        tests: &["core::objects::big_integers_and_ulongs_come_back_from_an_rsa_key"],
        said: "function: GetAttributeValue, rv: AttributeTypeInvalid",
        what: "NSS's RSA public keys have no `CKA_MODULUS_BITS` (`CKR_ATTRIBUTE_TYPE_INVALID`)",
    },
    Fault {
        module: "nss",
        tests: &["core::objects::copy_makes_a_new_object_and_destroy_removes_it"],
        said: "assertion failed: size > 0",
        what: "NSS's `C_GetObjectSize` answers 0",
    },
    Fault {
        module: "nss",
        tests: &[],
        said: "function: VerifyInit, rv: MechanismInvalid, mechanism: Some(MechanismType(CKM_AES_CMAC))",
        what: "NSS lists `CKM_AES_CMAC` with `CKF_VERIFY` and signs with it, but `C_VerifyInit` \
         answers `CKR_MECHANISM_INVALID` (the facade checks such MACs itself; the core \
         passes the refusal on)",
    },
    Fault {
        module: "nss",
        tests: &["facade::defaults::private_keys_unwrap_as_private_keys_that_sign"],
        said: "function: UnwrapKey, rv: TemplateIncomplete",
        what: "NSS's `C_UnwrapKey` of an EC private key wrapped with `CKM_AES_KEY_WRAP_PAD` \
         answers `CKR_TEMPLATE_INCOMPLETE` to a template with class, key type, label and \
         the private-key capabilities (SoftHSM and kryoptic take it)",
    },
    Fault {
        module: "nss",
        tests: &["facade::util::domain_parameters_from_der_local_and_stored"],
        said: "function: CreateObject, rv: FunctionFailed",
        what: "NSS keeps no domain-parameter objects: `C_CreateObject` of `CKO_DOMAIN_PARAMETERS` \
         answers `CKR_FUNCTION_FAILED`",
    },
    Fault {
        module: "p11-kit-remote",
        tests: &["core::objects::a_wrap_template_round_trips_as_a_nested_template"],
        said: "function: CreateObject, rv: DeviceError",
        what: "p11-kit 0.24's RPC cannot carry nested templates: `C_CreateObject` with \
         `CKA_WRAP_TEMPLATE` answers `CKR_DEVICE_ERROR`",
    },
    Fault {
        module: "p11-kit-remote",
        tests: &["core::objects::each_value_kind_round_trips_through_a_real_object"],
        said: "function: GetAttributeValue, rv: DeviceError",
        what:
            "p11-kit 0.24's RPC cannot carry `CKA_ALLOWED_MECHANISMS` back: `C_GetAttributeValue` \
         answers `CKR_DEVICE_ERROR`",
    },
    Fault {
        module: "tpm2",
        tests: &[],
        said: "function: GenerateKey, rv: FunctionNotSupported",
        what: "tpm2-pkcs11 1.9 lists `CKM_AES_KEY_GEN` and `CKM_GENERIC_SECRET_KEY_GEN` but `C_GenerateKey` answers `CKR_FUNCTION_NOT_SUPPORTED`",
    },
    Fault {
        module: "tpm2",
        tests: &[],
        said: "function: CreateObject, rv: AttributeValueInvalid",
        what: "tpm2-pkcs11 1.9 creates only RSA public keys and data objects (its log: \"Can only create RSA Public key objects or data objects\"): a secret, private or EC key is `CKR_ATTRIBUTE_VALUE_INVALID`",
    },
    Fault {
        module: "tpm2",
        tests: &[],
        said: "function: GenerateKeyPair, rv: AttributeValueInvalid",
        what: "tpm2-pkcs11 1.9 keeps no session keys: a key pair with `CKA_TOKEN` false is `CKR_ATTRIBUTE_VALUE_INVALID`",
    },
    Fault {
        module: "tpm2",
        tests: &[],
        said: "function: GenerateRandom, rv: GeneralError",
        what: "tpm2-pkcs11 1.9 answers `CKR_GENERAL_ERROR` to the 64- and 128-byte `C_GenerateRandom` draws these tests ask for",
    },
    Fault {
        module: "tpm2",
        tests: &["core::asymmetric::always_authenticate_keys_sign_with_their_pin"],
        said: "C_SignInit with CKM_SHA256_RSA_PKCS failed: CKR_OPERATION_ACTIVE",
        what: "after a signature with the context-specific login, tpm2-pkcs11 1.9 keeps the signing operation active: the next `C_SignInit` answers `CKR_OPERATION_ACTIVE` (seen through p11; without `CKA_ALWAYS_AUTHENTICATE` the same calls sign again)",
    },
    Fault {
        module: "tpm2",
        tests: &["core::asymmetric::ecdsa_on_p256_p384_p521"],
        said: "function: SignInit, rv: HostMemory, mechanism: Some(MechanismType(CKM_ECDSA))",
        what: "tpm2-pkcs11 1.9 generates the EC key pairs but `C_SignInit` with one of them answers `CKR_HOST_MEMORY`",
    },
    Fault {
        module: "tpm2",
        tests: &["core::asymmetric::rsa_pkcs1_oaep_and_raw_encryption"],
        said: "function: Decrypt, rv: GeneralError, mechanism: Some(MechanismType(CKM_RSA_PKCS_OAEP))",
        what: "tpm2-pkcs11 1.9 answers `CKR_GENERAL_ERROR` from `C_Decrypt` with `CKM_RSA_PKCS_OAEP` given a label, on what it encrypted (the default OAEP, SHA-1 without a label, round-trips)",
    },
    Fault {
        module: "tpm2",
        tests: &["core::keygen::rsa_key_pairs_with_a_given_public_exponent"],
        said: "function: GenerateKeyPair, rv: GeneralError",
        what: "tpm2-pkcs11 1.9 refuses RSA key generation with the public exponent 3 (`CKR_GENERAL_ERROR`)",
    },
    Fault {
        module: "tpm2",
        tests: &["core::objects::dropping_a_search_early_does_not_block_the_next"],
        said: "function: CreateObject, rv: GeneralError",
        what: "tpm2-pkcs11 1.9 answers `CKR_GENERAL_ERROR` to `C_CreateObject` of many data objects in a row",
    },
    Fault {
        module: "tpm2",
        tests: &["core::sessions::init_token_on_the_free_slot_makes_a_new_token"],
        said: "!info.flags.contains(TokenFlags::USER_PIN_INITIALIZED)",
        what: "tpm2-pkcs11 1.9 sets `CKF_USER_PIN_INITIALIZED` on a token `C_InitToken` just made, before any `C_InitPIN`",
    },
    Fault {
        module: "tpm2",
        tests: &["core::sessions::so_login_needs_a_read_write_session"],
        said: "on an `Ok` value: AlreadyLoggedIn",
        what: "tpm2-pkcs11 1.9 answers the SO's login on a read-only session with `CKR_USER_ALREADY_LOGGED_IN` (the standard: `CKR_SESSION_READ_ONLY_EXISTS`)",
    },
    Fault {
        module: "tpm2",
        tests: &["core::threads::threads_sharing_a_session_take_turns"],
        said: "function: DigestInit, rv: UserNotLoggedIn",
        what: "tpm2-pkcs11 1.9 digests only in a logged-in session: `C_DigestInit` on a public session answers `CKR_USER_NOT_LOGGED_IN`",
    },
    Fault {
        module: "tpm2",
        tests: &["facade::pool::a_pool_logged_out_behind_its_back_logs_in_again"],
        said: "function: GenerateKeyPair, rv: GeneralError",
        what: "tpm2-pkcs11 1.9 answers `CKR_GENERAL_ERROR` from `C_GenerateKeyPair` of a token key pair made in a fresh session after a logout and login",
    },
    Fault {
        module: "tpm2",
        tests: &["core::objects::copy_makes_a_new_object_and_destroy_removes_it"],
        said: "function: CopyObject, rv: FunctionNotSupported",
        what: "tpm2-pkcs11 1.9 has no `C_CopyObject` (`CKR_FUNCTION_NOT_SUPPORTED`), not even of a data object",
    },
    Fault {
        module: "opensc",
        tests: &[],
        said: "function: GenerateKeyPair, rv: UserNotLoggedIn",
        what: "OpenSC makes keys on an OpenPGP card only with the admin PIN (the SO) logged in, and only into the card's three key slots (`CKA_ID` 01–03); a user's `C_GenerateKeyPair` answers `CKR_USER_NOT_LOGGED_IN`",
    },
    Fault {
        module: "opensc",
        tests: &[],
        said: "function: GenerateKeyPair, rv: FunctionNotSupported",
        what: "OpenSC's OpenPGP card makes RSA-2048 keys only: a 1024-bit `C_GenerateKeyPair` answers `CKR_FUNCTION_NOT_SUPPORTED`",
    },
    Fault {
        module: "opensc",
        tests: &[],
        said: "function: CreateObject, rv: ArgumentsBad",
        what: "OpenSC's OpenPGP card takes no public key, private key or certificate through `C_CreateObject` (`CKR_ARGUMENTS_BAD`)",
    },
    Fault {
        module: "opensc",
        tests: &[],
        said: "function: CreateObject, rv: DeviceMemory",
        what: "the OpenPGP card holds a few data objects only: more answer `CKR_DEVICE_MEMORY`",
    },
    Fault {
        module: "opensc",
        tests: &["core::sessions::init_pin_as_so_sets_the_user_pin"],
        said: "function: InitPIN, rv: FunctionNotSupported",
        what: "OpenSC's OpenPGP card has no `C_InitPIN` (`CKR_FUNCTION_NOT_SUPPORTED`): its PINs change by `C_SetPIN` only",
    },
    Fault {
        module: "tpm2",
        tests: &[],
        said: "CKA_ENCRYPT is Bool(true) where Bool(false) was asked",
        what: "tpm2-pkcs11 1.9 refuses `CKA_ENCRYPT` false on an RSA or EC key pair \
         (`CKR_GENERAL_ERROR`, \"inconsistent attributes\") and, when not told, makes the public \
         key with `CKA_ENCRYPT` true: the facade will not hand out a key that can do more \
         than asked, so it destroys the pair (`Error::InvalidResponse`)",
    },
];

/// A test's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Passed,
    /// It printed why it did not run (a capability probe said no).
    Skipped(String),
    /// Its panic message's first line.
    Failed(String),
}

pub fn compat(names: &[&str]) -> Result<()> {
    let root = crate::system::workspace_root();
    let chosen: Vec<&str> = if names.is_empty() {
        MODULES.to_vec()
    } else {
        names.to_vec()
    };
    for name in &chosen {
        if !MODULES.contains(name) {
            bail!(
                "unknown module {name:?}: compat knows {}",
                MODULES.join(", ")
            );
        }
    }
    let out = run_all(&root, &chosen)?;
    let table = render(&out)?;
    std::fs::write(root.join("docs/compatibility.md"), table)?;
    eprintln!("xtask: wrote docs/compatibility.md");
    unexplained(&out, &chosen)
}

/// `cargo xtask test`'s step: the suites on every module, failing on any failure that is
/// not the module's own (see [`MODULE_FAULTS`]).
pub fn test() -> Result<()> {
    let root = crate::system::workspace_root();
    let out = run_all(&root, &MODULES)?;
    unexplained(&out, &MODULES)
}

/// Runs the suites on each module, keeping the outcomes in target/compat/; that folder.
fn run_all(root: &Path, modules: &[&str]) -> Result<PathBuf> {
    let out = root.join("target/compat");
    std::fs::create_dir_all(&out)?;
    for name in modules {
        eprintln!("xtask: == compat: {name}");
        let base = root.join("target/p11-compat").join(name);
        // Daemons (p11-kit's server, pkcsslotd, ...) run until this module's suites end.
        let (env, _daemons) = module_env(name, &base)?;
        let report = run_module(root, name, &env)?;
        std::fs::write(
            out.join(format!("{name}.json")),
            serde_json::to_string_pretty(&report)?,
        )?;
    }
    Ok(out)
}

impl Fault {
    fn explains(&self, module: &str, test: &str, said: &str) -> bool {
        self.module == module
            && (self.tests.is_empty() || self.tests.contains(&test))
            && said.contains(self.said)
    }
}

/// What the module does, where a failure (of `test`, which said `said`) is its own.
fn module_fault(module: &str, test: &str, said: &str) -> Option<&'static str> {
    MODULE_FAULTS
        .iter()
        .find(|f| f.explains(module, test, said))
        .map(|f| f.what)
}

/// Fails listing each failure of `modules` that [`MODULE_FAULTS`] does not explain; says
/// which listed faults no longer show.
fn unexplained(dir: &Path, modules: &[&str]) -> Result<()> {
    let mut unexplained = Vec::new();
    for module in modules {
        let text = std::fs::read_to_string(dir.join(format!("{module}.json")))?;
        let report: Value = serde_json::from_str(&text)?;
        let tests = report["tests"].as_object().cloned().unwrap_or_default();
        for (test, outcome) in &tests {
            let why = text_of(&outcome["why"]);
            if outcome["outcome"] == "failed" && module_fault(module, test, why).is_none() {
                unexplained.push(format!("{module}: {test}: {why}"));
            }
        }
        for fault in MODULE_FAULTS.iter().filter(|f| f.module == *module) {
            for test in fault.tests {
                if tests.get(*test).is_some_and(|o| o["outcome"] != "failed") {
                    eprintln!(
                        "xtask: {module}: {test} no longer fails: take it out of MODULE_FAULTS"
                    );
                }
            }
        }
    }
    if !unexplained.is_empty() {
        bail!(
            "{} failures are not the modules' own (not in MODULE_FAULTS, xtask/src/compat.rs):\n{}",
            unexplained.len(),
            unexplained.join("\n")
        );
    }
    Ok(())
}

/// The variables that make `name` the suites' test token.
fn module_env(name: &str, base: &Path) -> Result<(TokenEnv, Option<tokens::Server>)> {
    Ok(match name {
        "softhsm" => (tokens::softhsm(base)?, None),
        "nss" => (tokens::nss(base)?.into_test_token(), None),
        "kryoptic" => (tokens::kryoptic(base)?, None),
        "p11-kit-trust" => (tokens::p11_kit_trust(base)?, None),
        "tpm2" => {
            let (env, server) = tokens::tpm2(base)?;
            (env, Some(server))
        }
        "opensc" => {
            let (env, server) = tokens::opensc(base)?;
            (env, Some(server))
        }
        "opencryptoki" => {
            let (env, server) = tokens::opencryptoki(base)?;
            (env, Some(server))
        }
        "p11-kit-remote" => {
            let backend = tokens::softhsm(&base.join("softhsm"))?;
            let (env, server) = tokens::p11_kit_remote(&base.join("server"), &backend)?;
            (env, Some(server))
        }
        other => bail!("no set-up for {other}"),
    })
}

/// Both suites on the module (one test at a time, as kryoptic needs), and what the
/// module says of itself.
fn run_module(root: &Path, name: &str, env: &TokenEnv) -> Result<Value> {
    let about = about(root, env)?;
    let mut tests = BTreeMap::new();
    for suite in ["core", "facade"] {
        let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(root)
            .args(["test", "--package", "p11-tests", "--test", suite])
            // NSS's own tests (core::nss) run in `cargo xtask test`, whatever the module.
            .args(["--", "--test-threads=1", "--show-output", "--skip", "nss::"])
            .env_clear()
            .envs(outside_tokens())
            .envs(env.vars())
            .stderr(Stdio::inherit())
            .output()
            .with_context(|| format!("running the {suite} suite on {name}"))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let outcomes = parse(&stdout);
        if outcomes.is_empty() {
            bail!("the {suite} suite on {name} reported no test:\n{stdout}");
        }
        for (test, outcome) in outcomes {
            tests.insert(format!("{suite}::{test}"), outcome_json(&outcome));
        }
    }
    Ok(json!({ "module": name, "about": about, "tests": tests }))
}

/// This process's environment without any token's variables (`PKCS11_*`, the modules'
/// own), so that a module is tested with exactly what its set-up says.
fn outside_tokens() -> Vec<(String, String)> {
    const TOKEN_VARS: [&str; 8] = [
        "SOFTHSM2_CONF",
        "KRYOPTIC_CONF",
        "P11_KIT_SERVER_ADDRESS",
        "P11_FAULT_MODULE",
        "TPM2_PKCS11_STORE",
        "TPM2_PKCS11_TCTI",
        "TPM2_PKCS11_LOG_LEVEL",
        "DBUS_SESSION_BUS_ADDRESS",
    ];
    std::env::vars()
        .filter(|(name, _)| !name.starts_with("PKCS11_") && !TOKEN_VARS.contains(&name.as_str()))
        .collect()
}

fn outcome_json(outcome: &Outcome) -> Value {
    match outcome {
        Outcome::Passed => json!({ "outcome": "passed" }),
        Outcome::Skipped(why) => json!({ "outcome": "skipped", "why": why }),
        Outcome::Failed(why) => json!({ "outcome": "failed", "why": why }),
    }
}

/// `C_GetInfo` and the mechanism count, through the `p11` command.
fn about(root: &Path, env: &TokenEnv) -> Result<Value> {
    let p11 = |args: &[&str]| -> Result<Value> {
        let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(root)
            .args(["run", "--quiet", "--package", "p11-cli", "--", "--json"])
            .args(args)
            .env_clear()
            .envs(outside_tokens())
            .envs(env.vars())
            .stderr(Stdio::inherit())
            .output()?;
        serde_json::from_slice(&out.stdout)
            .with_context(|| format!("`p11 --json {}` printed no JSON", args.join(" ")))
    };
    let info = p11(&["info"])?;
    let mechanisms = p11(&["mechanisms"])?;
    Ok(json!({
        "description": info["description"],
        "manufacturer": info["manufacturer"],
        "library_version": info["library_version"],
        "cryptoki_version": info["cryptoki_version"],
        "mechanisms": mechanisms.as_array().map_or(0, Vec::len),
    }))
}

/// The outcomes in libtest's output with `--show-output`: the `test NAME ... RESULT`
/// lines, the `skipped` line a passing test printed, a failing test's panic message.
fn parse(stdout: &str) -> BTreeMap<String, Outcome> {
    let mut outcomes = BTreeMap::new();
    for line in stdout.lines() {
        let Some(rest) = line.strip_prefix("test ") else {
            continue;
        };
        let Some((name, result)) = rest.rsplit_once(" ... ") else {
            continue;
        };
        let outcome = match result.trim() {
            "ok" => Outcome::Passed,
            "FAILED" => Outcome::Failed(String::new()),
            _ => continue,
        };
        outcomes.insert(name.to_owned(), outcome);
    }
    // `---- NAME stdout ----` blocks: what each test printed.
    let mut current: Option<String> = None;
    let mut panicked = false;
    for line in stdout.lines() {
        if let Some(name) = line
            .strip_prefix("---- ")
            .and_then(|l| l.strip_suffix(" stdout ----"))
        {
            current = Some(name.to_owned());
            panicked = false;
            continue;
        }
        let Some(name) = &current else { continue };
        let Some(outcome) = outcomes.get_mut(name) else {
            continue;
        };
        match outcome {
            Outcome::Passed if line.contains("skipped") => {
                *outcome = Outcome::Skipped(line.trim().to_owned());
            }
            Outcome::Failed(why) if why.is_empty() => {
                if panicked && !line.trim().is_empty() {
                    *why = line.trim().chars().take(300).collect();
                } else if line.contains("panicked at") {
                    panicked = true;
                }
            }
            _ => {}
        }
    }
    outcomes
}

/// `docs/compatibility.md` from every `target/compat/*.json`.
fn render(dir: &Path) -> Result<String> {
    let mut reports: Vec<Value> = Vec::new();
    for name in MODULES {
        let path: PathBuf = dir.join(format!("{name}.json"));
        if let Ok(text) = std::fs::read_to_string(&path) {
            reports.push(serde_json::from_str(&text)?);
        }
    }
    let mut doc = String::from(
        "# Compatibility\n\n\
         Generated by `cargo xtask compat` from the real-module suites (p11-tests' `core` \
         and `facade`) run against each module on Debian 12; do not edit by hand. Each \
         feature is a group of tests: ✔ every test passed, ✘ one failed (below: what the \
         module does there, as measured), n/a every test skipped by a capability probe (the module \
         lacks the mechanism, function or version), \u{2013} not run.\n\n## Modules\n\n\
         | module | library | Cryptoki | mechanisms |\n|---|---|---|---|\n",
    );
    for report in &reports {
        let about = &report["about"];
        let _ = writeln!(
            doc,
            "| {} | {} {} ({}) | {} | {} |",
            text_of(&report["module"]),
            text_of(&about["description"]),
            text_of(&about["library_version"]),
            text_of(&about["manufacturer"]),
            text_of(&about["cryptoki_version"]),
            about["mechanisms"]
        );
    }
    for (name, why) in NOT_RUN {
        let _ = writeln!(doc, "| {name} | not run here: {why} | | |");
    }
    // Features: the test groups (`core::asymmetric`, ...), in name order.
    let groups: BTreeSet<String> = reports
        .iter()
        .filter_map(|report| report["tests"].as_object())
        .flat_map(|tests| tests.keys().map(|test| group_of(test)))
        .collect();
    doc.push_str("\n## Features\n\n| feature |");
    for report in &reports {
        let _ = write!(doc, " {} |", text_of(&report["module"]));
    }
    for (name, _) in NOT_RUN {
        let _ = write!(doc, " {name} |");
    }
    doc.push_str("\n|---|");
    for _ in 0..reports.len() + NOT_RUN.len() {
        doc.push_str("---|");
    }
    doc.push('\n');
    let mut notes = String::new();
    for group in &groups {
        let _ = write!(doc, "| {group} |");
        for report in &reports {
            let module = text_of(&report["module"]);
            let tests: Vec<(&String, &Value)> = report["tests"]
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(test, _)| group_of(test) == *group)
                .collect();
            let failed: Vec<_> = tests
                .iter()
                .filter(|(_, v)| v["outcome"] == "failed")
                .collect();
            let ran = tests.iter().any(|(_, v)| v["outcome"] == "passed");
            let cell = if tests.is_empty() {
                "\u{2013}".to_owned()
            } else if !failed.is_empty() {
                for (test, v) in &failed {
                    let why = text_of(&v["why"]);
                    let _ = match module_fault(module, test, why) {
                        Some(what) => writeln!(notes, "- **{module}**, `{test}`: {what}."),
                        None => {
                            writeln!(notes, "- **{module}**, `{test}`: **not explained** ({why})")
                        }
                    };
                }
                format!("✘ {}/{}", failed.len(), tests.len())
            } else if ran {
                "✔".to_owned()
            } else {
                "n/a".to_owned()
            };
            let _ = write!(doc, " {cell} |");
        }
        for _ in NOT_RUN {
            doc.push_str(" \u{2013} |");
        }
        doc.push('\n');
    }
    if !notes.is_empty() {
        doc.push_str("\n## What failed, and what the module does\n\n");
        doc.push_str(&notes);
    }
    Ok(doc)
}

/// `core::asymmetric::rsa_...` → `core::asymmetric`.
fn group_of(test: &str) -> String {
    let mut parts = test.splitn(3, "::");
    match (parts.next(), parts.next(), parts.next()) {
        (Some(suite), Some(group), Some(_)) => format!("{suite}::{group}"),
        _ => test.to_owned(),
    }
}

fn text_of(value: &Value) -> &str {
    value.as_str().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libtest_output_gives_passed_skipped_and_failed_tests() {
        let out = "\nrunning 3 tests\ntest a::one ... ok\ntest a::two ... ok\n\
                   test b::three ... FAILED\n\nsuccesses:\n\n---- a::two stdout ----\n\
                   skipped: the token has no CKM_EDDSA\n\n\nfailures:\n\n\
                   ---- b::three stdout ----\n\nthread 'b::three' (1) panicked at x.rs:1:2:\n\
                   called `Result::unwrap()` on an `Err` value: Module\nnote: ...\n";
        let parsed = parse(out);
        assert_eq!(parsed["a::one"], Outcome::Passed);
        assert_eq!(
            parsed["a::two"],
            Outcome::Skipped("skipped: the token has no CKM_EDDSA".into())
        );
        assert_eq!(
            parsed["b::three"],
            Outcome::Failed("called `Result::unwrap()` on an `Err` value: Module".into())
        );
        assert_eq!(group_of("core::a::one"), "core::a");
    }
}
