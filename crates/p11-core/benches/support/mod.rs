//! Raw baselines the bench binaries share.

use p11_core::sys::*;
use p11_core::{AttributeType as A, KeyType, Object, ObjectClass};

/// The attributes of [`raw_typed_read`], for p11's side of the comparison.
pub const FIVE_FIXED: [A; 5] = [A::CLASS, A::KEY_TYPE, A::SIGN, A::SENSITIVE, A::VALUE_LEN];

/// p11's typed read of [`FIVE_FIXED`].
pub fn typed_read(key: &Object) -> (ObjectClass, KeyType, bool, bool, u64) {
    key.get_all(FIVE_FIXED).unwrap()
}

/// Five fixed-size attributes of a key in one `C_GetAttributeValue`, typed: what code
/// calling the function list directly writes.
pub fn raw_typed_read(
    list: &CK_FUNCTION_LIST,
    h: CK_SESSION_HANDLE,
    key: CK_OBJECT_HANDLE,
) -> (ObjectClass, KeyType, bool, bool, CK_ULONG) {
    let (mut class, mut key_type, mut len): (CK_ULONG, CK_ULONG, CK_ULONG) = (0, 0, 0);
    let (mut sign, mut sensitive): (CK_BBOOL, CK_BBOOL) = (0, 0);
    let word = |p: *mut CK_ULONG| (p as CK_VOID_PTR, size_of::<CK_ULONG>() as CK_ULONG);
    let flag = |p: *mut CK_BBOOL| (p as CK_VOID_PTR, 1);
    let mut attributes = [
        (CKA_CLASS, word(&mut class)),
        (CKA_KEY_TYPE, word(&mut key_type)),
        (CKA_SIGN, flag(&mut sign)),
        (CKA_SENSITIVE, flag(&mut sensitive)),
        (CKA_VALUE_LEN, word(&mut len)),
    ]
    .map(|(type_, (value, len))| CK_ATTRIBUTE {
        type_,
        pValue: value,
        ulValueLen: len,
    });
    let rv = unsafe { list.C_GetAttributeValue.unwrap()(h, key, attributes.as_mut_ptr(), 5) };
    assert_eq!(rv, CKR_OK);
    (
        ObjectClass::from_ck(class),
        KeyType::from_ck(key_type),
        sign != 0,
        sensitive != 0,
        len,
    )
}
