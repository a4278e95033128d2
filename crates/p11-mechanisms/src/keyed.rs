//! Parameters that name other keys by handle: `CONCATENATE_BASE_AND_KEY`'s second key,
//! `EXTRACT_KEY_FROM_KEY`'s bit index, and the two-key agreements (X9.42 DH2 and MQV,
//! ECMQV), which take a second key pair besides the base key.

use crate::params::{ptr_or_null, ulong, with_kdf};
use crate::Kdf;
use p11_sys::*;
use std::marker::PhantomData;

/// A key named inside a mechanism parameter, by its handle (p11-core's `Object` and
/// `ObjectHandle` convert into it).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct KeyHandle(CK_OBJECT_HANDLE);

impl KeyHandle {
    /// The key with this raw handle, as the module gave it.
    pub const fn from_ck(handle: CK_OBJECT_HANDLE) -> Self {
        KeyHandle(handle)
    }

    /// The raw handle.
    pub const fn ck(self) -> CK_OBJECT_HANDLE {
        self.0
    }

    /// The C value: `CONCATENATE_BASE_AND_KEY`'s parameter is the second key's handle.
    pub fn as_raw(&self) -> &CK_OBJECT_HANDLE {
        &self.0
    }
}

/// `EXTRACT_KEY_FROM_KEY`'s parameter (`CK_EXTRACT_PARAMS`): the bit of the base key's
/// value the new key starts at (the new key's length comes from its template; the bits
/// wrap around the base key's end).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(transparent)]
pub struct ExtractParams(CK_EXTRACT_PARAMS);

impl ExtractParams {
    /// Starting at bit `bit` (0 is the first byte's most significant bit).
    pub fn new(bit: u32) -> Self {
        ExtractParams(CK_EXTRACT_PARAMS::from(bit))
    }

    /// The C value.
    pub fn as_raw(&self) -> &CK_EXTRACT_PARAMS {
        &self.0
    }
}

/// The second key pair of a two-key agreement: the other party's second public value,
/// and this party's second private key with its length in bytes.
#[derive(Copy, Clone, Debug)]
pub struct SecondPair<'a> {
    /// The other party's second public value (an X9.42 `y`, an EC point).
    pub public_data: &'a [u8],
    /// This party's second private key.
    pub private_key: KeyHandle,
    /// Its length in bytes.
    pub private_len: usize,
}

/// X9.42 DH with two key pairs (`X9_42_DH_HYBRID_DERIVE`; `CK_X9_42_DH2_DERIVE_PARAMS`).
#[derive(Clone, Copy, Debug)]
#[repr(transparent)]
pub struct X942Dh2DeriveParams<'a> {
    raw: CK_X9_42_DH2_DERIVE_PARAMS,
    _buffers: PhantomData<&'a [u8]>,
}

impl<'a> X942Dh2DeriveParams<'a> {
    /// With the other party's first public value, the second pair, and no KDF.
    pub fn new(public_data: &'a [u8], second: SecondPair<'a>) -> Self {
        X942Dh2DeriveParams {
            raw: CK_X9_42_DH2_DERIVE_PARAMS {
                kdf: CKD_NULL,
                ulOtherInfoLen: 0,
                pOtherInfo: std::ptr::null_mut(),
                ulPublicDataLen: ulong(public_data.len()),
                pPublicData: ptr_or_null(public_data),
                ulPrivateDataLen: ulong(second.private_len),
                hPrivateData: second.private_key.ck(),
                ulPublicDataLen2: ulong(second.public_data.len()),
                pPublicData2: ptr_or_null(second.public_data),
            },
            _buffers: PhantomData,
        }
    }

    with_kdf!(
        /// With a KDF and its "other info".
        pOtherInfo,
        ulOtherInfoLen
    );

    /// The C struct.
    pub fn as_raw(&self) -> &CK_X9_42_DH2_DERIVE_PARAMS {
        &self.raw
    }
}

/// X9.42 MQV (`X9_42_MQV_DERIVE`; `CK_X9_42_MQV_DERIVE_PARAMS`): as DH2, and this
/// party's second public key.
#[derive(Clone, Copy, Debug)]
#[repr(transparent)]
pub struct X942MqvDeriveParams<'a> {
    raw: CK_X9_42_MQV_DERIVE_PARAMS,
    _buffers: PhantomData<&'a [u8]>,
}

impl<'a> X942MqvDeriveParams<'a> {
    /// With the other party's first public value, the second pair and its public key,
    /// and no KDF.
    pub fn new(public_data: &'a [u8], second: SecondPair<'a>, second_public: KeyHandle) -> Self {
        let dh2 = X942Dh2DeriveParams::new(public_data, second).raw;
        X942MqvDeriveParams {
            raw: CK_X9_42_MQV_DERIVE_PARAMS {
                kdf: dh2.kdf,
                ulOtherInfoLen: dh2.ulOtherInfoLen,
                pOtherInfo: dh2.pOtherInfo,
                ulPublicDataLen: dh2.ulPublicDataLen,
                pPublicData: dh2.pPublicData,
                ulPrivateDataLen: dh2.ulPrivateDataLen,
                hPrivateData: dh2.hPrivateData,
                ulPublicDataLen2: dh2.ulPublicDataLen2,
                pPublicData2: dh2.pPublicData2,
                publicKey: second_public.ck(),
            },
            _buffers: PhantomData,
        }
    }

    with_kdf!(
        /// With a KDF and its "other info".
        pOtherInfo,
        ulOtherInfoLen
    );

    /// The C struct.
    pub fn as_raw(&self) -> &CK_X9_42_MQV_DERIVE_PARAMS {
        &self.raw
    }
}

/// EC MQV (`ECMQV_DERIVE`; `CK_ECMQV_DERIVE_PARAMS`): the other party's two points,
/// this party's second key pair.
#[derive(Clone, Copy, Debug)]
#[repr(transparent)]
pub struct EcmqvDeriveParams<'a> {
    raw: CK_ECMQV_DERIVE_PARAMS,
    _buffers: PhantomData<&'a [u8]>,
}

impl<'a> EcmqvDeriveParams<'a> {
    /// With the other party's first point, the second pair and its public key, and no
    /// KDF.
    pub fn new(public_data: &'a [u8], second: SecondPair<'a>, second_public: KeyHandle) -> Self {
        EcmqvDeriveParams {
            raw: CK_ECMQV_DERIVE_PARAMS {
                kdf: CKD_NULL,
                ulSharedDataLen: 0,
                pSharedData: std::ptr::null_mut(),
                ulPublicDataLen: ulong(public_data.len()),
                pPublicData: ptr_or_null(public_data),
                ulPrivateDataLen: ulong(second.private_len),
                hPrivateData: second.private_key.ck(),
                ulPublicDataLen2: ulong(second.public_data.len()),
                pPublicData2: ptr_or_null(second.public_data),
                publicKey: second_public.ck(),
            },
            _buffers: PhantomData,
        }
    }

    with_kdf!(
        /// With a KDF and its shared data.
        pSharedData,
        ulSharedDataLen
    );

    /// The C struct.
    pub fn as_raw(&self) -> &CK_ECMQV_DERIVE_PARAMS {
        &self.raw
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Mechanism, MechanismType};

    fn second(public: &[u8]) -> SecondPair<'_> {
        SecondPair {
            public_data: public,
            private_key: KeyHandle::from_ck(42),
            private_len: 32,
        }
    }

    #[test]
    fn two_key_agreements_point_at_both_public_values_and_name_both_keys() {
        let (first, other, info) = ([4u8; 65], [4u8; 97], *b"info");
        let ecmqv = EcmqvDeriveParams::new(&first, second(&other), KeyHandle::from_ck(43))
            .with_kdf(Kdf::SHA256_KDF, &info);
        let raw = ecmqv.as_raw();
        assert_eq!(
            (raw.pPublicData.cast_const(), raw.ulPublicDataLen),
            (first.as_ptr(), 65)
        );
        assert_eq!(
            (raw.pPublicData2.cast_const(), raw.ulPublicDataLen2),
            (other.as_ptr(), 97)
        );
        assert_eq!(
            (raw.hPrivateData, raw.ulPrivateDataLen, raw.publicKey),
            (42, 32, 43)
        );
        assert_eq!((raw.kdf, raw.ulSharedDataLen), (CKD_SHA256_KDF, 4));
        let mechanism = Mechanism::with(MechanismType::ECMQV_DERIVE, ecmqv);
        assert_eq!(
            mechanism.raw().ulParameterLen as usize,
            size_of::<CK_ECMQV_DERIVE_PARAMS>()
        );

        let mqv = X942MqvDeriveParams::new(&first, second(&other), KeyHandle::from_ck(43))
            .with_kdf(Kdf::SHA1_KDF, &info);
        let raw = mqv.as_raw();
        assert_eq!(
            (raw.pOtherInfo.cast_const(), raw.ulOtherInfoLen),
            (info.as_ptr(), 4)
        );
        assert_eq!(
            (raw.hPrivateData, raw.publicKey, raw.kdf),
            (42, 43, CKD_SHA1_KDF)
        );
        assert_eq!(raw.pPublicData2.cast_const(), other.as_ptr());
        let dh2 = X942Dh2DeriveParams::new(&first, second(&[]));
        let raw = dh2.as_raw();
        assert!(raw.pPublicData2.is_null() && raw.ulPublicDataLen2 == 0 && raw.kdf == CKD_NULL);
    }

    #[test]
    fn key_and_extract_parameters_are_one_ulong() {
        let concat = Mechanism::with(
            MechanismType::CONCATENATE_BASE_AND_KEY,
            KeyHandle::from_ck(7),
        );
        let raw = concat.raw();
        assert_eq!(raw.ulParameterLen as usize, size_of::<CK_OBJECT_HANDLE>());
        // SAFETY: the parameter points at the handle, a CK_ULONG, for the mechanism's life.
        assert_eq!(unsafe { *raw.pParameter.cast::<CK_OBJECT_HANDLE>() }, 7);
        let extract = Mechanism::with(MechanismType::EXTRACT_KEY_FROM_KEY, ExtractParams::new(12));
        // SAFETY: as above.
        assert_eq!(unsafe { *extract.raw().pParameter.cast::<CK_ULONG>() }, 12);
    }
}
