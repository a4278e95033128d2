//! SP 800-108 key derivation (`CKM_SP800_108_COUNTER_KDF`, `CKM_SP800_108_FEEDBACK_KDF`):
//! the PRF's input described piece by piece, as PKCS#11 3.0 lays it out.

use crate::params::ulong;
use crate::MechanismType;
use p11_sys::*;
use std::marker::PhantomData;
use std::ptr;

/// How a counter or a length is written into the PRF's input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CounterFormat {
    /// Little-endian (else big-endian, SP 800-108's usual).
    pub little_endian: bool,
    /// Its width in bits (8, 16, 24 or 32 for a counter).
    pub bits: u64,
}

impl CounterFormat {
    /// Big-endian, `bits` wide.
    pub const fn big_endian(bits: u64) -> Self {
        CounterFormat {
            little_endian: false,
            bits,
        }
    }
}

/// What the length of the derived keying material counts (`CK_SP800_108_DKM_LENGTH_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DkmLength {
    /// The sum of the lengths of the keys derived.
    SumOfKeys,
    /// The sum of the PRF's output segments made.
    SumOfSegments,
}

/// One piece of the PRF's input, in order.
#[derive(Clone, Copy, Debug)]
pub enum PrfData<'a> {
    /// Counter mode's iteration counter, written as the format says.
    Counter(CounterFormat),
    /// Feedback mode's iteration variable: the previous PRF output (the IV first).
    Feedback,
    /// Feedback mode's optional counter.
    OptionalCounter(CounterFormat),
    /// The length of the derived keying material in bits.
    DkmLength(DkmLength, CounterFormat),
    /// Fixed bytes: a label, a 0x00 separator, a context.
    Bytes(&'a [u8]),
}

/// A format a data piece points at.
#[derive(Debug)]
enum Format {
    Counter(CK_SP800_108_COUNTER_FORMAT),
    Dkm(CK_SP800_108_DKM_LENGTH_FORMAT),
}

/// The PRF's input as C wants it: the `CK_PRF_DATA_PARAM`s and the formats they point
/// at, one slot per piece, on the heap so that the addresses hold when the parameters
/// move (neither vector changes after it is made).
#[derive(Debug)]
struct PrfInput {
    data: Vec<CK_PRF_DATA_PARAM>,
    _formats: Vec<Option<Format>>,
}

impl PrfInput {
    fn new(pieces: &[PrfData<'_>]) -> Self {
        let counter = |f: &CounterFormat| CK_SP800_108_COUNTER_FORMAT {
            bLittleEndian: CK_BBOOL::from(f.little_endian),
            ulWidthInBits: f.bits as CK_ULONG,
        };
        let mut formats: Vec<Option<Format>> = pieces
            .iter()
            .map(|piece| match piece {
                PrfData::Counter(f) | PrfData::OptionalCounter(f) => {
                    Some(Format::Counter(counter(f)))
                }
                PrfData::DkmLength(method, f) => {
                    Some(Format::Dkm(CK_SP800_108_DKM_LENGTH_FORMAT {
                        dkmLengthMethod: match method {
                            DkmLength::SumOfKeys => CK_SP800_108_DKM_LENGTH_SUM_OF_KEYS,
                            DkmLength::SumOfSegments => CK_SP800_108_DKM_LENGTH_SUM_OF_SEGMENTS,
                        },
                        bLittleEndian: CK_BBOOL::from(f.little_endian),
                        ulWidthInBits: f.bits as CK_ULONG,
                    }))
                }
                PrfData::Feedback | PrfData::Bytes(_) => None,
            })
            .collect();
        let data = pieces
            .iter()
            .zip(formats.iter_mut())
            .map(|(piece, format)| {
                let type_ = match piece {
                    PrfData::Counter(_) | PrfData::Feedback => CK_SP800_108_ITERATION_VARIABLE,
                    PrfData::OptionalCounter(_) => CK_SP800_108_OPTIONAL_COUNTER,
                    PrfData::DkmLength(..) => CK_SP800_108_DKM_LENGTH,
                    PrfData::Bytes(_) => CK_SP800_108_BYTE_ARRAY,
                };
                let (pointer, len) = match (format, piece) {
                    (Some(Format::Counter(c)), _) => (
                        c as *mut CK_SP800_108_COUNTER_FORMAT as CK_VOID_PTR,
                        std::mem::size_of::<CK_SP800_108_COUNTER_FORMAT>(),
                    ),
                    (Some(Format::Dkm(d)), _) => (
                        d as *mut CK_SP800_108_DKM_LENGTH_FORMAT as CK_VOID_PTR,
                        std::mem::size_of::<CK_SP800_108_DKM_LENGTH_FORMAT>(),
                    ),
                    (None, PrfData::Bytes(bytes)) if !bytes.is_empty() => {
                        (bytes.as_ptr().cast_mut().cast(), bytes.len())
                    }
                    (None, _) => (ptr::null_mut(), 0),
                };
                CK_PRF_DATA_PARAM {
                    type_,
                    pValue: pointer,
                    ulValueLen: ulong(len),
                }
            })
            .collect();
        PrfInput {
            data,
            _formats: formats,
        }
    }

    fn raw(&mut self) -> (CK_ULONG, CK_PRF_DATA_PARAM_PTR) {
        (ulong(self.data.len()), self.data.as_mut_ptr())
    }
}

/// SP 800-108 counter-mode and double-pipeline parameters (`CK_SP800_108_KDF_PARAMS`,
/// for `SP800_108_COUNTER_KDF` and `SP800_108_DOUBLE_PIPELINE_KDF`): the PRF (a MAC
/// mechanism: `SHA256_HMAC`, `AES_CMAC`, ...) and its input. The key derived is the one
/// the template describes; additional derived keys are not offered.
///
/// ```
/// use p11_mechanisms::{CounterFormat, DkmLength, Mechanism, MechanismType, PrfData, Sp800108Params};
/// let params = Sp800108Params::new(
///     MechanismType::SHA256_HMAC,
///     &[
///         PrfData::Counter(CounterFormat::big_endian(32)),
///         PrfData::Bytes(b"label"),
///         PrfData::Bytes(&[0]),
///         PrfData::Bytes(b"context"),
///         PrfData::DkmLength(DkmLength::SumOfKeys, CounterFormat::big_endian(32)),
///     ],
/// );
/// let kdf = Mechanism::with(MechanismType::SP800_108_COUNTER_KDF, params);
/// assert_eq!(kdf.raw().ulParameterLen, 40);
/// ```
#[derive(Debug)]
pub struct Sp800108Params<'a> {
    raw: CK_SP800_108_KDF_PARAMS,
    _input: PrfInput,
    _bytes: PhantomData<&'a [u8]>,
}

impl<'a> Sp800108Params<'a> {
    /// Counter (or double-pipeline) mode with `prf` over `input`.
    pub fn new(prf: MechanismType, input: &[PrfData<'a>]) -> Self {
        let mut input = PrfInput::new(input);
        let (count, data) = input.raw();
        Sp800108Params {
            raw: CK_SP800_108_KDF_PARAMS {
                prfType: prf.ck(),
                ulNumberOfDataParams: count,
                pDataParams: data,
                ulAdditionalDerivedKeys: 0,
                pAdditionalDerivedKeys: ptr::null_mut(),
            },
            _input: input,
            _bytes: PhantomData,
        }
    }

    /// The C struct.
    pub fn as_raw(&self) -> &CK_SP800_108_KDF_PARAMS {
        &self.raw
    }
}

/// SP 800-108 feedback-mode parameters (`CK_SP800_108_FEEDBACK_KDF_PARAMS`): as
/// [`Sp800108Params`], with the IV the first PRF call feeds back (none: empty).
#[derive(Debug)]
pub struct Sp800108FeedbackParams<'a> {
    raw: CK_SP800_108_FEEDBACK_KDF_PARAMS,
    _input: PrfInput,
    _bytes: PhantomData<&'a [u8]>,
}

impl<'a> Sp800108FeedbackParams<'a> {
    /// Feedback mode with `prf` over `input`, starting from `iv`.
    pub fn new(prf: MechanismType, input: &[PrfData<'a>], iv: &'a [u8]) -> Self {
        let mut input = PrfInput::new(input);
        let (count, data) = input.raw();
        Sp800108FeedbackParams {
            raw: CK_SP800_108_FEEDBACK_KDF_PARAMS {
                prfType: prf.ck(),
                ulNumberOfDataParams: count,
                pDataParams: data,
                ulIVLen: ulong(iv.len()),
                pIV: if iv.is_empty() {
                    ptr::null_mut()
                } else {
                    iv.as_ptr().cast_mut()
                },
                ulAdditionalDerivedKeys: 0,
                pAdditionalDerivedKeys: ptr::null_mut(),
            },
            _input: input,
            _bytes: PhantomData,
        }
    }

    /// The C struct.
    pub fn as_raw(&self) -> &CK_SP800_108_FEEDBACK_KDF_PARAMS {
        &self.raw
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pieces_point_at_their_formats_and_bytes_after_a_move() {
        let label = b"label".to_vec();
        let params = Sp800108Params::new(
            MechanismType::SHA256_HMAC,
            &[
                PrfData::Counter(CounterFormat::big_endian(16)),
                PrfData::Bytes(&label),
                PrfData::DkmLength(DkmLength::SumOfSegments, CounterFormat::big_endian(32)),
            ],
        );
        let moved = [params];
        let raw = moved[0].as_raw();
        assert_eq!(raw.ulNumberOfDataParams, 3);
        // SAFETY: three data params, alive in `moved[0]`.
        let data = unsafe { std::slice::from_raw_parts(raw.pDataParams, 3) };
        assert_eq!(data[0].type_, CK_SP800_108_ITERATION_VARIABLE);
        // SAFETY: a counter format, boxed inside the parameters.
        let counter = unsafe { &*(data[0].pValue as *const CK_SP800_108_COUNTER_FORMAT) };
        assert_eq!((counter.bLittleEndian, counter.ulWidthInBits), (0, 16));
        assert_eq!(data[1].pValue as *const u8, label.as_ptr());
        assert_eq!(data[1].ulValueLen, 5);
        // SAFETY: a DKM length format, boxed inside the parameters.
        let dkm = unsafe { &*(data[2].pValue as *const CK_SP800_108_DKM_LENGTH_FORMAT) };
        assert_eq!(dkm.dkmLengthMethod, CK_SP800_108_DKM_LENGTH_SUM_OF_SEGMENTS);
    }
}
