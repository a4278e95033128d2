//! X.509 certificates: the fields a PKCS #11 certificate object needs, and the public
//! key inside.

use crate::error::{decode, encode, Asn1Error, Result};
use crate::spki::PublicKey;
use chrono::Datelike;
use rasn_pkix::{AuthorityKeyIdentifier, Certificate, SubjectKeyIdentifier, Time};

/// A calendar date (what `CKA_START_DATE`/`CKA_END_DATE` hold), in UTC.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// The year.
    pub year: u16,
    /// 1 to 12.
    pub month: u8,
    /// 1 to 31.
    pub day: u8,
}

/// What a PKCS #11 certificate object needs from an X.509 certificate (python-pkcs11's
/// `decode_x509_certificate`, with the extended set).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateInfo {
    /// The whole certificate, DER (`CKA_VALUE`).
    pub value: Vec<u8>,
    /// The subject `Name`, DER (`CKA_SUBJECT`).
    pub subject: Vec<u8>,
    /// The issuer `Name`, DER (`CKA_ISSUER`).
    pub issuer: Vec<u8>,
    /// The serial number as a DER `INTEGER` (`CKA_SERIAL_NUMBER`).
    pub serial_number: Vec<u8>,
    /// Start of validity (`CKA_START_DATE`).
    pub not_before: Date,
    /// End of validity (`CKA_END_DATE`).
    pub not_after: Date,
    /// The subject key identifier extension (`CKA_HASH_OF_SUBJECT_PUBLIC_KEY` in spirit).
    pub subject_key_identifier: Option<Vec<u8>>,
    /// The key identifier of the authority key identifier extension.
    pub authority_key_identifier: Option<Vec<u8>>,
    /// The subject's public key, `SubjectPublicKeyInfo` DER.
    pub subject_public_key_info: Vec<u8>,
    /// The signed part, `TBSCertificate` DER: what the issuer's signature covers.
    pub tbs_certificate: Vec<u8>,
    /// The signature algorithm's OID arcs (`1.2.840.113549.1.1.11` is
    /// sha256WithRSAEncryption, ...).
    pub signature_algorithm: Vec<u32>,
    /// The issuer's signature as it stands in the certificate (DER `r, s` for DSA and
    /// ECDSA).
    pub signature: Vec<u8>,
}

const SUBJECT_KEY_IDENTIFIER: &[u32] = &[2, 5, 29, 14];
const AUTHORITY_KEY_IDENTIFIER: &[u32] = &[2, 5, 29, 35];

fn date(time: &Time) -> Result<Date> {
    let (year, month, day) = match time {
        Time::Utc(t) => (t.year(), t.month(), t.day()),
        Time::General(t) => (t.year(), t.month(), t.day()),
    };
    Ok(Date {
        year: u16::try_from(year).map_err(|_| Asn1Error::TooLarge {
            what: "a certificate year",
            bytes: 2,
        })?,
        // Calendar months and days always fit a byte.
        month: month as u8,
        day: day as u8,
    })
}

impl CertificateInfo {
    /// Reads a DER certificate.
    ///
    /// # Errors
    /// `Asn1Error` when the input is not what the format allows, or
    /// a value does not fit it.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let certificate: Certificate = decode("Certificate", der)?;
        let tbs = &certificate.tbs_certificate;
        let extension = |arcs: &[u32]| {
            tbs.extensions
                .as_ref()
                .and_then(|exts| exts.iter().find(|e| &*e.extn_id == arcs))
                .map(|e| e.extn_value.clone())
        };
        let subject_key_identifier = extension(SUBJECT_KEY_IDENTIFIER)
            .map(|v| decode::<SubjectKeyIdentifier>("SubjectKeyIdentifier", &v))
            .transpose()?
            .map(|id| id.to_vec());
        let authority_key_identifier = extension(AUTHORITY_KEY_IDENTIFIER)
            .map(|v| decode::<AuthorityKeyIdentifier>("AuthorityKeyIdentifier", &v))
            .transpose()?
            .and_then(|aki| aki.key_identifier.map(|id| id.to_vec()));
        Ok(CertificateInfo {
            value: der.to_vec(),
            subject: encode("Name", &tbs.subject)?,
            issuer: encode("Name", &tbs.issuer)?,
            serial_number: encode("CertificateSerialNumber", &tbs.serial_number)?,
            not_before: date(&tbs.validity.not_before)?,
            not_after: date(&tbs.validity.not_after)?,
            subject_key_identifier,
            authority_key_identifier,
            subject_public_key_info: encode("SubjectPublicKeyInfo", &tbs.subject_public_key_info)?,
            tbs_certificate: encode("TBSCertificate", tbs)?,
            signature_algorithm: certificate.signature_algorithm.algorithm.to_vec(),
            signature: certificate.signature_value.as_raw_slice().to_vec(),
        })
    }

    /// The subject's public key, typed (python-pkcs11's `decode_x509_public_key`).
    ///
    /// # Errors
    /// `Asn1Error` when the input is not what the format allows, or
    /// a value does not fit it.
    pub fn public_key(&self) -> Result<PublicKey> {
        PublicKey::from_spki_der(&self.subject_public_key_info)
    }
}
