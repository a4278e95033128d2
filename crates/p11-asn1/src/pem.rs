//! PEM (RFC 7468) in and out, through `pem-rfc7468`.

use crate::error::{Asn1Error, Result};

/// PEM text of `der` under `label` (`CERTIFICATE`, `PUBLIC KEY`, `PRIVATE KEY`, ...),
/// with LF line endings. Empty DER is refused: no PEM reader would take it back.
///
/// # Errors
/// `Asn1Error` when the input is not what the format allows, or
/// a value does not fit it.
pub fn encode(label: &str, der: &[u8]) -> Result<String> {
    if der.is_empty() {
        return Err(Asn1Error::Pem("nothing to encode".into()));
    }
    pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, der)
        .map_err(|e| Asn1Error::Pem(e.to_string()))
}

/// The label and DER of one PEM block.
///
/// # Errors
/// `Asn1Error` when the input is not what the format allows, or
/// a value does not fit it.
pub fn decode(text: &str) -> Result<(String, Vec<u8>)> {
    pem_rfc7468::decode_vec(text.as_bytes())
        .map(|(label, der)| (label.to_owned(), der))
        .map_err(|e| Asn1Error::Pem(e.to_string()))
}
