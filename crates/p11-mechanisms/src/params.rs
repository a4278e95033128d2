//! Typed mechanism parameters, each a `#[repr(transparent)]` wrapper over the C struct
//! of p11-sys, with a lifetime that ties the buffers it points at to the call.
//!
//! The wrappers have the layout of the C structs by construction; the tests check size
//! and field offsets against the numbers the PKCS#11 3.2 headers give, so that a binding
//! regenerated from other headers (GCM without `ulIvBits`, say) cannot slip through.

use crate::MechanismType;
use crate::ParameterError;
use p11_sys::*;
use std::marker::PhantomData;
use std::ptr;

/// A slice length as `CK_ULONG`. Saturates where `CK_ULONG` is narrower than `usize`
/// (Windows): the module then reads less than the buffer holds, never more.
pub(crate) fn ulong(len: usize) -> CK_ULONG {
    CK_ULONG::try_from(len).unwrap_or(CK_ULONG::MAX)
}

/// `with_kdf` for a derivation parameter whose KDF input sits in the C struct's
/// `$ptr`/`$len` fields ("other info" for X9.42, shared data for EC).
macro_rules! with_kdf {
    ($(#[$doc:meta])* $ptr:ident, $len:ident) => {
        $(#[$doc])*
#[must_use]
        pub fn with_kdf(mut self, kdf: Kdf, data: &'a [u8]) -> Self {
            self.raw.kdf = kdf.ck();
            self.raw.$ptr = crate::params::ptr_or_null(data);
            self.raw.$len = crate::params::ulong(data.len());
            self
        }
    };
}
pub(crate) use with_kdf;

pub(crate) fn ptr_or_null(bytes: &[u8]) -> CK_BYTE_PTR {
    if bytes.is_empty() {
        ptr::null_mut()
    } else {
        bytes.as_ptr() as CK_BYTE_PTR
    }
}

crate::open_enum!(
    /// A mask generation function for OAEP and PSS (`CK_RSA_PKCS_MGF_TYPE`).
    Mgf: CK_RSA_PKCS_MGF_TYPE, "CKG_", "mask generation function", u64::MAX,
    crate::generated::mgfs::NAMES
);

impl Mgf {
    /// MGF1 over `hash`, when PKCS#11 defines one for it.
    pub fn mgf1_for(hash: MechanismType) -> Option<Self> {
        Some(match hash {
            MechanismType::SHA_1 => Self::MGF1_SHA1,
            MechanismType::SHA224 => Self::MGF1_SHA224,
            MechanismType::SHA256 => Self::MGF1_SHA256,
            MechanismType::SHA384 => Self::MGF1_SHA384,
            MechanismType::SHA512 => Self::MGF1_SHA512,
            MechanismType::SHA3_256 => Self::MGF1_SHA3_256,
            _ => return None,
        })
    }
}

crate::open_enum!(
    /// A key derivation function for ECDH and X9.42 DH (`CK_EC_KDF_TYPE`).
    Kdf: CK_EC_KDF_TYPE, "CKD_", "key derivation function", u64::MAX,
    crate::generated::kdfs::NAMES
);

/// RSA OAEP parameters (`CK_RSA_PKCS_OAEP_PARAMS`): hash, MGF and an optional label.
#[derive(Clone, Copy, Debug)]
#[repr(transparent)]
pub struct OaepParams<'a> {
    raw: CK_RSA_PKCS_OAEP_PARAMS,
    _label: PhantomData<&'a [u8]>,
}

impl<'a> OaepParams<'a> {
    /// OAEP with `hash` and `mgf`, no label.
    pub fn new(hash: MechanismType, mgf: Mgf) -> Self {
        OaepParams {
            raw: CK_RSA_PKCS_OAEP_PARAMS {
                hashAlg: hash.ck(),
                mgf: mgf.ck(),
                source: CKZ_DATA_SPECIFIED,
                pSourceData: ptr::null_mut(),
                ulSourceDataLen: 0,
            },
            _label: PhantomData,
        }
    }

    /// python-pkcs11's default: SHA-1 and MGF1-SHA1, as most tokens and peers expect.
    pub fn sha1() -> Self {
        Self::new(MechanismType::SHA_1, Mgf::MGF1_SHA1)
    }

    /// With a label (the "encoding parameter" of PKCS #1).
    #[must_use]
    pub fn with_label(mut self, label: &'a [u8]) -> Self {
        self.raw.pSourceData = ptr_or_null(label) as CK_VOID_PTR;
        self.raw.ulSourceDataLen = ulong(label.len());
        self
    }

    /// The C struct.
    pub fn as_raw(&self) -> &CK_RSA_PKCS_OAEP_PARAMS {
        &self.raw
    }
}

/// RSA PSS parameters (`CK_RSA_PKCS_PSS_PARAMS`): hash, MGF and salt length.
#[derive(Clone, Copy, Debug)]
#[repr(transparent)]
pub struct PssParams {
    raw: CK_RSA_PKCS_PSS_PARAMS,
}

impl PssParams {
    /// PSS with `hash`, `mgf` and a salt of `salt_len` bytes.
    pub fn new(hash: MechanismType, mgf: Mgf, salt_len: usize) -> Self {
        PssParams {
            raw: CK_RSA_PKCS_PSS_PARAMS {
                hashAlg: hash.ck(),
                mgf: mgf.ck(),
                sLen: ulong(salt_len),
            },
        }
    }

    /// The parameters that fit a PSS mechanism: for `SHAn_RSA_PKCS_PSS`, SHA-n with
    /// MGF1-SHA-n and a salt as long as the hash; for plain `RSA_PKCS_PSS` (which signs a
    /// digest computed elsewhere) python-pkcs11's SHA-1, MGF1-SHA1, 20 bytes.
    /// (python-pkcs11 uses SHA-1 for every PSS mechanism, which tokens reject or which
    /// gives signatures no one else verifies; we follow the mechanism.)
    pub fn for_mechanism(mechanism: MechanismType) -> Option<Self> {
        let (hash, len) = match mechanism {
            MechanismType::RSA_PKCS_PSS | MechanismType::SHA1_RSA_PKCS_PSS => {
                (MechanismType::SHA_1, 20)
            }
            MechanismType::SHA224_RSA_PKCS_PSS => (MechanismType::SHA224, 28),
            MechanismType::SHA256_RSA_PKCS_PSS => (MechanismType::SHA256, 32),
            MechanismType::SHA384_RSA_PKCS_PSS => (MechanismType::SHA384, 48),
            MechanismType::SHA512_RSA_PKCS_PSS => (MechanismType::SHA512, 64),
            MechanismType::SHA3_256_RSA_PKCS_PSS => (MechanismType::SHA3_256, 32),
            _ => return None,
        };
        Some(Self::new(hash, Mgf::mgf1_for(hash)?, len))
    }

    /// The same parameters with a salt of `salt_len` bytes (0 makes PSS deterministic;
    /// OpenSSL's `rsa_pss_saltlen:N`).
    ///
    /// ```
    /// use p11_mechanisms::{MechanismType, PssParams};
    ///
    /// let pss = PssParams::for_mechanism(MechanismType::SHA256_RSA_PKCS_PSS).unwrap();
    /// assert_eq!(pss.with_salt_len(0).as_raw().sLen, 0);
    /// ```
    #[must_use]
    pub fn with_salt_len(mut self, salt_len: usize) -> Self {
        self.raw.sLen = ulong(salt_len);
        self
    }

    /// The C struct.
    pub fn as_raw(&self) -> &CK_RSA_PKCS_PSS_PARAMS {
        &self.raw
    }
}

/// AES-GCM parameters (`CK_GCM_PARAMS`). The IV is borrowed mutably: some HSMs generate
/// the IV and write it back into the buffer.
#[derive(Debug)]
#[repr(transparent)]
pub struct GcmParams<'a> {
    raw: CK_GCM_PARAMS,
    _buffers: PhantomData<(&'a mut [u8], &'a [u8])>,
}

/// The longest GCM IV p11 passes on.
const MAX_GCM_IV: usize = 256;

impl<'a> GcmParams<'a> {
    /// GCM with this IV, additional authenticated data, and a tag of `tag_bits` bits.
    ///
    /// The IV may be 1 to 256 bytes. 12 bytes is what GCM is built for and what to use;
    /// python-pkcs11 refuses anything longer, but GCM defines longer IVs (hashed into
    /// the first counter block) and tokens such as SoftHSM accept them, so p11 passes
    /// them on. An empty IV is refused (`CKR_MECHANISM_PARAM_INVALID` on every token
    /// tried), as is a tag that is not 32, 64 or 96 to 128 bits in whole bytes (NIST SP
    /// 800-38D).
    ///
    /// # Errors
    /// [`ParameterError`] for an IV or tag length outside those bounds.
    pub fn new(iv: &'a mut [u8], aad: &'a [u8], tag_bits: usize) -> Result<Self, ParameterError> {
        let bad = |reason: String| ParameterError {
            mechanism: MechanismType::AES_GCM,
            reason,
        };
        if iv.is_empty() || iv.len() > MAX_GCM_IV {
            return Err(bad(format!(
                "a GCM IV is 1 to {MAX_GCM_IV} bytes (12 recommended), not {}",
                iv.len()
            )));
        }
        if !matches!(tag_bits, 32 | 64 | 96 | 104 | 112 | 120 | 128) {
            return Err(bad(format!(
                "a GCM tag is 32, 64 or 96 to 128 bits in whole bytes, not {tag_bits}"
            )));
        }
        Ok(GcmParams {
            raw: CK_GCM_PARAMS {
                ulIvLen: ulong(iv.len()),
                ulIvBits: ulong(iv.len().saturating_mul(8)),
                pIv: iv.as_mut_ptr(),
                pAAD: ptr_or_null(aad),
                ulAADLen: ulong(aad.len()),
                ulTagBits: ulong(tag_bits),
            },
            _buffers: PhantomData,
        })
    }

    /// The C struct.
    pub fn as_raw(&self) -> &CK_GCM_PARAMS {
        &self.raw
    }
}

/// AES-CCM parameters (`CK_CCM_PARAMS`): the message length must be known up front.
#[derive(Clone, Copy, Debug)]
#[repr(transparent)]
pub struct CcmParams<'a> {
    raw: CK_CCM_PARAMS,
    _buffers: PhantomData<&'a [u8]>,
}

impl<'a> CcmParams<'a> {
    /// CCM for a message of `data_len` bytes, with this nonce, AAD and a MAC of `mac_len`
    /// bytes.
    pub fn new(data_len: usize, nonce: &'a [u8], aad: &'a [u8], mac_len: usize) -> Self {
        CcmParams {
            raw: CK_CCM_PARAMS {
                ulDataLen: ulong(data_len),
                pNonce: ptr_or_null(nonce),
                ulNonceLen: ulong(nonce.len()),
                pAAD: ptr_or_null(aad),
                ulAADLen: ulong(aad.len()),
                ulMACLen: ulong(mac_len),
            },
            _buffers: PhantomData,
        }
    }

    /// The C struct.
    pub fn as_raw(&self) -> &CK_CCM_PARAMS {
        &self.raw
    }
}

/// AES-CTR parameters (`CK_AES_CTR_PARAMS`): the initial counter block and how many of
/// its low bits count.
#[derive(Clone, Copy, Debug)]
#[repr(transparent)]
pub struct CtrParams {
    raw: CK_AES_CTR_PARAMS,
}

impl CtrParams {
    /// CTR as python-pkcs11's `CTRParams(nonce)` makes it: the counter block is the nonce,
    /// zeros, and a counter starting at 1 in the last byte; the counter is every byte
    /// after the nonce (`(16 - len) * 8` bits).
    ///
    /// # Errors
    /// [`ParameterError`] for a nonce of 16 bytes or more (no room for the counter).
    pub fn from_nonce(nonce: &[u8]) -> Result<Self, ParameterError> {
        if nonce.len() >= 16 {
            return Err(ParameterError {
                mechanism: MechanismType::AES_CTR,
                reason: format!(
                    "a CTR nonce is at most 15 bytes, to leave room for the counter; not {}",
                    nonce.len()
                ),
            });
        }
        let mut block = [0u8; 16];
        block[..nonce.len()].copy_from_slice(nonce);
        block[15] = 1;
        Ok(Self::new(block, (16 - nonce.len()) * 8))
    }

    /// CTR starting at `counter_block`, incrementing its low `counter_bits` bits.
    pub fn new(counter_block: [u8; 16], counter_bits: usize) -> Self {
        CtrParams {
            raw: CK_AES_CTR_PARAMS {
                ulCounterBits: ulong(counter_bits),
                cb: counter_block,
            },
        }
    }

    /// The C struct.
    pub fn as_raw(&self) -> &CK_AES_CTR_PARAMS {
        &self.raw
    }
}

/// ECDH parameters for `ECDH1_DERIVE` and `ECDH1_COFACTOR_DERIVE`
/// (`CK_ECDH1_DERIVE_PARAMS`): the other party's public point, a KDF and shared data.
#[derive(Clone, Copy, Debug)]
pub struct Ecdh1DeriveParams<'a> {
    raw: CK_ECDH1_DERIVE_PARAMS,
    kdf: Kdf,
    public_data: &'a [u8],
    shared_data: &'a [u8],
}

impl<'a> Ecdh1DeriveParams<'a> {
    /// Derivation with the peer's public point (raw `04||X||Y`, or DER-wrapped, as the
    /// token accepts) and no KDF.
    pub fn new(public_data: &'a [u8]) -> Self {
        Ecdh1DeriveParams {
            raw: CK_ECDH1_DERIVE_PARAMS {
                kdf: CKD_NULL,
                ulSharedDataLen: 0,
                pSharedData: ptr::null_mut(),
                ulPublicDataLen: ulong(public_data.len()),
                pPublicData: ptr_or_null(public_data),
            },
            kdf: Kdf::NULL,
            public_data,
            shared_data: &[],
        }
    }

    /// With a KDF and its shared data.
    #[must_use]
    pub fn with_kdf(mut self, kdf: Kdf, shared_data: &'a [u8]) -> Self {
        self.raw.kdf = kdf.ck();
        self.raw.pSharedData = ptr_or_null(shared_data);
        self.raw.ulSharedDataLen = ulong(shared_data.len());
        self.kdf = kdf;
        self.shared_data = shared_data;
        self
    }

    /// The same parameters with the peer's point given as `public_data` (its other
    /// encoding, say).
    pub fn with_public_data<'b>(&self, public_data: &'b [u8]) -> Ecdh1DeriveParams<'b>
    where
        'a: 'b,
    {
        Ecdh1DeriveParams::new(public_data).with_kdf(self.kdf, self.shared_data)
    }

    /// The peer's public point, as given.
    pub fn public_data(&self) -> &'a [u8] {
        self.public_data
    }

    /// The C struct.
    pub fn as_raw(&self) -> &CK_ECDH1_DERIVE_PARAMS {
        &self.raw
    }
}

/// X9.42 DH derivation parameters (`CK_X9_42_DH1_DERIVE_PARAMS`).
#[derive(Clone, Copy, Debug)]
#[repr(transparent)]
pub struct X942Dh1DeriveParams<'a> {
    raw: CK_X9_42_DH1_DERIVE_PARAMS,
    _buffers: PhantomData<&'a [u8]>,
}

impl<'a> X942Dh1DeriveParams<'a> {
    /// Derivation with the peer's public value and no KDF.
    pub fn new(public_data: &'a [u8]) -> Self {
        X942Dh1DeriveParams {
            raw: CK_X9_42_DH1_DERIVE_PARAMS {
                kdf: CKD_NULL,
                ulOtherInfoLen: 0,
                pOtherInfo: ptr::null_mut(),
                ulPublicDataLen: ulong(public_data.len()),
                pPublicData: ptr_or_null(public_data),
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
    pub fn as_raw(&self) -> &CK_X9_42_DH1_DERIVE_PARAMS {
        &self.raw
    }
}

/// EdDSA parameters (`CK_EDDSA_PARAMS`): pre-hash (Ed25519ph) and a context.
#[derive(Clone, Copy, Debug)]
#[repr(transparent)]
pub struct EddsaParams<'a> {
    raw: CK_EDDSA_PARAMS,
    _context: PhantomData<&'a [u8]>,
}

impl<'a> EddsaParams<'a> {
    /// EdDSA with or without pre-hashing, and this context (Ed25519ctx/ph, Ed448).
    pub fn new(prehash: bool, context: &'a [u8]) -> Self {
        EddsaParams {
            raw: CK_EDDSA_PARAMS {
                phFlag: CK_BBOOL::from(prehash),
                ulContextDataLen: ulong(context.len()),
                pContextData: ptr_or_null(context),
            },
            _context: PhantomData,
        }
    }

    /// The C struct.
    pub fn as_raw(&self) -> &CK_EDDSA_PARAMS {
        &self.raw
    }
}

/// How an ML-DSA or SLH-DSA signature draws randomness (`CK_HEDGE_TYPE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Hedge {
    /// Hedged where the token can (`CKH_HEDGE_PREFERRED`, the standard's default).
    #[default]
    Preferred,
    /// Hedged, or fail (`CKH_HEDGE_REQUIRED`).
    Required,
    /// Deterministic: the same signature for the same key, message and context
    /// (`CKH_DETERMINISTIC_REQUIRED`).
    Deterministic,
}

impl Hedge {
    fn raw(self) -> CK_HEDGE_TYPE {
        match self {
            Hedge::Preferred => CKH_HEDGE_PREFERRED,
            Hedge::Required => CKH_HEDGE_REQUIRED,
            Hedge::Deterministic => CKH_DETERMINISTIC_REQUIRED,
        }
    }
}

/// ML-DSA and SLH-DSA signing parameters (`CK_SIGN_ADDITIONAL_CONTEXT`): a context
/// string (at most 255 bytes, bound into the signature: a verifier must give the same)
/// and the hedging.
#[derive(Clone, Copy, Debug)]
#[repr(transparent)]
pub struct SignAdditionalContext<'a> {
    raw: CK_SIGN_ADDITIONAL_CONTEXT,
    _context: PhantomData<&'a [u8]>,
}

impl<'a> SignAdditionalContext<'a> {
    /// This context, hedged as `hedge` says.
    pub fn new(hedge: Hedge, context: &'a [u8]) -> Self {
        SignAdditionalContext {
            raw: CK_SIGN_ADDITIONAL_CONTEXT {
                hedgeVariant: hedge.raw(),
                pContext: ptr_or_null(context),
                ulContextLen: ulong(context.len()),
            },
            _context: PhantomData,
        }
    }

    /// The C struct.
    pub fn as_raw(&self) -> &CK_SIGN_ADDITIONAL_CONTEXT {
        &self.raw
    }
}

/// Pre-hash ML-DSA and SLH-DSA parameters (`CK_HASH_SIGN_ADDITIONAL_CONTEXT`, for
/// `HASH_ML_DSA` and `HASH_SLH_DSA`): as [`SignAdditionalContext`], and the hash the
/// message is digested with.
#[derive(Clone, Copy, Debug)]
#[repr(transparent)]
pub struct HashSignAdditionalContext<'a> {
    raw: CK_HASH_SIGN_ADDITIONAL_CONTEXT,
    _context: PhantomData<&'a [u8]>,
}

impl<'a> HashSignAdditionalContext<'a> {
    /// This context and hash (`SHA256`, `SHA3_512`, ...), hedged as `hedge` says.
    pub fn new(hedge: Hedge, context: &'a [u8], hash: MechanismType) -> Self {
        HashSignAdditionalContext {
            raw: CK_HASH_SIGN_ADDITIONAL_CONTEXT {
                hedgeVariant: hedge.raw(),
                pContext: ptr_or_null(context),
                ulContextLen: ulong(context.len()),
                hash: hash.ck(),
            },
            _context: PhantomData,
        }
    }

    /// The C struct.
    pub fn as_raw(&self) -> &CK_HASH_SIGN_ADDITIONAL_CONTEXT {
        &self.raw
    }
}

/// Data for derivations that take a byte string (`CK_KEY_DERIVATION_STRING_DATA`), such
/// as `AES_ECB_ENCRYPT_DATA` and `CONCATENATE_BASE_AND_DATA`.
#[derive(Clone, Copy, Debug)]
#[repr(transparent)]
pub struct KeyDerivationStringData<'a> {
    raw: CK_KEY_DERIVATION_STRING_DATA,
    _data: PhantomData<&'a [u8]>,
}

impl<'a> KeyDerivationStringData<'a> {
    /// This string.
    pub fn new(data: &'a [u8]) -> Self {
        KeyDerivationStringData {
            raw: CK_KEY_DERIVATION_STRING_DATA {
                pData: ptr_or_null(data),
                ulLen: ulong(data.len()),
            },
            _data: PhantomData,
        }
    }

    /// The C struct.
    pub fn as_raw(&self) -> &CK_KEY_DERIVATION_STRING_DATA {
        &self.raw
    }
}

/// `AES_CBC_ENCRYPT_DATA` parameters (`CK_AES_CBC_ENCRYPT_DATA_PARAMS`).
#[derive(Clone, Copy, Debug)]
#[repr(transparent)]
pub struct AesCbcEncryptDataParams<'a> {
    raw: CK_AES_CBC_ENCRYPT_DATA_PARAMS,
    _data: PhantomData<&'a [u8]>,
}

impl<'a> AesCbcEncryptDataParams<'a> {
    /// Derive by AES-CBC-encrypting `data` (a multiple of 16 bytes) under `iv`.
    pub fn new(iv: [u8; 16], data: &'a [u8]) -> Self {
        AesCbcEncryptDataParams {
            raw: CK_AES_CBC_ENCRYPT_DATA_PARAMS {
                iv,
                pData: ptr_or_null(data),
                length: ulong(data.len()),
            },
            _data: PhantomData,
        }
    }

    /// The C struct.
    pub fn as_raw(&self) -> &CK_AES_CBC_ENCRYPT_DATA_PARAMS {
        &self.raw
    }
}

/// `DES3_CBC_ENCRYPT_DATA` parameters (`CK_DES_CBC_ENCRYPT_DATA_PARAMS`).
#[derive(Clone, Copy, Debug)]
#[repr(transparent)]
pub struct DesCbcEncryptDataParams<'a> {
    raw: CK_DES_CBC_ENCRYPT_DATA_PARAMS,
    _data: PhantomData<&'a [u8]>,
}

impl<'a> DesCbcEncryptDataParams<'a> {
    /// Derive by DES3-CBC-encrypting `data` (a multiple of 8 bytes) under `iv`.
    pub fn new(iv: [u8; 8], data: &'a [u8]) -> Self {
        DesCbcEncryptDataParams {
            raw: CK_DES_CBC_ENCRYPT_DATA_PARAMS {
                iv,
                pData: ptr_or_null(data),
                length: ulong(data.len()),
            },
            _data: PhantomData,
        }
    }

    /// The C struct.
    pub fn as_raw(&self) -> &CK_DES_CBC_ENCRYPT_DATA_PARAMS {
        &self.raw
    }
}

/// The salt of an HKDF extract step.
#[derive(Clone, Copy, Debug)]
pub enum HkdfSalt<'a> {
    /// No salt (a string of zeros).
    Null,
    /// This salt.
    Data(&'a [u8]),
    /// A key object's value, by handle.
    Key(CK_OBJECT_HANDLE),
}

/// HKDF parameters (`CK_HKDF_PARAMS`).
#[derive(Clone, Copy, Debug)]
#[repr(transparent)]
pub struct HkdfParams<'a> {
    raw: CK_HKDF_PARAMS,
    _buffers: PhantomData<&'a [u8]>,
}

impl<'a> HkdfParams<'a> {
    /// HKDF with `prf_hash` (`SHA256`, ...), the extract step with `salt` when given, the
    /// expand step with `info` when given.
    pub fn new(
        prf_hash: MechanismType,
        salt: Option<HkdfSalt<'a>>,
        info: Option<&'a [u8]>,
    ) -> Self {
        let (salt_type, salt_ptr, salt_len, salt_key) = match salt.unwrap_or(HkdfSalt::Null) {
            HkdfSalt::Null => (CKF_HKDF_SALT_NULL, ptr::null_mut(), 0, CK_INVALID_HANDLE),
            HkdfSalt::Data(s) => (
                CKF_HKDF_SALT_DATA,
                ptr_or_null(s),
                ulong(s.len()),
                CK_INVALID_HANDLE,
            ),
            HkdfSalt::Key(k) => (CKF_HKDF_SALT_KEY, ptr::null_mut(), 0, k),
        };
        let info_bytes = info.unwrap_or(&[]);
        HkdfParams {
            raw: CK_HKDF_PARAMS {
                bExtract: CK_BBOOL::from(salt.is_some()),
                bExpand: CK_BBOOL::from(info.is_some()),
                prfHashMechanism: prf_hash.ck(),
                ulSaltType: salt_type,
                pSalt: salt_ptr,
                ulSaltLen: salt_len,
                hSaltKey: salt_key,
                pInfo: ptr_or_null(info_bytes),
                ulInfoLen: ulong(info_bytes.len()),
            },
            _buffers: PhantomData,
        }
    }

    /// The C struct.
    pub fn as_raw(&self) -> &CK_HKDF_PARAMS {
        &self.raw
    }
}

crate::open_enum!(
    /// The pseudo-random function of PBKDF2
    /// (`CK_PKCS5_PBKD2_PSEUDO_RANDOM_FUNCTION_TYPE`).
    Pbkdf2Prf: CK_PKCS5_PBKD2_PSEUDO_RANDOM_FUNCTION_TYPE, "CKP_PKCS5_PBKD2_", "PBKDF2 function", u64::MAX,
    crate::generated::prfs::NAMES
);

/// PBKDF2 parameters (`CK_PKCS5_PBKD2_PARAMS2`, the corrected 3.0 struct).
#[derive(Clone, Copy, Debug)]
#[repr(transparent)]
pub struct Pbkdf2Params<'a> {
    raw: CK_PKCS5_PBKD2_PARAMS2,
    _buffers: PhantomData<&'a [u8]>,
}

impl<'a> Pbkdf2Params<'a> {
    /// PBKDF2 of `password` with `salt`, `iterations` rounds of `prf`.
    pub fn new(password: &'a [u8], salt: &'a [u8], iterations: u32, prf: Pbkdf2Prf) -> Self {
        Pbkdf2Params {
            raw: CK_PKCS5_PBKD2_PARAMS2 {
                saltSource: CKZ_SALT_SPECIFIED,
                pSaltSourceData: ptr_or_null(salt) as CK_VOID_PTR,
                ulSaltSourceDataLen: ulong(salt.len()),
                iterations: CK_ULONG::from(iterations),
                prf: prf.ck(),
                pPrfData: ptr::null_mut(),
                ulPrfDataLen: 0,
                pPassword: ptr_or_null(password),
                ulPasswordLen: ulong(password.len()),
            },
            _buffers: PhantomData,
        }
    }

    /// The C struct.
    pub fn as_raw(&self) -> &CK_PKCS5_PBKD2_PARAMS2 {
        &self.raw
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{align_of, offset_of, size_of};

    /// Checks a wrapper against its C struct: the same size and alignment, and each field
    /// at the offset the PKCS#11 3.2 headers give it on LP64 targets.
    macro_rules! layout {
        ($wrapper:ty, $raw:ident, $size:expr, [$($field:ident @ $offset:expr),* $(,)?]) => {{
            assert_eq!(size_of::<$wrapper>(), size_of::<$raw>(), stringify!($wrapper));
            assert_eq!(align_of::<$wrapper>(), align_of::<$raw>(), stringify!($wrapper));
            layout!(raw $raw, $size, [$($field @ $offset),*]);
        }};
        // A wrapper that keeps more than the C struct (its `as_raw` gives the struct).
        (raw $raw:ident, $size:expr, [$($field:ident @ $offset:expr),* $(,)?]) => {{
            #[cfg(all(target_pointer_width = "64", not(windows)))]
            {
                assert_eq!(size_of::<$raw>(), $size, concat!("size of ", stringify!($raw)));
                $(assert_eq!(
                    offset_of!($raw, $field),
                    $offset,
                    concat!(stringify!($raw), "::", stringify!($field))
                );)*
            }
        }};
    }

    #[test]
    fn parameter_structs_have_the_c_layout() {
        layout!(
            OaepParams,
            CK_RSA_PKCS_OAEP_PARAMS,
            40,
            [hashAlg @ 0, mgf @ 8, source @ 16, pSourceData @ 24, ulSourceDataLen @ 32]
        );
        layout!(
            PssParams,
            CK_RSA_PKCS_PSS_PARAMS,
            24,
            [hashAlg @ 0, mgf @ 8, sLen @ 16]
        );
        layout!(
            GcmParams,
            CK_GCM_PARAMS,
            48,
            [pIv @ 0, ulIvLen @ 8, ulIvBits @ 16, pAAD @ 24, ulAADLen @ 32, ulTagBits @ 40]
        );
        layout!(
            CcmParams,
            CK_CCM_PARAMS,
            48,
            [ulDataLen @ 0, pNonce @ 8, ulNonceLen @ 16, pAAD @ 24, ulAADLen @ 32, ulMACLen @ 40]
        );
        layout!(
            CtrParams,
            CK_AES_CTR_PARAMS,
            24,
            [ulCounterBits @ 0, cb @ 8]
        );
        layout!(
            raw CK_ECDH1_DERIVE_PARAMS,
            40,
            [kdf @ 0, ulSharedDataLen @ 8, pSharedData @ 16, ulPublicDataLen @ 24, pPublicData @ 32]
        );
        layout!(
            X942Dh1DeriveParams,
            CK_X9_42_DH1_DERIVE_PARAMS,
            40,
            [kdf @ 0, ulOtherInfoLen @ 8, pOtherInfo @ 16, ulPublicDataLen @ 24, pPublicData @ 32]
        );
        layout!(
            EddsaParams,
            CK_EDDSA_PARAMS,
            24,
            [phFlag @ 0, ulContextDataLen @ 8, pContextData @ 16]
        );
        layout!(
            KeyDerivationStringData,
            CK_KEY_DERIVATION_STRING_DATA,
            16,
            [pData @ 0, ulLen @ 8]
        );
        layout!(
            AesCbcEncryptDataParams,
            CK_AES_CBC_ENCRYPT_DATA_PARAMS,
            32,
            [iv @ 0, pData @ 16, length @ 24]
        );
        layout!(
            DesCbcEncryptDataParams,
            CK_DES_CBC_ENCRYPT_DATA_PARAMS,
            24,
            [iv @ 0, pData @ 8, length @ 16]
        );
        layout!(
            HkdfParams,
            CK_HKDF_PARAMS,
            64,
            [bExtract @ 0, bExpand @ 1, prfHashMechanism @ 8, ulSaltType @ 16, pSalt @ 24, ulSaltLen @ 32, hSaltKey @ 40, pInfo @ 48, ulInfoLen @ 56]
        );
        layout!(
            Pbkdf2Params,
            CK_PKCS5_PBKD2_PARAMS2,
            72,
            [saltSource @ 0, pSaltSourceData @ 8, ulSaltSourceDataLen @ 16, iterations @ 24, prf @ 32, pPrfData @ 40, ulPrfDataLen @ 48, pPassword @ 56, ulPasswordLen @ 64]
        );
    }

    #[test]
    fn gcm_parameters_point_at_the_callers_buffers() {
        let mut iv = [7u8; 12];
        let aad = b"header";
        let iv_ptr = iv.as_mut_ptr();
        let gcm = GcmParams::new(&mut iv, aad, 128).unwrap();
        let raw = gcm.as_raw();
        assert_eq!(raw.pIv, iv_ptr);
        assert_eq!((raw.ulIvLen, raw.ulIvBits, raw.ulTagBits), (12, 96, 128));
        assert_eq!((raw.pAAD as *const u8, raw.ulAADLen), (aad.as_ptr(), 6));
        let mut long_iv = [1u8; 16];
        let no_aad = GcmParams::new(&mut long_iv, &[], 96).unwrap();
        assert!(no_aad.as_raw().pAAD.is_null());
    }

    #[test]
    fn gcm_iv_and_tag_lengths_are_checked() {
        assert!(GcmParams::new(&mut [], &[], 128).is_err(), "empty IV");
        assert!(
            GcmParams::new(&mut [0; 257], &[], 128).is_err(),
            "IV too long"
        );
        assert!(GcmParams::new(&mut [0; 256], &[], 128).is_ok());
        for bad in [0, 31, 33, 80, 100, 129] {
            assert!(
                GcmParams::new(&mut [0; 12], &[], bad).is_err(),
                "tag of {bad} bits"
            );
        }
        for good in [32, 64, 96, 104, 112, 120, 128] {
            assert!(
                GcmParams::new(&mut [0; 12], &[], good).is_ok(),
                "tag of {good} bits"
            );
        }
    }

    #[test]
    fn ctr_from_a_nonce_is_pythons_counter_block() {
        let ctr = CtrParams::from_nonce(&[0xAA; 12]).unwrap();
        let mut block = [0u8; 16];
        block[..12].copy_from_slice(&[0xAA; 12]);
        block[15] = 1;
        assert_eq!(ctr.as_raw().cb, block);
        assert_eq!(ctr.as_raw().ulCounterBits, 32);
        let empty = CtrParams::from_nonce(&[]).unwrap();
        assert_eq!(empty.as_raw().ulCounterBits, 128);
        assert_eq!(empty.as_raw().cb[15], 1);
        assert!(CtrParams::from_nonce(&[0; 15]).is_ok());
        let err = CtrParams::from_nonce(&[0; 16]).unwrap_err();
        assert!(err.reason.contains("at most 15 bytes"), "{err}");
    }

    #[test]
    fn oaep_defaults_to_sha1_and_takes_a_label() {
        let plain = OaepParams::sha1();
        assert_eq!(plain.as_raw().hashAlg, CKM_SHA_1);
        assert_eq!(plain.as_raw().mgf, CKG_MGF1_SHA1);
        assert_eq!(plain.as_raw().source, CKZ_DATA_SPECIFIED);
        assert!(plain.as_raw().pSourceData.is_null());
        let label = b"label";
        let labelled = OaepParams::new(MechanismType::SHA256, Mgf::MGF1_SHA256).with_label(label);
        assert_eq!(labelled.as_raw().ulSourceDataLen, 5);
        assert_eq!(labelled.as_raw().pSourceData as *const u8, label.as_ptr());
    }

    #[test]
    fn pss_parameters_follow_the_mechanism_hash() {
        let sha256 = PssParams::for_mechanism(MechanismType::SHA256_RSA_PKCS_PSS).unwrap();
        assert_eq!(
            (
                sha256.as_raw().hashAlg,
                sha256.as_raw().mgf,
                sha256.as_raw().sLen
            ),
            (CKM_SHA256, CKG_MGF1_SHA256, 32)
        );
        let sha512 = PssParams::for_mechanism(MechanismType::SHA512_RSA_PKCS_PSS).unwrap();
        assert_eq!(
            (sha512.as_raw().hashAlg, sha512.as_raw().sLen),
            (CKM_SHA512, 64)
        );
        let plain = PssParams::for_mechanism(MechanismType::RSA_PKCS_PSS).unwrap();
        assert_eq!(
            (
                plain.as_raw().hashAlg,
                plain.as_raw().mgf,
                plain.as_raw().sLen
            ),
            (CKM_SHA_1, CKG_MGF1_SHA1, 20)
        );
        assert!(PssParams::for_mechanism(MechanismType::RSA_PKCS).is_none());
    }

    #[test]
    fn hkdf_sets_extract_and_expand_from_what_is_given() {
        let salt = [1u8; 8];
        let info = b"ctx";
        let both = HkdfParams::new(
            MechanismType::SHA256,
            Some(HkdfSalt::Data(&salt)),
            Some(info),
        );
        let raw = both.as_raw();
        assert_eq!(
            (raw.bExtract, raw.bExpand, raw.ulSaltType),
            (1, 1, CKF_HKDF_SALT_DATA)
        );
        assert_eq!((raw.ulSaltLen, raw.ulInfoLen), (8, 3));
        let expand_only = HkdfParams::new(MechanismType::SHA256, None, Some(info));
        assert_eq!(
            (expand_only.as_raw().bExtract, expand_only.as_raw().bExpand),
            (0, 1)
        );
    }
}
