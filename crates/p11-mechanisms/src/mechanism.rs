//! A mechanism with its parameter: the one place a Rust value becomes a `CK_MECHANISM`.

use crate::params::*;
use crate::profile::ParameterKind;
use crate::MechanismType;
use p11_sys::{CK_MECHANISM, CK_ULONG, CK_VOID_PTR};
use std::fmt;
use std::marker::PhantomData;
use std::mem::size_of_val;
use std::ptr::{self, NonNull};

/// A parameter that does not fit its mechanism.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{mechanism}: {reason}")]
pub struct ParameterError {
    /// The mechanism.
    pub mechanism: MechanismType,
    /// What is wrong.
    pub reason: String,
}

/// Declares [`Parameter`]: its raw variants, and one variant per typed parameter struct,
/// each with a `From` impl and its place in [`Mechanism::raw`].
macro_rules! parameters {
    ($($(#[$doc:meta])* $variant:ident($ty:ty)),* $(,)?) => {
        /// The parameter of a [`Mechanism`].
        #[derive(Debug)]
        #[non_exhaustive]
        pub enum Parameter<'a> {
            /// None (`pParameter` NULL).
            None,
            /// Raw bytes: an IV, or the parameter of a mechanism without a typed one here.
            Bytes(&'a [u8]),
            /// A `CK_ULONG` (MAC lengths of `*_MAC_GENERAL`, ...).
            Ulong(CK_ULONG),
            /// A `#[repr(C)]` parameter struct p11 does not type: a vendor's, from its
            /// own headers.
            Struct(StructParameter<'a>),
            $($(#[$doc])* $variant($ty),)*
        }

        $(impl<'a> From<$ty> for Parameter<'a> {
            fn from(p: $ty) -> Self {
                Parameter::$variant(p)
            }
        })*

        impl Parameter<'_> {
            /// Pointer and length of the parameter, pointing into `self`.
            fn raw(&self) -> (CK_VOID_PTR, CK_ULONG) {
                fn param<T>(p: &T) -> (CK_VOID_PTR, CK_ULONG) {
                    (p as *const T as CK_VOID_PTR, ulong(size_of_val(p)))
                }
                match self {
                    Parameter::None | Parameter::Bytes([]) => (ptr::null_mut(), 0),
                    Parameter::Bytes(b) => (b.as_ptr() as CK_VOID_PTR, ulong(b.len())),
                    Parameter::Ulong(u) => param(u),
                    Parameter::Struct(s) => (s.pointer.as_ptr(), ulong(s.len)),
                    $(Parameter::$variant(p) => param(p.as_raw()),)*
                }
            }
        }
    };
}

/// A parameter struct p11 does not type — a vendor mechanism's, from the bindings of the
/// vendor's headers — passed as the module expects it: a pointer to the struct and its
/// size. The struct stays borrowed mutably while the [`Mechanism`] lives (a module may
/// write into a parameter, as GCM's IV output shows), and its own borrows (the pointers
/// inside it) must outlive that too, so no `unsafe` is needed to pass one.
///
/// ```
/// use p11_mechanisms::{Mechanism, MechanismType, StructParameter};
///
/// /// As bindgen makes it from a vendor's header.
/// #[repr(C)]
/// #[derive(Copy, Clone, Debug, Default)]
/// struct CK_ACME_SEAL_PARAMS { ulRounds: u64, ulTagBits: u64 }
///
/// let mut params = CK_ACME_SEAL_PARAMS { ulRounds: 12, ulTagBits: 128 };
/// let seal = MechanismType::new(MechanismType::VENDOR_DEFINED.raw() + 0x5EA1);
/// let mechanism = Mechanism::with(seal, StructParameter::new(&mut params));
/// assert_eq!(mechanism.raw().ulParameterLen, 16);
/// ```
pub struct StructParameter<'a> {
    pointer: NonNull<std::ffi::c_void>,
    len: usize,
    type_name: &'static str,
    borrow: PhantomData<&'a mut ()>,
}

impl<'a> StructParameter<'a> {
    /// `value` as a parameter. `Copy` keeps out types that own resources (a module
    /// gets plain data, as C structs are); bindgen derives it for every parameter struct.
    pub fn new<T: Copy + 'a>(value: &'a mut T) -> Self {
        StructParameter {
            pointer: NonNull::from(value).cast(),
            len: std::mem::size_of::<T>(),
            type_name: std::any::type_name::<T>(),
            borrow: PhantomData,
        }
    }
}

impl fmt::Debug for StructParameter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The struct's fields may hold secrets (a vendor's key-derivation data): only its
        // type and size are shown.
        write!(f, "StructParameter<{}>({} bytes)", self.type_name, self.len)
    }
}

impl<'a> From<StructParameter<'a>> for Parameter<'a> {
    fn from(parameter: StructParameter<'a>) -> Self {
        Parameter::Struct(parameter)
    }
}

/// Raw bytes: an IV, a DH public value, or a parameter without a typed struct here.
impl<'a> From<&'a [u8]> for Parameter<'a> {
    fn from(bytes: &'a [u8]) -> Self {
        Parameter::Bytes(bytes)
    }
}

impl<'a, const N: usize> From<&'a [u8; N]> for Parameter<'a> {
    fn from(bytes: &'a [u8; N]) -> Self {
        Parameter::Bytes(bytes)
    }
}

impl<'a> From<&'a Vec<u8>> for Parameter<'a> {
    fn from(bytes: &'a Vec<u8>) -> Self {
        Parameter::Bytes(bytes)
    }
}

parameters!(
    /// RSA OAEP.
    Oaep(OaepParams<'a>),
    /// RSA PSS.
    Pss(PssParams),
    /// AES-GCM.
    Gcm(GcmParams<'a>),
    /// AES-CCM.
    Ccm(CcmParams<'a>),
    /// AES-CTR.
    Ctr(CtrParams),
    /// ECDH (plain and cofactor).
    Ecdh1(Ecdh1DeriveParams<'a>),
    /// X9.42 DH.
    X942Dh1(X942Dh1DeriveParams<'a>),
    /// EdDSA.
    Eddsa(EddsaParams<'a>),
    /// ML-DSA and SLH-DSA: context and hedging.
    SignContext(SignAdditionalContext<'a>),
    /// Pre-hash ML-DSA and SLH-DSA: context, hedging and hash.
    HashSignContext(HashSignAdditionalContext<'a>),
    /// A byte string for derivation.
    KeyDerivationString(KeyDerivationStringData<'a>),
    /// `AES_CBC_ENCRYPT_DATA`.
    AesCbcEncryptData(AesCbcEncryptDataParams<'a>),
    /// `DES3_CBC_ENCRYPT_DATA`.
    DesCbcEncryptData(DesCbcEncryptDataParams<'a>),
    /// HKDF.
    Hkdf(HkdfParams<'a>),
    /// PBKDF2.
    Pbkdf2(Pbkdf2Params<'a>),
    /// SP 800-108 in counter or double-pipeline mode.
    Sp800108(crate::Sp800108Params<'a>),
    /// SP 800-108 in feedback mode.
    Sp800108Feedback(crate::Sp800108FeedbackParams<'a>),
    /// ChaCha20.
    ChaCha20(crate::ChaCha20Params<'a>),
    /// ChaCha20-Poly1305 (one-shot).
    ChaCha20Poly1305(crate::ChaCha20Poly1305Params<'a>),
    /// Salsa20.
    Salsa20(crate::Salsa20Params<'a>),
    /// `CONCATENATE_BASE_AND_KEY`: the key appended to the base key.
    Key(crate::KeyHandle),
    /// `EXTRACT_KEY_FROM_KEY`: where the new key starts.
    Extract(crate::ExtractParams),
    /// X9.42 DH with two key pairs.
    X942Dh2(crate::X942Dh2DeriveParams<'a>),
    /// X9.42 MQV.
    X942Mqv(crate::X942MqvDeriveParams<'a>),
    /// EC MQV.
    Ecmqv(crate::EcmqvDeriveParams<'a>),
);

/// A mechanism and its parameter, ready for any operation.
///
/// ```
/// use p11_mechanisms::{Mechanism, MechanismType, OaepParams};
///
/// let iv = [0u8; 16];
/// let cbc = Mechanism::with_iv(MechanismType::AES_CBC_PAD, &iv)?;
/// let oaep = Mechanism::with(MechanismType::RSA_PKCS_OAEP, OaepParams::sha1());
/// // PSS mechanisms get parameters that follow their hash unless given others.
/// let pss = Mechanism::new(MechanismType::SHA256_RSA_PKCS_PSS);
/// assert_eq!(pss.raw().ulParameterLen, 24);
/// # Ok::<(), p11_mechanisms::ParameterError>(())
/// ```
///
/// # Threads
/// A `Mechanism` is neither `Send` nor `Sync`, on purpose: its parameter points into
/// buffers it borrows, which the token may write during a call (GCM's generated IV, a
/// vendor struct's output fields), and a vendor struct's own pointers are beyond what
/// p11 can vouch for. Shared, two threads could have the token write one buffer at
/// once. Make one where the operation runs: it allocates nothing, and
/// [`MechanismType`] (`Copy`, `Send`, `Sync`) is what to keep in shared configuration.
///
/// ```compile_fail
/// fn send<T: Send>(_: T) {}
/// send(p11_mechanisms::Mechanism::new(p11_mechanisms::MechanismType::SHA256));
/// ```
#[derive(Debug)]
pub struct Mechanism<'a> {
    ty: MechanismType,
    parameter: Parameter<'a>,
}

impl<'a> Mechanism<'a> {
    /// The mechanism with its default parameter: PSS parameters that follow the
    /// mechanism's hash ([`PssParams::for_mechanism`]), python-pkcs11's SHA-1 OAEP
    /// parameters for `RSA_PKCS_OAEP`, and no parameter otherwise.
    pub fn new(ty: MechanismType) -> Self {
        let parameter = if let Some(pss) = PssParams::for_mechanism(ty) {
            Parameter::Pss(pss)
        } else if ty == MechanismType::RSA_PKCS_OAEP {
            Parameter::Oaep(OaepParams::sha1())
        } else {
            Parameter::None
        };
        Mechanism { ty, parameter }
    }

    /// The mechanism with this parameter, typed or raw.
    pub fn with(ty: MechanismType, parameter: impl Into<Parameter<'a>>) -> Self {
        Mechanism {
            ty,
            parameter: parameter.into(),
        }
    }

    /// A block-cipher mode with its IV, whose length must be the cipher's block size
    /// when the mechanism is one this crate knows.
    ///
    /// # Errors
    /// [`ParameterError`] when the parameter does not fit the mechanism.
    pub fn with_iv(ty: MechanismType, iv: &'a [u8]) -> Result<Self, ParameterError> {
        if let Some(profile) = ty.profile() {
            if profile.parameter != ParameterKind::Iv {
                return Err(ParameterError {
                    mechanism: ty,
                    reason: format!("takes {:?}, not an IV", profile.parameter),
                });
            }
            if let Some(block) = profile.block_size {
                if iv.len() != block {
                    return Err(ParameterError {
                        mechanism: ty,
                        reason: format!("the IV must be {block} bytes, not {}", iv.len()),
                    });
                }
            }
        }
        Ok(Mechanism {
            ty,
            parameter: Parameter::Bytes(iv),
        })
    }

    /// The mechanism type.
    pub fn mechanism_type(&self) -> MechanismType {
        self.ty
    }

    /// The parameter.
    pub fn parameter(&self) -> &Parameter<'a> {
        &self.parameter
    }

    /// The parameter, given back: what a caller that lent it for one call takes home.
    pub fn into_parameter(self) -> Parameter<'a> {
        self.parameter
    }

    /// The `CK_MECHANISM` for a call. Its pointers point into `self`, so `self` must
    /// stay borrowed, and unmoved, until the call returns.
    pub fn raw(&self) -> CK_MECHANISM {
        let (pointer, len) = self.parameter.raw();
        CK_MECHANISM {
            mechanism: self.ty.ck(),
            pParameter: pointer,
            ulParameterLen: len,
        }
    }
}

impl From<MechanismType> for Mechanism<'_> {
    fn from(ty: MechanismType) -> Self {
        Mechanism::new(ty)
    }
}

impl fmt::Display for Mechanism<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.ty, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p11_sys::{CKM_SHA256, CK_RSA_PKCS_PSS_PARAMS};

    #[test]
    fn an_iv_of_the_wrong_length_is_refused() {
        let short = [0u8; 8];
        let err = Mechanism::with_iv(MechanismType::AES_CBC_PAD, &short).unwrap_err();
        assert_eq!(
            err.to_string(),
            "CKM_AES_CBC_PAD: the IV must be 16 bytes, not 8"
        );
        assert!(Mechanism::with_iv(MechanismType::DES3_CBC, &short).is_ok());
        assert!(Mechanism::with_iv(MechanismType::RSA_PKCS_OAEP, &short).is_err());
        // A mechanism this crate does not describe takes the bytes as given.
        assert!(Mechanism::with_iv(MechanismType::new(0x8000_0042), &short).is_ok());
    }

    #[test]
    fn raw_points_at_the_parameter() {
        let pss = Mechanism::new(MechanismType::SHA256_RSA_PKCS_PSS);
        let raw = pss.raw();
        assert_eq!(raw.mechanism, MechanismType::SHA256_RSA_PKCS_PSS.raw());
        assert_eq!(
            raw.ulParameterLen as usize,
            std::mem::size_of::<CK_RSA_PKCS_PSS_PARAMS>()
        );
        // SAFETY: the pointer is to the PSS struct inside `pss`, which is alive.
        let params = unsafe { &*(raw.pParameter as *const CK_RSA_PKCS_PSS_PARAMS) };
        assert_eq!(params.hashAlg, CKM_SHA256);

        let iv = [9u8; 16];
        let cbc = Mechanism::with_iv(MechanismType::AES_CBC, &iv).unwrap();
        assert_eq!(cbc.raw().pParameter as *const u8, iv.as_ptr());
        assert_eq!(cbc.raw().ulParameterLen, 16);
        let none = Mechanism::new(MechanismType::AES_KEY_GEN).raw();
        assert!(none.pParameter.is_null() && none.ulParameterLen == 0);
    }

    #[test]
    fn a_struct_parameter_points_at_the_struct_and_shows_only_its_type() {
        #[derive(Copy, Clone)]
        #[repr(C)]
        struct Params {
            rounds: CK_ULONG,
            secret: [u8; 8],
        }
        let mut params = Params {
            rounds: 7,
            secret: [0x5A; 8],
        };
        let address = &params as *const Params as usize;
        let mechanism = Mechanism::with(
            MechanismType::new(0x8000_0001),
            StructParameter::new(&mut params),
        );
        let raw = mechanism.raw();
        assert_eq!(raw.pParameter as usize, address);
        assert_eq!(raw.ulParameterLen as usize, std::mem::size_of::<Params>());
        let shown = format!("{mechanism:?}");
        assert!(shown.contains("Params>(16 bytes)"), "{shown}");
        assert!(!shown.contains("90"), "{shown}");
    }
}
