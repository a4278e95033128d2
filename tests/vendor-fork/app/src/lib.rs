//! What a vendor's fork adds on top of p11: the names of its own values, and the kind of
//! its own attribute, from the constants of the p11-sys generated from its headers.

use p11::{AttributeKind, AttributeMapper, AttributeType, MechanismType, ReturnValue};
use p11_sys::{CKA_ACME_KEY_GENERATION, CKM_ACME_SEAL, CKR_ACME_QUOTA_EXCEEDED};

/// The vendor's mechanism.
pub const ACME_SEAL: MechanismType = MechanismType::new(CKM_ACME_SEAL as u64);
/// The vendor's attribute: a number.
pub const ACME_KEY_GENERATION: AttributeType = AttributeType::new(CKA_ACME_KEY_GENERATION as u64);

/// Registers the vendor's names, so that they print and parse.
pub fn register_names() {
    MechanismType::register_name("CKM_ACME_SEAL", CKM_ACME_SEAL as u64);
    AttributeType::register_name("CKA_ACME_KEY_GENERATION", CKA_ACME_KEY_GENERATION as u64);
    ReturnValue::register_name("CKR_ACME_QUOTA_EXCEEDED", CKR_ACME_QUOTA_EXCEEDED as u64);
}

/// Reads the vendor's attribute as the number it is.
#[derive(Debug)]
pub struct AcmeAttributes;

impl AttributeMapper for AcmeAttributes {
    fn kind(&self, ty: AttributeType) -> AttributeKind {
        if ty == ACME_KEY_GENERATION {
            AttributeKind::Ulong
        } else {
            ty.kind()
        }
    }
}
