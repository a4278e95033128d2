//! The parameter sets of the post-quantum key types (`CKA_PARAMETER_SET`): each family
//! numbers its own from 1, so each has its own type.

use p11_sys::{
    CK_ML_DSA_PARAMETER_SET_TYPE, CK_ML_KEM_PARAMETER_SET_TYPE, CK_SLH_DSA_PARAMETER_SET_TYPE,
};

crate::open_enum!(
    /// An ML-KEM parameter set (`CK_ML_KEM_PARAMETER_SET_TYPE`): `ML_KEM_512`,
    /// `ML_KEM_768`, `ML_KEM_1024`.
    MlKemParameterSet: CK_ML_KEM_PARAMETER_SET_TYPE, "CKP_", "ML-KEM parameter set", u64::MAX,
    crate::generated::ml_kem_parameter_sets::NAMES
);

crate::open_enum!(
    /// An ML-DSA parameter set (`CK_ML_DSA_PARAMETER_SET_TYPE`): `ML_DSA_44`,
    /// `ML_DSA_65`, `ML_DSA_87`.
    MlDsaParameterSet: CK_ML_DSA_PARAMETER_SET_TYPE, "CKP_", "ML-DSA parameter set", u64::MAX,
    crate::generated::ml_dsa_parameter_sets::NAMES
);

crate::open_enum!(
    /// An SLH-DSA parameter set (`CK_SLH_DSA_PARAMETER_SET_TYPE`): `SLH_DSA_SHA2_128S`,
    /// ..., `SLH_DSA_SHAKE_256F`.
    SlhDsaParameterSet: CK_SLH_DSA_PARAMETER_SET_TYPE, "CKP_", "SLH-DSA parameter set", u64::MAX,
    crate::generated::slh_dsa_parameter_sets::NAMES
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_sets_print_and_parse_by_name() {
        assert_eq!(MlKemParameterSet::ML_KEM_768.to_string(), "CKP_ML_KEM_768");
        assert_eq!(
            "CKP_ML_DSA_65".parse::<MlDsaParameterSet>(),
            Ok(MlDsaParameterSet::ML_DSA_65)
        );
        assert_eq!(SlhDsaParameterSet::SLH_DSA_SHAKE_256F.raw(), 12);
        // Families number from 1 each: the same number, different sets.
        assert_eq!(
            MlKemParameterSet::ML_KEM_768.raw(),
            MlDsaParameterSet::ML_DSA_65.raw()
        );
    }
}
