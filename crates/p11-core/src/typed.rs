//! Typed attribute reads: `object.get::<String>(AttributeType::LABEL)`, and several
//! attributes in one `C_GetAttributeValue`: `object.get_all::<(ObjectClass, KeyType)>(..)`.

use crate::attribute::{AttributeKind, AttributeType, AttributeValue, Date, ObjectClass};
use crate::error::{Error, Result};
use crate::mapper::{decode_bool, decode_ulong};
use crate::object::Object;
use crate::template::Template;
use crate::CertificateType;
use p11_mechanisms::{KeyType, MechanismType};
use zeroize::Zeroizing;

/// A Rust type an attribute's value can be read as.
pub trait FromAttribute: Sized {
    /// The value of `ty`, or [`Error::AttributeKind`] when it is of another kind.
    ///
    /// # Errors
    /// [`Error::AttributeKind`] when `value` is not of this type's kind.
    fn from_attribute(ty: AttributeType, value: AttributeValue) -> Result<Self>;

    /// The value from the bytes the module wrote for `ty`, of `kind` by p11's reading.
    /// The default decodes an [`AttributeValue`] and takes it; flags, numbers and the
    /// open enums read the bytes directly.
    ///
    /// # Errors
    /// [`Error::InvalidResponse`] for bytes that are no value of `kind`;
    /// [`Error::AttributeKind`] when `kind` is not this type's.
    fn from_bytes(ty: AttributeType, kind: AttributeKind, bytes: &[u8]) -> Result<Self> {
        Self::from_attribute(ty, AttributeValue::decode(ty, kind, bytes)?)
    }
}

fn wrong_kind(ty: AttributeType, expected: AttributeKind, found: &AttributeValue) -> Error {
    Error::AttributeKind {
        attribute: ty,
        expected,
        found: format!("{found:?}"),
    }
}

macro_rules! from_attribute {
    ($($t:ty => $kind:ident, $variant:ident;)*) => {$(
        impl FromAttribute for $t {
            fn from_attribute(ty: AttributeType, value: AttributeValue) -> Result<Self> {
                match value {
                    AttributeValue::$variant(v) => Ok(v),
                    other => Err(wrong_kind(ty, AttributeKind::$kind, &other)),
                }
            }
        }
    )*};
}

from_attribute! {
    String => Text, Text;
    Option<Date> => Date, Date;
    Vec<MechanismType> => Mechanisms, Mechanisms;
    Template => Template, Template;
    Zeroizing<Vec<u8>> => Bytes, Bytes;
    crate::Version => Version, Version;
}

/// Fixed-size values, also read straight from the bytes: no [`AttributeValue`] between.
macro_rules! from_word {
    ($($t:ty => $kind:ident, $decode:ident, $make:expr;)*) => {$(
        impl FromAttribute for $t {
            fn from_attribute(ty: AttributeType, value: AttributeValue) -> Result<Self> {
                match value {
                    AttributeValue::$kind(v) => Ok(v),
                    other => Err(wrong_kind(ty, AttributeKind::$kind, &other)),
                }
            }

            fn from_bytes(ty: AttributeType, kind: AttributeKind, bytes: &[u8]) -> Result<Self> {
                if kind != AttributeKind::$kind {
                    return Self::from_attribute(ty, AttributeValue::decode(ty, kind, bytes)?);
                }
                $decode(ty, bytes).map($make)
            }
        }
    )*};
}

from_word! {
    bool => Bool, decode_bool, |b| b;
    u64 => Ulong, decode_ulong, |n| n;
    ObjectClass => ObjectClass, decode_ulong, ObjectClass::new;
    KeyType => KeyType, decode_ulong, KeyType::new;
    CertificateType => CertificateType, decode_ulong, CertificateType::new;
    MechanismType => Mechanism, decode_ulong, MechanismType::new;
}

/// The bytes, out of their wiping wrapper: the caller now keeps them.
impl FromAttribute for Vec<u8> {
    fn from_attribute(ty: AttributeType, value: AttributeValue) -> Result<Self> {
        let mut bytes = Zeroizing::<Vec<u8>>::from_attribute(ty, value)?;
        Ok(std::mem::take(&mut *bytes))
    }
}

impl FromAttribute for AttributeValue {
    fn from_attribute(_: AttributeType, value: AttributeValue) -> Result<Self> {
        Ok(value)
    }
}

/// Several attributes read together (tuples of up to eight [`FromAttribute`] types).
pub trait FromAttributes: Sized {
    /// The attribute types, one for each element.
    type Types;

    /// Reads them in one `C_GetAttributeValue` (two when some have variable sizes).
    ///
    /// # Errors
    /// The first attribute that could not be read or is of the wrong kind.
    fn read(object: &Object, types: Self::Types) -> Result<Self>;
}

macro_rules! from_attributes {
    ($n:literal: $($t:ident $v:ident $i:tt),*) => {
        impl<$($t: FromAttribute),*> FromAttributes for ($($t,)*) {
            type Types = [AttributeType; $n];

            fn read(object: &Object, types: Self::Types) -> Result<Self> {
                if let Some([$($v,)*]) = object.read_words(types)? {
                    return Ok(($($v.decode::<$t>()?,)*));
                }
                let [$($v,)*] = object.get_attribute_array(types)?;
                Ok(($(
                    $t::from_attribute(types[$i], $v?)?,
                )*))
            }
        }
    };
}

from_attributes!(1: A a 0);
from_attributes!(2: A a 0, B b 1);
from_attributes!(3: A a 0, B b 1, C c 2);
from_attributes!(4: A a 0, B b 1, C c 2, D d 3);
from_attributes!(5: A a 0, B b 1, C c 2, D d 3, E e 4);
from_attributes!(6: A a 0, B b 1, C c 2, D d 3, E e 4, F f 5);
from_attributes!(7: A a 0, B b 1, C c 2, D d 3, E e 4, F f 5, G g 6);
from_attributes!(8: A a 0, B b 1, C c 2, D d 3, E e 4, F f 5, G g 6, H h 7);

impl Object {
    /// One attribute, as `T`: `object.get::<String>(AttributeType::LABEL)`.
    ///
    /// # Errors
    /// The module's error (sensitive, absent, ...); [`Error::AttributeKind`] when the
    /// attribute is not of `T`'s kind.
    pub fn get<T: FromAttribute>(&self, ty: AttributeType) -> Result<T> {
        T::from_attribute(ty, self.get_attribute(ty)?)
    }

    /// Several attributes in one read, as a tuple:
    ///
    /// ```no_run
    /// # fn demo(key: &p11_core::Object) -> p11_core::Result<()> {
    /// use p11_core::{AttributeType as A, KeyType, ObjectClass};
    /// let (class, key_type, label): (ObjectClass, KeyType, String) =
    ///     key.get_all([A::CLASS, A::KEY_TYPE, A::LABEL])?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`get`](Self::get), for the first attribute that fails.
    pub fn get_all<T: FromAttributes>(&self, types: T::Types) -> Result<T> {
        T::read(self, types)
    }
}
