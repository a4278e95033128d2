//! python-pkcs11's defaults per key type, with the deviations this crate makes on
//! purpose (each marked).

use p11_core::{KeyType, MechanismType as M};

bitflags::bitflags! {
    /// What a key may be used for: the `CKA_ENCRYPT`, `CKA_SIGN`, ... flags set at
    /// generation.
    #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
    pub struct Capabilities: u16 {
        /// Encrypt.
        const ENCRYPT = 1 << 0;
        /// Decrypt.
        const DECRYPT = 1 << 1;
        /// Sign (and MAC).
        const SIGN = 1 << 2;
        /// Verify.
        const VERIFY = 1 << 3;
        /// Wrap other keys.
        const WRAP = 1 << 4;
        /// Unwrap keys.
        const UNWRAP = 1 << 5;
        /// Derive keys.
        const DERIVE = 1 << 6;
        /// Encapsulate a new key to the holder of the private key (PKCS#11 3.2, ML-KEM).
        const ENCAPSULATE = 1 << 7;
        /// Decapsulate a key sent to this private key (PKCS#11 3.2, ML-KEM).
        const DECAPSULATE = 1 << 8;
    }
}

impl Capabilities {
    /// The capabilities whose attributes only PKCS#11 3.2 modules know: p11 sets them
    /// when asked and otherwise leaves them out, so that older modules are not handed
    /// an attribute they refuse.
    pub const PKCS11_3_2: Capabilities = Capabilities::ENCAPSULATE.union(Capabilities::DECAPSULATE);
}

/// The defaults for one key type.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct KeyDefaults {
    /// The key (or key pair) generation mechanism.
    pub generate: M,
    /// The capabilities a generated key gets.
    pub capabilities: Capabilities,
    /// The mechanism for encrypt/decrypt.
    pub encrypt: Option<M>,
    /// The mechanism for sign/verify.
    pub sign: Option<M>,
    /// The mechanism for wrap/unwrap.
    pub wrap: Option<M>,
    /// The mechanism for derive.
    pub derive: Option<M>,
    /// The mechanism for encapsulate/decapsulate.
    pub encapsulate: Option<M>,
    /// The domain-parameter generation mechanism.
    pub parameters: Option<M>,
}

/// The defaults for `key_type`, or `None` for a type this table does not cover.
///
/// | key type | generate | capabilities | encrypt | sign | wrap | derive | parameters |
/// |---|---|---|---|---|---|---|---|
/// | AES | AES_KEY_GEN | encrypt, decrypt, sign, verify, wrap, unwrap | AES_CBC_PAD | **AES_CMAC** | AES_KEY_WRAP | – | – |
/// | DES2, DES3 | DES2/DES3_KEY_GEN | as AES | DES3_CBC_PAD | **DES3_CMAC** | DES3_ECB | – | – |
/// | RSA | RSA_PKCS_KEY_PAIR_GEN | encrypt, decrypt, sign, verify, wrap, unwrap | RSA_PKCS_OAEP | SHA512_RSA_PKCS | RSA_PKCS_OAEP | – | – |
/// | DSA | DSA_KEY_PAIR_GEN | sign, verify | – | DSA_SHA512 | – | – | DSA_PARAMETER_GEN |
/// | EC | EC_KEY_PAIR_GEN | sign, verify, derive | – | ECDSA_SHA512 | – | ECDH1_DERIVE | – |
/// | EC_EDWARDS | EC_EDWARDS_KEY_PAIR_GEN | sign, verify | – | EDDSA | – | – | – |
/// | DH | DH_PKCS_KEY_PAIR_GEN | derive | – | – | – | DH_PKCS_DERIVE | DH_PKCS_PARAMETER_GEN |
/// | X9_42_DH | X9_42_DH_KEY_PAIR_GEN | **derive** | – | – | – | X9_42_DH_DERIVE | X9_42_DH_PARAMETER_GEN |
/// | GENERIC_SECRET | GENERIC_SECRET_KEY_GEN | **sign, verify, derive** | – | SHA256_HMAC | – | – | – |
/// | ML_DSA | ML_DSA_KEY_PAIR_GEN | sign, verify | – | ML_DSA | – | – | – |
/// | SLH_DSA | **SLH_DSA_KEY_PAIR_GEN** | **sign, verify** | – | **SLH_DSA** | – | – | – |
/// | ML_KEM | ML_KEM_KEY_PAIR_GEN | encapsulate, decapsulate | – | – | – | – | – |
///
/// ML-KEM keys encapsulate with ML_KEM. The post-quantum key types take their size from
/// `CKA_PARAMETER_SET` (python-pkcs11 0.10.1 has ML-DSA and ML-KEM; SLH-DSA is p11's).
///
/// Deviations from python-pkcs11, in bold: CMAC instead of CBC-MAC for AES and DES3
/// (CBC-MAC is unsafe for messages of varying length, and SoftHSM lacks it); X9.42 DH
/// keys and generic secrets get usable capabilities instead of none.
pub fn key_defaults(key_type: KeyType) -> Option<KeyDefaults> {
    use Capabilities as C;
    let symmetric = C::ENCRYPT | C::DECRYPT | C::SIGN | C::VERIFY | C::WRAP | C::UNWRAP;
    let d = |generate, capabilities, encrypt, sign, wrap, derive, parameters| KeyDefaults {
        generate,
        capabilities,
        encrypt,
        sign,
        wrap,
        derive,
        encapsulate: None,
        parameters,
    };
    let signing = |generate, sign| {
        d(
            generate,
            C::SIGN | C::VERIFY,
            None,
            Some(sign),
            None,
            None,
            None,
        )
    };
    Some(match key_type {
        KeyType::AES => d(
            M::AES_KEY_GEN,
            symmetric,
            Some(M::AES_CBC_PAD),
            Some(M::AES_CMAC),
            Some(M::AES_KEY_WRAP),
            None,
            None,
        ),
        KeyType::DES2 => d(
            M::DES2_KEY_GEN,
            symmetric,
            Some(M::DES3_CBC_PAD),
            Some(M::DES3_CMAC),
            Some(M::DES3_ECB),
            None,
            None,
        ),
        KeyType::DES3 => d(
            M::DES3_KEY_GEN,
            symmetric,
            Some(M::DES3_CBC_PAD),
            Some(M::DES3_CMAC),
            Some(M::DES3_ECB),
            None,
            None,
        ),
        KeyType::RSA => d(
            M::RSA_PKCS_KEY_PAIR_GEN,
            symmetric,
            Some(M::RSA_PKCS_OAEP),
            Some(M::SHA512_RSA_PKCS),
            Some(M::RSA_PKCS_OAEP),
            None,
            None,
        ),
        KeyType::DSA => d(
            M::DSA_KEY_PAIR_GEN,
            C::SIGN | C::VERIFY,
            None,
            Some(M::DSA_SHA512),
            None,
            None,
            Some(M::DSA_PARAMETER_GEN),
        ),
        KeyType::EC => d(
            M::EC_KEY_PAIR_GEN,
            C::SIGN | C::VERIFY | C::DERIVE,
            None,
            Some(M::ECDSA_SHA512),
            None,
            Some(M::ECDH1_DERIVE),
            None,
        ),
        KeyType::EC_EDWARDS => d(
            M::EC_EDWARDS_KEY_PAIR_GEN,
            C::SIGN | C::VERIFY,
            None,
            Some(M::EDDSA),
            None,
            None,
            None,
        ),
        KeyType::DH => d(
            M::DH_PKCS_KEY_PAIR_GEN,
            C::DERIVE,
            None,
            None,
            None,
            Some(M::DH_PKCS_DERIVE),
            Some(M::DH_PKCS_PARAMETER_GEN),
        ),
        KeyType::X9_42_DH => d(
            M::X9_42_DH_KEY_PAIR_GEN,
            C::DERIVE,
            None,
            None,
            None,
            Some(M::X9_42_DH_DERIVE),
            Some(M::X9_42_DH_PARAMETER_GEN),
        ),
        KeyType::GENERIC_SECRET => d(
            M::GENERIC_SECRET_KEY_GEN,
            C::SIGN | C::VERIFY | C::DERIVE,
            None,
            Some(M::SHA256_HMAC),
            None,
            None,
            None,
        ),
        KeyType::ML_DSA => signing(M::ML_DSA_KEY_PAIR_GEN, M::ML_DSA),
        KeyType::SLH_DSA => signing(M::SLH_DSA_KEY_PAIR_GEN, M::SLH_DSA),
        KeyType::ML_KEM => KeyDefaults {
            encapsulate: Some(M::ML_KEM),
            ..d(
                M::ML_KEM_KEY_PAIR_GEN,
                C::ENCAPSULATE | C::DECAPSULATE,
                None,
                None,
                None,
                None,
                None,
            )
        },
        _ => return None,
    })
}
