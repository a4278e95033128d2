//! Templates: ordered, typed lists of attributes, and their C encoding.

use crate::attribute::{AttributeType, AttributeValue};
use crate::error::{Error, Result};
use crate::mapper::{kind_of, AttributeMapper};
use p11_sys::*;
use std::fmt;
use std::marker::PhantomData;
use std::mem::size_of;
use std::ptr;

/// An ordered list of attributes for creating, searching, generating or changing
/// objects.
///
/// An entry may also say "leave this to the token" ([`Template::without`]): python-pkcs11's
/// `DEFAULT`, used to drop an attribute a default template would otherwise set.
///
/// ```
/// use p11_core::{AttributeType as A, KeyType, ObjectClass, Template};
///
/// let defaults = Template::new()
///     .with(A::CLASS, ObjectClass::SECRET_KEY)
///     .with(A::SENSITIVE, true)
///     .with(A::EXTRACTABLE, false);
/// let mine = Template::new().with(A::LABEL, "backup key").without(A::SENSITIVE);
/// let merged = defaults.merge(&mine);
/// assert_eq!(merged.get(A::LABEL).and_then(|v| v.as_text()), Some("backup key"));
/// assert!(merged.get(A::SENSITIVE).is_none());
/// assert_eq!(merged.len(), 3);
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
#[must_use = "a builder does nothing until used"]
pub struct Template {
    entries: Vec<(AttributeType, Option<AttributeValue>)>,
}

impl Template {
    /// An empty template.
    pub fn new() -> Self {
        Self::default()
    }

    /// With `ty` set to `value`, replacing an earlier entry for `ty` in place.
    pub fn with(mut self, ty: AttributeType, value: impl Into<AttributeValue>) -> Self {
        self.set(ty, value);
        self
    }

    /// With `ty` left to the token: no value is sent, and merging this template into
    /// another removes the other's value for `ty`.
    pub fn without(mut self, ty: AttributeType) -> Self {
        self.put(ty, None);
        self
    }

    /// Sets `ty` to `value`, replacing an earlier entry in place.
    pub fn set(&mut self, ty: AttributeType, value: impl Into<AttributeValue>) {
        self.put(ty, Some(value.into()));
    }

    fn put(&mut self, ty: AttributeType, value: Option<AttributeValue>) {
        match self.entries.iter_mut().find(|(t, _)| *t == ty) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((ty, value)),
        }
    }

    /// This template with `other`'s entries laid over it: `other` wins where both set an
    /// attribute, and `other`'s [`without`](Self::without) entries remove values.
    pub fn merge(mut self, other: &Template) -> Self {
        for (ty, value) in &other.entries {
            self.put(*ty, value.clone());
        }
        self
    }

    /// The value set for `ty`.
    pub fn get(&self, ty: AttributeType) -> Option<&AttributeValue> {
        self.entries
            .iter()
            .find(|(t, _)| *t == ty)
            .and_then(|(_, v)| v.as_ref())
    }

    /// The attributes with values, in order.
    pub fn iter(&self) -> impl Iterator<Item = (AttributeType, &AttributeValue)> {
        self.entries
            .iter()
            .filter_map(|(ty, value)| value.as_ref().map(|v| (*ty, v)))
    }

    /// How many attributes have values.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether no attribute has a value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl FromIterator<(AttributeType, AttributeValue)> for Template {
    fn from_iter<I: IntoIterator<Item = (AttributeType, AttributeValue)>>(iter: I) -> Self {
        let mut template = Template::new();
        for (ty, value) in iter {
            template.set(ty, value);
        }
        template
    }
}

/// Secret attributes show as `<redacted>`.
impl fmt::Debug for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (ty, value) in &self.entries {
            match value {
                Some(_) if ty.is_secret() => map.entry(ty, &"<redacted>"),
                Some(v) => map.entry(ty, v),
                None => map.entry(ty, &"<token decides>"),
            };
        }
        map.finish()
    }
}

/// The attributes by name and value, as a search is described in an error:
/// `CKA_CLASS=CKO_SECRET_KEY, CKA_LABEL="nope", CKA_ID=0x3132`; secret values are not
/// shown.
impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.entries.is_empty() {
            return f.write_str("any object");
        }
        for (i, (ty, value)) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{ty}=")?;
            match value {
                Some(_) if ty.is_secret() => f.write_str("<redacted>")?,
                Some(value) => shown(value, f)?,
                None => f.write_str("<token decides>")?,
            }
        }
        Ok(())
    }
}

/// One value as the user wrote it: names for the enums, text quoted, bytes in hex (at
/// most 32 of them shown).
fn shown(value: &AttributeValue, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match value {
        AttributeValue::Bool(v) => write!(f, "{v}"),
        AttributeValue::Ulong(v) => write!(f, "{v}"),
        AttributeValue::ObjectClass(v) => write!(f, "{v}"),
        AttributeValue::KeyType(v) => write!(f, "{v}"),
        AttributeValue::CertificateType(v) => write!(f, "{v}"),
        AttributeValue::Mechanism(v) => write!(f, "{v}"),
        AttributeValue::Text(v) => write!(f, "{}", crate::error::Quoted(v)),
        AttributeValue::Bytes(v) => {
            f.write_str("0x")?;
            for b in v.iter().take(32) {
                write!(f, "{b:02x}")?;
            }
            if v.len() > 32 {
                write!(f, "… ({} bytes)", v.len())?;
            }
            Ok(())
        }
        other => write!(f, "{other:?}"),
    }
}

/// A template encoded for a call: `CK_ATTRIBUTE`s pointing into the template's own bytes
/// and into buffers owned here, all valid while this value and the template live.
pub(crate) struct RawTemplate<'a> {
    attributes: Vec<CK_ATTRIBUTE>,
    /// Flags and single numbers, one word each: sized before the first is written, so
    /// that it never moves and the attributes may point into it.
    _words: Vec<CK_ULONG>,
    _storage: Vec<Storage<'a>>,
    _template: PhantomData<&'a Template>,
}

/// Other buffers the encoded attributes point into. Boxed, so that they stay put as the
/// vector holding them grows. Never read again: they only need to live.
#[allow(dead_code)]
enum Storage<'a> {
    Ulongs(Box<[CK_ULONG]>),
    Date(Box<CK_DATE>),
    Nested(RawTemplate<'a>),
}

/// `len` as the module's `CK_ULONG` (32 bits on Windows); `what` names the length.
pub(crate) fn ulong_len(len: usize, what: &'static str) -> Result<CK_ULONG> {
    to_ulong(u64::try_from(len).unwrap_or(u64::MAX), what)
}

/// `value` as the module's `CK_ULONG`; `what` names it.
pub(crate) fn to_ulong(value: u64, what: &'static str) -> Result<CK_ULONG> {
    CK_ULONG::try_from(value).map_err(|_| Error::TooLarge {
        what,
        value,
        max: crate::info::widen(CK_ULONG::MAX),
    })
}

impl<'a> RawTemplate<'a> {
    /// `template` encoded; each value must be of its attribute's kind, as `mapper` (else
    /// p11's table) says.
    pub(crate) fn new(
        template: &'a Template,
        mapper: Option<&dyn AttributeMapper>,
    ) -> Result<Self> {
        let mut attributes = Vec::with_capacity(template.len());
        let mut storage = Vec::new();
        let one_word = |value: &AttributeValue| {
            matches!(
                value,
                AttributeValue::Bool(_)
                    | AttributeValue::Ulong(_)
                    | AttributeValue::ObjectClass(_)
                    | AttributeValue::KeyType(_)
                    | AttributeValue::CertificateType(_)
                    | AttributeValue::Mechanism(_)
            )
        };
        let mut words: Vec<CK_ULONG> =
            Vec::with_capacity(template.iter().filter(|(_, v)| one_word(v)).count());
        // The word's first byte in memory is where the module reads a CK_BBOOL.
        let mut word = |value: CK_ULONG, size: usize| -> (CK_VOID_PTR, usize) {
            words.push(value);
            // Within the capacity reserved above the vector never moves, and
            // `as_mut_ptr` makes no reference that a later push would invalidate.
            let at = words.as_mut_ptr().wrapping_add(words.len() - 1);
            (at as CK_VOID_PTR, size)
        };
        let flag = |b: bool| {
            let mut bytes = [0u8; size_of::<CK_ULONG>()];
            bytes[0] = CK_BBOOL::from(b);
            CK_ULONG::from_ne_bytes(bytes)
        };
        for (ty, value) in template.iter() {
            let kind = kind_of(mapper, ty);
            if !value.fits(kind) {
                return Err(Error::AttributeKind {
                    attribute: ty,
                    expected: kind,
                    found: format!("{value:?}"),
                });
            }
            let long = size_of::<CK_ULONG>();
            let (pointer, len): (CK_VOID_PTR, usize) = match value {
                AttributeValue::Bool(b) => word(flag(*b), size_of::<CK_BBOOL>()),
                AttributeValue::Ulong(n) => word(to_ulong(*n, "a number attribute")?, long),
                AttributeValue::ObjectClass(c) => word(c.ck(), long),
                AttributeValue::KeyType(k) => word(k.ck(), long),
                AttributeValue::CertificateType(c) => word(c.ck(), long),
                AttributeValue::Mechanism(m) => word(m.ck(), long),
                AttributeValue::Mechanisms(ms) => {
                    Self::ulongs(&mut storage, ms.iter().map(|m| m.ck()).collect())
                }
                AttributeValue::Text(t) => (t.as_ptr() as CK_VOID_PTR, t.len()),
                AttributeValue::Bytes(b) => (b.as_ptr() as CK_VOID_PTR, b.len()),
                AttributeValue::Version(v) => {
                    // A CK_VERSION is its two bytes, at the word's start as a flag is.
                    let mut bytes = [0u8; size_of::<CK_ULONG>()];
                    bytes[..2].copy_from_slice(&[v.major, v.minor]);
                    word(CK_ULONG::from_ne_bytes(bytes), size_of::<CK_VERSION>())
                }
                AttributeValue::Date(None) => (ptr::null_mut(), 0),
                AttributeValue::Date(Some(d)) => {
                    let d = Box::new(d.to_raw());
                    let p = &*d as *const CK_DATE as CK_VOID_PTR;
                    storage.push(Storage::Date(d));
                    (p, size_of::<CK_DATE>())
                }
                AttributeValue::Template(nested) => {
                    let mut nested = RawTemplate::new(nested, mapper)?;
                    let len = nested.attributes.len() * size_of::<CK_ATTRIBUTE>();
                    let p = nested.as_mut_ptr() as CK_VOID_PTR;
                    storage.push(Storage::Nested(nested));
                    (p, len)
                }
            };
            attributes.push(CK_ATTRIBUTE {
                type_: ty.ck(),
                pValue: if len == 0 { ptr::null_mut() } else { pointer },
                ulValueLen: ulong_len(len, "an attribute value")?,
            });
        }
        Ok(RawTemplate {
            attributes,
            _words: words,
            _storage: storage,
            _template: PhantomData,
        })
    }

    fn ulongs(storage: &mut Vec<Storage<'a>>, values: Vec<CK_ULONG>) -> (CK_VOID_PTR, usize) {
        let values = values.into_boxed_slice();
        let p = values.as_ptr() as CK_VOID_PTR;
        let len = values.len() * size_of::<CK_ULONG>();
        storage.push(Storage::Ulongs(values));
        (p, len)
    }

    /// The attribute array for the call. The module only reads it (and the values).
    pub(crate) fn as_mut_ptr(&mut self) -> CK_ATTRIBUTE_PTR {
        self.attributes.as_mut_ptr()
    }

    /// The number of attributes.
    pub(crate) fn count(&self) -> CK_ULONG {
        // A Vec holds at most isize::MAX bytes, and a CK_ATTRIBUTE takes more than one.
        self.attributes.len() as CK_ULONG
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Date, ObjectClass};
    use p11_mechanisms::MechanismType;

    fn bytes_at(attribute: &CK_ATTRIBUTE) -> &[u8] {
        // SAFETY: the test keeps the RawTemplate alive; pValue points at ulValueLen bytes.
        unsafe {
            std::slice::from_raw_parts(attribute.pValue as *const u8, attribute.ulValueLen as usize)
        }
    }

    #[test]
    fn a_version_is_its_two_bytes_both_ways() {
        use crate::{AttributeKind, AttributeValue, Version};
        let version = Version { major: 3, minor: 2 };
        let template = Template::new().with(AttributeType::VALIDATION_VERSION, version);
        let raw = RawTemplate::new(&template, None).unwrap();
        let bytes = bytes_at(&raw.attributes[0]);
        assert_eq!(bytes, [3, 2]);
        let kind = AttributeKind::Version;
        assert_eq!(
            AttributeValue::decode(AttributeType::VALIDATION_VERSION, kind, bytes).unwrap(),
            AttributeValue::Version(version)
        );
        assert!(AttributeValue::decode(AttributeType::VALIDATION_VERSION, kind, &[3]).is_err());
    }

    #[test]
    fn values_are_encoded_as_their_c_types() {
        let template = Template::new()
            .with(AttributeType::CLASS, ObjectClass::SECRET_KEY)
            .with(AttributeType::TOKEN, true)
            .with(AttributeType::LABEL, "k")
            .with(AttributeType::VALUE_LEN, 32u64)
            .with(AttributeType::START_DATE, Date::new(2020, 1, 2).unwrap())
            .with(
                AttributeType::ALLOWED_MECHANISMS,
                vec![MechanismType::AES_CBC, MechanismType::AES_GCM],
            )
            .without(AttributeType::SENSITIVE);
        let raw = RawTemplate::new(&template, None).unwrap();
        assert_eq!(raw.count(), 6, "the `without` entry is not sent");
        let a = &raw.attributes;
        assert_eq!(bytes_at(&a[0]), CKO_SECRET_KEY.to_ne_bytes());
        assert_eq!(bytes_at(&a[1]), [CK_TRUE]);
        assert_eq!(bytes_at(&a[2]), b"k");
        assert_eq!(bytes_at(&a[3]), (32 as CK_ULONG).to_ne_bytes());
        assert_eq!(bytes_at(&a[4]), b"20200102");
        let mut mechanisms = CKM_AES_CBC.to_ne_bytes().to_vec();
        mechanisms.extend(CKM_AES_GCM.to_ne_bytes());
        assert_eq!(bytes_at(&a[5]), mechanisms);
    }

    #[test]
    fn nested_templates_point_at_their_own_attribute_arrays() {
        let nested = Template::new().with(AttributeType::EXTRACTABLE, false);
        let template = Template::new().with(AttributeType::WRAP_TEMPLATE, nested);
        let raw = RawTemplate::new(&template, None).unwrap();
        let outer = &raw.attributes[0];
        assert_eq!(outer.ulValueLen as usize, size_of::<CK_ATTRIBUTE>());
        // SAFETY: the outer value is an array of one CK_ATTRIBUTE owned by `raw`.
        let inner = unsafe { &*(outer.pValue as *const CK_ATTRIBUTE) };
        assert_eq!(inner.type_, CKA_EXTRACTABLE);
        assert_eq!(bytes_at(inner), [CK_FALSE]);
    }

    #[test]
    fn a_value_of_the_wrong_kind_is_refused() {
        let template = Template::new().with(AttributeType::CLASS, true);
        let err = RawTemplate::new(&template, None).err().unwrap();
        assert!(
            err.to_string()
                .contains("CKA_CLASS takes a ObjectClass value"),
            "{err}"
        );
        // A vendor attribute takes what it is given.
        let vendor = Template::new().with(AttributeType::new(0x8000_1000), true);
        assert!(RawTemplate::new(&vendor, None).is_ok());
    }

    #[test]
    fn debug_redacts_secret_attributes() {
        let template = Template::new()
            .with(AttributeType::VALUE, b"0123456789abcdef")
            .with(AttributeType::LABEL, "visible");
        let shown = format!("{template:?}");
        assert!(
            shown.contains("<redacted>") && shown.contains("visible"),
            "{shown}"
        );
    }
}
