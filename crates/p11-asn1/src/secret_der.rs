//! DER for the structures that carry private keys, written and read without leaving
//! copies of the secrets in freed memory: the writer sizes its output first and fills
//! one wiped buffer (no growth, so no reallocation leaves a copy behind); the reader
//! borrows slices of its input and copies each secret once, into a wiped buffer. (rasn's
//! encoder grows and nests temporary buffers, and its decoder builds big integers,
//! none of which are wiped when freed.) Everything public still goes through rasn.

use crate::error::{Asn1Error, Result};
use zeroize::Zeroizing;

pub(crate) const INTEGER: u8 = 0x02;
pub(crate) const BIT_STRING: u8 = 0x03;
pub(crate) const OCTET_STRING: u8 = 0x04;
pub(crate) const SEQUENCE: u8 = 0x30;
/// `[0]` and `[1]`, constructed (EXPLICIT tagging).
pub(crate) const CONTEXT_0: u8 = 0xA0;
pub(crate) const CONTEXT_1: u8 = 0xA1;
/// `[1]` IMPLICIT, primitive (PKCS #8 v2's public key).
pub(crate) const CONTEXT_1_PRIMITIVE: u8 = 0x81;

/// One DER element to write: a primitive with its content, or a constructed one with
/// its members.
pub(crate) enum Element<'a> {
    /// A primitive: tag and content bytes.
    Primitive(u8, &'a [u8]),
    /// An `INTEGER` from unsigned big-endian bytes (minimal form is made here).
    Unsigned(&'a [u8]),
    /// A `BIT STRING` with no unused bits.
    Bits(&'a [u8]),
    /// Bytes that are already DER (public parts encoded elsewhere).
    Raw(&'a [u8]),
    /// A constructed element: tag and members.
    Constructed(u8, Vec<Element<'a>>),
}

fn length_len(len: usize) -> usize {
    if len < 0x80 {
        1
    } else {
        1 + (usize::BITS as usize / 8 - len.leading_zeros() as usize / 8)
    }
}

/// An unsigned integer's minimal content: no leading zeros, a zero byte before a high
/// bit, `[0]` for zero. Borrowed from `bytes`, plus whether a zero byte leads.
fn integer_content(bytes: &[u8]) -> (bool, &[u8]) {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    let trimmed = &bytes[first..];
    match trimmed.first() {
        None => (true, &[]),
        Some(b) if *b & 0x80 != 0 => (true, trimmed),
        Some(_) => (false, trimmed),
    }
}

impl Element<'_> {
    fn content_len(&self) -> usize {
        match self {
            Element::Primitive(_, content) => content.len(),
            Element::Unsigned(bytes) => {
                let (zero, content) = integer_content(bytes);
                usize::from(zero) + content.len()
            }
            Element::Bits(bits) => 1 + bits.len(),
            Element::Raw(_) => 0,
            Element::Constructed(_, members) => members.iter().map(Element::len).sum(),
        }
    }

    /// The whole encoding's length.
    fn len(&self) -> usize {
        match self {
            Element::Raw(der) => der.len(),
            _ => {
                let content = self.content_len();
                1 + length_len(content) + content
            }
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        let tag = match self {
            Element::Raw(der) => return out.extend_from_slice(der),
            Element::Primitive(tag, _) | Element::Constructed(tag, _) => *tag,
            Element::Unsigned(_) => INTEGER,
            Element::Bits(_) => BIT_STRING,
        };
        out.push(tag);
        let len = self.content_len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes = len.to_be_bytes();
            let skip = bytes.iter().take_while(|b| **b == 0).count();
            out.push(0x80 | (bytes.len() - skip) as u8);
            out.extend_from_slice(&bytes[skip..]);
        }
        match self {
            Element::Primitive(_, content) => out.extend_from_slice(content),
            Element::Unsigned(bytes) => {
                let (zero, content) = integer_content(bytes);
                if zero {
                    out.push(0);
                }
                out.extend_from_slice(content);
            }
            Element::Bits(bits) => {
                out.push(0);
                out.extend_from_slice(bits);
            }
            Element::Constructed(_, members) => members.iter().for_each(|m| m.write(out)),
            Element::Raw(_) => {}
        }
    }

    /// The encoding, in one wiped buffer of exactly its size.
    pub(crate) fn to_der(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(self.len()));
        self.write(&mut out);
        out
    }
}

/// A reader over DER that lends slices of its input.
pub(crate) struct Reader<'a> {
    what: &'static str,
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Reads `der`, which must hold exactly one element of `tag`; a reader of its content.
    pub(crate) fn outer(what: &'static str, der: &'a [u8], tag: u8) -> Result<Reader<'a>> {
        let mut outer = Reader { what, rest: der };
        let content = outer.expect(tag)?;
        outer.finish()?;
        Ok(Reader {
            what,
            rest: content,
        })
    }

    fn error(&self, reason: &str) -> Asn1Error {
        Asn1Error::Der {
            what: self.what,
            reason: reason.into(),
        }
    }

    /// The next element's tag, if any.
    pub(crate) fn peek(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// The next element, which must have `tag`: its content.
    pub(crate) fn expect(&mut self, tag: u8) -> Result<&'a [u8]> {
        let (found, content, whole) = self.next_element()?;
        if found != tag {
            return Err(self.error(&format!("expected tag {tag:#04x}, found {found:#04x}")));
        }
        let _ = whole;
        Ok(content)
    }

    /// The next element whatever it is, as its whole encoding.
    pub(crate) fn any(&mut self) -> Result<&'a [u8]> {
        self.next_element().map(|(_, _, whole)| whole)
    }

    /// (tag, content, whole encoding) of the next element; DER lengths only.
    fn next_element(&mut self) -> Result<(u8, &'a [u8], &'a [u8])> {
        let input = self.rest;
        let (&tag, rest) = input.split_first().ok_or_else(|| self.error("truncated"))?;
        if tag & 0x1f == 0x1f {
            return Err(self.error("multi-byte tags are not used here"));
        }
        let (&first, rest) = rest.split_first().ok_or_else(|| self.error("truncated"))?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > std::mem::size_of::<usize>() || count > rest.len() {
                return Err(self.error("a length DER does not allow"));
            }
            let (bytes, rest) = rest.split_at(count);
            if bytes[0] == 0 {
                return Err(self.error("a length with a leading zero byte"));
            }
            let len = bytes
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            if len < 0x80 {
                return Err(self.error("a long-form length for a short value"));
            }
            (len, rest)
        };
        if len > rest.len() {
            return Err(self.error("a length beyond the input"));
        }
        let (content, rest) = rest.split_at(len);
        let header = input.len() - rest.len() - len;
        self.rest = rest;
        Ok((tag, content, &input[..header + len]))
    }

    /// An `INTEGER`'s unsigned big-endian bytes, borrowed (leading zero dropped).
    pub(crate) fn unsigned(&mut self, what: &'static str) -> Result<&'a [u8]> {
        let content = self.expect(INTEGER)?;
        match content {
            [] => Err(self.error("an empty INTEGER")),
            [first, ..] if first & 0x80 != 0 => Err(Asn1Error::Negative(what)),
            [0, second, ..] if second & 0x80 == 0 => {
                Err(self.error("an INTEGER with a needless leading zero"))
            }
            [0, rest @ ..] if !rest.is_empty() => Ok(rest),
            _ => Ok(content),
        }
    }

    /// A small `INTEGER` (a version).
    pub(crate) fn small(&mut self, what: &'static str) -> Result<u64> {
        let bytes = self.unsigned(what)?;
        if bytes.len() > 8 {
            return Err(Asn1Error::TooLarge { what, bytes: 8 });
        }
        Ok(bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    /// A `BIT STRING` with no unused bits: its bytes.
    pub(crate) fn bits(&mut self, tag: u8) -> Result<&'a [u8]> {
        match self.expect(tag)? {
            [0, bits @ ..] => Ok(bits),
            _ => Err(self.error("a BIT STRING with unused bits")),
        }
    }

    /// Fails unless everything was read.
    pub(crate) fn finish(&self) -> Result<()> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(self.error("trailing bytes"))
        }
    }

    /// The bytes not read yet (the content of a primitive read with `outer`).
    pub(crate) fn rest_bytes(&self) -> &'a [u8] {
        self.rest
    }

    /// Skips whatever is left (extensions a decoder does not keep).
    pub(crate) fn skip_rest(&mut self) {
        self.rest = &[];
    }
}

/// A wiped copy of a secret.
pub(crate) fn secret(bytes: &[u8]) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(bytes.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_and_lengths_are_minimal() {
        let der = Element::Constructed(
            SEQUENCE,
            vec![
                Element::Unsigned(&[0, 0, 5]),
                Element::Unsigned(&[0x80]),
                Element::Unsigned(&[]),
                Element::Primitive(OCTET_STRING, &[7; 200]),
            ],
        )
        .to_der();
        assert_eq!(&der[..3], [0x30, 0x81, 0xd5]);
        assert_eq!(&der[3..13], [2, 1, 5, 2, 2, 0, 0x80, 2, 1, 0]);
        assert_eq!(&der[13..16], [4, 0x81, 200]);
        let mut seq = Reader::outer("test", &der, SEQUENCE).unwrap();
        assert_eq!(seq.unsigned("a").unwrap(), [5]);
        assert_eq!(seq.unsigned("b").unwrap(), [0x80]);
        assert_eq!(seq.unsigned("c").unwrap(), [0]);
        assert_eq!(seq.expect(OCTET_STRING).unwrap(), [7; 200]);
        seq.finish().unwrap();
    }

    #[test]
    fn non_der_input_is_refused() {
        for bad in [
            &[0x30, 0x81, 0x01, 0x00][..], // long form for a short length
            &[0x30, 0x82, 0x00, 0x80],     // leading zero in the length
            &[0x30, 0x05, 0x02],           // beyond the input
            &[0x30, 0x00, 0x00],           // trailing bytes
        ] {
            assert!(Reader::outer("t", bad, SEQUENCE).is_err(), "{bad:?}");
        }
        let mut r = Reader::outer("t", &[0x30, 0x04, 0x02, 0x02, 0x00, 0x05], SEQUENCE).unwrap();
        assert!(r.unsigned("x").is_err(), "needless leading zero");
        let mut r = Reader::outer("t", &[0x30, 0x03, 0x02, 0x01, 0xff], SEQUENCE).unwrap();
        assert!(matches!(r.unsigned("x"), Err(Asn1Error::Negative("x"))));
    }
}
