//! What a mechanism is for: the key types it takes, the operations it serves, whether it
//! works in several parts, its block size and the parameter it expects.

use crate::{KeyType, MechanismType};

bitflags::bitflags! {
    /// The operations a mechanism serves.
    #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
    pub struct Operations: u32 {
        /// `C_Encrypt*`.
        const ENCRYPT = 1 << 0;
        /// `C_Decrypt*`.
        const DECRYPT = 1 << 1;
        /// `C_Sign*` (signatures and MACs).
        const SIGN = 1 << 2;
        /// `C_Verify*`.
        const VERIFY = 1 << 3;
        /// `C_SignRecover`.
        const SIGN_RECOVER = 1 << 4;
        /// `C_VerifyRecover`.
        const VERIFY_RECOVER = 1 << 5;
        /// `C_Digest*`.
        const DIGEST = 1 << 6;
        /// `C_WrapKey`.
        const WRAP = 1 << 7;
        /// `C_UnwrapKey`.
        const UNWRAP = 1 << 8;
        /// `C_DeriveKey`.
        const DERIVE = 1 << 9;
        /// `C_GenerateKey` (keys and domain parameters).
        const GENERATE = 1 << 10;
        /// `C_GenerateKeyPair`.
        const GENERATE_KEY_PAIR = 1 << 11;
    }
}

/// One operation a key is used for: what [`Operations`] holds a set of, named where one
/// is meant — the facade's table of default mechanisms is keyed by it, and errors say
/// which operation a key type has no default for.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// Generating a key or a key pair.
    Generate,
    /// Generating domain parameters.
    GenerateDomainParameters,
    /// Encrypting.
    Encrypt,
    /// Decrypting.
    Decrypt,
    /// Signing (and MACs).
    Sign,
    /// Verifying.
    Verify,
    /// Wrapping another key.
    Wrap,
    /// Unwrapping a key.
    Unwrap,
    /// Deriving a key.
    Derive,
    /// Encapsulating a key (PKCS#11 3.2).
    Encapsulate,
    /// Decapsulating a key (PKCS#11 3.2).
    Decapsulate,
    /// Encrypting messages (PKCS#11 3.0's message-based encryption).
    MessageEncrypt,
    /// Decrypting messages.
    MessageDecrypt,
    /// Signing messages (PKCS#11 3.0's message-based signing).
    MessageSign,
    /// Verifying messages.
    MessageVerify,
    /// Digesting.
    Digest,
    /// Searching for objects (`C_FindObjects*`): a session operation, though no key's.
    Find,
    /// Verifying with the signature given first (PKCS#11 3.0's `C_VerifySignature*`).
    VerifySignature,
}

impl Operation {
    /// Its name in prose: "encryption", "message signing", ...
    pub fn name(self) -> &'static str {
        match self {
            Operation::Generate => "key generation",
            Operation::GenerateDomainParameters => "domain parameter generation",
            Operation::Encrypt => "encryption",
            Operation::Decrypt => "decryption",
            Operation::Sign => "signing",
            Operation::Verify => "verification",
            Operation::Wrap => "wrapping",
            Operation::Unwrap => "unwrapping",
            Operation::Derive => "derivation",
            Operation::Encapsulate => "encapsulation",
            Operation::Decapsulate => "decapsulation",
            Operation::MessageEncrypt => "message encryption",
            Operation::MessageDecrypt => "message decryption",
            Operation::MessageSign => "message signing",
            Operation::MessageVerify => "message verification",
            Operation::Digest => "digest",
            Operation::Find => "search",
            Operation::VerifySignature => "signature verification",
        }
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The parameter a mechanism expects.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParameterKind {
    /// None.
    None,
    /// An IV of the block size.
    Iv,
    /// [`OaepParams`](crate::OaepParams).
    Oaep,
    /// [`PssParams`](crate::PssParams).
    Pss,
    /// [`GcmParams`](crate::GcmParams).
    Gcm,
    /// [`CcmParams`](crate::CcmParams).
    Ccm,
    /// [`CtrParams`](crate::CtrParams).
    Ctr,
    /// [`Ecdh1DeriveParams`](crate::Ecdh1DeriveParams).
    Ecdh1,
    /// [`X942Dh1DeriveParams`](crate::X942Dh1DeriveParams).
    X942Dh1,
    /// [`EddsaParams`](crate::EddsaParams), optional (none means pure Ed25519).
    Eddsa,
    /// The other party's public value, as bytes (`DH_PKCS_DERIVE`).
    PublicValue,
    /// [`KeyDerivationStringData`](crate::KeyDerivationStringData).
    KeyDerivationString,
    /// [`AesCbcEncryptDataParams`](crate::AesCbcEncryptDataParams).
    AesCbcEncryptData,
    /// [`DesCbcEncryptDataParams`](crate::DesCbcEncryptDataParams).
    DesCbcEncryptData,
    /// [`HkdfParams`](crate::HkdfParams).
    Hkdf,
    /// [`Pbkdf2Params`](crate::Pbkdf2Params).
    Pbkdf2,
}

/// What a mechanism is for. See [`MechanismType::profile`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct MechanismProfile {
    /// The key types it takes (empty for digests and for generation mechanisms that take
    /// no key).
    pub key_types: &'static [KeyType],
    /// The operations it serves.
    pub operations: Operations,
    /// Whether `*Update`/`*Final` (streaming) is allowed.
    pub multi_part: bool,
    /// The cipher's block size in bytes, for block ciphers.
    pub block_size: Option<usize>,
    /// The parameter it expects.
    pub parameter: ParameterKind,
}

const AES: &[KeyType] = &[KeyType::AES];
const DES3: &[KeyType] = &[KeyType::DES2, KeyType::DES3];
const RSA: &[KeyType] = &[KeyType::RSA];
const DSA: &[KeyType] = &[KeyType::DSA];
const DH: &[KeyType] = &[KeyType::DH];
const X942: &[KeyType] = &[KeyType::X9_42_DH];
const EC: &[KeyType] = &[KeyType::EC];
const EDWARDS: &[KeyType] = &[KeyType::EC_EDWARDS];
const SECRET: &[KeyType] = &[KeyType::GENERIC_SECRET];
const HMAC: &[KeyType] = &[
    KeyType::GENERIC_SECRET,
    KeyType::SHA_1_HMAC,
    KeyType::SHA224_HMAC,
    KeyType::SHA256_HMAC,
    KeyType::SHA384_HMAC,
    KeyType::SHA512_HMAC,
];
const NONE: &[KeyType] = &[];

impl MechanismType {
    /// What this mechanism is for, for the AES, DES3, RSA, DSA, DH, X9.42 DH, EC, EdDSA,
    /// HMAC, CMAC, digest and key-derivation families; `None` for others.
    ///
    /// ```
    /// use p11_mechanisms::{MechanismType, Operations, ParameterKind};
    ///
    /// let cbc = MechanismType::AES_CBC_PAD.profile().unwrap();
    /// assert!(cbc.operations.contains(Operations::ENCRYPT | Operations::DECRYPT));
    /// assert_eq!((cbc.block_size, cbc.parameter), (Some(16), ParameterKind::Iv));
    /// ```
    pub fn profile(self) -> Option<MechanismProfile> {
        use Operations as O;
        use ParameterKind as P;
        let crypt = O::ENCRYPT | O::DECRYPT;
        let crypt_wrap = crypt | O::WRAP | O::UNWRAP;
        let mac = O::SIGN | O::VERIFY;
        let p = |key_types, operations, multi_part, block_size, parameter| MechanismProfile {
            key_types,
            operations,
            multi_part,
            block_size,
            parameter,
        };
        Some(match self {
            // AES
            Self::AES_KEY_GEN => p(NONE, O::GENERATE, false, None, P::None),
            Self::AES_ECB => p(AES, crypt_wrap, true, Some(16), P::None),
            Self::AES_CBC => p(AES, crypt_wrap, true, Some(16), P::Iv),
            Self::AES_CBC_PAD => p(AES, crypt_wrap, true, Some(16), P::Iv),
            Self::AES_CTR => p(AES, crypt_wrap, true, Some(16), P::Ctr),
            Self::AES_GCM => p(AES, crypt_wrap, true, Some(16), P::Gcm),
            Self::AES_CCM => p(AES, crypt_wrap, true, Some(16), P::Ccm),
            Self::AES_CMAC => p(AES, mac, true, Some(16), P::None),
            Self::AES_KEY_WRAP | Self::AES_KEY_WRAP_PAD | Self::AES_KEY_WRAP_KWP => {
                p(AES, crypt_wrap, false, Some(8), P::None)
            }
            Self::AES_ECB_ENCRYPT_DATA => {
                p(AES, O::DERIVE, false, Some(16), P::KeyDerivationString)
            }
            Self::AES_CBC_ENCRYPT_DATA => p(AES, O::DERIVE, false, Some(16), P::AesCbcEncryptData),
            // DES2/DES3
            Self::DES2_KEY_GEN | Self::DES3_KEY_GEN => p(NONE, O::GENERATE, false, None, P::None),
            Self::DES3_ECB => p(DES3, crypt_wrap, true, Some(8), P::None),
            Self::DES3_CBC | Self::DES3_CBC_PAD => p(DES3, crypt_wrap, true, Some(8), P::Iv),
            Self::DES3_CMAC => p(DES3, mac, true, Some(8), P::None),
            Self::DES3_ECB_ENCRYPT_DATA => {
                p(DES3, O::DERIVE, false, Some(8), P::KeyDerivationString)
            }
            Self::DES3_CBC_ENCRYPT_DATA => p(DES3, O::DERIVE, false, Some(8), P::DesCbcEncryptData),
            // RSA
            Self::RSA_PKCS_KEY_PAIR_GEN => p(NONE, O::GENERATE_KEY_PAIR, false, None, P::None),
            Self::RSA_PKCS | Self::RSA_X_509 => p(
                RSA,
                crypt_wrap | mac | O::SIGN_RECOVER | O::VERIFY_RECOVER,
                false,
                None,
                P::None,
            ),
            Self::RSA_PKCS_OAEP => p(RSA, crypt_wrap, false, None, P::Oaep),
            Self::RSA_PKCS_PSS => p(RSA, mac, false, None, P::Pss),
            Self::SHA1_RSA_PKCS
            | Self::SHA224_RSA_PKCS
            | Self::SHA256_RSA_PKCS
            | Self::SHA384_RSA_PKCS
            | Self::SHA512_RSA_PKCS => p(RSA, mac, true, None, P::None),
            Self::SHA1_RSA_PKCS_PSS
            | Self::SHA224_RSA_PKCS_PSS
            | Self::SHA256_RSA_PKCS_PSS
            | Self::SHA384_RSA_PKCS_PSS
            | Self::SHA512_RSA_PKCS_PSS => p(RSA, mac, true, None, P::Pss),
            // DSA
            Self::DSA_KEY_PAIR_GEN => p(NONE, O::GENERATE_KEY_PAIR, false, None, P::None),
            Self::DSA_PARAMETER_GEN => p(NONE, O::GENERATE, false, None, P::None),
            Self::DSA => p(DSA, mac, false, None, P::None),
            Self::DSA_SHA1
            | Self::DSA_SHA224
            | Self::DSA_SHA256
            | Self::DSA_SHA384
            | Self::DSA_SHA512 => p(DSA, mac, true, None, P::None),
            // Diffie-Hellman
            Self::DH_PKCS_KEY_PAIR_GEN | Self::X9_42_DH_KEY_PAIR_GEN => {
                p(NONE, O::GENERATE_KEY_PAIR, false, None, P::None)
            }
            Self::DH_PKCS_PARAMETER_GEN | Self::X9_42_DH_PARAMETER_GEN => {
                p(NONE, O::GENERATE, false, None, P::None)
            }
            Self::DH_PKCS_DERIVE => p(DH, O::DERIVE, false, None, P::PublicValue),
            Self::X9_42_DH_DERIVE => p(X942, O::DERIVE, false, None, P::X942Dh1),
            // Elliptic curves
            Self::EC_KEY_PAIR_GEN | Self::EC_EDWARDS_KEY_PAIR_GEN => {
                p(NONE, O::GENERATE_KEY_PAIR, false, None, P::None)
            }
            Self::ECDSA => p(EC, mac, false, None, P::None),
            Self::ECDSA_SHA1
            | Self::ECDSA_SHA224
            | Self::ECDSA_SHA256
            | Self::ECDSA_SHA384
            | Self::ECDSA_SHA512 => p(EC, mac, true, None, P::None),
            Self::ECDH1_DERIVE | Self::ECDH1_COFACTOR_DERIVE => {
                p(EC, O::DERIVE, false, None, P::Ecdh1)
            }
            Self::EDDSA => p(EDWARDS, mac, false, None, P::Eddsa),
            // HMAC and generic secrets
            Self::GENERIC_SECRET_KEY_GEN => p(NONE, O::GENERATE, false, None, P::None),
            Self::MD5_HMAC
            | Self::SHA_1_HMAC
            | Self::SHA224_HMAC
            | Self::SHA256_HMAC
            | Self::SHA384_HMAC
            | Self::SHA512_HMAC
            | Self::SHA3_256_HMAC
            | Self::SHA3_512_HMAC => p(HMAC, mac, true, None, P::None),
            // Digests
            Self::MD5
            | Self::SHA_1
            | Self::SHA224
            | Self::SHA256
            | Self::SHA384
            | Self::SHA512
            | Self::SHA512_224
            | Self::SHA512_256
            | Self::SHA3_224
            | Self::SHA3_256
            | Self::SHA3_384
            | Self::SHA3_512 => p(NONE, O::DIGEST, true, None, P::None),
            // Key derivation
            Self::HKDF_DERIVE | Self::HKDF_DATA => p(SECRET, O::DERIVE, false, None, P::Hkdf),
            Self::HKDF_KEY_GEN => p(NONE, O::GENERATE, false, None, P::None),
            Self::PKCS5_PBKD2 => p(NONE, O::GENERATE, false, None, P::Pbkdf2),
            Self::CONCATENATE_BASE_AND_DATA
            | Self::CONCATENATE_DATA_AND_BASE
            | Self::XOR_BASE_AND_DATA => p(SECRET, O::DERIVE, false, None, P::KeyDerivationString),
            Self::SHA1_KEY_DERIVATION
            | Self::SHA224_KEY_DERIVATION
            | Self::SHA256_KEY_DERIVATION
            | Self::SHA384_KEY_DERIVATION
            | Self::SHA512_KEY_DERIVATION => p(SECRET, O::DERIVE, false, None, P::None),
            _ => return None,
        })
    }

    /// The size in bytes of the digest a hash mechanism produces, or a hash-and-sign
    /// mechanism signs; `None` for others.
    pub fn digest_len(self) -> Option<usize> {
        Some(match self {
            Self::MD5 | Self::MD5_HMAC => 16,
            Self::SHA_1 | Self::SHA_1_HMAC | Self::SHA1_RSA_PKCS | Self::SHA1_RSA_PKCS_PSS => 20,
            Self::DSA_SHA1 | Self::ECDSA_SHA1 => 20,
            Self::SHA224
            | Self::SHA224_HMAC
            | Self::SHA224_RSA_PKCS
            | Self::SHA224_RSA_PKCS_PSS => 28,
            Self::SHA512_224 | Self::SHA3_224 | Self::DSA_SHA224 | Self::ECDSA_SHA224 => 28,
            Self::SHA256
            | Self::SHA256_HMAC
            | Self::SHA256_RSA_PKCS
            | Self::SHA256_RSA_PKCS_PSS => 32,
            Self::SHA512_256 | Self::SHA3_256 | Self::SHA3_256_HMAC => 32,
            Self::DSA_SHA256 | Self::ECDSA_SHA256 => 32,
            Self::SHA384
            | Self::SHA384_HMAC
            | Self::SHA384_RSA_PKCS
            | Self::SHA384_RSA_PKCS_PSS => 48,
            Self::SHA3_384 | Self::DSA_SHA384 | Self::ECDSA_SHA384 => 48,
            Self::SHA512
            | Self::SHA512_HMAC
            | Self::SHA512_RSA_PKCS
            | Self::SHA512_RSA_PKCS_PSS => 64,
            Self::SHA3_512 | Self::SHA3_512_HMAC | Self::DSA_SHA512 | Self::ECDSA_SHA512 => 64,
            _ => return None,
        })
    }
}

impl MechanismType {
    /// Whether the output is as long as the key's modulus (RSA encryption and
    /// signatures): a length only the key tells, which p11 reads from it once.
    pub fn output_is_modulus(self) -> bool {
        self.profile().is_some_and(|p| {
            p.key_types == RSA
                && p.operations
                    .intersects(Operations::ENCRYPT | Operations::SIGN)
        })
    }

    /// The block size of a mode that works on whole blocks (ECB, CBC, CBC-PAD), whose
    /// multi-part input p11 passes on in whole blocks: PKCS #11 lets a module take
    /// any length, but NSS's softoken refuses CBC-PAD decryption of other lengths.
    pub fn whole_blocks(self) -> Option<usize> {
        match self {
            Self::AES_ECB | Self::AES_CBC | Self::AES_CBC_PAD => Some(16),
            Self::DES3_ECB | Self::DES3_CBC | Self::DES3_CBC_PAD => Some(8),
            _ => None,
        }
    }

    /// An upper bound on the output of `operation` (one of `ENCRYPT`, `DECRYPT`, `SIGN`,
    /// `DIGEST`, `WRAP`) over `input_len` bytes, when this crate can tell one without
    /// asking the token; `None` otherwise. A buffer of this size takes the result in one
    /// call.
    ///
    /// RSA has none: its output is the modulus's length (see
    /// [`output_is_modulus`](Self::output_is_modulus)). A larger guess lets a module that
    /// reports the room it was given as the length written (tpm2-pkcs11's RSA
    /// encryption) pass garbage off as output.
    pub fn output_bound(self, operation: Operations, input_len: usize) -> Option<usize> {
        let block = |b: usize| input_len.checked_add(b - input_len % b);
        if operation == Operations::DIGEST {
            return self.digest_len();
        }
        if operation == Operations::SIGN {
            return match self {
                Self::AES_CMAC => Some(16),
                Self::DES3_CMAC => Some(8),
                Self::ECDSA
                | Self::ECDSA_SHA1
                | Self::ECDSA_SHA224
                | Self::ECDSA_SHA256
                | Self::ECDSA_SHA384
                | Self::ECDSA_SHA512 => Some(2 * 66),
                Self::DSA
                | Self::DSA_SHA1
                | Self::DSA_SHA224
                | Self::DSA_SHA256
                | Self::DSA_SHA384
                | Self::DSA_SHA512 => Some(2 * 32),
                Self::EDDSA => Some(114),
                _ => self
                    .digest_len()
                    .filter(|_| self.profile().is_some_and(|p| p.key_types == HMAC)),
            };
        }
        if operation == Operations::ENCRYPT || operation == Operations::WRAP {
            return match self {
                Self::AES_ECB | Self::AES_CBC | Self::AES_CTR | Self::DES3_ECB | Self::DES3_CBC => {
                    Some(input_len)
                }
                Self::AES_CBC_PAD => block(16),
                Self::DES3_CBC_PAD => block(8),
                // NSS's ChaCha20-Poly1305 ends the operation on a length query's too-small
                // answer: a bound that covers the tag spares it the query.
                Self::AES_GCM | Self::AES_CCM | Self::CHACHA20_POLY1305 => {
                    input_len.checked_add(16)
                }
                Self::CHACHA20 | Self::SALSA20 => Some(input_len),
                Self::AES_KEY_WRAP => input_len.checked_add(8),
                Self::AES_KEY_WRAP_PAD | Self::AES_KEY_WRAP_KWP => input_len.checked_add(15),
                _ => None,
            };
        }
        if operation == Operations::DECRYPT {
            return match self {
                Self::AES_ECB
                | Self::AES_CBC
                | Self::AES_CBC_PAD
                | Self::AES_CTR
                | Self::AES_GCM
                | Self::AES_CCM
                | Self::CHACHA20_POLY1305
                | Self::CHACHA20
                | Self::SALSA20
                | Self::AES_KEY_WRAP
                | Self::AES_KEY_WRAP_PAD
                | Self::AES_KEY_WRAP_KWP
                | Self::DES3_ECB
                | Self::DES3_CBC
                | Self::DES3_CBC_PAD => Some(input_len),
                _ => None,
            };
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_have_profiles_that_hang_together() {
        let families = [
            MechanismType::AES_GCM,
            MechanismType::DES3_CBC_PAD,
            MechanismType::SHA256_RSA_PKCS_PSS,
            MechanismType::DSA_SHA256,
            MechanismType::DH_PKCS_DERIVE,
            MechanismType::X9_42_DH_DERIVE,
            MechanismType::ECDH1_DERIVE,
            MechanismType::EDDSA,
            MechanismType::SHA256_HMAC,
            MechanismType::AES_CMAC,
            MechanismType::SHA384,
            MechanismType::HKDF_DERIVE,
        ];
        for m in families {
            let profile = m.profile().unwrap_or_else(|| panic!("{m} has no profile"));
            assert!(!profile.operations.is_empty(), "{m}");
            let keyless = profile.operations.intersects(
                Operations::DIGEST | Operations::GENERATE | Operations::GENERATE_KEY_PAIR,
            );
            assert_eq!(profile.key_types.is_empty(), keyless, "{m}");
        }
        assert_eq!(MechanismType::new(0x8000_0001).profile(), None);
    }

    #[test]
    fn single_part_only_mechanisms_say_so() {
        for m in [
            MechanismType::RSA_PKCS,
            MechanismType::ECDSA,
            MechanismType::DSA,
            MechanismType::EDDSA,
        ] {
            assert!(!m.profile().is_some_and(|p| p.multi_part), "{m}");
        }
        for m in [
            MechanismType::SHA256,
            MechanismType::AES_CBC_PAD,
            MechanismType::SHA256_RSA_PKCS,
        ] {
            assert!(m.profile().is_some_and(|p| p.multi_part), "{m}");
        }
    }

    #[test]
    fn output_bounds_cover_the_output() {
        let enc = Operations::ENCRYPT;
        assert_eq!(MechanismType::AES_CBC_PAD.output_bound(enc, 0), Some(16));
        assert_eq!(MechanismType::AES_CBC_PAD.output_bound(enc, 16), Some(32));
        assert_eq!(MechanismType::AES_CBC_PAD.output_bound(enc, 17), Some(32));
        assert_eq!(MechanismType::AES_GCM.output_bound(enc, 5), Some(21));
        assert_eq!(
            MechanismType::CHACHA20_POLY1305.output_bound(enc, 5),
            Some(21)
        );
        assert_eq!(
            MechanismType::CHACHA20_POLY1305.output_bound(Operations::DECRYPT, 21),
            Some(21)
        );
        assert_eq!(
            MechanismType::SHA256.output_bound(Operations::DIGEST, 1 << 20),
            Some(32)
        );
        assert_eq!(
            MechanismType::SHA256_HMAC.output_bound(Operations::SIGN, 3),
            Some(32)
        );
        assert_eq!(
            MechanismType::SHA256_RSA_PKCS.output_bound(Operations::SIGN, 3),
            None,
            "the token tells RSA's length"
        );
        assert_eq!(MechanismType::RSA_PKCS_OAEP.output_bound(enc, 3), None);
        assert_eq!(
            MechanismType::ECDSA.output_bound(Operations::SIGN, 32),
            Some(132)
        );
        assert_eq!(MechanismType::new(0x8000_0001).output_bound(enc, 3), None);
        assert_eq!(MechanismType::SHA256.output_bound(enc, 3), None);
    }

    #[test]
    fn digest_lengths_match_the_hashes() {
        assert_eq!(MechanismType::SHA_1.digest_len(), Some(20));
        assert_eq!(MechanismType::SHA256_RSA_PKCS.digest_len(), Some(32));
        assert_eq!(MechanismType::ECDSA_SHA512.digest_len(), Some(64));
        assert_eq!(MechanismType::AES_CBC.digest_len(), None);
    }
}
