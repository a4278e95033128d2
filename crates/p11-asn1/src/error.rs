//! The one error type of p11-asn1.

/// What was wrong with the input (or, rarely, the value to encode).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Asn1Error {
    /// The bytes are not valid DER for the expected type: truncated, wrong tags,
    /// trailing bytes, lengths beyond the input.
    #[error("invalid DER for {what}: {reason}")]
    Der {
        /// What was being decoded.
        what: &'static str,
        /// What the decoder said.
        reason: String,
    },
    /// The value could not be encoded.
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
    rasn::der::decode(der).map_err(|e| Asn1Error::Der {
        what,
        reason: e.to_string(),
    })
}

/// Encodes `value` as DER.
pub(crate) fn encode<T: rasn::Encode>(what: &'static str, value: &T) -> Result<Vec<u8>> {
    rasn::der::encode(value).map_err(|e| Asn1Error::Encode {
        what,
        reason: e.to_string(),
    })
}
