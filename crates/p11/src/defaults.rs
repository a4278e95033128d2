//! python-pkcs11's defaults per key type, with the deviations this crate makes on
//! purpose (each marked). The table the docs show is the one the code reads: a test
//! parses `defaults.md` and compares every cell.

use p11_core::{KeyType, MechanismType as M, Operation};

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

/// One row of the table.
#[derive(Copy, Clone)]
struct Row {
    generate: M,
    capabilities: Capabilities,
    encrypt: Option<M>,
    sign: Option<M>,
    wrap: Option<M>,
    derive: Option<M>,
    encapsulate: Option<M>,
    parameters: Option<M>,
    message_encrypt: Option<M>,
}

/// The mechanism p11 uses for `operation` on a key of `key_type` when the caller gives
/// none, or `None` where it has no default (give a mechanism with `with_mechanism`).
/// Every facade operation that takes no mechanism uses this table; python-pkcs11's
/// defaults are kept, and p11's deviations are in bold:
///
#[doc = include_str!("defaults.md")]
///
/// Decrypt, verify, unwrap and decapsulate take the mechanism of their counterpart;
/// message-based signing takes the signing one. The post-quantum key types take their
/// size from `CKA_PARAMETER_SET` (python-pkcs11 0.10.1 has ML-DSA and ML-KEM; SLH-DSA
/// and ChaCha20 are p11's). Why the deviations: CMAC instead of CBC-MAC for AES and
/// DES3 (CBC-MAC is unsafe for messages of varying length, and SoftHSM lacks it);
/// X9.42 DH keys and generic secrets get usable capabilities instead of none; messages
/// are authenticated (AES-GCM, ChaCha20-Poly1305).
///
/// ```
/// use p11::{default_mechanism, KeyType, MechanismType, Operation};
/// // python-pkcs11's choice, kept: ECDSA with SHA-512 (rustls and the RustCrypto
/// // signers name their own hash).
/// assert_eq!(default_mechanism(KeyType::EC, Operation::Sign), Some(MechanismType::ECDSA_SHA512));
/// assert_eq!(default_mechanism(KeyType::EC, Operation::Encrypt), None);
/// ```
pub fn default_mechanism(key_type: KeyType, operation: Operation) -> Option<M> {
    let row = row(key_type)?;
    match operation {
        Operation::Generate => Some(row.generate),
        Operation::GenerateDomainParameters => row.parameters,
        Operation::Encrypt | Operation::Decrypt => row.encrypt,
        Operation::Sign | Operation::Verify | Operation::MessageSign | Operation::MessageVerify => {
            row.sign
        }
        Operation::Wrap | Operation::Unwrap => row.wrap,
        Operation::Derive => row.derive,
        Operation::Encapsulate | Operation::Decapsulate => row.encapsulate,
        Operation::MessageEncrypt | Operation::MessageDecrypt => row.message_encrypt,
        _ => None,
    }
}

/// The capabilities a key of `key_type` gets when the caller names none (the table of
/// [`default_mechanism`]), or `None` for a type the table does not cover.
pub fn default_capabilities(key_type: KeyType) -> Option<Capabilities> {
    row(key_type).map(|row| row.capabilities)
}

fn row(key_type: KeyType) -> Option<Row> {
    use Capabilities as C;
    let symmetric = C::ENCRYPT | C::DECRYPT | C::SIGN | C::VERIFY | C::WRAP | C::UNWRAP;
    let none = |generate, capabilities| Row {
        generate,
        capabilities,
        encrypt: None,
        sign: None,
        wrap: None,
        derive: None,
        encapsulate: None,
        parameters: None,
        message_encrypt: None,
    };
    let des = |generate| Row {
        encrypt: Some(M::DES3_CBC_PAD),
        sign: Some(M::DES3_CMAC),
        wrap: Some(M::DES3_ECB),
        ..none(generate, symmetric)
    };
    let signing = |generate, sign| Row {
        sign: Some(sign),
        ..none(generate, C::SIGN | C::VERIFY)
    };
    Some(match key_type {
        KeyType::AES => Row {
            encrypt: Some(M::AES_CBC_PAD),
            sign: Some(M::AES_CMAC),
            wrap: Some(M::AES_KEY_WRAP),
            message_encrypt: Some(M::AES_GCM),
            ..none(M::AES_KEY_GEN, symmetric)
        },
        KeyType::DES2 => des(M::DES2_KEY_GEN),
        KeyType::DES3 => des(M::DES3_KEY_GEN),
        KeyType::CHACHA20 => Row {
            message_encrypt: Some(M::CHACHA20_POLY1305),
            ..none(M::CHACHA20_KEY_GEN, C::ENCRYPT | C::DECRYPT)
        },
        KeyType::RSA => Row {
            encrypt: Some(M::RSA_PKCS_OAEP),
            sign: Some(M::SHA512_RSA_PKCS),
            wrap: Some(M::RSA_PKCS_OAEP),
            ..none(M::RSA_PKCS_KEY_PAIR_GEN, symmetric)
        },
        KeyType::DSA => Row {
            parameters: Some(M::DSA_PARAMETER_GEN),
            ..signing(M::DSA_KEY_PAIR_GEN, M::DSA_SHA512)
        },
        KeyType::EC => Row {
            sign: Some(M::ECDSA_SHA512),
            derive: Some(M::ECDH1_DERIVE),
            ..none(M::EC_KEY_PAIR_GEN, C::SIGN | C::VERIFY | C::DERIVE)
        },
        KeyType::EC_EDWARDS => signing(M::EC_EDWARDS_KEY_PAIR_GEN, M::EDDSA),
        // Not in python-pkcs11: X25519 and X448 for key agreement.
        KeyType::EC_MONTGOMERY => Row {
            derive: Some(M::ECDH1_DERIVE),
            ..none(M::EC_MONTGOMERY_KEY_PAIR_GEN, C::DERIVE)
        },
        KeyType::DH => Row {
            derive: Some(M::DH_PKCS_DERIVE),
            parameters: Some(M::DH_PKCS_PARAMETER_GEN),
            ..none(M::DH_PKCS_KEY_PAIR_GEN, C::DERIVE)
        },
        KeyType::X9_42_DH => Row {
            derive: Some(M::X9_42_DH_DERIVE),
            parameters: Some(M::X9_42_DH_PARAMETER_GEN),
            ..none(M::X9_42_DH_KEY_PAIR_GEN, C::DERIVE)
        },
        KeyType::GENERIC_SECRET => Row {
            sign: Some(M::SHA256_HMAC),
            ..none(M::GENERIC_SECRET_KEY_GEN, C::SIGN | C::VERIFY | C::DERIVE)
        },
        KeyType::ML_DSA => signing(M::ML_DSA_KEY_PAIR_GEN, M::ML_DSA),
        KeyType::SLH_DSA => signing(M::SLH_DSA_KEY_PAIR_GEN, M::SLH_DSA),
        KeyType::ML_KEM => Row {
            encapsulate: Some(M::ML_KEM),
            ..none(M::ML_KEM_KEY_PAIR_GEN, C::ENCAPSULATE | C::DECAPSULATE)
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    /// The operation each column of `defaults.md` from the fourth on shows.
    const COLUMNS: [Operation; 7] = [
        Operation::Encrypt,
        Operation::Sign,
        Operation::Wrap,
        Operation::Derive,
        Operation::Encapsulate,
        Operation::GenerateDomainParameters,
        Operation::MessageEncrypt,
    ];

    fn mechanism(cell: &str) -> Option<M> {
        let name = cell.trim().trim_matches('*');
        (name != "–").then(|| M::from_str(&format!("CKM_{name}")).unwrap())
    }

    fn capabilities(cell: &str) -> Capabilities {
        cell.trim()
            .trim_matches('*')
            .split(", ")
            .map(|name| Capabilities::from_name(&name.to_uppercase()).unwrap())
            .fold(Capabilities::empty(), |all, one| all | one)
    }

    #[test]
    fn the_documented_table_is_the_one_used() {
        let table = include_str!("defaults.md");
        let mut rows = 0;
        for line in table.lines().skip(2) {
            let cells: Vec<&str> = line.trim_matches('|').split('|').collect();
            assert_eq!(cells.len(), 10, "{line}");
            let key_type = KeyType::from_str(&format!("CKK_{}", cells[0].trim())).unwrap();
            assert_eq!(
                default_mechanism(key_type, Operation::Generate),
                mechanism(cells[1]),
                "{key_type} generate"
            );
            assert_eq!(
                default_capabilities(key_type),
                Some(capabilities(cells[2])),
                "{key_type} capabilities"
            );
            for (operation, cell) in COLUMNS.iter().zip(&cells[3..]) {
                assert_eq!(
                    default_mechanism(key_type, *operation),
                    mechanism(cell),
                    "{key_type} {operation}"
                );
            }
            rows += 1;
        }
        // Every key type with defaults has its row.
        let covered = (0..0x50u64)
            .map(KeyType::new)
            .filter(|t| default_capabilities(*t).is_some())
            .count();
        assert_eq!(rows, covered);
    }

    #[test]
    fn counterparts_share_their_mechanism() {
        let pairs = [
            (Operation::Encrypt, Operation::Decrypt),
            (Operation::Sign, Operation::Verify),
            (Operation::Sign, Operation::MessageSign),
            (Operation::Sign, Operation::MessageVerify),
            (Operation::Wrap, Operation::Unwrap),
            (Operation::Encapsulate, Operation::Decapsulate),
            (Operation::MessageEncrypt, Operation::MessageDecrypt),
        ];
        for key_type in [KeyType::AES, KeyType::RSA, KeyType::EC, KeyType::ML_KEM] {
            for (one, other) in pairs {
                assert_eq!(
                    default_mechanism(key_type, one),
                    default_mechanism(key_type, other)
                );
            }
        }
    }
}
