#![doc = include_str!("../README.md")]
#![no_std]
#![allow(non_camel_case_types, non_snake_case, non_upper_case_globals)]
#![allow(clippy::all, clippy::undocumented_unsafe_blocks, missing_docs)]

// The committed bindings fit LP64 Unix (Linux, the BSDs, macOS on 64-bit) and 64-bit
// Windows (LLP64, packed); elsewhere CK_ULONG and the struct layouts differ.
#[cfg(not(target_pointer_width = "64"))]
compile_error!(
    "p11-sys has bindings for 64-bit targets only: generate bindings for this target \
     (`cargo xtask bindgen`, see crates/p11-sys/README.md) and add them to src/bindings/"
);

#[cfg(not(windows))]
include!("bindings/unix.rs");

#[cfg(windows)]
include!("bindings/windows.rs");

/// `CK_UNAVAILABLE_INFORMATION`, `(~0UL)` in C: all bits of a `CK_ULONG` set, whatever its
/// width (bindgen would evaluate it as 64 bits on every target).
pub const CK_UNAVAILABLE_INFORMATION: CK_ULONG = !0;

/// The name under which PKCS#11 3.x modules publish their standard interface
/// (`C_GetInterface`), NUL-terminated. A string macro bindgen does not turn into a constant.
pub const PKCS11_INTERFACE_NAME: &[u8] = b"PKCS 11\0";

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    /// p11-core reads a 3.x function list through the 2.40 type for the functions they
    /// share, so the newer lists must extend the older field for field.
    #[test]
    fn newer_function_lists_extend_the_older_ones() {
        assert_eq!(
            offset_of!(CK_FUNCTION_LIST, C_WaitForSlotEvent),
            offset_of!(CK_FUNCTION_LIST_3_0, C_WaitForSlotEvent)
        );
        assert_eq!(
            offset_of!(CK_FUNCTION_LIST_3_0, C_WaitForSlotEvent),
            offset_of!(CK_FUNCTION_LIST_3_2, C_WaitForSlotEvent)
        );
        assert_eq!(
            offset_of!(CK_FUNCTION_LIST_3_0, C_MessageVerifyFinal),
            offset_of!(CK_FUNCTION_LIST_3_2, C_MessageVerifyFinal)
        );
        assert_eq!(
            size_of::<CK_FUNCTION_LIST>(),
            offset_of!(CK_FUNCTION_LIST_3_0, C_GetInterfaceList)
        );
        assert_eq!(
            size_of::<CK_FUNCTION_LIST_3_0>(),
            offset_of!(CK_FUNCTION_LIST_3_2, C_EncapsulateKey)
        );
    }

    #[test]
    fn constants_carry_their_c_types() {
        let attribute: CK_ATTRIBUTE_TYPE = CKA_WRAP_TEMPLATE;
        assert_eq!(attribute, CKF_ARRAY_ATTRIBUTE | 0x211);
        let rv: CK_RV = CKR_PIN_INCORRECT;
        assert_eq!(rv, 0xA0);
        let mechanism: CK_MECHANISM_TYPE = CKM_AES_CBC_PAD;
        assert_eq!(mechanism, 0x1085);
        assert_eq!(CK_UNAVAILABLE_INFORMATION, CK_ULONG::MAX);
    }
}
