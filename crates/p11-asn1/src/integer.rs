//! Unsigned big-endian integers, as PKCS#11 stores them, to and from DER `INTEGER`s.

use crate::error::{Asn1Error, Result};
use num_bigint::{BigInt, Sign};
use rasn::types::Integer;

/// The minimal unsigned big-endian bytes of a non-negative `INTEGER` (`[0]` for zero).
pub(crate) fn to_unsigned(what: &'static str, value: &Integer) -> Result<Vec<u8>> {
    let value = BigInt::from(value.clone());
    match value.sign() {
        Sign::Minus => Err(Asn1Error::Negative(what)),
        _ => Ok(value.to_bytes_be().1),
    }
}

/// An `INTEGER` from unsigned big-endian bytes (leading zeros allowed).
pub(crate) fn from_unsigned(bytes: &[u8]) -> Integer {
    Integer::from(BigInt::from_bytes_be(Sign::Plus, bytes))
}

/// Unsigned bytes without leading zeros (`[0]` for zero): the canonical form.
pub(crate) fn trim(bytes: &[u8]) -> Vec<u8> {
    let first = bytes
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(bytes.len().saturating_sub(1));
    bytes[first..].to_vec()
}

/// A small non-negative `INTEGER` as `u64`.
pub(crate) fn to_u64(what: &'static str, value: &Integer) -> Result<u64> {
    let bytes = to_unsigned(what, value)?;
    if bytes.len() > 8 {
        return Err(Asn1Error::TooLarge { what, bytes: 8 });
    }
    Ok(bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
}

/// The longest half of a raw signature: 8192-bit `q` or curve order, far beyond any in use.
const MAX_HALF: usize = 1024;

/// A raw `r || s` signature from two `INTEGER`s, each left-padded to `half` bytes.
pub(crate) fn join_halves(r: &Integer, s: &Integer, half: usize) -> Result<Vec<u8>> {
    if half == 0 || half > MAX_HALF {
        return Err(Asn1Error::Length {
            what: "half of a raw signature",
            expected: format!("between 1 and {MAX_HALF}"),
            actual: half,
        });
    }
    let mut out = Vec::with_capacity(2 * half);
    for (what, value) in [("r", r), ("s", s)] {
        let bytes = trim(&to_unsigned(what, value)?);
        if bytes.len() > half {
            return Err(Asn1Error::TooLarge { what, bytes: half });
        }
        out.resize(out.len() + half - bytes.len(), 0);
        out.extend_from_slice(&bytes);
    }
    Ok(out)
}

/// `r` and `s` of a raw `r || s` signature (two halves of equal length).
pub(crate) fn split_halves(what: &'static str, raw: &[u8]) -> Result<(Integer, Integer)> {
    if raw.is_empty() || !raw.len().is_multiple_of(2) {
        return Err(Asn1Error::Length {
            what,
            expected: "an even, non-zero number of".into(),
            actual: raw.len(),
        });
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    Ok((from_unsigned(r), from_unsigned(s)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsigned_bytes_round_trip_through_integers() {
        for bytes in [&[0u8][..], &[1], &[0x80], &[0xff, 0xff], &[1, 0, 1]] {
            assert_eq!(to_unsigned("x", &from_unsigned(bytes)).unwrap(), bytes);
        }
        assert_eq!(to_unsigned("x", &from_unsigned(&[0, 0, 5])).unwrap(), [5]);
        assert!(matches!(
            to_unsigned("x", &Integer::from(-1)),
            Err(Asn1Error::Negative("x"))
        ));
        assert_eq!(trim(&[0, 0, 0]), [0]);
        assert!(matches!(
            to_u64("n", &from_unsigned(&[1; 9])),
            Err(Asn1Error::TooLarge {
                what: "n",
                bytes: 8
            })
        ));
    }

    #[test]
    fn halves_keep_their_leading_zeros() {
        let raw = [0, 0, 1, 2, 0, 3, 4, 5];
        let (r, s) = split_halves("sig", &raw).unwrap();
        assert_eq!(join_halves(&r, &s, 4).unwrap(), raw);
        assert!(join_halves(&r, &s, 1).is_err());
        // Caller-given sizes are bounded, not allocated.
        for half in [0, 1 << 40, usize::MAX] {
            assert!(
                matches!(join_halves(&r, &s, half), Err(Asn1Error::Length { .. })),
                "{half}"
            );
        }
        assert!(split_halves("sig", &[1, 2, 3]).is_err());
    }
}
