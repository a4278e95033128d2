//! The one error type of p11-asn1.

use std::sync::Arc;

/// What was wrong with the input (or, rarely, the value to encode).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Asn1Error {
    /// rasn's DER decoder refused the bytes for the expected type: truncated, wrong
    /// tags, trailing bytes, lengths beyond the input. Its structured error is the
    /// source.
    #[error("invalid DER for {what}")]
    Decode {
        /// What was being decoded.
        what: &'static str,
        /// rasn's error.
        #[source]
        source: Arc<rasn::error::DecodeError>,
    },
    /// rasn's DER encoder refused the value; its error is the source.
    #[error("cannot encode {what} as DER")]
    Rasn {
        /// What was being encoded.
        what: &'static str,
        /// rasn's error.
        #[source]
        source: Arc<rasn::error::EncodeError>,
    },
    /// DER that decoded is still not what the type allows (a missing parameter, an
    /// algorithm whose parameters are of the wrong kind), as p11-asn1 found.
    #[error("invalid DER for {what}: {reason}")]
    Der {
        /// What was being decoded.
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The value cannot be encoded: something the format needs is missing or wrong.
    #[error("cannot encode {what}: {reason}")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// An integer that must be non-negative is negative.
    #[error("{0} is negative")]
    Negative(&'static str),
    /// An integer is too large for where it goes.
    #[error("{what} does not fit in {bytes} bytes")]
    TooLarge {
        /// Which integer.
        what: &'static str,
        /// The room it had.
        bytes: usize,
    },
    /// A raw value has a length its format does not allow.
    #[error("{what} must be {expected}, not {actual} bytes")]
    Length {
        /// What was being read.
        what: &'static str,
        /// The lengths allowed.
        expected: String,
        /// The length found.
        actual: usize,
    },
    /// An object identifier this crate does not know where it needs to.
    #[error("unknown {what} {oid}")]
    UnknownOid {
        /// What the OID names (a curve, a key algorithm).
        what: &'static str,
        /// The OID, dotted.
        oid: String,
    },
    /// A curve name this crate does not know.
    #[error("unknown curve name {0:?}")]
    UnknownCurve(String),
    /// PEM that could not be read.
    #[error("invalid PEM: {0}")]
    Pem(String),
}

/// `Result` with [`Asn1Error`].
pub type Result<T, E = Asn1Error> = std::result::Result<T, E>;

/// Decodes one DER value of type `T`, nothing after it.
pub(crate) fn decode<T: rasn::Decode>(what: &'static str, der: &[u8]) -> Result<T> {
    rasn::der::decode(der).map_err(|e| Asn1Error::Decode {
        what,
        source: Arc::new(e),
    })
}

/// Encodes `value` as DER.
pub(crate) fn encode<T: rasn::Encode>(what: &'static str, value: &T) -> Result<Vec<u8>> {
    rasn::der::encode(value).map_err(|e| Asn1Error::Rasn {
        what,
        source: Arc::new(e),
    })
}
