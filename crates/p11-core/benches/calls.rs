//! One path, many times, for `cargo xtask callgrind`: run under callgrind twice with
//! different counts, the difference over the counts' difference is the instructions one
//! call costs, p11's next to the raw function list's. Arguments: PATH COUNT, where PATH is
//! `random-p11`, `random-raw`, `digest-p11`, `digest-raw`, `attributes-p11` or
//! `attributes-raw` (five fixed-size attributes of a key, typed, in one read).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
#![allow(clippy::undocumented_unsafe_blocks)] // raw baselines: plain C calls on live buffers

use p11_core::sys::CKR_OK;
use p11_core::{
    Access, AttributeType as A, Mechanism, MechanismType, Module, Template, TokenFilter,
};
use std::hint::black_box;

mod support;

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
                black_box(support::typed_read(&key));
            }
            "attributes-raw" => {
                black_box(support::raw_typed_read(list, handle, key.handle().raw()));
            }
            other => panic!("unknown path {other}"),
        }
        black_box(&out);
    }
}
