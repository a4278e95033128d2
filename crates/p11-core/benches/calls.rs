//! One path, many times, for `cargo xtask callgrind`: run under callgrind twice with
//! different counts, the difference over the counts' difference is the instructions one
//! call costs, p11's next to the raw function list's. Arguments: PATH COUNT, where PATH is
//! `random-p11`, `random-raw`, `digest-p11`, `digest-raw`, `attributes-p11` or
//! `attributes-raw` (five fixed-size attributes of a key, typed, in one read).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
#![allow(clippy::undocumented_unsafe_blocks)] // raw baselines: plain C calls on live buffers

use p11_core::sys::*;
use p11_core::{
    Access, AttributeType as A, KeyType, Mechanism, MechanismType, Module, ObjectClass, Template,
    TokenFilter,
};
use std::hint::black_box;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (path, count) = match args.as_slice() {
        [path, count] => (path.as_str(), count.parse::<usize>().expect("a count")),
        _ => panic!("usage: calls PATH COUNT"),
    };
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    let module = Module::load(var("PKCS11_MODULE")).unwrap();
    let token = module
        .get_token(&TokenFilter::new().label(var("PKCS11_TOKEN_LABEL")))
        .unwrap();
    let session = token.open(Access::ReadOnly).unwrap();
    let list = module.raw_function_list();
    let handle = session.handle().raw();
    let sha256 = Mechanism::new(MechanismType::SHA256);
    let data = [0x5au8; 64];
    let mut out = [0u8; 32];
    let key = session
        .generate_key(
            &Mechanism::new(MechanismType::AES_KEY_GEN),
            &Template::new()
                .with(A::VALUE_LEN, 32u64)
                .with(A::TOKEN, false)
                .with(A::PRIVATE, false),
        )
        .unwrap();
    let object = key.handle().raw();
    for _ in 0..count {
        match path {
            "random-p11" => session.fill_random(&mut out).unwrap(),
            "random-raw" => unsafe {
                let rv = list.C_GenerateRandom.unwrap()(handle, out.as_mut_ptr(), 32);
                assert_eq!(rv, CKR_OK);
            },
            "digest-p11" => {
                session.digest_into(&sha256, &data, &mut out).unwrap();
            }
            "digest-raw" => unsafe {
                let mut raw = sha256.raw();
                assert_eq!(list.C_DigestInit.unwrap()(handle, &mut raw), CKR_OK);
                let mut len = 32;
                let rv = list.C_Digest.unwrap()(
                    handle,
                    data.as_ptr() as *mut u8,
                    64,
                    out.as_mut_ptr(),
                    &mut len,
                );
                assert_eq!(rv, CKR_OK);
            },
            "attributes-p11" => {
                let read: (ObjectClass, KeyType, bool, bool, u64) = key
                    .get_all([A::CLASS, A::KEY_TYPE, A::SIGN, A::SENSITIVE, A::VALUE_LEN])
                    .unwrap();
                black_box(read);
            }
            "attributes-raw" => unsafe {
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
                let rv =
                    list.C_GetAttributeValue.unwrap()(handle, object, attributes.as_mut_ptr(), 5);
                assert_eq!(rv, CKR_OK);
                black_box((
                    ObjectClass::from_ck(class),
                    KeyType::from_ck(key_type),
                    sign != 0,
                    sensitive != 0,
                    len,
                ));
            },
            other => panic!("unknown path {other}"),
        }
        black_box(&out);
    }
}
