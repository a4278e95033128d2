//! One facade path, many times, for `cargo xtask callgrind` (as p11-core's `calls`):
//! arguments PATH COUNT, where PATH is `hmac-p11`, `hmac-raw`, `cmac-p11` or `cmac-raw`
//! — a key's default signing of 64 bytes (`SHA256_HMAC`, `AES_CMAC`), the cheapest
//! signatures and so the ones where p11's own cost shows most.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
#![allow(clippy::undocumented_unsafe_blocks)] // raw baselines: plain C calls on live buffers

use p11::{Key, KeyType, MechanismType as M, ObjectOptions, Sign};
use std::hint::black_box;

mod support;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (path, count) = match args.as_slice() {
        [path, count] => (path.as_str(), count.parse::<usize>().expect("a count")),
        _ => panic!("usage: calls PATH COUNT"),
    };
    let (family, side) = path.split_once('-').expect("PATH is FAMILY-SIDE");
    let (key_type, bits, mechanism, size) = match family {
        "hmac" => (KeyType::GENERIC_SECRET, 256, M::SHA256_HMAC, 32),
        "cmac" => (KeyType::AES, 256, M::AES_CMAC, 16),
        other => panic!("unknown path {other}"),
    };
    let session = support::session();
    let list = session.core().slot().module().raw_function_list();
    let h = session.core().handle().raw();
    let key = session
        .generate_key(key_type, bits, &ObjectOptions::new())
        .unwrap();
    let o = key.object().handle().raw();
    let data = [0x5Au8; 64];
    for _ in 0..count {
        black_box(match side {
            "p11" => key.sign(&data).unwrap(),
            "raw" => support::raw_sign(list, h, mechanism.ck(), o, &data, size),
            other => panic!("unknown side {other}"),
        });
    }
}
