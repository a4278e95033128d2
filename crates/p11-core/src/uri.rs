//! PKCS#11 URIs (RFC 7512): how OpenSSL providers, GnuTLS, p11-kit and systemd name a
//! module, a token and an object, and where the PIN comes from.
//!
//! ```
//! use p11_core::{ObjectClass, Uri};
//! let uri: Uri = "pkcs11:token=My%20Token;object=server;type=private?pin-source=file:/run/pin"
//!     .parse()?;
//! assert_eq!(uri.token.as_deref(), Some("My Token"));
//! assert_eq!(uri.object_class, Some(ObjectClass::PRIVATE_KEY));
//! assert_eq!(uri.to_string(), "pkcs11:token=My%20Token;object=server;type=private?pin-source=file:/run/pin");
//! # Ok::<(), p11_core::UriError>(())
//! ```

use crate::attribute::{AttributeType, ObjectClass};
use crate::error::{Quoted, Result};
use crate::info::Version;
use crate::module::LibraryInfo;
use crate::object::Object;
use crate::slot::Slot;
use crate::template::Template;
use crate::token::TokenInfo;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::fmt::{self, Write as _};
use std::str::FromStr;
use zeroize::Zeroizing;

/// A PKCS#11 URI. Every attribute is optional; an absent one matches anything.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Uri {
    /// `token`: the token's label.
    pub token: Option<String>,
    /// `manufacturer`: the token's manufacturer.
    pub manufacturer: Option<String>,
    /// `serial`: the token's serial number.
    pub serial: Option<String>,
    /// `model`: the token's model.
    pub model: Option<String>,
    /// `library-manufacturer`: the module's manufacturer.
    pub library_manufacturer: Option<String>,
    /// `library-description`: the module's description.
    pub library_description: Option<String>,
    /// `library-version`: the module's version (`M` or `M.N`).
    pub library_version: Option<Version>,
    /// `object`: the object's label.
    pub object: Option<String>,
    /// `type`: the object's class (`public`, `private`, `cert`, `secret-key`, `data`).
    pub object_class: Option<ObjectClass>,
    /// `id`: the object's `CKA_ID`, any bytes.
    pub id: Option<Vec<u8>>,
    /// `slot-manufacturer`: the slot's manufacturer.
    pub slot_manufacturer: Option<String>,
    /// `slot-description`: the slot's description.
    pub slot_description: Option<String>,
    /// `slot-id`: the slot's number.
    pub slot_id: Option<u64>,
    /// Vendor path attributes (`x-...`), in order.
    pub vendor_path: Vec<(String, String)>,
    /// `pin-source`: where the PIN is (`file:/path`, or what the application makes of it).
    pub pin_source: Option<String>,
    /// `pin-value`: the PIN itself. Wiped when dropped, never printed.
    pub pin_value: Option<Zeroizing<String>>,
    /// `module-name`: the module's name, without path or suffix (`softhsm2`).
    pub module_name: Option<String>,
    /// `module-path`: the module's file, or a folder of modules.
    pub module_path: Option<String>,
    /// Vendor query attributes (`x-...`), in order.
    pub vendor_query: Vec<(String, String)>,
}

/// A string that is no PKCS#11 URI, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a PKCS#11 URI: {0}")]
pub struct UriError(String);

/// Kept as they are in values: RFC 7512's unreserved characters and those it lets path
/// values carry (`pk11-res-avail`, and `&`); everything else is percent-encoded.
const PATH_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b':')
    .remove(b'[')
    .remove(b']')
    .remove(b'@')
    .remove(b'!')
    .remove(b'$')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b'&');

/// Query values may also carry `/`, `?` and `|` (`pk11-query-res-avail`), but not `&`,
/// which separates query attributes.
const QUERY_VALUE: &AsciiSet = &PATH_VALUE.add(b'&').remove(b'/').remove(b'?').remove(b'|');

/// The path attributes, in the order p11 writes them.
const PATH_NAMES: [&str; 13] = [
    "token",
    "manufacturer",
    "serial",
    "model",
    "library-manufacturer",
    "library-description",
    "library-version",
    "object",
    "type",
    "id",
    "slot-manufacturer",
    "slot-description",
    "slot-id",
];

fn class_name(class: ObjectClass) -> Option<&'static str> {
    Some(match class {
        ObjectClass::PUBLIC_KEY => "public",
        ObjectClass::PRIVATE_KEY => "private",
        ObjectClass::CERTIFICATE => "cert",
        ObjectClass::SECRET_KEY => "secret-key",
        ObjectClass::DATA => "data",
        _ => return None,
    })
}

impl Object {
    /// Its PKCS#11 URI: the token (label, manufacturer, model, serial) and the object's
    /// label, id and class, those it has — what other PKCS#11 software takes to find it.
    ///
    /// # Errors
    /// The module's error reading the token's information or the object's class.
    pub fn uri(&self) -> Result<Uri> {
        // One C_GetTokenInfo: `slot().token()?.info()` would make two.
        let info = crate::token::token_info(self.session().slot())?;
        let values = self.get_present(&[
            AttributeType::CLASS,
            AttributeType::LABEL,
            AttributeType::ID,
        ])?;
        let mut values = values.into_iter();
        let class = match values.next().flatten() {
            Some(crate::AttributeValue::ObjectClass(class)) => Some(class),
            _ => Some(self.get::<ObjectClass>(AttributeType::CLASS)?),
        };
        let object = match values.next().flatten() {
            Some(crate::AttributeValue::Text(label)) if !label.is_empty() => Some(label),
            _ => None,
        };
        let id = match values.next().flatten() {
            Some(crate::AttributeValue::Bytes(id)) if !id.is_empty() => Some(id.to_vec()),
            _ => None,
        };
        Ok(Uri {
            token: Some(info.label),
            manufacturer: Some(info.manufacturer_id),
            model: Some(info.model),
            serial: Some(info.serial_number),
            object,
            object_class: class.filter(|c| class_name(*c).is_some()),
            id,
            ..Uri::new()
        })
    }
}

/// Whether an attribute the URI may leave out agrees with what the token has.
fn agrees<T: PartialEq>(wanted: &Option<T>, actual: &T) -> bool {
    wanted.as_ref().is_none_or(|wanted| wanted == actual)
}

fn bad(what: impl Into<String>) -> UriError {
    UriError(what.into())
}

/// A percent-decoded value as text.
fn text(name: &str, value: &str) -> Result<String, UriError> {
    String::from_utf8(bytes(name, value)?)
        .map_err(|_| bad(format!("{name} is not UTF-8 once decoded")))
}

/// A percent-decoded secret (`pin-value`): decoded into one buffer of the encoded length
/// (never grown, so never copied) that is wiped when dropped, on every path.
fn secret_text(name: &str, value: &str) -> Result<Zeroizing<String>, UriError> {
    check_escapes(name, value)?;
    let mut decoded = Zeroizing::new(Vec::with_capacity(value.len()));
    decoded.extend(percent_decode_str(value));
    if std::str::from_utf8(&decoded).is_err() {
        return Err(bad(format!("{name} is not UTF-8 once decoded")));
    }
    // Checked above: the buffer moves into the string as it is.
    let text = String::from_utf8(std::mem::take(&mut *decoded))
        .map_err(|_| bad(format!("{name} is not UTF-8 once decoded")))?;
    Ok(Zeroizing::new(text))
}

/// A percent-decoded value, refusing a `%` not followed by two hex digits.
fn bytes(name: &str, value: &str) -> Result<Vec<u8>, UriError> {
    check_escapes(name, value)?;
    Ok(percent_decode_str(value).collect())
}

/// Refuses a `%` not followed by two hex digits.
fn check_escapes(name: &str, value: &str) -> Result<(), UriError> {
    let raw = value.as_bytes();
    for (i, b) in raw.iter().enumerate() {
        if *b == b'%'
            && !raw
                .get(i + 1..i + 3)
                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
        {
            return Err(bad(format!(
                "{name} has a % not followed by two hex digits"
            )));
        }
    }
    Ok(())
}

fn set<T>(slot: &mut Option<T>, name: &str, value: T) -> Result<(), UriError> {
    if slot.replace(value).is_some() {
        return Err(bad(format!("{name} appears twice")));
    }
    Ok(())
}

impl Uri {
    /// A URI naming nothing yet: `pkcs11:`.
    pub fn new() -> Self {
        Self::default()
    }

    /// The template that finds the objects it names: class (`type`), label (`object`)
    /// and `id`, those that are set.
    pub fn object_template(&self) -> Template {
        let mut template = Template::new();
        if let Some(class) = self.object_class {
            template.set(AttributeType::CLASS, class);
        }
        if let Some(label) = &self.object {
            template.set(AttributeType::LABEL, label.as_str());
        }
        if let Some(id) = &self.id {
            template.set(AttributeType::ID, id.clone());
        }
        template
    }

    /// Whether the library attributes (manufacturer, description, version) match.
    pub fn matches_library(&self, info: &LibraryInfo) -> bool {
        agrees(&self.library_manufacturer, &info.manufacturer_id)
            && agrees(&self.library_description, &info.library_description)
            && agrees(&self.library_version, &info.library_version)
    }

    /// Whether the token, slot and library attributes match this token.
    pub(crate) fn matches_token(&self, slot: &Slot, info: &TokenInfo) -> Result<bool> {
        let token = agrees(&self.token, &info.label)
            && agrees(&self.manufacturer, &info.manufacturer_id)
            && agrees(&self.serial, &info.serial_number)
            && agrees(&self.model, &info.model)
            && agrees(&self.slot_id, &slot.id().raw());
        if !token {
            return Ok(false);
        }
        if self.slot_manufacturer.is_some() || self.slot_description.is_some() {
            let slot_info = slot.info()?;
            if !agrees(&self.slot_manufacturer, &slot_info.manufacturer_id)
                || !agrees(&self.slot_description, &slot_info.slot_description)
            {
                return Ok(false);
            }
        }
        if self.library_manufacturer.is_some()
            || self.library_description.is_some()
            || self.library_version.is_some()
        {
            return Ok(self.matches_library(&slot.module().info()?));
        }
        Ok(true)
    }

    fn set_path(&mut self, name: &str, value: &str) -> Result<(), UriError> {
        match name {
            "token" => set(&mut self.token, name, text(name, value)?),
            "manufacturer" => set(&mut self.manufacturer, name, text(name, value)?),
            "serial" => set(&mut self.serial, name, text(name, value)?),
            "model" => set(&mut self.model, name, text(name, value)?),
            "library-manufacturer" => set(&mut self.library_manufacturer, name, text(name, value)?),
            "library-description" => set(&mut self.library_description, name, text(name, value)?),
            "library-version" => {
                let version = text(name, value)?;
                let number = |n: &str| n.parse::<u8>().ok().filter(|_| !n.starts_with('+'));
                let parsed = match version.split_once('.') {
                    Some((major, minor)) => number(major).zip(number(minor)),
                    None => number(&version).map(|major| (major, 0)),
                };
                let (major, minor) = parsed.ok_or_else(|| {
                    bad(format!(
                        "library-version {} is not M or M.N",
                        Quoted(&version)
                    ))
                })?;
                set(&mut self.library_version, name, Version { major, minor })
            }
            "object" => set(&mut self.object, name, text(name, value)?),
            "type" => {
                let class = match text(name, value)?.as_str() {
                    "public" => ObjectClass::PUBLIC_KEY,
                    "private" => ObjectClass::PRIVATE_KEY,
                    "cert" => ObjectClass::CERTIFICATE,
                    "secret-key" => ObjectClass::SECRET_KEY,
                    "data" => ObjectClass::DATA,
                    other => {
                        return Err(bad(format!("type {} is none of RFC 7512's", Quoted(other))))
                    }
                };
                set(&mut self.object_class, name, class)
            }
            "id" => set(&mut self.id, name, bytes(name, value)?),
            "slot-manufacturer" => set(&mut self.slot_manufacturer, name, text(name, value)?),
            "slot-description" => set(&mut self.slot_description, name, text(name, value)?),
            "slot-id" => {
                let id = text(name, value)?;
                let number = id
                    .parse::<u64>()
                    .ok()
                    .filter(|_| id.bytes().all(|b| b.is_ascii_digit()))
                    .ok_or_else(|| {
                        bad(format!("slot-id {} is not a decimal number", Quoted(&id)))
                    })?;
                set(&mut self.slot_id, name, number)
            }
            vendor if vendor.starts_with("x-") => {
                self.vendor_path
                    .push((vendor.to_owned(), text(name, value)?));
                Ok(())
            }
            other => Err(bad(format!("unknown path attribute {}", Quoted(other)))),
        }
    }

    fn set_query(&mut self, name: &str, value: &str) -> Result<(), UriError> {
        match name {
            "pin-source" => set(&mut self.pin_source, name, text(name, value)?),
            "pin-value" => set(&mut self.pin_value, name, secret_text(name, value)?),
            "module-name" => set(&mut self.module_name, name, text(name, value)?),
            "module-path" => set(&mut self.module_path, name, text(name, value)?),
            vendor if vendor.starts_with("x-") => {
                self.vendor_query
                    .push((vendor.to_owned(), text(name, value)?));
                Ok(())
            }
            // RFC 7512: a consumer ignores query attributes it does not know.
            _ => Ok(()),
        }
    }

    /// The path attributes that are set, by name, in the order p11 writes them.
    fn path(&self) -> Vec<(&'static str, String)> {
        let version = self
            .library_version
            .map(|v| format!("{}.{}", v.major, v.minor));
        let slot_id = self.slot_id.map(|n| n.to_string());
        let values: [Option<&str>; 13] = [
            self.token.as_deref(),
            self.manufacturer.as_deref(),
            self.serial.as_deref(),
            self.model.as_deref(),
            self.library_manufacturer.as_deref(),
            self.library_description.as_deref(),
            version.as_deref(),
            self.object.as_deref(),
            self.object_class.and_then(class_name),
            None, // id: bytes, written apart
            self.slot_manufacturer.as_deref(),
            self.slot_description.as_deref(),
            slot_id.as_deref(),
        ];
        PATH_NAMES
            .iter()
            .zip(values)
            .filter_map(|(name, value)| {
                let value = match (*name, value) {
                    ("id", _) => {
                        // Every byte percent-encoded, as RFC 7512's examples write ids.
                        let id = self.id.as_ref()?;
                        id.iter().fold(String::new(), |mut s, b| {
                            let _ = write!(s, "%{b:02X}");
                            s
                        })
                    }
                    (_, Some(value)) => utf8_percent_encode(value, PATH_VALUE).to_string(),
                    (_, None) => return None,
                };
                Some((*name, value))
            })
            .collect()
    }
}

impl FromStr for Uri {
    type Err = UriError;

    /// Parses RFC 7512's syntax: the scheme (any case), path attributes separated by
    /// `;`, then `?` and query attributes separated by `&`; values percent-decoded.
    /// Refused: an unknown path attribute (vendors' start `x-`), one given twice, both
    /// `pin-source` and `pin-value`, malformed values. Unknown query attributes are
    /// ignored, as the RFC asks.
    fn from_str(text: &str) -> Result<Self, UriError> {
        let text = text.trim();
        let rest = text
            .get(..7)
            .filter(|scheme| scheme.eq_ignore_ascii_case("pkcs11:"))
            .and_then(|_| text.get(7..))
            .ok_or_else(|| bad("it does not start with pkcs11:"))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut uri = Uri::new();
        for attribute in path.split(';').filter(|a| !a.is_empty()) {
            let (name, value) = attribute
                .split_once('=')
                .ok_or_else(|| bad(format!("path attribute {} has no value", Quoted(attribute))))?;
            uri.set_path(name, value)?;
        }
        for attribute in query.split('&').filter(|a| !a.is_empty()) {
            let (name, value) = attribute.split_once('=').ok_or_else(|| {
                bad(format!(
                    "query attribute {} has no value",
                    Quoted(attribute)
                ))
            })?;
            uri.set_query(name, value)?;
        }
        if uri.pin_source.is_some() && uri.pin_value.is_some() {
            return Err(bad("pin-source and pin-value together"));
        }
        Ok(uri)
    }
}

/// The canonical form: path attributes in a fixed order, vendors' after them, values
/// percent-encoded where RFC 7512 asks, ids byte by byte.
impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("pkcs11:")?;
        let vendor_path = self.vendor_path.iter().map(|(name, value)| {
            (
                name.as_str(),
                utf8_percent_encode(value, PATH_VALUE).to_string(),
            )
        });
        let path: Vec<(&str, String)> = self.path().into_iter().chain(vendor_path).collect();
        for (i, (name, value)) in path.iter().enumerate() {
            if i > 0 {
                f.write_char(';')?;
            }
            write!(f, "{name}={value}")?;
        }
        let query = [
            ("pin-source", self.pin_source.as_deref()),
            ("pin-value", self.pin_value.as_ref().map(|p| p.as_str())),
            ("module-name", self.module_name.as_deref()),
            ("module-path", self.module_path.as_deref()),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name, v)))
        .chain(
            self.vendor_query
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_str())),
        );
        for (i, (name, value)) in query.enumerate() {
            f.write_char(if i == 0 { '?' } else { '&' })?;
            write!(f, "{name}={}", utf8_percent_encode(value, QUERY_VALUE))?;
        }
        Ok(())
    }
}

/// As the URI, with the PIN value left out.
impl fmt::Debug for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = self.clone();
        if shown.pin_value.is_some() {
            shown.pin_value = Some(Zeroizing::new("<redacted>".to_owned()));
        }
        write!(f, "Uri({shown})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// RFC 7512 section 3.3's examples, each read and written back.
    #[test]
    fn the_rfc_examples_parse() {
        let examples = [
            "pkcs11:",
            "pkcs11:object=my-pubkey;type=public",
            "pkcs11:object=my-key;type=private?pin-source=file:/etc/token",
            "pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;model=1.0;object=my-certificate;type=cert;id=%69%95%3E%5C%F4%BD%EC%91;serial=?pin-source=file:/etc/token_pin",
            "pkcs11:object=my-sign-key;type=private?module-name=mypkcs11",
            "pkcs11:object=my-sign-key;type=private?module-path=/mnt/libmypkcs11.so.1",
            "pkcs11:token=Software%20PKCS%2311%20softtoken;manufacturer=Snake%20Oil,%20Inc.?pin-value=the-pin",
            "pkcs11:slot-description=Sun%20Metaslot",
            "pkcs11:library-manufacturer=Snake%20Oil,%20Inc.;library-description=Soft%20Token%20Library;library-version=1.23",
            "pkcs11:token=My%20token%25%20created%20by%20Joe;library-version=3;id=%01%02%03%Ba%dd%Ca%fe%04%05%06",
            "pkcs11:token=A%20name%20with%20a%20substring%20%25%3B;object=my-certificate;type=cert",
            "pkcs11:token=Name%20with%20a%20small%20A%20with%20acute:%20%C3%A1;object=my-certificate;type=cert",
            "pkcs11:token=my-token;object=my-certificate;type=cert;vendor-aaa=value-a?pin-source=file:/etc/token_pin&vendor-bbb=value-b",
        ];
        for example in &examples[..12] {
            let uri: Uri = example.parse().unwrap_or_else(|e| panic!("{example}: {e}"));
            let again: Uri = uri.to_string().parse().unwrap();
            assert_eq!(again, uri, "{example}");
        }
        let joe: Uri = examples[9].parse().unwrap();
        assert_eq!(joe.token.as_deref(), Some("My token% created by Joe"));
        assert_eq!(joe.library_version, Some(Version { major: 3, minor: 0 }));
        assert_eq!(
            joe.id.as_deref(),
            Some(&[1, 2, 3, 0xba, 0xdd, 0xca, 0xfe, 4, 5, 6][..])
        );
        let soft: Uri = examples[3].parse().unwrap();
        assert_eq!(
            soft.token.as_deref(),
            Some("The Software PKCS#11 Softtoken")
        );
        assert_eq!(soft.serial.as_deref(), Some(""));
        assert_eq!(soft.pin_source.as_deref(), Some("file:/etc/token_pin"));
        let acute: Uri = examples[11].parse().unwrap();
        assert_eq!(
            acute.token.as_deref(),
            Some("Name with a small A with acute: á")
        );
        // The RFC's vendor example names attributes without the x- prefix vendors
        // must use: refused.
        assert!(examples[12].parse::<Uri>().is_err());
    }

    #[test]
    fn malformed_uris_are_refused_with_a_reason() {
        for (text, why) in [
            ("pkcs:token=a", "pkcs11:"),
            ("pkcs11:token=a;token=b", "twice"),
            ("pkcs11:tokn=a", "unknown path attribute"),
            ("pkcs11:type=key", "none of RFC 7512's"),
            ("pkcs11:slot-id=0x1", "decimal"),
            ("pkcs11:library-version=1.2.3", "M or M.N"),
            ("pkcs11:id=%4", "two hex digits"),
            ("pkcs11:token=%FF", "UTF-8"),
            ("pkcs11:token", "no value"),
            ("pkcs11:?pin-source=a&pin-value=b", "together"),
        ] {
            let err = text.parse::<Uri>().unwrap_err();
            assert!(err.to_string().contains(why), "{text}: {err}");
        }
        // Unknown query attributes are ignored; vendors' kept.
        let uri: Uri = "PKCS11:token=t?unknown=1&x-color=blue".parse().unwrap();
        assert_eq!(
            uri.vendor_query,
            [("x-color".to_owned(), "blue".to_owned())]
        );
    }

    #[test]
    fn the_pin_value_is_never_printed() {
        let uri: Uri = "pkcs11:token=t?pin-value=s3cret".parse().unwrap();
        assert!(!format!("{uri:?}").contains("s3cret"));
        assert!(
            uri.to_string().contains("pin-value=s3cret"),
            "Display is the URI"
        );
    }

    fn text_value() -> impl Strategy<Value = String> {
        // Anything, including the separators and % itself.
        proptest::string::string_regex("[ -~áé€%;?&=/]{0,12}").unwrap_or_else(|_| unreachable!())
    }

    proptest! {
        #[test]
        fn any_uri_survives_writing_and_reading(
            token in proptest::option::of(text_value()),
            object in proptest::option::of(text_value()),
            id in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..8)),
            slot_id in proptest::option::of(any::<u64>()),
            version in proptest::option::of((any::<u8>(), any::<u8>())),
            class in proptest::option::of(0usize..5),
            pin_source in proptest::option::of(text_value()),
            module_path in proptest::option::of(text_value()),
            vendor in proptest::option::of(text_value()),
        ) {
            let classes = [
                ObjectClass::PUBLIC_KEY,
                ObjectClass::PRIVATE_KEY,
                ObjectClass::CERTIFICATE,
                ObjectClass::SECRET_KEY,
                ObjectClass::DATA,
            ];
            let uri = Uri {
                token,
                object,
                id,
                slot_id,
                library_version: version.map(|(major, minor)| Version { major, minor }),
                object_class: class.map(|i| classes[i]),
                pin_source,
                module_path,
                vendor_path: vendor.into_iter().map(|v| ("x-v".to_owned(), v)).collect(),
                ..Uri::new()
            };
            let written = uri.to_string();
            let read: Uri = written.parse().map_err(|e| TestCaseError::fail(format!("{written}: {e}")))?;
            prop_assert_eq!(read, uri);
        }
    }
}
