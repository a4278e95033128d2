//! PKCS#11 mechanisms: what a token can do, named, described, and parameterised.
//!
//! [`MechanismType`] and [`KeyType`] are open newtypes: every `CKM_`/`CKK_` of the
//! PKCS#11 3.2 headers is a named constant, and any other value (a vendor's) is kept as
//! the number it is.
//!
//! ```
//! use p11_mechanisms::MechanismType;
//!
//! let m: MechanismType = "CKM_AES_CBC_PAD".parse()?;
//! assert_eq!(m, MechanismType::AES_CBC_PAD);
//! assert_eq!(m.to_string(), "CKM_AES_CBC_PAD");
//! let vendor = MechanismType::new(0x8000_1234);
//! assert_eq!(vendor.to_string(), "CKM_VENDOR_DEFINED+0x1234");
//! assert_eq!(vendor.to_string().parse::<MechanismType>()?, vendor);
//! # Ok::<(), p11_mechanisms::UnknownName>(())
//! ```
#![deny(missing_docs)]
#![warn(clippy::missing_errors_doc)]

mod kdf;
mod keyed;
mod mechanism;
mod message;
#[doc(hidden)]
pub mod open_enum;
mod parameter_sets;
mod params;
mod profile;
mod stream;

mod generated {
    pub(crate) mod kdfs;
    pub(crate) mod key_types;
    pub(crate) mod mechanism_types;
    pub(crate) mod mgfs;
    pub(crate) mod ml_dsa_parameter_sets;
    pub(crate) mod ml_kem_parameter_sets;
    pub(crate) mod prfs;
    pub(crate) mod slh_dsa_parameter_sets;
}

pub use kdf::{CounterFormat, DkmLength, PrfData, Sp800108FeedbackParams, Sp800108Params};
pub use keyed::{
    EcmqvDeriveParams, ExtractParams, KeyHandle, SecondPair, X942Dh2DeriveParams,
    X942MqvDeriveParams,
};
pub use mechanism::{Mechanism, Parameter, ParameterError, StructParameter};
pub use message::{
    CcmMessageParams, ChaCha20Poly1305MessageParams, GcmMessageParams, IvGenerator,
    MessageParameter, NoMessageParameter,
};
pub use open_enum::UnknownName;
use p11_sys::{CKK_VENDOR_DEFINED, CKM_VENDOR_DEFINED, CK_KEY_TYPE, CK_MECHANISM_TYPE};
pub use parameter_sets::{MlDsaParameterSet, MlKemParameterSet, SlhDsaParameterSet};
pub use params::{
    AesCbcEncryptDataParams, CcmParams, CtrParams, DesCbcEncryptDataParams, Ecdh1DeriveParams,
    EddsaParams, GcmParams, HashSignAdditionalContext, Hedge, HkdfParams, HkdfSalt, Kdf,
    KeyDerivationStringData, Mgf, OaepParams, Pbkdf2Params, Pbkdf2Prf, PssParams,
    SignAdditionalContext, X942Dh1DeriveParams,
};
pub use profile::{MechanismProfile, Operation, Operations, ParameterKind};
pub use stream::{ChaCha20Params, ChaCha20Poly1305Params, Salsa20Params};

open_enum!(
    /// A PKCS#11 mechanism type (`CK_MECHANISM_TYPE`), standard or vendor-defined.
    MechanismType: CK_MECHANISM_TYPE, "CKM_", "mechanism", CKM_VENDOR_DEFINED,
    generated::mechanism_types::NAMES
);

open_enum!(
    /// A PKCS#11 key type (`CK_KEY_TYPE`), standard or vendor-defined.
    KeyType: CK_KEY_TYPE, "CKK_", "key type", CKK_VENDOR_DEFINED,
    generated::key_types::NAMES
);

#[cfg(test)]
mod tests {
    use super::*;
    use generated::mechanism_types::NAMES;

    #[test]
    fn every_standard_name_round_trips() {
        for (name, value) in NAMES {
            let parsed: MechanismType = name.parse().unwrap_or(MechanismType(!0));
            assert_eq!(parsed.raw(), *value, "{name}");
        }
    }

    #[test]
    fn aliases_display_as_their_canonical_name() {
        assert_eq!(
            MechanismType::ECDSA_KEY_PAIR_GEN.to_string(),
            "CKM_EC_KEY_PAIR_GEN"
        );
        assert_eq!(
            MechanismType::DSA_PROBABLISTIC_PARAMETER_GEN.to_string(),
            "CKM_DSA_PROBABILISTIC_PARAMETER_GEN"
        );
        assert_eq!(KeyType::ECDSA.to_string(), "CKK_EC");
    }

    #[test]
    fn unnamed_values_display_as_numbers_and_parse_back() {
        for raw in [0x7fff_fff0, 0x8000_0000 + 42, 0xffff_ffff] {
            let m = MechanismType::new(raw);
            assert_eq!(m.name(), None);
            assert_eq!(m.to_string().parse::<MechanismType>(), Ok(m));
        }
        assert!(MechanismType::new(0x8000_0001).is_vendor_defined());
        assert!(!MechanismType::AES_CBC.is_vendor_defined());
        assert_eq!(
            KeyType::new(0x8000_0002).to_string(),
            "CKK_VENDOR_DEFINED+0x2"
        );
        assert_eq!(format!("{:?}", KeyType::AES), "KeyType(CKK_AES)");
    }

    #[test]
    fn nonsense_does_not_parse() {
        for text in [
            "",
            "CKM_NOPE",
            "CKM_VENDOR_DEFINED+zz",
            "0xZZ",
            "aes",
            "CKK_AES",
        ] {
            assert!(text.parse::<MechanismType>().is_err(), "{text}");
        }
        let err = "CKM_NOPE".parse::<MechanismType>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown mechanism \"CKM_NOPE\": expected a CKM_ name, CKM_VENDOR_DEFINED+0x…, or a number"
        );
    }
}

/// The crate README's example, compiled as a doc test (it ships with the package).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
